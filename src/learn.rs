//! `sbx learn`: run a command once, unrestricted, while the platform backend
//! observes what it touches ([`Observations`]); turn that into the smallest
//! `[profile.NAME]` that lets it pass ([`profile`]); optionally run the
//! command again under the learned profile and call the profile verified
//! only if it ends the same way.
//!
//! Guarantees: nothing is enforced while learning (the backend lets every
//! observed call continue as made), so what is learned is what the command
//! did; paths that look like credentials never enter an allow list silently;
//! a profile is marked verified only after a second run under exactly the
//! text written ended with the learning run's exit status.

pub mod profile;

use std::net::SocketAddr;
use std::path::PathBuf;

/// How the command used a file system path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FileUse {
    /// Opened for reading (a file) or for listing (a directory).
    Read,
    /// Executed (execve).
    Exec,
    /// Opened for writing or truncated, or its mode, owner, times or
    /// extended attributes changed.
    Write,
    /// Created, removed, renamed or linked at this path (a file, a socket,
    /// a symlink, a directory removed): the directory `path.parent()` is
    /// what changed.
    Entry,
    /// A directory made at this path (mkdir).
    MadeDir,
}

impl FileUse {
    /// For comments: "read", "executed", "wrote", "created or removed", "made directory".
    pub fn verb(self) -> &'static str {
        match self {
            FileUse::Read => "read",
            FileUse::Exec => "executed",
            FileUse::Write => "wrote",
            FileUse::Entry => "created or removed",
            FileUse::MadeDir => "made directory",
        }
    }
}

/// One observed file system use. `path` is absolute as the command named it
/// (relative names already joined to its cwd or dirfd), not canonicalized:
/// it may not exist any more, or never have existed (a failed probe).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileEvent {
    pub path: PathBuf,
    pub usage: FileUse,
    /// The program that did it (its `comm`, e.g. `cc1`, `make`).
    pub program: String,
}

/// How the command used an IP address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NetUse {
    /// connect(), or a send with a destination.
    Connect,
    /// bind() to an address with a fixed port.
    Bind,
}

/// One observed use of an IP address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NetEvent {
    pub addr: SocketAddr,
    /// The names the command looked up that resolved to this address (from
    /// the DNS answers it got, and /etc/hosts), lower case, no trailing dot.
    pub names: Vec<String>,
    pub usage: NetUse,
    pub program: String,
}

/// One observed use of a pathname unix socket.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UnixEvent {
    /// Absolute, as named (joined to the command's cwd if relative).
    pub path: PathBuf,
    /// The command bound it itself (such sockets need no entry).
    pub bound: bool,
    pub program: String,
}

/// Everything a learning run observed, deduplicated by the backend (one
/// event per path and use, per address and use, per socket).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observations {
    pub files: Vec<FileEvent>,
    pub net: Vec<NetEvent>,
    pub unix: Vec<UnixEvent>,
    /// Names the command looked up through DNS, whether or not it then
    /// connected to one of their addresses.
    pub lookups: Vec<String>,
    /// What could not be observed, for the profile's comments (e.g. calls
    /// made through the 32-bit entry).
    pub gaps: Vec<String>,
    /// Calls the command made that sbx could not observe, counted by what
    /// kept it from them: each makes the learned profile incomplete.
    pub lost: Vec<Lost>,
}

/// A kind of call the command made that sbx can fail to observe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Unobserved {
    /// A call naming a file (its path could not be read).
    File,
    Connect,
    Bind,
    /// A send with a destination.
    Send,
    /// A DNS lookup (a connect to the nameserver that could not go through
    /// sbx's recording proxy): the names of the addresses it returned.
    Lookup,
}

impl Unobserved {
    /// "1 connect", "3 connects".
    pub fn count(self, n: usize) -> String {
        let (one, many) = match self {
            Unobserved::File => ("file access", "file accesses"),
            Unobserved::Connect => ("connect", "connects"),
            Unobserved::Bind => ("bind", "binds"),
            Unobserved::Send => ("send", "sends"),
            Unobserved::Lookup => ("DNS lookup", "DNS lookups"),
        };
        format!("{n} {}", if n == 1 { one } else { many })
    }
}

/// Calls that could not be observed for one reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lost {
    /// Why (e.g. "the enclosing seccomp filter refuses pidfd_getfd (EPERM)").
    pub cause: String,
    /// What to do so that they can be.
    pub fix: String,
    /// How many of each kind, in [`Unobserved`]'s order.
    pub counts: Vec<(Unobserved, usize)>,
}

impl Lost {
    /// "3 connects and 1 send could not be observed: CAUSE".
    pub fn describe(&self) -> String {
        let parts: Vec<String> = self.counts.iter().map(|&(kind, n)| kind.count(n)).collect();
        let list = match parts.split_last() {
            Some((last, [])) => last.clone(),
            Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
            None => String::new(),
        };
        format!("{list} could not be observed: {}", self.cause)
    }
}

use std::ffi::{OsStr, OsString};
use std::io::Write as _;
use std::os::unix::ffi::OsStrExt as _;
use std::path::Path;
use std::process::Command;

use anyhow::{Context as _, Result, bail};

use crate::cli::LearnArgs;
use crate::config::{Config, ConfigFile, Layer};
use crate::exit::Outcome;
use crate::policy::{Access, Kind, Policy, Request, Source, Surroundings};

/// SIGHUP, SIGINT, SIGQUIT, SIGTERM (the same numbers on Linux and macOS):
/// a command that died of one was stopped, not finished.
const INTERRUPTS: [i32; 4] = [1, 2, 3, 15];

/// The profile name when `-p` is not given and COMMAND's file name is not
/// one (e.g. `python3.12`).
const FALLBACK_NAME: &str = "learned";

/// `sbx learn`: learn, render, write, and with `--verify` run again.
pub fn run(args: &LearnArgs, ctx: &Surroundings) -> Result<Outcome> {
    let name = match &args.profile {
        Some(name) => name.clone(),
        None => default_name(&args.command),
    };
    let output = args.output.as_ref().map(|o| crate::paths::absolute(o, ctx.home().as_deref(), &ctx.cwd));
    // What FILE holds already: checked before anything runs, so a broken
    // file or a name taken is refused without running the command.
    let (existing, existing_file) = match &output {
        Some(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.is_dir()) {
                bail!(
                    "cannot write the profile to {}: {} is not a directory; create it first",
                    path.display(),
                    dir.display()
                );
            }
            existing_config(path, &name)?
        }
        None => (String::new(), None),
    };
    // The starting profile, found where the verifying run will look: FILE,
    // the user's config.toml, the built-ins.
    let base = match &args.extends {
        Some(base) => Some(starting_profile(base, existing_file, &args.command, ctx)?),
        None => None,
    };
    let mut request = Request::default();
    request.command = args.command.clone();
    request.quiet = true;
    let policy = Policy::build(&request, ctx)?;
    let shown = show_command(&args.command);
    if !args.quiet {
        eprintln!("sbx learn: running `{shown}` unrestricted and observing what it touches");
    }
    let (outcome, observations) = crate::backend::observe(&policy)?;
    tracing::debug!(
        files = observations.files.len(),
        net = observations.net.len(),
        unix = observations.unix.len(),
        lookups = observations.lookups.len(),
        "sbx learn: observed"
    );
    tracing::trace!("{observations:#?}");
    // Interrupted (Ctrl-C, a kill): the run is not one to learn from, and
    // the caller meant to stop — no profile, no second run.
    if let Outcome::Signal(signal) = outcome {
        if INTERRUPTS.contains(&signal) {
            eprintln!("sbx learn: `{shown}` was interrupted (signal {signal}); no profile written");
            return Ok(outcome);
        }
    }
    if observations == Observations::default() {
        // Never started (126/127 already reported).
        if let Outcome::Code(code @ (crate::exit::NOT_EXECUTABLE | crate::exit::NOT_FOUND)) = outcome {
            return Ok(Outcome::Code(code));
        }
    }
    if !args.quiet && outcome != Outcome::Code(0) {
        eprintln!(
            "sbx learn: warning: `{shown}` {} while learning; the profile covers what that run did",
            describe(outcome)
        );
    }
    // What could not be observed is said even with -q: the profile lacks it.
    for lost in &observations.lost {
        eprintln!("sbx: warning: {}; the learned profile is incomplete — {}", lost.describe(), lost.fix);
    }
    let relative_to =
        output.as_deref().and_then(Path::parent).and_then(|d| crate::paths::resolve(d).ok()).map(|r| r.path);
    let mut context = context(ctx, relative_to)?;
    if let Some(base) = &base {
        // What the starting profile allows needs no entry of its own.
        context.default_read.extend(base.paths.iter().map(|r| r.path.clone()));
        context.default_write.extend(base.paths.iter().filter(|r| r.access == Access::Write).map(|r| r.path.clone()));
        context.env.retain(|name| !(base.deny.env && base.env.keeps(OsStr::new(name))));
    }
    let mut learned = profile::learn(&observations, &context, &profile::RealFs);
    learned.extends.extend(args.extends.iter().cloned());
    let mut header = vec![
        format!("Learned by `sbx learn` from `{shown}`, which {} while learning.", describe(outcome)),
        "Review it before you use it: every entry says what needed it.".to_owned(),
    ];
    for lost in &observations.lost {
        header.push(format!("INCOMPLETE: {}; what they needed is missing here — {}.", lost.describe(), lost.fix));
    }
    let incomplete = match observations.lost.as_slice() {
        [] => String::new(),
        lost => {
            format!("; the profile is incomplete ({})", lost.iter().map(Lost::describe).collect::<Vec<_>>().join("; "))
        }
    };
    let text_for = |header: &[String]| {
        let section = profile::render(&name, &learned, header);
        if existing.is_empty() { section } else { format!("{existing}\n{section}") }
    };
    // The file the profile is checked (and verified) in: FILE itself, or
    // for printing a private temporary file (the printed profile's paths
    // are absolute, so where it lies changes nothing).
    let scratch = match &output {
        Some(_) => None,
        None => Some(Scratch::new()?),
    };
    let file = match (&output, &scratch) {
        (Some(path), _) => path.clone(),
        (None, Some(scratch)) => scratch.file.clone(),
        (None, None) => bail!("no file to write the profile to"),
    };
    write_file(&file, &text_for(&header))?;
    if let Err(err) = check_loads(&file, &name, &args.command, ctx) {
        // Leave FILE as it was: a profile sbx would refuse is never handed out.
        let _ = if existing.is_empty() { std::fs::remove_file(&file) } else { std::fs::write(&file, &existing) };
        return Err(err);
    }
    let mut status = Outcome::Code(0);
    if args.verify {
        if !args.quiet {
            eprintln!("sbx learn: verifying: running `{shown}` again under the learned profile {name}");
        }
        let again = verify(&file, &name, &args.command)?;
        if again == outcome {
            header
                .push(format!("Verified: under this profile `{shown}` {} again, as while learning.", describe(again)));
            if !args.quiet {
                eprintln!(
                    "sbx learn: verified: `{shown}` {} under profile {name}, as while learning{incomplete}",
                    describe(again)
                );
            }
        } else {
            header.push(format!(
                "NOT verified: under this profile `{shown}` {} (while learning it {}).",
                describe(again),
                describe(outcome)
            ));
            eprintln!(
                "sbx learn: NOT verified: under profile {name} `{shown}` {} (while learning it {}){incomplete}; see \
                 what sbx reported above, and add what is missing by hand",
                describe(again),
                describe(outcome)
            );
            status = Outcome::Code(1);
        }
    }
    let text = text_for(&header);
    match &output {
        Some(path) => {
            write_file(path, &text)?;
            if !args.quiet {
                let trust = if path.file_name() == Some(OsStr::new(crate::config::PROJECT_FILE)) {
                    " (`sbx trust` it to use it as the project's)"
                } else {
                    ""
                };
                // The command on a line of its own, exactly as a shell reads
                // it (it may hold bytes that are not UTF-8, or newlines).
                let mut message =
                    format!("sbx learn: wrote profile {name} to {}{trust}; run it with:\n  ", path.display())
                        .into_bytes();
                message.extend_from_slice(rerun_line(path, &name, &args.command).as_bytes());
                message.push(b'\n');
                std::io::stderr().write_all(&message).context("writing to stderr")?;
            }
        }
        // Never stdout: that is the command's (`sbx learn -- cmd > out`).
        None => eprint!("{}", profile::render(&name, &learned, &header)),
    }
    Ok(status)
}

/// COMMAND's file name if it is a valid profile name, else [`FALLBACK_NAME`].
fn default_name(command: &[OsString]) -> String {
    command
        .first()
        .and_then(|c| Path::new(c).file_name())
        .and_then(OsStr::to_str)
        .filter(|n| crate::config::check_profile_name(n).is_ok())
        .map_or_else(|| FALLBACK_NAME.to_owned(), str::to_owned)
}

/// COMMAND for messages and the profile's header: one line, each argument
/// quoted for a shell where it needs to be (see [`crate::shell::one_line`]).
fn show_command(command: &[OsString]) -> String {
    crate::shell::one_line(command.iter().map(OsString::as_os_str))
}

/// The command line that runs COMMAND under profile `name` of `file`,
/// exactly (see [`crate::shell::line`]): pasted into a shell, every part of
/// COMMAND runs inside the sandbox.
fn rerun_line(file: &Path, name: &str, command: &[OsString]) -> OsString {
    let sbx = [OsStr::new("sbx"), OsStr::new("--config"), file.as_os_str(), OsStr::new("-p"), OsStr::new(name)];
    let words = sbx.into_iter().chain([OsStr::new("--")]).chain(command.iter().map(OsString::as_os_str));
    crate::shell::line(words)
}

/// "exited with status N" or "was killed by signal N".
fn describe(outcome: Outcome) -> String {
    match outcome {
        Outcome::Code(code) => format!("exited with status {code}"),
        Outcome::Signal(signal) => format!("was killed by signal {signal}"),
    }
}

/// The text of `path` and its configuration, if it exists (it must be a
/// configuration sbx reads and must not have profile `name` yet); empty
/// text and none if it does not exist.
fn existing_config(path: &Path, name: &str) -> Result<(String, Option<ConfigFile>)> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok((String::new(), None)),
        Err(err) => return Err(err).with_context(|| format!("reading {}", path.display())),
    };
    let file = ConfigFile::parse(Layer::Named, Some(path.to_owned()), &text)
        .with_context(|| format!("{} exists and is not a configuration sbx can add a profile to", path.display()))?;
    if file.profiles().any(|p| p.name() == name) {
        bail!(
            "{} already has a profile {name}; choose another name with -p NAME, or remove it from the file",
            path.display()
        );
    }
    Ok((text, Some(file)))
}

/// The policy of profile `base` as `sbx --config FILE -p NAME` will load
/// it: from FILE (`existing`, as read before the run), the user's
/// config.toml or the built-ins. An unknown or broken profile is refused
/// before anything runs.
fn starting_profile(
    base: &str,
    existing: Option<ConfigFile>,
    command: &[OsString],
    ctx: &Surroundings,
) -> Result<Policy> {
    let mut files: Vec<ConfigFile> = existing.into_iter().collect();
    if let Some(user) = crate::config::user_config_path(ctx).filter(|p| p.exists()) {
        files.push(ConfigFile::read(Layer::User, &user)?);
    }
    let config = Config::from_files(files)?;
    let mut request = config.flatten(base, ctx).with_context(|| format!("--extends {base}"))?.request;
    request.command = command.to_vec();
    Policy::build(&request, ctx).with_context(|| format!("--extends {base}"))
}

/// What the profile builder needs: the defaults of `deny = ["read",
/// "write"]`, the environment's names, where relative paths start.
fn context(ctx: &Surroundings, relative_to: Option<std::path::PathBuf>) -> Result<profile::Context> {
    let mut request = Request::default();
    request.deny(Kind::Read, Source::Default("sbx learn"));
    request.deny(Kind::Write, Source::Default("sbx learn"));
    let defaults = Policy::build(&request, ctx)?;
    let of = |access: Option<Access>| -> Vec<std::path::PathBuf> {
        defaults.paths.iter().filter(|r| access.is_none_or(|a| r.access == a)).map(|r| r.path.clone()).collect()
    };
    let mut env: Vec<String> = ctx.vars.iter().filter_map(|(k, _)| k.to_str().map(str::to_owned)).collect();
    env.sort();
    env.dedup();
    let canonical = |p: &Path| crate::paths::resolve(p).map(|r| r.path).unwrap_or_else(|_| p.to_owned());
    let home = ctx.home().map(|h| canonical(&h));
    let cache_dirs = profile::cache_dirs(home.as_deref(), |name| ctx.var(name).map(OsStr::to_owned));
    Ok(profile::Context {
        cwd: canonical(&ctx.cwd),
        home,
        cache_dirs: cache_dirs.iter().map(|d| canonical(d)).collect(),
        default_read: of(None),
        default_write: of(Some(Access::Write)),
        env,
        ssh_auth_sock: ctx.var_path("SSH_AUTH_SOCK"),
        relative_to,
    })
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing the profile to {}", path.display()))
}

/// Loads profile `name` from `file` the way `sbx --config FILE -p NAME`
/// will, so a profile sbx would refuse is never handed out.
fn check_loads(file: &Path, name: &str, command: &[OsString], ctx: &Surroundings) -> Result<()> {
    let loaded = ConfigFile::read(Layer::Named, file)?;
    let config = Config::from_files(vec![ConfigFile::builtin()?, loaded])?;
    let mut request = config.flatten(name, ctx)?.request;
    request.command = command.to_vec();
    Policy::build(&request, ctx).map(drop).context("the learned profile does not load (a bug in sbx learn)")
}

/// Runs `sbx --config FILE -p NAME -- COMMAND` and returns how it ended.
fn verify(file: &Path, name: &str, command: &[OsString]) -> Result<Outcome> {
    let sbx = std::env::current_exe().context("finding sbx's own executable to verify with")?;
    let status = Command::new(&sbx)
        .arg("--config")
        .arg(file)
        .arg("-p")
        .arg(name)
        .arg("--")
        .args(command)
        .status()
        .with_context(|| format!("running {} to verify the profile", sbx.display()))?;
    Ok(Outcome::of(status))
}

/// A private temporary directory holding the profile while it is checked
/// and verified; removed when dropped.
struct Scratch {
    dir: std::path::PathBuf,
    file: std::path::PathBuf,
}

impl Scratch {
    fn new() -> Result<Self> {
        use std::os::unix::fs::DirBuilderExt;
        let base = std::env::temp_dir();
        let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let dir = base.join(format!("sbx-learn-{}-{stamp}", std::process::id()));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .with_context(|| format!("creating a temporary directory in {}", base.display()))?;
        let file = dir.join("profile.toml");
        Ok(Self { dir, file })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_could_not_be_observed_is_counted_in_words() {
        let lost =
            |counts: Vec<(Unobserved, usize)>| Lost { cause: "CAUSE".into(), fix: "FIX".into(), counts }.describe();
        assert_eq!(lost(vec![(Unobserved::Connect, 1)]), "1 connect could not be observed: CAUSE");
        assert_eq!(
            lost(vec![(Unobserved::Connect, 3), (Unobserved::Send, 1)]),
            "3 connects and 1 send could not be observed: CAUSE"
        );
        assert_eq!(
            lost(vec![(Unobserved::File, 2), (Unobserved::Bind, 1), (Unobserved::Lookup, 4)]),
            "2 file accesses, 1 bind and 4 DNS lookups could not be observed: CAUSE"
        );
    }
}
