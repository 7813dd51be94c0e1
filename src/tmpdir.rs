//! The private temporary directory of `--private-tmp`: made fresh for one
//! run (`sbx-XXXXXX`, mode 0700) and removed when the run ends. Removal
//! takes only what lies inside it: it works from directory descriptors,
//! never follows a symlink the command planted (a symlink is unlinked, its
//! target untouched), never enters another filesystem, and gives its own
//! read-only or mode-000 directories back the owner's rights on the way
//! down so that they can be emptied.

use std::ffi::{CStr, CString, OsString};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use crate::unix_sys::{self, FileId};

/// How deep removal goes: each level holds a descriptor open. A tree
/// deeper than this is left in place, and said so.
const MAX_DEPTH: usize = 256;

/// How often removal lists a directory again when it is not empty after a
/// pass (something still running from the sandbox writes into it).
const PASSES: usize = 3;

/// A private temporary directory; removed when dropped, unless kept.
#[derive(Debug)]
pub struct PrivateDir {
    path: PathBuf,
    /// The directory it was made in, and its name there.
    parent: OwnedFd,
    name: CString,
    /// The directory itself, open since it was made: removal starts here,
    /// whatever the command did to its path.
    fd: OwnedFd,
    id: FileId,
    /// Who asked to keep it (a flag or profile key, as text), if anyone.
    keep: Option<String>,
}

impl PrivateDir {
    /// Makes a fresh `sbx-XXXXXX` in `parent` (canonical); `keep` names who
    /// asked to keep it at the end, if anyone.
    pub fn create(parent: &Path, keep: Option<String>) -> io::Result<Self> {
        let invalid = || io::Error::from(io::ErrorKind::InvalidInput);
        let template = CString::new(parent.join("sbx-XXXXXX").into_os_string().into_vec()).map_err(|_| invalid())?;
        let made = unix_sys::make_temp_dir(&template)?;
        let path = PathBuf::from(OsString::from_vec(made.into_bytes()));
        let opened = (|| {
            let name = CString::new(path.file_name().ok_or_else(invalid)?.as_bytes()).map_err(|_| invalid())?;
            let parent_path = CString::new(parent.as_os_str().as_bytes()).map_err(|_| invalid())?;
            let parent = unix_sys::open_dir_at(None, &parent_path)?;
            let fd = unix_sys::open_dir_at(Some(parent.as_fd()), &name)?;
            let id = unix_sys::stat_fd(fd.as_fd())?;
            Ok(Self { path: path.clone(), parent, name, fd, id, keep })
        })();
        if opened.is_err() {
            let _ = std::fs::remove_dir(&path);
        }
        opened
    }

    /// Its path (canonical: its parent was).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Removes it and everything in it; on failure, what was left and why.
    fn remove(&self) -> Result<(), String> {
        // The command may have taken its owner's rights away.
        let now = unix_sys::stat_fd(self.fd.as_fd()).map_err(|e| format!("{e}"))?;
        if now.mode & 0o700 != 0o700 {
            let _ = unix_sys::chmod_fd(self.fd.as_fd(), 0o700);
        }
        empty(self.fd.as_fd(), self.id.dev, Path::new(""), 0)?;
        // Only if its name still names it (the command could rename it
        // where its parent is writable too).
        match unix_sys::stat_at(self.parent.as_fd(), &self.name) {
            Ok(now) if now.same(&self.id) => unix_sys::unlink_at(self.parent.as_fd(), &self.name, true)
                .map_err(|e| format!("removing the directory itself: {e}")),
            Ok(_) => Err("its name was given to another file (moved away?)".into()),
            Err(e) => Err(format!("it is gone from its place: {e}")),
        }
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        if let Some(by) = &self.keep {
            eprintln!("sbx: kept the private temporary directory {} ({by})", self.path.display());
            return;
        }
        match self.remove() {
            Ok(()) => tracing::debug!(path = %self.path.display(), "removed the private temporary directory"),
            Err(why) => eprintln!(
                "sbx: warning: the private temporary directory {} was not removed entirely: {why}; remove it yourself",
                self.path.display()
            ),
        }
    }
}

/// Empties the directory `dir` (at `rel` inside the private directory,
/// `depth` levels down), which lies on device `dev`.
fn empty(dir: BorrowedFd<'_>, dev: u64, rel: &Path, depth: usize) -> Result<(), String> {
    let at = |name: &CStr| rel.join(std::ffi::OsStr::from_bytes(name.to_bytes()));
    for _ in 0..PASSES {
        let names = unix_sys::list_dir(dir).map_err(|e| format!("{}: listing it: {e}", show(rel)))?;
        if names.is_empty() {
            return Ok(());
        }
        for name in &names {
            let id = match unix_sys::stat_at(dir, name) {
                Ok(id) => id,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(format!("{}: {e}", at(name).display())),
            };
            if id.is_dir() {
                if id.dev != dev {
                    return Err(format!("{}: another filesystem is mounted there; left alone", at(name).display()));
                }
                if depth + 1 >= MAX_DEPTH {
                    return Err(format!("{}: nested deeper than {MAX_DEPTH} directories", at(name).display()));
                }
                // Its own directory: the owner's rights back, to list and
                // empty it (a symlink swapped in meanwhile is not followed).
                if id.mode & 0o700 != 0o700 {
                    let _ = unix_sys::chmod_at(dir, name, (id.mode & 0o7777) | 0o700);
                }
                let sub = match unix_sys::open_dir_at(Some(dir), name) {
                    Ok(sub) => sub,
                    // Replaced meanwhile by something else (a file, a
                    // symlink): the next pass sees what it is now.
                    Err(e) if matches!(e.raw_os_error(), Some(libc::ENOTDIR | libc::ELOOP | libc::ENOENT)) => {
                        continue;
                    }
                    Err(e) => return Err(format!("{}: opening it: {e}", at(name).display())),
                };
                let opened = unix_sys::stat_fd(sub.as_fd()).map_err(|e| format!("{}: {e}", at(name).display()))?;
                if !opened.same(&id) {
                    continue;
                }
                empty(sub.as_fd(), dev, &at(name), depth + 1)?;
            }
            match unix_sys::unlink_at(dir, name, id.is_dir()) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                // Replaced meanwhile by the other kind: the next pass.
                Err(e) if matches!(e.raw_os_error(), Some(libc::EISDIR | libc::ENOTDIR | libc::ENOTEMPTY)) => {}
                Err(e) => return Err(format!("{}: removing it: {e}", at(name).display())),
            }
        }
    }
    match unix_sys::list_dir(dir) {
        Ok(names) if names.is_empty() => Ok(()),
        _ => Err(format!("{}: still not empty after {PASSES} passes (is something still writing to it?)", show(rel))),
    }
}

/// `rel` for messages: `.` for the private directory itself.
fn show(rel: &Path) -> String {
    if rel.as_os_str().is_empty() { ".".into() } else { rel.display().to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn removes_its_tree_but_not_what_symlinks_point_at() {
        let outside = tempfile::tempdir().unwrap();
        let target = outside.path().join("keep");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("file"), "x").unwrap();
        let parent = std::fs::canonicalize(outside.path()).unwrap();
        let dir = PrivateDir::create(&parent, None).unwrap();
        let path = dir.path().to_path_buf();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o700);
        assert!(path.file_name().unwrap().to_str().unwrap().starts_with("sbx-"));
        std::fs::create_dir_all(path.join("a/b/c")).unwrap();
        std::fs::write(path.join("a/b/c/f"), "x").unwrap();
        std::os::unix::fs::symlink(&target, path.join("link")).unwrap();
        std::os::unix::fs::symlink(&target, path.join("a/link")).unwrap();
        std::fs::set_permissions(path.join("a/b"), std::fs::Permissions::from_mode(0o500)).unwrap();
        std::fs::set_permissions(path.join("a/b/c"), std::fs::Permissions::from_mode(0o000)).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
        drop(dir);
        assert!(!path.exists(), "{} is still there", path.display());
        assert_eq!(std::fs::read_to_string(target.join("file")).unwrap(), "x");
    }

    #[test]
    fn a_kept_directory_stays() {
        let parent = tempfile::tempdir().unwrap();
        let dir =
            PrivateDir::create(&std::fs::canonicalize(parent.path()).unwrap(), Some("--keep-tmp".into())).unwrap();
        let path = dir.path().to_path_buf();
        drop(dir);
        assert!(path.is_dir());
    }
}
