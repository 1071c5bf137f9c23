//! The data directory's secret files, held to their owner on every start: the IdP's signing key
//! (whoever reads it can sign an admin's token), the cursor keys, the development client's
//! credentials and the database. A file others may read (after a copy or a backup restore, say)
//! is made 0600 (the database's directory 0700) before anything reads it, with a warning that
//! names it: what was readable may have been read, and the warning says what to replace.

use std::path::Path;

/// Each secret file, by its path in the data directory, and what to do if others read it.
const SECRET_FILES: [(&str, &str); 5] = [
    (
        "idp/signing-key.der",
        "delete it to make a new key (every token issued before stops working)",
    ),
    (
        "cursor-keys",
        "put a new key on its first line (cursors issued before keep working until the old line goes)",
    ),
    (
        "idp/development-client.json",
        "delete it to make a new development secret",
    ),
    (caliper_embedded::STORE_DIR, "its events may have been read"),
    // An earlier version's database, until it is moved into the current one.
    (caliper_embedded::REDB_FILE, "its events may have been read"),
];

/// Makes every secret file of `data_dir` that exists readable by its owner only.
pub fn hold_private(data_dir: &Path) -> anyhow::Result<()> {
    for (name, remedy) in SECRET_FILES {
        let path = data_dir.join(name);
        if let Some(mode) = repair(&path)? {
            tracing::warn!(
                file = %path.display(),
                mode = format!("{mode:o}"),
                "a secret file was open to other users; it is its owner's only now. If another user may have read it, {remedy}"
            );
        }
    }
    Ok(())
}

/// The mode `path` had when it was open to others (now 0600, or 0700 for a directory); none when
/// it was private or is missing.
#[cfg(unix)]
fn repair(path: &Path) -> anyhow::Result<Option<u32>> {
    use anyhow::Context;
    use std::os::unix::fs::PermissionsExt;
    let Ok(metadata) = std::fs::metadata(path) else {
        return Ok(None);
    };
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 == 0 {
        return Ok(None);
    }
    let private = if metadata.is_dir() { 0o700 } else { 0o600 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(private)).with_context(
        || {
            format!(
                "{} is open to other users and cannot be made {private:o}",
                path.display()
            )
        },
    )?;
    Ok(Some(mode))
}

#[cfg(not(unix))]
fn repair(_path: &Path) -> anyhow::Result<Option<u32>> {
    Ok(None)
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn every_secret_file_is_made_its_owners_and_others_are_left_alone() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        std::fs::create_dir(dir.path().join("idp")).unwrap_or_else(|e| panic!("{e}"));
        let mode = |name: &str| {
            std::fs::metadata(dir.path().join(name))
                .map(|m| m.permissions().mode() & 0o777)
                .unwrap_or_else(|e| panic!("{e}"))
        };
        for (name, _) in SECRET_FILES {
            let path = dir.path().join(name);
            if name == caliper_embedded::STORE_DIR {
                std::fs::create_dir(&path).unwrap_or_else(|e| panic!("{e}"));
            } else {
                std::fs::write(&path, b"secret").unwrap_or_else(|e| panic!("{e}"));
            }
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))
                .unwrap_or_else(|e| panic!("{e}"));
        }
        std::fs::write(dir.path().join("notes.txt"), b"x").unwrap_or_else(|e| panic!("{e}"));
        std::fs::set_permissions(
            dir.path().join("notes.txt"),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap_or_else(|e| panic!("{e}"));

        hold_private(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        for (name, _) in SECRET_FILES {
            let private = if name == caliper_embedded::STORE_DIR {
                0o700
            } else {
                0o600
            };
            assert_eq!(mode(name), private, "{name}");
        }
        assert_eq!(mode("notes.txt"), 0o644, "not ours to change");
        hold_private(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    }
}
