//! System calls shared by the Unix backends (Linux and macOS), behind safe
//! functions; like each backend's own `sys.rs`, every `unsafe` block states
//! its invariant.

use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// Dies of `signal` the way the command did: default disposition, no core
/// dump of sbx itself (the command already dumped, if it was going to),
/// signal unblocked, raised. Returns only if the signal turned out not to
/// be fatal.
pub fn die_of_signal(signal: i32) {
    let no_core = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: setrlimit reads a live struct; signal/sigprocmask/raise take
    // integers and live sigsets only.
    unsafe {
        libc::setrlimit(libc::RLIMIT_CORE, &no_core);
        libc::signal(signal, libc::SIG_DFL);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, signal);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        libc::raise(signal);
    }
}

/// Async-signal-safe. fcntl(F_SETFD, FD_CLOEXEC) on every fd number from
/// `first` below `limit`: at the next exec the kernel closes them.
pub fn cloexec_each(first: u32, limit: u32) {
    for fd in first..limit {
        // SAFETY: fcntl with integer arguments; an fd that is not open gives EBADF.
        unsafe { libc::fcntl(fd as i32, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
}

/// The number of fds a process may have open (the soft RLIMIT_NOFILE,
/// capped at 2^20): every open fd number lies below it.
pub fn fd_limit() -> u32 {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes into the live local.
    let ret = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    if ret != 0 {
        return 1 << 20;
    }
    u32::try_from(limit.rlim_cur).unwrap_or(u32::MAX).min(1 << 20)
}

/// What [`stat_at`] and [`stat_fd`] tell of a file: its device, inode and
/// mode (type and permission bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileId {
    pub dev: u64,
    pub ino: u64,
    pub mode: u32,
    dir: bool,
}

impl FileId {
    // The field types differ between Linux and macOS (`dev_t` is i32 on
    // macOS, `mode_t` u16): the casts are no-ops on one, widenings on the other.
    #[allow(clippy::unnecessary_cast)]
    fn of(st: &libc::stat) -> Self {
        let dir = st.st_mode & libc::S_IFMT == libc::S_IFDIR;
        Self { dev: st.st_dev as u64, ino: st.st_ino as u64, mode: st.st_mode as u32, dir }
    }

    pub fn is_dir(&self) -> bool {
        self.dir
    }

    /// The same file as `other` (device and inode).
    pub fn same(&self, other: &FileId) -> bool {
        self.dev == other.dev && self.ino == other.ino
    }
}

fn cvt(ret: libc::c_int) -> std::io::Result<libc::c_int> {
    if ret < 0 { Err(std::io::Error::last_os_error()) } else { Ok(ret) }
}

/// Opens the directory `name` in `dir` (`None`: relative to the current
/// directory, or absolute) for reading, never through a symlink:
/// `O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC`.
pub fn open_dir_at(dir: Option<BorrowedFd<'_>>, name: &CStr) -> std::io::Result<OwnedFd> {
    let dirfd = dir.map_or(libc::AT_FDCWD, |d| d.as_raw_fd());
    let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    // SAFETY: openat reads the NUL-terminated name; dirfd is a live fd (or
    // AT_FDCWD); the fd returned is new and ours alone.
    let fd = cvt(unsafe { libc::openat(dirfd, name.as_ptr(), flags) })?;
    // SAFETY: fd was just opened and is owned by nothing else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `name` in `dir`, not following a symlink (`AT_SYMLINK_NOFOLLOW`).
pub fn stat_at(dir: BorrowedFd<'_>, name: &CStr) -> std::io::Result<FileId> {
    // SAFETY: stat is plain data, written by fstatat before it is read.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstatat reads the NUL-terminated name and writes the live local.
    cvt(unsafe { libc::fstatat(dir.as_raw_fd(), name.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) })?;
    Ok(FileId::of(&st))
}

/// The file `fd` refers to.
pub fn stat_fd(fd: BorrowedFd<'_>) -> std::io::Result<FileId> {
    // SAFETY: stat is plain data, written by fstat before it is read.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat writes the live local.
    cvt(unsafe { libc::fstat(fd.as_raw_fd(), &mut st) })?;
    Ok(FileId::of(&st))
}

/// Sets the permission bits of `name` in `dir` to `mode`, never through a
/// symlink (`AT_SYMLINK_NOFOLLOW`: a symlink gives an error on Linux, its
/// own mode changes on macOS).
#[allow(clippy::unnecessary_cast)] // `mode_t` is u32 on Linux, u16 on macOS.
pub fn chmod_at(dir: BorrowedFd<'_>, name: &CStr, mode: u32) -> std::io::Result<()> {
    // SAFETY: fchmodat reads the NUL-terminated name; integers otherwise.
    cvt(unsafe { libc::fchmodat(dir.as_raw_fd(), name.as_ptr(), mode as libc::mode_t, libc::AT_SYMLINK_NOFOLLOW) })?;
    Ok(())
}

/// Sets the permission bits of the file `fd` refers to.
#[allow(clippy::unnecessary_cast)] // `mode_t` is u32 on Linux, u16 on macOS.
pub fn chmod_fd(fd: BorrowedFd<'_>, mode: u32) -> std::io::Result<()> {
    // SAFETY: fchmod takes integers only.
    cvt(unsafe { libc::fchmod(fd.as_raw_fd(), mode as libc::mode_t) })?;
    Ok(())
}

/// Removes the entry `name` of `dir`: an empty directory if `is_dir`, else
/// any other kind of file (a symlink itself, never its target).
pub fn unlink_at(dir: BorrowedFd<'_>, name: &CStr, is_dir: bool) -> std::io::Result<()> {
    let flags = if is_dir { libc::AT_REMOVEDIR } else { 0 };
    // SAFETY: unlinkat reads the NUL-terminated name; integers otherwise.
    cvt(unsafe { libc::unlinkat(dir.as_raw_fd(), name.as_ptr(), flags) })?;
    Ok(())
}

/// The names in the directory `dir` (without `.` and `..`), read from its
/// start.
pub fn list_dir(dir: BorrowedFd<'_>) -> std::io::Result<Vec<CString>> {
    // A duplicate for fdopendir, which takes the fd over (closedir closes it).
    // SAFETY: fcntl with integers; the new fd is ours.
    let dup = cvt(unsafe { libc::fcntl(dir.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 0) })?;
    // SAFETY: dup is a live directory fd that nothing else owns; on success
    // the stream owns it.
    let stream = unsafe { libc::fdopendir(dup) };
    if stream.is_null() {
        let err = std::io::Error::last_os_error();
        // SAFETY: fdopendir failed, so dup is still ours to close.
        unsafe { libc::close(dup) };
        return Err(err);
    }
    // The duplicate shares its offset with `dir`: start from the beginning.
    // SAFETY: stream is a live DIR*.
    unsafe { libc::rewinddir(stream) };
    let mut names = Vec::new();
    let result = loop {
        // readdir returns NULL both at the end and on an error, which only
        // errno tells apart: clear it first.
        errno_clear();
        // SAFETY: stream is a live DIR*; the entry it returns stays valid
        // until the next readdir or closedir, and is copied before either.
        let entry = unsafe { libc::readdir(stream) };
        if entry.is_null() {
            let err = std::io::Error::last_os_error();
            break if err.raw_os_error().unwrap_or(0) == 0 { Ok(()) } else { Err(err) };
        }
        // SAFETY: d_name is a NUL-terminated name inside the live entry.
        let name = unsafe { CStr::from_ptr((*entry).d_name.as_ptr()) };
        if name != c"." && name != c".." {
            names.push(name.to_owned());
        }
    };
    // SAFETY: stream is live and closed once, with the fd it owns.
    unsafe { libc::closedir(stream) };
    result.map(|()| names)
}

fn errno_clear() {
    // SAFETY: the thread's errno location is always valid to write.
    #[cfg(target_os = "linux")]
    unsafe {
        *libc::__errno_location() = 0
    };
    // SAFETY: as above.
    #[cfg(target_os = "macos")]
    unsafe {
        *libc::__error() = 0
    };
}

/// mkdtemp(3): creates a new directory, mode 0700, from `template` (ending
/// in `XXXXXX`, replaced by random characters); returns its path.
pub fn make_temp_dir(template: &CStr) -> std::io::Result<CString> {
    let mut buf = template.to_bytes_with_nul().to_vec();
    // SAFETY: buf is a writable NUL-terminated copy that mkdtemp fills in
    // place, within its length.
    let ret = unsafe { libc::mkdtemp(buf.as_mut_ptr().cast()) };
    if ret.is_null() {
        return Err(std::io::Error::last_os_error());
    }
    buf.pop();
    CString::new(buf).map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidData))
}
