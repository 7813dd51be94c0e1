//! The platform-neutral policy: what the command may read, write, reach and
//! see, validated and with canonical paths, each rule tagged with where it came
//! from. Backends only translate it.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::cli::Cli;
use crate::env::EnvPolicy;
use crate::paths;

mod defaults;
pub mod net;

pub use net::NetRule;

/// What a path rule grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    /// Read files, list directories, execute.
    Read,
    /// Everything `Read` grants, plus write, truncate, create, delete, rename
    /// and link — never creating device nodes.
    Write,
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Access::Read => "read",
            Access::Write => "read+write",
        })
    }
}

/// Where a rule came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A built-in default; the text says which one.
    Default(&'static str),
    /// A command-line flag, e.g. `--allow-write`.
    Flag(&'static str),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default(why) => write!(f, "default: {why}"),
            Source::Flag(flag) => write!(f, "{flag}"),
        }
    }
}

/// One filesystem exception: `path` (canonical) and, for a directory,
/// everything beneath it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathRule {
    pub path: PathBuf,
    pub is_dir: bool,
    pub access: Access,
    pub source: Source,
}

/// Which kinds of access are denied by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Deny {
    pub read: bool,
    pub write: bool,
    pub net: bool,
    pub env: bool,
}

impl Deny {
    /// Whether any filesystem restriction is on.
    pub fn fs(&self) -> bool {
        self.read || self.write
    }
}

/// The network part of the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Net {
    /// No network restriction.
    Unrestricted,
    /// No network at all except unix sockets inside the sandbox, socket
    /// pairs and `--allow-unix` sockets.
    Denied,
    /// What `Denied` allows, plus the addresses these IP rules match and,
    /// through DNS filtering, the addresses the name rules' names resolve to.
    Allow(Vec<NetRule>),
}

impl Net {
    /// Whether network access is restricted at all.
    pub fn is_restricted(&self) -> bool {
        !matches!(self, Net::Unrestricted)
    }

    /// The name entries (`example.com[:PORT]`, `*.example.com[:PORT]`), if any.
    pub fn name_rules(&self) -> Vec<&NetRule> {
        match self {
            Net::Allow(rules) => rules.iter().filter(|r| r.is_name()).collect(),
            _ => Vec::new(),
        }
    }
}

/// Unix sockets through which a local service resolves any host name for
/// its client: reaching one would bypass the filter of name entries.
pub const RESOLVER_SOCKETS: &[&str] = &[
    "/run/nscd/socket",
    "/var/run/nscd/socket",
    "/run/systemd/resolve/io.systemd.Resolve",
    "/var/run/systemd/resolve/io.systemd.Resolve",
];

/// A validated, resolved sandbox policy.
#[derive(Debug, Clone)]
pub struct Policy {
    pub deny: Deny,
    /// Filesystem exceptions; only meaningful where `deny.read`/`deny.write` is on.
    pub paths: Vec<PathRule>,
    /// `--allow-write` directories that do not exist yet (absolute paths):
    /// [`Policy::create_missing_dirs`] creates them and adds their rules just
    /// before the sandbox applies, so a run refused earlier changes nothing.
    pub missing_dirs: Vec<PathBuf>,
    pub net: Net,
    /// `--allow-unix` socket paths (canonical; the socket may not exist yet).
    pub unix_allow: Vec<PathBuf>,
    /// `-q`: no report of blocked network attempts.
    pub quiet: bool,
    pub env: EnvPolicy,
    pub best_effort: bool,
    /// COMMAND and its arguments, untouched.
    pub command: Vec<OsString>,
    /// The current directory the command starts in.
    pub cwd: PathBuf,
    /// The child's environment, already filtered.
    pub child_env: Vec<(OsString, OsString)>,
}

/// What policy resolution reads from the outside world: the caller's
/// environment and current directory. Kept apart so it can be faked in tests.
#[derive(Debug, Clone)]
pub struct Surroundings {
    pub vars: Vec<(OsString, OsString)>,
    pub cwd: PathBuf,
}

impl Surroundings {
    /// This process's environment and current directory.
    pub fn current() -> Result<Self> {
        let cwd = std::env::current_dir()
            .context("cannot determine the current directory (was it deleted?); cd to an existing directory")?;
        Ok(Self { vars: std::env::vars_os().collect(), cwd })
    }

    /// The value of `name`, if set.
    pub fn var(&self, name: &str) -> Option<&OsStr> {
        self.vars.iter().find(|(k, _)| k.as_bytes() == name.as_bytes()).map(|(_, v)| v.as_os_str())
    }

    /// The value of `name` as an absolute path, if set to one.
    pub fn var_path(&self, name: &str) -> Option<PathBuf> {
        self.var(name).map(PathBuf::from).filter(|p| p.is_absolute())
    }

    pub fn home(&self) -> Option<PathBuf> {
        paths::home_dir(self.var("HOME").map(OsStr::to_owned))
    }
}

impl Policy {
    /// Builds the policy for `cli` from this process's environment.
    pub fn from_cli(cli: &Cli) -> Result<Self> {
        let policy = Self::resolve(cli, &Surroundings::current()?)?;
        policy.warn_if_unrestricted();
        Ok(policy)
    }

    /// Builds the policy for `cli` in `ctx`; warns (on stderr) about missing
    /// `--allow-read` paths. Changes nothing on disk.
    pub fn resolve(cli: &Cli, ctx: &Surroundings) -> Result<Self> {
        let deny = Deny {
            read: cli.deny_all || cli.deny_read || !cli.allow_read.is_empty(),
            write: cli.deny_all || cli.deny_write || !cli.allow_write.is_empty(),
            net: cli.deny_all || cli.deny_net || !cli.allow_net.is_empty() || !cli.allow_unix.is_empty(),
            env: cli.deny_all || cli.deny_env || !cli.allow_env.is_empty(),
        };
        let net = net_policy(deny.net, &cli.allow_net)?;
        let env = if deny.env { EnvPolicy::filter(&cli.allow_env)? } else { EnvPolicy::Inherit };
        let home = ctx.home();
        let mut rules = Vec::new();
        if deny.read {
            rules.extend(defaults::read(ctx));
        }
        if deny.write {
            rules.extend(defaults::write(ctx));
        }
        for raw in &cli.allow_read {
            let abs = paths::absolute(raw, home.as_deref(), &ctx.cwd);
            match paths::resolve(&abs) {
                Ok(path) => rules.push(rule(path, Access::Read, Source::Flag("--allow-read"))),
                Err(err) => eprintln!(
                    "sbx: warning: --allow-read={}: {}; it grants nothing",
                    paths::show(&abs),
                    paths::explain_unresolvable(&abs, &err),
                ),
            }
        }
        let mut missing_dirs = Vec::new();
        for raw in &cli.allow_write {
            let abs = paths::absolute(raw, home.as_deref(), &ctx.cwd);
            match paths::resolve(&abs) {
                Ok(path) => rules.push(rule(path, Access::Write, Source::Flag("--allow-write"))),
                Err(err) if err.kind() == std::io::ErrorKind::NotFound && !paths::is_symlink(&abs) => {
                    missing_dirs.push(abs);
                }
                Err(err) => bail!("--allow-write={}: {}", paths::show(&abs), paths::explain_unresolvable(&abs, &err)),
            }
        }
        let mut unix_allow = Vec::new();
        for raw in &cli.allow_unix {
            let abs = paths::absolute(raw, home.as_deref(), &ctx.cwd);
            unix_allow.push(unix_socket_path(&abs)?);
        }
        no_resolver_socket(&net, &unix_allow)?;
        let child_env = env.apply(ctx.vars.iter().cloned());
        Ok(Self {
            deny,
            paths: dedup(rules),
            missing_dirs,
            net,
            unix_allow,
            quiet: cli.quiet,
            env,
            best_effort: cli.best_effort,
            command: cli.command.clone(),
            cwd: ctx.cwd.clone(),
            child_env,
        })
    }

    /// Creates the missing `--allow-write` directories (like `mkdir -p`) and
    /// adds their rules.
    pub fn create_missing_dirs(&mut self) -> Result<()> {
        for abs in std::mem::take(&mut self.missing_dirs) {
            std::fs::create_dir_all(&abs).with_context(|| {
                format!(
                    "--allow-write={}: the directory does not exist and creating it failed; \
                     create it yourself or fix the path",
                    paths::show(&abs)
                )
            })?;
            tracing::debug!(path = %paths::show(&abs), "created missing --allow-write directory");
            let path = paths::resolve(&abs).with_context(|| {
                format!("--allow-write={}: cannot resolve the created directory", paths::show(&abs))
            })?;
            self.paths.push(rule(path, Access::Write, Source::Flag("--allow-write")));
        }
        self.paths = dedup(std::mem::take(&mut self.paths));
        Ok(())
    }

    /// Whether the policy restricts anything at all.
    pub fn restricts_anything(&self) -> bool {
        self.deny.fs() || self.net.is_restricted() || self.deny.env
    }

    fn warn_if_unrestricted(&self) {
        if !self.restricts_anything() {
            eprintln!(
                "sbx: warning: no --deny-* or --allow-* flag given: the command runs with only the baseline \
                 (no_new_privs, no signals to or abstract sockets of processes outside the sandbox); \
                 files, network and environment are not restricted"
            );
        }
    }
}

fn net_policy(deny: bool, allow: &[String]) -> Result<Net> {
    if !deny {
        return Ok(Net::Unrestricted);
    }
    let mut rules = Vec::new();
    for entry in allow {
        let rule = NetRule::parse(entry).map_err(|why| anyhow::anyhow!("--allow-net={entry}: {why}"))?;
        rules.push(rule);
    }
    if rules.iter().any(|r| r.host == net::Host::Any) {
        return Ok(Net::Unrestricted);
    }
    if rules.is_empty() { Ok(Net::Denied) } else { Ok(Net::Allow(rules)) }
}

/// Refuses `--allow-unix` for a resolver socket (nscd, systemd-resolved)
/// together with name entries: the service would resolve any name for the
/// command, around the DNS filter.
fn no_resolver_socket(net: &Net, unix_allow: &[PathBuf]) -> Result<()> {
    let Some(name) = net.name_rules().first().copied() else { return Ok(()) };
    if let Some(sock) = unix_allow.iter().find(|p| RESOLVER_SOCKETS.iter().any(|r| Path::new(r) == p.as_path())) {
        bail!(
            "--allow-unix={}: this socket resolves any host name for the command, which would bypass the DNS \
             filter of --allow-net={name}; drop one of the two (or allow addresses instead of names)",
            sock.display()
        );
    }
    Ok(())
}

/// The canonical path of an `--allow-unix` socket. The socket itself may not
/// exist yet (a server started later); its directory must.
fn unix_socket_path(abs: &Path) -> Result<PathBuf> {
    match paths::resolve(abs).map(|r| r.path) {
        Ok(path) => Ok(path),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let (Some(parent), Some(name)) = (abs.parent(), abs.file_name()) else {
                bail!("--allow-unix={}: not a socket path", paths::show(abs));
            };
            let parent = paths::resolve(parent).map(|r| r.path).with_context(|| {
                format!("--allow-unix={}: its directory does not exist; fix the path", paths::show(abs))
            })?;
            Ok(parent.join(name))
        }
        Err(err) => bail!("--allow-unix={}: cannot resolve the path: {err}", paths::show(abs)),
    }
}

/// A rule for a resolved path.
fn rule(resolved: paths::Resolved, access: Access, source: Source) -> PathRule {
    PathRule { path: resolved.path, is_dir: resolved.is_dir, access, source }
}

/// Drops exact duplicates (same path, same or weaker access), keeping the
/// first source that granted the strongest access.
fn dedup(rules: Vec<PathRule>) -> Vec<PathRule> {
    let mut strongest: HashMap<PathBuf, Access> = HashMap::new();
    for r in &rules {
        let entry = strongest.entry(r.path.clone()).or_insert(r.access);
        *entry = (*entry).max(r.access);
    }
    let mut out: Vec<PathRule> = Vec::new();
    for r in rules {
        if strongest.get(&r.path) == Some(&r.access) {
            strongest.remove(&r.path);
            out.push(r);
        }
    }
    out
}

/// Whether `dir` is `/`, or is `home` or one of its ancestors: granting it
/// would grant the whole home directory.
pub(crate) fn covers_home(dir: &Path, home: Option<&Path>) -> bool {
    dir == Path::new("/") || home.is_some_and(|home| home.starts_with(dir))
}

#[cfg(test)]
impl Policy {
    /// A policy built directly, for translator tests.
    pub(crate) fn for_test(deny: Deny, net: Net, paths: Vec<PathRule>) -> Self {
        Self {
            deny,
            paths,
            missing_dirs: Vec::new(),
            net,
            unix_allow: Vec::new(),
            quiet: false,
            env: EnvPolicy::Inherit,
            best_effort: false,
            command: vec![OsString::from("true")],
            cwd: PathBuf::from("/"),
            child_env: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests;
