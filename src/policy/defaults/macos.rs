//! macOS's default paths, written canonically (on macOS `/etc`, `/var` and
//! `/tmp` are symlinks into `/private`, and Seatbelt matches the resolved
//! path), plus the defaults that depend on this Mac: the per-user temporary
//! and cache directories and the selected developer directory. Also compiled
//! in tests on every platform, for the macOS golden profiles. Unverified on a
//! real Mac: chosen from the layout Apple documents and the profiles of peers
//! that run on Macs every day (Codex, agent-sandbox.nix, nono, mise).

use std::path::{Path, PathBuf};

use crate::policy::Access;

/// System trees: the OS's own libraries, frameworks and resources
/// (`/System/Library`, and `/System/Cryptexes` where macOS 13+ keeps dyld's
/// shared cache and Safari) — not all of `/System`, whose `/System/Volumes/Data`
/// is a second spelling of the whole data volume; `/usr`, `/bin`, `/sbin`;
/// system-wide libraries and preferences (`/Library`); configuration
/// (`/private/etc`); the `/bin/sh` selector (`/private/var/select`); time
/// zones; dyld's closures; the Security framework's module database (`mds`,
/// which TLS needs); `/private/var/tmp`; Homebrew (`/opt/homebrew`; on Intel
/// it lives in `/usr/local`, under `/usr`), MacPorts (`/opt/local`) and Nix.
pub(crate) const SYSTEM_TREES: &[&str] = &[
    "/System/Library",
    "/System/Cryptexes",
    "/Library",
    "/usr",
    "/bin",
    "/sbin",
    "/private/etc",
    "/private/var/select",
    "/private/var/db/timezone",
    "/private/var/db/dyld",
    "/private/var/db/mds",
    "/private/var/tmp",
    "/opt/homebrew",
    "/opt/local",
    "/nix/store",
];

/// macOS has no /proc or /sys; `sysctl` is not a file.
pub(crate) const KERNEL_TREES: &[&str] = &[];

/// The device nodes a command needs (`/dev/fd/N` duplicates an open
/// descriptor; `/dev/autofs_nowait` is how libSystem looks paths up without
/// triggering the automounter). The command's own terminal (`/dev/ttysNNN`)
/// is granted by the profile, not here. Deliberately not all of /dev.
pub(crate) const DEV_READ: &[&str] = &[
    "/dev/null",
    "/dev/zero",
    "/dev/random",
    "/dev/urandom",
    "/dev/tty",
    "/dev/ptmx",
    "/dev/fd",
    "/dev/dtracehelper",
    "/dev/autofs_nowait",
];

/// The device nodes that stay writable under `--deny-write` (data writes
/// only: the profile grants no chmod, unlink or rename of a device node).
pub(crate) const DEV_WRITE: &[&str] =
    &["/dev/null", "/dev/zero", "/dev/tty", "/dev/ptmx", "/dev/fd", "/dev/dtracehelper"];

/// Files that are symlinks out of the system trees, or single files in
/// trees that are not granted whole: their targets must be readable too.
/// `systemkeychaincheck.done` is read by the Security framework before TLS
/// trust evaluation; `recordStore.data` is the local user and group database
/// of recent macOS (`getpwuid`); `xcode_select_link` points at the active
/// developer directory (Xcode or the Command Line Tools), which the
/// `/usr/bin` shims of `git`, `cc`, `make`… run from (its whole bundle is
/// granted by [`extra_paths`]).
pub(crate) const ESSENTIAL_FILES: &[&str] = &[
    "/private/etc/resolv.conf",
    "/private/etc/hosts",
    "/private/etc/localtime",
    "/private/etc/passwd",
    "/private/etc/group",
    "/private/etc/ssl/cert.pem",
    "/private/var/run/systemkeychaincheck.done",
    "/private/var/db/DarwinDirectory/local/recordStore.data",
    "/private/var/db/xcode_select_link",
];

/// What this Mac says about the defaults that depend on it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Facts {
    /// `confstr(_CS_DARWIN_USER_TEMP_DIR)`: `/private/var/folders/…/T`.
    pub user_temp: Option<PathBuf>,
    /// `confstr(_CS_DARWIN_USER_CACHE_DIR)`: `/private/var/folders/…/C`,
    /// where clang's and Swift's module caches live.
    pub user_cache: Option<PathBuf>,
    /// The selected developer directory: `$DEVELOPER_DIR`, else the target
    /// of `/private/var/db/xcode_select_link`.
    pub developer_dir: Option<PathBuf>,
    pub home: Option<PathBuf>,
}

/// The defaults that depend on this Mac (pure): the per-user temporary and
/// cache directories, readable and writable — they exist in every session,
/// with or without `$TMPDIR` (which SSH and CI sessions often lack) — and the
/// whole developer bundle, readable (`…/Xcode.app`, not only its
/// `Contents/Developer`: its toolchains load frameworks from elsewhere in the
/// bundle). A directory that is `/` or contains the home directory is never
/// granted.
pub(crate) fn extra_paths(facts: &Facts) -> Vec<(PathBuf, Access, &'static str)> {
    let safe = |dir: &Path| dir.is_absolute() && !crate::policy::covers_home(dir, facts.home.as_deref());
    let mut out = Vec::new();
    if let Some(dir) = facts.user_temp.as_deref().filter(|d| safe(d)) {
        out.push((dir.to_path_buf(), Access::Write, "per-user temporary directory"));
    }
    if let Some(dir) = facts.user_cache.as_deref().filter(|d| safe(d)) {
        out.push((dir.to_path_buf(), Access::Write, "per-user cache directory (clang and Swift module caches)"));
    }
    if let Some(root) = facts.developer_dir.as_deref().map(developer_root).filter(|d| safe(d)) {
        out.push((root, Access::Read, "selected developer directory (xcode-select)"));
    }
    out
}

/// The bundle a developer directory belongs to: the innermost `*.app`
/// among it and its ancestors (`/Applications/Xcode.app/Contents/Developer`
/// → `/Applications/Xcode.app`), else the directory itself
/// (`/Library/Developer/CommandLineTools`).
pub(crate) fn developer_root(dir: &Path) -> PathBuf {
    dir.ancestors().find(|a| a.extension().is_some_and(|e| e == "app")).unwrap_or(dir).to_path_buf()
}

/// The defaults that depend on this Mac, found and resolved.
#[cfg(target_os = "macos")]
pub(super) fn extra(ctx: &crate::policy::Surroundings) -> Vec<(PathBuf, Access, &'static str)> {
    use crate::macos::sys;
    let resolved = |path: &Path| crate::paths::resolve(path).ok().map(|r| r.path);
    let developer_dir = ctx
        .var_path("DEVELOPER_DIR")
        .and_then(|d| resolved(&d))
        .or_else(|| resolved(Path::new("/private/var/db/xcode_select_link")));
    let facts = Facts {
        user_temp: sys::user_temp_dir().and_then(|d| resolved(&d)),
        user_cache: sys::user_cache_dir().and_then(|d| resolved(&d)),
        developer_dir,
        home: ctx.home(),
    };
    extra_paths(&facts)
}

#[cfg(test)]
mod tests;
