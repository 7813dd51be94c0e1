//! What was asked for, before validation: each restriction and exception as
//! given (paths already absolute), each tagged with its [`Source`]. The
//! command line makes one ([`Request::from_cli`]), a profile makes one, and
//! [`Request::extend`] combines them — only ever adding restrictions and
//! exceptions, never removing either.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::cli::Cli;
use crate::paths;

use super::{Source, Surroundings};

/// A value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sourced<T> {
    pub value: T,
    pub source: Source,
}

impl<T> Sourced<T> {
    pub fn new(value: T, source: Source) -> Self {
        Self { value, source }
    }
}

/// The four kinds of access sbx can deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Read,
    Write,
    Net,
    Env,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::Read, Kind::Write, Kind::Net, Kind::Env];

    /// The word used in flags and profile keys: `read`, `write`, `net`, `env`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Read => "read",
            Kind::Write => "write",
            Kind::Net => "net",
            Kind::Env => "env",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Why a kind of access is denied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DenyReason {
    pub source: Source,
    /// Denied because an exception of this kind was given (`--allow-write`
    /// implies `--deny-write`), not by a deny of its own.
    pub implied: bool,
}

/// A sandbox request: restrictions and exceptions with their sources.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// Explicit denies (`--deny-write`, `deny = ["write"]`, `deny_all`), by
    /// [`Kind`]; the first source that asked is kept.
    deny: [Option<Source>; 4],
    /// Absolute, not yet resolved.
    pub allow_read: Vec<Sourced<PathBuf>>,
    /// Absolute, not yet resolved.
    pub allow_write: Vec<Sourced<PathBuf>>,
    /// Absolute, not yet resolved.
    pub allow_unix: Vec<Sourced<PathBuf>>,
    /// `--protect`: kept read-only inside the writable paths (absolute).
    pub protect: Vec<Sourced<PathBuf>>,
    /// `--unprotect`: default protections lifted (absolute).
    pub unprotect: Vec<Sourced<PathBuf>>,
    pub allow_net: Vec<Sourced<String>>,
    pub allow_env: Vec<Sourced<String>>,
    /// `--hide` paths: absolute, not yet resolved.
    pub hide: Vec<Sourced<PathBuf>>,
    /// Who asked for `--hide-secrets` (`hide_secrets = true`), if anyone.
    pub hide_secrets: Option<Source>,
    /// Who asked for `--best-effort`, if anyone.
    pub best_effort: Option<Source>,
    pub quiet: bool,
    /// `--close-fds` (or `close_fds = true`): no fd above stderr reaches
    /// the command; who asked first.
    pub close_fds: Option<Source>,
    /// `--private-tmp` (or `private_tmp = true`): a fresh per-run temporary
    /// directory instead of the shared `/tmp` and `$TMPDIR`; who asked first.
    pub private_tmp: Option<Source>,
    /// `--keep-tmp` (or `keep_tmp = true`): the private temporary directory
    /// is kept at exit; who asked first.
    pub keep_tmp: Option<Source>,
    pub command: Vec<OsString>,
}

impl Request {
    /// The request the command line makes, paths made absolute against
    /// `ctx`'s current and home directories.
    pub fn from_cli(cli: &Cli, ctx: &Surroundings) -> Self {
        let home = ctx.home();
        let abs = |flag: &'static str, raw: &[OsString]| -> Vec<Sourced<PathBuf>> {
            raw.iter()
                .map(|r| Sourced::new(paths::absolute(r, home.as_deref(), &ctx.cwd), Source::Flag(flag)))
                .collect()
        };
        let strings = |flag: &'static str, raw: &[String]| -> Vec<Sourced<String>> {
            raw.iter().map(|r| Sourced::new(r.clone(), Source::Flag(flag))).collect()
        };
        let mut request = Self {
            deny: Default::default(),
            allow_read: abs("--allow-read", &cli.allow_read),
            allow_write: abs("--allow-write", &cli.allow_write),
            allow_unix: abs("--allow-unix", &cli.allow_unix),
            protect: abs("--protect", &cli.protect),
            unprotect: abs("--unprotect", &cli.unprotect),
            allow_net: strings("--allow-net", &cli.allow_net),
            allow_env: strings("--allow-env", &cli.allow_env),
            hide: abs("--hide", &cli.hide),
            hide_secrets: cli.hide_secrets.then_some(Source::Flag("--hide-secrets")),
            best_effort: cli.best_effort.then_some(Source::Flag("--best-effort")),
            quiet: cli.quiet,
            close_fds: cli.close_fds.then_some(Source::Flag("--close-fds")),
            private_tmp: cli.private_tmp.then_some(Source::Flag("--private-tmp")),
            keep_tmp: cli.keep_tmp.then_some(Source::Flag("--keep-tmp")),
            command: cli.command.clone(),
        };
        let flags = [
            (Kind::Read, cli.deny_read, "--deny-read"),
            (Kind::Write, cli.deny_write, "--deny-write"),
            (Kind::Net, cli.deny_net, "--deny-net"),
            (Kind::Env, cli.deny_env, "--deny-env"),
        ];
        for (kind, on, flag) in flags {
            if on {
                request.deny(kind, Source::Flag(flag));
            }
        }
        if cli.deny_all {
            for kind in Kind::ALL {
                request.deny(kind, Source::Flag("--deny-all"));
            }
        }
        request
    }

    /// Denies `kind` because of `source` (the first source to ask is kept).
    pub fn deny(&mut self, kind: Kind, source: Source) {
        self.deny[kind.index()].get_or_insert(source);
    }

    /// Adds everything `other` asks for: its denies, its exceptions after
    /// ours, its `--best-effort`, `--close-fds`, `--private-tmp` and `--keep-tmp`; its command and `-q` when it has them.
    pub fn extend(&mut self, other: Request) {
        for kind in Kind::ALL {
            if let Some(source) = other.deny[kind.index()].clone() {
                self.deny(kind, source);
            }
        }
        self.allow_read.extend(other.allow_read);
        self.allow_write.extend(other.allow_write);
        self.allow_unix.extend(other.allow_unix);
        self.protect.extend(other.protect);
        self.unprotect.extend(other.unprotect);
        self.allow_net.extend(other.allow_net);
        self.allow_env.extend(other.allow_env);
        self.hide.extend(other.hide);
        if self.hide_secrets.is_none() {
            self.hide_secrets = other.hide_secrets;
        }
        if self.best_effort.is_none() {
            self.best_effort = other.best_effort;
        }
        self.quiet |= other.quiet;
        if self.close_fds.is_none() {
            self.close_fds = other.close_fds;
        }
        if self.private_tmp.is_none() {
            self.private_tmp = other.private_tmp;
        }
        if self.keep_tmp.is_none() {
            self.keep_tmp = other.keep_tmp;
        }
        if !other.command.is_empty() {
            self.command = other.command;
        }
    }

    /// Why `kind` is denied, if it is: an explicit deny, else the first
    /// exception of that kind (each `--allow-*` implies its `--deny-*`).
    pub fn denied(&self, kind: Kind) -> Option<DenyReason> {
        if let Some(source) = &self.deny[kind.index()] {
            return Some(DenyReason { source: source.clone(), implied: false });
        }
        let first = match kind {
            Kind::Read => self.allow_read.first().map(|e| &e.source),
            Kind::Write => self.allow_write.first().map(|e| &e.source),
            Kind::Net => {
                self.allow_net.first().map(|e| &e.source).or_else(|| self.allow_unix.first().map(|e| &e.source))
            }
            Kind::Env => self.allow_env.first().map(|e| &e.source),
        };
        first.map(|source| DenyReason { source: source.clone(), implied: true })
    }
}
