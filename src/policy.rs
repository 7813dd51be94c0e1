//! The platform-neutral policy: what the command may read, write, reach and
//! see, validated and with canonical paths, each rule tagged with where it came
//! from. Backends only translate it.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::cli::Cli;
use crate::env::EnvPolicy;
use crate::paths;

pub(crate) mod defaults;
pub(crate) mod hide;
pub mod net;
pub mod protect;
mod request;

pub use hide::{Hidden, HideNote, HideOutcome};
pub use net::NetRule;
pub use request::{DenyReason, Kind, Request, Sourced};

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
    /// A key of a profile, built in or from a configuration file.
    Profile(Box<ProfileKey>),
}

/// A key of a profile: which profile, which key, and where it was set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileKey {
    pub profile: String,
    /// The key as written in the file, e.g. `allow_write`.
    pub key: &'static str,
    /// The file and line (1-based) that set it; `None` for a built-in profile.
    pub at: Option<(PathBuf, usize)>,
    /// Where the key found the value outside sbx's configuration: the
    /// tool's file or variable an `allow_registries` host came from
    /// (`~/.npmrc: registry`).
    pub from: Option<String>,
}

impl Source {
    /// A profile key as a source.
    pub fn profile(profile: &str, key: &'static str, at: Option<(PathBuf, usize)>) -> Self {
        Source::Profile(Box::new(ProfileKey { profile: profile.to_owned(), key, at, from: None }))
    }

    /// A profile key's value found `from` somewhere else (a tool's
    /// configuration) as a source.
    pub fn found(profile: &str, key: &'static str, at: Option<(PathBuf, usize)>, from: String) -> Self {
        Source::Profile(Box::new(ProfileKey { profile: profile.to_owned(), key, at, from: Some(from) }))
    }

    /// One entry of this source, named for a message: `--allow-write=/x`, or
    /// `allow_write entry "/x" of profile NAME (FILE:LINE)`.
    pub fn entry(&self, value: &str) -> String {
        match self {
            Source::Default(why) => format!("{value} ({why})"),
            Source::Flag(flag) => format!("{flag}={value}"),
            Source::Profile(key) => match &key.from {
                Some(from) => format!("{value} ({from}, by {} of {})", key.key, key.profile_at()),
                None => format!("{} entry {value:?} of {}", key.key, key.profile_at()),
            },
        }
    }
}

impl ProfileKey {
    /// `profile NAME (FILE:LINE)` or `built-in profile NAME`.
    pub fn profile_at(&self) -> String {
        match &self.at {
            Some((file, line)) => format!("profile {} ({}:{line})", self.profile, file.display()),
            None => format!("built-in profile {}", self.profile),
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default(why) => write!(f, "default: {why}"),
            Source::Flag(flag) => write!(f, "{flag}"),
            Source::Profile(key) => {
                match &key.at {
                    Some((file, line)) => write!(f, "profile {}: {}, {}:{line}", key.profile, key.key, file.display())?,
                    None => write!(f, "profile {}: {} (built in)", key.profile, key.key)?,
                }
                match &key.from {
                    Some(from) => write!(f, ", found in {from}"),
                    None => Ok(()),
                }
            }
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

impl Policy {
    /// The trees where metadata writes (chmod, chown, utimes, xattrs) are
    /// allowed under --deny-write: the `Access::Write` rules, except the
    /// built-in defaults under /dev (/dev/null, /dev/pts, /dev/shm, …):
    /// writing to those is harmless, changing their mode or owner is not.
    pub fn writable_paths(&self) -> Vec<PathBuf> {
        self.paths
            .iter()
            .filter(|r| r.access == Access::Write)
            .filter(|r| !(matches!(r.source, Source::Default(_)) && r.path.starts_with("/dev")))
            .map(|r| r.path.clone())
            .collect()
    }
}

impl Policy {
    /// Every tree a write rule grants, the /dev defaults included: where
    /// the command may truncate (as Landlock's TRUNCATE right is granted).
    pub fn write_rule_paths(&self) -> Vec<PathBuf> {
        self.paths.iter().filter(|r| r.access == Access::Write).map(|r| r.path.clone()).collect()
    }

    /// The access the kernel's rule for `rule` grants the command itself:
    /// a write rule's tree that holds a protected path is only read — sbx
    /// performs the command's writes there.
    pub fn own_access(&self, rule: &PathRule, supervised: &[PathBuf]) -> Access {
        if rule.access == Access::Write && supervised.contains(&rule.path) { Access::Read } else { rule.access }
    }

    /// The trees sbx performs the command's writes in (see [`protect`]).
    pub fn supervised_trees(&self) -> Vec<PathBuf> {
        self.protection.supervised_trees(&self.paths)
    }
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
    // macOS's resolver (mDNSResponder), canonical and as usually written.
    "/private/var/run/mDNSResponder",
    "/var/run/mDNSResponder",
];

/// A validated, resolved sandbox policy.
#[derive(Debug, Clone)]
pub struct Policy {
    pub deny: Deny,
    /// Filesystem exceptions; only meaningful where `deny.read`/`deny.write` is on.
    pub paths: Vec<PathRule>,
    /// Paths the command may not read although a rule in `paths` (or,
    /// without `deny.read`, the unrestricted reading of everything) covers
    /// them: canonical, none inside a writable rule unless `--best-effort`
    /// named it, none equal to a rule's path (that rule lifts it).
    pub hidden: Vec<Hidden>,
    /// `--allow-write` directories that do not exist yet (absolute paths):
    /// [`Policy::create_missing_dirs`] creates them and adds their rules just
    /// before the sandbox applies, so a run refused earlier changes nothing.
    pub missing_dirs: Vec<Sourced<PathBuf>>,
    /// Paths kept read-only inside the writable paths.
    pub protection: protect::Protection,
    pub net: Net,
    /// `--allow-unix` socket paths (canonical; the socket may not exist yet).
    pub unix_allow: Vec<PathBuf>,
    /// `-q`: no report of blocked network attempts.
    pub quiet: bool,
    /// `--close-fds`: every fd above stderr is closed at exec.
    pub close_fds: bool,
    pub env: EnvPolicy,
    pub best_effort: bool,
    /// COMMAND and its arguments, untouched.
    pub command: Vec<OsString>,
    /// The current directory the command starts in.
    pub cwd: PathBuf,
    /// The child's environment, already filtered.
    pub child_env: Vec<(OsString, OsString)>,
    /// The temporary directory the command may write under `--deny-write`.
    pub temp: Temp,
    /// Where each restriction and exception came from (for `--explain`).
    pub origins: Origins,
}

/// The temporary directory the command may write under `--deny-write`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Temp {
    /// `/tmp` and `$TMPDIR`, shared with every other process (the default).
    #[default]
    Shared,
    /// A directory of this run's own instead (`--private-tmp`).
    Private(PrivateTemp),
}

/// A private temporary directory: made by [`Policy::create_private_tmp`]
/// just before the sandbox applies, removed when the run ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivateTemp {
    /// Who asked for it.
    pub source: Source,
    /// Who asked to keep it at exit, if anyone.
    pub keep: Option<Source>,
    /// Where it is made: `$TMPDIR`, else `/tmp` (canonical).
    pub parent: PathBuf,
}

/// The variables that name the temporary directory, all pointed at the
/// private one.
pub const TEMP_VARS: &[&str] = &["TMPDIR", "TMP", "TEMP", "TEMPDIR"];

/// Where the parts of a policy that carry no source of their own came
/// from: the denies, the network, unix socket and environment entries.
#[derive(Debug, Clone, Default)]
pub struct Origins {
    denied: [Option<DenyReason>; 4],
    /// Every `--allow-net` entry as given.
    pub net: Vec<Sourced<String>>,
    /// Every `--allow-unix` socket, canonical.
    pub unix: Vec<Sourced<PathBuf>>,
    /// Every `--allow-env` pattern.
    pub env: Vec<Sourced<String>>,
    pub best_effort: Option<Source>,
    /// Who asked for `--close-fds`, if anyone.
    pub close_fds: Option<Source>,
    /// What became of every hide asked for, explicitly or by the secrets
    /// set (absent entries of the set left out).
    pub hide: Vec<HideNote>,
}

impl Origins {
    /// Why `kind` is denied (`None`: it is not).
    pub fn denied(&self, kind: Kind) -> Option<&DenyReason> {
        self.denied[kind as usize].as_ref()
    }
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
    /// Builds the policy for the command line `cli` alone (no profile) in
    /// `ctx`; see [`Policy::build`].
    pub fn resolve(cli: &Cli, ctx: &Surroundings) -> Result<Self> {
        Self::build(&Request::from_cli(cli, ctx), ctx)
    }

    /// Validates `request` and resolves its paths in `ctx`; warns (on
    /// stderr) about missing `--allow-read` paths. Changes nothing on disk.
    pub fn build(request: &Request, ctx: &Surroundings) -> Result<Self> {
        let reasons = Kind::ALL.map(|kind| request.denied(kind));
        let deny = Deny {
            read: reasons[Kind::Read as usize].is_some(),
            write: reasons[Kind::Write as usize].is_some(),
            net: reasons[Kind::Net as usize].is_some(),
            env: reasons[Kind::Env as usize].is_some(),
        };
        for entry in &request.allow_net {
            NetRule::parse(&entry.value)
                .map_err(|why| anyhow::anyhow!("{}: {why}", entry.source.entry(&entry.value)))?;
        }
        let net_entries: Vec<String> = request.allow_net.iter().map(|e| e.value.clone()).collect();
        let net = net_policy(deny.net, &net_entries).with_context(|| {
            // Name the profile an entry came from; a flag names itself.
            match request.allow_net.iter().find(|e| matches!(e.source, Source::Profile(_))) {
                Some(Sourced { source: Source::Profile(key), .. }) => {
                    format!("allow_net of {}", key.profile_at())
                }
                _ => "the network exceptions".to_owned(),
            }
        })?;
        let env_patterns: Vec<String> = request.allow_env.iter().map(|e| e.value.clone()).collect();
        let env = if deny.env { EnvPolicy::filter(&env_patterns)? } else { EnvPolicy::Inherit };
        let temp = temp_policy(request, deny, ctx)?;
        let shared_temp = temp == Temp::Shared;
        let mut rules = Vec::new();
        if deny.read {
            rules.extend(defaults::read(ctx, shared_temp));
        }
        if deny.write {
            rules.extend(defaults::write(ctx, shared_temp));
        }
        for entry in &request.allow_read {
            match paths::resolve(&entry.value) {
                Ok(path) => rules.push(rule(path, Access::Read, entry.source.clone())),
                Err(err) => eprintln!(
                    "sbx: warning: {}: {}; it grants nothing",
                    entry.source.entry(&paths::show(&entry.value)),
                    paths::explain_unresolvable(&entry.value, &err),
                ),
            }
        }
        let mut missing_dirs = Vec::new();
        for entry in &request.allow_write {
            let abs = &entry.value;
            match paths::resolve(abs) {
                Ok(path) => rules.push(rule(path, Access::Write, entry.source.clone())),
                Err(err) if err.kind() == std::io::ErrorKind::NotFound && !paths::is_symlink(abs) => {
                    if let Err(top) = may_create(abs, ctx) {
                        bail!(
                            "{}: the directory does not exist, nor does {}; outside the home and current \
                             directories sbx creates a missing directory only in a parent that exists, so that a \
                             typo creates nothing: fix the path, or create it first with mkdir -p {}",
                            entry.source.entry(&paths::show(abs)),
                            paths::show(&top),
                            paths::show(abs)
                        );
                    }
                    missing_dirs.push(entry.clone());
                }
                Err(err) => {
                    bail!("{}: {}", entry.source.entry(&paths::show(abs)), paths::explain_unresolvable(abs, &err))
                }
            }
        }
        let mut unix = Vec::new();
        for entry in &request.allow_unix {
            unix.push(Sourced::new(unix_socket_path(&entry.value, &entry.source)?, entry.source.clone()));
        }
        let unix_allow: Vec<PathBuf> = unix.iter().map(|e| e.value.clone()).collect();
        no_resolver_socket(&net, &unix_allow)?;
        let rules = dedup(rules);
        let (hidden, hide_notes) = hide::decide(request, ctx, deny, &rules)?;
        let child_env = env.apply(ctx.vars.iter().cloned());
        let rules = dedup(rules);
        let protection = protect::resolve(request, &rules, deny.write, ctx)?;
        Ok(Self {
            deny,
            paths: rules,
            hidden,
            missing_dirs,
            protection,
            net,
            unix_allow,
            quiet: request.quiet,
            close_fds: request.close_fds.is_some(),
            env,
            best_effort: request.best_effort.is_some(),
            command: request.command.clone(),
            cwd: ctx.cwd.clone(),
            child_env,
            temp,
            origins: Origins {
                denied: reasons,
                net: request.allow_net.clone(),
                unix,
                env: request.allow_env.clone(),
                best_effort: request.best_effort.clone(),
                close_fds: request.close_fds.clone(),
                hide: hide_notes,
            },
        })
    }

    /// Creates the missing `--allow-write` directories ([`Policy::build`]
    /// refused those [`may_create`] does not allow), says on stderr what it
    /// created unless quiet, and adds their rules.
    pub fn create_missing_dirs(&mut self) -> Result<()> {
        for Sourced { value: abs, source } in std::mem::take(&mut self.missing_dirs) {
            let missing = missing_chain(&abs);
            std::fs::create_dir_all(&abs).with_context(|| {
                format!(
                    "{}: the directory does not exist and creating it failed; create it yourself or fix the path",
                    source.entry(&paths::show(&abs))
                )
            })?;
            let entry = source.entry(&paths::show(&abs));
            match missing.as_slice() {
                _ if self.quiet => {}
                [] => {}
                [one] => eprintln!("sbx: created the missing directory {} ({entry})", paths::show(one)),
                [top, ..] => {
                    eprintln!(
                        "sbx: created the missing directories {} to {} ({entry})",
                        paths::show(top),
                        paths::show(&abs)
                    )
                }
            }
            tracing::debug!(path = %paths::show(&abs), "created missing --allow-write directory");
            let path = paths::resolve(&abs).with_context(|| {
                format!("{}: cannot resolve the created directory", source.entry(&paths::show(&abs)))
            })?;
            self.paths.push(rule(path, Access::Write, source));
        }
        self.paths = dedup(std::mem::take(&mut self.paths));
        Ok(())
    }

    /// Makes the private temporary directory, if the policy has one (see
    /// [`Temp::Private`]): a fresh `sbx-XXXXXX` (mode 0700) in its parent,
    /// writable, and named by [`TEMP_VARS`] in the child's environment.
    /// Called just before the sandbox applies, after everything that can
    /// refuse the run; the returned guard removes it when dropped (unless
    /// kept), so hold it until the command has ended.
    #[cfg(any(target_os = "linux", target_os = "macos"))]
    pub fn create_private_tmp(&mut self) -> Result<Option<crate::tmpdir::PrivateDir>> {
        let Temp::Private(private) = &self.temp else { return Ok(None) };
        let keep = private.keep.as_ref().map(ToString::to_string);
        let dir = crate::tmpdir::PrivateDir::create(&private.parent, keep).with_context(|| {
            format!(
                "{}: creating a private temporary directory in {} failed; make it writable, or point TMPDIR at a \
                 writable directory",
                private.source,
                paths::show(&private.parent)
            )
        })?;
        tracing::debug!(path = %paths::show(dir.path()), "created the private temporary directory");
        let path = dir.path().to_path_buf();
        self.paths.push(PathRule {
            path: path.clone(),
            is_dir: true,
            access: Access::Write,
            source: private.source.clone(),
        });
        self.paths = dedup(std::mem::take(&mut self.paths));
        self.child_env.retain(|(name, _)| !TEMP_VARS.iter().any(|v| v.as_bytes() == name.as_bytes()));
        self.child_env.extend(TEMP_VARS.iter().map(|v| (OsString::from(v), path.clone().into_os_string())));
        Ok(Some(dir))
    }

    /// Whether the policy restricts anything at all.
    pub fn restricts_anything(&self) -> bool {
        self.deny.fs() || !self.hidden.is_empty() || self.net.is_restricted() || self.deny.env || self.close_fds
    }

    /// Warns on stderr when the policy restricts nothing beyond the baseline.
    pub fn warn_if_unrestricted(&self) {
        if !self.restricts_anything() {
            eprintln!(
                "sbx: warning: no --deny-* or --allow-* flag or profile restricts anything: the command runs with \
                 only the baseline ({BASELINE}); files, network and environment are not restricted"
            );
        }
    }
}

/// What every run restricts, on this platform.
#[cfg(target_os = "macos")]
const BASELINE: &str = crate::macos::enforcement::BASELINE;
#[cfg(not(target_os = "macos"))]
const BASELINE: &str = "no_new_privs, no signals to or abstract sockets of processes outside the sandbox, no \
                        terminal injection, namespaces, mounts or kernel code";

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

/// The temporary directory `request` asks for. A private one only means
/// something under a write restriction (without one, `/tmp` stays writable
/// like everything else): asked for without, the run is refused rather
/// than given a name for a separation it does not have.
fn temp_policy(request: &Request, deny: Deny, ctx: &Surroundings) -> Result<Temp> {
    let Some(source) = request.private_tmp.clone() else {
        if let Some(keep) = &request.keep_tmp {
            eprintln!("sbx: warning: {keep} changes nothing without --private-tmp (or private_tmp = true)");
        }
        return Ok(Temp::Shared);
    };
    if !deny.write {
        bail!(
            "{source}: a private temporary directory replaces the writable /tmp and $TMPDIR of --deny-write, but \
             nothing restricts writes here, so the command could still write /tmp (and everywhere else); add \
             --deny-write (and --allow-write=. for the project), or drop {source}"
        );
    }
    // $TMPDIR (unless it is not a temporary directory), else /tmp.
    let parent = defaults::temp_dirs(ctx)
        .iter()
        .rev()
        .find_map(|dir| paths::resolve(dir).ok().filter(|r| r.is_dir).map(|r| r.path))
        .with_context(|| format!("{source}: neither $TMPDIR nor /tmp is a directory; set TMPDIR to one"))?;
    Ok(Temp::Private(PrivateTemp { source, keep: request.keep_tmp.clone(), parent }))
}

/// The missing directories of `abs`, from the highest down to `abs`.
fn missing_chain(abs: &Path) -> Vec<PathBuf> {
    let mut chain: Vec<PathBuf> =
        abs.ancestors().take_while(|a| std::fs::symlink_metadata(a).is_err()).map(Path::to_path_buf).collect();
    chain.reverse();
    chain
}

/// Whether sbx may create the missing directory `abs`: where its parent
/// exists, or — a chain of missing directories — below the home directory
/// or the current directory (not `/`; compared canonical, and with no `..`
/// in the part to create), where a tool's cache path is often missing on a
/// fresh machine. Elsewhere a chain is more likely a typo than a tree to
/// create as root: `Err` holds its highest missing directory.
fn may_create(abs: &Path, ctx: &Surroundings) -> std::result::Result<(), PathBuf> {
    let chain = missing_chain(abs);
    let Some(top) = chain.first().filter(|_| chain.len() > 1) else { return Ok(()) };
    let base = top.parent().unwrap_or(Path::new("/"));
    let plain = abs.strip_prefix(base).is_ok_and(|rest| rest.components().all(|c| matches!(c, Component::Normal(_))));
    let canonical = |p: &Path| std::fs::canonicalize(p).ok();
    let below_a_root = canonical(base).filter(|b| b != Path::new("/")).is_some_and(|b| {
        [ctx.home(), Some(ctx.cwd.clone())].iter().flatten().filter_map(|r| canonical(r)).any(|r| b.starts_with(r))
    });
    if plain && below_a_root { Ok(()) } else { Err(top.clone()) }
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
fn unix_socket_path(abs: &Path, source: &Source) -> Result<PathBuf> {
    let entry = || source.entry(&paths::show(abs));
    match paths::resolve(abs).map(|r| r.path) {
        Ok(path) => Ok(path),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let (Some(parent), Some(name)) = (abs.parent(), abs.file_name()) else {
                bail!("{}: not a socket path", entry());
            };
            let parent = paths::resolve(parent)
                .map(|r| r.path)
                .with_context(|| format!("{}: its directory does not exist; fix the path", entry()))?;
            Ok(parent.join(name))
        }
        Err(err) => bail!("{}: cannot resolve the path: {err}", entry()),
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

/// sbx's own files, which no write rule may reach: the configuration files
/// a run read, the user configuration directory and the record of trusted
/// files. A command that could rewrite them would choose the sandbox of the
/// next run.
#[derive(Debug, Clone, Default)]
pub struct OwnFiles {
    /// (canonical path, what it is, whether a rule reaching it is refused
    /// rather than warned about).
    pub paths: Vec<(PathBuf, &'static str, bool)>,
}

impl OwnFiles {
    /// `path` (canonical where it exists: its nearest existing ancestor is
    /// resolved and the rest appended) as `what`; a rule that reaches it is
    /// refused if `refuse`, else warned about.
    pub fn add(&mut self, path: &Path, what: &'static str, refuse: bool) {
        let canonical = protect::canonical_lenient(path);
        if !self.paths.iter().any(|(p, _, _)| *p == canonical) {
            self.paths.push((canonical, what, refuse));
        }
    }
}

impl Policy {
    /// Refuses a policy whose write rules reach sbx's user configuration or
    /// its record of trusted files (the command could rewrite the next
    /// run's sandbox), and returns warnings for the other configuration
    /// files it read (a `--config FILE` a later run would read again; a
    /// project file is covered by its trust record, which notices any
    /// change). Landlock cannot carve a path out of a writable tree, so the
    /// rule itself is refused, with the path it would expose and what to do.
    pub fn refuse_writable_own_files(&self, own: &OwnFiles, home: Option<&Path>) -> Result<Vec<String>> {
        let mut warnings = Vec::new();
        if !self.deny.write {
            // Nothing is write-restricted: not a sandbox for files at all
            // (sbx says so when nothing is restricted).
            return Ok(warnings);
        }
        for rule in self.paths.iter().filter(|r| r.access == Access::Write) {
            for (path, what, refuse) in own
                .paths
                .iter()
                .filter(|(p, _, _)| if rule.is_dir { p.starts_with(&rule.path) } else { *p == rule.path })
            {
                let shown = rule.path.display().to_string();
                let hint = if rule.path == Path::new("/") {
                    " (it is the whole file system: a relative `.` resolved there? run sbx from the project's directory)"
                } else if home.is_some_and(|h| h == rule.path) {
                    " (it is your home directory: a relative `.` resolved there? run sbx from the project's directory)"
                } else {
                    ""
                };
                let fix = if matches!(rule.source, Source::Default(_)) {
                    "keep sbx's configuration and state outside the directories writable by default \
                     (set XDG_CONFIG_HOME and XDG_STATE_HOME elsewhere)"
                } else {
                    "allow the directories the command needs instead, below or beside it"
                };
                if !refuse {
                    warnings.push(format!(
                        "{} lets the command rewrite {} — {what} — which a later run with the same \
                         --config would read again: keep it outside the writable paths",
                        rule.source.entry(&shown),
                        path.display()
                    ));
                    continue;
                }
                bail!(
                    "{} would let the command rewrite {} — {what} — and so choose the sandbox of the next run{hint}; {fix}",
                    rule.source.entry(&shown),
                    path.display()
                );
            }
            if covers_home(&rule.path, home) {
                let what =
                    if rule.path == Path::new("/") { "the whole file system" } else { "your whole home directory" };
                warnings.push(format!(
                    "{} makes {what} writable (shell start-up files such as ~/.bashrc included): \
                     if a relative `.` resolved there, run sbx from the project's directory",
                    rule.source.entry(&rule.path.display().to_string()),
                ));
            }
        }
        Ok(warnings)
    }
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
            hidden: Vec::new(),
            missing_dirs: Vec::new(),
            protection: protect::Protection::default(),
            net,
            unix_allow: Vec::new(),
            quiet: false,
            close_fds: false,
            env: EnvPolicy::Inherit,
            best_effort: false,
            command: vec![OsString::from("true")],
            cwd: PathBuf::from("/"),
            child_env: Vec::new(),
            temp: Temp::Shared,
            origins: Origins::default(),
        }
    }
}

#[cfg(test)]
mod tests;
