//! Nothing half-written: a file output is written to a temporary file beside it and
//! renamed into place only once complete. A run that fails (or is dropped) removes the
//! temporary file, so `--output` either holds a complete result or is untouched, and
//! `--output-dir` holds only complete days ([`DayFiles`]).

use chrono::NaiveDate;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Why an output path cannot be used, naming the flag.
#[derive(Debug, thiserror::Error)]
#[error("{flag} {path}: {reason}")]
pub struct OutputError {
    /// The flag that named the path.
    pub flag: &'static str,
    pub path: String,
    pub reason: String,
}

/// A file being written under a temporary name, renamed into place by [`commit`].
///
/// [`commit`]: AtomicFile::commit
pub struct AtomicFile {
    target: PathBuf,
    temporary: PathBuf,
    writer: Option<BufWriter<File>>,
}

impl AtomicFile {
    /// Checks that `target` (given by `--output`)'s directory exists and creates the
    /// temporary file in it.
    pub fn create(target: &Path) -> Result<AtomicFile, OutputError> {
        AtomicFile::create_for("--output", target)
    }

    /// [`AtomicFile::create`] for a path given by `flag`.
    fn create_for(flag: &'static str, target: &Path) -> Result<AtomicFile, OutputError> {
        let error = |reason: String| OutputError {
            flag,
            path: target.display().to_string(),
            reason,
        };
        let name = target
            .file_name()
            .ok_or_else(|| error("is not a file name".into()))?;
        let directory = match target.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !directory.is_dir() {
            return Err(error(format!(
                "the directory {} does not exist",
                directory.display()
            )));
        }
        if target.is_dir() {
            return Err(error("is a directory".into()));
        }
        let temporary = directory.join(format!(
            ".{}.partial-{}",
            name.to_string_lossy(),
            std::process::id()
        ));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temporary)
            .map_err(|err| error(format!("cannot create {}: {err}", temporary.display())))?;
        Ok(AtomicFile {
            target: target.to_path_buf(),
            temporary,
            writer: Some(BufWriter::with_capacity(1 << 20, file)),
        })
    }

    /// Where the file goes once committed.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Flushes, syncs and renames the file into place.
    pub fn commit(mut self) -> std::io::Result<()> {
        if let Some(writer) = self.writer.take() {
            let file = writer.into_inner().map_err(|err| err.into_error())?;
            file.sync_all()?;
        }
        std::fs::rename(&self.temporary, &self.target)
    }
}

impl Write for AtomicFile {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        match &mut self.writer {
            Some(writer) => writer.write(bytes),
            None => Err(std::io::Error::other("output already committed")),
        }
    }

    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match &mut self.writer {
            Some(writer) => writer.write_all(bytes),
            None => Err(std::io::Error::other("output already committed")),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.writer {
            Some(writer) => writer.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for AtomicFile {
    /// An uncommitted file is removed: a failed run leaves nothing behind.
    fn drop(&mut self) {
        if self.writer.take().is_some() {
            let _ = std::fs::remove_file(&self.temporary);
        }
    }
}

/// The directory of `--output-dir`: one file per UTC day, `YYYY-MM-DD.om`, each an
/// [`AtomicFile`] of its own, so that a file appears only once its day is complete.
pub struct DayFiles {
    dir: PathBuf,
}

impl DayFiles {
    /// Checks that `dir` exists.
    pub fn create(dir: &Path) -> Result<DayFiles, OutputError> {
        if !dir.is_dir() {
            return Err(OutputError {
                flag: "--output-dir",
                path: dir.display().to_string(),
                reason: "is not an existing directory".into(),
            });
        }
        Ok(DayFiles {
            dir: dir.to_path_buf(),
        })
    }

    /// The file of `day`, under its temporary name.
    pub fn open(&self, day: NaiveDate) -> std::io::Result<AtomicFile> {
        let path = self.dir.join(format!("{}.om", day.format("%Y-%m-%d")));
        AtomicFile::create_for("--output-dir", &path)
            .map_err(|err| std::io::Error::other(err.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_appears_only_when_committed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.om");
        let mut file = AtomicFile::create(&target).unwrap();
        file.write_all(b"# EOF\n").unwrap();
        assert!(!target.exists());
        file.commit().unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"# EOF\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

        let failed = dir.path().join("failed.om");
        let mut file = AtomicFile::create(&failed).unwrap();
        file.write_all(b"half").unwrap();
        drop(file);
        assert!(!failed.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_missing_directory_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let err = AtomicFile::create(&dir.path().join("nowhere/out.csv"))
            .err()
            .unwrap();
        assert!(err.to_string().starts_with("--output "), "{err}");
        assert!(err.to_string().contains("does not exist"), "{err}");
    }
}
