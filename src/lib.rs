//! sbx runs a command under a kernel-enforced sandbox. The flow is
//! CLI ([`cli`]) → validated, platform-neutral [`policy::Policy`] → the platform
//! backend, which translates the policy and runs the command → [`exit`].

pub mod cli;
pub mod config;
pub mod dns;
pub mod doctor;
pub mod env;
pub mod exit;
pub mod explain;
pub mod learn;
pub mod nesting;
pub mod paths;
pub mod policy;
pub mod secrets;
pub mod shell;
pub mod summary;
pub mod support;
pub mod toolchain;
pub mod trust;

#[cfg(any(target_os = "linux", target_os = "macos"))]
pub mod tmpdir;
#[cfg(any(target_os = "linux", target_os = "macos"))]
mod unix_sys;

#[cfg(target_os = "linux")]
pub mod linux;
#[cfg(target_os = "linux")]
pub(crate) use linux as backend;

// The profile translator is pure and compiled (and tested) everywhere, and
// built for the fuzz targets with the `fuzzing` feature; the rest of the
// macOS backend only on macOS.
#[cfg(any(target_os = "macos", test, feature = "fuzzing"))]
pub mod macos;
#[cfg(target_os = "macos")]
pub(crate) use macos as backend;

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
mod unsupported;
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
pub(crate) use unsupported as backend;

use std::ffi::OsString;

use exit::Outcome;

/// Parses `args`, runs the command (or sbx's own action) and returns how
/// sbx should end.
pub fn run<I: IntoIterator<Item = OsString>>(args: I) -> Outcome {
    let cli = match cli::Cli::parse_from_os(args) {
        Ok(cli) => cli,
        Err(outcome) => return outcome,
    };
    cli::init_logging(cli.verbose);
    match dispatch(&cli) {
        Ok(outcome) => outcome,
        Err(err) => {
            eprintln!("sbx: {err:#}");
            Outcome::Code(exit::SBX_FAILED)
        }
    }
}

fn dispatch(cli: &cli::Cli) -> anyhow::Result<Outcome> {
    if cli.doctor {
        return doctor::run();
    }
    let ctx = policy::Surroundings::current()?;
    if let Some(cli::Action::Trust { file }) = &cli.action {
        let mut review = String::new();
        trust::run(file.as_deref(), cli, &ctx, &mut review)?;
        print!("{review}");
        return Ok(Outcome::Code(0));
    }
    if let Some(cli::Action::Learn(args)) = &cli.action {
        return learn::run(args, &ctx);
    }
    let config = config::Config::load(cli, &ctx)?;
    let resolved = config.resolve(cli, &ctx)?;
    let own = config::own_files(&resolved, &ctx);
    if let Some(format) = cli.explain {
        let policy = policy::Policy::build(&resolved.request, &ctx)?;
        let mut explanation = explain::explain(&policy, &resolved, &support::Platform::detect());
        match policy.refuse_writable_own_files(&own, ctx.home().as_deref()) {
            Ok(warnings) => explanation.verdict.warnings.extend(warnings),
            Err(refusal) => {
                explanation.verdict.refusals.push(format!("{refusal:#}"));
                explanation.verdict.runs = false;
            }
        }
        print!("{}", explain::render(&explanation, format));
        return Ok(Outcome::Code(0));
    }
    for warning in &resolved.warnings {
        eprintln!("sbx: warning: {warning}");
    }
    if let Some(refusal) = resolved.refusal {
        return Err(refusal.into());
    }
    let policy = policy::Policy::build(&resolved.request, &ctx)?;
    for warning in policy.refuse_writable_own_files(&own, ctx.home().as_deref())? {
        eprintln!("sbx: warning: {warning}");
    }
    policy.warn_if_unrestricted();
    backend::run(&policy)
}
