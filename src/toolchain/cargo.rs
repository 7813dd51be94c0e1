//! cargo's registries: where the crates-io source is replaced to
//! (`[source.crates-io] replace-with`, followed to a `registry`, `git`,
//! `local-registry` or `directory` source) and every `[registries.NAME]
//! index` (or `CARGO_REGISTRIES_NAME_INDEX`), from the files cargo reads,
//! highest precedence first: `.cargo/config.toml` (or `.cargo/config`) in
//! the current directory and each one above, then `$CARGO_HOME/config.toml`
//! (`~/.cargo`). cargo's built-in registry's hosts are not named here: without a
//! replacement it stays unknown, and sbx says what to add.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::Collector;

/// The name of cargo's built-in registry's source.
const CRATES_IO: &str = "crates-io";

/// One `[source.NAME]` or `[registries.NAME]` key: its value and where.
type Keys = BTreeMap<(&'static str, String, &'static str), (String, String)>;

pub(super) fn lookup(c: &mut Collector) {
    let mut keys: Keys = BTreeMap::new();
    let vars = c.vars("CARGO_REGISTRIES_*_INDEX variables", |name| {
        let registry = name.strip_prefix("CARGO_REGISTRIES_")?.strip_suffix("_INDEX")?;
        Some(registry.to_ascii_lowercase().replace('_', "-"))
    });
    for (var, registry, value) in vars {
        keys.entry(("registries", registry, "index")).or_insert((value, var));
    }
    for path in files(c) {
        let Some(text) = c.read(&path) else { continue };
        let shown = c.show(&path);
        let table = match text.parse::<toml::Table>() {
            Ok(table) => table,
            Err(err) => {
                c.lookup.notes.push(format!("{shown}: skipped, not valid TOML ({})", err.message().trim()));
                continue;
            }
        };
        for (kind, wanted) in [
            ("source", &["replace-with", "registry", "git", "local-registry", "directory"][..]),
            ("registries", &["index"][..]),
        ] {
            let Some(tables) = table.get(kind).and_then(toml::Value::as_table) else { continue };
            for (name, t) in tables {
                for &key in wanted {
                    if let Some(value) = t.get(key).and_then(toml::Value::as_str) {
                        let from = format!("{shown}: {kind}.{name}.{key}");
                        keys.entry((kind, name.clone(), key)).or_insert((value.to_owned(), from));
                    }
                }
            }
        }
    }

    let get = |kind: &'static str, name: &str, key: &'static str| keys.get(&(kind, name.to_owned(), key)).cloned();
    let registries: Vec<String> =
        keys.keys().filter(|(kind, _, _)| *kind == "registries").map(|(_, name, _)| name.clone()).collect();
    let mut known = true;
    for root in std::iter::once(CRATES_IO.to_owned()).chain(registries) {
        // Follow replace-with to the source that serves it.
        let mut name = root.clone();
        let mut seen = vec![name.clone()];
        while let Some((next, from)) = get("source", &name, "replace-with") {
            if seen.contains(&next) {
                c.lookup.notes.push(format!("{from}: replace-with makes a cycle ({} → {next})", seen.join(" → ")));
                known = false;
                break;
            }
            seen.push(next.clone());
            name = next;
        }
        if let Some((url, from)) = get("source", &name, "registry").or_else(|| get("source", &name, "git")) {
            c.url(&url, from);
        } else if let Some((_, from)) =
            get("source", &name, "local-registry").or_else(|| get("source", &name, "directory"))
        {
            c.lookup.notes.push(format!("{from}: a local directory, no host needed"));
        } else if let Some((url, from)) = get("registries", &name, "index") {
            c.url(&url, from);
        } else if name == CRATES_IO {
            c.lookup.notes.push("no [source.crates-io] replace-with in them".to_owned());
            known = false;
        } else {
            c.lookup
                .notes
                .push(format!("{root}: replaced with {name}, which no [source.{name}] or [registries.{name}] defines"));
            known = false;
        }
    }
    c.lookup.known = known;
}

/// cargo's configuration files, highest precedence first.
fn files(c: &mut Collector) -> Vec<PathBuf> {
    // Of the current directory and its ancestors, only the files that
    // exist (a project has many ancestors); CARGO_HOME's always.
    let mut out: Vec<PathBuf> =
        c.ctx.cwd.ancestors().map(|dir| config_in(&dir.join(".cargo"))).filter(|p| p.exists()).collect();
    let cargo_home = c.ctx.var_path("CARGO_HOME").or_else(|| c.home.as_ref().map(|h| h.join(".cargo")));
    if let Some(file) = cargo_home.map(|home| config_in(&home)).filter(|file| !out.contains(file)) {
        out.push(file);
    }
    out
}

/// `DIR/config.toml`, or `DIR/config` where only that exists.
fn config_in(dir: &std::path::Path) -> PathBuf {
    let legacy = dir.join("config");
    if legacy.is_file() && !dir.join("config.toml").exists() { legacy } else { dir.join("config.toml") }
}
