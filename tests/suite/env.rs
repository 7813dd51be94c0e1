//! The command's environment: everything by default; under `--deny-env` (or
//! `--deny-all`, or any `--allow-env`) only PATH HOME USER SHELL TERM COLORTERM
//! LANG and the `--allow-env` glob matches. Bytes pass through untouched.
//!
//! Each test starts from an empty environment, sets exactly the variables it
//! names, and compares `env`'s whole output (as bytes) with the expected set.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use super::process::as_root_and_nobody;
use super::util::{Cmd, Output, bare, sbx};

/// A variable as raw bytes.
type Var = (&'static [u8], &'static [u8]);

const PATH: Var = (b"PATH", b"/usr/bin:/bin");

/// Every variable `--deny-env` keeps, with test values.
const BASE: &[Var] = &[
    PATH,
    (b"HOME", b"/nonexistent-home"),
    (b"USER", b"someone"),
    (b"SHELL", b"/bin/sh"),
    (b"TERM", b"dumb"),
    (b"COLORTERM", b"truecolor"),
    (b"LANG", b"C.UTF-8"),
];

/// Variables `--deny-env` drops unless allowed.
const EXTRA: &[Var] = &[
    (b"FOO", b"bar"),
    (b"SECRET_TOKEN", b"hunter2"),
    (b"AWS_SECRET_ACCESS_KEY", b"k"),
    (b"SSH_AUTH_SOCK", b"/nonexistent/agent.sock"),
    (b"LD_LIBRARY_PATH", b"/nonexistent-lib"),
    (b"LC_ALL", b"C"),
    (b"EMPTY", b""),
    (b"path", b"lowercase is another variable"),
];

/// `cmd` with exactly `vars` as its environment.
fn with_vars(mut cmd: Cmd, vars: &[Var]) -> Cmd {
    cmd = cmd.env_clear();
    for (k, v) in vars {
        cmd = cmd.env(OsStr::from_bytes(k), OsStr::from_bytes(v));
    }
    cmd
}

/// `NAME=VALUE` lines, sorted.
fn lines(vars: &[Var]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = vars.iter().map(|(k, v)| [*k, b"=", *v].concat()).collect();
    out.sort();
    out
}

/// The variables `env` printed, sorted.
fn printed(out: &Output) -> Vec<Vec<u8>> {
    out.success();
    let mut v: Vec<Vec<u8>> =
        out.stdout_bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()).map(<[u8]>::to_vec).collect();
    v.sort();
    v
}

fn show(lines: &[Vec<u8>]) -> Vec<String> {
    lines.iter().map(|l| String::from_utf8_lossy(l).into_owned()).collect()
}

/// Asserts that `sbx FLAGS -- env`, run with exactly `given`, prints exactly
/// `expected` — as root and as uid 65534. Also checks the premise: bare `env`
/// prints all of `given`.
#[track_caller]
fn assert_env(flags: &[&str], given: &[Var], expected: &[Var]) {
    if !super::util::enforceable(flags) {
        return;
    }
    let bare_out = with_vars(bare("env"), given).run();
    assert_eq!(printed(&bare_out), lines(given), "bare env does not print what it was given{}", bare_out.report());
    for cmd in as_root_and_nobody(|| with_vars(sbx(flags).args(["--", "env"]), given)) {
        let out = cmd.run();
        let got = printed(&out);
        assert_eq!(show(&got), show(&lines(expected)), "unexpected environment{}", out.report());
        assert_eq!(got, lines(expected), "environment differs in bytes{}", out.report());
    }
}

fn all_of(parts: &[&[Var]]) -> Vec<Var> {
    parts.iter().flat_map(|p| p.iter().copied()).collect()
}

#[test]
fn without_deny_env_every_variable_passes() {
    let given = all_of(&[BASE, EXTRA]);
    for flags in [&[][..], &["--deny-write"], &["--deny-net"], &["--deny-write", "--deny-net"]] {
        assert_env(flags, &given, &given);
    }
}

#[test]
fn deny_env_keeps_only_the_base_set() {
    let given = all_of(&[BASE, EXTRA]);
    assert_env(&["--deny-env"], &given, BASE);
    // A base variable that is not set is not invented.
    assert_env(&["--deny-env"], &all_of(&[&[PATH], EXTRA]), &[PATH]);
}

#[test]
fn deny_all_filters_the_environment() {
    let given = all_of(&[BASE, EXTRA]);
    assert_env(&["--deny-all"], &given, BASE);
}

#[test]
fn allow_env_star_glob() {
    let aws: &[Var] = &[
        (b"AWS_KEY", b"1"),
        (b"AWS_", b"2"),
        (b"AWS_A_B", b"3"),
        (b"AWSX", b"no"),
        (b"AWS", b"no"),
        (b"aws_key", b"no"),
    ];
    let given = all_of(&[BASE, EXTRA, aws]);
    let kept: &[Var] = &[(b"AWS_KEY", b"1"), (b"AWS_", b"2"), (b"AWS_A_B", b"3"), (b"AWS_SECRET_ACCESS_KEY", b"k")];
    // --allow-env implies --deny-env, with or without it spelled out.
    assert_env(&["--allow-env=AWS_*"], &given, &all_of(&[BASE, kept]));
    assert_env(&["--deny-env", "--allow-env=AWS_*"], &given, &all_of(&[BASE, kept]));
}

#[test]
fn allow_env_question_mark_matches_one_character() {
    let xs: &[Var] = &[(b"X", b"no"), (b"XY", b"1"), (b"X_", b"2"), (b"XYZ", b"no"), (b"AXY", b"no")];
    let given = all_of(&[BASE, xs]);
    assert_env(&["--allow-env=X?"], &given, &all_of(&[BASE, &[(b"XY", b"1"), (b"X_", b"2")]]));
}

#[test]
fn allow_env_exact_names_and_several_patterns() {
    let given = all_of(&[BASE, EXTRA]);
    assert_env(
        &["--allow-env=FOO", "--allow-env=EMPTY", "--allow-env=LC_*"],
        &given,
        &all_of(&[BASE, &[(b"FOO", b"bar"), (b"EMPTY", b""), (b"LC_ALL", b"C")]]),
    );
    // A literal name does not match as a prefix, and matching is case-sensitive.
    assert_env(&["--allow-env=FO", "--allow-env=foo"], &given, BASE);
}

#[test]
fn allow_env_brackets_and_braces_are_literal() {
    let odd: &[Var] = &[(b"A[B]", b"1"), (b"AB", b"no"), (b"C{D,E}", b"2"), (b"CD", b"no")];
    let given = all_of(&[&[PATH], odd]);
    assert_env(
        &["--allow-env=A[B]", "--allow-env=C{D,E}"],
        &given,
        &all_of(&[&[PATH], &[(b"A[B]", b"1"), (b"C{D,E}", b"2")]]),
    );
}

#[test]
fn non_utf8_names_and_values_pass_byte_exact() {
    let odd: &[Var] = &[(b"BYTES", b"\xff\xfe"), (b"N\xff", b"\x80v\xc3"), (b"DROPPED\xff", b"\xff")];
    let lang: Var = (b"LANG", b"\xffbad-locale");
    let given = all_of(&[&[PATH, lang], odd]);
    // Unfiltered: everything, byte for byte.
    assert_env(&["--deny-write"], &given, &given);
    // Filtered: a non-UTF-8 base value and glob matches on non-UTF-8 names.
    assert_env(
        &["--allow-env=BYTES", "--allow-env=N*"],
        &given,
        &[PATH, lang, (b"BYTES", b"\xff\xfe"), (b"N\xff", b"\x80v\xc3")],
    );
}

#[test]
fn non_utf8_value_reaches_the_command_unchanged() {
    if !super::util::enforceable(&["--allow-env=BYTES"]) {
        return;
    }
    // Independent of env(1): a shell printing one variable.
    let value: &[u8] = b"\xff\xfe\x01end";
    for cmd in as_root_and_nobody(|| {
        sbx(["--allow-env=BYTES", "--", "sh", "-c", "printf '%s' \"$BYTES\""])
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("BYTES", OsStr::from_bytes(value))
    }) {
        let out = cmd.run();
        out.success();
        assert_eq!(out.stdout_bytes, value, "{}", out.report());
    }
}

#[test]
fn empty_allow_env_is_a_usage_error() {
    let out = sbx(["--allow-env=", "--", "true"]).run();
    out.code(125).stderr_has("empty");
}
