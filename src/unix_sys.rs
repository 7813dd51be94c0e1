//! System calls shared by the Unix backends (Linux and macOS), behind safe
//! functions; like each backend's own `sys.rs`, every `unsafe` block states
//! its invariant.

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
