//! A line reader for the INI-like files package tools keep their settings
//! in: npm's `.npmrc` and pip's `pip.conf`. It yields only the entries the
//! caller asks for; every other line — credentials included — is dropped as
//! it is read, never stored.
//!
//! Written here rather than taken from an INI crate: those split a line at
//! `:` as well as `=`, which breaks npm's `@scope:registry=URL` keys, and they
//! keep every value of the file (auth tokens too) in their map.

/// How a file's lines are read.
#[derive(Debug, Clone, Copy)]
pub(super) struct Style {
    /// `key: value` as well as `key = value` (pip's configparser).
    pub colon: bool,
    /// An indented line continues the value above (configparser).
    pub continuation: bool,
}

/// npm's `ini`: `key=value` split at the first `=`, no continuation lines.
pub(super) const NPMRC: Style = Style { colon: false, continuation: false };
/// Python's configparser as pip uses it.
pub(super) const PIP_CONF: Style = Style { colon: true, continuation: true };

/// One kept `key = value`, with its section (`None` before the first one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Entry {
    pub section: Option<String>,
    pub key: String,
    pub value: String,
}

/// The entries of `text` for which `keep(section, key)` is true, in file
/// order; keys as written (trimmed), values trimmed.
pub(super) fn read(text: &str, style: Style, keep: impl Fn(Option<&str>, &str) -> bool) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    let mut section: Option<String> = None;
    // Whether the last key line was kept (its continuation lines are too).
    let mut continuing = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if style.continuation && line.starts_with([' ', '\t']) && !trimmed.is_empty() {
            if continuing {
                if let Some(last) = out.last_mut() {
                    if !trimmed.starts_with(['#', ';']) {
                        last.value.push('\n');
                        last.value.push_str(trimmed);
                    }
                }
            }
            continue;
        }
        continuing = false;
        if trimmed.is_empty() || trimmed.starts_with(['#', ';']) {
            continue;
        }
        if let Some(name) = trimmed.strip_prefix('[').and_then(|rest| rest.strip_suffix(']')) {
            section = Some(name.trim().to_owned());
            continue;
        }
        let at = if style.colon { trimmed.find(['=', ':']) } else { trimmed.find('=') };
        let Some(at) = at else { continue };
        let key = trimmed[..at].trim();
        if !keep(section.as_deref(), key) {
            continue;
        }
        out.push(Entry { section: section.clone(), key: key.to_owned(), value: trimmed[at + 1..].trim().to_owned() });
        continuing = true;
    }
    out
}

/// A value without the quotes npm's `ini` takes off (`"…"` or `'…'`).
pub(super) fn unquote(value: &str) -> &str {
    for quote in ['"', '\''] {
        if let Some(inner) = value.strip_prefix(quote).and_then(|v| v.strip_suffix(quote)) {
            return inner;
        }
    }
    value
}
