//! The built-in exceptions: what stays readable under `--deny-read` and
//! writable under `--deny-write` so ordinary commands keep working. Only paths
//! that exist become rules; every path is canonical (on macOS that turns
//! `/tmp`, `/etc` and `/var` into `/private/…`). The paths themselves are per
//! platform (`linux` or `macos`); the version-manager table is shared.

use std::path::{Path, PathBuf};

use crate::paths;

use super::{Access, PathRule, Source, Surroundings, covers_home, rule};

// The platform's paths: system trees, kernel interfaces, device nodes,
// essential files and the defaults that depend on the machine. Only that
// platform's module is used; macOS's is also compiled in tests, for the
// macOS golden profiles.
#[cfg(any(target_os = "macos", test))]
pub(crate) mod macos;
#[cfg(target_os = "macos")]
use macos as platform;
#[cfg(not(target_os = "macos"))]
mod linux;
#[cfg(not(target_os = "macos"))]
use linux as platform;

use platform::{DEV_READ, DEV_WRITE, ESSENTIAL_FILES, KERNEL_TREES, SYSTEM_TREES};

/// The source of the temporary-directory defaults (`/tmp`, `$TMPDIR`).
pub(crate) const TEMPORARY: &str = "temporary directory";

/// The source of the device-node defaults (the macOS profile grants them data
/// writes only).
pub(crate) const DEVICE_NODE: &str = "device node";

/// Install roots of version managers, relative to their home: `(variable that
/// overrides the root, default root under $HOME, entries to grant)`. Only
/// program trees, never a manager's whole directory (which may hold
/// credentials, like `~/.cargo/credentials.toml`).
const VERSION_MANAGERS: &[(&str, &str, &[&str])] = &[
    ("RUSTUP_HOME", ".rustup", &["toolchains", "settings.toml"]),
    ("CARGO_HOME", ".cargo", &["bin"]),
    ("PYENV_ROOT", ".pyenv", &["bin", "libexec", "plugins", "pyenv.d", "shims", "versions", "version"]),
    ("RBENV_ROOT", ".rbenv", &["bin", "libexec", "plugins", "rbenv.d", "shims", "versions", "version"]),
    ("NVM_DIR", ".nvm", &["versions", "alias", "nvm.sh"]),
    ("ASDF_DATA_DIR", ".asdf", &["bin", "lib", "installs", "shims", "plugins", "asdf.sh"]),
    ("MISE_DATA_DIR", ".local/share/mise", &["installs", "shims", "plugins"]),
    ("VOLTA_HOME", ".volta", &["bin", "tools"]),
    ("SDKMAN_DIR", ".sdkman", &["candidates", "bin", "libexec"]),
    ("GOENV_ROOT", ".goenv", &["bin", "libexec", "shims", "versions", "version"]),
    ("FNM_DIR", ".local/share/fnm", &["node-versions", "aliases"]),
    ("UV_PYTHON_INSTALL_DIR", ".local/share/uv/python", &["."]),
    ("", ".nix-profile", &["."]),
];

const ESSENTIAL: Source = Source::Default("target of an essential /etc file");

/// Readable under `--deny-read`; `/tmp` and `$TMPDIR` only if `shared_temp`
/// (a private temporary directory replaces them).
pub(super) fn read(ctx: &Surroundings, shared_temp: bool) -> Vec<PathRule> {
    let home = ctx.home();
    let mut out = Vec::new();
    let mut add = |path: &Path, source: Source| {
        if let Ok(resolved) = paths::resolve(path) {
            out.push(rule(resolved, Access::Read, source));
        }
    };
    for tree in SYSTEM_TREES {
        add(Path::new(tree), Source::Default("system tree"));
    }
    for tree in KERNEL_TREES {
        add(Path::new(tree), Source::Default("kernel interface"));
    }
    for node in DEV_READ {
        add(Path::new(node), Source::Default(DEVICE_NODE));
    }
    let temp = if shared_temp { temp_dirs(ctx) } else { Vec::new() };
    for dir in temp {
        add(&dir, Source::Default(TEMPORARY));
    }
    for (path, _, why) in platform::extra(ctx) {
        add(&path, Source::Default(why));
    }
    for file in ESSENTIAL_FILES {
        add(Path::new(file), ESSENTIAL);
    }
    for dir in path_dirs(ctx) {
        add(&dir, Source::Default("PATH directory"));
    }
    if let Some(home) = &home {
        for (var, default_root, entries) in VERSION_MANAGERS {
            let root =
                (!var.is_empty()).then(|| ctx.var_path(var)).flatten().unwrap_or_else(|| home.join(default_root));
            // One look at the root first: most managers are not installed.
            if !root.exists() {
                continue;
            }
            for entry in *entries {
                add(&root.join(entry), Source::Default("version manager install root"));
            }
        }
    }
    // A symlinked essential resolves to its target; keep only targets that no
    // directory rule already covers (e.g. /etc/mtab → /proc/self/mounts).
    let trees: Vec<PathBuf> = out.iter().filter(|r| r.is_dir).map(|r| r.path.clone()).collect();
    out.retain(|r| r.source != ESSENTIAL || !trees.iter().any(|t| r.path.starts_with(t)));
    out
}

/// Writable under `--deny-write`; `/tmp` and `$TMPDIR` only if
/// `shared_temp` (a private temporary directory replaces them).
pub(super) fn write(ctx: &Surroundings, shared_temp: bool) -> Vec<PathRule> {
    let mut out = Vec::new();
    let temp = if shared_temp { temp_dirs(ctx) } else { Vec::new() };
    for dir in temp {
        if let Ok(resolved) = paths::resolve(&dir) {
            out.push(rule(resolved, Access::Write, Source::Default(TEMPORARY)));
        }
    }
    for (path, _, why) in platform::extra(ctx).into_iter().filter(|(_, access, _)| *access == Access::Write) {
        if let Ok(resolved) = paths::resolve(&path) {
            out.push(rule(resolved, Access::Write, Source::Default(why)));
        }
    }
    for node in DEV_WRITE {
        if let Ok(resolved) = paths::resolve(Path::new(node)) {
            out.push(rule(resolved, Access::Write, Source::Default(DEVICE_NODE)));
        }
    }
    out
}

/// `/tmp` and `$TMPDIR` — unless `$TMPDIR` is `/` or the home directory (or
/// above it), which would open far more than a temp directory.
pub(super) fn temp_dirs(ctx: &Surroundings) -> Vec<PathBuf> {
    let mut dirs = vec![PathBuf::from("/tmp")];
    if let Some(tmpdir) = ctx.var_path("TMPDIR") {
        let canonical = paths::resolve(&tmpdir).map(|r| r.path).unwrap_or(tmpdir);
        if covers_home(&canonical, ctx.home().as_deref()) {
            eprintln!(
                "sbx: warning: TMPDIR={} is not treated as a temporary directory (it contains the home directory); \
                 allow it explicitly if you mean it",
                canonical.display()
            );
        } else {
            dirs.push(canonical);
        }
    }
    dirs
}

/// Each absolute `PATH` directory, except `/` and the home directory or its
/// ancestors (which would make the whole home readable).
fn path_dirs(ctx: &Surroundings) -> Vec<PathBuf> {
    let home = ctx.home();
    let Some(path) = ctx.var("PATH") else { return Vec::new() };
    std::env::split_paths(path)
        .filter(|dir| dir.is_absolute())
        .filter_map(|dir| paths::resolve(&dir).ok().map(|r| r.path))
        .filter(|dir| {
            let skip = covers_home(dir, home.as_deref());
            if skip {
                tracing::debug!(dir = %dir.display(), "PATH directory not made readable: it contains the home directory");
            }
            !skip
        })
        .collect()
}
