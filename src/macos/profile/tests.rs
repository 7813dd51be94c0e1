//! Golden profiles for a matrix of policies (`tests/golden/sbpl/`, rewritten
//! under `SBX_BLESS=1`), hostile paths, the argv and the network checks. Run
//! on every platform: nothing here needs a Mac.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::*;
use crate::macos::machine::{Dialect, Form, Machine};
use crate::policy::{Deny, PathRule};

fn rule(path: &[u8], is_dir: bool, access: Access) -> PathRule {
    PathRule { path: PathBuf::from(OsStr::from_bytes(path)), is_dir, access, source: Source::Flag("--allow-read") }
}

fn net(entries: &[&str]) -> Net {
    Net::Allow(entries.iter().map(|e| NetRule::parse(e).unwrap()).collect())
}

fn policy(deny: Deny, net: Net, paths: Vec<PathRule>, unix: &[&str]) -> Policy {
    let mut p = Policy::for_test(deny, net, paths);
    p.unix_allow = unix.iter().map(PathBuf::from).collect();
    p
}

/// The usual rules: a read-only tree, a readable file, a writable project.
fn usual_paths() -> Vec<PathRule> {
    vec![
        rule(b"/usr", true, Access::Read),
        rule(b"/private/etc/hosts", false, Access::Read),
        rule(b"/Users/me/project", true, Access::Write),
        rule(b"/private/var/folders/xy/T", true, Access::Write),
        PathRule {
            path: PathBuf::from("/dev/null"),
            is_dir: false,
            access: Access::Write,
            source: Source::Default(crate::policy::defaults::DEVICE_NODE),
        },
    ]
}

/// Compares `actual` with `tests/golden/sbpl/NAME.sbpl`, or rewrites it under
/// `SBX_BLESS=1`.
fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/sbpl").join(format!("{name}.sbpl"));
    if std::env::var_os("SBX_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; create it with SBX_BLESS=1 cargo test macos::profile", path.display()));
    assert_eq!(
        actual,
        expected,
        "profile differs from {} (SBX_BLESS=1 rewrites it); generated:\n{actual}",
        path.display()
    );
}

/// A Mac of today, run from a terminal: every SBPL form by name, the
/// command's terminal on stdin, stdout and stderr.
fn mac() -> Machine {
    Machine { terminals: vec![PathBuf::from("/dev/ttys003")], dialect: Dialect::BY_NAME }
}

/// The profile text for `policy` on [`mac`].
fn text(policy: &Policy) -> String {
    build(policy, &mac()).unwrap().text
}

fn rendered_on(policy: &Policy, machine: &Machine) -> String {
    let (policy, warning) = check_network(policy).unwrap();
    assert_eq!(warning, None);
    render(&build(&policy, machine).unwrap())
}

fn rendered(policy: &Policy) -> String {
    rendered_on(policy, &mac())
}

/// macOS's default paths as `Policy::build` lists them on a Mac (before
/// resolving; `/dev/fd` is a directory, the essential files are files), with
/// this Mac's facts given.
fn macos_defaults() -> Vec<PathRule> {
    use crate::policy::defaults::{DEVICE_NODE, macos as d};
    let default = |path: &str, is_dir: bool, access: Access, why: &'static str| PathRule {
        path: PathBuf::from(path),
        is_dir,
        access,
        source: Source::Default(why),
    };
    let mut rules = Vec::new();
    for tree in d::SYSTEM_TREES {
        rules.push(default(tree, true, Access::Read, "system tree"));
    }
    for tree in d::KERNEL_TREES {
        rules.push(default(tree, true, Access::Read, "kernel interface"));
    }
    for node in d::DEV_READ.iter().filter(|n| !d::DEV_WRITE.contains(n)) {
        rules.push(default(node, false, Access::Read, DEVICE_NODE));
    }
    rules.push(default("/private/tmp", true, Access::Write, "temporary directory"));
    let facts = d::Facts {
        user_temp: Some(PathBuf::from("/private/var/folders/xy/abc123/T")),
        user_cache: Some(PathBuf::from("/private/var/folders/xy/abc123/C")),
        developer_dir: Some(PathBuf::from("/Applications/Xcode.app/Contents/Developer")),
        home: Some(PathBuf::from("/Users/me")),
    };
    for (path, access, why) in d::extra_paths(&facts) {
        rules.push(PathRule { path, is_dir: true, access, source: Source::Default(why) });
    }
    // Essential files a tree already covers are dropped (a symlinked one,
    // such as resolv.conf, appears on a Mac as its target instead); the
    // developer directory's link is covered by its bundle.
    let covered = |file: &str| d::SYSTEM_TREES.iter().any(|t| Path::new(file).starts_with(t));
    for file in d::ESSENTIAL_FILES.iter().filter(|f| !covered(f) && !f.ends_with("xcode_select_link")) {
        rules.push(default(file, false, Access::Read, "target of an essential /etc file"));
    }
    for node in d::DEV_WRITE {
        rules.push(default(node, *node == "/dev/fd", Access::Write, DEVICE_NODE));
    }
    rules
}

/// `rules` as `--private-tmp` makes them: no `/private/tmp` (nor any other
/// shared temporary directory), the run's own directory instead.
fn private_tmp(mut rules: Vec<PathRule>) -> Vec<PathRule> {
    rules.retain(|r| r.source != Source::Default("temporary directory"));
    rules.push(PathRule {
        path: PathBuf::from("/private/var/folders/xy/abc123/T/sbx-Ab12Cd"),
        is_dir: true,
        access: Access::Write,
        source: Source::Flag("--private-tmp"),
    });
    rules
}

#[test]
fn golden_profiles() {
    let read = Deny { read: true, ..Deny::default() };
    let write = Deny { write: true, ..Deny::default() };
    let net_only = Deny { net: true, ..Deny::default() };
    let env_only = Deny { env: true, ..Deny::default() };
    let all = Deny { read: true, write: true, net: true, env: false };
    let everything = Deny { read: true, write: true, net: true, env: true };
    let cases: Vec<(&str, Policy)> = vec![
        ("unrestricted", policy(Deny::default(), Net::Unrestricted, Vec::new(), &[])),
        ("deny-read", policy(read, Net::Unrestricted, usual_paths(), &[])),
        ("deny-write", policy(write, Net::Unrestricted, usual_paths(), &[])),
        ("deny-net", policy(net_only, Net::Denied, Vec::new(), &[])),
        ("deny-env", policy(env_only, Net::Unrestricted, Vec::new(), &[])),
        (
            "allow-net-localhost",
            policy(net_only, net(&["localhost:5432", "LOCALHOST:8080", "localhost:5432"]), Vec::new(), &[]),
        ),
        ("allow-net-localhost-any-port", policy(net_only, net(&["localhost"]), Vec::new(), &[])),
        ("allow-net-every-host-443", policy(net_only, net(&["0.0.0.0/0:443", "[::/0]:443"]), Vec::new(), &[])),
        ("allow-net-listen", policy(net_only, net(&["0.0.0.0:8080", "localhost:5432"]), Vec::new(), &[])),
        (
            "allow-unix",
            policy(net_only, Net::Denied, Vec::new(), &["/private/var/run/docker.sock", "/Users/me/.ssh/agent"]),
        ),
        ("deny-all-with-exceptions", policy(all, net(&["localhost:3000"]), usual_paths(), &["/private/tmp/app.sock"])),
        ("macos-defaults", policy(everything, Net::Denied, macos_defaults(), &[])),
        ("macos-defaults-private-tmp", policy(everything, Net::Denied, private_tmp(macos_defaults()), &[])),
        (
            "data-volume-spelling",
            policy(
                all,
                Net::Denied,
                vec![
                    rule(b"/System/Volumes/Data/Users/me/project", true, Access::Write),
                    rule(b"/System/Volumes/Data/private/etc/hosts", false, Access::Read),
                    rule(b"/System/Volumes/Data/.Spotlight-V100", true, Access::Read),
                ],
                &["/System/Volumes/Data/Users/me/app.sock"],
            ),
        ),
    ];
    for (name, policy) in &cases {
        golden(name, &rendered(policy));
    }
    // Hidden paths, with and without --deny-read: denied after every grant.
    for (name, deny) in [("hide-under-deny-read", all), ("hide-only", Deny::default())] {
        let mut p = policy(deny, Net::Unrestricted, if deny.read { usual_paths() } else { Vec::new() }, &[]);
        p.hidden = hidden_paths();
        golden(name, &rendered(&p));
    }
    // A rule beneath a hidden path, and a hide beneath that rule.
    golden("hide-with-rules-beneath", &rendered(&rules_beneath_hidden(all)));
    // Protected paths: denied after every grant, and the way to them.
    let mut p = policy(write, Net::Unrestricted, usual_paths(), &[]);
    p.protection.protected =
        ["/Users/me/project/.git/hooks", "/Users/me/project/.git/config", "/Users/me/project/.envrc"]
            .iter()
            .map(|path| crate::policy::protect::Protected {
                path: PathBuf::from(path),
                why: "t".into(),
                source: Source::Default("a git file that runs code"),
            })
            .collect();
    golden("protected", &rendered(&p));
    // Older macOS versions: TIOCSTI and F_SETPROTECTIONCLASS only by number
    // (macOS 14.2), or not at all (a new session instead); no terminal
    // (stdio are pipes, as in CI).
    let by_number = Dialect { hid_control: false, tiocsti: Some(Form::Numeric), protection_class: Some(Form::Numeric) };
    let nameless = Dialect { hid_control: false, tiocsti: None, protection_class: None };
    let older = |dialect| Machine { terminals: Vec::new(), dialect };
    let p = policy(write, Net::Unrestricted, usual_paths(), &[]);
    golden("dialect-by-number", &rendered_on(&p, &older(by_number)));
    golden("dialect-none-new-session", &rendered_on(&p, &older(nameless)));
}

/// A hidden directory under a firmlink, one given through the data volume,
/// and a hidden file outside the firmlinks.
fn hidden_paths() -> Vec<crate::policy::Hidden> {
    let hidden = |path: &str, is_dir| crate::policy::Hidden {
        path: PathBuf::from(path),
        is_dir,
        source: Source::Default("secrets set, hidden under --deny-read"),
    };
    vec![
        hidden("/Users/me/.ssh", true),
        hidden("/System/Volumes/Data/Users/me/.aws", true),
        hidden("/usr/share/x/token", false),
    ]
}

#[test]
fn hidden_paths_are_denied_last_in_both_spellings() {
    let mut p = policy(Deny { read: true, ..Deny::default() }, Net::Unrestricted, usual_paths(), &[]);
    p.paths.push(rule(b"/Users/me", true, Access::Read));
    p.hidden = hidden_paths();
    let profile = build(&p, &mac()).unwrap();
    let text = &profile.text;
    let last_allow = text.rfind("(allow ").unwrap();
    let first_hide = text
        .find("(deny file-read* file-write-unlink file-link file-clone (subpath (param \"HIDE_0\")))")
        .unwrap_or_else(|| panic!("{text}"));
    assert!(first_hide > last_allow, "a later allow would win over the hide:\n{text}");
    let param = |name: &str| profile.params.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    assert_eq!(param("HIDE_0"), Some(OsString::from("/Users/me/.ssh")));
    assert_eq!(param("DATA_HIDE_0"), Some(OsString::from("/System/Volumes/Data/Users/me/.ssh")));
    assert_eq!(param("HIDE_1"), Some(OsString::from("/Users/me/.aws")));
    assert_eq!(param("DATA_HIDE_1"), Some(OsString::from("/System/Volumes/Data/Users/me/.aws")));
    assert_eq!(param("HIDE_2"), Some(OsString::from("/usr/share/x/token")));
    assert_eq!(param("DATA_HIDE_2"), None, "/usr/share is not firmlinked");
    assert!(text.contains("(deny file-read* file-write-unlink file-link file-clone (literal (param \"HIDE_2\")))"));
}

/// `mv ~/.ssh ~/x`, `ln ~/.ssh/id_ed25519 ~/x`, `cp -c` or `mv ~ ~2`, then
/// reading the new path: the hide names the old one only.
#[test]
fn hidden_paths_cannot_be_moved_linked_or_cloned_nor_the_directories_on_their_way_renamed() {
    for deny in [Deny::default(), Deny { read: true, ..Deny::default() }] {
        let mut p = policy(deny, Net::Unrestricted, vec![rule(b"/Users/me", true, Access::Read)], &[]);
        p.hidden = hidden_paths();
        let profile = build(&p, &mac()).unwrap();
        let text = &profile.text;
        let last_allow = text.rfind("(allow ").unwrap();
        for (name, kind) in [("HIDE_0", "subpath"), ("DATA_HIDE_0", "subpath"), ("HIDE_2", "literal")] {
            let rule = format!("(deny file-read* file-write-unlink file-link file-clone ({kind} (param \"{name}\")))");
            let at = text.find(&rule).unwrap_or_else(|| panic!("{rule} missing ({deny:?}):\n{text}"));
            assert!(at > last_allow, "{deny:?}: a later allow would win:\n{text}");
        }
        let param = |name: &str| profile.params.iter().find(|(n, _)| n == name).map(|(_, v)| v.to_owned());
        let ways: Vec<&(String, OsString)> = profile.params.iter().filter(|(n, _)| n.contains("HIDE_WAY")).collect();
        let expected = [
            ("HIDE_WAY_0", "/Users/me"),
            ("DATA_HIDE_WAY_0", "/System/Volumes/Data/Users/me"),
            ("HIDE_WAY_1", "/Users"),
            ("DATA_HIDE_WAY_1", "/System/Volumes/Data/Users"),
            ("HIDE_WAY_2", "/usr/share/x"),
            ("HIDE_WAY_3", "/usr/share"),
            ("HIDE_WAY_4", "/usr"),
        ];
        assert_eq!(ways.len(), expected.len(), "each directory once, never /: {ways:?}");
        for (name, value) in expected {
            assert_eq!(param(name), Some(OsString::from(value)), "{name}");
            let rule = format!("(deny file-write-unlink (literal (param \"{name}\")))");
            assert!(text.find(&rule).is_some_and(|at| at > last_allow), "{rule} ({deny:?}):\n{text}");
        }
        // The hidden paths keep their numbers: HIDE_WAY_n is not a HIDE_n.
        assert_eq!(param("HIDE_2"), Some(OsString::from("/usr/share/x/token")));
    }
}

fn hide(path: &str, is_dir: bool) -> crate::policy::Hidden {
    crate::policy::Hidden { path: PathBuf::from(path), is_dir, source: Source::Flag("--hide") }
}

/// `~` readable, `~/.config` hidden, `~/.config/git` readable and
/// `~/.config/app/cache` writable beneath it, `~/.config/git/token` hidden
/// beneath that (the hides given deepest first), and a hide and a rule in
/// the `/System/Volumes` spelling.
fn rules_beneath_hidden(deny: Deny) -> Policy {
    let mut p = policy(
        deny,
        Net::Unrestricted,
        vec![
            rule(b"/Users/me", true, Access::Read),
            rule(b"/Users/me/.config/git", true, Access::Read),
            rule(b"/Users/me/.config/app/cache", true, Access::Write),
            rule(b"/System/Volumes/Data/.Spotlight-V100/x", true, Access::Read),
        ],
        &[],
    );
    p.hidden = vec![
        hide("/Users/me/.config/git/token", false),
        hide("/Users/me/.config", true),
        hide("/System/Volumes/Data/.Spotlight-V100", true),
    ];
    p
}

/// `--allow-read=~ --hide=~/.config --allow-read=~/.config/git
/// --hide=~/.config/git/token`: as on Linux, a rule beneath the hidden
/// directory grants again what it granted (no more: under --deny-write a
/// read-only rule gets no moving or linking, and a writable root still
/// cannot be deleted), and the hidden file beneath that rule is hidden
/// again — the deepest last.
#[test]
fn a_rule_beneath_a_hidden_path_grants_again_what_it_granted_and_a_hide_beneath_it_hides_again() {
    let ops = "file-read* file-write-unlink file-link file-clone";
    for deny in [Deny::default(), Deny { read: true, write: true, ..Deny::default() }] {
        let p = rules_beneath_hidden(deny);
        let profile = build(&p, &mac()).unwrap();
        let text = &profile.text;
        let param = |name: &str| profile.params.iter().find(|(n, _)| n == name).map(|(_, v)| v.to_owned());
        let pos = |needle: &str| text.find(needle).unwrap_or_else(|| panic!("{needle} missing ({deny:?}):\n{text}"));
        let config = pos(&format!("(deny {ops} (subpath (param \"HIDE_0\")))"));
        assert_eq!(param("HIDE_0"), Some(OsString::from("/Users/me/.config")));
        let read_only = if deny.write { "file-read* file-clone" } else { ops };
        let git = pos(&format!("(allow {read_only} (subpath (param \"HIDE_EXCEPT_0\")))"));
        let cache = pos(&format!("(allow {ops} (subpath (param \"HIDE_EXCEPT_1\")))"));
        assert_eq!(param("HIDE_EXCEPT_0"), Some(OsString::from("/Users/me/.config/git")));
        assert_eq!(param("HIDE_EXCEPT_1"), Some(OsString::from("/Users/me/.config/app/cache")));
        let root = "(deny file-write-unlink (literal (param \"HIDE_EXCEPT_1\")))";
        assert_eq!(text.find(root).is_some_and(|at| at > cache), deny.write, "{deny:?}:\n{text}");
        let token = pos(&format!("(deny {ops} (literal (param \"HIDE_2\")))"));
        assert_eq!(param("HIDE_2"), Some(OsString::from("/Users/me/.config/git/token")));
        assert!(config < git && git < token && config < cache, "{deny:?}:\n{text}");
        assert!(!text.contains("file-write* (subpath (param \"HIDE_EXCEPT"), "no write comes back:\n{text}");
        // The /System/Volumes spelling, denied whole, is never granted again.
        let spotlight =
            |(n, v): &(String, OsString)| n.starts_with("HIDE_EXCEPT") && v.to_string_lossy().contains("Spot");
        assert!(!profile.params.iter().any(spotlight), "{:?}", profile.params);
    }
    // No rule beneath a hidden path: the hides keep the policy's order.
    let mut p = policy(Deny::default(), Net::Unrestricted, Vec::new(), &[]);
    p.hidden = vec![hide("/Users/me/a/b", true), hide("/Users/me/c", true)];
    let profile = build(&p, &mac()).unwrap();
    assert_eq!(profile.params[0], ("HIDE_0".to_owned(), OsString::from("/Users/me/a/b")));
    assert!(!profile.text.contains("HIDE_EXCEPT") && !profile.text.contains("in order of depth"));
}

/// `ln .git/config ./cfg; echo x >> ./cfg` would write the protected file
/// through a writable path.
#[test]
fn protected_paths_cannot_be_hard_linked() {
    let mut p = policy(Deny { write: true, ..Deny::default() }, Net::Unrestricted, usual_paths(), &[]);
    p.protection.protected = vec![crate::policy::protect::Protected {
        path: PathBuf::from("/Users/me/project/.git/config"),
        why: "t".into(),
        source: Source::Default("a git file that runs code"),
    }];
    let text = text(&p);
    let rule = "(deny file-write* file-link (subpath (param \"PROTECT_0\")))";
    let at = text.find(rule).unwrap_or_else(|| panic!("{rule} missing:\n{text}"));
    assert!(at > text.rfind("(allow ").unwrap(), "{text}");
}

/// The section of `text` that starts at `start` (up to the next blank line).
fn section<'a>(text: &'a str, start: &str) -> &'a str {
    let at = text.find(start).unwrap_or_else(|| panic!("{start} missing:\n{text}"));
    let rest = &text[at..];
    &rest[..rest.find("\n\n").unwrap_or(rest.len())]
}

fn rules_of(text: &str) -> Vec<&str> {
    text.lines().filter(|l| !l.starts_with(';') && !l.is_empty()).collect()
}

#[test]
fn a_private_tmp_replaces_the_shared_one() {
    let everything = Deny { read: true, write: true, net: true, env: true };
    let text = rendered(&policy(everything, Net::Denied, private_tmp(macos_defaults()), &[]));
    assert!(text.contains("/private/var/folders/xy/abc123/T/sbx-Ab12Cd"), "{text}");
    assert!(!text.contains("\"/private/tmp\""), "{text}");
}

#[test]
fn base_profile_is_allow_default_with_signal_task_port_and_terminal_scopes() {
    let text = text(&policy(Deny::default(), Net::Unrestricted, Vec::new(), &[]));
    assert!(text.starts_with("; sbx base profile"), "{text}");
    assert_eq!(
        rules_of(&text),
        [
            "(version 1)",
            "(allow default)",
            "(deny signal)",
            "(allow signal (target same-sandbox))",
            "(deny mach-priv-task-port)",
            "(allow mach-priv-task-port (target same-sandbox))",
            "(deny file-ioctl (ioctl-command TIOCSTI))",
            "(deny hid-control)",
        ]
    );
}

#[test]
fn terminal_injection_is_denied_in_the_form_this_macos_accepts_or_a_new_session() {
    let p = policy(Deny::default(), Net::Unrestricted, Vec::new(), &[]);
    let on = |dialect: Dialect| build(&p, &Machine { terminals: Vec::new(), dialect }).unwrap();
    let by_name = on(Dialect::BY_NAME);
    assert!(by_name.text.contains("\n(deny file-ioctl (ioctl-command TIOCSTI))\n") && !by_name.new_session);
    let numeric = on(Dialect { tiocsti: Some(Form::Numeric), ..Dialect::BY_NAME });
    assert!(numeric.text.contains("\n(deny file-ioctl (ioctl-command 2147578994))\n"), "{}", numeric.text);
    assert!(!numeric.text.contains("ioctl-command TIOCSTI") && !numeric.new_session);
    let none = on(Dialect { hid_control: false, tiocsti: None, protection_class: None });
    assert!(none.new_session && !none.text.contains("ioctl-command") && !none.text.contains("hid-control"));
    assert!(render(&none).contains("; started in a new session (setsid)"));
}

#[test]
fn any_restriction_closes_launchservices_appleevents_and_launchd_jobs() {
    let services = "(deny mach-lookup\n    (global-name \"com.apple.coreservices.launchservicesd\")\n    \
                    (global-name \"com.apple.coreservices.quarantine-resolver\")\n    \
                    (global-name \"com.apple.runningboard\"))\n";
    let open = text(&policy(Deny::default(), Net::Unrestricted, Vec::new(), &[]));
    assert!(!open.contains("launchservicesd") && !open.contains("appleevent-send"), "{open}");
    assert!(!open.contains("job-creation"), "{open}");
    for deny in [
        Deny { read: true, ..Deny::default() },
        Deny { write: true, ..Deny::default() },
        Deny { net: true, ..Deny::default() },
        Deny { env: true, ..Deny::default() },
    ] {
        let net = if deny.net { Net::Denied } else { Net::Unrestricted };
        let text = text(&policy(deny, net, Vec::new(), &[]));
        assert!(text.contains(services) && text.contains("\n(deny appleevent-send)\n"), "{deny:?}:\n{text}");
        // `launchctl submit -l x -- sh -c …`: launchd runs it unsandboxed.
        assert!(text.contains("\n(deny job-creation)\n"), "{deny:?}:\n{text}");
    }
    let mut fds = policy(Deny::default(), Net::Unrestricted, Vec::new(), &[]);
    fds.close_fds = true;
    assert!(text(&fds).contains(services));
}

#[test]
fn deny_write_also_denies_preferences_protection_classes_links_and_foreign_sockets() {
    let text = text(&policy(Deny { write: true, ..Deny::default() }, Net::Unrestricted, usual_paths(), &[]));
    let write = section(&text, "; --deny-write: nothing may be created");
    let rules = rules_of(write);
    assert_eq!(rules[..3], ["(deny file-write* file-link)", "(deny user-preference-write)", PROTECTION_CLASS]);
    assert!(rules.contains(&"(allow file-write* file-link (subpath (param \"WRITE_0\")))"), "{write}");
    let bind = section(&text, "; --deny-write: a unix socket is a file");
    assert_eq!(
        rules_of(bind),
        [
            "(deny network-bind (local unix-socket))",
            "(allow network-bind (subpath (param \"WRITE_0\")))",
            "(allow network-bind (subpath (param \"WRITE_1\")))",
        ]
    );
    // Reading is not restricted: nothing about moving unreadable files.
    assert!(!text.contains("file-clone"), "{text}");
}

const PROTECTION_CLASS: &str = "(deny system-fcntl (fcntl-command F_SETPROTECTIONCLASS))";

#[test]
fn deny_read_blocks_moving_linking_and_cloning_what_is_not_readable() {
    let text = text(&policy(Deny { read: true, ..Deny::default() }, Net::Unrestricted, usual_paths(), &[]));
    let read = section(&text, "; --deny-read:");
    let rules = rules_of(read);
    assert_eq!(rules[0], "(deny file-read* file-write-unlink file-link file-clone)");
    for (i, rule) in usual_paths().iter().enumerate() {
        let kind = if rule.is_dir { "subpath" } else { "literal" };
        let expected =
            format!("(allow file-read* file-write-unlink file-link file-clone ({kind} (param \"READ_{i}\")))");
        assert!(rules.contains(&expected.as_str()), "{expected} missing:\n{read}");
    }
    // Writing stays unrestricted: unlink is denied by the read section only.
    assert!(!text.contains("(deny file-write*"), "{text}");
}

#[test]
fn deny_read_allows_the_root_directory_itself_not_below_it() {
    let text = text(&policy(Deny { read: true, ..Deny::default() }, Net::Unrestricted, Vec::new(), &[]));
    assert!(text.contains("\n(allow file-read* (literal \"/\"))\n"), "{text}");
    assert!(!text.contains("(subpath \"/\")"), "{text}");
}

#[test]
fn the_data_volume_spelling_is_denied_after_every_grant_whatever_the_case() {
    let everything = vec![rule(b"/", true, Access::Write), rule(b"/System", true, Access::Read)];
    let text = text(&policy(Deny { read: true, write: true, ..Deny::default() }, Net::Unrestricted, everything, &[]));
    let deny = format!("(deny file-read* file-write* file-link file-clone {SYSTEM_VOLUMES})");
    let at = text.find(&deny).unwrap_or_else(|| panic!("{deny} missing:\n{text}"));
    assert!(text.rfind("(param \"READ_").unwrap() < at && text.rfind("(param \"WRITE_").unwrap() < at, "{text}");
    let after: Vec<&str> = rules_of(&text[at..]);
    assert_eq!(
        after[..3],
        [
            deny.as_str(),
            &format!("(allow file-read-metadata {SYSTEM_VOLUMES})"),
            "(allow file-read* (subpath \"/System/Volumes/Preboot/Cryptexes\"))",
        ]
    );
    // The regex matches every spelling of /System/Volumes, and nothing else.
    let pattern = SYSTEM_VOLUMES.trim_start_matches("(regex #\"").trim_end_matches("\")");
    for (path, matches) in [
        ("/System/Volumes", true),
        ("/System/Volumes/Data/Users/me/.ssh/id_ed25519", true),
        ("/system/volumes/data/users", true),
        ("/SYSTEM/VOLUMES/Data", true),
        ("/System/VolumesX", false),
        ("/System/Library", false),
        ("/Users/me/System/Volumes", false),
    ] {
        assert_eq!(regex_matches(pattern, path), matches, "{path}");
    }
    // Only the restriction that is on is named.
    let write_only = text_of(Deny { write: true, ..Deny::default() });
    assert!(write_only.contains(&format!("(deny file-write* file-link {SYSTEM_VOLUMES})")), "{write_only}");
    assert!(!write_only.contains("Preboot") && !write_only.contains("file-read-metadata"), "{write_only}");
    let read_only = text_of(Deny { read: true, ..Deny::default() });
    let expected = format!("(deny file-read* file-write-unlink file-link file-clone {SYSTEM_VOLUMES})");
    assert!(read_only.contains(&expected), "{read_only}");
    assert!(!text_of(Deny { net: true, ..Deny::default() }).contains("Volumes"));
}

fn text_of(deny: Deny) -> String {
    let net = if deny.net { Net::Denied } else { Net::Unrestricted };
    text(&policy(deny, net, Vec::new(), &[]))
}

/// Whether `pattern` — only `^`, `$`, literal characters, `[Xx]` classes and
/// one `(/|$)` group, as in [`SYSTEM_VOLUMES`] — matches `path`.
fn regex_matches(pattern: &str, path: &str) -> bool {
    let body = pattern.strip_prefix('^').and_then(|p| p.strip_suffix("(/|$)")).unwrap();
    let mut rest = path;
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        let class: Vec<char> = if c == '[' { chars.by_ref().take_while(|&c| c != ']').collect() } else { vec![c] };
        let Some(first) = rest.chars().next() else { return false };
        if !class.contains(&first) {
            return false;
        }
        rest = &rest[first.len_utf8()..];
    }
    rest.is_empty() || rest.starts_with('/')
}

#[test]
fn only_the_commands_own_terminal_data_only_and_device_nodes_data_only() {
    let all = Deny { read: true, write: true, net: false, env: false };
    let text = text(&policy(all, Net::Unrestricted, usual_paths(), &[]));
    assert!(!text.contains("ttys"), "no terminal by name or pattern:\n{text}");
    assert!(text.contains("\n(allow file-read* (literal (param \"TTY_0\")))\n"), "{text}");
    assert!(text.contains("\n(allow file-write-data (literal (param \"TTY_0\")))\n"), "{text}");
    // /dev/null (a device-node default) gets data writes only; a user's
    // writable file gets everything but deleting or renaming it.
    let dev_null =
        usual_paths().iter().filter(|r| r.access == Access::Write).position(|r| r.path == Path::new("/dev/null"));
    let name = format!("WRITE_{}", dev_null.unwrap());
    assert!(text.contains(&format!("\n(allow file-write-data (literal (param \"{name}\")))\n")), "{text}");
    assert!(!text.contains(&format!("(allow file-write* file-link (literal (param \"{name}\")))")), "{text}");
    assert!(!text.contains(&format!("(deny file-write-unlink (literal (param \"{name}\")))")), "{text}");
    // Not a terminal (pipes): no terminal rule at all.
    let piped = build(
        &policy(all, Net::Unrestricted, usual_paths(), &[]),
        &Machine { terminals: Vec::new(), dialect: Dialect::BY_NAME },
    )
    .unwrap();
    assert!(!piped.text.contains("TTY_") && !piped.params.iter().any(|(n, _)| n.starts_with("TTY")));
    // Files unrestricted: the terminal is no parameter either.
    let net_only = build(&policy(Deny { net: true, ..Deny::default() }, Net::Denied, Vec::new(), &[]), &mac()).unwrap();
    assert!(net_only.params.is_empty(), "{:?}", net_only.params);
}

#[test]
fn writable_roots_themselves_cannot_be_deleted_or_renamed() {
    let text = text(&policy(Deny { write: true, ..Deny::default() }, Net::Unrestricted, usual_paths(), &[]));
    let allow = text.find("(allow file-write* file-link (subpath (param \"WRITE_1\")))").unwrap();
    let deny = text.find("(deny file-write-unlink (literal (param \"WRITE_1\")))").unwrap();
    assert!(allow < deny, "{text}");
    for i in 0..2 {
        assert!(text.contains(&format!("(deny file-write-unlink (literal (param \"WRITE_{i}\")))")), "{text}");
    }
}

#[test]
fn deny_env_hides_other_processes_environments() {
    let rule = "(deny sysctl-read (sysctl-name \"kern.procargs\") (sysctl-name \"kern.procargs2\"))";
    assert!(text_of(Deny { env: true, ..Deny::default() }).contains(rule));
    assert!(!text_of(Deny { read: true, write: true, net: true, env: false }).contains("procargs"));
}

#[test]
fn data_volume_spellings_become_their_firmlinked_spelling() {
    for (given, matched) in [
        ("/System/Volumes/Data/Users/me/project", "/Users/me/project"),
        ("/System/Volumes/Data/private/etc/hosts", "/private/etc/hosts"),
        ("/System/Volumes/Data/usr/local/bin", "/usr/local/bin"),
        ("/System/Volumes/Data/Applications", "/Applications"),
        // Not firmlinked: stays as it is (and stays denied).
        ("/System/Volumes/Data/.Spotlight-V100", "/System/Volumes/Data/.Spotlight-V100"),
        ("/System/Volumes/Data/usr/bin", "/System/Volumes/Data/usr/bin"),
        ("/System/Volumes/Data/Usersx", "/System/Volumes/Data/Usersx"),
        ("/System/Volumes/Preboot/Cryptexes", "/System/Volumes/Preboot/Cryptexes"),
        ("/Users/me", "/Users/me"),
    ] {
        assert_eq!(seatbelt_spelling(Path::new(given)), Path::new(matched), "{given}");
    }
}

#[test]
fn every_rule_of_a_section_follows_its_deny() {
    let p = policy(Deny { read: true, write: true, net: true, env: false }, Net::Denied, usual_paths(), &["/s"]);
    let text = text(&p);
    let pos = |needle: &str| text.find(needle).unwrap_or_else(|| panic!("{needle} missing:\n{text}"));
    let read = pos("(deny file-read* file-write-unlink file-link file-clone)");
    assert!(read < pos("(allow file-read* file-write-unlink file-link file-clone (subpath (param \"READ_0\")))"));
    let write = pos("(deny file-write* file-link)");
    assert!(read < write && write < pos("(allow file-write* file-link (subpath (param \"WRITE_0\")))"), "{text}");
    assert!(pos("(deny network*)") < pos("(param \"UNIX_0\")"), "{text}");
    // The unix-socket binding section comes after the network section's
    // general allow, which it narrows.
    assert!(
        pos("(allow network-bind network-inbound (local unix-socket))")
            < pos("(deny network-bind (local unix-socket))")
    );
    // Read rules never become write rules.
    assert_eq!(text.matches("(allow file-write* file-link (").count(), 2, "{text}");
    assert_eq!(text.matches("(allow file-write-data (").count(), 1 + 1, "{text}");
    assert_eq!(text.matches("(allow file-read* file-write-unlink file-link file-clone (").count(), 5, "{text}");
}

/// Paths that would break out of a string literal, a comment or an
/// S-expression if they were ever pasted into the profile.
const HOSTILE: &[&[u8]] = &[
    b"/plain",
    b"/quote\"d",
    b"/back\\slash",
    b"/end\\\"",
    b"/paren)(allow default)(",
    b"/a\") (allow file-write* (subpath \"/",
    b"/new\nline",
    b"/cr\rand\ttab",
    b"/semi;colon",
    b"/#\"regex\"",
    b"/not\xffutf8\xc3",
    b"/\xe2\x80\xae rtl",
    b"/x=y=z",
    b"/ leading and trailing space ",
    b"/-D NAME=value",
];

#[test]
fn hostile_paths_only_change_the_parameters() {
    let all = Deny { read: true, write: true, net: true, env: false };
    let shape = |path: &[u8]| {
        let paths = vec![rule(path, true, Access::Read), rule(path, false, Access::Write)];
        let mut p = policy(all, net(&["localhost:80"]), paths, &[]);
        p.unix_allow = vec![PathBuf::from(OsStr::from_bytes(path))];
        p
    };
    // The terminal's name, too, only ever reaches the parameters.
    let on =
        |path: &[u8]| Machine { terminals: vec![PathBuf::from(OsStr::from_bytes(path))], dialect: Dialect::BY_NAME };
    let reference = build(&shape(b"/plain"), &on(b"/plain")).unwrap();
    for path in HOSTILE {
        let profile = build(&shape(path), &on(path)).unwrap();
        assert_eq!(profile.text, reference.text, "the path {:?} changed the profile text", OsStr::from_bytes(path));
        if *path != b"/plain" {
            assert!(
                !profile.text.as_bytes().windows(path.len()).any(|w| w == *path),
                "the path {:?} appears in the profile text:\n{}",
                OsStr::from_bytes(path),
                profile.text
            );
        }
        // TTY_0, READ_0, READ_1, WRITE_0, UNIX_0: each the exact bytes.
        assert_eq!(profile.params.len(), 5, "{:?}", profile.params);
        for (name, value) in &profile.params {
            assert_eq!(value.as_bytes(), *path, "{name}");
            assert!(reference.params.iter().any(|(n, _)| n == name), "{name}");
        }
    }
}

/// Hidden paths, and the directories on the way to them, reach the profile
/// only as parameters too: the text holds one deny per hidden path and per
/// directory on its way, whatever the bytes of their names.
#[test]
fn hostile_hidden_paths_only_change_the_parameters() {
    let shape = |name: &[u8]| {
        let mut path = b"/Users/me/".to_vec();
        path.extend_from_slice(name);
        let mut p = policy(Deny { read: true, ..Deny::default() }, Net::Unrestricted, usual_paths(), &[]);
        p.hidden = vec![crate::policy::Hidden {
            path: PathBuf::from(OsStr::from_bytes(&path)),
            is_dir: true,
            source: Source::Flag("--hide"),
        }];
        build(&p, &mac()).unwrap()
    };
    let reference = shape(b"plain");
    for name in HOSTILE.iter().map(|p| &p[1..]).filter(|n| !n.contains(&b'/')) {
        let profile = shape(name);
        assert_eq!(profile.text, reference.text, "the name {:?} changed the profile text", OsStr::from_bytes(name));
        assert!(!profile.text.as_bytes().windows(name.len()).any(|w| w == name) || name == b"plain");
        let hidden: Vec<&[u8]> = profile
            .params
            .iter()
            .filter(|(n, _)| n.contains("HIDE_") && !n.contains("WAY"))
            .map(|(_, v)| v.as_bytes())
            .collect();
        assert!(hidden.iter().all(|v| v.ends_with(name)), "{hidden:?}");
    }
}

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// An absolute path of random bytes (no NUL: a path cannot hold one).
    fn path(&mut self) -> Vec<u8> {
        let len = (self.next() % 40) as usize;
        let mut path = vec![b'/'];
        path.extend((0..len).map(|_| (self.next() % 255 + 1) as u8));
        path
    }
}

#[test]
fn random_byte_paths_never_reach_the_profile_text() {
    let mut rng = Rng(0x5b5_dead_beef);
    let all = Deny { read: true, write: true, net: true, env: false };
    for round in 0..500 {
        let paths: Vec<Vec<u8>> = (0..5).map(|_| rng.path()).collect();
        let rules = vec![
            rule(&paths[0], true, Access::Read),
            rule(&paths[1], false, Access::Read),
            rule(&paths[2], true, Access::Write),
        ];
        let mut p = policy(all, Net::Denied, rules, &[]);
        p.unix_allow = vec![PathBuf::from(OsStr::from_bytes(&paths[3]))];
        let reference_rules =
            vec![rule(b"/r", true, Access::Read), rule(b"/f", false, Access::Read), rule(b"/w", true, Access::Write)];
        let mut reference = policy(all, Net::Denied, reference_rules, &[]);
        reference.unix_allow = vec![PathBuf::from("/u")];
        let terminal = Machine { terminals: vec![PathBuf::from(OsStr::from_bytes(&paths[4]))], ..mac() };
        let profile = build(&p, &terminal).unwrap();
        assert_eq!(profile.text, text(&reference), "round {round}: {paths:?}");
        let values: Vec<&[u8]> = profile.params.iter().map(|(_, v)| v.as_bytes()).collect();
        let expected: Vec<&[u8]> = vec![&paths[4], &paths[0], &paths[1], &paths[2], &paths[2], &paths[3]];
        assert_eq!(values, expected, "round {round}");
        // And each reaches sandbox-exec as one argument, byte for byte.
        let args = argv(&profile, &[OsString::from("true")]);
        for (name, value) in &profile.params {
            let mut define = format!("{name}=").into_bytes();
            define.extend_from_slice(value.as_bytes());
            assert!(args.iter().any(|a| a.as_bytes() == define.as_slice()), "round {round}: {name}");
        }
    }
}

#[test]
fn argv_is_profile_definitions_separator_command() {
    let p = policy(Deny { write: true, ..Deny::default() }, Net::Unrestricted, usual_paths(), &[]);
    let profile = build(&p, &mac()).unwrap();
    let command = [OsString::from("make"), OsString::from("-j2"), OsString::from("--"), OsString::from("-p")];
    let args = argv(&profile, &command);
    let expected: Vec<OsString> = [
        "-p",
        profile.text.as_str(),
        "-D",
        "TTY_0=/dev/ttys003",
        "-D",
        "WRITE_0=/Users/me/project",
        "-D",
        "WRITE_1=/private/var/folders/xy/T",
        "-D",
        "WRITE_2=/dev/null",
        "--",
        "make",
        "-j2",
        "--",
        "-p",
    ]
    .iter()
    .map(OsString::from)
    .collect();
    assert_eq!(args, expected);
}

#[test]
fn argv_keeps_non_utf8_arguments() {
    let profile = build(&policy(Deny::default(), Net::Unrestricted, Vec::new(), &[]), &mac()).unwrap();
    let arg = OsStr::from_bytes(b"\xff\xfe").to_owned();
    let args = argv(&profile, &[OsString::from("cat"), arg.clone()]);
    assert_eq!(args.last(), Some(&arg));
    assert_eq!(args[2], OsString::from("--"));
}

#[test]
fn only_localhost_and_every_host_pairs_are_expressible() {
    let rules = |entries: &[&str]| entries.iter().map(|e| NetRule::parse(e).unwrap()).collect::<Vec<_>>();
    let (remotes, rest) = split_rules(&rules(&["localhost", "localhost:22", "0.0.0.0/0:443", "[::/0]:443"]));
    assert_eq!(remotes, [Remote::Localhost(None), Remote::Localhost(Some(22)), Remote::Any(Some(443))]);
    assert!(rest.is_empty());
    assert_eq!(Remote::Any(Some(443)).address(), "*:443");
    assert_eq!(Remote::Localhost(None).address(), "localhost:*");
    for entry in [
        "example.com",
        "*.example.com:443",
        "127.0.0.1",
        "127.0.0.1:5432",
        "::1",
        "10.0.0.0/8",
        "192.0.2.7:80",
        "0.0.0.0/0:443",
        "[::/0]:443",
        "0.0.0.0/0",
    ] {
        let (remotes, rest) = split_rules(&rules(&[entry]));
        assert!(remotes.is_empty() && rest.len() == 1, "{entry}: {remotes:?}");
    }
    // The unspecified address is a port to listen on, either family.
    let (remotes, rest) = split_rules(&rules(&["0.0.0.0:8080", "[::]:9090", "0.0.0.0"]));
    assert_eq!(remotes, [Remote::Listen(Some(8080)), Remote::Listen(Some(9090)), Remote::Listen(None)]);
    assert!(rest.is_empty());
    assert_eq!(Remote::Listen(Some(8080)).address(), "*:8080");
    // A pair needs the same port on both sides.
    let (remotes, rest) = split_rules(&rules(&["0.0.0.0/0:443", "[::/0]:80"]));
    assert!(remotes.is_empty() && rest.len() == 2, "{remotes:?}");
}

#[test]
fn unexpressible_entries_are_refused_with_exit_125_reasons() {
    let p = policy(Deny { net: true, ..Deny::default() }, net(&["localhost:80", "example.com:443"]), Vec::new(), &[]);
    let err = format!("{:#}", check_network(&p).unwrap_err());
    assert!(err.contains("--allow-net=example.com:443"), "{err}");
    assert!(!err.contains("localhost:80,"), "only the unexpressible entry is named: {err}");
    assert!(err.contains("`localhost`") && err.contains("--best-effort"), "{err}");
    // build() refuses too, should a caller skip the check.
    assert!(build(&p, &mac()).is_err());
}

#[test]
fn best_effort_narrows_never_widens() {
    let mut p = policy(Deny { net: true, ..Deny::default() }, net(&["localhost:80", "10.0.0.0/8"]), Vec::new(), &[]);
    p.best_effort = true;
    let (narrowed, warning) = check_network(&p).unwrap();
    assert_eq!(narrowed.net, net(&["localhost:80"]));
    let warning = warning.unwrap();
    assert!(warning.contains("--allow-net=10.0.0.0/8") && warning.contains("NO network"), "{warning}");

    p.net = net(&["example.com"]);
    let (narrowed, warning) = check_network(&p).unwrap();
    assert_eq!(narrowed.net, Net::Denied);
    assert!(warning.unwrap().contains("no network at all"));
    let text = text(&narrowed);
    assert!(text.contains("(deny network*)") && !text.contains("remote ip"), "{text}");
}

#[test]
fn nothing_to_check_without_allow_rules() {
    for net in [Net::Unrestricted, Net::Denied] {
        let p = policy(Deny { net: net.is_restricted(), ..Deny::default() }, net.clone(), Vec::new(), &[]);
        let (same, warning) = check_network(&p).unwrap();
        assert_eq!((same.net, warning), (net, None));
    }
}
