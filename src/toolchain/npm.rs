//! npm's registries (pnpm and yarn 1 read the same files): `registry` and
//! each scope's `@scope:registry`, from the places npm reads them, highest
//! precedence first — `npm_config_*` variables, the project's `.npmrc` (at
//! the nearest directory up from the current one with a `package.json` or
//! `node_modules`), the user's (`npm_config_userconfig`, else `~/.npmrc`),
//! the global one (`npm_config_globalconfig`, else `PREFIX/etc/npmrc`). Only
//! if none sets `registry`: `npm config get registry`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{Collector, ini};

/// Whether `key` names a registry: `registry` or `@scope:registry`.
fn is_registry_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key == "registry" || (key.starts_with('@') && key.ends_with(":registry"))
}

pub(super) fn lookup(c: &mut Collector) {
    // key (lower-case) → (value, where): the first, highest precedence, wins.
    let mut found: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut keep = |key: &str, value: String, from: String| {
        found.entry(key.to_ascii_lowercase()).or_insert((value, from));
    };

    let vars = c.vars("npm_config_* variables", |name| {
        let key = name.get(..11).filter(|p| p.eq_ignore_ascii_case("npm_config_")).map(|_| &name[11..])?;
        is_registry_key(key).then(|| key.to_owned())
    });
    for (name, key, value) in vars {
        keep(&key, value, name);
    }

    for path in files(c) {
        let Some(text) = c.read(&path) else { continue };
        let shown = c.show(&path);
        for entry in ini::read(&text, ini::NPMRC, |section, key| section.is_none() && is_registry_key(key)) {
            keep(&entry.key, ini::unquote(&entry.value).to_owned(), format!("{shown}: {}", entry.key));
        }
    }

    let mut has_registry = false;
    for (key, (value, from)) in found {
        match c.expand(&value) {
            Ok(url) if !url.is_empty() => {
                has_registry |= key == "registry";
                c.url(&url, from);
            }
            Ok(_) => c.lookup.notes.push(format!("{from}: skipped, empty")),
            Err(why) => c.lookup.notes.push(format!("{from}: skipped, {why}")),
        }
    }
    if !has_registry {
        // npm's own default (or its built-in configuration's).
        if let Some(lines) = c.ask("npm", &["config", "get", "registry"], "npm config get registry") {
            match lines.first().map(String::as_str) {
                Some(url) if url != "undefined" => {
                    has_registry = true;
                    c.url(url, "`npm config get registry`".to_owned());
                }
                _ => c.lookup.notes.push("`npm config get registry` printed no registry".to_owned()),
            }
        }
    }
    c.lookup.known = has_registry;
}

/// npm's configuration files, highest precedence first.
fn files(c: &Collector) -> Vec<PathBuf> {
    let var = |name: &str| c.ctx.var_path(name);
    let mut out = vec![project_root(&c.ctx.cwd).join(".npmrc")];
    if let Some(user) = var("npm_config_userconfig").or_else(|| c.home.as_ref().map(|h| h.join(".npmrc"))) {
        out.push(user);
    }
    let global = var("npm_config_globalconfig").or_else(|| {
        let prefix = var("npm_config_prefix").or_else(|| {
            // npm's default prefix: the directory above the one node is in.
            let node = std::fs::canonicalize(c.on_path("node")?).ok()?;
            Some(node.parent()?.parent()?.to_path_buf())
        })?;
        Some(prefix.join("etc").join("npmrc"))
    });
    out.extend(global);
    out.dedup();
    out
}

/// npm's project directory: the nearest of `cwd` and its ancestors with a
/// `package.json` or a `node_modules`, else `cwd`.
fn project_root(cwd: &Path) -> PathBuf {
    cwd.ancestors()
        .find(|dir| dir.join("package.json").exists() || dir.join("node_modules").is_dir())
        .unwrap_or(cwd)
        .to_path_buf()
}
