//! The macOS backend: translate the policy into an SBPL profile
//! ([`profile`], pure, tested on every platform) and run the command under
//! `/usr/bin/sandbox-exec`, which applies the profile to itself and execs the
//! command. [`enforcement`] (pure but for its detection) tells `--explain`
//! and `--doctor` what SBPL will and will not enforce.
//!
//! sbx starts sandbox-exec as a child rather than exec'ing it in place, so
//! that it can tell a sandbox that could not be applied (sandbox-exec exits
//! 71 inside another sandbox, 65 for a profile this macOS refuses) from the
//! command's own exit status, and keep its exit-status and signal contract:
//! it forwards signals as on Linux and ends as the command did.

pub mod enforcement;
pub mod profile;

#[cfg(target_os = "macos")]
pub use crate::paths::resolve_portably as resolve_path;
#[cfg(target_os = "macos")]
pub use crate::unix_sys::die_of_signal;
#[cfg(target_os = "macos")]
pub use imp::{observe, run};

#[cfg(target_os = "macos")]
mod imp {
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::PermissionsExt;
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, ExitStatus, Stdio};

    use anyhow::{Context, Result};

    use super::profile::{self, Profile, SANDBOX_EXEC};
    use crate::exit::{NOT_EXECUTABLE, NOT_FOUND, Outcome, SBX_FAILED};
    use crate::policy::Policy;

    /// sandbox-exec's status when it could not apply the profile (or exec the
    /// command): `EX_OSERR`.
    const SANDBOX_APPLY_FAILED: i32 = 71;
    /// sandbox-exec's status for a profile it cannot compile: `EX_DATAERR`.
    const PROFILE_REFUSED: i32 = 65;

    /// `sbx learn` observes commands through Linux's seccomp user
    /// notification; macOS has nothing like it that sbx can use.
    pub fn observe(_policy: &Policy) -> Result<(Outcome, crate::learn::Observations)> {
        anyhow::bail!(
            "sbx learn is not supported on macOS: it observes commands through Linux's seccomp user notification; \
             learn the profile on Linux (its paths may need adjusting), or write it by hand"
        )
    }

    /// Runs `policy.command` under `policy`; returns how sbx should end.
    pub fn run(policy: &Policy) -> Result<Outcome> {
        let (mut policy, warning) = profile::check_network(policy)?;
        if let Some(warning) = warning {
            eprintln!("sbx: warning: {warning}");
        }
        if let Some((code, message)) = command_problem(&policy) {
            eprintln!("sbx: {message}");
            return Ok(Outcome::Code(code));
        }
        policy.create_missing_dirs()?;
        let profile = profile::build(&policy)?;
        tracing::debug!("sandbox-exec profile and parameters:\n{}", profile::render(&profile));

        if policy.close_fds {
            // sbx execs nothing but sandbox-exec from here on: the fds it
            // inherited are closed when sandbox-exec starts.
            crate::unix_sys::cloexec_each(3, crate::unix_sys::fd_limit());
        }
        let signals = Signals::block();
        let mut child =
            sandbox_exec(&profile, &policy.command, &policy.child_env).spawn().map_err(|err| spawn_error(&err))?;
        let status = signals.supervise(&mut child).context("waiting for the command")?;
        drop(signals);
        match status.code() {
            Some(code @ (SANDBOX_APPLY_FAILED | PROFILE_REFUSED)) => diagnose(code, &profile, &policy),
            _ => Ok(Outcome::of(status)),
        }
    }

    /// `sandbox-exec -p PROFILE -D… -- COMMAND…` with exactly the child's
    /// environment.
    fn sandbox_exec(profile: &Profile, command: &[OsString], env: &[(OsString, OsString)]) -> Command {
        let mut cmd = Command::new(SANDBOX_EXEC);
        cmd.args(profile::argv(profile, command)).env_clear().envs(env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    fn spawn_error(err: &std::io::Error) -> anyhow::Error {
        if err.kind() == std::io::ErrorKind::NotFound {
            anyhow::anyhow!(
                "{SANDBOX_EXEC} is missing: it ships with macOS and sbx needs it to sandbox anything; sbx will not \
                 run the command unsandboxed (reinstall macOS's command-line tools or check the system volume)"
            )
        } else {
            anyhow::anyhow!("starting {SANDBOX_EXEC} failed: {err}; the command did not run")
        }
    }

    /// sandbox-exec ended with 71 or 65: either the command did, or the sandbox
    /// never started. A second run of the same profile around `/usr/bin/true`
    /// tells which (it costs a process start only in this case).
    fn diagnose(code: i32, profile: &Profile, policy: &Policy) -> Result<Outcome> {
        let probe = sandbox_exec(profile, &[OsString::from("/usr/bin/true")], &policy.child_env)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        match probe.map(|s| s.code()) {
            Ok(Some(SANDBOX_APPLY_FAILED)) => {
                eprintln!(
                    "sbx: the sandbox could not be applied (sandbox_apply: Operation not permitted): sbx is running \
                     inside another macOS sandbox (an app sandbox, sandbox-exec, or an outer sbx), and macOS does \
                     not nest them; the command did not run. Run sbx outside that sandbox, or run the command \
                     there without sbx if the outer sandbox is enough"
                );
                Ok(Outcome::Code(SBX_FAILED))
            }
            Ok(Some(PROFILE_REFUSED)) => {
                eprintln!(
                    "sbx: this macOS refused sbx's sandbox profile (see sandbox-exec's message above); the command \
                     did not run. Run with -v to see the profile and report a bug with your macOS version"
                );
                Ok(Outcome::Code(SBX_FAILED))
            }
            // The sandbox works: the status was the command's own (or
            // sandbox-exec's failure to exec it, which it reported).
            _ => Ok(Outcome::Code(code)),
        }
    }

    /// Exits 127 or 126 for a command sandbox-exec would not find or could not
    /// execute (looked up in the command's `PATH`, as its `execvp` does), so
    /// that sandbox-exec's own status 71 keeps one meaning.
    fn command_problem(policy: &Policy) -> Option<(i32, String)> {
        let name = policy.command.first()?;
        let shown = name.to_string_lossy();
        let candidates: Vec<PathBuf> = if name.as_bytes().contains(&b'/') {
            vec![PathBuf::from(name)]
        } else {
            let path = policy
                .child_env
                .iter()
                .find(|(k, _)| k.as_bytes() == b"PATH")
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| OsString::from("/usr/bin:/bin"));
            std::env::split_paths(&path)
                .map(|dir| if dir.as_os_str().is_empty() { PathBuf::from(".") } else { dir })
                .map(|dir| dir.join(name))
                .collect()
        };
        let existing: Vec<&Path> = candidates.iter().map(PathBuf::as_path).filter(|p| p.is_file()).collect();
        if existing.is_empty() {
            let message = if name.as_bytes().contains(&b'/') {
                format!("{shown}: no such file or directory")
            } else {
                format!("{shown}: command not found (searched the command's PATH)")
            };
            return Some((NOT_FOUND, message));
        }
        if !existing.iter().any(|p| executable(p)) {
            return Some((NOT_EXECUTABLE, format!("{shown}: cannot execute: permission denied")));
        }
        None
    }

    fn executable(path: &Path) -> bool {
        std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
    }

    /// Signals sbx forwards to the command (as on Linux).
    const FORWARDED: &[libc::c_int] =
        &[libc::SIGTERM, libc::SIGHUP, libc::SIGUSR1, libc::SIGUSR2, libc::SIGWINCH, libc::SIGALRM];
    /// Signals sbx ignores while it waits: the command is in the caller's
    /// process group and gets them from the terminal itself.
    const IGNORED: &[libc::c_int] = &[libc::SIGINT, libc::SIGQUIT];

    /// The forwarded and ignored signals and SIGCHLD, blocked before the
    /// command starts (so none is lost) and read with `sigwait`. The child's
    /// mask is reset by `std::process::Command`.
    struct Signals {
        set: libc::sigset_t,
        original: libc::sigset_t,
    }

    extern "C" fn on_sigchld(_: libc::c_int) {}

    impl Signals {
        fn block() -> Self {
            // SAFETY: sigemptyset/sigaddset fill live sigsets; signal installs
            // a handler that does nothing (so a blocked SIGCHLD stays pending
            // instead of being discarded as ignored); pthread_sigmask reads
            // and writes live sigsets.
            unsafe {
                let mut set: libc::sigset_t = std::mem::zeroed();
                let mut original: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut set);
                for &signal in FORWARDED.iter().chain(IGNORED).chain(&[libc::SIGCHLD]) {
                    libc::sigaddset(&mut set, signal);
                }
                libc::signal(libc::SIGCHLD, on_sigchld as extern "C" fn(libc::c_int) as libc::sighandler_t);
                libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut original);
                Self { set, original }
            }
        }

        /// Forwards signals until `child` ends; returns how it ended.
        fn supervise(&self, child: &mut Child) -> std::io::Result<ExitStatus> {
            let pid = libc::pid_t::try_from(child.id()).unwrap_or(libc::pid_t::MAX);
            loop {
                if let Some(status) = child.try_wait()? {
                    return Ok(status);
                }
                let mut signal: libc::c_int = 0;
                // SAFETY: set is a live, initialised sigset; signal is writable.
                let rc = unsafe { libc::sigwait(&self.set, &mut signal) };
                if rc == 0 && FORWARDED.contains(&signal) {
                    tracing::debug!(signal, "forwarding signal to the command");
                    // SAFETY: kill takes plain integers; pid is our child,
                    // not reaped yet (try_wait above saw it running).
                    unsafe { libc::kill(pid, signal) };
                }
            }
        }
    }

    impl Drop for Signals {
        fn drop(&mut self) {
            // SAFETY: restores the mask saved in `block`, a live sigset.
            unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &self.original, std::ptr::null_mut()) };
        }
    }
}
