//! The macOS profile generator (`sbx::macos::profile`), built on Linux with
//! the `fuzzing` feature. Property: no path changes the profile's structure.
//! A policy and machine made from the input (denies, path rules with
//! arbitrary bytes, `--allow-unix` sockets, `--allow-net` entries, terminal
//! names) give exactly the same profile text as the same ones with every path
//! replaced by a fixed placeholder, and the path bytes reach sandbox-exec only
//! as `-D NAME=value` parameter values (in the spelling Seatbelt matches), each
//! `NAME` referenced by the rules, every reference naming a parameter.
//!
//! Input: byte 0 = flags (bit 0 deny read, bit 1 deny write, bits 2-3 network:
//! unrestricted, denied, allow, allow; bit 4 best effort; bit 5 deny env),
//! then items `TAG LEN BYTES…` (TAG % 7: read dir, read file, write dir,
//! write file, unix socket, allow-net entry, terminal).

#![no_main]

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;

use libfuzzer_sys::fuzz_target;
use sbx::env::EnvPolicy;
use sbx::macos::machine::{Dialect, Machine};
use sbx::macos::profile::{self, Profile};
use sbx::policy::{Access, Deny, Net, NetRule, Origins, PathRule, Policy, Source, Temp};

const PLACEHOLDER: &str = "/placeholder";

fn policy(data: &[u8]) -> Option<(Policy, Machine)> {
    let (&flags, mut rest) = data.split_first()?;
    let mut paths = Vec::new();
    let mut unix = Vec::new();
    let mut rules = Vec::new();
    let mut terminals = Vec::new();
    while let [tag, len, tail @ ..] = rest {
        let len = usize::from(*len).min(tail.len());
        let (bytes, after) = tail.split_at(len);
        rest = after;
        let path = PathBuf::from(OsStr::from_bytes(bytes));
        let (is_dir, access) = match tag % 7 {
            0 => (true, Access::Read),
            1 => (false, Access::Read),
            2 => (true, Access::Write),
            3 => (false, Access::Write),
            4 => {
                unix.push(path);
                continue;
            }
            5 => {
                rules.push(NetRule::parse(std::str::from_utf8(bytes).ok()?).ok()?);
                continue;
            }
            _ => {
                terminals.push(path);
                continue;
            }
        };
        paths.push(PathRule { path, is_dir, access, source: Source::Flag("--allow-read") });
    }
    let net = match (flags >> 2) & 3 {
        0 => Net::Unrestricted,
        1 => Net::Denied,
        _ => Net::Allow(rules),
    };
    let policy = Policy {
        deny: Deny { read: flags & 1 != 0, write: flags & 2 != 0, net: net.is_restricted(), env: flags & 0x20 != 0 },
        paths,
        // Hidden and protected paths add a rule per directory on their way,
        // so the text depends on how many components they have: covered by
        // unit tests (src/macos/profile/tests.rs), not by this invariant.
        hidden: Vec::new(),
        missing_dirs: Vec::new(),
        protection: Default::default(),
        net,
        unix_allow: unix,
        quiet: false,
        close_fds: false,
        env: EnvPolicy::Inherit,
        best_effort: flags & 0x10 != 0,
        command: vec![OsString::from("/bin/true")],
        cwd: PathBuf::from("/"),
        child_env: Vec::new(),
        temp: Temp::Shared,
        origins: Origins::default(),
    };
    Some((policy, Machine { terminals, dialect: Dialect::BY_NAME }))
}

/// The profile for `policy` (after the network check), or `None` if refused.
fn generate(policy: &Policy, machine: &Machine) -> Option<Profile> {
    let (policy, _warning) = profile::check_network(policy).ok()?;
    profile::build(&policy, machine).ok()
}

fuzz_target!(|data: &[u8]| {
    let Some((real, machine)) = policy(data) else { return };
    let mut fixed = real.clone();
    for rule in &mut fixed.paths {
        rule.path = PathBuf::from(PLACEHOLDER);
    }
    for socket in &mut fixed.unix_allow {
        *socket = PathBuf::from(PLACEHOLDER);
    }
    let placeholders =
        Machine { terminals: vec![PathBuf::from(PLACEHOLDER); machine.terminals.len()], ..machine.clone() };
    let (got, want) = match (generate(&real, &machine), generate(&fixed, &placeholders)) {
        (Some(got), Some(want)) => (got, want),
        (None, None) => return,
        (got, want) => panic!("paths changed whether the profile builds: {got:?} vs {want:?}"),
    };
    assert_eq!(got.text, want.text, "path bytes changed the profile text");
    let names = |p: &Profile| p.params.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&got), names(&want), "path bytes changed the parameter names");
    assert!(want.params.iter().all(|(_, v)| v == PLACEHOLDER), "{:?}", want.params);
    assert_eq!(got.new_session, want.new_session);
    // Every value is one of the policy's or the machine's paths, in the
    // spelling Seatbelt matches; every parameter is referenced by a rule,
    // and every reference in a rule names a parameter. (Comments may
    // mention `(param "NAME")`; only rules count.)
    let originals: Vec<PathBuf> = real
        .paths
        .iter()
        .map(|r| r.path.as_path())
        .chain(real.unix_allow.iter().map(PathBuf::as_path))
        .map(|p| profile::seatbelt_spelling(p).into_owned())
        .chain(machine.terminals.iter().cloned())
        .collect();
    let rules: Vec<&str> = got.text.lines().filter(|l| !l.trim_start().starts_with(';')).collect();
    for (name, value) in &got.params {
        assert!(
            originals.iter().any(|o| o.as_os_str() == value),
            "parameter {name}={value:?} is no path of the policy"
        );
        assert!(name.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'), "{name:?}");
        let reference = format!("(param \"{name}\")");
        assert!(rules.iter().any(|l| l.contains(&reference)), "{reference} unused in:\n{}", got.text);
    }
    for line in &rules {
        for (at, _) in line.match_indices("(param \"") {
            let name = line[at + 8..].split('"').next().unwrap_or_default();
            assert!(got.params.iter().any(|(n, _)| n == name), "{name} is no parameter:\n{}", got.text);
        }
    }
    // The argv carries the text and the parameters unchanged.
    let command = [OsString::from("cmd"), OsString::from_vec(data.to_vec())];
    let argv = profile::argv(&got, &command);
    let mut expected = vec![OsString::from("-p"), OsString::from(&got.text)];
    for (name, value) in &got.params {
        let mut define = OsString::from(format!("{name}="));
        define.push(value);
        expected.push(OsString::from("-D"));
        expected.push(define);
    }
    expected.push(OsString::from("--"));
    expected.extend(command);
    assert_eq!(argv, expected);
    let _ = profile::render(&got);
});
