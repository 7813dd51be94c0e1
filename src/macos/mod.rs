//! The macOS backend: translate the policy into an SBPL profile
//! ([`profile`], pure, tested on every platform) and run the command under
//! `/usr/bin/sandbox-exec`, which applies the profile to itself and execs the
//! command. [`machine`] holds what the profile needs to know of this Mac (its
//! terminals, the SBPL forms it accepts); [`enforcement`] (pure but for its
//! detection) tells `--explain` and `--doctor` what SBPL will and will not
//! enforce; [`diagnose`] tells a sandbox that never started from the
//! command's own failure. All system calls are in `sys` (macOS only).
//!
//! sbx starts sandbox-exec as a child rather than exec'ing it in place, so
//! that it can tell a sandbox that could not be applied (sandbox-exec exits
//! 71 inside another sandbox, 65 for a profile this macOS refuses, every
//! process aborting at start under a profile that withholds a system path)
//! from the command's own ending, and keep its exit-status and signal
//! contract: it forwards signals as on Linux and ends as the command did.

pub mod diagnose;
pub mod enforcement;
pub mod machine;
pub mod profile;
#[cfg(target_os = "macos")]
pub(crate) mod sys;

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
    use std::process::{Command, Stdio};
    use std::time::Instant;

    use anyhow::{Context, Result};

    use super::diagnose::{self, Verdict};
    use super::machine::{Dialect, Machine};
    use super::profile::{self, Profile, SANDBOX_EXEC};
    use super::{enforcement, sys};
    use crate::exit::{NOT_EXECUTABLE, NOT_FOUND, Outcome, SBX_FAILED};
    use crate::policy::Policy;

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
        let Some(machine) = Machine::detect() else {
            // Not even an allow-everything profile applies: nested.
            eprintln!("sbx: {}", diagnose::message(Verdict::Nested).unwrap_or_default());
            return Ok(Outcome::Code(SBX_FAILED));
        };
        for warning in enforcement::warnings(&policy, &machine.dialect) {
            eprintln!("sbx: warning: {warning}");
        }
        // Blocked before anything is made on disk, so that sbx ends through
        // its own return (which removes the private temporary directory)
        // rather than by a signal's default action.
        let signals = sys::Signals::block();
        policy.create_missing_dirs()?;
        // Removed when dropped, before the signals are unblocked.
        let private_tmp = policy.create_private_tmp()?;
        let profile = profile::build(&policy, &machine)?;
        tracing::debug!("sandbox-exec profile and parameters:\n{}", profile::render(&profile));

        if policy.close_fds {
            // sbx execs nothing but sandbox-exec from here on: the fds it
            // inherited are closed when sandbox-exec starts.
            crate::unix_sys::cloexec_each(3, crate::unix_sys::fd_limit());
        }
        let started = Instant::now();
        let mut child =
            sandbox_exec(&profile, &policy.command, &policy.child_env).spawn().map_err(|err| spawn_error(&err))?;
        let status = signals.supervise(&mut child, profile.new_session).context("waiting for the command")?;
        let elapsed = started.elapsed();
        drop(private_tmp);
        drop(signals);
        let ended = Outcome::of(status);
        if !diagnose::suspicious(ended, elapsed) {
            return Ok(ended);
        }
        // Only now (71, 65, or an abort right at start): one more process
        // start tells whether the sandbox works at all.
        let probe = sandbox_exec(&profile, &[OsString::from("/usr/bin/true")], &policy.child_env)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .ok()
            .map(Outcome::of);
        let verdict = diagnose::verdict(probe);
        if verdict == Verdict::Refused {
            Dialect::forget();
        }
        if let Some(message) = diagnose::message(verdict) {
            eprintln!("sbx: {message}");
            return Ok(Outcome::Code(SBX_FAILED));
        }
        if let (Outcome::Signal(signal), true) = (ended, policy.deny.read) {
            eprintln!("sbx: note: {}", diagnose::hint(signal));
        }
        Ok(ended)
    }

    /// `sandbox-exec -p PROFILE -D… -- COMMAND…` with exactly the child's
    /// environment, in a new session when the profile says so.
    fn sandbox_exec(profile: &Profile, command: &[OsString], env: &[(OsString, OsString)]) -> Command {
        let mut cmd = Command::new(SANDBOX_EXEC);
        cmd.args(profile::argv(profile, command)).env_clear().envs(env.iter().map(|(k, v)| (k, v)));
        if profile.new_session {
            sys::start_in_new_session(&mut cmd);
        }
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
}
