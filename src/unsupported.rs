//! Platforms without a backend yet: sbx refuses to run rather than run the
//! command unsandboxed.

use anyhow::{Result, bail};

use crate::exit::Outcome;
use crate::policy::Policy;

pub fn run(_policy: &Policy) -> Result<Outcome> {
    bail!(
        "sandboxing is not supported on {} yet: sbx refuses to run the command unsandboxed (sbx supports Linux and macOS)",
        std::env::consts::OS
    )
}

/// `sbx learn` needs Linux's seccomp user notification.
pub fn observe(_policy: &Policy) -> Result<(Outcome, crate::learn::Observations)> {
    bail!(
        "sbx learn is not supported on {}: it observes commands through Linux's seccomp user notification",
        std::env::consts::OS
    )
}

pub fn die_of_signal(_signal: i32) {}

pub use crate::paths::resolve_portably as resolve_path;
