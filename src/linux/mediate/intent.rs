//! Naming the file writes the sandbox refuses. Landlock refuses a write,
//! create, delete, rename or link outside the writable paths without telling
//! anyone; the command then prints only its own "Permission denied", or
//! worse advice. Under --deny-write the filter hands sbx's supervisor the
//! calls that intend to write — `open*` with a write, create or truncate
//! flag, `creat`, `mkdir*`, `mknod*`, `unlink*`, `rmdir`, `rename*`,
//! `link*`, `symlink*`, `truncate` — and the supervisor looks at where they
//! point: one outside the writable paths is reported (once per path, and in
//! the summary) with the flag that would allow it. Then the call continues
//! as made, always: Landlock decides, so a wrong guess (a path the command
//! changes meanwhile) costs a report, never a right.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;

use super::Mediator;
use super::meta::inside;
use crate::linux::sys::{self, Notification};

/// What a call intends for one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// Writes the file there (it must exist for Landlock to allow it).
    Write,
    /// Creates, removes or renames the entry there (its directory decides).
    Entry(&'static str),
    /// open*: decided by its flags (write, create or truncate).
    Open,
}

/// Where a call's paths are: (dirfd argument, path argument, intent).
pub type Targets = &'static [(Option<usize>, usize, Intent)];

/// The calls that intend to write, by name, and where their paths are.
pub const WRITE_INTENT: &[(&str, Targets)] = &[
    ("open", &[(None, 0, Intent::Open)]),
    ("openat", &[(Some(0), 1, Intent::Open)]),
    ("openat2", &[(Some(0), 1, Intent::Open)]),
    ("creat", &[(None, 0, Intent::Entry("create"))]),
    ("mkdir", &[(None, 0, Intent::Entry("create directory"))]),
    ("mkdirat", &[(Some(0), 1, Intent::Entry("create directory"))]),
    ("mknod", &[(None, 0, Intent::Entry("create"))]),
    ("mknodat", &[(Some(0), 1, Intent::Entry("create"))]),
    ("unlink", &[(None, 0, Intent::Entry("delete"))]),
    ("unlinkat", &[(Some(0), 1, Intent::Entry("delete"))]),
    ("rmdir", &[(None, 0, Intent::Entry("delete"))]),
    ("rename", &[(None, 0, Intent::Entry("rename")), (None, 1, Intent::Entry("rename into"))]),
    ("renameat", &[(Some(0), 1, Intent::Entry("rename")), (Some(2), 3, Intent::Entry("rename into"))]),
    ("renameat2", &[(Some(0), 1, Intent::Entry("rename")), (Some(2), 3, Intent::Entry("rename into"))]),
    ("link", &[(None, 1, Intent::Entry("create link"))]),
    ("linkat", &[(Some(2), 3, Intent::Entry("create link"))]),
    ("symlink", &[(None, 1, Intent::Entry("create link"))]),
    ("symlinkat", &[(Some(1), 2, Intent::Entry("create link"))]),
    ("truncate", &[(None, 0, Intent::Write)]),
];

/// open flags that write: O_WRONLY, O_RDWR, O_CREAT, O_TRUNC.
pub const WRITE_FLAGS: [u64; 4] =
    [libc::O_WRONLY as u64, libc::O_RDWR as u64, libc::O_CREAT as u64, libc::O_TRUNC as u64];

impl Mediator {
    /// Reports a refused write intent of `req` (see the module), then lets
    /// the call go on as made.
    pub(super) fn serve_intent(&self, req: &Notification, name: &str, targets: Targets) -> super::Reply {
        if let Some(reply) = self.serve_protected(req, name) {
            return reply;
        }
        if let Some(trees) = &self.intent_trees {
            let tid = req.pid as i32;
            for &(dirfd, path_arg, intent) in targets {
                if let Ok(Some(line)) = self.refused_write(tid, req, name, dirfd, path_arg, intent, trees) {
                    self.report(line);
                }
            }
        }
        super::Reply::Continue
    }

    /// The report line for one path of the call, if the sandbox refuses it.
    #[allow(clippy::too_many_arguments)]
    fn refused_write(
        &self,
        tid: i32,
        req: &Notification,
        name: &str,
        dirfd: Option<usize>,
        path_arg: usize,
        intent: Intent,
        trees: &[PathBuf],
    ) -> Result<Option<String>, Errno> {
        let opened = intent == Intent::Open;
        let intent = match intent {
            Intent::Open => {
                let flags = if name == "openat2" {
                    // struct open_how starts with the flags (u64).
                    let mut raw = [0u8; 8];
                    sys::read_memory(tid, &[(req.args[2], 8)], &mut raw)?;
                    u64::from_ne_bytes(raw)
                } else {
                    req.args[if name == "open" { 1 } else { 2 }]
                };
                if WRITE_FLAGS.iter().all(|&f| flags & f == 0) {
                    return Ok(None);
                }
                if flags & libc::O_CREAT as u64 != 0 { Intent::Entry("create") } else { Intent::Write }
            }
            other => other,
        };
        let raw =
            super::meta::read_cstr(tid, req.args[path_arg], libc::PATH_MAX as usize)?.ok_or(Errno::ENAMETOOLONG)?;
        let dirfd = dirfd.map(|i| req.args[i] as i32);
        let Some(path) = crate::linux::observe::resolve(tid, dirfd, raw.as_bytes())? else { return Ok(None) };
        // The common case, decided on the path as written: inside a writable
        // tree, with no `..`. (A symlink there that leads out costs a missed
        // report, never a right: Landlock decides.)
        if inside(&path, trees) && !path.components().any(|c| c == std::path::Component::ParentDir) {
            return Ok(None);
        }
        // Still the waiting thread's own?
        if !self.still_valid(req.id) {
            return Ok(None);
        }
        // An existing file opened for writing is decided by the file itself
        // (a file rule allows it); a new entry by its directory.
        let exists = std::fs::symlink_metadata(&path).is_ok();
        let intent = match intent {
            // An existing file opened (or creat()ed) for writing.
            Intent::Entry("create") if exists && (opened || name == "creat") => Intent::Write,
            // Fails with EEXIST or ENOENT whatever the sandbox says.
            Intent::Entry("create" | "create directory" | "create link") if exists => return Ok(None),
            Intent::Entry("delete" | "rename") if !exists => return Ok(None),
            other => other,
        };
        let (verb, checked, dir, by_dir) = match intent {
            Intent::Entry(verb) => {
                let Some(parent) = path.parent() else { return Ok(None) };
                let Ok(dir) = std::fs::canonicalize(parent) else { return Ok(None) };
                let entry = dir.join(path.file_name().unwrap_or(OsStr::from_bytes(b".")));
                (verb, entry, dir, true)
            }
            _ => {
                let Ok(real) = std::fs::canonicalize(&path) else { return Ok(None) };
                let dir = real.parent().map_or_else(|| PathBuf::from("/"), Path::to_path_buf);
                ("write to", real, dir, false)
            }
        };
        // What decides: the directory for a new entry, else the file.
        let decided = if by_dir { &dir } else { &checked };
        // Refused by the file modes anyway (a user writing /etc/hostname):
        // not the sandbox's doing, and no flag would help. sbx runs as the
        // command's user (or as root for a root command), so its own access
        // check answers for the command.
        if inside(decided, trees) || !sys::may_write(decided, by_dir) {
            return Ok(None);
        }
        Ok(Some(report_line(verb, &checked, &dir, self.home.as_deref(), by_dir)))
    }
}

/// `sbx: blocked VERB PATH — allow with --allow-write=DIR` (see [`hint`]).
pub(super) fn report_line(verb: &str, path: &Path, dir: &Path, home: Option<&Path>, by_dir: bool) -> String {
    format!("sbx: blocked {verb} {} — {}", path.display(), hint(verb, path, dir, home, by_dir))
}

/// What allows a write to `path` in `dir` (`by_dir`: a new entry, which its
/// directory decides; else the existing file itself): `allow with
/// --allow-write=DIR`, the directory named as the flag takes it (`~/…` under
/// the home directory). Where that directory is the whole home directory or
/// `/`: an existing file can be allowed alone, and a new directory too (sbx
/// creates it); a new file cannot (Landlock rules name what exists), and the
/// hint says so rather than suggest opening everything.
pub(super) fn hint(verb: &str, path: &Path, dir: &Path, home: Option<&Path>, by_dir: bool) -> String {
    let wide = dir == Path::new("/") || home.is_some_and(|h| h.starts_with(dir));
    match (wide, by_dir) {
        (false, _) => format!("allow with --allow-write={}", shown(dir, home)),
        (true, true) if verb == "create directory" => {
            format!("allow with --allow-write={} (sbx creates it)", shown(path, home))
        }
        (true, false) => format!("allow with --allow-write={}", shown(path, home)),
        (true, true) => format!(
            "only --allow-write={} would allow it ({}); point the tool at a narrower directory",
            shown(dir, home),
            if dir == Path::new("/") {
                "the whole file system"
            } else if home == Some(dir) {
                "the whole home directory"
            } else {
                "the home directory with it"
            }
        ),
    }
}

/// `path` as a user would type it: `~/…` under the home directory.
pub(super) fn shown(path: &Path, home: Option<&Path>) -> String {
    match home.and_then(|h| path.strip_prefix(h).ok()) {
        Some(rest) if rest.as_os_str().is_empty() => "~".into(),
        Some(rest) => format!("~/{}", rest.display()),
        None => path.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_names_the_directory_as_the_flag_takes_it() {
        let home = Some(Path::new("/home/u"));
        assert_eq!(
            report_line("create", Path::new("/usr/local/bin/tool"), Path::new("/usr/local/bin"), home, true),
            "sbx: blocked create /usr/local/bin/tool — allow with --allow-write=/usr/local/bin"
        );
        assert_eq!(
            report_line("create", Path::new("/home/u/.npm/x"), Path::new("/home/u/.npm"), home, true),
            "sbx: blocked create /home/u/.npm/x — allow with --allow-write=~/.npm"
        );
        // Not the whole home directory for one file in it.
        assert_eq!(
            report_line("write to", Path::new("/home/u/.gitconfig"), Path::new("/home/u"), home, false),
            "sbx: blocked write to /home/u/.gitconfig — allow with --allow-write=~/.gitconfig"
        );
        // A new entry there: only the whole home directory would do.
        assert_eq!(
            report_line("create", Path::new("/home/u/.gitconfig.lock"), Path::new("/home/u"), home, true),
            "sbx: blocked create /home/u/.gitconfig.lock — only --allow-write=~ would allow it (the whole home \
             directory); point the tool at a narrower directory"
        );
    }

    #[test]
    fn a_directory_above_home_is_not_called_the_home_directory() {
        let home = Some(Path::new("/tmp/h"));
        assert_eq!(
            report_line("create", Path::new("/tmp/x"), Path::new("/tmp"), home, true),
            "sbx: blocked create /tmp/x — only --allow-write=/tmp would allow it (the home directory with it); point \
             the tool at a narrower directory"
        );
    }

    #[test]
    fn a_new_directory_in_the_home_directory_is_named_itself() {
        let home = Some(Path::new("/home/u"));
        assert_eq!(
            report_line("create directory", Path::new("/home/u/.npm"), Path::new("/home/u"), home, true),
            "sbx: blocked create directory /home/u/.npm — allow with --allow-write=~/.npm (sbx creates it)"
        );
    }
}
