//! Every raw system call sbx makes on Linux, behind small safe functions.
//! Functions marked "async-signal-safe" only make system calls (no allocation,
//! no locks) and are the only ones the child may call between fork and exec.

use std::ffi::CStr;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;

/// Landlock's `LANDLOCK_CREATE_RULESET_VERSION` flag.
const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1;

/// The Landlock ABI version this kernel offers: `Ok(n)` (n ≥ 1), or the
/// errno that says why there is none (ENOSYS: not built in; EOPNOTSUPP: built
/// in but disabled at boot).
pub fn landlock_abi() -> Result<i32, Errno> {
    // SAFETY: landlock_create_ruleset with a NULL attr, size 0 and the VERSION
    // flag only returns a number; it reads no memory and creates no fd.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    if ret < 0 { Err(Errno::last()) } else { Ok(ret as i32) }
}

/// Resolves `path` with one `open(O_PATH)`, one `fstat` and one `readlink` of
/// the fd's /proc link — far fewer system calls than realpath(3), which reads
/// every component's link. Falls back to realpath when /proc is unavailable.
pub fn resolve_path(path: &std::path::Path) -> std::io::Result<crate::paths::Resolved> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "path contains a NUL byte"))?;
    // SAFETY: c_path is NUL-terminated; open returns a new fd or -1.
    let fd = unsafe { libc::open(c_path.as_ptr(), libc::O_PATH | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fd was just opened and is owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: stat is plain data; fstat fills it for a valid fd.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fd is open; stat is a live, writable struct.
    if unsafe { libc::fstat(fd.as_raw_fd(), &mut stat) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let is_dir = stat.st_mode & libc::S_IFMT == libc::S_IFDIR;
    match std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())) {
        Ok(resolved) if resolved.is_absolute() && !resolved.as_os_str().as_bytes().ends_with(b" (deleted)") => {
            Ok(crate::paths::Resolved { path: resolved, is_dir })
        }
        _ => crate::paths::resolve_portably(path),
    }
}

/// Size of the stack the child runs on between [`spawn`] and exec.
const CHILD_STACK_SIZE: usize = 256 * 1024;

/// Starts `child` in a new process that shares sbx's memory until it execs
/// or exits (`clone(CLONE_VM | CLONE_VFORK)`, as posix_spawn does), and
/// returns its pid once it has. No page tables are copied, which makes this
/// several times faster than fork(2) for sbx.
///
/// `child` must only make async-signal-safe system calls and must end in
/// execve or `_exit` (its type, returning `Infallible`, says it never returns). It runs with every
/// signal blocked; it must restore the mask it wants before exec.
pub fn spawn<F: FnOnce() -> std::convert::Infallible>(child: F) -> Result<libc::pid_t, Errno> {
    // `child()` is inferred to diverge for the closures sbx passes.
    #[allow(unreachable_code)]
    extern "C" fn trampoline<F: FnOnce() -> std::convert::Infallible>(arg: *mut libc::c_void) -> libc::c_int {
        // SAFETY: arg is the `Option<F>` in `spawn`'s frame, which stays
        // alive and untouched while the parent is suspended (CLONE_VFORK).
        let slot = unsafe { &mut *(arg as *mut Option<F>) };
        match slot.take() {
            Some(child) => match child() {},
            None => exit_now(crate::exit::SBX_FAILED),
        }
    }

    let mut stack = vec![0u8; CHILD_STACK_SIZE];
    // The stack grows down: pass its 16-byte-aligned top.
    let top = (stack.as_mut_ptr() as usize + CHILD_STACK_SIZE) & !15;
    let mut slot = Some(child);
    // Block every signal so no handler of sbx's runs in the child while it
    // shares sbx's memory; the child sets its own mask before exec.
    // SAFETY: sigset_t is plain data initialised by sigfillset; the old mask
    // is written to a live local.
    let old_mask = unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
        old
    };
    // SAFETY: the child runs `trampoline` on its own stack (`stack`, alive
    // until clone returns, which CLONE_VFORK delays until the child has
    // exec'd or exited); it shares memory with this suspended thread and only
    // reads prepared data and makes system calls. sbx is single-threaded here.
    let pid = unsafe {
        libc::clone(
            trampoline::<F>,
            top as *mut libc::c_void,
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            (&mut slot as *mut Option<F>).cast(),
        )
    };
    let errno = Errno::last();
    set_signal_mask(&old_mask);
    drop(stack);
    if pid < 0 { Err(errno) } else { Ok(pid) }
}

/// Async-signal-safe. prctl(PR_SET_NO_NEW_PRIVS, 1).
pub fn set_no_new_privs() -> Result<(), Errno> {
    // SAFETY: prctl with integer arguments touches no memory of ours.
    let ret = unsafe {
        libc::prctl(
            libc::PR_SET_NO_NEW_PRIVS,
            1 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    if ret == 0 { Ok(()) } else { Err(Errno::last()) }
}

/// Async-signal-safe. landlock_restrict_self(ruleset, flags).
pub fn landlock_restrict_self(ruleset: BorrowedFd<'_>, flags: u32) -> Result<(), Errno> {
    // SAFETY: integer arguments only; the fd is borrowed and stays open.
    let ret = unsafe { libc::syscall(libc::SYS_landlock_restrict_self, ruleset.as_raw_fd(), flags) };
    if ret == 0 { Ok(()) } else { Err(Errno::last()) }
}

/// A compiled classic-BPF seccomp program, ready to install.
pub struct BpfProgram {
    instructions: Vec<libc::sock_filter>,
}

impl BpfProgram {
    /// Decodes the byte stream `seccomp_export_bpf` writes (native-endian
    /// `struct sock_filter` records).
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        const SIZE: usize = std::mem::size_of::<libc::sock_filter>();
        if bytes.is_empty() || bytes.len() % SIZE != 0 || bytes.len() / SIZE > u16::MAX as usize {
            return None;
        }
        let instructions = bytes
            .chunks_exact(SIZE)
            .map(|c| libc::sock_filter {
                code: u16::from_ne_bytes([c[0], c[1]]),
                jt: c[2],
                jf: c[3],
                k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
            })
            .collect();
        Some(Self { instructions })
    }

    pub fn len(&self) -> usize {
        self.instructions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.instructions.is_empty()
    }
}

/// Async-signal-safe. seccomp(SECCOMP_SET_MODE_FILTER, 0, prog). Requires
/// no_new_privs (set first) for an unprivileged caller.
pub fn seccomp_install(program: &BpfProgram) -> Result<(), Errno> {
    let prog = libc::sock_fprog {
        // Length checked ≤ u16::MAX in from_bytes.
        len: program.instructions.len() as u16,
        filter: program.instructions.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: prog points at `len` valid instructions that outlive the call;
    // the kernel copies them before returning.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            0 as libc::c_uint,
            &prog as *const libc::sock_fprog,
        )
    };
    if ret == 0 { Ok(()) } else { Err(Errno::last()) }
}

/// Async-signal-safe. execve(path, argv, envp); returns only on failure.
/// `argv` and `envp` are NULL-terminated arrays of pointers into CStrings the
/// caller keeps alive.
pub fn execve(path: &CStr, argv: &[*const libc::c_char], envp: &[*const libc::c_char]) -> Errno {
    debug_assert!(argv.last().is_some_and(|p| p.is_null()) && envp.last().is_some_and(|p| p.is_null()));
    // SAFETY: path is NUL-terminated; argv/envp are NULL-terminated arrays of
    // valid NUL-terminated strings (built by ExecPlan and kept alive by it).
    unsafe { libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    Errno::last()
}

/// Async-signal-safe. Whether the file at `path` starts with the ELF magic
/// (false when it cannot be read).
pub fn has_elf_magic(path: &CStr) -> bool {
    let mut magic = [0u8; 4];
    // SAFETY: path is NUL-terminated; the fd is closed before returning;
    // read writes at most 4 bytes into `magic`.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return false;
        }
        let n = libc::read(fd, magic.as_mut_ptr().cast(), magic.len());
        libc::close(fd);
        n == 4 && magic == *b"\x7fELF"
    }
}

/// Async-signal-safe. Writes all of `bytes` to `fd`, retrying on EINTR.
pub fn write_all(fd: BorrowedFd<'_>, bytes: &[u8]) {
    let mut rest = bytes;
    while !rest.is_empty() {
        // SAFETY: rest points at rest.len() readable bytes.
        let n = unsafe { libc::write(fd.as_raw_fd(), rest.as_ptr().cast(), rest.len()) };
        if n < 0 {
            if Errno::last() == Errno::EINTR {
                continue;
            }
            return;
        }
        rest = &rest[n as usize..];
    }
}

/// Async-signal-safe. _exit(code): ends the child without running Rust or
/// libc exit handlers (which belong to the parent's copy of the state).
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and runs no user-space handlers.
    unsafe { libc::_exit(code) }
}

/// Async-signal-safe. Sets the disposition of `signal` back to the default.
pub fn reset_signal(signal: i32) {
    // SAFETY: SIG_DFL is a valid disposition for every catchable signal;
    // an invalid number only makes signal() fail, which we ignore.
    unsafe { libc::signal(signal, libc::SIG_DFL) };
}

/// Async-signal-safe. Replaces the signal mask with `mask`.
pub fn set_signal_mask(mask: &libc::sigset_t) {
    // SAFETY: mask is a valid sigset_t; the old mask is not requested.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, mask, std::ptr::null_mut()) };
}

/// Blocks `signals` and returns the previous mask.
pub fn block_signals(signals: &[i32]) -> libc::sigset_t {
    // SAFETY: sigset_t is plain data that sigemptyset initialises; every
    // pointer passed is to a live local.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for &s in signals {
            libc::sigaddset(&mut set, s);
        }
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old);
        old
    }
}

/// A signalfd for `signals` (which the caller has blocked), close-on-exec.
pub fn signalfd(signals: &[i32]) -> Result<OwnedFd, Errno> {
    // SAFETY: as in block_signals; signalfd(-1, …) returns a new fd we own.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for &s in signals {
            libc::sigaddset(&mut set, s);
        }
        let fd = libc::signalfd(-1, &set, libc::SFD_CLOEXEC);
        if fd < 0 { Err(Errno::last()) } else { Ok(OwnedFd::from_raw_fd(fd)) }
    }
}

/// Reads the next signal number from a signalfd, retrying on EINTR.
pub fn read_signal(fd: BorrowedFd<'_>) -> Result<i32, Errno> {
    loop {
        // SAFETY: signalfd_siginfo is plain data; read writes at most its size.
        let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
        let size = std::mem::size_of::<libc::signalfd_siginfo>();
        // SAFETY: info is a live, writable buffer of `size` bytes.
        let n = unsafe { libc::read(fd.as_raw_fd(), (&mut info as *mut libc::signalfd_siginfo).cast(), size) };
        if n == size as isize {
            return Ok(info.ssi_signo as i32);
        }
        if n < 0 && Errno::last() == Errno::EINTR {
            continue;
        }
        return Err(if n < 0 { Errno::last() } else { Errno::EIO });
    }
}

/// kill(pid, signal), ignoring a child that is already gone.
pub fn kill(pid: libc::pid_t, signal: i32) {
    // SAFETY: integer arguments only.
    unsafe { libc::kill(pid, signal) };
}

/// How a waited-for child ended.
pub enum ChildEnd {
    Exited(i32),
    Signaled(i32),
}

/// waitpid(pid, WNOHANG): `Some` once the child has ended.
pub fn try_wait(pid: libc::pid_t) -> Result<Option<ChildEnd>, Errno> {
    waitpid(pid, libc::WNOHANG)
}

/// Blocking waitpid(pid, 0).
pub fn wait(pid: libc::pid_t) -> Result<ChildEnd, Errno> {
    loop {
        if let Some(end) = waitpid(pid, 0)? {
            return Ok(end);
        }
    }
}

/// waitpid(pid, flags), retrying on EINTR; `None` while the child runs.
fn waitpid(pid: libc::pid_t, flags: libc::c_int) -> Result<Option<ChildEnd>, Errno> {
    let mut status = 0;
    loop {
        // SAFETY: status is a live int.
        let ret = unsafe { libc::waitpid(pid, &mut status, flags) };
        if ret < 0 {
            if Errno::last() == Errno::EINTR {
                continue;
            }
            return Err(Errno::last());
        }
        if ret == 0 {
            return Ok(None);
        }
        if libc::WIFEXITED(status) {
            return Ok(Some(ChildEnd::Exited(libc::WEXITSTATUS(status))));
        }
        if libc::WIFSIGNALED(status) {
            return Ok(Some(ChildEnd::Signaled(libc::WTERMSIG(status))));
        }
        // Stopped/continued reports are not requested.
        return Ok(None);
    }
}

/// A pipe whose both ends are close-on-exec: the read end, the write end.
pub fn cloexec_pipe() -> Result<(OwnedFd, OwnedFd), Errno> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: fds is a live array of two ints for the kernel to fill.
    let ret = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    if ret < 0 {
        return Err(Errno::last());
    }
    // SAFETY: pipe2 succeeded, so both fds are open and owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Reads up to `buf.len()` bytes, retrying on EINTR, until EOF or full.
pub fn read_full(fd: BorrowedFd<'_>, buf: &mut [u8]) -> Result<usize, Errno> {
    let mut filled = 0;
    while filled < buf.len() {
        // SAFETY: the slice after `filled` is live and writable.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf[filled..].as_mut_ptr().cast(), buf.len() - filled) };
        if n < 0 {
            if Errno::last() == Errno::EINTR {
                continue;
            }
            return Err(Errno::last());
        }
        if n == 0 {
            break;
        }
        filled += n as usize;
    }
    Ok(filled)
}

/// Dies of `signal` the way the child did: default disposition, no core dump
/// of sbx itself, signal unblocked, raised. Returns only if the signal turned
/// out not to be fatal.
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

/// An anonymous in-memory file (close-on-exec), for libseccomp to export into.
pub fn memfd(name: &CStr) -> Result<OwnedFd, Errno> {
    // SAFETY: name is NUL-terminated; memfd_create returns a new fd we own.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(Errno::last());
    }
    // SAFETY: fd was just created and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}
