//! Trust in project configuration files. A project's `sbx.toml` comes with
//! the project — whoever wrote it may want its sandbox wide open — so sbx
//! uses one only after `sbx trust` recorded its canonical path and the
//! SHA-256 of its content, and only while the content hashes the same.
//!
//! The record lives in `$XDG_STATE_HOME/sbx/trusted.toml` (default
//! `~/.local/state/sbx/trusted.toml`). Guarantees: a record that cannot be
//! read is an error, never "trusted"; the record is replaced atomically
//! (written beside, then renamed), so a crash leaves the old one or the new
//! one. Two `sbx trust` at the same moment may lose one of the two records
//! (the last rename wins); trusting again fixes it.

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::cli::Cli;
use crate::config::{Config, ConfigFile, Layer, PROJECT_FILE};
use crate::policy::{Kind, Request, Sourced, Surroundings};

/// What can go wrong with the record of trusted files.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error(
        "cannot tell where the record of trusted files is: neither XDG_STATE_HOME nor HOME is set to an absolute \
         path; set one of them"
    )]
    NoStateDir,

    #[error("{}: cannot read the record of trusted files: {source}; fix its permissions", path.display())]
    Read { path: PathBuf, source: std::io::Error },

    #[error(
        "{}: the record of trusted files is damaged ({message}); delete it, then trust your sbx.toml files again",
        path.display()
    )]
    Damaged { path: PathBuf, message: String },

    #[error("{}: cannot record the trust: {source}", path.display())]
    Write { path: PathBuf, source: std::io::Error },

    #[error("{}: sbx can only trust files whose path is UTF-8; rename a directory on the way", path.display())]
    NotUtf8 { path: PathBuf },

    #[error("no {PROJECT_FILE} in {} or above; name the file: sbx trust FILE", dir.display())]
    NoProjectFile { dir: PathBuf },
}

/// Whether a project file may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustStatus {
    Trusted,
    /// Never trusted (at this path).
    NotTrusted,
    /// Trusted once, but its content has changed since.
    Changed,
}

/// The SHA-256 of `bytes`, lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut hex = String::with_capacity(64);
    for byte in digest.iter() {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

/// `$XDG_STATE_HOME/sbx/trusted.toml`, else `~/.local/state/sbx/trusted.toml`.
pub fn record_path(ctx: &Surroundings) -> Result<PathBuf, TrustError> {
    let base = ctx
        .var_path("XDG_STATE_HOME")
        .or_else(|| ctx.home().map(|h| h.join(".local/state")))
        .ok_or(TrustError::NoStateDir)?;
    Ok(base.join("sbx").join("trusted.toml"))
}

/// The record file's content.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    #[serde(default)]
    trusted: Vec<Trusted>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Trusted {
    /// Canonical path of the sbx.toml.
    path: String,
    /// SHA-256 of its content when trusted, lower-case hex.
    sha256: String,
}

const RECORD_HEADER: &str = "\
# Project sbx.toml files trusted with `sbx trust`: canonical path and SHA-256
# of the content that was trusted. sbx uses such a file only while its content
# hashes the same. Written by sbx; delete an entry to withdraw the trust.
";

fn load(path: &Path) -> Result<Record, TrustError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Record::default()),
        Err(source) => return Err(TrustError::Read { path: path.to_owned(), source }),
    };
    toml::from_str(&text)
        .map_err(|err| TrustError::Damaged { path: path.to_owned(), message: err.message().to_owned() })
}

/// Whether the project file at `path` (canonical), whose content hashes to
/// `sha256`, is trusted.
pub fn status(path: &Path, sha256: &str, ctx: &Surroundings) -> Result<TrustStatus, TrustError> {
    let record = load(&record_path(ctx)?)?;
    let key = path.to_str().ok_or_else(|| TrustError::NotUtf8 { path: path.to_owned() })?;
    let mut status = TrustStatus::NotTrusted;
    for entry in record.trusted.iter().filter(|e| e.path == key) {
        if entry.sha256 == sha256 {
            return Ok(TrustStatus::Trusted);
        }
        status = TrustStatus::Changed;
    }
    Ok(status)
}

/// Records `path` (canonical) as trusted at content hash `sha256`,
/// replacing an older record of the same path. Returns the record file.
pub fn record(path: &Path, sha256: &str, ctx: &Surroundings) -> Result<PathBuf, TrustError> {
    let record_file = record_path(ctx)?;
    let key = path.to_str().ok_or_else(|| TrustError::NotUtf8 { path: path.to_owned() })?.to_owned();
    let mut record = load(&record_file)?;
    record.trusted.retain(|e| e.path != key);
    record.trusted.push(Trusted { path: key, sha256: sha256.to_owned() });
    record.trusted.sort_by(|a, b| a.path.cmp(&b.path));
    let body = toml::to_string(&record)
        .map_err(|err| TrustError::Damaged { path: record_file.clone(), message: err.to_string() })?;
    let write_err = |source| TrustError::Write { path: record_file.clone(), source };
    let dir = record_file.parent().unwrap_or(Path::new("/"));
    create_private_dir(dir).map_err(write_err)?;
    let temp = dir.join(format!(".trusted.toml.{}", std::process::id()));
    let written = (|| {
        let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).open(&temp)?;
        file.write_all(RECORD_HEADER.as_bytes())?;
        file.write_all(b"\n")?;
        file.write_all(body.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&temp, &record_file)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written.map_err(write_err)?;
    Ok(record_file)
}

/// Creates `dir` and its missing parents, the last one readable by its owner only.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut builder = std::fs::DirBuilder::new();
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    match builder.create(dir) {
        Err(err) if err.kind() != std::io::ErrorKind::AlreadyExists => Err(err),
        _ => Ok(()),
    }
}

/// `sbx trust [FILE]`: checks the file, shows what each of its profiles
/// allows, and records it as trusted. Writes the review to `out`.
pub fn run(file: Option<&OsStr>, cli: &Cli, ctx: &Surroundings, out: &mut String) -> anyhow::Result<()> {
    let path = match file {
        Some(raw) => crate::paths::absolute(raw, ctx.home().as_deref(), &ctx.cwd),
        None => crate::config::find_project_file(&ctx.cwd)
            .ok_or_else(|| TrustError::NoProjectFile { dir: ctx.cwd.clone() })?,
    };
    if std::fs::symlink_metadata(&path).is_err() {
        anyhow::bail!("{}: no such file; name an existing sbx.toml", path.display());
    }
    let file = ConfigFile::read(Layer::Project, &path)?;
    let Some(canonical) = file.path.clone() else { anyhow::bail!("{}: cannot resolve the path", path.display()) };
    // Every profile must resolve (extends known, no cycle, paths expand),
    // with the user's profiles and the built-ins around it as at run time.
    let mut others = Vec::new();
    if !cli.no_config {
        if let Some(user) = crate::config::user_config_path(ctx).filter(|p| std::fs::symlink_metadata(p).is_ok()) {
            others.push(ConfigFile::read(Layer::User, &user)?);
        }
    }
    let mut files = vec![file.clone()];
    files.extend(others);
    let config = Config::from_files(files)?;

    let _ = writeln!(out, "{} (sha256 {})", canonical.display(), file.sha256);
    let profiles: Vec<_> = file.profiles().collect();
    if profiles.is_empty() {
        let _ = writeln!(out, "  defines no profile");
    }
    for profile in profiles {
        let flat = config.flatten(profile.name(), ctx)?;
        let _ = writeln!(out, "\n[profile.{}] (line {})", profile.name(), profile.line());
        describe(&flat.request, out);
    }
    let before = status(&canonical, &file.sha256, ctx)?;
    let record_file = record(&canonical, &file.sha256, ctx)?;
    let _ = writeln!(out);
    let _ = match before {
        TrustStatus::Trusted => writeln!(out, "Already trusted at this content; nothing changed."),
        TrustStatus::NotTrusted | TrustStatus::Changed => writeln!(
            out,
            "Trusted: recorded in {}. Any change to the file needs `sbx trust` again.",
            record_file.display()
        ),
    };
    Ok(())
}

/// What a profile's request asks for, one line per restriction and entry,
/// with where each was set; paths as they will be resolved.
pub fn describe(request: &Request, out: &mut String) {
    let mut any = false;
    for kind in Kind::ALL {
        if let Some(reason) = request.denied(kind) {
            any = true;
            let how = if reason.implied { format!("implied by {}", reason.source) } else { reason.source.to_string() };
            let _ = writeln!(out, "  deny {:<14} {how}", kind.name());
        }
    }
    let mut entries = |key: &str, list: &[Sourced<String>]| {
        for e in list {
            any = true;
            let _ = writeln!(out, "  {key:<19} {:<40} {}", e.value, e.source);
        }
    };
    let shown = |list: &[Sourced<PathBuf>]| -> Vec<Sourced<String>> {
        list.iter().map(|e| Sourced::new(e.value.display().to_string(), e.source.clone())).collect()
    };
    entries("allow_read", &shown(&request.allow_read));
    entries("allow_write", &shown(&request.allow_write));
    entries("allow_unix", &shown(&request.allow_unix));
    entries("protect", &shown(&request.protect));
    entries("unprotect", &shown(&request.unprotect));
    entries("allow_net", &request.allow_net);
    entries("allow_env", &request.allow_env);
    entries("hide", &shown(&request.hide));
    if let Some(source) = &request.hide_secrets {
        any = true;
        let _ = writeln!(out, "  hide_secrets        {source}");
    }
    if let Some(source) = &request.best_effort {
        any = true;
        let _ = writeln!(out, "  best_effort         {source}");
    }
    if !any {
        let _ = writeln!(out, "  restricts nothing");
    }
}
