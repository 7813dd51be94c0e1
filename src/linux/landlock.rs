//! Policy → Landlock: a pure translation into a [`LandlockPlan`] (handled
//! rights, rules, scopes, and what this ABI cannot enforce), then a small step
//! that creates the ruleset fd before fork. The child only calls
//! `landlock_restrict_self` on it.

use std::fmt;
use std::os::fd::OwnedFd;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use landlock::{
    ABI, Access, AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, PathBeneath, PathFd, Ruleset, RulesetAttr,
    RulesetCreatedAttr, Scope,
};

use crate::policy::{self, Policy, Source};

/// Rights that make up "reading".
fn read_rights() -> BitFlags<AccessFs> {
    AccessFs::ReadFile | AccessFs::ReadDir | AccessFs::Execute
}

/// Rights that make up "writing" (every one Landlock has up to ABI 7 but
/// the [`device_rights`], which no rule grants).
fn write_rights() -> BitFlags<AccessFs> {
    AccessFs::WriteFile
        | AccessFs::RemoveDir
        | AccessFs::RemoveFile
        | AccessFs::MakeDir
        | AccessFs::MakeReg
        | AccessFs::MakeSock
        | AccessFs::MakeFifo
        | AccessFs::MakeSym
        | AccessFs::Refer
        | AccessFs::Truncate
        | AccessFs::IoctlDev
}

/// TCP's rights (Landlock ABI 4): a network restriction handles both.
fn tcp_rights() -> BitFlags<AccessNet> {
    AccessNet::BindTcp | AccessNet::ConnectTcp
}

/// Creating device nodes: never granted anywhere.
fn device_rights() -> BitFlags<AccessFs> {
    AccessFs::MakeChar | AccessFs::MakeBlock
}

/// The first Linux release of each Landlock ABI.
pub fn linux_version_of(abi: u8) -> &'static str {
    match abi {
        1 => "5.13",
        2 => "5.19",
        3 => "6.2",
        4 => "6.7",
        5 => "6.10",
        6 => "6.12",
        7 => "6.15",
        _ => "a newer release",
    }
}

/// A restriction the policy asks for that this kernel cannot enforce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unenforced {
    /// What stays possible, e.g. "truncating files outside the writable paths".
    pub what: String,
    /// The Landlock ABI that brings it.
    pub needs_abi: u8,
}

impl fmt::Display for Unenforced {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (needs Landlock ABI {}, Linux {})", self.what, self.needs_abi, linux_version_of(self.needs_abi))
    }
}

/// One path rule as Landlock will see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedRule {
    pub path: PathBuf,
    pub rights: BitFlags<AccessFs>,
    pub source: Source,
}

/// Everything needed to build the ruleset, decided without touching the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LandlockPlan {
    /// The ABI the ruleset is built for (0: none).
    pub abi: u8,
    pub handled_fs: BitFlags<AccessFs>,
    pub handled_net: BitFlags<AccessNet>,
    pub scopes: BitFlags<Scope>,
    pub rules: Vec<PlannedRule>,
    /// What the policy asks of Landlock that this ABI lacks; the enforcement
    /// plan ([`super::enforcement`]) decides what covers each, if anything.
    pub unenforced: Vec<Unenforced>,
    /// ABI 1–4 under --deny-write without --deny-read: reading files is
    /// handled too and granted beneath every entry of `/` but `/dev`, and on
    /// the device files a sandbox needs ([`device_free_roots`]), so no other
    /// device can be opened — and so receive an ioctl, which only ABI 5 can
    /// deny on its own. Added by [`build`] (it reads `/` and `/dev`).
    pub narrow_devices: bool,
    /// The hidden paths (canonical): [`build`] splits every rule that
    /// would let them be read around them ([`split`]; it lists directories).
    pub hidden: Vec<PathBuf>,
}

impl LandlockPlan {
    /// Whether there is anything to restrict.
    pub fn is_empty(&self) -> bool {
        self.handled_fs.is_empty() && self.handled_net.is_empty() && self.scopes.is_empty()
    }
}

/// What other mechanisms take over from Landlock, decided by
/// [`super::enforcement::plan`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Choices {
    /// sbx's filter and supervisor keep truncation inside the writable
    /// paths, so TRUNCATE is not handled even where the ABI has it.
    pub truncate_elsewhere: bool,
}

fn abi_enum(abi: u8) -> ABI {
    ABI::from(i32::from(abi))
}

/// The smallest ABI that has every right in `rights` (1 if empty).
fn abi_needed_fs(right: AccessFs) -> u8 {
    (1..=7).find(|&abi| AccessFs::from_all(abi_enum(abi)).contains(right)).unwrap_or(8)
}

fn fs_right_effect(right: AccessFs) -> &'static str {
    match right {
        AccessFs::ReadFile => "reading files outside the readable paths",
        AccessFs::ReadDir => "listing directories outside the readable paths",
        AccessFs::Execute => "executing files outside the readable paths",
        AccessFs::WriteFile => "writing files outside the writable paths",
        AccessFs::RemoveDir | AccessFs::RemoveFile => "deleting outside the writable paths",
        AccessFs::MakeChar | AccessFs::MakeBlock => "creating device nodes",
        AccessFs::MakeDir | AccessFs::MakeReg | AccessFs::MakeSock | AccessFs::MakeFifo | AccessFs::MakeSym => {
            "creating files outside the writable paths"
        }
        AccessFs::Refer => "renaming and hard-linking files across directories",
        AccessFs::Truncate => TRUNCATING,
        AccessFs::IoctlDev => DEVICE_IOCTL,
        _ => "a filesystem access right",
    }
}

/// The effect of a missing TRUNCATE right.
pub const TRUNCATING: &str = "truncating files outside the writable paths";
/// The effect of a missing IOCTL_DEV right.
pub const DEVICE_IOCTL: &str = "ioctl on device files outside the writable paths";
/// The effect of missing scopes.
pub const SIGNALS: &str = "sending signals to processes outside the sandbox";
pub const ABSTRACT_SOCKETS: &str = "connecting to abstract unix sockets outside the sandbox";

/// Translates `policy` for a kernel offering Landlock ABI `abi` (0: none).
///
/// Every run gets a domain where the kernel has Landlock: besides what the
/// policy asks for, it keeps the command away from other processes'
/// memory, fds and environment (Landlock's ptrace scope). A domain refuses
/// renames and links across directories unless it grants REFER, even when
/// it handles no file access, so where writing is not denied REFER is
/// granted beneath `/` (ABI 2+; ABI 1 has no REFER and always refuses them).
pub fn plan(policy: &Policy, abi: u8, choices: Choices) -> LandlockPlan {
    let abi = abi.min(7);
    let kernel_fs = if abi == 0 { BitFlags::EMPTY } else { AccessFs::from_all(abi_enum(abi)) };

    let mut wanted_fs = BitFlags::EMPTY;
    // Hiding without --deny-read handles reading too, granted beneath `/`
    // and split around the hidden paths.
    let read_all = !policy.deny.read && !policy.hidden.is_empty();
    if policy.deny.read || read_all {
        wanted_fs |= read_rights();
    }
    if policy.deny.write {
        wanted_fs |= write_rights();
        if choices.truncate_elsewhere {
            wanted_fs &= !AccessFs::Truncate;
        }
    }
    if policy.deny.fs() {
        wanted_fs |= device_rights();
    }
    let mut handled_fs = wanted_fs & kernel_fs;
    let narrow_devices = policy.deny.write && !policy.deny.read && (1..5).contains(&abi);
    if narrow_devices {
        handled_fs |= AccessFs::ReadFile;
    }

    let mut unenforced = Vec::new();
    let mut seen = Vec::new();
    for right in (wanted_fs & !kernel_fs).iter() {
        let what = if read_all && read_rights().contains(right) { HIDING } else { fs_right_effect(right) };
        if !seen.contains(&what) {
            seen.push(what);
            unenforced.push(Unenforced { what: what.to_string(), needs_abi: abi_needed_fs(right) });
        }
    }

    // Scopes: signals always (sbx's baseline), abstract unix sockets always
    // when available; below ABI 6 the enforcement plan says what covers them.
    let mut scopes = BitFlags::EMPTY;
    if abi >= 6 {
        scopes = Scope::Signal | Scope::AbstractUnixSocket;
    } else {
        unenforced.push(Unenforced { what: SIGNALS.into(), needs_abi: 6 });
        if policy.net.is_restricted() {
            unenforced.push(Unenforced { what: ABSTRACT_SOCKETS.into(), needs_abi: 6 });
        }
    }

    // TCP bind/connect: a second layer under seccomp. Under --deny-net no
    // inet socket can be made; with --allow-net every connect and bind is
    // performed by the supervisor (outside this domain), so the command
    // itself never needs either.
    let handled_net = if policy.net.is_restricted() && abi >= 4 { tcp_rights() } else { BitFlags::EMPTY };

    let mut rules = Vec::new();
    if read_all && !handled_fs.is_empty() {
        // Device files stay closed where `narrow_devices` says so: reading
        // files is then granted on its roots instead.
        let rights = read_rights() & handled_fs & if narrow_devices { !AccessFs::ReadFile } else { BitFlags::ALL };
        rules.push(PlannedRule {
            path: PathBuf::from("/"),
            rights,
            source: Source::Default(crate::policy::hide::READ_ALL),
        });
    }
    if !handled_fs.is_empty() {
        let file_rights = AccessFs::from_file(abi_enum(abi));
        let supervised = policy.supervised_trees();
        for rule in &policy.paths {
            let mut rights = match policy.own_access(rule, &supervised) {
                policy::Access::Read => read_rights(),
                policy::Access::Write => read_rights() | write_rights(),
            };
            rights &= handled_fs & !device_rights();
            if !rule.is_dir {
                rights &= file_rights;
            }
            if !rights.is_empty() {
                rules.push(PlannedRule { path: rule.path.clone(), rights, source: rule.source.clone() });
            }
        }
    }
    if abi >= 2 && !handled_fs.contains(AccessFs::Refer) {
        handled_fs |= AccessFs::Refer;
        rules.push(PlannedRule {
            path: PathBuf::from("/"),
            rights: AccessFs::Refer.into(),
            source: Source::Default("renaming across directories is not restricted"),
        });
    } else if abi == 1 && handled_fs.is_empty() {
        // Any right makes a domain; grant it everywhere.
        handled_fs |= AccessFs::MakeBlock;
        rules.push(PlannedRule {
            path: PathBuf::from("/"),
            rights: AccessFs::MakeBlock.into(),
            source: Source::Default("a domain of its own, restricting no file access"),
        });
    }

    let hidden = if handled_fs.intersects(read_rights()) {
        policy.hidden.iter().map(|h| h.path.clone()).collect()
    } else {
        Vec::new()
    };
    LandlockPlan { abi, handled_fs, handled_net, scopes, rules, unenforced, narrow_devices, hidden }
}

/// The effect of hiding without Landlock.
pub const HIDING: &str = "reading the hidden paths";

/// What a hidden path never gets from a rule above it: reading files,
/// listing, executing.
fn hidden_rights() -> BitFlags<AccessFs> {
    AccessFs::ReadFile | AccessFs::ReadDir | AccessFs::Execute
}

/// An entry of a directory, for [`split`]: its path and whether it is a
/// directory. Symlinks are never listed: a rule on one would land on its
/// target, wherever that is (the target keeps the rights of its own place).
pub type Listing = Vec<(PathBuf, bool)>;

/// Splits each rule that covers a hidden path around it. Landlock can only
/// add rights, and a rule's rights reach everything beneath its directory;
/// so instead of the rule on the tree, its rights go to every entry of each
/// directory on the way down to a hidden path except the one on that way,
/// and the directories on the way (the rule's own included) keep only what
/// does not read: listing, and a write rule's write rights. Listing is
/// inherited, so the names inside a hidden directory can still be listed;
/// none of its files can be read or executed. Entries made later directly
/// in a split directory are covered by no rule of the tree: unreadable for
/// this run. `list` gives a directory's entries (`abi`'s file rights go to
/// the ones that are not directories). Rules on or beneath a hidden path
/// are kept as they are: they grant what they name.
pub fn split(
    rules: Vec<PlannedRule>,
    hidden: &[PathBuf],
    abi: u8,
    list: &dyn Fn(&Path) -> std::io::Result<Listing>,
) -> Result<Vec<PlannedRule>> {
    let file_rights = AccessFs::from_file(abi_enum(abi.clamp(1, 7)));
    let mut out = Vec::new();
    for rule in rules {
        let holes: Vec<&Path> =
            hidden.iter().filter(|h| h.starts_with(&rule.path) && **h != rule.path).map(PathBuf::as_path).collect();
        if holes.is_empty() || !rule.rights.intersects(hidden_rights()) {
            out.push(rule);
            continue;
        }
        split_dir(&rule.path, &rule, &holes, file_rights, list, &mut out)?;
    }
    Ok(out)
}

fn split_dir(
    dir: &Path,
    rule: &PlannedRule,
    holes: &[&Path],
    file_rights: BitFlags<AccessFs>,
    list: &dyn Fn(&Path) -> std::io::Result<Listing>,
    out: &mut Vec<PlannedRule>,
) -> Result<()> {
    let kept = rule.rights & !(AccessFs::ReadFile | AccessFs::Execute);
    if !kept.is_empty() {
        out.push(PlannedRule { path: dir.to_path_buf(), rights: kept, source: rule.source.clone() });
    }
    let entries = list(dir).with_context(|| {
        format!(
            "Landlock: listing {} to hide what lies inside it ({}); make it readable to sbx, or hide less",
            dir.display(),
            rule.source
        )
    })?;
    for (path, is_dir) in entries {
        if holes.contains(&path.as_path()) {
            continue;
        }
        if is_dir && holes.iter().any(|h| h.starts_with(&path)) {
            split_dir(&path, rule, holes, file_rights, list, out)?;
            continue;
        }
        let rights = if is_dir { rule.rights } else { rule.rights & file_rights };
        if !rights.is_empty() {
            out.push(PlannedRule { path, rights, source: rule.source.clone() });
        }
    }
    Ok(())
}

/// The entries of `dir` for [`split`], sorted; symlinks left out.
fn list_dir(dir: &Path) -> std::io::Result<Listing> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if !kind.is_symlink() {
            out.push((entry.path(), kind.is_dir()));
        }
    }
    out.sort();
    Ok(out)
}

/// Where reading files stays allowed when [`LandlockPlan::narrow_devices`]
/// is on: every entry of `/` except `/dev` (a file or directory; symlinks
/// are left to their targets, device nodes out), and in `/dev` the device
/// files every program may read — `random`, `urandom` — and the non-device
/// mounts `shm`, `mqueue` and `hugepages`. The write defaults under `/dev`
/// (`null`, `tty`, `pts`, …) are granted by their own rules.
pub fn device_free_roots() -> Vec<PathBuf> {
    let mut roots = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/") {
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else { continue };
            let path = entry.path();
            if path == Path::new("/dev") || kind.is_symlink() || kind.is_block_device() || kind.is_char_device() {
                continue;
            }
            roots.push(path);
        }
    }
    for name in ["random", "urandom", "shm", "mqueue", "hugepages"] {
        let path = Path::new("/dev").join(name);
        if std::fs::symlink_metadata(&path).is_ok_and(|m| !m.file_type().is_symlink()) {
            roots.push(path);
        }
    }
    roots.sort();
    roots
}

/// Creates the ruleset described by `plan`; `None` when there is nothing to
/// restrict. Every right is a hard requirement: `plan` already dropped what
/// this ABI lacks, so the crate must not silently drop anything more.
pub fn build(plan: &LandlockPlan) -> Result<Option<OwnedFd>> {
    if plan.is_empty() {
        return Ok(None);
    }
    let mut ruleset = Ruleset::default().set_compatibility(CompatLevel::HardRequirement);
    if !plan.handled_fs.is_empty() {
        ruleset = ruleset.handle_access(plan.handled_fs).context("Landlock: handling filesystem rights")?;
    }
    if !plan.handled_net.is_empty() {
        ruleset = ruleset.handle_access(plan.handled_net).context("Landlock: handling TCP rights")?;
    }
    if !plan.scopes.is_empty() {
        ruleset = ruleset.scope(plan.scopes).context("Landlock: setting scopes")?;
    }
    let mut created = ruleset.create().context("Landlock: creating the ruleset")?;
    let mut rules = plan.rules.clone();
    if plan.narrow_devices {
        // A root at or beneath a hidden path grants nothing of it.
        let roots = device_free_roots().into_iter().filter(|r| !plan.hidden.iter().any(|h| r.starts_with(h)));
        rules.extend(roots.map(|path| PlannedRule {
            path,
            rights: AccessFs::ReadFile.into(),
            source: Source::Default("everything but device files outside the defaults"),
        }));
    }
    let split_rules = !plan.hidden.is_empty();
    if split_rules {
        rules = split(rules, &plan.hidden, plan.abi, &list_dir)?;
    }
    for rule in &rules {
        if split_rules || plan.narrow_devices {
            tracing::debug!("landlock: {} {} ({})", describe(rule.rights), rule.path.display(), rule.source);
        }
        let fd = match PathFd::new(&rule.path) {
            Ok(fd) => fd,
            // A listed entry (or a device root) gone meanwhile: nothing to grant.
            Err(_) if !plan.rules.contains(rule) && !rule.path.exists() => continue,
            Err(err) => {
                return Err(err)
                    .with_context(|| format!("Landlock: opening {} ({})", rule.path.display(), rule.source));
            }
        };
        created = created
            .add_rule(PathBeneath::new(fd, rule.rights))
            .with_context(|| format!("Landlock: adding a rule for {} ({})", rule.path.display(), rule.source))?;
    }
    Ok(Option::<OwnedFd>::from(created))
}

/// Confines sbx itself — before fork, so the command's domain nests inside
/// this one — to a Landlock domain that only scopes abstract unix sockets.
/// When the supervisor performs an abstract connect or send for the command,
/// Landlock then lets it reach the sockets made inside the sandbox and
/// nothing else, exactly as for the command itself. Sets no_new_privs on sbx.
///
/// Every Landlock layer refuses renames and links across directories
/// (REFER) unless it grants them, even a layer that handles no file access
/// at all. This layer sits above the command's own, so it grants REFER
/// beneath `/`: file access stays decided by the command's layer alone.
pub fn confine_supervisor() -> Result<()> {
    let root = PathFd::new("/").context("Landlock: opening / for the supervisor's ruleset")?;
    let status = Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(AccessFs::Refer)
        .context("Landlock: handling REFER for the supervisor")?
        .scope(Scope::AbstractUnixSocket)
        .context("Landlock: scoping abstract unix sockets for the supervisor")?
        .create()
        .context("Landlock: creating the supervisor's ruleset")?
        .add_rule(PathBeneath::new(root, AccessFs::Refer))
        .context("Landlock: granting REFER beneath / in the supervisor's ruleset")?
        .restrict_self()
        .context("Landlock: confining the supervisor")?;
    if status.ruleset != landlock::RulesetStatus::FullyEnforced {
        anyhow::bail!("Landlock: the supervisor's abstract-socket scope is not fully enforced ({:?})", status.ruleset);
    }
    Ok(())
}

/// Human names of a set of rights, for `-v`.
pub fn describe(rights: BitFlags<AccessFs>) -> String {
    let reads = rights.intersects(AccessFs::ReadFile | AccessFs::ReadDir);
    let writes = rights.intersects(write_rights() | device_rights());
    let mut out = match (reads, writes) {
        (true, true) => "read+write".to_string(),
        (true, false) => "read".to_string(),
        (false, true) => "write".to_string(),
        (false, false) => String::new(),
    };
    if rights.contains(AccessFs::Execute) {
        out.push_str("+execute");
    }
    if !rights.contains(AccessFs::ReadDir) && !rights.intersects(AccessFs::MakeReg | AccessFs::RemoveFile) {
        out.push_str(" (file)");
    }
    out
}

#[cfg(test)]
mod tests;
