//! The child side of the fork: everything it needs is prepared before fork
//! ([`ExecPlan`]); after fork it only makes system calls — restore signals,
//! no_new_privs, Landlock, seccomp (last), execve — and reports a failure to
//! the parent over a close-on-exec pipe as a fixed-size [`Failure`].
//!
//! When the filter hands calls to a supervisor, the child installs it with a
//! notification listener. The child shares sbx's memory and file table until
//! it execs (see [`sys::spawn_paused`]), so the listener fd is already in sbx's
//! table: the child only stores its number in [`ChildSetup::listener_slot`]
//! — no mediated call, no hand-over round trip. At exec the kernel gives the
//! command its own copy of the table, without the (close-on-exec) listener.
//!
//! Set up, the child says so on the report pipe ([`READY`]) and waits for
//! sbx's word on the go pipe before it execs: sbx checks on the real child
//! what the supervisor needs and starts it, and refuses (killing the child)
//! if it cannot — so exit 125 means the command never ran. From the word on
//! the child makes only errno-free (`raw_*`) calls; an exec failure is left
//! in [`ChildSetup::exec_failure`] for sbx to read once the child has ended.

use std::ffi::{CStr, CString, OsStr, OsString};
use std::os::fd::BorrowedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};

use anyhow::{Result, bail};
use nix::errno::Errno;

use super::sys::{self, BpfProgram};

/// The step of the child's setup that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Stage {
    NoNewPrivs = 1,
    Landlock = 2,
    Seccomp = 3,
    Exec = 4,
    Capabilities = 5,
}

/// What the child sends the parent when it cannot exec: stage and errno.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    pub stage: Stage,
    pub errno: Errno,
}

/// The record the child sends when it is set up and waits for the word.
pub const READY: [u8; Failure::SIZE] = [0; Failure::SIZE];

/// The word that lets the child exec.
pub const GO: u8 = b'g';

impl Failure {
    pub const SIZE: usize = 8;

    /// As one number, for [`ChildSetup::exec_failure`] (0: none).
    pub fn to_u64(self) -> u64 {
        u64::from_ne_bytes(self.encode())
    }

    pub fn from_u64(value: u64) -> Option<Self> {
        Self::decode(value.to_ne_bytes())
    }

    fn encode(self) -> [u8; Self::SIZE] {
        let mut out = [0u8; Self::SIZE];
        out[..4].copy_from_slice(&(self.stage as u32).to_ne_bytes());
        out[4..].copy_from_slice(&(self.errno as i32).to_ne_bytes());
        out
    }

    pub fn decode(bytes: [u8; Self::SIZE]) -> Option<Self> {
        let stage = match u32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) {
            1 => Stage::NoNewPrivs,
            2 => Stage::Landlock,
            3 => Stage::Seccomp,
            4 => Stage::Exec,
            5 => Stage::Capabilities,
            _ => return None,
        };
        let errno = Errno::from_raw(i32::from_ne_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]));
        Some(Self { stage, errno })
    }
}

/// argv, envp and the candidate paths for COMMAND, as C strings, built before
/// fork. The pointer arrays point into the CStrings, which live as long as this.
pub struct ExecPlan {
    candidates: Vec<CString>,
    _argv: Vec<CString>,
    _envp: Vec<CString>,
    argv_ptrs: Vec<*const libc::c_char>,
    envp_ptrs: Vec<*const libc::c_char>,
    /// Per candidate: `/bin/sh CANDIDATE ARGS...`, for a script without a
    /// `#!` line (ENOEXEC), as execvp does — never for an ELF file.
    sh_argv_ptrs: Vec<Vec<*const libc::c_char>>,
    /// Per candidate, whether it starts with the ELF magic, when looked at
    /// before fork ([`ExecPlan::check_elf_now`]); `None`: looked at in the
    /// child, only after an ENOEXEC.
    elf: Option<Vec<bool>>,
}

/// The shell that runs a script without a `#!` line.
const SHELL: &CStr = c"/bin/sh";

/// The search path execvp uses when PATH is unset.
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

impl ExecPlan {
    /// Prepares to run `command` with environment `env`. A name without `/` is
    /// looked up in the child's PATH at exec time, as execvp does.
    pub fn new(command: &[OsString], env: &[(OsString, OsString)]) -> Result<Self> {
        let Some(program) = command.first() else { bail!("no command given") };
        let argv = command.iter().map(|a| cstring(a, "argument")).collect::<Result<Vec<_>>>()?;
        let envp = env
            .iter()
            .map(|(k, v)| {
                let mut kv = k.as_bytes().to_vec();
                kv.push(b'=');
                kv.extend_from_slice(v.as_bytes());
                cstring(OsStr::from_bytes(&kv), "environment variable")
            })
            .collect::<Result<Vec<_>>>()?;
        let candidates = if program.is_empty() {
            // Nothing to look up: reported as "not found", as env(1) does.
            Vec::new()
        } else if program.as_bytes().contains(&b'/') {
            vec![cstring(program, "command")?]
        } else {
            let path = env
                .iter()
                .find(|(k, _)| k.as_bytes() == b"PATH")
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| DEFAULT_PATH.into());
            // An empty PATH entry means the current directory, as in execvp.
            path.as_bytes()
                .split(|&b| b == b':')
                .map(|dir| {
                    let dir = if dir.is_empty() { Path::new(".") } else { Path::new(OsStr::from_bytes(dir)) };
                    cstring(dir.join(program).as_os_str(), "command")
                })
                .collect::<Result<Vec<_>>>()?
        };
        let mut argv_ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
        argv_ptrs.push(std::ptr::null());
        let mut envp_ptrs: Vec<*const libc::c_char> = envp.iter().map(|e| e.as_ptr()).collect();
        envp_ptrs.push(std::ptr::null());
        let sh_argv_ptrs = candidates
            .iter()
            .map(|candidate| {
                let mut ptrs = vec![SHELL.as_ptr(), candidate.as_ptr()];
                ptrs.extend_from_slice(&argv_ptrs[1..]);
                ptrs
            })
            .collect();
        Ok(Self { candidates, _argv: argv, _envp: envp, argv_ptrs, envp_ptrs, sh_argv_ptrs, elf: None })
    }

    /// Looks at each candidate's ELF magic now, in the parent, so the child
    /// opens nothing before exec. For `sbx learn`, whose filter hands opens
    /// to the supervisor — which cannot answer while sbx waits for the
    /// child to exec (vfork).
    pub fn check_elf_now(&mut self) {
        self.elf = Some(self.candidates.iter().map(|c| sys::has_elf_magic(c)).collect());
    }

    /// The address of the envp array: every execve the child makes before
    /// the command runs passes it, so a filter can tell those apart.
    pub fn envp_address(&self) -> u64 {
        self.envp_ptrs.as_ptr() as u64
    }

    /// The paths execve will try, in order.
    pub fn candidates(&self) -> impl Iterator<Item = &Path> {
        self.candidates.iter().map(|c| Path::new(OsStr::from_bytes(c.as_bytes())))
    }

    /// Errno-free (see [`sys::spawn_paused`]). Tries each candidate as
    /// execvp does; returns the errno to report only if none could be
    /// executed.
    fn exec(&self) -> Errno {
        let mut denied = false;
        let mut last = Errno::ENOENT;
        for (i, (path, sh_argv)) in self.candidates.iter().zip(&self.sh_argv_ptrs).enumerate() {
            let mut err = sys::raw_execve(path, &self.argv_ptrs, &self.envp_ptrs);
            let is_elf = || match &self.elf {
                Some(checked) => checked.get(i).copied().unwrap_or(false),
                None => sys::raw_has_elf_magic(path),
            };
            if err == Errno::ENOEXEC && !is_elf() && sys::raw_execve(SHELL, sh_argv, &self.envp_ptrs) != Errno::ENOENT {
                // The shell exists but could not run it either.
                err = Errno::ENOEXEC;
            }
            match err {
                Errno::EACCES => denied = true,
                Errno::ENOENT | Errno::ENOTDIR | Errno::ESTALE | Errno::ENODEV | Errno::ETIMEDOUT => {}
                other => return other,
            }
            last = err;
        }
        if denied { Errno::EACCES } else { last }
    }
}

fn cstring(value: &OsStr, what: &str) -> Result<CString> {
    match CString::new(value.as_bytes()) {
        Ok(c) => Ok(c),
        Err(_) => bail!("the {what} {value:?} contains a NUL byte, which cannot be passed to a program"),
    }
}

/// Everything the child needs, prepared before fork.
pub struct ChildSetup<'a> {
    /// The signal mask to restore (sbx blocks the signals it forwards).
    pub signal_mask: libc::sigset_t,
    /// The Landlock ruleset, by fd number (sbx keeps it open until the
    /// child is ready, then hands it to the supervisor).
    pub landlock: Option<std::os::fd::RawFd>,
    pub seccomp: Option<&'a BpfProgram>,
    pub exec: &'a ExecPlan,
    /// Write end of the close-on-exec report pipe.
    pub report: BorrowedFd<'a>,
    /// Read end of the go pipe: sbx writes [`GO`] when the command may run.
    pub go: BorrowedFd<'a>,
    /// Where the child leaves a failed exec (a [`Failure`] as `u64`).
    pub exec_failure: &'a AtomicU64,
    /// `--close-fds`: mark every fd above stderr close-on-exec, and the
    /// highest fd number to try when the kernel lacks close_range.
    pub close_fds: Option<u32>,
    /// With a supervisor: where the child stores the listener's fd number
    /// (sbx reads it once the child has exec'd).
    pub listener_slot: Option<&'a AtomicI32>,
    /// For a command started with capabilities (root): what it loses.
    pub capabilities: Option<&'a super::capabilities::Drop>,
}

/// Runs in the child (see [`sys::spawn_paused`]): applies the sandbox,
/// says it is ready, waits for the word and execs. Never returns.
pub fn run(setup: ChildSetup<'_>) -> ! {
    // Rust ignores SIGPIPE and handles SIGSEGV/SIGBUS (stack overflow
    // reports) in sbx; the command gets the defaults back. Signals stay
    // blocked until the caller's mask is restored right before exec (one
    // sent meanwhile is delivered then).
    for signal in [libc::SIGPIPE, libc::SIGSEGV, libc::SIGBUS] {
        sys::reset_signal(signal);
    }
    let fail = |stage: Stage, errno: Errno| -> ! {
        sys::write_all(setup.report, &Failure { stage, errno }.encode());
        sys::exit_now(crate::exit::SBX_FAILED)
    };
    if let Err(errno) = sys::set_no_new_privs() {
        fail(Stage::NoNewPrivs, errno);
    }
    if let Some(drop) = setup.capabilities {
        if let Err(errno) = sys::drop_capabilities(drop) {
            fail(Stage::Capabilities, errno);
        }
    }
    if let Some(ruleset) = setup.landlock {
        if let Err(errno) = sys::landlock_restrict_self_by_number(ruleset, 0) {
            fail(Stage::Landlock, errno);
        }
    }
    match (setup.seccomp, setup.listener_slot) {
        (Some(program), Some(slot)) => match sys::seccomp_install_listener(program) {
            Ok(listener) => slot.store(listener, Ordering::SeqCst),
            Err(errno) => fail(Stage::Seccomp, errno),
        },
        (Some(program), None) => {
            if let Err(errno) = sys::seccomp_install(program) {
                fail(Stage::Seccomp, errno);
            }
        }
        (None, _) => {}
    }
    if let Some(limit) = setup.close_fds {
        // The table is still sbx's own (CLONE_FILES), so nothing is closed
        // here: every fd sbx opens is close-on-exec already, so marking all
        // of them changes nothing for sbx (which execs nothing else), and at
        // exec the kernel closes them in the command's own copy of the table.
        sys::cloexec_from(3, limit);
    }
    // Until here sbx waits on the report pipe; from the ready record on it
    // runs alongside (errno-free calls only).
    if !sys::raw_write_all(setup.report, &READY) || sys::raw_read_byte(setup.go) != Some(GO) {
        // sbx refused, or is gone: the command never runs.
        sys::raw_exit(crate::exit::SBX_FAILED);
    }
    sys::raw_set_signal_mask(&setup.signal_mask);
    let errno = setup.exec.exec();
    setup.exec_failure.store(Failure { stage: Stage::Exec, errno }.to_u64(), Ordering::SeqCst);
    sys::raw_exit(crate::exit::SBX_FAILED)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_round_trip() {
        for stage in [Stage::NoNewPrivs, Stage::Landlock, Stage::Seccomp, Stage::Exec, Stage::Capabilities] {
            let f = Failure { stage, errno: Errno::EACCES };
            assert_eq!(Failure::decode(f.encode()), Some(f));
        }
        assert_eq!(Failure::decode([0; 8]), None);
    }

    #[test]
    fn candidates_follow_path() {
        let env = vec![(OsString::from("PATH"), OsString::from("/a::/b"))];
        let plan = ExecPlan::new(&[OsString::from("tool"), OsString::from("x")], &env).unwrap();
        let c: Vec<_> = plan.candidates().map(Path::to_path_buf).collect();
        assert_eq!(c, [Path::new("/a/tool"), Path::new("./tool"), Path::new("/b/tool")]);
        let plan = ExecPlan::new(&[OsString::from("./tool")], &env).unwrap();
        assert_eq!(plan.candidates().count(), 1);
        let plan = ExecPlan::new(&[OsString::new()], &env).unwrap();
        assert_eq!(plan.candidates().count(), 0, "an empty name must not become a PATH directory");
    }

    #[test]
    fn nul_bytes_are_refused() {
        assert!(ExecPlan::new(&[OsString::from("a\0b")], &[]).is_err());
    }
}
