//! How sbx ends: the child's exit code, the child's death signal re-raised on
//! sbx itself, or sbx's own codes (125 failed, 126 not executable, 127 not found),
//! as env(1) and timeout(1) do.

/// sbx itself failed: usage, a bad path, an unenforceable policy, setup.
pub const SBX_FAILED: i32 = 125;
/// COMMAND was found but could not be executed (including: denied by the sandbox).
pub const NOT_EXECUTABLE: i32 = 126;
/// COMMAND was not found.
pub const NOT_FOUND: i32 = 127;

/// How sbx should end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit with this code.
    Code(i32),
    /// Die of this signal, as the child did.
    Signal(i32),
}

impl Outcome {
    /// How a child process ended, as sbx should end too. A status with
    /// neither a code nor a signal (never from a plain wait) is sbx's failure.
    pub fn of(status: std::process::ExitStatus) -> Self {
        use std::os::unix::process::ExitStatusExt;
        match (status.code(), status.signal()) {
            (Some(code), _) => Outcome::Code(code),
            (None, Some(signal)) => Outcome::Signal(signal),
            (None, None) => Outcome::Code(SBX_FAILED),
        }
    }
}

/// Ends the process as `outcome` says. For a signal: reset its handler,
/// unblock it, disable core dumps of sbx itself (the child already dumped, if
/// it was going to), raise it; should the signal not be fatal, exit 128+N.
pub fn exit_with(outcome: Outcome) -> ! {
    match outcome {
        Outcome::Code(code) => std::process::exit(code),
        Outcome::Signal(signal) => {
            crate::backend::die_of_signal(signal);
            std::process::exit(128 + signal)
        }
    }
}
