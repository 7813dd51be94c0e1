//! macOS's default paths. Written as the caller would type them; resolving
//! them yields the canonical form the sandbox matches (`/etc` →
//! `/private/etc`, `/var` → `/private/var`, `/tmp` → `/private/tmp`).
//! Unverified on a real Mac: chosen from the layout Apple documents and peers
//! (Codex, mise) grant.

/// System trees: the OS (`/System`, `/usr`, `/bin`, `/sbin`), system-wide
/// libraries and preferences (`/Library`), configuration (`/etc`), the
/// `/bin/sh` selector (`/var/select`), time zones, Homebrew (`/opt/homebrew`;
/// on Intel it lives in `/usr/local`, under `/usr`) and Nix.
pub(super) const SYSTEM_TREES: &[&str] = &[
    "/System",
    "/Library",
    "/usr",
    "/bin",
    "/sbin",
    "/etc",
    "/var/select",
    "/var/db/timezone",
    "/opt/homebrew",
    "/nix/store",
];

/// macOS has no /proc or /sys; `sysctl` is not a file.
pub(super) const KERNEL_TREES: &[&str] = &[];

/// The device nodes a command needs (`/dev/fd/N` duplicates an open
/// descriptor). The controlling terminal's `/dev/ttysNNN` is granted by a
/// fixed rule of the profile, not here. Deliberately not all of /dev.
pub(super) const DEV_READ: &[&str] =
    &["/dev/null", "/dev/zero", "/dev/random", "/dev/urandom", "/dev/tty", "/dev/ptmx", "/dev/fd", "/dev/dtracehelper"];

/// The device nodes that stay writable under `--deny-write`.
pub(super) const DEV_WRITE: &[&str] =
    &["/dev/null", "/dev/zero", "/dev/tty", "/dev/ptmx", "/dev/fd", "/dev/dtracehelper"];

/// Files that are symlinks out of the system trees: their targets must be
/// readable too. `xcode_select_link` points at the active developer
/// directory (Xcode or the Command Line Tools), which the `/usr/bin` shims of
/// `git`, `cc`, `make`… run from.
pub(super) const ESSENTIAL_FILES: &[&str] = &[
    "/etc/resolv.conf",
    "/etc/hosts",
    "/etc/localtime",
    "/etc/passwd",
    "/etc/group",
    "/etc/ssl/cert.pem",
    "/var/db/xcode_select_link",
];
