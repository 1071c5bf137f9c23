//! The cursor-signing keys of a data directory: `cursor-keys`, one hex key a line, readable by
//! its owner only. Made with one random key when missing. To rotate, put a new line first (it
//! signs; the others still verify) and drop the old one once its cursors have lapsed.

use std::io::Write;
use std::path::Path;

use caliper_core::signer::MIN_KEY_BYTES;
use caliper_core::{HmacSigner, StoreError};

pub const CURSOR_KEYS_FILE: &str = "cursor-keys";

/// The signer of `dir`'s keys, made if missing.
pub fn cursor_signer(dir: &Path) -> Result<HmacSigner, StoreError> {
    let path = dir.join(CURSOR_KEYS_FILE);
    let failed = |what: &str, e: &dyn std::fmt::Display| {
        StoreError::new(format!("cannot {what} {}: {e}", path.display()))
    };
    if !path.exists() {
        let mut key = [0u8; MIN_KEY_BYTES];
        getrandom::fill(&mut key).map_err(|e| failed("make a key for", &e))?;
        let mut file = private_file(&path).map_err(|e| failed("create", &e))?;
        writeln!(file, "{}", hex::encode(key)).map_err(|e| failed("write", &e))?;
    }
    let text = std::fs::read_to_string(&path).map_err(|e| failed("read", &e))?;
    let keys = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .enumerate()
        .map(|(n, line)| {
            hex::decode(line).map_err(|_| {
                StoreError::new(format!(
                    "{}: key {} is not hexadecimal",
                    path.display(),
                    n + 1
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    HmacSigner::new(keys).map_err(|e| StoreError::new(format!("{}: {e}", path.display())))
}

fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

#[cfg(test)]
mod tests {
    use caliper_core::Signer;

    use super::*;

    #[tokio::test]
    async fn keys_are_made_once_kept_private_and_rotated_by_a_new_first_line() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let first = cursor_signer(dir.path()).expect("made");
        let signed = first.sign(b"m").await.expect("sign");
        let again = cursor_signer(dir.path()).expect("read");
        assert!(again.verify(b"m", &signed).await.expect("verify"), "kept");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(CURSOR_KEYS_FILE))
                .expect("metadata")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let path = dir.path().join(CURSOR_KEYS_FILE);
        let old = std::fs::read_to_string(&path).expect("read");
        std::fs::write(&path, format!("{}\n{old}", "ab".repeat(32))).expect("rotate");
        let rotated = cursor_signer(dir.path()).expect("rotated");
        assert!(
            rotated.verify(b"m", &signed).await.expect("verify"),
            "old cursors still read"
        );
        assert_ne!(
            rotated.sign(b"m").await.expect("sign"),
            signed,
            "the new key signs"
        );
        std::fs::write(&path, "not hex\n").expect("break");
        let error = cursor_signer(dir.path()).err().map(|e| e.message);
        assert!(error.is_some_and(|e| e.contains("key 1 is not hexadecimal")));
    }
}
