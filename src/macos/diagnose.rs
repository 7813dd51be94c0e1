//! Telling a sandbox that never started from the command's own failure.
//! sandbox-exec exits 71 when it cannot apply a profile (inside another
//! sandbox) and 65 when this macOS does not compile it; a profile that
//! withholds something every process needs at start makes the command abort
//! (SIGABRT, or SIGTRAP from dyld) before it does anything. A command can end
//! the same ways on its own. Only then does sbx run the same profile once
//! more around `/usr/bin/true`, and the probe's ending tells which it was.
//! Pure: the run itself is in the backend.

use std::time::Duration;

use crate::exit::Outcome;

/// sandbox-exec's status when it could not apply the profile (or exec the
/// command): `EX_OSERR`.
pub const APPLY_FAILED: i32 = 71;
/// sandbox-exec's status for a profile it cannot compile: `EX_DATAERR`.
pub const PROFILE_REFUSED: i32 = 65;
/// How soon after it started an abort counts as an abort at start: dyld and
/// libSystem abort within milliseconds when the sandbox withholds a path
/// they need; two seconds leaves room for a loaded machine.
pub const START_WINDOW: Duration = Duration::from_secs(2);

/// Whether a command that ended as `ended`, `elapsed` after it started, may
/// not have run under a working sandbox, so that the probe is worth its
/// process start.
pub fn suspicious(ended: Outcome, elapsed: Duration) -> bool {
    match ended {
        Outcome::Code(code) => code == APPLY_FAILED || code == PROFILE_REFUSED,
        Outcome::Signal(signal) => aborts(signal) && elapsed < START_WINDOW,
    }
}

fn aborts(signal: i32) -> bool {
    signal == libc::SIGABRT || signal == libc::SIGTRAP
}

/// What the probe (`/usr/bin/true` under the same profile) showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The sandbox works: the status was the command's own.
    Command,
    /// The profile could not be applied: sbx runs inside another sandbox.
    Nested,
    /// This macOS does not compile the profile.
    Refused,
    /// Even `/usr/bin/true` dies at start (of this signal) under the profile.
    AbortsAtStart(i32),
}

/// The verdict from how the probe ended (`None`: it could not be started,
/// which tells nothing, so the status stays the command's).
pub fn verdict(probe: Option<Outcome>) -> Verdict {
    match probe {
        Some(Outcome::Code(APPLY_FAILED)) => Verdict::Nested,
        Some(Outcome::Code(PROFILE_REFUSED)) => Verdict::Refused,
        Some(Outcome::Signal(signal)) if aborts(signal) => Verdict::AbortsAtStart(signal),
        _ => Verdict::Command,
    }
}

/// What sbx says (after `sbx: `) before it exits 125, or `None` when the
/// command's status stands.
pub fn message(verdict: Verdict) -> Option<String> {
    match verdict {
        Verdict::Command => None,
        Verdict::Nested => Some(
            "the sandbox could not be applied (sandbox_apply: Operation not permitted): sbx is running inside \
             another macOS sandbox (an app sandbox, sandbox-exec, or an outer sbx), and macOS does not nest them; \
             the command did not run. Run sbx outside that sandbox, or run the command there without sbx if the \
             outer sandbox is enough"
                .to_owned(),
        ),
        Verdict::Refused => Some(
            "this macOS refused sbx's sandbox profile (see sandbox-exec's message above); the command did not run. \
             sbx forgot the SBPL forms it had found this macOS to accept and checks them again on the next run; \
             if that fails the same way, run with -v to see the profile and report a bug with your macOS version \
             (sw_vers)"
                .to_owned(),
        ),
        Verdict::AbortsAtStart(signal) => Some(format!(
            "every process dies at start under this sandbox profile (/usr/bin/true died of {} too): this macOS \
             needs a system path the profile does not grant, so the command could not start. Run with -v to see \
             the profile, `log show --last 1m --predicate 'sender == \"Sandbox\"'` to see what was denied, and \
             report it with your macOS version (sw_vers); --allow-read=PATH for the denied path is the workaround",
            signal_name(signal)
        )),
    }
}

/// A hint for a command that aborted at start although the probe runs:
/// it likely needs a path the profile does not grant (only said under
/// `--deny-read`, where that is the usual cause).
pub fn hint(signal: i32) -> String {
    format!(
        "the command died of {} right after it started, while /usr/bin/true runs under the same profile: it may \
         need a path --deny-read does not allow; `log show --last 1m --predicate 'sender == \"Sandbox\"'` shows \
         what was denied",
        signal_name(signal)
    )
}

fn signal_name(signal: i32) -> String {
    if signal == libc::SIGABRT {
        "SIGABRT".to_owned()
    } else if signal == libc::SIGTRAP {
        "SIGTRAP".to_owned()
    } else {
        format!("signal {signal}")
    }
}

#[cfg(test)]
mod tests;
