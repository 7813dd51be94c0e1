//! Writes in the trees that hold a protected path (see
//! `policy::protect`). Landlock keeps those trees read-only to the command;
//! the filter hands sbx every call that intends to write, and sbx performs
//! those that land there itself — with a copy of the arguments, on the
//! directory it resolved (an O_PATH fd the command cannot change), with the
//! command's umask, only for a command with sbx's own credentials — and
//! refuses those that reach a protected path. Whatever sbx cannot resolve
//! cleanly continues as made: Landlock then refuses it inside those trees,
//! so a guess never costs a right, only a failed write.

use std::ffi::{CString, OsStr};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{Mode, SFlag};
use nix::unistd::UnlinkatFlags;

use super::meta::{inside, read_cstr};
use super::{Mediator, Reply, Status, read_status};
use crate::linux::sys::{self, Notification};
use crate::policy::protect::{Change, Protection, beneath, beneath_any_case};

/// Longest path the kernel accepts, with its NUL.
const PATH_MAX: usize = 4096;
/// Symlinks followed in one resolution, as the kernel allows.
const MAX_SYMLINKS: usize = 40;

/// Where the command may write, as the supervisor of protected trees sees it.
#[derive(Debug, Clone)]
pub struct Trees {
    /// Write rules' trees that hold a protected path: read-only to the
    /// command, sbx performs its writes there.
    pub supervised: Vec<PathBuf>,
    /// Write rules (trees and files) where Landlock lets the command
    /// write itself.
    pub own: Vec<PathBuf>,
    /// Every write rule's path: where an entry may be taken from (the
    /// source of a rename or link).
    pub writable: Vec<PathBuf>,
    pub protection: Protection,
}

impl Trees {
    /// Whether a write at `path` is sbx's to perform: inside a supervised
    /// tree and not where Landlock lets the command write itself.
    fn supervised(&self, path: &Path) -> bool {
        self.supervised.iter().any(|t| beneath(path, t)) && !self.own.iter().any(|t| beneath(path, t))
    }
}

/// A directory entry as the command's call names it: the directory,
/// resolved and held open, and the final name.
struct Entry {
    dir: OwnedFd,
    name: CString,
    /// The directory's path, canonical.
    dir_path: PathBuf,
    /// `dir_path` with the name.
    path: PathBuf,
}

/// A refusal: the answer, and the line to report, if any.
type Refusal = (Reply, Option<String>);

impl Mediator {
    /// Serves write-intent call `name` when trees are protected: `None`
    /// when it is not sbx's to perform (it continues, and is reported as
    /// before if the sandbox refuses it).
    pub(super) fn serve_protected(&self, req: &Notification, name: &str) -> Option<Reply> {
        let trees = self.protect.as_ref()?;
        let tid = req.pid as i32;
        let a = req.args;
        let cwd = libc::AT_FDCWD as u64;
        match name {
            "open" => self.protected_open(req, trees, cwd, a[0], a[1], a[2]),
            "openat" => self.protected_open(req, trees, a[0], a[1], a[2], a[3]),
            "creat" => self.protected_open(
                req,
                trees,
                cwd,
                a[0],
                (libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC) as u64,
                a[1],
            ),
            "openat2" => {
                // struct open_how: flags, mode, resolve (u64 each).
                if a[3] < 24 {
                    return None;
                }
                let mut raw = [0u8; 24];
                sys::read_memory(tid, &[(a[2], 24)], &mut raw).ok()?;
                let word = |i: usize| u64::from_ne_bytes(raw[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
                // Resolve restrictions are the kernel's to apply: continue
                // (Landlock refuses a write inside a supervised tree).
                if word(2) != 0 {
                    return None;
                }
                self.protected_open(req, trees, a[0], a[1], word(0), word(1))
            }
            "mkdir" => self.protected_entry(req, trees, Op::Mkdir(a[1] as u32), cwd, a[0]),
            "mkdirat" => self.protected_entry(req, trees, Op::Mkdir(a[2] as u32), a[0], a[1]),
            "mknod" => self.protected_entry(req, trees, Op::Mknod(a[1] as u32, a[2]), cwd, a[0]),
            "mknodat" => self.protected_entry(req, trees, Op::Mknod(a[2] as u32, a[3]), a[0], a[1]),
            "unlink" => self.protected_entry(req, trees, Op::Unlink(0), cwd, a[0]),
            "unlinkat" => self.protected_entry(req, trees, Op::Unlink(a[2] as i32), a[0], a[1]),
            "rmdir" => self.protected_entry(req, trees, Op::Unlink(libc::AT_REMOVEDIR), cwd, a[0]),
            "symlink" => self.protected_entry(req, trees, Op::Symlink(a[0]), cwd, a[1]),
            "symlinkat" => self.protected_entry(req, trees, Op::Symlink(a[0]), a[1], a[2]),
            "rename" => self.protected_rename(req, trees, [cwd, a[0], cwd, a[1]], 0),
            "renameat" => self.protected_rename(req, trees, [a[0], a[1], a[2], a[3]], 0),
            "renameat2" => self.protected_rename(req, trees, [a[0], a[1], a[2], a[3]], a[4] as u32),
            "link" => self.protected_link(req, trees, [cwd, a[0], cwd, a[1]], 0),
            "linkat" => self.protected_link(req, trees, [a[0], a[1], a[2], a[3]], a[4] as i32),
            _ => None,
        }
    }

    /// open, openat, openat2 (without resolve flags) and creat.
    fn protected_open(
        &self,
        req: &Notification,
        trees: &Trees,
        dirfd: u64,
        ptr: u64,
        flags: u64,
        mode: u64,
    ) -> Option<Reply> {
        let flags = flags as i32;
        let writes = libc::O_WRONLY | libc::O_RDWR | libc::O_CREAT | libc::O_TRUNC;
        if flags & libc::O_PATH != 0 || flags & writes == 0 {
            return None;
        }
        let tid = req.pid as i32;
        let raw = read_cstr(tid, ptr, PATH_MAX).ok()??;
        let dirfd = dirfd as i32;
        if flags & libc::O_TMPFILE == libc::O_TMPFILE {
            // An unnamed file in the directory the path names.
            let dir = self.resolve_dir(tid, dirfd, raw.as_bytes()).ok()?;
            let dir_path = real_path(dir.as_fd())?;
            if !trees.supervised(&dir_path) {
                return None;
            }
            if let Some(p) = trees.protection.refuses(&dir_path.join("x"), Change::Make) {
                let line = refusal("create", &dir_path, p, self.home.as_deref());
                return Some(self.answer(req, Reply::Error(Errno::EACCES), Some(line)));
            }
            let status = match self.may_act(req, &[&dir_path]) {
                Ok(status) => status,
                Err(reply) => return Some(reply),
            };
            let umask = status.umask;
            let opened = nix::fcntl::openat(
                &dir,
                c".",
                OFlag::from_bits_truncate((flags & !libc::O_CLOEXEC) | libc::O_CLOEXEC),
                Mode::from_bits_truncate((mode as u32 & 0o7777) & !umask),
            );
            return Some(self.install(req, opened, flags));
        }
        let creates = flags & libc::O_CREAT != 0;
        let exclusive = creates && flags & libc::O_EXCL != 0;
        if raw.as_bytes().ends_with(b"/") {
            // A directory, by its spelling: no file to open for writing
            // (the kernel says EISDIR or ENOENT).
            return None;
        }
        let follow = flags & libc::O_NOFOLLOW == 0 && !exclusive;
        let mut path = raw.as_bytes().to_vec();
        let mut from_root = false;
        for _ in 0..=MAX_SYMLINKS {
            if let Some(n) = own_fd_path(&path, tid) {
                return self.protected_reopen(req, trees, n, flags);
            }
            let entry = self.resolve_entry(tid, dirfd, &path, from_root).ok()?;
            if !trees.supervised(&entry.dir_path) && !trees.supervised(&entry.path) {
                return None;
            }
            if let Some((reply, line)) = self.open_refusal(trees, &entry, flags) {
                return Some(self.answer(req, reply, line));
            }
            let status = match self.may_act(req, &[&entry.path]) {
                Ok(status) => status,
                Err(reply) => return Some(reply),
            };
            let umask = status.umask;
            // O_NONBLOCK: a fifo without a reader must not hold sbx's
            // thread; cleared again below unless asked for. A file made
            // anew (O_EXCL) is no fifo.
            let guard = if exclusive { 0 } else { libc::O_NONBLOCK };
            let ours = (flags & !libc::O_CLOEXEC) | libc::O_CLOEXEC | libc::O_NOFOLLOW | guard;
            let opened = nix::fcntl::openat(
                &entry.dir,
                entry.name.as_c_str(),
                OFlag::from_bits_truncate(ours),
                Mode::from_bits_truncate((mode as u32 & 0o7777) & !umask),
            );
            // A fifo no one reads yet: wait for a reader as the command
            // would, on this worker thread (others serve the rest).
            let opened = match opened {
                Err(Errno::ENXIO) if guard != 0 && flags & libc::O_NONBLOCK == 0 => nix::fcntl::openat(
                    &entry.dir,
                    entry.name.as_c_str(),
                    OFlag::from_bits_truncate(ours & !libc::O_NONBLOCK),
                    Mode::from_bits_truncate((mode as u32 & 0o7777) & !status.umask),
                ),
                other => other,
            };
            match opened {
                Err(Errno::ELOOP) if follow => {
                    // The name is a symlink: resolve its target as the
                    // kernel would, from the link's directory.
                    let target = nix::fcntl::readlinkat(&entry.dir, entry.name.as_c_str()).ok()?;
                    let target = target.into_vec();
                    from_root = target.first() == Some(&b'/');
                    path = if from_root {
                        target
                    } else {
                        let mut p = entry.dir_path.into_os_string().into_vec();
                        p.push(b'/');
                        p.extend_from_slice(&target);
                        from_root = true;
                        p
                    };
                    continue;
                }
                Ok(fd) if flags & libc::O_NONBLOCK == 0 && !exclusive => {
                    if let Err(e) = clear_nonblock(fd.as_fd()) {
                        return Some(self.answer(req, Reply::Error(e), None));
                    }
                    return Some(self.install(req, Ok(fd), flags));
                }
                other => return Some(self.install(req, other, flags)),
            }
        }
        Some(self.answer(req, Reply::Error(Errno::ELOOP), None))
    }

    /// An open of the caller's own fd `n` through /proc (`/dev/stdout`,
    /// `/proc/self/fd/N`): the same file opened anew, as the kernel would.
    fn protected_reopen(&self, req: &Notification, trees: &Trees, n: i32, flags: i32) -> Option<Reply> {
        let tid = req.pid as i32;
        let file = self.command_file(tid, n).ok()?;
        let path = real_path(file.as_fd())?;
        if !trees.supervised(&path) {
            return None;
        }
        if let Some(p) = trees.protection.refuses(&path, Change::Write) {
            let line = refusal("write to", &path, p, self.home.as_deref());
            return Some(self.answer(req, Reply::Error(Errno::EACCES), Some(line)));
        }
        if let Err(reply) = self.may_act(req, &[&path]) {
            return Some(reply);
        }
        let ours = (flags & !(libc::O_CLOEXEC | libc::O_NOFOLLOW | libc::O_CREAT | libc::O_EXCL))
            | libc::O_CLOEXEC
            | libc::O_NONBLOCK;
        let opened = nix::fcntl::open(
            sys::proc_fd_path(file.as_fd()).as_c_str(),
            OFlag::from_bits_truncate(ours),
            Mode::empty(),
        );
        let opened = match opened {
            Ok(fd) if flags & libc::O_NONBLOCK == 0 => clear_nonblock(fd.as_fd()).map(|()| fd),
            other => other,
        };
        Some(self.install(req, opened, flags))
    }

    /// The refusal of an open of `entry`, if protected (`None`: go on).
    fn open_refusal(&self, trees: &Trees, entry: &Entry, flags: i32) -> Option<Refusal> {
        let creates = flags & libc::O_CREAT != 0;
        let p = trees.protection.refuses(&entry.path, if creates { Change::Make } else { Change::Write })?;
        let exists = exists(entry);
        let inside_protected = beneath_any_case(&entry.path, &p.path);
        if !inside_protected && exists {
            // A directory on the way to a protected path: the kernel says
            // EISDIR.
            return None;
        }
        let errno = match (exists, creates) {
            (false, false) => return Some((Reply::Error(Errno::ENOENT), None)),
            (true, true) if flags & libc::O_EXCL != 0 => return Some((Reply::Error(Errno::EEXIST), None)),
            _ => Errno::EACCES,
        };
        let verb = if exists { "write to" } else { "create" };
        Some((Reply::Error(errno), Some(refusal(verb, &entry.path, p, self.home.as_deref()))))
    }

    /// mkdir*, mknod*, unlink*, rmdir, symlink*.
    fn protected_entry(&self, req: &Notification, trees: &Trees, op: Op, dirfd: u64, ptr: u64) -> Option<Reply> {
        let tid = req.pid as i32;
        if let Op::Mknod(mode, _) = op {
            if !matches!(mode & libc::S_IFMT, 0 | libc::S_IFREG | libc::S_IFIFO | libc::S_IFSOCK) {
                // Device nodes: never sbx's to make (Landlock refuses).
                return None;
            }
        }
        if let Op::Unlink(flags) = op {
            if flags & !libc::AT_REMOVEDIR != 0 {
                return Some(self.answer(req, Reply::Error(Errno::EINVAL), None));
            }
        }
        // A symlink's content is copied before anything else is read.
        let content = match op {
            Op::Symlink(target) => Some(read_cstr(tid, target, PATH_MAX).ok()??),
            _ => None,
        };
        let raw = read_cstr(tid, ptr, PATH_MAX).ok()??;
        let dir_op = matches!(op, Op::Mkdir(_)) || matches!(op, Op::Unlink(f) if f & libc::AT_REMOVEDIR != 0);
        if raw.as_bytes().ends_with(b"/") && !dir_op {
            // Only a directory is spelled with a trailing slash: the kernel
            // answers these.
            return None;
        }
        let entry = self.resolve_entry(tid, dirfd as i32, raw.as_bytes(), false).ok()?;
        if !trees.supervised(&entry.dir_path) {
            return None;
        }
        let (change, verb) = match op {
            Op::Mkdir(_) => (Change::MakeDir, "create directory"),
            Op::Mknod(..) | Op::Symlink(_) => (Change::Make, "create"),
            Op::Unlink(_) => (Change::Remove, "delete"),
        };
        if let Some(p) = trees.protection.refuses(&entry.path, change) {
            let exists = exists(&entry);
            let errno = match change {
                Change::Remove if !exists => Errno::ENOENT,
                Change::Make | Change::MakeDir if exists => Errno::EEXIST,
                _ => Errno::EACCES,
            };
            let line = (errno == Errno::EACCES).then(|| refusal(verb, &entry.path, p, self.home.as_deref()));
            return Some(self.answer(req, Reply::Error(errno), line));
        }
        let status = match self.may_act(req, &[&entry.path]) {
            Ok(status) => status,
            Err(reply) => return Some(reply),
        };
        let umask = || status.umask;
        let name = entry.name.as_c_str();
        let done = match op {
            Op::Mkdir(mode) => {
                nix::sys::stat::mkdirat(&entry.dir, name, Mode::from_bits_truncate(mode & 0o7777 & !umask()))
            }
            Op::Mknod(mode, dev) => nix::sys::stat::mknodat(
                &entry.dir,
                name,
                SFlag::from_bits_truncate(if mode & libc::S_IFMT == 0 { libc::S_IFREG } else { mode & libc::S_IFMT }),
                Mode::from_bits_truncate(mode & 0o7777 & !umask()),
                dev,
            ),
            Op::Unlink(flags) => nix::unistd::unlinkat(
                &entry.dir,
                name,
                if flags & libc::AT_REMOVEDIR != 0 { UnlinkatFlags::RemoveDir } else { UnlinkatFlags::NoRemoveDir },
            ),
            Op::Symlink(_) => nix::unistd::symlinkat(content.as_deref().unwrap_or(c""), &entry.dir, name),
        };
        Some(self.answer(req, done.map_or_else(Reply::Error, |()| Reply::Value(0)), None))
    }

    /// rename, renameat, renameat2.
    fn protected_rename(&self, req: &Notification, trees: &Trees, args: [u64; 4], flags: u32) -> Option<Reply> {
        let tid = req.pid as i32;
        let old = read_cstr(tid, args[1], PATH_MAX).ok()??;
        let new = read_cstr(tid, args[3], PATH_MAX).ok()??;
        let from = self.resolve_entry(tid, args[0] as i32, old.as_bytes(), false).ok()?;
        let to = self.resolve_entry(tid, args[2] as i32, new.as_bytes(), false).ok()?;
        if !trees.supervised(&from.dir_path) && !trees.supervised(&to.dir_path) {
            return None;
        }
        // Both ends where the command may write, else the kernel decides
        // (and Landlock refuses).
        if !inside(&from.dir_path, &trees.writable) || !inside(&to.dir_path, &trees.writable) {
            return None;
        }
        if flags & !(libc::RENAME_NOREPLACE | libc::RENAME_EXCHANGE) != 0 {
            // RENAME_WHITEOUT makes a device node: not sbx's to do.
            return None;
        }
        let exchange = flags & libc::RENAME_EXCHANGE != 0;
        let checks = [
            (&from, Change::RenameAway, "rename"),
            (&to, if exchange { Change::RenameAway } else { Change::Make }, "rename into"),
        ];
        for (entry, change, verb) in checks {
            if let Some(p) = trees.protection.refuses(&entry.path, change) {
                let line = refusal(verb, &entry.path, p, self.home.as_deref());
                return Some(self.answer(req, Reply::Error(Errno::EACCES), Some(line)));
            }
        }
        if let Err(reply) = self.may_act(req, &[&from.path, &to.path]) {
            return Some(reply);
        }
        let done = sys::renameat2(from.dir.as_fd(), &from.name, to.dir.as_fd(), &to.name, flags);
        Some(self.answer(req, done.map_or_else(Reply::Error, |()| Reply::Value(0)), None))
    }

    /// link, linkat.
    fn protected_link(&self, req: &Notification, trees: &Trees, args: [u64; 4], flags: i32) -> Option<Reply> {
        let tid = req.pid as i32;
        if flags & !(libc::AT_SYMLINK_FOLLOW | libc::AT_EMPTY_PATH) != 0 {
            return Some(self.answer(req, Reply::Error(Errno::EINVAL), None));
        }
        let old = read_cstr(tid, args[1], PATH_MAX).ok()??;
        let new = read_cstr(tid, args[3], PATH_MAX).ok()??;
        let to = self.resolve_entry(tid, args[2] as i32, new.as_bytes(), false).ok()?;
        if !trees.supervised(&to.dir_path) {
            return None;
        }
        if let Some(p) = trees.protection.refuses(&to.path, Change::Make) {
            let (errno, line) = if exists(&to) {
                (Errno::EEXIST, None)
            } else {
                (Errno::EACCES, Some(refusal("create link", &to.path, p, self.home.as_deref())))
            };
            return Some(self.answer(req, Reply::Error(errno), line));
        }
        // The file to link, held open: a command fd (AT_EMPTY_PATH, or
        // /proc/self/fd/N followed — how an O_TMPFILE file gets its name),
        // else the path, its final symlink followed only if asked.
        let source: OwnedFd = if old.as_bytes().is_empty() && flags & libc::AT_EMPTY_PATH != 0 {
            self.command_file(tid, args[0] as i32).ok()?
        } else if let Some(n) = own_fd_path(old.as_bytes(), tid).filter(|_| flags & libc::AT_SYMLINK_FOLLOW != 0) {
            self.command_file(tid, n).ok()?
        } else {
            let follow = flags & libc::AT_SYMLINK_FOLLOW != 0;
            let extra = if follow { 0 } else { libc::O_NOFOLLOW };
            self.resolve_path(tid, args[0] as i32, old.as_bytes(), extra).ok()?
        };
        let shown = real_path(source.as_fd())?;
        let unnamed = shown.to_string_lossy().ends_with(" (deleted)");
        let source_path = if unnamed {
            PathBuf::from(shown.to_string_lossy().trim_end_matches(" (deleted)").to_owned())
        } else {
            shown
        };
        if !inside(&source_path, &trees.writable) {
            // Linking a file the command may not write: the kernel and
            // Landlock decide (and refuse).
            return None;
        }
        if let Some(p) = trees.protection.refuses(&source_path, Change::Write) {
            let line = refusal("create link to", &source_path, p, self.home.as_deref());
            return Some(self.answer(req, Reply::Error(Errno::EACCES), Some(line)));
        }
        if let Err(reply) = self.may_act(req, &[&source_path, &to.path]) {
            return Some(reply);
        }
        let via = sys::proc_fd_path(source.as_fd());
        let done = nix::unistd::linkat(
            nix::fcntl::AT_FDCWD,
            via.as_c_str(),
            &to.dir,
            to.name.as_c_str(),
            AtFlags::AT_SYMLINK_FOLLOW,
        );
        Some(self.answer(req, done.map_or_else(Reply::Error, |()| Reply::Value(0)), None))
    }

    /// Whether sbx may act for the caller of `req` on `paths` (`None`: it
    /// may). sbx acts with its own credentials, so only for a command that
    /// has them; inside a further sandbox (more seccomp filters than the
    /// command started with) only where every inner sbx registered with
    /// this one allows writing — an unregistered one's limits are unknown,
    /// so its calls continue and Landlock refuses them.
    fn may_act(&self, req: &Notification, paths: &[&Path]) -> Result<Status, Reply> {
        let tid = req.pid as i32;
        let Some(status) = read_status(tid) else { return Err(self.fail(req.id, Errno::EPERM)) };
        if status.filters > self.filters_at_start {
            let inner = self.delegations_of(status.tgid);
            let allowed = !inner.is_empty()
                && inner.iter().all(|(_, d)| d.writable.as_ref().is_none_or(|w| paths.iter().all(|p| inside(p, w))));
            if !allowed {
                return Err(Reply::Continue);
            }
        }
        if status.creds != self.creds {
            let line = format!(
                "sbx: blocked write to {} — the command changed its user, groups or capabilities, and sbx writes \
                 in protected trees on its behalf only with its own",
                paths.first().map_or_else(String::new, |p| p.display().to_string())
            );
            return Err(self.answer(req, Reply::Error(Errno::EACCES), Some(line)));
        }
        if !self.still_valid(req.id) {
            return Err(Reply::Gone);
        }
        Ok(status)
    }

    /// The report line when `path` is protected (metadata changes and
    /// truncation: a protected file keeps its mode, owner and content).
    pub(super) fn protected_refusal(&self, verb: &str, path: &Path) -> Option<String> {
        let p = self.protect.as_ref()?.protection.refuses(path, Change::Write)?;
        Some(refusal(verb, path, p, self.home.as_deref()))
    }

    /// Answers `reply`, reporting `line` first.
    fn answer(&self, req: &Notification, reply: Reply, line: Option<String>) -> Reply {
        if let Some(line) = line {
            self.report(line);
        }
        match reply {
            Reply::Error(e) => self.fail(req.id, e),
            other => other,
        }
    }

    /// Installs an fd sbx opened in the caller's table.
    fn install(&self, req: &Notification, opened: nix::Result<OwnedFd>, flags: i32) -> Reply {
        let fd = match opened {
            Ok(fd) => fd,
            Err(e) => return self.fail(req.id, e),
        };
        match sys::notif_add_fd(self.listener.as_fd(), req.id, fd.as_fd(), flags & libc::O_CLOEXEC != 0) {
            Ok(number) => Reply::Value(number),
            Err(Errno::ENOENT) => Reply::Gone,
            Err(e) => Reply::Error(e),
        }
    }

    /// The directory `dirfd` stands for in thread `tid`'s call, opened
    /// (O_PATH): its cwd, a directory fd of its, or its root.
    fn base(&self, tid: i32, dirfd: i32, absolute: bool) -> Result<OwnedFd, Errno> {
        let proc_dir = |name: &str| -> Result<OwnedFd, Errno> {
            let path = CString::new(format!("/proc/{tid}/{name}")).map_err(|_| Errno::EINVAL)?;
            nix::fcntl::open(path.as_c_str(), OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
        };
        if absolute {
            proc_dir("root")
        } else if dirfd == libc::AT_FDCWD {
            proc_dir("cwd")
        } else {
            Ok(self.command_fd(tid, dirfd)?.0)
        }
    }

    /// Opens (O_PATH) what `path` names for thread `tid`, relative to its
    /// `dirfd`, with `extra` open flags; no magic links.
    fn resolve_path(&self, tid: i32, dirfd: i32, path: &[u8], extra: i32) -> Result<OwnedFd, Errno> {
        let absolute = path.first() == Some(&b'/');
        let base = self.base(tid, dirfd, absolute)?;
        let c = CString::new(path).map_err(|_| Errno::EINVAL)?;
        let resolve = sys::RESOLVE_NO_MAGICLINKS | if absolute { sys::RESOLVE_IN_ROOT } else { 0 };
        sys::open_path_at(base.as_fd(), &c, extra, resolve)
    }

    /// The directory `path` names (O_PATH), followed.
    fn resolve_dir(&self, tid: i32, dirfd: i32, path: &[u8]) -> Result<OwnedFd, Errno> {
        self.resolve_path(tid, dirfd, path, libc::O_DIRECTORY)
    }

    /// The entry `path` names: its directory resolved and held, the final
    /// name apart (trailing slashes dropped). `from_root`: `path` is
    /// already absolute in the command's root. `.`, `..` and `/` as the
    /// final name are not entries sbx makes or removes: `Err`.
    fn resolve_entry(&self, tid: i32, dirfd: i32, path: &[u8], from_root: bool) -> Result<Entry, Errno> {
        let mut trimmed = path;
        while trimmed.len() > 1 && trimmed.ends_with(b"/") {
            trimmed = &trimmed[..trimmed.len() - 1];
        }
        let (dir, name): (&[u8], &[u8]) = match trimmed.iter().rposition(|&b| b == b'/') {
            Some(0) => (b"/", &trimmed[1..]),
            Some(i) => (&trimmed[..i], &trimmed[i + 1..]),
            None => (b".", trimmed),
        };
        if name.is_empty() || name == b"." || name == b".." {
            return Err(Errno::EINVAL);
        }
        let dir = if from_root && dir.first() != Some(&b'/') { return Err(Errno::EINVAL) } else { dir };
        let dir_fd = self.resolve_dir(tid, dirfd, dir)?;
        let dir_path = real_path(dir_fd.as_fd()).ok_or(Errno::ENOENT)?;
        let name = CString::new(name).map_err(|_| Errno::EINVAL)?;
        let path = dir_path.join(OsStr::from_bytes(name.as_bytes()));
        Ok(Entry { dir: dir_fd, name, dir_path, path })
    }

    /// A file the command holds open as fd `fd` of process `pid`, as an
    /// fd of sbx's (O_PATH through /proc, which names the same inode).
    fn command_file(&self, pid: i32, fd: i32) -> Result<OwnedFd, Errno> {
        sys::reopen_fd(pid, fd)
    }
}

/// What a call does to its one entry.
#[derive(Debug, Clone, Copy)]
enum Op {
    /// mkdir: the mode.
    Mkdir(u32),
    /// mknod: the mode (type and permissions) and device.
    Mknod(u32, u64),
    /// unlink/rmdir: unlinkat's flags.
    Unlink(i32),
    /// symlink: the pointer to its content.
    Symlink(u64),
}

/// Clears O_NONBLOCK on the open file description behind `fd`.
fn clear_nonblock(fd: BorrowedFd<'_>) -> nix::Result<()> {
    use nix::fcntl::{FcntlArg, fcntl};
    let flags = OFlag::from_bits_truncate(fcntl(fd, FcntlArg::F_GETFL)?);
    fcntl(fd, FcntlArg::F_SETFL(flags - OFlag::O_NONBLOCK)).map(drop)
}

/// Whether `entry` exists (a symlink itself counts).
fn exists(entry: &Entry) -> bool {
    nix::sys::stat::fstatat(&entry.dir, entry.name.as_c_str(), AtFlags::AT_SYMLINK_NOFOLLOW).is_ok()
}

/// The canonical path of what `fd` holds open; `None` for what no path
/// names (deleted, or on no file system of this root).
fn real_path(fd: BorrowedFd<'_>) -> Option<PathBuf> {
    let path = std::fs::read_link(OsStr::from_bytes(sys::proc_fd_path(fd).as_bytes())).ok()?;
    path.is_absolute().then_some(path)
}

/// `/proc/self/fd/N`, `/proc/thread-self/fd/N`, `/dev/fd/N` and
/// `/proc/PID/fd/N`: (the process, `None` for the caller itself; N).
fn proc_fd_number(path: &[u8]) -> Option<(Option<i32>, i32)> {
    let text = std::str::from_utf8(path).ok()?;
    let (who, n) = if let Some(n) = text.strip_prefix("/dev/fd/") {
        (None, n)
    } else {
        let rest = text.strip_prefix("/proc/")?;
        let (who, n) = rest.split_once("/fd/")?;
        match who {
            "self" | "thread-self" => (None, n),
            pid => (Some(pid.parse().ok()?), n),
        }
    };
    Some((who, n.parse().ok()?))
}

/// The caller's own fd that `path` reopens: `/dev/stdin`, `/dev/stdout`,
/// `/dev/stderr`, `/dev/fd/N`, `/proc/self/fd/N`, `/proc/thread-self/fd/N`
/// and `/proc/TID/fd/N` of the caller itself.
fn own_fd_path(path: &[u8], tid: i32) -> Option<i32> {
    match path {
        b"/dev/stdin" => return Some(0),
        b"/dev/stdout" => return Some(1),
        b"/dev/stderr" => return Some(2),
        _ => {}
    }
    match proc_fd_number(path)? {
        (None, n) => Some(n),
        (Some(pid), n) if pid == tid => Some(n),
        _ => None,
    }
}

/// `sbx: blocked VERB PATH — protected: WHY; lift with --unprotect=P` (or,
/// for `--protect`, the flag to drop).
fn refusal(verb: &str, path: &Path, p: &crate::policy::protect::Protected, home: Option<&Path>) -> String {
    let shown = super::intent::shown(&p.path, home);
    match &p.source {
        crate::policy::Source::Default(_) => {
            format!("sbx: blocked {verb} {} — protected: {}; lift with --unprotect={shown}", path.display(), p.why)
        }
        source => format!("sbx: blocked {verb} {} — protected by {}", path.display(), source.entry(&shown)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_fd_paths_name_the_callers_or_a_processs_fd() {
        assert_eq!(proc_fd_number(b"/proc/self/fd/3"), Some((None, 3)));
        assert_eq!(proc_fd_number(b"/proc/thread-self/fd/12"), Some((None, 12)));
        assert_eq!(proc_fd_number(b"/dev/fd/0"), Some((None, 0)));
        assert_eq!(proc_fd_number(b"/proc/42/fd/5"), Some((Some(42), 5)));
        assert_eq!(proc_fd_number(b"/proc/self/fd/x"), None);
        assert_eq!(proc_fd_number(b"/tmp/fd/3"), None);
    }
}
