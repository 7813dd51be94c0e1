//! Linux's default paths (also the fallback of platforms without their own).

use std::path::PathBuf;

use crate::policy::{Access, Surroundings};

/// System trees: programs, libraries, configuration.
pub(super) const SYSTEM_TREES: &[&str] =
    &["/usr", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin", "/etc", "/nix/store", "/snap"];

/// Kernel interfaces most programs read.
pub(super) const KERNEL_TREES: &[&str] = &["/proc", "/sys"];

/// The device nodes a command needs. Deliberately not all of /dev: a root
/// command must not read (or write) raw disks or memory devices — nor the
/// other terminals of /dev/pts (typing into another session, reading its
/// keystrokes): only the one sbx runs on ([`extra`]) and `ptmx`, which
/// makes new ones (a program opens its new terminal through the master,
/// TIOCGPTPEER, as glibc's openpty does).
pub(super) const DEV_READ: &[&str] = &[
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
    "/dev/tty",
    "/dev/ptmx",
    "/dev/pts/ptmx",
    "/dev/shm",
];

/// The device nodes that stay writable under `--deny-write`.
pub(super) const DEV_WRITE: &[&str] =
    &["/dev/null", "/dev/zero", "/dev/full", "/dev/tty", "/dev/ptmx", "/dev/pts/ptmx", "/dev/shm"];

/// Files in /etc that are often symlinks out of the system trees (to /run,
/// /var, …): their targets must be readable too.
pub(super) const ESSENTIAL_FILES: &[&str] = &[
    "/etc/resolv.conf",
    "/etc/hosts",
    "/etc/localtime",
    "/etc/nsswitch.conf",
    "/etc/mtab",
    "/etc/os-release",
    "/etc/passwd",
    "/etc/group",
    "/etc/ld.so.cache",
    "/etc/ssl/certs/ca-certificates.crt",
];

/// Defaults that depend on the process beyond its environment: the
/// terminals sbx's stdin, stdout and stderr are (the command gets those fds
/// anyway; this lets it open them again by name, as `/dev/stderr` and
/// programs that look up their tty do).
pub(super) fn extra(_ctx: &Surroundings) -> Vec<(PathBuf, Access, &'static str)> {
    let mut out: Vec<(PathBuf, Access, &'static str)> = Vec::new();
    for fd in 0..3 {
        let Ok(target) = std::fs::read_link(format!("/proc/self/fd/{fd}")) else { continue };
        let terminal = target.starts_with("/dev/pts/") && target != std::path::Path::new("/dev/pts/ptmx")
            || target.to_str().is_some_and(|t| t.starts_with("/dev/tty") || t == "/dev/console");
        if terminal && !out.iter().any(|(p, _, _)| *p == target) {
            out.push((target, Access::Write, TERMINAL));
        }
    }
    out
}

/// The source of the rule for sbx's own terminal.
pub(crate) const TERMINAL: &str = "the terminal sbx runs on";
