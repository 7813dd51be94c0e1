//! Linux's default paths (also the fallback of platforms without their own).

use std::path::PathBuf;

use crate::policy::{Access, Surroundings};

/// System trees: programs, libraries, configuration.
pub(super) const SYSTEM_TREES: &[&str] =
    &["/usr", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin", "/etc", "/nix/store", "/snap"];

/// Kernel interfaces most programs read.
pub(super) const KERNEL_TREES: &[&str] = &["/proc", "/sys"];

/// The device nodes a command needs. Deliberately not all of /dev: a root
/// command must not read (or write) raw disks or memory devices.
pub(super) const DEV_READ: &[&str] = &[
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
    "/dev/tty",
    "/dev/ptmx",
    "/dev/pts",
    "/dev/shm",
];

/// The device nodes that stay writable under `--deny-write`.
pub(super) const DEV_WRITE: &[&str] =
    &["/dev/null", "/dev/zero", "/dev/full", "/dev/tty", "/dev/ptmx", "/dev/pts", "/dev/shm"];

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

/// Defaults that depend on the machine beyond the environment: none here.
pub(super) fn extra(_ctx: &Surroundings) -> Vec<(PathBuf, Access, &'static str)> {
    Vec::new()
}
