//! sbx runs a command under a kernel-enforced sandbox. The flow is
//! CLI ([`cli`]) → validated, platform-neutral [`policy::Policy`] → the platform
//! backend, which translates the policy and runs the command → [`exit`].

pub mod cli;
pub mod dns;
pub mod env;
pub mod exit;
pub mod paths;
pub mod policy;

#[cfg(target_os = "linux")]
pub mod linux;
#[cfg(target_os = "linux")]
pub(crate) use linux as backend;

#[cfg(not(target_os = "linux"))]
mod unsupported;
#[cfg(not(target_os = "linux"))]
pub(crate) use unsupported as backend;

use std::ffi::OsString;

use exit::Outcome;

/// Parses `args`, runs the command and returns how sbx should end.
pub fn run<I: IntoIterator<Item = OsString>>(args: I) -> Outcome {
    let cli = match cli::Cli::parse_from_os(args) {
        Ok(cli) => cli,
        Err(outcome) => return outcome,
    };
    cli::init_logging(cli.verbose);
    let result =
        policy::Surroundings::current().and_then(|ctx| policy::Policy::resolve(&cli, &ctx)).and_then(|policy| {
            policy.warn_if_unrestricted();
            backend::run(&policy)
        });
    match result {
        Ok(outcome) => outcome,
        Err(err) => {
            eprintln!("sbx: {err:#}");
            Outcome::Code(exit::SBX_FAILED)
        }
    }
}
