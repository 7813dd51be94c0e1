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
    assert_eq!(plan.handled_fs, write_rights() | device_rights(), "{plan:#?}");
    assert!(!plan.handled_fs.intersects(read_rights()), "reads must not pay Landlock cost: {plan:#?}");
    assert!(plan.unenforced.is_empty(), "{plan:#?}");
    assert_eq!(plan.scopes, Scope::Signal | Scope::AbstractUnixSocket);
    assert!(plan.handled_net.is_empty());
    assert!(!plan.narrow_devices);
    // The read rule means nothing without --deny-read and is dropped.
    assert_eq!(plan.rules.len(), 1, "{plan:#?}");
    assert_eq!(plan.rules[0].rights, write_rights(), "{plan:#?}");
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

/// A fake tree for [`split`]: each directory with its entries
/// (name, is a directory).
fn fake_tree(dir: &std::path::Path) -> std::io::Result<Listing> {
    let names: &[(&str, bool)] = match dir.to_str() {
        Some("/") => &[("bin", true), ("home", true), ("tmp", true), ("vmlinuz", false)],
        Some("/home") => &[("u", true), ("v", true)],
        Some("/home/u") => {
            &[(".aws", true), (".bashrc", false), (".config", true), (".netrc", false), (".ssh", true), ("proj", true)]
        }
        Some("/home/u/.config") => &[("gh", true), ("nvim", true)],
        _ => return Err(std::io::Error::from(std::io::ErrorKind::PermissionDenied)),
    };
    Ok(names.iter().map(|(n, d)| (dir.join(n), *d)).collect())
}

fn hidden(paths: &[&str]) -> Vec<PathBuf> {
    paths.iter().map(PathBuf::from).collect()
}

fn rules_of(rules: &[PlannedRule]) -> Vec<(String, BitFlags<AccessFs>)> {
    rules.iter().map(|r| (r.path.display().to_string(), r.rights)).collect()
}

fn planned(path: &str, rights: BitFlags<AccessFs>) -> PlannedRule {
    PlannedRule { path: PathBuf::from(path), rights, source: Source::Flag("--test") }
}

#[test]
fn a_hidden_path_is_cut_out_of_the_read_rule_above_it() {
    let rules = vec![planned("/home/u", read_rights()), planned("/usr", read_rights())];
    let out = split(rules, &hidden(&["/home/u/.ssh", "/home/u/.config/gh", "/home/u/.netrc"]), 7, &fake_tree).unwrap();
    let file = AccessFs::ReadFile | AccessFs::Execute;
    assert_eq!(
        rules_of(&out),
        [
            ("/home/u".to_owned(), BitFlags::from(AccessFs::ReadDir)),
            ("/home/u/.aws".to_owned(), read_rights()),
            ("/home/u/.bashrc".to_owned(), file),
            ("/home/u/.config".to_owned(), BitFlags::from(AccessFs::ReadDir)),
            ("/home/u/.config/nvim".to_owned(), read_rights()),
            ("/home/u/proj".to_owned(), read_rights()),
            ("/usr".to_owned(), read_rights()),
        ],
        "{out:#?}"
    );
    // Nothing on the way to a hidden path reads or executes files.
    for h in ["/home/u/.ssh", "/home/u/.config/gh", "/home/u/.netrc"] {
        let reach = out
            .iter()
            .filter(|r| std::path::Path::new(h).starts_with(&r.path))
            .fold(BitFlags::EMPTY, |acc, r| acc | r.rights);
        assert!(!reach.intersects(AccessFs::ReadFile | AccessFs::Execute), "{h}: {out:#?}");
    }
}

#[test]
fn reading_everything_is_split_from_the_root_down() {
    let out = split(vec![planned("/", read_rights())], &hidden(&["/home/u/.ssh"]), 1, &fake_tree).unwrap();
    let dirs: Vec<_> = out.iter().filter(|r| r.rights == AccessFs::ReadDir).map(|r| r.path.clone()).collect();
    assert_eq!(dirs, hidden(&["/", "/home", "/home/u"]), "{out:#?}");
    let granted: Vec<_> =
        out.iter().filter(|r| r.rights.contains(AccessFs::ReadFile)).map(|r| r.path.clone()).collect();
    for expected in ["/bin", "/tmp", "/vmlinuz", "/home/v", "/home/u/.aws", "/home/u/.config", "/home/u/proj"] {
        assert!(granted.contains(&PathBuf::from(expected)), "{expected} missing: {out:#?}");
    }
    assert!(!granted.iter().any(|p| p.starts_with("/home/u/.ssh")), "{out:#?}");
}

#[test]
fn a_write_rule_split_keeps_its_write_rights_on_the_way_but_no_reading() {
    let rights = read_rights() | write_rights() & !device_rights();
    let out = split(vec![planned("/home/u", rights)], &hidden(&["/home/u/.ssh"]), 7, &fake_tree).unwrap();
    assert_eq!(out[0].path, PathBuf::from("/home/u"));
    assert_eq!(out[0].rights, rights & !(AccessFs::ReadFile | AccessFs::Execute), "{out:#?}");
    // A file entry gets only the rights a file can carry.
    let bashrc = out.iter().find(|r| r.path == std::path::Path::new("/home/u/.bashrc")).unwrap();
    assert_eq!(bashrc.rights, rights & AccessFs::from_file(ABI::V7), "{out:#?}");
}

#[test]
fn rules_beside_beneath_or_without_reading_are_kept() {
    let rules = vec![
        planned("/home/u/.ssh/known_hosts", AccessFs::ReadFile.into()),
        planned("/", AccessFs::Refer.into()),
        planned("/srv", read_rights()),
    ];
    let out = split(rules.clone(), &hidden(&["/home/u/.ssh"]), 7, &fake_tree).unwrap();
    assert_eq!(out, rules);
}

#[test]
fn a_directory_that_cannot_be_listed_fails_the_split_with_its_name() {
    let err = split(vec![planned("/srv", read_rights())], &hidden(&["/srv/x/y"]), 7, &fake_tree).unwrap_err();
    assert!(format!("{err:#}").contains("listing /srv to hide"), "{err:#}");
}

fn hide(p: &mut Policy, path: &str) {
    p.hidden.push(crate::policy::Hidden { path: PathBuf::from(path), is_dir: true, source: Source::Flag("--hide") });
}

#[test]
fn hiding_without_deny_read_handles_reading_with_everything_readable() {
    let mut p = policy(Deny::default(), Net::Unrestricted, vec![]);
    hide(&mut p, "/home/u/.ssh");
    for abi in 1..=7 {
        let plan = plan(&p, abi);
        assert!(plan.handled_fs.contains(read_rights()), "{plan:#?}");
        let root =
            plan.rules.iter().find(|r| r.path == std::path::Path::new("/") && r.rights.contains(AccessFs::ReadDir));
        assert_eq!(root.map(|r| r.rights), Some(read_rights()), "{plan:#?}");
        assert_eq!(plan.hidden, hidden(&["/home/u/.ssh"]));
        assert!(plan.unenforced.iter().all(|u| u.what != HIDING), "{plan:#?}");
    }
    let none = plan(&p, 0);
    assert!(none.unenforced.iter().any(|u| u.what == HIDING && u.needs_abi == 1), "{none:#?}");
}

#[test]
fn hiding_under_narrowed_devices_reads_files_only_through_the_device_free_roots() {
    let mut p = policy(WRITE_ONLY, Net::Unrestricted, vec![dir("/w", PathAccess::Write)]);
    hide(&mut p, "/home/u/.ssh");
    let plan = plan(&p, 4);
    assert!(plan.narrow_devices);
    let root = plan.rules.iter().find(|r| r.path == std::path::Path::new("/") && r.rights.contains(AccessFs::ReadDir));
    assert_eq!(root.map(|r| r.rights), Some(AccessFs::ReadDir | AccessFs::Execute), "{plan:#?}");
}

#[test]
fn without_hidden_paths_nothing_changes() {
    let p = policy(READ_ONLY, Net::Unrestricted, vec![dir("/r", PathAccess::Read)]);
    assert!(plan(&p, 7).hidden.is_empty());
    let p = policy(Deny::default(), Net::Unrestricted, vec![]);
    assert!(plan(&p, 7).handled_fs == AccessFs::Refer, "{:#?}", plan(&p, 7));
}
