//! Every raw system call sbx makes on Linux, behind small safe functions.
//! Functions marked "async-signal-safe" only make system calls (no allocation,
//! no locks) and are the only ones the child may call between fork and exec.

use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

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

/// Size of the stack the child runs on between [`spawn_paused`] and exec.
const CHILD_STACK_SIZE: usize = 256 * 1024;

/// A child started by [`spawn_paused`]: it shares sbx's memory and file
/// table until it execs, so the stack it runs on, the closure it runs and
/// everything that closure borrows must stay alive until then. Dropping this
/// before the child is known to be gone kills it (through a pidfd: never
/// another process) and waits until it has died, so the memory it uses is
/// freed only after.
pub struct Paused<F> {
    pub pid: libc::pid_t,
    pidfd: Option<OwnedFd>,
    _stack: Vec<u8>,
    _slot: Box<Option<F>>,
}

impl<F> Drop for Paused<F> {
    fn drop(&mut self) {
        match &self.pidfd {
            Some(pidfd) => {
                // ESRCH: it has exited already (zombie or reaped): fine.
                let _ = pidfd_send_signal(pidfd.as_fd(), libc::SIGKILL, None, 0);
                // Wait until it is dead without reaping it (the supervisor
                // may still want its status); ECHILD: already reaped.
                let mut info = zeroed_siginfo();
                loop {
                    // SAFETY: info is a live siginfo_t for the kernel to fill.
                    let ret = unsafe {
                        libc::waitid(
                            libc::P_PIDFD,
                            pidfd.as_raw_fd() as libc::id_t,
                            &mut info,
                            libc::WEXITED | libc::WNOWAIT,
                        )
                    };
                    if ret == 0 || Errno::last() != Errno::EINTR {
                        break;
                    }
                }
            }
            // No pidfd (pidfd_open failed right after clone: the kernel is
            // older than 5.3, which sbx does not support): wait by pid, which
            // is still ours — not reaped by anyone but us.
            None => {
                kill(self.pid, libc::SIGKILL);
                let mut info = zeroed_siginfo();
                // SAFETY: info is a live siginfo_t for the kernel to fill.
                unsafe { libc::waitid(libc::P_PID, self.pid as libc::id_t, &mut info, libc::WEXITED | libc::WNOWAIT) };
            }
        }
    }
}

fn zeroed_siginfo() -> libc::siginfo_t {
    // SAFETY: siginfo_t is plain data; all-zero is a valid value.
    unsafe { std::mem::zeroed() }
}

/// Starts `child` in a new process that shares sbx's memory and file table
/// (`clone(CLONE_VM | CLONE_FILES)`, like posix_spawn without CLONE_VFORK,
/// plus a shared file table), and returns at once: the child sets itself up
/// and waits for a word from sbx before it execs, so sbx can check what it
/// needs on the real child (and refuse, killing it) before the command
/// runs. No page tables are copied, and an fd the child creates before exec
/// (the seccomp listener) is already sbx's. At exec the kernel gives the
/// command its own memory and its own copy of the table, where close-on-exec
/// fds (all of sbx's) are closed.
///
/// `child` must only make async-signal-safe system calls, must not close
/// or replace file descriptors (the table is sbx's), and must end in execve
/// or `_exit` (its type, returning `Infallible`, says it never returns). It
/// runs with every signal blocked; it must restore the mask it wants. While
/// sbx runs on (after the child has said it is ready) the child shares the
/// calling thread's thread-local storage, `errno` included: from then on it
/// may only use the `raw_*` calls, which never touch `errno`.
pub fn spawn_paused<F: FnOnce() -> std::convert::Infallible>(child: F) -> Result<Paused<F>, Errno> {
    // `child()` is inferred to diverge for the closures sbx passes.
    #[allow(unreachable_code)]
    extern "C" fn trampoline<F: FnOnce() -> std::convert::Infallible>(arg: *mut libc::c_void) -> libc::c_int {
        // SAFETY: arg is the boxed `Option<F>` owned by the `Paused` that
        // spawn_paused returns, which the caller keeps until the child has
        // exec'd or died (its Drop waits for that); only the child uses it.
        let slot = unsafe { &mut *(arg as *mut Option<F>) };
        match slot.take() {
            Some(child) => match child() {},
            None => raw_exit(crate::exit::SBX_FAILED),
        }
    }

    let mut stack = vec![0u8; CHILD_STACK_SIZE];
    // The stack grows down: pass its 16-byte-aligned top.
    let top = (stack.as_mut_ptr() as usize + CHILD_STACK_SIZE) & !15;
    let mut slot = Box::new(Some(child));
    let slot_ptr: *mut Option<F> = &mut *slot;
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
    // SAFETY: the child runs `trampoline` on its own stack (`stack`) with
    // the closure in `slot`; both move into the returned `Paused`, whose
    // Drop keeps them alive until the child has exec'd or died. The child
    // only reads prepared data and makes system calls (see above).
    let pid = unsafe {
        libc::clone(
            trampoline::<F>,
            top as *mut libc::c_void,
            libc::CLONE_VM | libc::CLONE_FILES | libc::SIGCHLD,
            slot_ptr.cast(),
        )
    };
    let errno = Errno::last();
    set_signal_mask(&old_mask);
    if pid < 0 {
        return Err(errno);
    }
    let pidfd = pidfd_open(pid).ok();
    Ok(Paused { pid, pidfd, _stack: stack, _slot: slot })
}

/// A system call that never touches `errno`: the result, or `-errno`.
/// For the child after [`spawn_paused`]'s handshake.
#[cfg(target_arch = "x86_64")]
fn raw_syscall(nr: libc::c_long, a: [usize; 4]) -> isize {
    let ret: isize;
    // SAFETY: the `syscall` instruction with the kernel's x86-64 calling
    // convention: number in rax, arguments in rdi, rsi, rdx, r10; rcx and
    // r11 are clobbered. The callers pass arguments valid for the call.
    unsafe {
        std::arch::asm!(
            "syscall",
            inlateout("rax") nr as isize => ret,
            in("rdi") a[0], in("rsi") a[1], in("rdx") a[2], in("r10") a[3],
            lateout("rcx") _, lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

/// See the x86-64 version.
#[cfg(target_arch = "aarch64")]
fn raw_syscall(nr: libc::c_long, a: [usize; 4]) -> isize {
    let ret: isize;
    // SAFETY: `svc 0` with the kernel's arm64 calling convention: number in
    // x8, arguments in x0..x3, result in x0. The callers pass arguments
    // valid for the call.
    unsafe {
        std::arch::asm!(
            "svc 0",
            in("x8") nr as isize,
            inlateout("x0") a[0] as isize => ret,
            in("x1") a[1], in("x2") a[2], in("x3") a[3],
            options(nostack),
        );
    }
    ret
}

/// Elsewhere through libc, which sets `errno` on failure (a value the
/// calling thread of sbx may see changed: no decision of sbx's reads it
/// between the handshake and the child's exec).
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn raw_syscall(nr: libc::c_long, a: [usize; 4]) -> isize {
    // SAFETY: the callers pass arguments valid for the call.
    let ret = unsafe { libc::syscall(nr, a[0], a[1], a[2], a[3]) };
    if ret < 0 { -(Errno::last() as isize) } else { ret as isize }
}

/// Errno-free write of all of `bytes` (see [`spawn_paused`]).
pub fn raw_write_all(fd: BorrowedFd<'_>, bytes: &[u8]) -> bool {
    let mut rest = bytes;
    while !rest.is_empty() {
        let n = raw_syscall(libc::SYS_write, [fd.as_raw_fd() as usize, rest.as_ptr() as usize, rest.len(), 0]);
        if n == -(libc::EINTR as isize) {
            continue;
        }
        if n <= 0 {
            return false;
        }
        rest = &rest[n as usize..];
    }
    true
}

/// Errno-free read of one byte: `None` at EOF or on an error.
pub fn raw_read_byte(fd: BorrowedFd<'_>) -> Option<u8> {
    let mut byte = 0u8;
    loop {
        let n = raw_syscall(libc::SYS_read, [fd.as_raw_fd() as usize, (&raw mut byte) as usize, 1, 0]);
        if n == -(libc::EINTR as isize) {
            continue;
        }
        return (n == 1).then_some(byte);
    }
}

/// Errno-free execve: returns only on failure, with its errno.
pub fn raw_execve(path: &CStr, argv: &[*const libc::c_char], envp: &[*const libc::c_char]) -> Errno {
    debug_assert!(argv.last().is_some_and(|p| p.is_null()) && envp.last().is_some_and(|p| p.is_null()));
    let ret =
        raw_syscall(libc::SYS_execve, [path.as_ptr() as usize, argv.as_ptr() as usize, envp.as_ptr() as usize, 0]);
    Errno::from_raw(-ret as i32)
}

/// Errno-free: whether the file at `path` starts with the ELF magic.
pub fn raw_has_elf_magic(path: &CStr) -> bool {
    let fd = raw_syscall(
        libc::SYS_openat,
        [libc::AT_FDCWD as usize, path.as_ptr() as usize, (libc::O_RDONLY | libc::O_CLOEXEC) as usize, 0],
    );
    if fd < 0 {
        return false;
    }
    let mut magic = [0u8; 4];
    let n = raw_syscall(libc::SYS_read, [fd as usize, magic.as_mut_ptr() as usize, magic.len(), 0]);
    raw_syscall(libc::SYS_close, [fd as usize, 0, 0, 0]);
    n == 4 && magic == *b"\x7fELF"
}

/// Errno-free: replaces the signal mask with `mask`.
pub fn raw_set_signal_mask(mask: &libc::sigset_t) {
    // The kernel's sigset is 8 bytes (64 signals) on Linux.
    raw_syscall(libc::SYS_rt_sigprocmask, [libc::SIG_SETMASK as usize, mask as *const _ as usize, 0, 8]);
}

/// Errno-free _exit: ends the whole process at once.
pub fn raw_exit(code: i32) -> ! {
    loop {
        raw_syscall(libc::SYS_exit_group, [code as usize, 0, 0, 0]);
    }
}

/// Async-signal-safe. Marks every fd from `first` up close-on-exec:
/// close_range(first, ~0, CLOSE_RANGE_CLOEXEC) (Linux 5.11), else
/// fcntl(F_SETFD, FD_CLOEXEC) on each fd number below `limit`.
pub fn cloexec_from(first: u32, limit: u32) {
    // SAFETY: close_range with integer arguments touches no memory; with
    // CLOSE_RANGE_CLOEXEC it closes nothing.
    let ret = unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, libc::CLOSE_RANGE_CLOEXEC) };
    if ret == 0 {
        return;
    }
    crate::unix_sys::cloexec_each(first, limit);
}

pub use crate::unix_sys::fd_limit;

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
    landlock_restrict_self_by_number(ruleset.as_raw_fd(), flags)
}

/// Async-signal-safe. landlock_restrict_self on fd number `ruleset` (the
/// child's view of sbx's ruleset fd, which sbx keeps open until the child
/// is ready); EBADF if it is not open.
pub fn landlock_restrict_self_by_number(ruleset: RawFd, flags: u32) -> Result<(), Errno> {
    // SAFETY: integer arguments only; the kernel checks the fd.
    let ret = unsafe { libc::syscall(libc::SYS_landlock_restrict_self, ruleset, flags) };
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

    pub fn instructions(&self) -> &[libc::sock_filter] {
        &self.instructions
    }

    /// A program that allows every call (`SECCOMP_RET_ALLOW`): for trying
    /// whether a filter, and a listener, can be installed at all.
    pub fn allow_all() -> Self {
        Self { instructions: vec![libc::sock_filter { code: 0x06, jt: 0, jf: 0, k: 0x7fff_0000 }] }
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

// ---------------------------------------------------------------------------
// Seccomp user notification: the child's side (async-signal-safe) and the
// supervisor's (pidfds, the child's memory, acting on its sockets).

/// `SECCOMP_FILTER_FLAG_NEW_LISTENER` (Linux 5.0).
const SECCOMP_FILTER_FLAG_NEW_LISTENER: libc::c_ulong = 1 << 3;
/// `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV` (Linux 5.19): once the supervisor
/// has received a notification, only a fatal signal interrupts the wait, so a
/// call it performs is never restarted and performed twice.
const SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: libc::c_ulong = 1 << 5;
const SECCOMP_GET_ACTION_AVAIL: libc::c_uint = 2;
const SECCOMP_GET_NOTIF_SIZES: libc::c_uint = 3;
const SECCOMP_RET_USER_NOTIF: u32 = 0x7fc0_0000;

fn seccomp_set_filter(program: &BpfProgram, flags: libc::c_ulong) -> libc::c_long {
    let prog = libc::sock_fprog {
        len: program.instructions.len() as u16,
        filter: program.instructions.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: prog points at `len` valid instructions that outlive the call;
    // the kernel copies them before returning.
    unsafe { libc::syscall(libc::SYS_seccomp, libc::SECCOMP_SET_MODE_FILTER, flags, &prog as *const libc::sock_fprog) }
}

/// Async-signal-safe. Installs `program` and returns its notification
/// listener fd; asks for killable waits, and falls back without them on
/// kernels that predate the flag (EINVAL).
pub fn seccomp_install_listener(program: &BpfProgram) -> Result<RawFd, Errno> {
    let mut ret =
        seccomp_set_filter(program, SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV);
    if ret < 0 && Errno::last() == Errno::EINVAL {
        ret = seccomp_set_filter(program, SECCOMP_FILTER_FLAG_NEW_LISTENER);
    }
    if ret < 0 { Err(Errno::last()) } else { Ok(ret as RawFd) }
}

/// What the kernel lacks for the supervisor, if anything: seccomp user
/// notification (Linux 5.0) or openat2 (5.6). (pidfd_getfd, 5.6, only
/// what acts on the command's own descriptions needs: [`fd_taking`].)
pub fn supervisor_missing() -> Option<&'static str> {
    if user_notif().is_err() {
        return Some("seccomp user notification (Linux 5.0)");
    }
    // SAFETY: a NULL path and how make openat2 fail (EFAULT/EINVAL/EBADF)
    // without side effects; ENOSYS means the call does not exist.
    let ret = unsafe { libc::syscall(libc::SYS_openat2, -1, std::ptr::null::<u8>(), std::ptr::null::<u8>(), 0usize) };
    if ret >= 0 || Errno::last() == Errno::ENOSYS {
        return Some("openat2 (Linux 5.6)");
    }
    None
}

/// Whether seccomp user notification is there (Linux 5.0): the notification
/// sizes can be asked for and the `user_notif` action is available; `Err`
/// with what seccomp(2) answered.
pub fn user_notif() -> Result<(), Errno> {
    let mut sizes = [0u16; 3];
    // SAFETY: GET_NOTIF_SIZES writes a struct of three u16 into `sizes`.
    let ret = unsafe { libc::syscall(libc::SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, sizes.as_mut_ptr()) };
    if ret != 0 {
        return Err(Errno::last());
    }
    let action = SECCOMP_RET_USER_NOTIF;
    // SAFETY: GET_ACTION_AVAIL reads one u32.
    let ret = unsafe { libc::syscall(libc::SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action as *const u32) };
    if ret != 0 {
        return Err(Errno::last());
    }
    Ok(())
}

/// `ioctl(-1, request, arg)`: a call no driver answers (EBADF), which an
/// enclosing sbx's filter hands to its supervisor (see `nested`).
pub fn nested_call(request: u64, arg: u64) -> Result<i64, Errno> {
    // SAFETY: an ioctl on fd -1 reaches no driver; only an enclosing sbx's
    // supervisor reads or writes the memory `arg` points to, as its
    // protocol says (the caller keeps that memory alive for the call).
    let ret = unsafe { libc::ioctl(-1, request as libc::Ioctl, arg) };
    if ret < 0 { Err(Errno::last()) } else { Ok(i64::from(ret)) }
}

/// Takes ownership of `fd`, an open descriptor nobody else owns (the
/// listener the child created in sbx's file table).
pub fn adopt_fd(fd: RawFd) -> OwnedFd {
    // SAFETY: the caller passes an fd that is open in this process and not
    // owned by any other object; it is closed exactly once, by the OwnedFd.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// Async-signal-safe. close(fd), ignoring errors.
pub fn close_raw(fd: RawFd) {
    // SAFETY: closes a descriptor number the caller owns and never uses again.
    unsafe { libc::close(fd) };
}

/// A pidfd for process `pid` (close-on-exec).
pub fn pidfd_open(pid: libc::pid_t) -> Result<OwnedFd, Errno> {
    // SAFETY: integer arguments; the returned fd is new and ours.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(Errno::last());
    }
    // SAFETY: fd was just created and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// A pidfd for thread `tid` itself (PIDFD_THREAD, Linux 6.9): its fd table
/// is the one pidfd_getfd reads, even if it unshared it. EINVAL before 6.9.
pub fn pidfd_open_thread(tid: libc::pid_t) -> Result<OwnedFd, Errno> {
    const PIDFD_THREAD: libc::c_uint = libc::O_EXCL as libc::c_uint;
    // SAFETY: integer arguments; the returned fd is new and ours.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, tid, PIDFD_THREAD) };
    if fd < 0 {
        return Err(Errno::last());
    }
    // SAFETY: fd was just created and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// A duplicate, in this process, of descriptor `fd` of the process behind
/// `pidfd` (close-on-exec; same open file description).
pub fn pidfd_getfd(pidfd: BorrowedFd<'_>, fd: i32) -> Result<OwnedFd, Errno> {
    // SAFETY: integer arguments; the returned fd is new and ours.
    let ret = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), fd, 0) };
    if ret < 0 {
        return Err(Errno::last());
    }
    // SAFETY: ret is a new descriptor owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(ret as RawFd) })
}

/// Copies `remote` ranges (address, length) of process `pid`'s memory into
/// `buf` (whose length is their sum). EFAULT unless everything was read.
/// Through process_vm_readv, or /proc/PID/mem after [`use_proc_mem`].
pub fn read_memory(pid: libc::pid_t, remote: &[(u64, u64)], buf: &mut [u8]) -> Result<(), Errno> {
    if MEMORY_THROUGH_PROC.load(std::sync::atomic::Ordering::Relaxed) {
        return read_memory_proc(pid, remote, buf);
    }
    read_memory_vm(pid, remote, buf)
}

/// [`read_memory`] through process_vm_readv, whatever [`use_proc_mem`] said.
pub fn read_memory_vm(pid: libc::pid_t, remote: &[(u64, u64)], buf: &mut [u8]) -> Result<(), Errno> {
    let mut done = 0usize;
    let mut rest = remote;
    while !rest.is_empty() {
        // At most IOV_MAX (1024) remote ranges per call.
        let (chunk, next) = rest.split_at(rest.len().min(1024));
        let want: usize = chunk.iter().map(|&(_, len)| len as usize).sum();
        let iov: Vec<libc::iovec> = chunk
            .iter()
            .map(|&(addr, len)| libc::iovec { iov_base: addr as *mut libc::c_void, iov_len: len as usize })
            .collect();
        let local = libc::iovec { iov_base: buf[done..].as_mut_ptr().cast(), iov_len: want };
        if done + want > buf.len() {
            return Err(Errno::EINVAL);
        }
        // SAFETY: `local` covers `want` writable bytes of buf; the remote
        // iovecs describe the other process's memory, which the kernel
        // validates (it never dereferences them in ours).
        let n = unsafe { libc::process_vm_readv(pid, &local, 1, iov.as_ptr(), iov.len() as libc::c_ulong, 0) };
        if n < 0 {
            return Err(Errno::last());
        }
        if n as usize != want {
            return Err(Errno::EFAULT);
        }
        done += want;
        rest = next;
    }
    Ok(())
}

/// Whether pidfd_getfd works here, tried on sbx itself (which no ptrace
/// rule keeps it from): `Err` with what a filter or the kernel answers
/// (EPERM from a container's seccomp profile, ENOSYS before Linux 5.6).
pub fn fd_taking() -> Result<(), Errno> {
    let me = pidfd_open(std::process::id() as libc::pid_t)?;
    pidfd_getfd(me.as_fd(), me.as_raw_fd()).map(drop)
}

/// The description behind fd `fd` of thread `tid`, reopened through
/// /proc/TID/fd/FD as an O_PATH fd: the same inode (file, directory, pipe,
/// socket), not the same open file description. For when pidfd_getfd is
/// refused; the kernel checks ptrace read access to `tid`.
pub fn reopen_fd(tid: libc::pid_t, fd: i32) -> Result<OwnedFd, Errno> {
    if fd < 0 {
        return Err(Errno::EBADF);
    }
    let path = CString::new(format!("/proc/{tid}/fd/{fd}")).map_err(|_| Errno::EINVAL)?;
    // SAFETY: path is NUL-terminated; the fd returned is new and ours.
    let ret = unsafe { libc::open(path.as_ptr(), libc::O_PATH | libc::O_CLOEXEC) };
    if ret < 0 {
        // No such fd in that table: what pidfd_getfd says.
        return Err(if Errno::last() == Errno::ENOENT { Errno::EBADF } else { Errno::last() });
    }
    // SAFETY: ret was just opened and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(ret) })
}

/// The process a pidfd (fd `fd` of thread `tid`) refers to, from
/// /proc/TID/fdinfo/FD: `Some(pid)`, `Some(-1)` once it has ended, `None`
/// if that fd is no pidfd.
pub fn pidfd_target(tid: libc::pid_t, fd: i32) -> Result<Option<libc::pid_t>, Errno> {
    let info = std::fs::read_to_string(format!("/proc/{tid}/fdinfo/{fd}")).map_err(|e| match e.raw_os_error() {
        Some(libc::ENOENT) => Errno::EBADF,
        Some(code) => Errno::from_raw(code),
        None => Errno::EIO,
    })?;
    Ok(info.lines().find_map(|l| l.strip_prefix("Pid:")).and_then(|v| v.trim().parse().ok()))
}

/// Read other processes' memory through /proc/PID/mem instead of
/// process_vm_readv/writev (which an enclosing seccomp filter refuses).
static MEMORY_THROUGH_PROC: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// From now on, read and write other processes' memory through
/// /proc/PID/mem (process_vm_readv is refused here).
pub fn use_proc_mem() {
    MEMORY_THROUGH_PROC.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// /proc/PID/mem of `pid`, opened for reading or writing.
fn proc_mem(pid: libc::pid_t, write: bool) -> Result<OwnedFd, Errno> {
    let path = CString::new(format!("/proc/{pid}/mem")).map_err(|_| Errno::EINVAL)?;
    let flags = if write { libc::O_WRONLY } else { libc::O_RDONLY } | libc::O_CLOEXEC;
    // SAFETY: path is NUL-terminated; the fd returned is new and ours.
    let fd = unsafe { libc::open(path.as_ptr(), flags) };
    if fd < 0 {
        return Err(Errno::last());
    }
    // SAFETY: fd was just opened and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Copies `remote` ranges of `pid`'s memory through /proc/PID/mem
/// (what [`read_memory`] does after [`use_proc_mem`]).
pub fn read_memory_proc(pid: libc::pid_t, remote: &[(u64, u64)], buf: &mut [u8]) -> Result<(), Errno> {
    let mem = proc_mem(pid, false)?;
    let mut done = 0usize;
    for &(addr, len) in remote {
        let len = len as usize;
        if done + len > buf.len() {
            return Err(Errno::EINVAL);
        }
        let mut got = 0usize;
        while got < len {
            let at = buf[done + got..done + len].as_mut_ptr();
            // SAFETY: `at` covers len - got writable bytes of buf.
            let n = unsafe { libc::pread(mem.as_raw_fd(), at.cast(), len - got, (addr + got as u64) as libc::off_t) };
            if n < 0 && Errno::last() == Errno::EINTR {
                continue;
            }
            if n <= 0 {
                // An unmapped address: what process_vm_readv says.
                return Err(if n == 0 { Errno::EFAULT } else { Errno::last() });
            }
            got += n as usize;
        }
        done += len;
    }
    Ok(())
}

/// Writes `data` at `addr` in process `pid`'s memory.
pub fn write_memory(pid: libc::pid_t, addr: u64, data: &[u8]) -> Result<(), Errno> {
    if MEMORY_THROUGH_PROC.load(std::sync::atomic::Ordering::Relaxed) {
        let mem = proc_mem(pid, true)?;
        // SAFETY: data is live and only read by the kernel.
        let n = unsafe { libc::pwrite(mem.as_raw_fd(), data.as_ptr().cast(), data.len(), addr as libc::off_t) };
        return if n < 0 {
            Err(Errno::last())
        } else if n as usize != data.len() {
            Err(Errno::EFAULT)
        } else {
            Ok(())
        };
    }
    let local = libc::iovec { iov_base: data.as_ptr() as *mut libc::c_void, iov_len: data.len() };
    let remote = libc::iovec { iov_base: addr as *mut libc::c_void, iov_len: data.len() };
    // SAFETY: local covers data (only read by the kernel); remote is the
    // other process's memory, validated by the kernel.
    let n = unsafe { libc::process_vm_writev(pid, &local, 1, &remote, 1, 0) };
    if n < 0 {
        Err(Errno::last())
    } else if n as usize != data.len() {
        Err(Errno::EFAULT)
    } else {
        Ok(())
    }
}

fn getsockopt_int(fd: BorrowedFd<'_>, opt: libc::c_int) -> Result<i32, Errno> {
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: value and len are live and sized for an int option.
    let ret = unsafe {
        libc::getsockopt(fd.as_raw_fd(), libc::SOL_SOCKET, opt, (&mut value as *mut libc::c_int).cast(), &mut len)
    };
    if ret < 0 { Err(Errno::last()) } else { Ok(value) }
}

/// The domain (AF_*) and type (SOCK_*) of socket `fd`; ENOTSOCK if it is none.
pub fn socket_kind(fd: BorrowedFd<'_>) -> Result<(i32, i32), Errno> {
    Ok((getsockopt_int(fd, libc::SO_DOMAIN)?, getsockopt_int(fd, libc::SO_TYPE)?))
}

fn sockaddr_call(
    f: unsafe extern "C" fn(libc::c_int, *const libc::sockaddr, libc::socklen_t) -> libc::c_int,
    fd: BorrowedFd<'_>,
    addr: &[u8],
) -> Result<i64, Errno> {
    // The kernel copies at most sizeof(sockaddr_storage); align the copy.
    let mut storage: libc::sockaddr_storage = zeroed_storage();
    let len = addr.len().min(std::mem::size_of::<libc::sockaddr_storage>());
    // SAFETY: storage is a live sockaddr_storage, at least `len` bytes.
    unsafe { std::ptr::copy_nonoverlapping(addr.as_ptr(), (&mut storage as *mut libc::sockaddr_storage).cast(), len) };
    // SAFETY: the pointer covers `len` initialised bytes; f is connect or bind.
    let ret = unsafe { f(fd.as_raw_fd(), (&storage as *const libc::sockaddr_storage).cast(), len as libc::socklen_t) };
    if ret < 0 { Err(Errno::last()) } else { Ok(i64::from(ret)) }
}

fn zeroed_storage() -> libc::sockaddr_storage {
    // SAFETY: sockaddr_storage is plain data; all-zero is valid.
    unsafe { std::mem::zeroed() }
}

/// connect(fd, addr) with sbx's copy of the address.
pub fn connect(fd: BorrowedFd<'_>, addr: &[u8]) -> Result<i64, Errno> {
    sockaddr_call(libc::connect, fd, addr)
}

/// bind(fd, addr) with sbx's copy of the address.
pub fn bind(fd: BorrowedFd<'_>, addr: &[u8]) -> Result<i64, Errno> {
    sockaddr_call(libc::bind, fd, addr)
}

/// sendto(fd, data, flags, addr, addr.len()) — `addr` always passed as a
/// pointer, as the command passed one.
pub fn sendto(fd: BorrowedFd<'_>, data: &[u8], flags: i32, addr: &[u8]) -> Result<i64, Errno> {
    let mut storage: libc::sockaddr_storage = zeroed_storage();
    let len = addr.len().min(std::mem::size_of::<libc::sockaddr_storage>());
    // SAFETY: storage has room for `len` bytes.
    unsafe { std::ptr::copy_nonoverlapping(addr.as_ptr(), (&mut storage as *mut libc::sockaddr_storage).cast(), len) };
    // SAFETY: data and storage are live for the call and sized as passed.
    let n = unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            data.as_ptr().cast(),
            data.len(),
            flags,
            (&storage as *const libc::sockaddr_storage).cast(),
            len as libc::socklen_t,
        )
    };
    if n < 0 { Err(Errno::last()) } else { Ok(n as i64) }
}

/// sendmsg(fd) with sbx's copies: optional name, data chunks, control bytes.
pub fn sendmsg(fd: BorrowedFd<'_>, name: &[u8], data: &[&[u8]], control: &[u8], flags: i32) -> Result<i64, Errno> {
    let mut storage: libc::sockaddr_storage = zeroed_storage();
    let namelen = name.len().min(std::mem::size_of::<libc::sockaddr_storage>());
    // SAFETY: storage has room for `namelen` bytes.
    unsafe {
        std::ptr::copy_nonoverlapping(name.as_ptr(), (&mut storage as *mut libc::sockaddr_storage).cast(), namelen)
    };
    let mut iov: Vec<libc::iovec> =
        data.iter().map(|d| libc::iovec { iov_base: d.as_ptr() as *mut libc::c_void, iov_len: d.len() }).collect();
    // Control messages need 8-byte alignment: copy into u64 words.
    let mut ctl = vec![0u64; control.len().div_ceil(8)];
    // SAFETY: ctl has at least control.len() bytes.
    unsafe { std::ptr::copy_nonoverlapping(control.as_ptr(), ctl.as_mut_ptr().cast::<u8>(), control.len()) };
    // SAFETY: msghdr is plain data; every pointer set below stays live for the call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    if namelen > 0 {
        msg.msg_name = (&mut storage as *mut libc::sockaddr_storage).cast();
        msg.msg_namelen = namelen as libc::socklen_t;
    }
    msg.msg_iov = iov.as_mut_ptr();
    msg.msg_iovlen = iov.len() as _;
    if !control.is_empty() {
        msg.msg_control = ctl.as_mut_ptr().cast();
        msg.msg_controllen = control.len() as _;
    }
    // SAFETY: msg points at live buffers of the lengths it states; the kernel
    // only reads them.
    let n = unsafe { libc::sendmsg(fd.as_raw_fd(), &msg, flags) };
    if n < 0 { Err(Errno::last()) } else { Ok(n as i64) }
}

/// `RESOLVE_NO_MAGICLINKS` and `RESOLVE_IN_ROOT` of openat2(2).
pub const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
pub const RESOLVE_IN_ROOT: u64 = 0x10;

#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// openat2(dir, path, O_PATH|O_CLOEXEC [|extra], resolve): an O_PATH fd for
/// exactly the inode the path resolves to now (final symlinks followed).
pub fn open_path_at(dir: BorrowedFd<'_>, path: &CStr, extra: i32, resolve: u64) -> Result<OwnedFd, Errno> {
    let how = OpenHow { flags: (libc::O_PATH | libc::O_CLOEXEC | extra) as u64, mode: 0, resolve };
    // SAFETY: path is NUL-terminated; how is a live open_how of the size passed.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir.as_raw_fd(),
            path.as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    };
    if fd < 0 {
        return Err(Errno::last());
    }
    // SAFETY: fd is new and ours.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// fstat(fd).
pub fn fstat(fd: BorrowedFd<'_>) -> Result<libc::stat, Errno> {
    // SAFETY: stat is plain data the kernel fills.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: st is live and writable.
    let ret = unsafe { libc::fstat(fd.as_raw_fd(), &mut st) };
    if ret < 0 { Err(Errno::last()) } else { Ok(st) }
}

/// unshare(CLONE_FS) for the calling thread: its own cwd, root and umask.
pub fn unshare_fs() -> Result<(), Errno> {
    // SAFETY: integer argument; affects only the calling thread's fs_struct.
    let ret = unsafe { libc::unshare(libc::CLONE_FS) };
    if ret < 0 { Err(Errno::last()) } else { Ok(()) }
}

/// The credentials a call is made with in a process of its own (see
/// [`bind_in_child`]): a thread of the command that changed its user (apt's
/// methods run as `_apt`) is acted for as that user, never as sbx.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActAs {
    /// Real, effective, saved user ids.
    pub uids: [u32; 3],
    pub gids: [u32; 3],
    pub groups: Vec<u32>,
    /// The thread's effective capabilities (also its permitted set here).
    pub cap_eff: u64,
}

/// What a socket call made in a process of its own needs (see
/// [`bind_in_child`]).
pub struct BindInChild<'a> {
    pub sock: BorrowedFd<'a>,
    pub addr: &'a [u8],
    /// connect(2) instead of bind(2).
    pub connect: bool,
    /// The command's working directory (relative socket paths).
    pub cwd: BorrowedFd<'a>,
    pub umask: u32,
    /// The command's Landlock ruleset: the bind creates a socket file only
    /// where the command could.
    pub ruleset: Option<BorrowedFd<'a>>,
    /// (effective, permitted, inheritable) to act with, when sbx dropped
    /// capabilities for the command.
    pub caps: Option<(u64, u64, u64)>,
    /// The thread's own credentials, when they are not sbx's.
    pub act_as: Option<&'a ActAs>,
}

/// Makes a unix bind (or a connect) in a short-lived child process of its
/// own (a fork: its own copy of cwd, umask, credentials and file table):
/// where a thread cannot get a cwd of its own (`unshare(CLONE_FS)` refused,
/// as Docker's default seccomp profile does without CAP_SYS_ADMIN), and for
/// a command thread whose credentials are not sbx's. The child takes the
/// thread's user, groups and capabilities (or the command's capabilities),
/// cwd and umask, no_new_privs and the command's Landlock ruleset, then
/// binds or connects `sock` (a description sbx shares with the command) and
/// exits with 0 or the errno of the step that failed. It is created without
/// an exit signal, so waits for any child of sbx's (an inner sbx reaping
/// what it adopted) never see it.
pub fn bind_in_child(job: &BindInChild<'_>) -> Result<i64, Errno> {
    let child = || -> Result<(), Errno> {
        if let Some(who) = job.act_as {
            // The system calls, not libc's wrappers: those apply a change of
            // ids to every thread libc knows of, and this copy of sbx has
            // only its one.
            // SAFETY: integer arguments, and a live slice of gid_t.
            unsafe {
                if libc::syscall(libc::SYS_setgroups, who.groups.len(), who.groups.as_ptr()) < 0
                    || libc::syscall(libc::SYS_setresgid, who.gids[0], who.gids[1], who.gids[2]) < 0
                    || libc::prctl(libc::PR_SET_KEEPCAPS, 1 as libc::c_ulong, 0, 0, 0) < 0
                    || libc::syscall(libc::SYS_setresuid, who.uids[0], who.uids[1], who.uids[2]) < 0
                    // A user change makes the process undumpable, which
                    // would close its own /proc/self/fd to the new user.
                    || libc::prctl(libc::PR_SET_DUMPABLE, 1 as libc::c_ulong, 0, 0, 0) < 0
                {
                    return Err(Errno::last());
                }
            }
            set_capabilities(who.cap_eff, who.cap_eff, 0)?;
        } else if let Some((effective, permitted, inheritable)) = job.caps {
            set_capabilities(effective, permitted, inheritable)?;
        }
        fchdir(job.cwd)?;
        set_umask(job.umask);
        set_no_new_privs()?;
        if let Some(ruleset) = job.ruleset {
            landlock_restrict_self(ruleset, 0)?;
        }
        if job.connect { connect(job.sock, job.addr).map(drop) } else { bind(job.sock, job.addr).map(drop) }
    };
    // SAFETY: clone without CLONE_VM (fork semantics, exit signal 0): the
    // child runs on its own copy of this thread's stack and memory. It only
    // makes system calls on data prepared before (no allocation, no lock a
    // vanished thread could hold) and ends in _exit.
    let pid = unsafe { libc::syscall(libc::SYS_clone, 0 as libc::c_ulong, 0usize, 0usize, 0usize, 0usize) };
    if pid < 0 {
        return Err(Errno::last());
    }
    if pid == 0 {
        let code = match child() {
            Ok(()) => 0,
            Err(e) => e as i32,
        };
        // SAFETY: ends the child at once, running nothing of sbx's.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    loop {
        // SAFETY: status is a live int; the pid is this thread's own child.
        let ret = unsafe { libc::waitpid(pid as libc::pid_t, &mut status, libc::__WALL) };
        if ret >= 0 {
            break;
        }
        if Errno::last() != Errno::EINTR {
            return Err(Errno::last());
        }
    }
    match (libc::WIFEXITED(status), libc::WEXITSTATUS(status)) {
        (true, 0) => Ok(0),
        (true, errno) => Err(Errno::from_raw(errno)),
        _ => Err(Errno::EIO),
    }
}

/// Whether this process's own user may write `path` by its file modes
/// (faccessat with AT_EACCESS, W_OK; for a directory also search): what the
/// kernel would answer a command of the same user without any sandbox.
pub fn may_write(path: &std::path::Path, directory: bool) -> bool {
    let Ok(c) = CString::new(std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str())) else { return true };
    let mode = if directory { libc::W_OK | libc::X_OK } else { libc::W_OK };
    // SAFETY: c is a live NUL-terminated path; integer flags.
    unsafe { libc::faccessat(libc::AT_FDCWD, c.as_ptr(), mode, libc::AT_EACCESS) == 0 }
}

/// fchdir(fd) (an O_PATH directory fd is fine).
pub fn fchdir(fd: BorrowedFd<'_>) -> Result<(), Errno> {
    // SAFETY: integer argument.
    let ret = unsafe { libc::fchdir(fd.as_raw_fd()) };
    if ret < 0 { Err(Errno::last()) } else { Ok(()) }
}

/// umask(mask) (per thread after [`unshare_fs`]).
pub fn set_umask(mask: u32) {
    // SAFETY: integer argument; always succeeds.
    unsafe { libc::umask(mask as libc::mode_t) };
}

/// prctl(PR_SET_CHILD_SUBREAPER): orphaned descendants become sbx's
/// children, so they stay its descendants (for ptrace-based access checks).
pub fn set_child_subreaper() -> Result<(), Errno> {
    // SAFETY: integer arguments.
    let ret = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong, 0, 0, 0) };
    if ret < 0 { Err(Errno::last()) } else { Ok(()) }
}

/// waitpid(-1, WNOHANG): the next ended child, if any.
pub fn wait_any() -> Result<Option<(libc::pid_t, ChildEnd)>, Errno> {
    let mut status = 0;
    loop {
        // SAFETY: status is a live int.
        let ret = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if ret < 0 {
            return match Errno::last() {
                Errno::EINTR => continue,
                Errno::ECHILD => Ok(None),
                e => Err(e),
            };
        }
        if ret == 0 {
            return Ok(None);
        }
        if libc::WIFEXITED(status) {
            return Ok(Some((ret, ChildEnd::Exited(libc::WEXITSTATUS(status)))));
        }
        if libc::WIFSIGNALED(status) {
            return Ok(Some((ret, ChildEnd::Signaled(libc::WTERMSIG(status)))));
        }
    }
}

/// Where the unix socket with inode `sock_ino` is bound in the filesystem,
/// asked of the kernel's sock_diag: `Some((st_dev, inode & 0xffff_ffff))`,
/// `None` if the socket is gone or not bound to a path.
pub fn unix_socket_file(sock_ino: u64) -> Result<Option<(u64, u32)>, Errno> {
    const UDIAG_SHOW_VFS: u32 = 0x2;
    const UNIX_DIAG_VFS: u16 = 1;
    let Some(vfs) = unix_diag(sock_ino, UDIAG_SHOW_VFS, UNIX_DIAG_VFS)? else { return Ok(None) };
    if vfs.len() < 8 {
        return Ok(None);
    }
    let vfs_ino = u32::from_ne_bytes([vfs[0], vfs[1], vfs[2], vfs[3]]);
    let kdev = u32::from_ne_bytes([vfs[4], vfs[5], vfs[6], vfs[7]]);
    // The kernel-internal dev_t (major << 20 | minor) as stat reports it.
    let dev = libc::makedev(kdev >> 20, kdev & 0xf_ffff);
    Ok(Some((dev, vfs_ino)))
}

/// The address the unix socket with inode `sock_ino` is bound to, as
/// sock_diag reports it (the bytes after `sun_family`; an abstract name
/// starts with a NUL), `None` if the socket is gone or unbound.
pub fn unix_socket_name(sock_ino: u64) -> Result<Option<Vec<u8>>, Errno> {
    const UDIAG_SHOW_NAME: u32 = 0x1;
    const UNIX_DIAG_NAME: u16 = 0;
    unix_diag(sock_ino, UDIAG_SHOW_NAME, UNIX_DIAG_NAME)
}

/// Asks sock_diag about the unix socket with inode `sock_ino`, showing
/// `show`; returns the payload of attribute `attr`.
fn unix_diag(sock_ino: u64, show: u32, attr: u16) -> Result<Option<Vec<u8>>, Errno> {
    let Ok(ino) = u32::try_from(sock_ino) else { return Ok(None) };
    let sock = unix_diag_request(ino, show, 0)?;
    let mut buf = [0u64; 128];
    // SAFETY: buf is a live writable buffer of 1024 bytes.
    let n = unsafe { libc::recv(sock.as_raw_fd(), buf.as_mut_ptr().cast(), 1024, 0) };
    if n < 0 {
        return Err(Errno::last());
    }
    // SAFETY: buf holds 1024 initialised bytes; viewing them as u8 is fine.
    let bytes = unsafe { std::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), n as usize) };
    parse_unix_diag(bytes, ino, attr)
}

/// Sends a sock_diag request about unix socket `ino` (0 with `NLM_F_DUMP`:
/// every one), showing `show`; returns the netlink socket to read from.
fn unix_diag_request(ino: u32, show: u32, flags: u16) -> Result<OwnedFd, Errno> {
    const SOCK_DIAG_BY_FAMILY: u16 = 20;
    // SAFETY: socket() with integer arguments returns a new fd we own.
    let raw = unsafe { libc::socket(libc::AF_NETLINK, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, libc::NETLINK_SOCK_DIAG) };
    if raw < 0 {
        return Err(Errno::last());
    }
    // SAFETY: raw is new and ours.
    let sock = unsafe { OwnedFd::from_raw_fd(raw) };
    // nlmsghdr (16) + unix_diag_req (24).
    let mut req = [0u8; 40];
    req[0..4].copy_from_slice(&40u32.to_ne_bytes());
    req[4..6].copy_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    req[6..8].copy_from_slice(&(libc::NLM_F_REQUEST as u16 | flags).to_ne_bytes());
    req[8..12].copy_from_slice(&1u32.to_ne_bytes());
    req[16] = libc::AF_UNIX as u8;
    req[20..24].copy_from_slice(&u32::MAX.to_ne_bytes()); // every state
    req[24..28].copy_from_slice(&ino.to_ne_bytes());
    req[28..32].copy_from_slice(&show.to_ne_bytes());
    req[32..40].copy_from_slice(&[0xff; 8]); // no cookie
    // SAFETY: req is a live buffer of its length.
    if unsafe { libc::send(sock.as_raw_fd(), req.as_ptr().cast(), req.len(), 0) } < 0 {
        return Err(Errno::last());
    }
    Ok(sock)
}

fn parse_unix_diag(bytes: &[u8], ino: u32, want: u16) -> Result<Option<Vec<u8>>, Errno> {
    let u32_at = |at: usize| u32::from_ne_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    let u16_at = |at: usize| u16::from_ne_bytes([bytes[at], bytes[at + 1]]);
    if bytes.len() < 16 {
        return Err(Errno::EIO);
    }
    let kind = u16_at(4);
    if kind == libc::NLMSG_ERROR as u16 {
        let err = if bytes.len() >= 20 { -(u32_at(16) as i32) } else { libc::EIO };
        return if err == libc::ENOENT || err == 0 { Ok(None) } else { Err(Errno::from_raw(err)) };
    }
    let len = (u32_at(0) as usize).min(bytes.len());
    // unix_diag_msg: family, type, state, pad, ino (u32), cookie[2].
    if len < 16 + 16 || u32_at(16 + 4) != ino {
        return Err(Errno::EIO);
    }
    let mut at = 32;
    while at + 4 <= len {
        let rta_len = u16_at(at) as usize;
        let rta_type = u16_at(at + 2);
        if rta_len < 4 || at + rta_len > len {
            break;
        }
        if rta_type == want {
            return Ok(Some(bytes[at + 4..at + rta_len].to_vec()));
        }
        at += rta_len.div_ceil(4) * 4;
    }
    Ok(None)
}

/// Whether any unix socket on the machine is bound to the abstract `name`
/// (the bytes after `sun_family`, starting with a NUL): a sock_diag dump of
/// every unix socket's name.
pub fn abstract_name_in_use(name: &[u8]) -> Result<bool, Errno> {
    const UDIAG_SHOW_NAME: u32 = 0x1;
    const UNIX_DIAG_NAME: u16 = 0;
    let sock = unix_diag_request(0, UDIAG_SHOW_NAME, libc::NLM_F_DUMP as u16)?;
    let mut buf = vec![0u64; 8192];
    loop {
        // SAFETY: buf is a live writable buffer of 64 KiB.
        let n = unsafe { libc::recv(sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len() * 8, 0) };
        if n < 0 {
            return Err(Errno::last());
        }
        // SAFETY: buf holds at least n initialised bytes.
        let bytes = unsafe { std::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), n as usize) };
        let mut at = 0;
        while at + 16 <= bytes.len() {
            let len = u32::from_ne_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize;
            let kind = u16::from_ne_bytes([bytes[at + 4], bytes[at + 5]]);
            if kind == libc::NLMSG_DONE as u16 {
                return Ok(false);
            }
            if kind == libc::NLMSG_ERROR as u16 || len < 16 || at + len > bytes.len() {
                return Err(Errno::EIO);
            }
            let msg = &bytes[at..at + len];
            let mut attr = 32;
            while attr + 4 <= msg.len() {
                let rta_len = u16::from_ne_bytes([msg[attr], msg[attr + 1]]) as usize;
                let rta_type = u16::from_ne_bytes([msg[attr + 2], msg[attr + 3]]);
                if rta_len < 4 || attr + rta_len > msg.len() {
                    break;
                }
                if rta_type == UNIX_DIAG_NAME && &msg[attr + 4..attr + rta_len] == name {
                    return Ok(true);
                }
                attr += rta_len.div_ceil(4) * 4;
            }
            at += len.div_ceil(4) * 4;
        }
        if n == 0 {
            return Ok(false);
        }
    }
}

/// getsockname(fd): the bound address (family first), empty if unbound.
pub fn getsockname(fd: BorrowedFd<'_>) -> Result<Vec<u8>, Errno> {
    socket_name(libc::getsockname, fd)
}

/// getpeername(fd): the peer's address (family first).
pub fn getpeername(fd: BorrowedFd<'_>) -> Result<Vec<u8>, Errno> {
    socket_name(libc::getpeername, fd)
}

fn socket_name(
    f: unsafe extern "C" fn(libc::c_int, *mut libc::sockaddr, *mut libc::socklen_t) -> libc::c_int,
    fd: BorrowedFd<'_>,
) -> Result<Vec<u8>, Errno> {
    let mut storage: libc::sockaddr_storage = zeroed_storage();
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: storage and len are live and sized for any address; f is
    // getsockname or getpeername, which write at most `len` bytes.
    let ret = unsafe { f(fd.as_raw_fd(), (&mut storage as *mut libc::sockaddr_storage).cast(), &mut len) };
    if ret < 0 {
        return Err(Errno::last());
    }
    let len = (len as usize).min(std::mem::size_of::<libc::sockaddr_storage>());
    // SAFETY: storage holds `len` initialised bytes.
    let bytes = unsafe { std::slice::from_raw_parts((&storage as *const libc::sockaddr_storage).cast::<u8>(), len) };
    Ok(bytes.to_vec())
}

/// recvfrom(fd, buf, flags, NULL, NULL): the byte count the kernel returns
/// (with MSG_TRUNC, a datagram's full length, which may exceed `buf`).
pub fn recv(fd: BorrowedFd<'_>, buf: &mut [u8], flags: i32) -> Result<usize, Errno> {
    // SAFETY: buf is live and writable for its length; no address is asked for.
    let n = unsafe {
        libc::recvfrom(
            fd.as_raw_fd(),
            buf.as_mut_ptr().cast(),
            buf.len(),
            flags,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    };
    if n < 0 { Err(Errno::last()) } else { Ok(n as usize) }
}

/// Whether the open file description behind `fd` is non-blocking (O_NONBLOCK).
pub fn nonblocking(fd: BorrowedFd<'_>) -> Result<bool, Errno> {
    // SAFETY: F_GETFL takes no argument and touches no memory of ours.
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    if flags < 0 { Err(Errno::last()) } else { Ok(flags & libc::O_NONBLOCK != 0) }
}

/// The socket's receive timeout (SO_RCVTIMEO); `None` when it waits forever.
pub fn receive_timeout(fd: BorrowedFd<'_>) -> Result<Option<std::time::Duration>, Errno> {
    let mut tv = libc::timeval { tv_sec: 0, tv_usec: 0 };
    let mut len = std::mem::size_of::<libc::timeval>() as libc::socklen_t;
    // SAFETY: tv and len are live and sized for a timeval option.
    let ret = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&mut tv as *mut libc::timeval).cast(),
            &mut len,
        )
    };
    if ret < 0 {
        return Err(Errno::last());
    }
    let total = std::time::Duration::from_secs(tv.tv_sec.max(0) as u64)
        + std::time::Duration::from_micros(tv.tv_usec.max(0) as u64);
    Ok((!total.is_zero()).then_some(total))
}

/// Waits up to `timeout` for `fd` to be readable (or in error); whether it is.
pub fn wait_readable(fd: BorrowedFd<'_>, timeout: std::time::Duration) -> Result<bool, Errno> {
    let mut pfd = libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
    let ms = timeout.as_millis().min(i32::MAX as u128) as libc::c_int;
    // SAFETY: pfd is one live pollfd.
    let ret = unsafe { libc::poll(&mut pfd, 1, ms) };
    match ret {
        r if r > 0 => Ok(true),
        0 => Ok(false),
        _ if Errno::last() == Errno::EINTR => Ok(false),
        _ => Err(Errno::last()),
    }
}

/// `struct seccomp_notif`: one notification.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct Notification {
    pub id: u64,
    /// The thread id of the waiting thread (in sbx's pid namespace).
    pub pid: u32,
    pub flags: u32,
    /// `struct seccomp_data`.
    pub nr: i32,
    pub arch: u32,
    pub instruction_pointer: u64,
    pub args: [u64; 6],
}

#[repr(C)]
struct NotificationResponse {
    id: u64,
    val: i64,
    error: i32,
    flags: u32,
}

// ioctl's request is a c_ulong in glibc and a c_int in musl (`libc::Ioctl`);
// the kernel reads 32 bits of it either way, so the cast keeps the number.
const SECCOMP_IOCTL_NOTIF_RECV: libc::Ioctl = 0xc050_2100_u32 as libc::Ioctl;
const SECCOMP_IOCTL_NOTIF_SEND: libc::Ioctl = 0xc018_2101_u32 as libc::Ioctl;
const SECCOMP_IOCTL_NOTIF_ID_VALID: libc::Ioctl = 0x4008_2102_u32 as libc::Ioctl;

/// Whether `fd` reports a hang-up right now (poll with no wait): for a
/// seccomp listener, that no process uses its filter any more.
pub fn hung_up(fd: BorrowedFd<'_>) -> bool {
    let mut pfd = libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
    // SAFETY: pfd is one live pollfd; a zero timeout never blocks.
    let ret = unsafe { libc::poll(&mut pfd, 1, 0) };
    ret > 0 && pfd.revents & libc::POLLHUP != 0
}

/// Receives the next notification from `listener` (ENOENT: the waiting
/// thread went away before it could be received). Retries on EINTR.
pub fn notif_receive(listener: BorrowedFd<'_>) -> Result<Notification, Errno> {
    const _: () = assert!(std::mem::size_of::<Notification>() == 80);
    loop {
        // The kernel requires a zeroed buffer.
        let mut n = Notification::default();
        // SAFETY: n is a live, zeroed struct seccomp_notif the kernel fills.
        let ret = unsafe { libc::ioctl(listener.as_raw_fd(), SECCOMP_IOCTL_NOTIF_RECV, &mut n as *mut Notification) };
        if ret == 0 {
            return Ok(n);
        }
        if Errno::last() != Errno::EINTR {
            return Err(Errno::last());
        }
    }
}

/// Answers notification `id`: `Ok(val)` as the call's return value, or
/// `Err(errno)` as its error. ENOENT: the thread is gone.
pub fn notif_respond(listener: BorrowedFd<'_>, id: u64, result: Result<i64, Errno>) -> Result<(), Errno> {
    let resp = match result {
        Ok(val) => NotificationResponse { id, val, error: 0, flags: 0 },
        Err(e) => NotificationResponse { id, val: 0, error: -(e as i32), flags: 0 },
    };
    notif_send(listener, &resp)
}

fn notif_send(listener: BorrowedFd<'_>, resp: &NotificationResponse) -> Result<(), Errno> {
    loop {
        // SAFETY: resp is a live struct seccomp_notif_resp the kernel reads.
        let ret =
            unsafe { libc::ioctl(listener.as_raw_fd(), SECCOMP_IOCTL_NOTIF_SEND, resp as *const NotificationResponse) };
        if ret == 0 {
            return Ok(());
        }
        if Errno::last() != Errno::EINTR {
            return Err(Errno::last());
        }
    }
}

/// Lets the call of notification `id` run as the thread made it
/// (`SECCOMP_USER_NOTIF_FLAG_CONTINUE`): only where nothing is decided —
/// `sbx learn` observes, it does not enforce. ENOENT: the thread is gone.
pub fn notif_continue(listener: BorrowedFd<'_>, id: u64) -> Result<(), Errno> {
    const SECCOMP_USER_NOTIF_FLAG_CONTINUE: u32 = 1;
    notif_send(listener, &NotificationResponse { id, val: 0, error: 0, flags: SECCOMP_USER_NOTIF_FLAG_CONTINUE })
}

/// SECCOMP_IOCTL_NOTIF_SET_FLAGS (`SECCOMP_IOW(4, __u64)`, Linux 6.6).
const SECCOMP_IOCTL_NOTIF_SET_FLAGS: libc::Ioctl = 0x4008_2104_u32 as libc::Ioctl;
/// Wake the supervisor synchronously on a notification, and the waiting
/// thread on the answer (the kernel's hint for supervisors that answer
/// at once).
const SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP: u64 = 1;

/// Asks the kernel to hand each notification of `listener` to a waiting
/// receiver, and its answer back, with a synchronous wake-up (Linux 6.6): a
/// round trip then costs about half. Older kernels answer EINVAL or ENOTTY;
/// nothing changes but the speed.
pub fn notif_sync_wake_up(listener: BorrowedFd<'_>) -> Result<(), Errno> {
    // SAFETY: the flags travel as the ioctl's integer argument; no memory
    // of ours is read or written.
    let ret =
        unsafe { libc::ioctl(listener.as_raw_fd(), SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP) };
    if ret < 0 { Err(Errno::last()) } else { Ok(()) }
}

/// Whether notification `id` is still pending: its thread still waits in the
/// call, so its pid, fds and memory are still the ones that made it.
pub fn notif_id_valid(listener: BorrowedFd<'_>, id: u64) -> bool {
    // SAFETY: the kernel reads one u64.
    let ret = unsafe { libc::ioctl(listener.as_raw_fd(), SECCOMP_IOCTL_NOTIF_ID_VALID, &id as *const u64) };
    ret == 0
}

/// `/proc/self/fd/FD`, to reach the inode behind an (O_PATH) fd by path.
pub fn proc_fd_path(fd: BorrowedFd<'_>) -> CString {
    CString::new(format!("/proc/self/fd/{}", fd.as_raw_fd())).unwrap_or_default()
}

fn ret0(ret: libc::c_int) -> Result<i64, Errno> {
    if ret < 0 { Err(Errno::last()) } else { Ok(0) }
}

/// renameat2(2), by its system call: musl's libc (the static release) has
/// no wrapper, and nix offers one for glibc only.
pub fn renameat2(
    old_dir: BorrowedFd<'_>,
    old: &CStr,
    new_dir: BorrowedFd<'_>,
    new: &CStr,
    flags: u32,
) -> Result<(), Errno> {
    // SAFETY: both paths are NUL-terminated and live for the call; the fds
    // are borrowed, so open for its duration.
    let ret = unsafe {
        libc::syscall(libc::SYS_renameat2, old_dir.as_raw_fd(), old.as_ptr(), new_dir.as_raw_fd(), new.as_ptr(), flags)
    };
    if ret < 0 { Err(Errno::last()) } else { Ok(()) }
}

/// fchmod(fd, mode).
pub fn fchmod(fd: BorrowedFd<'_>, mode: u32) -> Result<i64, Errno> {
    // SAFETY: integer arguments.
    ret0(unsafe { libc::fchmod(fd.as_raw_fd(), mode as libc::mode_t) })
}

/// chmod of the inode behind `fd` (any fd, O_PATH too) through /proc/self/fd.
pub fn chmod_inode(fd: BorrowedFd<'_>, mode: u32) -> Result<i64, Errno> {
    let path = proc_fd_path(fd);
    // SAFETY: path is NUL-terminated.
    ret0(unsafe { libc::fchmodat(libc::AT_FDCWD, path.as_ptr(), mode as libc::mode_t, 0) })
}

/// fchown(fd, uid, gid).
pub fn fchown(fd: BorrowedFd<'_>, uid: u32, gid: u32) -> Result<i64, Errno> {
    // SAFETY: integer arguments.
    ret0(unsafe { libc::fchown(fd.as_raw_fd(), uid, gid) })
}

/// chown of the inode behind `fd` itself (a symlink stays unfollowed):
/// fchownat(fd, "", uid, gid, AT_EMPTY_PATH).
pub fn chown_inode(fd: BorrowedFd<'_>, uid: u32, gid: u32) -> Result<i64, Errno> {
    // SAFETY: the path is a NUL-terminated empty string.
    ret0(unsafe { libc::fchownat(fd.as_raw_fd(), c"".as_ptr(), uid, gid, libc::AT_EMPTY_PATH) })
}

/// utimensat(fd, NULL, times, 0): the times of the open file `fd`.
pub fn futimens(fd: BorrowedFd<'_>, times: Option<&[libc::timespec; 2]>) -> Result<i64, Errno> {
    let times = times.map_or(std::ptr::null(), |t| t.as_ptr());
    // SAFETY: times is null or points to two live timespecs.
    let ret = unsafe { libc::syscall(libc::SYS_utimensat, fd.as_raw_fd(), std::ptr::null::<libc::c_char>(), times, 0) };
    if ret < 0 { Err(Errno::last()) } else { Ok(0) }
}

/// The times of the inode behind `fd` (any fd, O_PATH too) through /proc/self/fd.
pub fn utimens_inode(fd: BorrowedFd<'_>, times: Option<&[libc::timespec; 2]>) -> Result<i64, Errno> {
    let path = proc_fd_path(fd);
    let times = times.map_or(std::ptr::null(), |t| t.as_ptr());
    // SAFETY: path is NUL-terminated; times is null or points to two live timespecs.
    ret0(unsafe { libc::utimensat(libc::AT_FDCWD, path.as_ptr(), times, 0) })
}

/// inotify_add_watch(instance, /proc/self/fd/FD, mask): a watch on the
/// inode behind `fd` (any fd, O_PATH too); the watch descriptor.
pub fn inotify_add_watch_inode(instance: BorrowedFd<'_>, fd: BorrowedFd<'_>, mask: u32) -> Result<i64, Errno> {
    let path = proc_fd_path(fd);
    // SAFETY: path is NUL-terminated; integer arguments otherwise.
    let wd = unsafe { libc::inotify_add_watch(instance.as_raw_fd(), path.as_ptr(), mask) };
    if wd < 0 { Err(Errno::last()) } else { Ok(i64::from(wd)) }
}

/// `ioctl(master, TIOCGPTPEER, flags)`: the slave of the pseudo-terminal
/// whose master is `master`, opened with `flags` (always O_NOCTTY and
/// O_CLOEXEC here: it is sbx's fd until handed on, and no terminal of the
/// command's may become sbx's controlling terminal).
pub fn pty_peer(master: BorrowedFd<'_>, flags: i32) -> Result<OwnedFd, Errno> {
    const TIOCGPTPEER: libc::Ioctl = 0x5441;
    let flags = flags | libc::O_NOCTTY | libc::O_CLOEXEC;
    // SAFETY: an integer ioctl on a live fd; the fd returned is new and ours.
    let raw = unsafe { libc::ioctl(master.as_raw_fd(), TIOCGPTPEER, flags as libc::c_ulong) };
    if raw < 0 {
        return Err(Errno::last());
    }
    // SAFETY: raw was just opened and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// struct seccomp_notif_addfd.
#[repr(C)]
struct NotificationAddFd {
    id: u64,
    flags: u32,
    srcfd: u32,
    newfd: u32,
    newfd_flags: u32,
}

/// Installs a copy of `fd` in the table of the process waiting in
/// notification `id` (SECCOMP_IOCTL_NOTIF_ADDFD, Linux 5.9), with O_CLOEXEC
/// if `cloexec`; the number it got there, for the call to return.
pub fn notif_add_fd(listener: BorrowedFd<'_>, id: u64, fd: BorrowedFd<'_>, cloexec: bool) -> Result<i64, Errno> {
    const SECCOMP_IOCTL_NOTIF_ADDFD: libc::Ioctl = 0x4018_2103_u32 as libc::Ioctl;
    const _: () = assert!(std::mem::size_of::<NotificationAddFd>() == 24);
    let add = NotificationAddFd {
        id,
        flags: 0,
        srcfd: fd.as_raw_fd() as u32,
        newfd: 0,
        newfd_flags: if cloexec { libc::O_CLOEXEC as u32 } else { 0 },
    };
    // SAFETY: add is a live struct seccomp_notif_addfd the kernel reads.
    let ret = unsafe { libc::ioctl(listener.as_raw_fd(), SECCOMP_IOCTL_NOTIF_ADDFD, &add as *const NotificationAddFd) };
    if ret < 0 { Err(Errno::last()) } else { Ok(i64::from(ret)) }
}

/// Truncates the regular file behind `fd` (any fd, O_PATH too) to `length`:
/// opened for writing through /proc/self/fd (the kernel checks write
/// permission as truncate(2) does), then ftruncate.
pub fn truncate_inode(fd: BorrowedFd<'_>, length: i64) -> Result<i64, Errno> {
    let path = proc_fd_path(fd);
    // SAFETY: path is NUL-terminated; the fd returned is new and ours.
    let raw =
        unsafe { libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOCTTY) };
    if raw < 0 {
        return Err(Errno::last());
    }
    // SAFETY: raw was just opened and is owned by nobody else.
    let file = unsafe { OwnedFd::from_raw_fd(raw) };
    // SAFETY: integer arguments on an fd we own.
    ret0(unsafe { libc::ftruncate(file.as_raw_fd(), length) })
}

/// Sets (`value` Some) or removes extended attribute `name` of the open file
/// `fd` (fsetxattr/fremovexattr), or with `by_path`, of the inode behind it
/// through /proc/self/fd (O_PATH fds too).
pub fn xattr(fd: BorrowedFd<'_>, by_path: bool, name: &CStr, value: Option<(&[u8], i32)>) -> Result<i64, Errno> {
    let path = proc_fd_path(fd);
    // SAFETY: path and name are NUL-terminated; value points to value.len() live bytes.
    let ret = unsafe {
        match (by_path, value) {
            (true, Some((v, flags))) => libc::setxattr(path.as_ptr(), name.as_ptr(), v.as_ptr().cast(), v.len(), flags),
            (false, Some((v, flags))) => {
                libc::fsetxattr(fd.as_raw_fd(), name.as_ptr(), v.as_ptr().cast(), v.len(), flags)
            }
            (true, None) => libc::removexattr(path.as_ptr(), name.as_ptr()),
            (false, None) => libc::fremovexattr(fd.as_raw_fd(), name.as_ptr()),
        }
    };
    ret0(ret)
}

// ---------------------------------------------------------------------------
// Acting on other processes for the command (process scope): by pidfd where
// the kernel has a pidfd form, else by pid.

/// `siginfo_t` as the kernel copies it from user space (128 bytes).
pub type SigInfo = [u8; 128];

/// pidfd_send_signal(pidfd, sig, info, flags): `info` `None` lets the kernel
/// fill in sbx as the sender (SI_USER).
pub fn pidfd_send_signal(pidfd: BorrowedFd<'_>, sig: i32, info: Option<&SigInfo>, flags: u32) -> Result<i64, Errno> {
    let info = info.map_or(std::ptr::null(), |i| i.as_ptr());
    // SAFETY: info is null or points to 128 readable bytes that outlive the
    // call; the kernel copies them.
    let ret = unsafe { libc::syscall(libc::SYS_pidfd_send_signal, pidfd.as_raw_fd(), sig, info, flags) };
    if ret < 0 { Err(Errno::last()) } else { Ok(0) }
}

/// Whether the process behind `pidfd` still runs (or is an unreaped
/// zombie): signal 0 fails with ESRCH only once it is gone.
pub fn pidfd_alive(pidfd: BorrowedFd<'_>) -> bool {
    !matches!(pidfd_send_signal(pidfd, 0, None, 0), Err(Errno::ESRCH))
}

/// tgkill(tgid, tid, sig).
pub fn tgkill(tgid: i32, tid: i32, sig: i32) -> Result<i64, Errno> {
    // SAFETY: integer arguments only.
    let ret = unsafe { libc::syscall(libc::SYS_tgkill, tgid, tid, sig) };
    if ret < 0 { Err(Errno::last()) } else { Ok(0) }
}

/// setpriority(which, who, prio).
pub fn setpriority(which: i32, who: i32, prio: i32) -> Result<i64, Errno> {
    // SAFETY: integer arguments only.
    let ret = unsafe { libc::syscall(libc::SYS_setpriority, which, who, prio) };
    if ret < 0 { Err(Errno::last()) } else { Ok(0) }
}

/// ioprio_set(which, who, ioprio).
pub fn ioprio_set(which: i32, who: i32, ioprio: i32) -> Result<i64, Errno> {
    // SAFETY: integer arguments only.
    let ret = unsafe { libc::syscall(libc::SYS_ioprio_set, which, who, ioprio) };
    if ret < 0 { Err(Errno::last()) } else { Ok(0) }
}

/// prlimit64(pid, resource, new, old) with sbx's copies.
pub fn prlimit(pid: i32, resource: u32, new: &[u64; 2], old: Option<&mut [u64; 2]>) -> Result<i64, Errno> {
    let old = old.map_or(std::ptr::null_mut(), |o| o.as_mut_ptr());
    // SAFETY: new points to two readable u64 (struct rlimit64); old is null
    // or points to two writable u64.
    let ret = unsafe { libc::syscall(libc::SYS_prlimit64, pid, resource, new.as_ptr(), old) };
    if ret < 0 { Err(Errno::last()) } else { Ok(0) }
}

/// sched_setaffinity(pid, mask.len(), mask).
pub fn sched_setaffinity(pid: i32, mask: &[u8]) -> Result<i64, Errno> {
    // SAFETY: mask points to mask.len() readable bytes.
    let ret = unsafe { libc::syscall(libc::SYS_sched_setaffinity, pid, mask.len(), mask.as_ptr()) };
    if ret < 0 { Err(Errno::last()) } else { Ok(0) }
}

/// sched_setscheduler(pid, policy, param) (`policy` `None`: sched_setparam).
pub fn sched_setscheduler(pid: i32, policy: Option<i32>, priority: i32) -> Result<i64, Errno> {
    let param = priority;
    // SAFETY: param is a live int (struct sched_param has one int).
    let ret = unsafe {
        match policy {
            Some(policy) => libc::syscall(libc::SYS_sched_setscheduler, pid, policy, &param as *const i32),
            None => libc::syscall(libc::SYS_sched_setparam, pid, &param as *const i32),
        }
    };
    if ret < 0 { Err(Errno::last()) } else { Ok(0) }
}

/// sched_setattr(pid, attr, flags) with sbx's copy of `struct sched_attr`.
pub fn sched_setattr(pid: i32, attr: &[u8], flags: u32) -> Result<i64, Errno> {
    // The kernel reads the size from the struct's first field, which the
    // copy carries; align the copy for the struct's u64 fields.
    let mut aligned = vec![0u64; attr.len().div_ceil(8)];
    // SAFETY: aligned has at least attr.len() bytes.
    unsafe { std::ptr::copy_nonoverlapping(attr.as_ptr(), aligned.as_mut_ptr().cast::<u8>(), attr.len()) };
    // SAFETY: aligned points to a live struct sched_attr of the size it states.
    let ret = unsafe { libc::syscall(libc::SYS_sched_setattr, pid, aligned.as_ptr(), flags) };
    if ret < 0 { Err(Errno::last()) } else { Ok(0) }
}

/// fcntl(fd, F_SETOWN, owner).
pub fn set_owner(fd: BorrowedFd<'_>, owner: i32) -> Result<i64, Errno> {
    // SAFETY: integer arguments only.
    let ret = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETOWN, owner) };
    if ret < 0 { Err(Errno::last()) } else { Ok(0) }
}

/// `F_SETOWN_EX`: set a file's owner (a thread, process or group) by struct.
pub const F_SETOWN_EX: i32 = 15;

/// fcntl(fd, F_SETOWN_EX, {kind, pid}).
pub fn set_owner_ex(fd: BorrowedFd<'_>, kind: i32, pid: i32) -> Result<i64, Errno> {
    /// `struct f_owner_ex`.
    #[repr(C)]
    struct OwnerEx {
        kind: i32,
        pid: i32,
    }
    let owner = OwnerEx { kind, pid };
    // SAFETY: owner is a live struct f_owner_ex the kernel reads.
    let ret = unsafe { libc::fcntl(fd.as_raw_fd(), F_SETOWN_EX, &owner as *const OwnerEx) };
    if ret < 0 { Err(Errno::last()) } else { Ok(0) }
}

/// prctl(PR_SET_DUMPABLE, 0): /proc/PID files of sbx (memory, environment,
/// fds) become root's, so a process of the same user without CAP_SYS_PTRACE
/// cannot open them.
pub fn set_not_dumpable() -> Result<(), Errno> {
    // SAFETY: integer arguments.
    let ret = unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0 as libc::c_ulong, 0, 0, 0) };
    if ret < 0 { Err(Errno::last()) } else { Ok(()) }
}

// ---------------------------------------------------------------------------
// Capabilities (a root command keeps only a few: see capabilities.rs).

/// `_LINUX_CAPABILITY_VERSION_3`: two 32-bit words per set.
const CAPABILITY_VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// This thread's effective, permitted and inheritable capability sets.
pub fn capabilities() -> Result<(u64, u64, u64), Errno> {
    let mut header = CapHeader { version: CAPABILITY_VERSION_3, pid: 0 };
    let mut data = [CapData::default(); 2];
    // SAFETY: header and data are live; v3 fills two CapData.
    let ret = unsafe { libc::syscall(libc::SYS_capget, &mut header as *mut CapHeader, data.as_mut_ptr()) };
    if ret < 0 {
        return Err(Errno::last());
    }
    let join = |lo: u32, hi: u32| u64::from(lo) | (u64::from(hi) << 32);
    Ok((
        join(data[0].effective, data[1].effective),
        join(data[0].permitted, data[1].permitted),
        join(data[0].inheritable, data[1].inheritable),
    ))
}

/// The bounding set of this process, and the highest capability number the
/// kernel knows (/proc/sys/kernel/cap_last_cap).
pub fn bounding_set() -> (u64, u32) {
    let last = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        .unwrap_or(40)
        .min(63);
    let mut mask = 0u64;
    for cap in 0..=last {
        // SAFETY: integer arguments only.
        if unsafe { libc::prctl(libc::PR_CAPBSET_READ, cap as libc::c_ulong, 0, 0, 0) } == 1 {
            mask |= 1 << cap;
        }
    }
    (mask, last)
}

/// Async-signal-safe. Sets this thread's capability sets (v3).
pub fn set_capabilities(effective: u64, permitted: u64, inheritable: u64) -> Result<(), Errno> {
    let header = CapHeader { version: CAPABILITY_VERSION_3, pid: 0 };
    let split = |m: u64| (m as u32, (m >> 32) as u32);
    let (e, e2) = split(effective);
    let (p, p2) = split(permitted);
    let (i, i2) = split(inheritable);
    let data = [
        CapData { effective: e, permitted: p, inheritable: i },
        CapData { effective: e2, permitted: p2, inheritable: i2 },
    ];
    // SAFETY: header and data are live and laid out as v3 expects.
    let ret = unsafe { libc::syscall(libc::SYS_capset, &header as *const CapHeader, data.as_ptr()) };
    if ret < 0 { Err(Errno::last()) } else { Ok(()) }
}

/// Async-signal-safe. Drops `drop` from the bounding set (capabilities up
/// to `last`), then sets the three sets, then clears the ambient set.
pub fn drop_capabilities(drop: &super::capabilities::Drop) -> Result<(), Errno> {
    for cap in 0..=drop.last {
        if drop.dropped & (1 << cap) != 0 {
            // SAFETY: integer arguments only.
            if unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) } < 0 {
                return Err(Errno::last());
            }
        }
    }
    set_capabilities(drop.effective, drop.permitted, drop.inheritable)?;
    // SAFETY: integer arguments only. EINVAL on kernels before 4.3 (no
    // ambient set: nothing to clear).
    let ret = unsafe { libc::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong, 0, 0, 0) };
    if ret < 0 && Errno::last() != Errno::EINVAL {
        return Err(Errno::last());
    }
    Ok(())
}
