//! Turning user-given path strings into the canonical absolute paths rules are
//! made of: `~` expansion, relative paths against the current directory,
//! symlinks resolved. Bytes that are not UTF-8 pass through untouched.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Expands a leading `~` or `~/` with `home`, and makes the result absolute
/// against `cwd`. `~user` forms are left as they are.
pub fn absolute(raw: &OsStr, home: Option<&Path>, cwd: &Path) -> PathBuf {
    let bytes = raw.as_bytes();
    let expanded: PathBuf = match (bytes, home) {
        (b"~", Some(home)) => home.to_path_buf(),
        ([b'~', b'/', rest @ ..], Some(home)) => home.join(OsStr::from_bytes(rest)),
        _ => PathBuf::from(raw),
    };
    if expanded.is_absolute() { expanded } else { cwd.join(expanded) }
}

/// An existing path with every symlink resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub path: PathBuf,
    pub is_dir: bool,
}

/// Resolves `path` (which must exist) to its canonical form, or says why it
/// cannot. The backend does it in as few system calls as it can: this runs
/// for every default path on every start.
pub fn resolve(path: &Path) -> io::Result<Resolved> {
    crate::backend::resolve_path(path)
}

/// The portable way to [`resolve`], for backends without a faster one.
pub fn resolve_portably(path: &Path) -> io::Result<Resolved> {
    let path = std::fs::canonicalize(path)?;
    let is_dir = path.is_dir();
    Ok(Resolved { path, is_dir })
}

/// Whether `path` itself is a symlink (without following it).
pub fn is_symlink(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

/// Why `path` could not be resolved, in words (`err` from [`resolve`]).
pub fn explain_unresolvable(path: &Path, err: &io::Error) -> String {
    if err.kind() == io::ErrorKind::NotFound {
        if is_symlink(path) {
            let target = std::fs::read_link(path).map(|t| t.display().to_string()).unwrap_or_default();
            return format!("it is a symlink to {target}, which does not exist; create the target or fix the path");
        }
        return "no such file or directory".into();
    }
    format!("cannot resolve it ({err})")
}

/// `path` shown for humans (lossy only for display).
pub fn show(path: &Path) -> String {
    path.display().to_string()
}

/// The home directory from the environment, if set to an absolute path.
pub fn home_dir(env_home: Option<OsString>) -> Option<PathBuf> {
    env_home.map(PathBuf::from).filter(|p| p.is_absolute())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_tilde_and_relative() {
        let home = Path::new("/home/u");
        let cwd = Path::new("/work");
        assert_eq!(absolute(OsStr::new("~"), Some(home), cwd), PathBuf::from("/home/u"));
        assert_eq!(absolute(OsStr::new("~/x/y"), Some(home), cwd), PathBuf::from("/home/u/x/y"));
        assert_eq!(absolute(OsStr::new("~other/x"), Some(home), cwd), PathBuf::from("/work/~other/x"));
        assert_eq!(absolute(OsStr::new("dist"), Some(home), cwd), PathBuf::from("/work/dist"));
        assert_eq!(absolute(OsStr::new("/abs"), None, cwd), PathBuf::from("/abs"));
        assert_eq!(absolute(OsStr::new("~/x"), None, cwd), PathBuf::from("/work/~/x"));
    }

    #[test]
    fn non_utf8_passes_through() {
        let raw = OsStr::from_bytes(b"d\xffir");
        let out = absolute(raw, None, Path::new("/w"));
        assert_eq!(out.as_os_str().as_bytes(), b"/w/d\xffir");
    }
}
