//! pip's indexes: `index-url`, `extra-index-url`, `trusted-host` and the
//! URLs among `find-links`, from the `PIP_*` variables and pip's
//! configuration files (lowest precedence first: `$XDG_CONFIG_DIRS/pip/pip.conf`
//! (`/etc/xdg`), `/etc/pip.conf`, `~/.pip/pip.conf`, `~/.config/pip/pip.conf`,
//! the virtualenv's `pip.conf`, `PIP_CONFIG_FILE`), in any section (`[global]`,
//! `[install]`, …). Only if no index is set: pip's default index and the host
//! that serves its files, from the python on PATH.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::{Collector, ini};

/// The keys kept, as pip normalises them.
const KEYS: [&str; 4] = ["index-url", "extra-index-url", "trusted-host", "find-links"];

/// What python prints: pip's default index URL, then its file host.
const DEFAULT_INDEX: &str =
    "from pip._internal.models.index import PyPI; print(PyPI.url); print(PyPI.file_storage_domain)";

/// `index_url`, `--index-url`, `Index-URL` → `index-url`.
fn normalise(key: &str) -> String {
    key.trim_start_matches("--").to_ascii_lowercase().replace('_', "-")
}

pub(super) fn lookup(c: &mut Collector) {
    // (section, key) → (value, where): later files win.
    let mut set: BTreeMap<(String, String), (String, String)> = BTreeMap::new();
    for path in files(c) {
        let Some(text) = c.read(&path) else { continue };
        let shown = c.show(&path);
        for entry in ini::read(&text, ini::PIP_CONF, |s, k| s.is_some() && KEYS.contains(&normalise(k).as_str())) {
            let section = entry.section.unwrap_or_default();
            let key = normalise(&entry.key);
            let from = format!("{shown}: [{section}] {key}");
            set.insert((section, key), (entry.value, from));
        }
    }
    let mut has_index = false;
    for key in KEYS {
        let var = format!("PIP_{}", key.to_ascii_uppercase().replace('-', "_"));
        // A variable overrides the files' values for every command.
        let values: Vec<(String, String)> = match c.var(&var) {
            Some(value) => vec![(value, var)],
            None => set.iter().filter(|((_, k), _)| k == key).map(|(_, v)| v.clone()).collect(),
        };
        for (value, from) in values {
            for item in value.split_whitespace() {
                match key {
                    "trusted-host" => c.host(item, from.clone()),
                    "find-links" if !item.contains("://") => {}
                    _ => {
                        has_index |= key == "index-url";
                        c.url(item, from.clone());
                    }
                }
            }
        }
    }
    if !has_index {
        default_index(c);
    } else {
        c.lookup.known = true;
    }
}

/// pip's built-in index and its file host, from the python that runs pip.
fn default_index(c: &mut Collector) {
    let python = match c.ctx.var_path("VIRTUAL_ENV") {
        Some(venv) => venv.join("bin").join("python").display().to_string(),
        None => "python3".to_owned(),
    };
    // -I: isolated, so nothing from the current directory or PYTHON*
    // variables is imported.
    let Some(lines) = c.ask(&python, &["-I", "-c", DEFAULT_INDEX], &format!("{python} -I -c '…PyPI.url…'")) else {
        return;
    };
    let [index, files] = lines.as_slice() else {
        c.lookup.notes.push(format!("{python} printed no default index"));
        return;
    };
    c.lookup.known = super::url_entry(index).is_ok();
    c.url(index, format!("pip's default index (asked {python})"));
    // pip fetches the files over https, as the index.
    c.url(&format!("https://{files}/"), format!("pip's default file host (asked {python})"));
}

/// pip's configuration files, lowest precedence first; none when
/// `PIP_CONFIG_FILE` is `/dev/null`.
fn files(c: &mut Collector) -> Vec<PathBuf> {
    let env_file = c.var("PIP_CONFIG_FILE");
    if env_file.as_deref() == Some("/dev/null") {
        return Vec::new();
    }
    let mut out = Vec::new();
    let dirs = c.ctx.var("XDG_CONFIG_DIRS").map(|v| v.to_string_lossy().into_owned());
    for dir in dirs.as_deref().filter(|d| !d.is_empty()).unwrap_or("/etc/xdg").split(':') {
        out.push(c.system(dir).join("pip").join("pip.conf"));
    }
    out.push(c.system("/etc/pip.conf"));
    if let Some(home) = &c.home {
        out.push(home.join(".pip").join("pip.conf"));
    }
    if let Some(config) = c.ctx.var_path("XDG_CONFIG_HOME").or_else(|| c.home.as_ref().map(|h| h.join(".config"))) {
        out.push(config.join("pip").join("pip.conf"));
    }
    if let Some(venv) = c.ctx.var_path("VIRTUAL_ENV") {
        out.push(venv.join("pip.conf"));
    }
    out.extend(env_file.map(PathBuf::from));
    out
}
