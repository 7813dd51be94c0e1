//! Metadata writes under --deny-write: Landlock does not mediate chmod,
//! chown, utimes or extended attributes, so the filter hands these calls to
//! the supervisor. It copies the path (or takes the fd), resolves it as the
//! command would (its cwd, dirfd and root; no magic links; a final symlink
//! unfollowed where the call says so), opens the inode with O_PATH, allows
//! the call only if that inode's path lies inside a writable tree
//! (component-wise), and performs it on that very inode with sbx's copy of
//! the arguments. sbx acts only for a command with sbx's own credentials,
//! so the kernel's owner and permission checks are the command's.

use std::ffi::CString;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;

use super::{Mediator, Reply, UnixCtx, read_status};
use crate::linux::sys::{self, Notification};

/// Longest path the kernel accepts, with its NUL.
const PATH_MAX: usize = 4096;
/// Longest extended attribute name, with its NUL.
const XATTR_NAME_MAX: usize = 256;
/// Largest extended attribute value.
const XATTR_SIZE_MAX: u64 = 64 * 1024;

/// A mediated metadata call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meta {
    Chmod,
    Fchmod,
    Fchmodat,
    Fchmodat2,
    Chown,
    Fchown,
    Lchown,
    Fchownat,
    Utime,
    Utimes,
    Futimesat,
    Utimensat,
    Setxattr,
    Lsetxattr,
    Fsetxattr,
    Removexattr,
    Lremovexattr,
    Fremovexattr,
    /// truncate(2), where Landlock lacks TRUNCATE.
    Truncate,
}

impl Meta {
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "chmod" => Meta::Chmod,
            "fchmod" => Meta::Fchmod,
            "fchmodat" => Meta::Fchmodat,
            "fchmodat2" => Meta::Fchmodat2,
            "chown" => Meta::Chown,
            "fchown" => Meta::Fchown,
            "lchown" => Meta::Lchown,
            "fchownat" => Meta::Fchownat,
            "utime" => Meta::Utime,
            "utimes" => Meta::Utimes,
            "futimesat" => Meta::Futimesat,
            "utimensat" => Meta::Utimensat,
            "setxattr" => Meta::Setxattr,
            "lsetxattr" => Meta::Lsetxattr,
            "fsetxattr" => Meta::Fsetxattr,
            "removexattr" => Meta::Removexattr,
            "lremovexattr" => Meta::Lremovexattr,
            "fremovexattr" => Meta::Fremovexattr,
            _ => return None,
        })
    }
}

/// Which file the call names.
#[derive(Debug, PartialEq, Eq)]
enum Subject {
    /// A path (pointer) relative to `dirfd`; `nofollow`: a final symlink is
    /// the subject itself; `empty`: AT_EMPTY_PATH.
    Path { dirfd: i32, ptr: u64, nofollow: bool, empty: bool },
    /// An open file of the command.
    Fd(i32),
}

/// The change, copied out of the command's memory.
#[derive(Debug)]
enum Change {
    Mode(u32),
    Owner(u32, u32),
    /// `None`: now (needs write permission only).
    Times(Option<[libc::timespec; 2]>),
    SetXattr {
        name: CString,
        value: Vec<u8>,
        flags: i32,
    },
    RemoveXattr(CString),
    /// The new length.
    Truncate(i64),
}

impl Change {
    fn verb(&self) -> &'static str {
        match self {
            Change::Mode(_) => "chmod",
            Change::Owner(..) => "chown",
            Change::Times(_) => "utimes",
            Change::SetXattr { .. } => "setxattr",
            Change::RemoveXattr(_) => "removexattr",
            Change::Truncate(_) => "truncate",
        }
    }

    /// The errno of a refusal: what the kernel answers a caller who does not
    /// own the file — EPERM, or for "set the times to now" (`touch`), which
    /// needs only write permission, EACCES.
    fn denied_errno(&self) -> Errno {
        match self {
            Change::Times(None) => Errno::EACCES,
            Change::Times(Some(t)) if t.iter().all(|t| t.tv_nsec == libc::UTIME_NOW) => Errno::EACCES,
            // What Landlock answers for a truncation it does not allow.
            Change::Truncate(_) => Errno::EACCES,
            _ => Errno::EPERM,
        }
    }
}

/// Whether `path` (canonical) lies inside one of `writable` (component-wise).
pub fn inside(path: &Path, writable: &[PathBuf]) -> bool {
    path.is_absolute() && writable.iter().any(|w| path.starts_with(w))
}

const AT_FDCWD: i32 = libc::AT_FDCWD;

fn check_flags(flags: u64, allowed: i32) -> Result<(bool, bool), Errno> {
    if flags & !(allowed as u64) != 0 {
        return Err(Errno::EINVAL);
    }
    let flags = flags as i32;
    Ok((flags & libc::AT_SYMLINK_NOFOLLOW != 0, flags & libc::AT_EMPTY_PATH != 0))
}

/// Reads what `meta` names and changes from `args`.
fn parse(meta: Meta, tid: i32, a: [u64; 6]) -> Result<(Subject, Change), Errno> {
    let path =
        |dirfd: u64, ptr: u64, nofollow: bool, empty: bool| Subject::Path { dirfd: dirfd as i32, ptr, nofollow, empty };
    let cwd = AT_FDCWD as u64;
    let both = libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH;
    Ok(match meta {
        Meta::Chmod => (path(cwd, a[0], false, false), Change::Mode(a[1] as u32)),
        Meta::Fchmod => (Subject::Fd(a[0] as i32), Change::Mode(a[1] as u32)),
        Meta::Fchmodat => (path(a[0], a[1], false, false), Change::Mode(a[2] as u32)),
        Meta::Fchmodat2 => {
            let (nofollow, empty) = check_flags(a[3], both)?;
            (path(a[0], a[1], nofollow, empty), Change::Mode(a[2] as u32))
        }
        Meta::Chown | Meta::Lchown => {
            (path(cwd, a[0], meta == Meta::Lchown, false), Change::Owner(a[1] as u32, a[2] as u32))
        }
        Meta::Fchown => (Subject::Fd(a[0] as i32), Change::Owner(a[1] as u32, a[2] as u32)),
        Meta::Fchownat => {
            let (nofollow, empty) = check_flags(a[4], both)?;
            (path(a[0], a[1], nofollow, empty), Change::Owner(a[2] as u32, a[3] as u32))
        }
        Meta::Utime => (path(cwd, a[0], false, false), Change::Times(read_times(tid, a[1], 8, 0)?)),
        Meta::Utimes => (path(cwd, a[0], false, false), Change::Times(read_times(tid, a[1], 16, 1000)?)),
        Meta::Futimesat => {
            let times = Change::Times(read_times(tid, a[2], 16, 1000)?);
            match (a[1], a[0] as i32) {
                (0, AT_FDCWD) => return Err(Errno::EFAULT),
                (0, fd) => (Subject::Fd(fd), times),
                (ptr, _) => (path(a[0], ptr, false, false), times),
            }
        }
        Meta::Utimensat => {
            let times = Change::Times(read_times(tid, a[2], 16, 1)?);
            match (a[1], a[0] as i32) {
                (0, AT_FDCWD) => return Err(Errno::EFAULT),
                (0, _) if a[3] != 0 => return Err(Errno::EINVAL),
                (0, fd) => (Subject::Fd(fd), times),
                (ptr, _) => {
                    let (nofollow, empty) = check_flags(a[3], both)?;
                    (path(a[0], ptr, nofollow, empty), times)
                }
            }
        }
        Meta::Setxattr | Meta::Lsetxattr | Meta::Fsetxattr => {
            let name = read_xattr_name(tid, a[1])?;
            if a[3] > XATTR_SIZE_MAX {
                return Err(Errno::E2BIG);
            }
            let mut value = vec![0u8; a[3] as usize];
            if !value.is_empty() {
                sys::read_memory(tid, &[(a[2], a[3])], &mut value)?;
            }
            let change = Change::SetXattr { name, value, flags: a[4] as i32 };
            let subject = match meta {
                Meta::Fsetxattr => Subject::Fd(a[0] as i32),
                _ => path(cwd, a[0], meta == Meta::Lsetxattr, false),
            };
            (subject, change)
        }
        Meta::Truncate => (path(cwd, a[0], false, false), Change::Truncate(a[1] as i64)),
        Meta::Removexattr | Meta::Lremovexattr | Meta::Fremovexattr => {
            let change = Change::RemoveXattr(read_xattr_name(tid, a[1])?);
            let subject = match meta {
                Meta::Fremovexattr => Subject::Fd(a[0] as i32),
                _ => path(cwd, a[0], meta == Meta::Lremovexattr, false),
            };
            (subject, change)
        }
    })
}

/// Copies two time values at `ptr` (each two `i64`: seconds, then the
/// fraction; `size` bytes each, `scale` turns the fraction into ns; for
/// `utime`'s `struct utimbuf`, `size` 8 and no fraction). `None` for NULL.
fn read_times(tid: i32, ptr: u64, size: usize, scale: i64) -> Result<Option<[libc::timespec; 2]>, Errno> {
    if ptr == 0 {
        return Ok(None);
    }
    let mut raw = vec![0u8; 2 * size];
    sys::read_memory(tid, &[(ptr, raw.len() as u64)], &mut raw)?;
    let word = |at: usize| i64::from_ne_bytes(raw[at..at + 8].try_into().unwrap_or([0; 8]));
    let one = |i: usize| {
        let base = i * size;
        let frac = if size == 16 { word(base + 8) } else { 0 };
        if scale == 1000 && !(0..1_000_000).contains(&frac) {
            return Err(Errno::EINVAL);
        }
        Ok(libc::timespec { tv_sec: word(base), tv_nsec: frac * scale.max(1) })
    };
    Ok(Some([one(0)?, one(1)?]))
}

/// Copies a NUL-terminated string of at most `max` bytes (with the NUL),
/// reading page by page so a short string at the end of a mapping is read.
/// `None` if it is longer.
pub(crate) fn read_cstr(tid: i32, ptr: u64, max: usize) -> Result<Option<CString>, Errno> {
    if ptr == 0 {
        return Err(Errno::EFAULT);
    }
    let mut out = Vec::new();
    let mut at = ptr;
    while out.len() < max {
        let to_page = 4096 - (at % 4096) as usize;
        let mut chunk = vec![0u8; to_page.min(max - out.len())];
        sys::read_memory(tid, &[(at, chunk.len() as u64)], &mut chunk)?;
        if let Some(nul) = chunk.iter().position(|&b| b == 0) {
            out.extend_from_slice(&chunk[..nul]);
            return Ok(CString::new(out).ok());
        }
        out.extend_from_slice(&chunk);
        at += chunk.len() as u64;
    }
    Ok(None)
}

fn read_xattr_name(tid: i32, ptr: u64) -> Result<CString, Errno> {
    match read_cstr(tid, ptr, XATTR_NAME_MAX)? {
        Some(name) if !name.as_bytes().is_empty() => Ok(name),
        _ => Err(Errno::ERANGE),
    }
}

/// The file a call acts on, opened in sbx.
struct Opened {
    fd: OwnedFd,
    /// An O_PATH fd (from a path, or reopened through /proc/PID/fd): act
    /// on the inode through /proc/self/fd.
    by_path: bool,
    /// The call named an fd, not a path: a pipe or socket there is no tree's.
    named_by_fd: bool,
}

/// `IN_DONT_FOLLOW`: watch a final symlink itself.
const IN_DONT_FOLLOW: u32 = 0x0200_0000;

/// Whether `path` (canonical) is readable by `rules`: beneath a directory
/// rule, or a file rule's very file.
pub fn readable(path: &Path, rules: &[(PathBuf, bool)]) -> bool {
    path.is_absolute() && rules.iter().any(|(rule, is_dir)| if *is_dir { path.starts_with(rule) } else { path == rule })
}

impl Mediator {
    /// inotify_add_watch(fd, path, mask) under --deny-read: Landlock does
    /// not check a watch, which reports the names of files created,
    /// changed and removed in a directory the command may not list. The
    /// path is resolved as the command would, the watch added by sbx on
    /// that very inode — only where the command may read.
    pub(super) fn serve_watch(&self, req: &Notification) -> Reply {
        let Some(readable_rules) = &self.readable else { return self.fail(req.id, Errno::ENOSYS) };
        let tid = req.pid as i32;
        let mask = req.args[2] as u32;
        let subject =
            Subject::Path { dirfd: AT_FDCWD, ptr: req.args[1], nofollow: mask & IN_DONT_FOLLOW != 0, empty: false };
        let opened = match self.open_subject(tid, &subject) {
            Ok(o) => o,
            Err(e) => return self.fail(req.id, e),
        };
        let Some(status) = read_status(tid) else { return self.fail(req.id, Errno::EPERM) };
        if !self.still_valid(req.id) {
            return Reply::Gone;
        }
        let Ok(shown) = std::fs::read_link(sys::proc_fd_path(opened.fd.as_fd()).to_string_lossy().as_ref()) else {
            return Reply::Error(Errno::EACCES);
        };
        let inner_refuses = self
            .delegations_of(status.tgid)
            .iter()
            .any(|(_, d)| d.readable.as_ref().is_some_and(|rules| !readable(&shown, rules)));
        if !readable(&shown, readable_rules) || inner_refuses {
            self.report(format!(
                "sbx: blocked inotify watch of {} — allow with --allow-read={}",
                shown.display(),
                shown.display()
            ));
            return Reply::Error(Errno::EACCES);
        }
        if status.creds != self.creds {
            self.report(format!(
                "sbx: blocked inotify watch of {} — the command changed its user, groups or capabilities, and sbx \
                 acts on its behalf only with its own",
                shown.display()
            ));
            return Reply::Error(Errno::EACCES);
        }
        let instance = match sys::pidfd_open_thread(tid)
            .or_else(|_| sys::pidfd_open(status.tgid))
            .and_then(|p| sys::pidfd_getfd(p.as_fd(), req.args[0] as i32))
        {
            Ok(fd) => fd,
            Err(e) => return Reply::Error(e),
        };
        // The fd already names the symlink itself where asked to.
        match sys::inotify_add_watch_inode(instance.as_fd(), opened.fd.as_fd(), mask & !IN_DONT_FOLLOW) {
            Ok(wd) => Reply::Value(wd),
            Err(e) => Reply::Error(e),
        }
    }

    /// `ioctl(master, TIOCGPTPEER, flags)` under --deny-write: opens the
    /// slave of the command's own pseudo-terminal (the master fd is the
    /// command's, so the terminal is one it made or was given — holding a
    /// master already means typing into that terminal) and installs it in
    /// the command's fd table. Never the controlling terminal of anyone.
    pub(super) fn serve_pty_peer(&self, req: &Notification) -> Reply {
        let tid = req.pid as i32;
        let master = match sys::pidfd_open_thread(tid)
            .or_else(|_| read_status(tid).map(|s| s.tgid).ok_or(Errno::ESRCH).and_then(sys::pidfd_open))
            .and_then(|p| sys::pidfd_getfd(p.as_fd(), req.args[0] as i32))
        {
            Ok(fd) => fd,
            Err(e) => return self.fail(req.id, e),
        };
        // Only on a pseudo-terminal master (opened through /dev/ptmx or
        // devpts' ptmx, character device 5:2): the request number means
        // other things to other drivers.
        let is_master = sys::fstat(master.as_fd())
            .is_ok_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFCHR && st.st_rdev == libc::makedev(5, 2));
        if !is_master {
            return self.fail(req.id, Errno::ENOTTY);
        }
        let flags = req.args[2] as i32;
        let slave = match sys::pty_peer(master.as_fd(), flags & !libc::O_CLOEXEC) {
            Ok(fd) => fd,
            Err(e) => return self.fail(req.id, e),
        };
        match sys::notif_add_fd(self.listener.as_fd(), req.id, slave.as_fd(), flags & libc::O_CLOEXEC != 0) {
            Ok(number) => Reply::Value(number),
            Err(Errno::ENOENT) => Reply::Gone,
            Err(e) => Reply::Error(e),
        }
    }

    pub(super) fn serve_meta(&self, req: &Notification, meta: Meta) -> Reply {
        let trees = if meta == Meta::Truncate { &self.truncatable } else { &self.writable };
        let Some(writable) = trees else { return self.fail(req.id, Errno::ENOSYS) };
        let tid = req.pid as i32;
        let gathered = (|| {
            let (subject, change) = parse(meta, tid, req.args)?;
            let opened = self.open_subject(tid, &subject)?;
            Ok::<_, Errno>((change, opened))
        })();
        let (change, opened) = match gathered {
            Ok(g) => g,
            Err(e) => return self.fail(req.id, e),
        };
        let Some(status) = read_status(tid) else { return self.fail(req.id, Errno::EPERM) };
        // What was read belongs to the waiting thread only if it still waits.
        if !self.still_valid(req.id) {
            return Reply::Gone;
        }
        let shown = std::fs::read_link(sys::proc_fd_path(opened.fd.as_fd()).to_string_lossy().as_ref());
        let Ok(shown) = shown else { return Reply::Error(change.denied_errno()) };
        // Pipes, sockets and other fds that no path names are no tree's.
        let unnamed = opened.named_by_fd && !shown.is_absolute();
        let allowed = inside(&shown, writable) || unnamed;
        // An inner sbx's sandbox the caller is in: its trees too.
        let inner = self.delegations_of(status.tgid).into_iter().find(|(_, d)| {
            let trees = if meta == Meta::Truncate { &d.truncatable } else { &d.writable };
            trees.as_ref().is_some_and(|trees| !inside(&shown, trees) && !unnamed)
        });
        if let (true, Some((_, d))) = (allowed, inner) {
            self.report(format!(
                "sbx: blocked {} of {} — the sbx inside this sandbox (pid {}) does not allow writing there",
                change.verb(),
                shown.display(),
                d.pid
            ));
            return Reply::Error(change.denied_errno());
        }
        if !allowed {
            let dir = shown.parent().unwrap_or(Path::new("/"));
            self.report(format!(
                "sbx: blocked {} of {} — {}",
                change.verb(),
                shown.display(),
                super::intent::hint("change", &shown, dir, self.home.as_deref(), false)
            ));
            return Reply::Error(change.denied_errno());
        }
        if let Some(line) = (!unnamed).then(|| self.protected_refusal(change.verb(), &shown)).flatten() {
            self.report(line);
            return Reply::Error(change.denied_errno());
        }
        if status.creds != self.creds {
            self.report(format!(
                "sbx: blocked {} of {} — the command changed its user, groups or capabilities, and sbx acts on its \
                 behalf only with its own",
                change.verb(),
                shown.display()
            ));
            return Reply::Error(change.denied_errno());
        }
        let result = perform(&opened, &change);
        tracing::trace!(?meta, path = %shown.display(), ?result, "performed");
        match result {
            Ok(v) => Reply::Value(v),
            Err(e) => Reply::Error(e),
        }
    }

    /// The command's fd `fd` (of thread `tid`): its description, taken
    /// with pidfd_getfd; where that is refused, the same inode reopened
    /// through /proc/TID/fd as O_PATH (`true`: acted on by path).
    pub(super) fn command_fd(&self, tid: i32, fd: i32) -> Result<(OwnedFd, bool), Errno> {
        if !self.takes_fds {
            return Ok((sys::reopen_fd(tid, fd)?, true));
        }
        let pidfd = sys::pidfd_open_thread(tid).or_else(|_| sys::pidfd_open(tid))?;
        Ok((sys::pidfd_getfd(pidfd.as_fd(), fd)?, false))
    }

    fn open_subject(&self, tid: i32, subject: &Subject) -> Result<Opened, Errno> {
        let &Subject::Path { dirfd, ptr, nofollow, empty } = subject else {
            let Subject::Fd(fd) = *subject else { return Err(Errno::EBADF) };
            let (fd, by_path) = self.command_fd(tid, fd)?;
            return Ok(Opened { fd, by_path, named_by_fd: true });
        };
        let path = read_cstr(tid, ptr, PATH_MAX)?.ok_or(Errno::ENAMETOOLONG)?;
        let bytes = path.as_bytes();
        let extra = if nofollow { libc::O_NOFOLLOW } else { 0 };
        let fd = if bytes.is_empty() {
            if !empty {
                return Err(Errno::ENOENT);
            }
            if dirfd == AT_FDCWD { UnixCtx::of(tid)?.cwd } else { self.command_fd(tid, dirfd)?.0 }
        } else if bytes[0] == b'/' || dirfd == AT_FDCWD {
            UnixCtx::of(tid)?.open(bytes, extra)?
        } else {
            let (dir, _) = self.command_fd(tid, dirfd)?;
            sys::open_path_at(dir.as_fd(), &path, extra, sys::RESOLVE_NO_MAGICLINKS)?
        };
        Ok(Opened { fd, by_path: true, named_by_fd: false })
    }
}

fn perform(opened: &Opened, change: &Change) -> Result<i64, Errno> {
    let fd = opened.fd.as_fd();
    match change {
        Change::Mode(mode) if opened.by_path => {
            if sys::fstat(fd)?.st_mode & libc::S_IFMT == libc::S_IFLNK {
                // What the kernel says for the mode of a symlink.
                return Err(Errno::EOPNOTSUPP);
            }
            sys::chmod_inode(fd, *mode)
        }
        Change::Mode(mode) => sys::fchmod(fd, *mode),
        Change::Owner(uid, gid) if opened.by_path => sys::chown_inode(fd, *uid, *gid),
        Change::Owner(uid, gid) => sys::fchown(fd, *uid, *gid),
        Change::Times(times) if opened.by_path => sys::utimens_inode(fd, times.as_ref()),
        Change::Times(times) => sys::futimens(fd, times.as_ref()),
        Change::SetXattr { name, value, flags } => sys::xattr(fd, opened.by_path, name, Some((value, *flags))),
        Change::RemoveXattr(name) => sys::xattr(fd, opened.by_path, name, None),
        Change::Truncate(length) => {
            // What truncate(2) says for what is not a regular file.
            match sys::fstat(fd)?.st_mode & libc::S_IFMT {
                libc::S_IFREG => {}
                libc::S_IFDIR => return Err(Errno::EISDIR),
                _ => return Err(Errno::EINVAL),
            }
            if *length < 0 {
                return Err(Errno::EINVAL);
            }
            sys::truncate_inode(fd, *length)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inside_is_component_wise() {
        let w = vec![PathBuf::from("/work/in"), PathBuf::from("/dev/null")];
        assert!(inside(Path::new("/work/in"), &w));
        assert!(inside(Path::new("/work/in/a/b"), &w));
        assert!(inside(Path::new("/dev/null"), &w));
        assert!(!inside(Path::new("/work/inside"), &w));
        assert!(!inside(Path::new("/work"), &w));
        assert!(!inside(Path::new("pipe:[12]"), &w));
    }

    #[test]
    fn names_map_to_calls() {
        for &(name, _) in crate::linux::seccomp::METADATA {
            assert!(Meta::from_name(name).is_some(), "{name}");
        }
    }

    #[test]
    fn touch_is_refused_like_a_missing_write_permission() {
        assert_eq!(Change::Times(None).denied_errno(), Errno::EACCES);
        let t = libc::timespec { tv_sec: 1, tv_nsec: 0 };
        assert_eq!(Change::Times(Some([t, t])).denied_errno(), Errno::EPERM);
        assert_eq!(Change::Mode(0o755).denied_errno(), Errno::EPERM);
    }
}
