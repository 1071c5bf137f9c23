//! Export files in the data directory (`exports/{export id}/dt=…/part-….…`), served through the
//! API with the reader's credentials. A file is written beside its place and renamed into it
//! once synced, so that a reader never meets half of one and a crash leaves the old one or the
//! new one; files and directories are their owner's only, as the database is.

use std::io::Write;
use std::path::{Component, Path, PathBuf};

use async_trait::async_trait;
use caliper_core::exports::FileStore;
use caliper_core::StoreError;

use crate::db::owner_only;

/// The directory of export files under a data directory.
pub const EXPORTS_DIR: &str = "exports";

pub struct DirFiles {
    root: PathBuf,
}

impl DirFiles {
    /// Files under `data_dir/exports`.
    pub fn new(data_dir: &Path) -> Self {
        Self {
            root: data_dir.join(EXPORTS_DIR),
        }
    }

    /// Where `path` lives; none for a path that would leave the directory.
    fn place(&self, path: &str) -> Option<PathBuf> {
        let relative = Path::new(path);
        let plain = relative
            .components()
            .all(|c| matches!(c, Component::Normal(_)));
        (plain && !path.is_empty()).then(|| self.root.join(relative))
    }
}

fn failed(what: &str, path: &Path, error: std::io::Error) -> StoreError {
    let error = StoreError::new(format!("cannot {what} {}", path.display())).caused_by(error);
    StoreError {
        kind: caliper_core::ErrorKind::Unavailable,
        ..error
    }
}

fn write_file(place: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    // Every directory made on the way is the owner's only.
    let mut made = Vec::new();
    let mut dir = place.parent();
    while let Some(d) = dir {
        if d.is_dir() {
            break;
        }
        made.push(d.to_path_buf());
        dir = d.parent();
    }
    for d in made.iter().rev() {
        std::fs::create_dir(d)
            .or_else(|e| if d.is_dir() { Ok(()) } else { Err(e) })
            .map_err(|e| failed("create", d, e))?;
        owner_only(d, 0o700).map_err(|e| failed("make private", d, e))?;
    }
    let partial = place.with_extension(format!("partial-{}", uuid::Uuid::new_v4().simple()));
    let written = (|| {
        let mut file = std::fs::File::create(&partial)?;
        owner_only(&partial, 0o600)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&partial, place)?;
        if let Some(parent) = place.parent() {
            std::fs::File::open(parent)?.sync_all()?;
        }
        Ok(())
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written.map_err(|e| failed("write", place, e))
}

#[async_trait]
impl FileStore for DirFiles {
    async fn put(&self, path: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        let place = self
            .place(path)
            .ok_or_else(|| StoreError::invalid(format!("{path:?} is not a file's path")))?;
        tokio::task::spawn_blocking(move || write_file(&place, &bytes))
            .await
            .map_err(|e| StoreError::new(format!("the file write stopped: {e}")))?
    }

    async fn get(&self, path: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(place) = self.place(path) else {
            return Ok(None);
        };
        tokio::task::spawn_blocking(move || match std::fs::read(&place) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(failed("read", &place, e)),
        })
        .await
        .map_err(|e| StoreError::new(format!("the file read stopped: {e}")))?
    }

    async fn link(&self, _path: &str) -> Result<Option<String>, StoreError> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn files_are_replaced_whole_and_kept_inside_their_directory() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let files = DirFiles::new(dir.path());
        let path = "e1/dt=2024-05-01/part-00000.parquet";
        assert_eq!(files.get(path).await.ok().flatten(), None);
        for bytes in [&b"first"[..], &b"second"[..]] {
            assert!(files.put(path, bytes.to_vec()).await.is_ok());
            assert_eq!(files.get(path).await.ok().flatten().as_deref(), Some(bytes));
        }
        // Nothing but the file is left beside it.
        let beside = std::fs::read_dir(dir.path().join("exports/e1/dt=2024-05-01"))
            .map(|d| d.count())
            .unwrap_or_default();
        assert_eq!(beside, 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &str| {
                std::fs::metadata(dir.path().join(p))
                    .map(|m| m.permissions().mode() & 0o777)
                    .unwrap_or_default()
            };
            assert_eq!(mode("exports"), 0o700);
            assert_eq!(mode("exports/e1/dt=2024-05-01"), 0o700);
            assert_eq!(mode("exports/e1/dt=2024-05-01/part-00000.parquet"), 0o600);
        }
        for outside in ["../x", "/etc/passwd", "e1/../../x", ""] {
            assert!(
                files.put(outside, b"x".to_vec()).await.is_err(),
                "{outside}"
            );
            assert_eq!(files.get(outside).await.ok().flatten(), None, "{outside}");
        }
    }
}
