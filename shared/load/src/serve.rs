//! A caliper-local started by the run itself (`--serve`): on a port of its choosing, with a
//! fresh data directory and one app client, so that the run can also read what the server spent
//! (CPU time and peak memory, from /proc) and what it keeps (bytes on disk).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context, Result};

pub struct Served {
    child: Child,
    pub url: String,
    pub data_dir: PathBuf,
    keep: bool,
}

/// What the server process has used so far.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    pub cpu: Duration,
    pub peak_rss_bytes: u64,
}

impl Served {
    /// Starts `binary` with `client` (`ID:SECRET:scopes`) and `extra` arguments, and waits until
    /// it says where it listens.
    pub fn start(binary: &Path, client: &str, extra: &[String], keep: bool) -> Result<Self> {
        let data_dir = std::env::temp_dir().join(format!("caliper-load-{}", uuid::Uuid::new_v4()));
        let mut child = Command::new(binary)
            .args(["--listen", "127.0.0.1:0", "--client", client, "--data-dir"])
            .arg(&data_dir)
            .args(extra)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        // caliper-local logs to its standard output.
        let log = child.stdout.take().context("the server's output")?;
        let (found, url) = std::sync::mpsc::channel();
        // Read its log for the address, then keep reading it so that it never blocks on a pipe.
        std::thread::spawn(move || {
            let mut found = Some(found);
            for line in BufReader::new(log).lines().map_while(Result::ok) {
                if let Some(at) = line.find("listening on http://") {
                    let url = line[at + "listening on ".len()..]
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_owned();
                    if let Some(found) = found.take() {
                        let _ = found.send(url);
                    }
                }
            }
        });
        let url = match url.recv_timeout(Duration::from_secs(120)) {
            Ok(url) if !url.is_empty() => url,
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                bail!("{} did not say where it listens", binary.display());
            }
        };
        Ok(Self {
            child,
            url,
            data_dir,
            keep,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Bytes the data directory takes on disk (allocated blocks, every file).
    pub fn disk_bytes(&self) -> Result<u64> {
        disk_bytes(&self.data_dir)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.data_dir);
        }
    }
}

/// CPU time (user and system) and peak resident memory of process `pid`, from /proc.
pub fn usage(pid: u32) -> Result<Usage> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .context("reading the server's /proc stat (Linux only)")?;
    // After the command name in parentheses: state is field 3, utime 14, stime 15.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| -> u64 { fields.get(i).and_then(|f| f.parse().ok()).unwrap_or(0) };
    // /proc counts in USER_HZ, 100 a second on Linux.
    let cpu = Duration::from_millis((ticks(11) + ticks(12)) * 10);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let peak_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    Ok(Usage {
        cpu,
        peak_rss_bytes: peak_kib * 1024,
    })
}

fn disk_bytes(dir: &Path) -> Result<u64> {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() {
            disk_bytes(&entry.path())?
        } else {
            meta.blocks() * 512
        };
    }
    Ok(total)
}
