//! Which capabilities a command running as root keeps: the few a build,
//! test or install job needs (owners and modes of its files, switching
//! users, low ports). Everything else — the powers that reach past the
//! policy: other processes' memory and /proc files, the clock, the network
//! configuration, raw I/O, kernel modules, the terminal's line settings —
//! is dropped from the bounding, permitted, effective, inheritable and
//! ambient sets before the command starts, as a layer under the seccomp
//! rules. A command without capabilities (not root) is left as it is.

/// The capabilities a command keeps, with why.
pub const KEPT: &[(u32, &str, &str)] = &[
    (0, "CAP_CHOWN", "chown of its own files in the writable paths (tar, dpkg, install -o)"),
    (1, "CAP_DAC_OVERRIDE", "root's file access (the sandbox's rules still decide where)"),
    (3, "CAP_FOWNER", "chmod and utimes of files it does not own (in the writable paths)"),
    (4, "CAP_FSETID", "keeping set-id bits when it changes its files"),
    (5, "CAP_KILL", "signals to its own processes of other users (never outside the sandbox)"),
    (6, "CAP_SETGID", "switching groups (su, apt's _apt, setpriv)"),
    (7, "CAP_SETUID", "switching users (su, apt's _apt, setpriv)"),
    (10, "CAP_NET_BIND_SERVICE", "binding ports below 1024 (where the network rules allow)"),
    (29, "CAP_AUDIT_WRITE", "login tools writing to the audit log"),
];

/// Names of the capabilities it loses, by number (up to 40).
pub const NAMES: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// The kept capabilities as a mask.
pub fn kept_mask() -> u64 {
    KEPT.iter().fold(0, |m, &(cap, _, _)| m | 1 << cap)
}

/// The name of capability `cap`.
pub fn name(cap: u32) -> String {
    NAMES.get(cap as usize).map_or_else(|| format!("capability {cap}"), |n| (*n).to_owned())
}

/// The names of the capabilities in `mask`.
pub fn names(mask: u64) -> Vec<String> {
    (0..64).filter(|c| mask & (1 << c) != 0).map(name).collect()
}

/// What to drop for a command started by a process with these sets
/// (`None`: it has nothing beyond what it keeps).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Drop {
    /// The highest capability number the kernel knows.
    pub last: u32,
    /// Sets for the command: effective = permitted = `keep & permitted`,
    /// inheritable = `keep & inheritable`.
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
    /// What the bounding set loses (everything not kept).
    pub dropped: u64,
}

impl Drop {
    /// The drop for a process whose sets are these, on a kernel whose last
    /// capability is `last`; `None` if there is nothing to drop (no
    /// capability beyond the kept ones in any set, bounding included — then
    /// the command could gain none either).
    pub fn of(effective: u64, permitted: u64, inheritable: u64, bounding: u64, last: u32) -> Option<Self> {
        let keep = kept_mask();
        let all = if last >= 63 { u64::MAX } else { (1u64 << (last + 1)) - 1 };
        let extra = (effective | permitted | inheritable) & !keep;
        // The bounding set matters only to a process that could gain a
        // capability, which no_new_privs already rules out; dropping it
        // needs CAP_SETPCAP, which only a capable process has.
        if extra == 0 && (bounding & !keep & all == 0 || permitted == 0) {
            return None;
        }
        Some(Self {
            last,
            effective: effective & keep,
            permitted: permitted & keep,
            inheritable: inheritable & keep,
            dropped: all & !keep,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_by_number() {
        for &(cap, name, why) in KEPT {
            assert_eq!(NAMES[cap as usize], name);
            assert!(!why.is_empty());
        }
        assert_eq!(name(21), "CAP_SYS_ADMIN");
        assert_eq!(name(99), "capability 99");
    }

    #[test]
    fn root_keeps_only_the_listed_and_a_user_drops_nothing() {
        let all = (1u64 << 41) - 1;
        let d = Drop::of(all, all, 0, all, 40).unwrap();
        assert_eq!(d.effective, kept_mask());
        assert_eq!(d.permitted, kept_mask());
        assert_eq!(d.inheritable, 0);
        assert_eq!(d.dropped, all & !kept_mask());
        for dropped in
            ["CAP_SYS_ADMIN", "CAP_SYS_PTRACE", "CAP_PERFMON", "CAP_NET_ADMIN", "CAP_SYS_TIME", "CAP_NET_RAW"]
        {
            assert!(names(d.dropped).iter().any(|n| n == dropped), "{dropped}");
        }
        // An ordinary user: empty sets (the bounding set is full but no
        // capability can be gained under no_new_privs): nothing to do.
        assert_eq!(Drop::of(0, 0, 0, all, 40), None);
    }
}
