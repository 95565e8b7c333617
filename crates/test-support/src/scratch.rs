//! A directory of a test's own under the system temp directory.

use std::path::{Path, PathBuf};

/// A fresh, empty directory, removed with everything in it when the guard drops (e.g. for a
/// SQLite database that outlives one process, or a server's working directory, so that no
/// `switchboard.toml` lying around is picked up).
#[derive(Debug)]
pub struct ScratchDir(PathBuf);

impl ScratchDir {
    /// `<temp>/<prefix>-<32 hex digits>`, created. Panics when it cannot be created.
    pub fn new(prefix: &str) -> ScratchDir {
        ScratchDir::try_new(prefix).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`ScratchDir::new`] that reports a failure instead of panicking.
    pub fn try_new(prefix: &str) -> Result<ScratchDir, crate::Error> {
        let dir = std::env::temp_dir().join(crate::unique_name(&format!("{prefix}-")));
        std::fs::create_dir_all(&dir)
            .map_err(|e| crate::Error::new(format!("creating {}", dir.display()), e))?;
        Ok(ScratchDir(dir))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Removes it now, reporting a failure (dropping the guard removes it silently).
    pub fn remove(mut self) -> Result<(), crate::Error> {
        let dir = std::mem::take(&mut self.0);
        std::fs::remove_dir_all(&dir)
            .map_err(|e| crate::Error::new(format!("removing {}", dir.display()), e))
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        if !self.0.as_os_str().is_empty() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ScratchDir;

    #[test]
    fn a_scratch_dir_is_fresh_and_goes_away() {
        let (a, b) = (ScratchDir::new("sb-test"), ScratchDir::new("sb-test"));
        assert_ne!(a.path(), b.path());
        assert!(a.path().is_dir());
        std::fs::write(a.path().join("file"), "x").unwrap();
        let path = a.path().to_owned();
        drop(a);
        assert!(!path.exists(), "{} is still there", path.display());
        let path = b.path().to_owned();
        b.remove().unwrap();
        assert!(!path.exists());
    }
}
