//! Golden profiles for a matrix of policies (`tests/golden/sbpl/`, rewritten
//! under `SBX_BLESS=1`), hostile paths, the argv and the network checks. Run
//! on every platform: nothing here needs a Mac.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::*;
use crate::policy::{Deny, PathRule, Source};

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
        rule(b"/dev/null", false, Access::Write),
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

fn rendered(policy: &Policy) -> String {
    let (policy, warning) = check_network(policy).unwrap();
    assert_eq!(warning, None);
    render(&build(&policy).unwrap())
}

#[test]
fn golden_profiles() {
    let read = Deny { read: true, ..Deny::default() };
    let write = Deny { write: true, ..Deny::default() };
    let net_only = Deny { net: true, ..Deny::default() };
    let all = Deny { read: true, write: true, net: true, env: false };
    let cases: Vec<(&str, Policy)> = vec![
        ("unrestricted", policy(Deny::default(), Net::Unrestricted, Vec::new(), &[])),
        ("deny-read", policy(read, Net::Unrestricted, usual_paths(), &[])),
        ("deny-write", policy(write, Net::Unrestricted, usual_paths(), &[])),
        ("deny-net", policy(net_only, Net::Denied, Vec::new(), &[])),
        (
            "allow-net-localhost",
            policy(net_only, net(&["localhost:5432", "LOCALHOST:8080", "localhost:5432"]), Vec::new(), &[]),
        ),
        ("allow-net-localhost-any-port", policy(net_only, net(&["localhost"]), Vec::new(), &[])),
        ("allow-net-every-host-443", policy(net_only, net(&["0.0.0.0/0:443", "[::/0]:443"]), Vec::new(), &[])),
        (
            "allow-unix",
            policy(net_only, Net::Denied, Vec::new(), &["/private/var/run/docker.sock", "/Users/me/.ssh/agent"]),
        ),
        ("deny-all-with-exceptions", policy(all, net(&["localhost:3000"]), usual_paths(), &["/private/tmp/app.sock"])),
    ];
    for (name, policy) in &cases {
        golden(name, &rendered(policy));
    }
}

#[test]
fn base_profile_is_allow_default_with_the_signal_scope() {
    let text = build(&policy(Deny::default(), Net::Unrestricted, Vec::new(), &[])).unwrap().text;
    assert!(text.starts_with("; sbx base profile"), "{text}");
    assert!(text.contains("(version 1)") && text.contains("(allow default)"), "{text}");
    assert!(text.contains("(deny signal)\n"), "{text}");
    assert!(!text.contains("file-read") && !text.contains("network"), "{text}");
}

#[test]
fn every_rule_of_a_section_follows_its_deny() {
    let p = policy(Deny { read: true, write: true, net: true, env: false }, Net::Denied, usual_paths(), &["/s"]);
    let text = build(&p).unwrap().text;
    let pos = |needle: &str| text.find(needle).unwrap_or_else(|| panic!("{needle} missing:\n{text}"));
    assert!(pos("(deny file-read*)") < pos("(allow file-read* (subpath (param \"READ_0\")))"), "{text}");
    assert!(pos("(deny file-write*)") < pos("(allow file-write* (subpath (param \"WRITE_0\")))"), "{text}");
    assert!(pos("(deny network*)") < pos("(param \"UNIX_0\")"), "{text}");
    // Read rules never become write rules.
    assert_eq!(text.matches("(allow file-write* (").count(), 1 + 3, "{text}");
    assert_eq!(text.matches("(allow file-read* (").count(), 1 + 5, "{text}");
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
    let reference = build(&shape(b"/plain")).unwrap();
    for path in HOSTILE {
        let profile = build(&shape(path)).unwrap();
        assert_eq!(profile.text, reference.text, "the path {:?} changed the profile text", OsStr::from_bytes(path));
        if *path != b"/plain" {
            assert!(
                !profile.text.as_bytes().windows(path.len()).any(|w| w == *path),
                "the path {:?} appears in the profile text:\n{}",
                OsStr::from_bytes(path),
                profile.text
            );
        }
        // READ_0, READ_1, WRITE_0, UNIX_0: each the exact bytes.
        assert_eq!(profile.params.len(), 4, "{:?}", profile.params);
        for (name, value) in &profile.params {
            assert_eq!(value.as_bytes(), *path, "{name}");
            assert!(reference.params.iter().any(|(n, _)| n == name), "{name}");
        }
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
        let paths: Vec<Vec<u8>> = (0..4).map(|_| rng.path()).collect();
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
        let profile = build(&p).unwrap();
        assert_eq!(profile.text, build(&reference).unwrap().text, "round {round}: {paths:?}");
        let values: Vec<&[u8]> = profile.params.iter().map(|(_, v)| v.as_bytes()).collect();
        let expected: Vec<&[u8]> = vec![&paths[0], &paths[1], &paths[2], &paths[2], &paths[3]];
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
    let profile = build(&p).unwrap();
    let command = [OsString::from("make"), OsString::from("-j2"), OsString::from("--"), OsString::from("-p")];
    let args = argv(&profile, &command);
    let expected: Vec<OsString> = [
        "-p",
        profile.text.as_str(),
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
    let profile = build(&policy(Deny::default(), Net::Unrestricted, Vec::new(), &[])).unwrap();
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
    assert!(build(&p).is_err());
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
    let text = build(&narrowed).unwrap().text;
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
