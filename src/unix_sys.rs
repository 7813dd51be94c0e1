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
