//! Profiles: named restrictions and exceptions, built in or read from TOML
//! files — the user's `~/.config/sbx/config.toml`, the project's `sbx.toml`
//! (the nearest in the current directory or above) or `--config FILE` — and
//! the [`Request`] a profile and the command line make together.
//!
//! Guarantees: a configuration file that exists is read whole or sbx stops,
//! naming the file, line and key: an unknown key, a wrong type or a bad value
//! is an error, never ignored, so a typo cannot weaken a sandbox silently. A
//! project file is used only at the exact content the user trusted (`sbx
//! trust`); one that would apply but is not trusted makes the run refused.
//! A profile only adds restrictions and exceptions, as flags do, and flags
//! only add to it.

mod schema;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use crate::cli::Cli;
use crate::policy::{Kind, Request, Source, Sourced, Surroundings};
use crate::toolchain::{self, Lookup, Tool};
use crate::trust::{self, TrustError, TrustStatus};

pub use schema::Position;

/// The name of a project's configuration file.
pub const PROJECT_FILE: &str = "sbx.toml";
/// The profile that applies when none is named.
pub const DEFAULT_PROFILE: &str = "default";
/// The variable that names a profile when `-p` is not given.
pub const PROFILE_VAR: &str = "SBX_PROFILE";

const BUILTIN: &str = include_str!("config/builtin.toml");

/// What can go wrong reading configuration and choosing a profile.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: cannot read it: {source}; fix its permissions, or run with --no-config", path.display())]
    Read { path: PathBuf, source: std::io::Error },

    #[error("--config {}: no such file; name an existing file", path.display())]
    ConfigMissing { path: PathBuf },

    #[error(
        "{file}:{}:{}: {}{message}; fix the file (sbx runs nothing with a configuration it cannot read whole)",
        at.line,
        at.column,
        at.key.as_deref().map(|k| format!("{k}: ")).unwrap_or_default()
    )]
    Invalid { file: FileName, at: Position, message: String },

    #[error("no profile named {name:?} (asked for by {by}); {}", available_profiles(available))]
    UnknownProfile { name: String, by: SelectedBy, available: Vec<String> },

    #[error(
        "{file}:{line}: profile {profile} extends {name:?}, but no configuration file or built-in profile defines it; \
         {}",
        available_profiles(available)
    )]
    UnknownExtends { file: FileName, line: usize, profile: String, name: String, available: Vec<String> },

    #[error("{file}:{line}: the profiles extend each other in a cycle ({}); remove one of these extends", chain.join(" → "))]
    Cycle { file: FileName, line: usize, chain: Vec<String> },

    #[error(
        "{} is not trusted, and this run would use its profile {profile}: review it (read the file, or run \
         `sbx --explain -p {profile}`), then trust it with `sbx trust {}`; or run without configuration files \
         with --no-config",
        path.display(),
        path.display()
    )]
    Untrusted { path: PathBuf, profile: String },

    #[error(
        "{} changed since you trusted it, and this run would use its profile {profile}: review the change, then \
         trust it again with `sbx trust {}`; or run without configuration files with --no-config",
        path.display(),
        path.display()
    )]
    Changed { path: PathBuf, profile: String },

    #[error(
        "profile {profile} allows {tool}'s registries (allow_registries), but sbx cannot tell which registry {tool} \
         uses: it looked at {}{}; {}",
        looked_at.join(", "),
        notes.iter().map(|n| format!("; {n}")).collect::<String>(),
        tool.fix()
    )]
    NoRegistry { profile: String, tool: Tool, looked_at: Vec<String>, notes: Vec<String> },

    #[error(transparent)]
    Trust(#[from] TrustError),
}

fn available_profiles(names: &[String]) -> String {
    format!(
        "the profiles are: {}; define others as [profile.NAME] in ~/.config/sbx/config.toml or a trusted sbx.toml",
        names.join(", ")
    )
}

/// A file's name in messages: its path, or `built-in profiles`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileName(pub Option<PathBuf>);

impl fmt::Display for FileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(path) => write!(f, "{}", path.display()),
            None => f.write_str("built-in profiles"),
        }
    }
}

/// Which kind of file a profile comes from; later ones replace earlier
/// ones' profiles of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Layer {
    BuiltIn,
    /// `~/.config/sbx/config.toml` (or `$XDG_CONFIG_HOME/sbx/config.toml`).
    User,
    /// The nearest `sbx.toml`: used only once trusted.
    Project,
    /// `--config FILE`.
    Named,
}

impl Layer {
    pub fn describe(self) -> &'static str {
        match self {
            Layer::BuiltIn => "built in",
            Layer::User => "user configuration",
            Layer::Project => "project configuration",
            Layer::Named => "--config file",
        }
    }
}

/// How the profile was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelectedBy {
    /// `-p NAME`.
    Flag,
    /// `SBX_PROFILE=NAME`.
    Env,
    /// A profile named `default` exists.
    Default,
}

impl fmt::Display for SelectedBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SelectedBy::Flag => "-p",
            SelectedBy::Env => PROFILE_VAR,
            SelectedBy::Default => "default",
        })
    }
}

/// One entry of a list: its text and where it is.
#[derive(Debug, Clone)]
struct Entry {
    value: String,
    at: Position,
}

/// A profile as a file defines it (its own keys, before `extends`).
#[derive(Debug, Clone, Default)]
pub struct Profile {
    name: String,
    line: usize,
    deny: Vec<(Kind, Position)>,
    deny_all: Option<(bool, Position)>,
    allow_read: Vec<Entry>,
    allow_write: Vec<Entry>,
    allow_unix: Vec<Entry>,
    protect: Vec<Entry>,
    unprotect: Vec<Entry>,
    allow_net: Vec<Entry>,
    allow_env: Vec<Entry>,
    allow_registries: Vec<(Tool, Position)>,
    extends: Vec<Entry>,
    best_effort: Option<(bool, Position)>,
    close_fds: Option<(bool, Position)>,
    private_tmp: Option<(bool, Position)>,
    keep_tmp: Option<(bool, Position)>,
    hide: Vec<Entry>,
    hide_secrets: Option<(bool, Position)>,
}

impl Profile {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The line of its `[profile.NAME]` header.
    pub fn line(&self) -> usize {
        self.line
    }
}

/// A configuration file, read and checked.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    pub layer: Layer,
    /// Canonical; `None` for the built-in profiles.
    pub path: Option<PathBuf>,
    /// SHA-256 of the content, lower-case hex.
    pub sha256: String,
    profiles: BTreeMap<String, Profile>,
}

impl ConfigFile {
    /// Reads and checks the file at `path`.
    pub fn read(layer: Layer, path: &Path) -> Result<Self, ConfigError> {
        let read_err = |source| ConfigError::Read { path: path.to_owned(), source };
        let canonical = std::fs::canonicalize(path).map_err(read_err)?;
        let bytes = std::fs::read(&canonical).map_err(read_err)?;
        let text = String::from_utf8(bytes).map_err(|err| {
            let at = schema::locate(&String::from_utf8_lossy(err.as_bytes()), err.utf8_error().valid_up_to());
            ConfigError::Invalid {
                file: FileName(Some(canonical.clone())),
                at,
                message: "the file is not UTF-8 (TOML files must be)".into(),
            }
        })?;
        Self::parse(layer, Some(canonical), &text)
    }

    /// The built-in profiles.
    pub fn builtin() -> Result<Self, ConfigError> {
        Self::parse(Layer::BuiltIn, None, BUILTIN)
    }

    /// Checks `text`, the content of the file at `path`.
    pub fn parse(layer: Layer, path: Option<PathBuf>, text: &str) -> Result<Self, ConfigError> {
        let name = FileName(path.clone());
        let invalid = |at: usize, message: String| ConfigError::Invalid {
            file: name.clone(),
            at: schema::locate(text, at),
            message,
        };
        let file: schema::FileToml = toml::from_str(text)
            .map_err(|err| invalid(err.span().map_or(0, |s| s.start), err.message().trim().to_owned()))?;
        let mut profiles = BTreeMap::new();
        for (key, raw) in file.profile {
            let name = key.get_ref().clone();
            check_profile_name(&name).map_err(|why| invalid(key.span().start, why))?;
            let pos = |span: std::ops::Range<usize>| schema::locate(text, span.start);
            let list = |key: &str, items: Option<Vec<toml::Spanned<String>>>| -> Result<Vec<Entry>, ConfigError> {
                let mut out = Vec::new();
                for item in items.unwrap_or_default() {
                    if item.get_ref().is_empty() {
                        return Err(invalid(item.span().start, format!("an empty {key} entry names nothing")));
                    }
                    out.push(Entry { at: pos(item.span()), value: item.into_inner() });
                }
                Ok(out)
            };
            let extends = list("extends", raw.extends)?;
            for entry in &extends {
                check_profile_name(&entry.value).map_err(|why| ConfigError::Invalid {
                    file: FileName(path.clone()),
                    at: entry.at.clone(),
                    message: why,
                })?;
            }
            let profile = Profile {
                line: schema::line_of(text, key.span().start),
                deny: raw
                    .deny
                    .unwrap_or_default()
                    .into_iter()
                    .map(|w| {
                        let kind = match w.get_ref() {
                            schema::DenyWord::Read => Kind::Read,
                            schema::DenyWord::Write => Kind::Write,
                            schema::DenyWord::Net => Kind::Net,
                            schema::DenyWord::Env => Kind::Env,
                        };
                        (kind, pos(w.span()))
                    })
                    .collect(),
                deny_all: raw.deny_all.map(|b| (*b.get_ref(), pos(b.span()))),
                allow_read: list("allow_read", raw.allow_read)?,
                allow_write: list("allow_write", raw.allow_write)?,
                allow_unix: list("allow_unix", raw.allow_unix)?,
                protect: list("protect", raw.protect)?,
                unprotect: list("unprotect", raw.unprotect)?,
                allow_net: list("allow_net", raw.allow_net)?,
                allow_env: list("allow_env", raw.allow_env)?,
                allow_registries: raw
                    .allow_registries
                    .unwrap_or_default()
                    .into_iter()
                    .map(|t| (*t.get_ref(), pos(t.span())))
                    .collect(),
                extends,
                best_effort: raw.best_effort.map(|b| (*b.get_ref(), pos(b.span()))),
                close_fds: raw.close_fds.map(|b| (*b.get_ref(), pos(b.span()))),
                private_tmp: raw.private_tmp.map(|b| (*b.get_ref(), pos(b.span()))),
                keep_tmp: raw.keep_tmp.map(|b| (*b.get_ref(), pos(b.span()))),
                hide: list("hide", raw.hide)?,
                hide_secrets: raw.hide_secrets.map(|b| (*b.get_ref(), pos(b.span()))),
                name: name.clone(),
            };
            profiles.insert(name, profile);
        }
        Ok(Self { layer, path, sha256: crate::trust::sha256_hex(text.as_bytes()), profiles })
    }

    /// Its profiles, by name.
    pub fn profiles(&self) -> impl Iterator<Item = &Profile> {
        self.profiles.values()
    }

    fn name(&self) -> FileName {
        FileName(self.path.clone())
    }
}

/// Checks a profile name: letters, digits, `-` and `_`.
pub fn check_profile_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("an empty profile name".into());
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))) {
        return Err(format!("invalid character {c:?} in profile name {name:?} (letters, digits, `-` and `_` only)"));
    }
    Ok(())
}

/// The profile a run uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chosen {
    pub name: String,
    pub by: SelectedBy,
    pub layer: Layer,
    /// The file that defines it (`None`: built in) and the line of its header.
    pub at: Option<(PathBuf, usize)>,
}

/// The outcome of reading configuration for a run.
#[derive(Debug)]
pub struct Resolved {
    /// The profile's restrictions and exceptions, then the command line's.
    pub request: Request,
    /// The profile used, if any.
    pub profile: Option<Chosen>,
    /// Why the run must be refused (an untrusted or changed project file
    /// that it would use). `--explain` shows it; a run stops with it.
    pub refusal: Option<ConfigError>,
    /// The configuration files read (not the built-ins), with the trust
    /// status of a project file (`None` for others, or when the record of
    /// trusted files cannot be read).
    pub files: Vec<(Layer, PathBuf, Option<TrustStatus>)>,
    /// Things worth a warning, e.g. a flag that changes nothing.
    pub warnings: Vec<String>,
    /// Every profile there is, by name: where the one `-p NAME` would use
    /// is defined (file and header line; `None` for a built-in one).
    pub available: Vec<Defined>,
    /// The package tools' registries looked up for `allow_registries`,
    /// with the profile that asked.
    pub registries: Vec<(String, Lookup)>,
}

/// Where a profile is defined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defined {
    pub name: String,
    pub layer: Layer,
    /// The file and the line of its header; `None` for a built-in profile.
    pub at: Option<(PathBuf, usize)>,
}

/// The configuration files of a run, highest precedence first, the
/// built-in profiles last.
#[derive(Debug)]
pub struct Config {
    files: Vec<ConfigFile>,
}

impl Config {
    /// Reads the configuration `cli` asks for: `--config FILE` or else the
    /// project's sbx.toml, and the user's file — none with `--no-config`.
    pub fn load(cli: &Cli, ctx: &Surroundings) -> Result<Self, ConfigError> {
        let mut files = Vec::new();
        if !cli.no_config {
            if let Some(raw) = &cli.config {
                let path = crate::paths::absolute(raw, ctx.home().as_deref(), &ctx.cwd);
                if std::fs::symlink_metadata(&path).is_err() {
                    return Err(ConfigError::ConfigMissing { path });
                }
                files.push(ConfigFile::read(Layer::Named, &path)?);
            } else if let Some(path) = find_project_file(&ctx.cwd) {
                files.push(ConfigFile::read(Layer::Project, &path)?);
            }
            if let Some(path) = user_config_path(ctx) {
                if std::fs::symlink_metadata(&path).is_ok() {
                    files.push(ConfigFile::read(Layer::User, &path)?);
                }
            }
        }
        files.push(ConfigFile::builtin()?);
        Ok(Self { files })
    }

    /// A configuration of exactly these files (highest precedence first);
    /// the built-in profiles are added last.
    pub fn from_files(mut files: Vec<ConfigFile>) -> Result<Self, ConfigError> {
        files.push(ConfigFile::builtin()?);
        Ok(Self { files })
    }

    /// The file that defines `name` with the highest precedence.
    fn lookup(&self, name: &str) -> Option<(&ConfigFile, &Profile)> {
        self.files.iter().find_map(|f| f.profiles.get(name).map(|p| (f, p)))
    }

    /// Every profile name, sorted.
    pub fn profile_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.files.iter().flat_map(|f| f.profiles.keys().cloned()).collect();
        names.sort();
        names.dedup();
        names
    }

    /// The files read (not the built-ins).
    pub fn files(&self) -> impl Iterator<Item = &ConfigFile> {
        self.files.iter().filter(|f| f.layer != Layer::BuiltIn)
    }

    /// Which profile `cli` and the environment select, if any.
    fn select(&self, cli: &Cli, ctx: &Surroundings) -> Result<Option<(String, SelectedBy)>, ConfigError> {
        if let Some(name) = &cli.profile {
            return Ok(Some((name.clone(), SelectedBy::Flag)));
        }
        if let Some(value) = ctx.var(PROFILE_VAR).filter(|v| !v.is_empty()) {
            let name = value.to_str().map(str::to_owned).unwrap_or_else(|| value.to_string_lossy().into_owned());
            check_profile_name(&name).map_err(|why| ConfigError::UnknownProfile {
                name: format!("{name} ({why})"),
                by: SelectedBy::Env,
                available: self.profile_names(),
            })?;
            return Ok(Some((name, SelectedBy::Env)));
        }
        Ok(self.lookup(DEFAULT_PROFILE).map(|_| (DEFAULT_PROFILE.to_owned(), SelectedBy::Default)))
    }

    /// The request of the selected profile (if any) plus the command line,
    /// and whether the run must be refused for trust.
    pub fn resolve(&self, cli: &Cli, ctx: &Surroundings) -> Result<Resolved, ConfigError> {
        let mut request = Request::default();
        let mut profile = None;
        let mut refusal = None;
        let mut warnings = Vec::new();
        let mut registries = Vec::new();
        if let Some((name, by)) = self.select(cli, ctx)? {
            let Some((file, found)) = self.lookup(&name) else {
                return Err(ConfigError::UnknownProfile { name, by, available: self.profile_names() });
            };
            let flat = self.flatten(&name, ctx)?;
            refusal = self.trust_refusal(&flat.used, ctx)?;
            profile = Some(Chosen {
                name: name.clone(),
                by,
                layer: file.layer,
                at: file.path.clone().map(|p| (p, found.line)),
            });
            if (cli.deny_net || cli.deny_all) && flat.request.allow_net.iter().any(|e| e.value == "*") {
                warnings.push(format!(
                    "{} has no effect: profile {name} allows all network (allow_net = [\"*\"]), and flags only add \
                     to a profile; use a profile without it",
                    if cli.deny_net { "--deny-net" } else { "--deny-all's network part" }
                ));
            }
            request = flat.request;
            registries = flat.registries;
        }
        request.extend(Request::from_cli(cli, ctx));
        // A tool whose registries cannot be told: refused, unless network
        // entries of another kind were given (the fix the refusal names).
        let given = request.allow_net.iter().any(|e| !matches!(&e.source, Source::Profile(k) if k.from.is_some()));
        for (profile, lookup) in registries.iter().filter(|(_, l)| !l.known) {
            let error = ConfigError::NoRegistry {
                profile: profile.clone(),
                tool: lookup.tool,
                looked_at: lookup.looked_at.clone(),
                notes: lookup.notes.clone(),
            };
            if given {
                warnings.push(format!("{error}; the --allow-net and allow_net entries given are used as they are"));
            } else if refusal.is_none() {
                refusal = Some(error);
            }
        }
        let files = self
            .files()
            .filter_map(|f| {
                let path = f.path.clone()?;
                let trust = match f.layer {
                    Layer::Project => trust::status(&path, &f.sha256, ctx).ok(),
                    _ => None,
                };
                Some((f.layer, path, trust))
            })
            .collect();
        let available = self
            .profile_names()
            .into_iter()
            .filter_map(|name| {
                let (file, profile) = self.lookup(&name)?;
                let at = file.path.clone().map(|p| (p, profile.line));
                Some(Defined { name, layer: file.layer, at })
            })
            .collect();
        Ok(Resolved { request, profile, refusal, files, warnings, available, registries })
    }

    /// The refusal, if a project file among `used` is not trusted at its
    /// current content.
    fn trust_refusal(&self, used: &[(usize, String)], ctx: &Surroundings) -> Result<Option<ConfigError>, ConfigError> {
        for (index, profile) in used {
            let file = &self.files[*index];
            let (Layer::Project, Some(path)) = (file.layer, &file.path) else { continue };
            let profile = profile.clone();
            match trust::status(path, &file.sha256, ctx)? {
                TrustStatus::Trusted => {}
                TrustStatus::NotTrusted => return Ok(Some(ConfigError::Untrusted { path: path.clone(), profile })),
                TrustStatus::Changed => return Ok(Some(ConfigError::Changed { path: path.clone(), profile })),
            }
        }
        Ok(None)
    }

    /// The request profile `name` makes, its `extends` first; with the files
    /// (by index) and profiles it used.
    pub fn flatten(&self, name: &str, ctx: &Surroundings) -> Result<Flat, ConfigError> {
        let mut flat = Flat::default();
        let mut best_effort = None;
        self.flatten_into(name, None, ctx, &mut Vec::new(), &mut flat, &mut best_effort)?;
        if let Some((true, source)) = best_effort {
            flat.request.best_effort = Some(source);
        }
        Ok(flat)
    }

    fn flatten_into(
        &self,
        name: &str,
        referrer: Option<(&ConfigFile, &Profile, &Entry)>,
        ctx: &Surroundings,
        stack: &mut Vec<String>,
        flat: &mut Flat,
        best_effort: &mut Option<(bool, Source)>,
    ) -> Result<(), ConfigError> {
        if let Some(start) = stack.iter().position(|n| n == name) {
            let mut chain = stack[start..].to_vec();
            chain.push(name.to_owned());
            let (file, line) = referrer.map_or((FileName(None), 0), |(f, _, e)| (f.name(), e.at.line));
            return Err(ConfigError::Cycle { file, line, chain });
        }
        // Applied already (a base shared by two branches of `extends`):
        // applying it again would add nothing, and a wide diamond would
        // take exponential time.
        if flat.used.iter().any(|(_, used)| used == name) {
            return Ok(());
        }
        let Some((file, profile)) = self.lookup(name) else {
            let available = self.profile_names();
            return Err(match referrer {
                Some((f, p, e)) => ConfigError::UnknownExtends {
                    file: f.name(),
                    line: e.at.line,
                    profile: p.name.clone(),
                    name: name.to_owned(),
                    available,
                },
                None => ConfigError::UnknownProfile { name: name.to_owned(), by: SelectedBy::Flag, available },
            });
        };
        let index = self.files.iter().position(|f| std::ptr::eq(f, file)).unwrap_or_default();
        flat.used.push((index, name.to_owned()));
        stack.push(name.to_owned());
        for base in &profile.extends {
            self.flatten_into(&base.value, Some((file, profile, base)), ctx, stack, flat, best_effort)?;
        }
        stack.pop();

        let source =
            |key: &'static str, at: &Position| Source::profile(name, key, file.path.clone().map(|p| (p, at.line)));
        let request = &mut flat.request;
        for (kind, at) in &profile.deny {
            request.deny(*kind, source("deny", at));
        }
        if let Some((true, at)) = &profile.deny_all {
            for kind in Kind::ALL {
                request.deny(kind, source("deny_all", at));
            }
        }
        let base = match &file.path {
            Some(path) => path.parent().map_or_else(|| PathBuf::from("/"), Path::to_path_buf),
            None => ctx.cwd.clone(),
        };
        let paths = |key: &'static str, entries: &[Entry]| -> Result<Vec<Sourced<PathBuf>>, ConfigError> {
            entries
                .iter()
                .map(|e| {
                    let path = expand_path(&e.value, &base, ctx).map_err(|message| ConfigError::Invalid {
                        file: file.name(),
                        at: e.at.clone(),
                        message,
                    })?;
                    Ok(Sourced::new(path, source(key, &e.at)))
                })
                .collect()
        };
        request.allow_read.extend(paths("allow_read", &profile.allow_read)?);
        request.allow_write.extend(paths("allow_write", &profile.allow_write)?);
        request.allow_unix.extend(paths("allow_unix", &profile.allow_unix)?);
        request.protect.extend(paths("protect", &profile.protect)?);
        request.unprotect.extend(paths("unprotect", &profile.unprotect)?);
        request.hide.extend(paths("hide", &profile.hide)?);
        let strings = |key: &'static str, entries: &[Entry]| -> Vec<Sourced<String>> {
            entries.iter().map(|e| Sourced::new(e.value.clone(), source(key, &e.at))).collect()
        };
        request.allow_net.extend(strings("allow_net", &profile.allow_net));
        for (tool, at) in &profile.allow_registries {
            request.deny(Kind::Net, source("allow_registries", at));
            let lookup = toolchain::lookup(*tool, ctx);
            for found in &lookup.hosts {
                let at = file.path.clone().map(|p| (p, at.line));
                let source = Source::found(name, "allow_registries", at, found.from.clone());
                request.allow_net.push(Sourced::new(found.entry.clone(), source));
            }
            flat.registries.push((name.to_owned(), lookup));
        }
        request.allow_env.extend(strings("allow_env", &profile.allow_env));
        // A restriction: on anywhere in the chain is on (`false` turns off
        // nothing a base set).
        if let (Some((true, at)), None) = (&profile.close_fds, &request.close_fds) {
            request.close_fds = Some(source("close_fds", at));
        }
        if let (Some((true, at)), None) = (&profile.private_tmp, &request.private_tmp) {
            request.private_tmp = Some(source("private_tmp", at));
        }
        if let (Some((true, at)), None) = (&profile.keep_tmp, &request.keep_tmp) {
            request.keep_tmp = Some(source("keep_tmp", at));
        }
        if let (Some((true, at)), None) = (&profile.hide_secrets, &request.hide_secrets) {
            request.hide_secrets = Some(source("hide_secrets", at));
        }
        if let Some((on, at)) = &profile.best_effort {
            *best_effort = Some((*on, source("best_effort", at)));
        }
        Ok(())
    }
}

/// A profile with its `extends` applied.
#[derive(Debug, Default)]
pub struct Flat {
    pub request: Request,
    /// (index of the file, profile name) for every profile it used.
    used: Vec<(usize, String)>,
    /// The registries its `allow_registries` looked up, with the profile.
    pub registries: Vec<(String, Lookup)>,
}

/// The nearest `sbx.toml` in `dir` or above.
pub fn find_project_file(dir: &Path) -> Option<PathBuf> {
    dir.ancestors().map(|d| d.join(PROJECT_FILE)).find(|p| std::fs::symlink_metadata(p).is_ok())
}

/// sbx's own files for this run: the configuration files read, the user
/// configuration directory and the record of trusted files (see
/// [`crate::policy::OwnFiles`]).
pub fn own_files(resolved: &Resolved, ctx: &Surroundings) -> crate::policy::OwnFiles {
    let mut own = crate::policy::OwnFiles::default();
    if let Some(dir) = user_config_path(ctx).as_deref().and_then(Path::parent) {
        own.add(dir, "sbx's user configuration directory", true);
    }
    if let Some(dir) = crate::trust::record_path(ctx).ok().as_deref().and_then(Path::parent) {
        own.add(dir, "sbx's record of trusted project files", true);
    }
    for (layer, path, _) in &resolved.files {
        // A project file's trust record notices any change to it.
        if *layer == Layer::Named {
            own.add(path, "the configuration file given with --config", false);
        }
    }
    own
}

/// `$XDG_CONFIG_HOME/sbx/config.toml`, else `~/.config/sbx/config.toml`.
pub fn user_config_path(ctx: &Surroundings) -> Option<PathBuf> {
    let base = ctx.var_path("XDG_CONFIG_HOME").or_else(|| ctx.home().map(|h| h.join(".config")))?;
    Some(base.join("sbx").join("config.toml"))
}

/// A path from a file: `${VAR}` expanded from the environment, then a
/// leading `~` with the home directory, then made absolute against `base`.
/// A variable that is unset or empty is an error (an empty one could turn
/// `${X}/cache` into `/cache`).
pub fn expand_path(raw: &str, base: &Path, ctx: &Surroundings) -> Result<PathBuf, String> {
    let mut out: Vec<u8> = Vec::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = rest.find("${") {
        out.extend_from_slice(&rest.as_bytes()[..at]);
        let after = &rest[at + 2..];
        let Some(end) = after.find('}') else {
            return Err(format!("{raw:?}: `${{` without a closing `}}`"));
        };
        let var = &after[..end];
        let valid = var.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(format!("{raw:?}: ${{{var}}} is not a variable name (letters, digits and `_`)"));
        }
        match ctx.var(var) {
            Some(value) if !value.is_empty() => out.extend_from_slice(value.as_bytes()),
            Some(_) => return Err(format!("{raw:?}: ${{{var}}} is empty; set it, or write the path out")),
            None => return Err(format!("{raw:?}: ${{{var}}} is not set; set it, or write the path out")),
        }
        rest = &after[end + 1..];
    }
    out.extend_from_slice(rest.as_bytes());
    let expanded = PathBuf::from(OsString::from_vec(out));
    let bytes = expanded.as_os_str().as_bytes();
    let expanded = if bytes == b"~" || bytes.starts_with(b"~/") {
        let Some(home) = ctx.home() else {
            return Err(format!("{raw:?} starts with ~, but HOME is not set to an absolute path"));
        };
        home.join(OsStr::from_bytes(bytes.get(2..).unwrap_or_default()))
    } else if bytes.starts_with(b"~") {
        return Err(format!("{raw:?}: ~user is not supported; write the path out"));
    } else {
        expanded
    };
    let absolute = if expanded.is_absolute() { expanded } else { base.join(expanded) };
    // Drop `.` components (`./x`, `x/.`), which name nothing; `..` stays for
    // the resolver (a symlink may come before it).
    Ok(absolute.components().collect())
}
