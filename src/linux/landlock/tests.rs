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
    // The read rule means nothing without --deny-read and is dropped.
    assert_eq!(plan.rules.len(), 1, "{plan:#?}");
    assert_eq!(plan.rules[0].rights, write_rights() & !device_rights(), "{plan:#?}");
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
fn deny_read_only_handles_reads_and_devices() {
    let p = policy(READ_ONLY, Net::Unrestricted, vec![dir("/r", PathAccess::Read), file("/f", PathAccess::Read)]);
    let plan = plan(&p, 7);
    assert_eq!(plan.handled_fs, read_rights() | device_rights(), "{plan:#?}");
    assert_eq!(plan.rules[0].rights, read_rights(), "{plan:#?}");
    // A file rule carries only file rights (no ReadDir).
    assert_eq!(plan.rules[1].rights, AccessFs::ReadFile | AccessFs::Execute, "{plan:#?}");
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
    assert!(plan.handled_fs.is_empty());
    let p = policy(Deny { net: true, ..Deny::default() }, Net::Unrestricted, vec![]);
    assert!(super::plan(&p, 7).handled_net.is_empty());
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
fn baseline_is_scopes_only() {
    let p = policy(Deny::default(), Net::Unrestricted, vec![]);
    let plan = plan(&p, 7);
    assert!(plan.handled_fs.is_empty() && plan.handled_net.is_empty());
    assert!(!plan.is_empty());
    let plan_old = super::plan(&p, 5);
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
