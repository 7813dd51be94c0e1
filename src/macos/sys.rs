//! The macOS backend's system calls, behind safe functions: `confstr`,
//! `ttyname_r`, `sysctlbyname`, `setsid` before exec, and the signal mask
//! sbx waits under. Every `unsafe` block states its invariant. macOS only;
//! nothing here decides anything (the decisions are pure, in [`super::machine`],
//! [`super::diagnose`] and [`super::profile`]).

use std::ffi::{CStr, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus};

/// A per-user directory from `confstr`: `_CS_DARWIN_USER_TEMP_DIR` or
/// `_CS_DARWIN_USER_CACHE_DIR` (`/var/folders/xx/…/T/` and `…/C/`). They
/// exist for every user session, with or without `$TMPDIR` (which SSH and CI
/// sessions often lack). `None` when confstr fails.
pub fn user_dir(name: libc::c_int) -> Option<PathBuf> {
    // SAFETY: a null buffer of length 0 asks for the needed size only
    // (including the terminating NUL); confstr writes nothing.
    let needed = unsafe { libc::confstr(name, std::ptr::null_mut(), 0) };
    if needed == 0 || needed > 4096 {
        return None;
    }
    let mut buf = vec![0u8; needed];
    // SAFETY: buf is live and exactly `needed` bytes long; confstr writes at
    // most that many bytes, NUL included. Doubt: the value could grow between
    // the two calls (it does not: it is fixed per user); confstr then
    // truncates, and the check below refuses the result.
    let written = unsafe { libc::confstr(name, buf.as_mut_ptr().cast::<libc::c_char>(), buf.len()) };
    if written == 0 || written > buf.len() {
        return None;
    }
    let value = CStr::from_bytes_until_nul(&buf).ok()?.to_bytes();
    let trimmed = value.strip_suffix(b"/").unwrap_or(value);
    (trimmed.first() == Some(&b'/')).then(|| PathBuf::from(OsStr::from_bytes(trimmed)))
}

/// The per-user temporary directory (`_CS_DARWIN_USER_TEMP_DIR`).
pub fn user_temp_dir() -> Option<PathBuf> {
    user_dir(libc::_CS_DARWIN_USER_TEMP_DIR)
}

/// The per-user cache directory (`_CS_DARWIN_USER_CACHE_DIR`).
pub fn user_cache_dir() -> Option<PathBuf> {
    user_dir(libc::_CS_DARWIN_USER_CACHE_DIR)
}

/// The terminal device open on `fd` (e.g. `/dev/ttys003`), if `fd` is a
/// terminal.
pub fn ttyname(fd: libc::c_int) -> Option<PathBuf> {
    let mut buf = [0u8; 128];
    // SAFETY: buf is live and its length is passed; ttyname_r writes a
    // NUL-terminated name into it or returns an error number (ENOTTY, EBADF,
    // ERANGE) and leaves it unspecified, in which case it is not read.
    let rc = unsafe { libc::ttyname_r(fd, buf.as_mut_ptr().cast::<libc::c_char>(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let name = CStr::from_bytes_until_nul(&buf).ok()?.to_bytes();
    Some(PathBuf::from(OsStr::from_bytes(name)))
}

/// A string sysctl such as `kern.osversion` (the macOS build, `23C64`).
pub fn sysctl_string(name: &CStr) -> Option<String> {
    let mut buf = [0u8; 256];
    let mut len: libc::size_t = buf.len();
    // SAFETY: name is NUL-terminated; buf is live and len holds its size,
    // which sysctlbyname updates to the bytes written (NUL included); no new
    // value is set (null, 0).
    let rc = unsafe {
        libc::sysctlbyname(name.as_ptr(), buf.as_mut_ptr().cast::<libc::c_void>(), &mut len, std::ptr::null_mut(), 0)
    };
    if rc != 0 || len > buf.len() {
        return None;
    }
    let value = CStr::from_bytes_until_nul(&buf[..len]).ok()?;
    value.to_str().ok().map(str::to_owned).filter(|v| !v.is_empty())
}

/// Makes `cmd` start its process in a new session (`setsid`), without a
/// controlling terminal: it can then not push input into the caller's
/// terminal with TIOCSTI (which needs the terminal to be the caller's
/// controlling one, unless root).
pub fn start_in_new_session(cmd: &mut Command) {
    // SAFETY: the closure runs in the child between fork and exec and calls
    // only setsid, which is async-signal-safe and allocates nothing. It
    // fails only when the child already leads a process group, which a
    // freshly forked child never does; the error is reported all the same.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Signals sbx forwards to the command (as on Linux).
const FORWARDED: &[libc::c_int] =
    &[libc::SIGTERM, libc::SIGHUP, libc::SIGUSR1, libc::SIGUSR2, libc::SIGWINCH, libc::SIGALRM];
/// Signals the terminal sends to its foreground process group. Normally the
/// command is in that group and gets them itself, so sbx ignores them; when
/// the command runs in a session of its own, sbx passes them on to the
/// command's process group.
const FROM_TERMINAL: &[libc::c_int] = &[libc::SIGINT, libc::SIGQUIT];

/// The forwarded and terminal signals and SIGCHLD, blocked before the
/// command starts (so none is lost) and read with `sigwait`. The child's
/// mask is reset by `std::process::Command`.
pub struct Signals {
    set: libc::sigset_t,
    original: libc::sigset_t,
}

extern "C" fn on_sigchld(_: libc::c_int) {}

impl Signals {
    pub fn block() -> Self {
        // SAFETY: sigemptyset/sigaddset fill live sigsets; signal installs
        // a handler that does nothing (so a blocked SIGCHLD stays pending
        // instead of being discarded as ignored); pthread_sigmask reads
        // and writes live sigsets.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            let mut original: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for &signal in FORWARDED.iter().chain(FROM_TERMINAL).chain(&[libc::SIGCHLD]) {
                libc::sigaddset(&mut set, signal);
            }
            libc::signal(libc::SIGCHLD, on_sigchld as extern "C" fn(libc::c_int) as libc::sighandler_t);
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut original);
            Self { set, original }
        }
    }

    /// Forwards signals until `child` ends; returns how it ended. With
    /// `own_session` the child leads a session and process group of its
    /// own, and SIGINT/SIGQUIT from the terminal go to that group.
    pub fn supervise(&self, child: &mut Child, own_session: bool) -> std::io::Result<ExitStatus> {
        let pid = libc::pid_t::try_from(child.id()).unwrap_or(libc::pid_t::MAX);
        loop {
            if let Some(status) = child.try_wait()? {
                return Ok(status);
            }
            let mut signal: libc::c_int = 0;
            // SAFETY: set is a live, initialised sigset; signal is writable.
            let rc = unsafe { libc::sigwait(&self.set, &mut signal) };
            if rc != 0 {
                continue;
            }
            let target = if FORWARDED.contains(&signal) {
                pid
            } else if own_session && FROM_TERMINAL.contains(&signal) {
                -pid
            } else {
                continue;
            };
            tracing::debug!(signal, target, "forwarding signal to the command");
            // SAFETY: kill takes plain integers; pid is our child, not
            // reaped yet (try_wait above saw it running), and -pid its
            // process group, which exists while it does.
            unsafe { libc::kill(target, signal) };
        }
    }
}

impl Drop for Signals {
    fn drop(&mut self) {
        // SAFETY: restores the mask saved in `block`, a live sigset.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &self.original, std::ptr::null_mut()) };
    }
}
