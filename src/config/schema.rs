//! The TOML schema of a configuration file, read with serde, and the
//! translation of byte spans into `FILE:LINE:COLUMN` and the key they are in.
//! Every struct denies unknown fields: a misspelt key is an error, never a
//! key silently ignored.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// A whole file: `[profile.NAME]` tables and nothing else.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileToml {
    #[serde(default)]
    pub profile: BTreeMap<Spanned<String>, ProfileToml>,
}

/// One `[profile.NAME]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ProfileToml {
    pub deny: Option<Vec<Spanned<DenyWord>>>,
    pub deny_all: Option<Spanned<bool>>,
    pub allow_read: Option<Vec<Spanned<String>>>,
    pub allow_write: Option<Vec<Spanned<String>>>,
    pub allow_net: Option<Vec<Spanned<String>>>,
    pub allow_env: Option<Vec<Spanned<String>>>,
    pub allow_unix: Option<Vec<Spanned<String>>>,
    /// Paths kept read-only inside the writable paths.
    pub protect: Option<Vec<Spanned<String>>>,
    /// Default protections lifted.
    pub unprotect: Option<Vec<Spanned<String>>>,
    /// Package tools whose configured registries the command may reach.
    pub allow_registries: Option<Vec<Spanned<crate::toolchain::Tool>>>,
    pub extends: Option<Vec<Spanned<String>>>,
    pub best_effort: Option<Spanned<bool>>,
    pub close_fds: Option<Spanned<bool>>,
    pub private_tmp: Option<Spanned<bool>>,
    pub keep_tmp: Option<Spanned<bool>>,
    pub hide: Option<Vec<Spanned<String>>>,
    pub hide_secrets: Option<Spanned<bool>>,
}

/// A word of `deny = [...]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum DenyWord {
    Read,
    Write,
    Net,
    Env,
}

/// A position in a file, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    /// The dotted key the position is in (`profile.rust.allow_write`), when
    /// one can be told.
    pub key: Option<String>,
}

/// The line (1-based) of byte offset `at` in `text`.
pub(super) fn line_of(text: &str, at: usize) -> usize {
    let at = floor_char_boundary(text, at);
    text[..at].bytes().filter(|&b| b == b'\n').count() + 1
}

/// Where byte offset `at` of `text` is: line, column and the key it belongs to.
pub(super) fn locate(text: &str, at: usize) -> Position {
    let at = floor_char_boundary(text, at);
    let line = line_of(text, at);
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let column = text[line_start..at].chars().count() + 1;
    let lines: Vec<&str> = text.lines().collect();
    let key = key_at(&lines, line - 1);
    Position { line, column, key }
}

/// The dotted key that line `index` (0-based) is in: the nearest `[table]`
/// header above, joined with the key of the nearest `key = value` line at or
/// above (a value may span lines).
fn key_at(lines: &[&str], index: usize) -> Option<String> {
    let current = lines.get(index)?;
    if let Some(header) = header_of(current) {
        return Some(header);
    }
    let mut key = None;
    for line in lines[..=index].iter().rev() {
        if header_of(line).is_some() {
            break;
        }
        if let Some((k, _)) = line.split_once('=') {
            let k = k.trim();
            if is_key(k) {
                key = Some(k.replace(' ', ""));
                break;
            }
        }
    }
    let header = lines[..index].iter().rev().find_map(|l| header_of(l));
    match (header, key) {
        (Some(h), Some(k)) => Some(format!("{h}.{k}")),
        (None, Some(k)) => Some(k),
        (Some(h), None) => Some(h),
        (None, None) => None,
    }
}

/// The name of a `[table]` or `[[array]]` header line.
fn header_of(line: &str) -> Option<String> {
    let t = line.trim();
    let inner = match t.strip_prefix("[[") {
        Some(rest) => rest.split("]]").next(),
        None => t.strip_prefix('[').and_then(|rest| rest.split(']').next()),
    }?;
    Some(inner.trim().replace(' ', ""))
}

/// Whether `k` (the text left of a `=`) is a key rather than part of a
/// string value that contains `=`.
fn is_key(k: &str) -> bool {
    if k.is_empty() {
        return false;
    }
    for quote in ['"', '\''] {
        if k.starts_with(quote) {
            return k.len() >= 2 && k.ends_with(quote);
        }
    }
    k.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ' '))
}

fn floor_char_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}
