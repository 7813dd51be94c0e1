use std::path::PathBuf;

use super::*;
use crate::policy::{Access as PathAccess, Deny, Net, PathRule, Policy, Source};

fn policy(deny: Deny, net: Net, paths: Vec<PathRule>) -> Policy {
    Policy::for_test(deny, net, paths)
}

fn dir(path: &str, access: PathAccess) -> PathRule {
    PathRule { path: PathBuf::from(path), is_dir: true, access, source: Source::Flag("--test") }
}

fn file(path: &str, access: PathAccess) -> PathRule {
    PathRule { path: PathBuf::from(path), is_dir: false, access, source: Source::Flag("--test") }
}

fn plan(p: &Policy, abi: u8) -> LandlockPlan {
    super::plan(p, abi, Choices::default())
}

/// The rule granting REFER beneath `/` (renames across directories where
/// writing is not denied), if the plan has one.
fn refer_root(plan: &LandlockPlan) -> bool {
    plan.rules.iter().any(|r| r.path == std::path::Path::new("/") && r.rights == AccessFs::Refer)
}

const WRITE_ONLY: Deny = Deny { read: false, write: true, net: false, env: false };
const READ_ONLY: Deny = Deny { read: true, write: false, net: false, env: false };

#[test]
fn deny_write_handles_every_write_right_at_abi7() {
    let p = policy(WRITE_ONLY, Net::Unrestricted, vec![dir("/w", PathAccess::Write), dir("/r", PathAccess::Read)]);
    let plan = plan(&p, 7);
    assert_eq!(plan.handled_fs, write_rights(), "{plan:#?}");
    assert!(!plan.handled_fs.intersects(read_rights()), "reads must not pay Landlock cost: {plan:#?}");
    assert!(plan.unenforced.is_empty(), "{plan:#?}");
    assert_eq!(plan.scopes, Scope::Signal | Scope::AbstractUnixSocket);
    assert!(plan.handled_net.is_empty());
    assert!(!plan.narrow_devices);
    // The read rule means nothing without --deny-read and is dropped.
    assert_eq!(plan.rules.len(), 1, "{plan:#?}");
    assert_eq!(plan.rules[0].rights, write_rights() & !device_rights(), "{plan:#?}");
    assert!(!refer_root(&plan), "writing is denied: REFER only where writable");
}

#[test]
fn truncation_can_be_left_to_the_supervisor() {
    let p = policy(WRITE_ONLY, Net::Unrestricted, vec![dir("/w", PathAccess::Write)]);
    let plan = super::plan(&p, 7, Choices { truncate_elsewhere: true });
    assert!(!plan.handled_fs.contains(AccessFs::Truncate), "{plan:#?}");
    assert!(plan.rules.iter().all(|r| !r.rights.contains(AccessFs::Truncate)), "{plan:#?}");
    assert!(plan.unenforced.is_empty(), "{plan:#?}");
}

#[test]
fn devices_are_never_creatable() {
    for deny in [WRITE_ONLY, READ_ONLY] {
        let p = policy(deny, Net::Unrestricted, vec![dir("/w", PathAccess::Write)]);
        let plan = plan(&p, 7);
        assert!(plan.handled_fs.contains(device_rights()), "{plan:#?}");
        assert!(plan.rules.iter().all(|r| !r.rights.intersects(device_rights())), "{plan:#?}");
    }
}

#[test]
fn deny_read_only_handles_reads_and_devices_and_keeps_renames() {
    let p = policy(READ_ONLY, Net::Unrestricted, vec![dir("/r", PathAccess::Read), file("/f", PathAccess::Read)]);
    let plan = plan(&p, 7);
    assert_eq!(plan.handled_fs, read_rights() | device_rights() | AccessFs::Refer, "{plan:#?}");
    assert_eq!(plan.rules[0].rights, read_rights(), "{plan:#?}");
    // A file rule carries only file rights (no ReadDir).
    assert_eq!(plan.rules[1].rights, AccessFs::ReadFile | AccessFs::Execute, "{plan:#?}");
    // Every layer refuses renames across directories unless it grants REFER.
    assert!(refer_root(&plan), "{plan:#?}");
}

#[test]
fn old_abis_name_what_they_cannot_enforce() {
    let p = policy(WRITE_ONLY, Net::Denied, vec![dir("/w", PathAccess::Write)]);
    let plan = plan(&p, 2);
    let text: Vec<String> = plan.unenforced.iter().map(ToString::to_string).collect();
    let joined = text.join("\n");
    assert!(joined.contains("truncating files") && joined.contains("ABI 3, Linux 6.2"), "{joined}");
    assert!(joined.contains("ioctl on device files") && joined.contains("ABI 5"), "{joined}");
    assert!(joined.contains("signals") && joined.contains("ABI 6, Linux 6.12"), "{joined}");
    assert!(joined.contains("abstract unix sockets"), "{joined}");
    assert!(plan.scopes.is_empty());
    assert!(plan.handled_net.is_empty(), "TCP rights need ABI 4: {plan:#?}");
    assert!(!plan.handled_fs.contains(AccessFs::Truncate));
    assert!(plan.handled_fs.contains(AccessFs::Refer));
}

#[test]
fn below_abi_5_deny_write_keeps_device_files_closed() {
    let p = policy(WRITE_ONLY, Net::Unrestricted, vec![dir("/w", PathAccess::Write)]);
    for abi in 1..=4 {
        let plan = plan(&p, abi);
        assert!(plan.narrow_devices, "ABI {abi}: {plan:#?}");
        assert!(plan.handled_fs.contains(AccessFs::ReadFile), "ABI {abi}: {plan:#?}");
        // The writable tree stays readable.
        assert!(plan.rules[0].rights.contains(AccessFs::ReadFile), "ABI {abi}: {plan:#?}");
    }
    assert!(!plan(&p, 5).narrow_devices);
    // Under --deny-read the read rules already keep /dev narrow.
    let p = policy(Deny { read: true, write: true, ..Deny::default() }, Net::Unrestricted, vec![]);
    assert!(!plan(&p, 3).narrow_devices);
    let roots = device_free_roots();
    assert!(
        roots.iter().all(|r| !r.starts_with("/dev")
            || r.ends_with("random")
            || r.ends_with("urandom")
            || r.ends_with("shm")
            || r.ends_with("mqueue")
            || r.ends_with("hugepages")),
        "{roots:?}"
    );
    assert!(roots.iter().any(|r| r == std::path::Path::new("/usr")), "{roots:?}");
}

#[test]
fn every_abi_gets_a_domain_that_keeps_renames() {
    let p = policy(Deny::default(), Net::Unrestricted, vec![]);
    for abi in 2..=5 {
        let plan = plan(&p, abi);
        assert!(!plan.is_empty() && refer_root(&plan), "ABI {abi}: {plan:#?}");
    }
    // ABI 1 has no REFER: any domain refuses renames across directories.
    let plan = plan(&p, 1);
    assert!(!plan.is_empty(), "{plan:#?}");
    assert!(plan.rules.iter().all(|r| r.path == std::path::Path::new("/")), "{plan:#?}");
}

#[test]
fn no_landlock_means_everything_unenforced() {
    let p = policy(Deny { read: true, write: true, net: true, env: true }, Net::Denied, vec![]);
    let plan = plan(&p, 0);
    assert!(plan.is_empty(), "{plan:#?}");
    let joined: Vec<String> = plan.unenforced.iter().map(ToString::to_string).collect();
    let joined = joined.join("\n");
    for what in ["reading files", "writing files", "creating device nodes", "signals"] {
        assert!(joined.contains(what), "{what} not named:\n{joined}");
    }
}

#[test]
fn deny_net_adds_tcp_layer() {
    let p = policy(Deny { net: true, ..Deny::default() }, Net::Denied, vec![]);
    let plan = plan(&p, 4);
    assert_eq!(plan.handled_net, AccessNet::BindTcp | AccessNet::ConnectTcp);
    assert_eq!(plan.handled_fs, AccessFs::Refer);
    let p = policy(Deny { net: true, ..Deny::default() }, Net::Unrestricted, vec![]);
    assert!(super::plan(&p, 7, Choices::default()).handled_net.is_empty());
}

#[test]
fn allow_net_keeps_the_tcp_layer_for_the_command() {
    let rules = vec![crate::policy::NetRule::parse("127.0.0.1:80").unwrap()];
    let p = policy(Deny { net: true, ..Deny::default() }, Net::Allow(rules), vec![]);
    let plan = plan(&p, 7);
    assert_eq!(plan.handled_net, AccessNet::BindTcp | AccessNet::ConnectTcp, "{plan:#?}");
    assert!(plan.scopes.contains(Scope::AbstractUnixSocket));
}

#[test]
fn baseline_is_scopes_and_a_rename_grant() {
    let p = policy(Deny::default(), Net::Unrestricted, vec![]);
    let plan = plan(&p, 7);
    assert!(plan.handled_net.is_empty());
    assert_eq!(plan.handled_fs, AccessFs::Refer);
    assert!(refer_root(&plan));
    let plan_old = super::plan(&p, 5, Choices::default());
    assert_eq!(plan_old.unenforced.len(), 1, "{plan_old:#?}");
}

#[test]
fn abi_version_names() {
    assert_eq!(linux_version_of(6), "6.12");
    assert_eq!(abi_needed_fs(AccessFs::Truncate), 3);
    assert_eq!(abi_needed_fs(AccessFs::IoctlDev), 5);
    assert_eq!(abi_needed_fs(AccessFs::Refer), 2);
    assert_eq!(abi_needed_fs(AccessFs::WriteFile), 1);
}
