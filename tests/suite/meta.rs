//! Metadata writes under `--deny-write` (issue #6): Landlock does not mediate
//! chmod, chown, utimes or extended attributes, so sbx's supervisor performs
//! them for the command inside the writable trees and refuses them elsewhere
//! (EPERM, as for a non-owner; EACCES for "times to now", as for a caller
//! without write permission). Each case first runs the probe without sbx on a
//! fresh tree (it must succeed), then under sbx; paths are relative to the
//! command's cwd. As the invoking user (root in CI) and as uid 65534, who owns
//! the tree then.

use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use tempfile::TempDir;

use super::util::{Cmd, bare, make_reachable, need_root, probe, sbx, tempdir};

const NOBODY: u32 = 65534;

/// in/file, in/link -> ../out/file, out/file; files 0644 with the xattr
/// user.old=1 (dirs 0777 and everything owned by 65534 for `nobody`).
fn tree(nobody: bool) -> TempDir {
    let dir = tempdir();
    let root = dir.path();
    fs::create_dir_all(root.join("in")).unwrap();
    fs::create_dir_all(root.join("out")).unwrap();
    for f in ["in/file", "out/file"] {
        fs::write(root.join(f), "x\n").unwrap();
        fs::set_permissions(root.join(f), fs::Permissions::from_mode(0o644)).unwrap();
    }
    std::os::unix::fs::symlink("../out/file", root.join("in/link")).unwrap();
    if nobody {
        for d in ["", "in", "out"] {
            fs::set_permissions(root.join(d), fs::Permissions::from_mode(0o777)).unwrap();
        }
        for p in ["", "in", "out", "in/file", "out/file", "in/link"] {
            std::os::unix::fs::lchown(root.join(p), Some(NOBODY), Some(NOBODY)).unwrap();
        }
        make_reachable(root);
    }
    for f in ["in/file", "out/file"] {
        run(bare(probe()), nobody, root, &["setxattr", f, "user.old", "1"], "ok");
        // A known old mtime, so "changed to now" is a change.
        run(bare(probe()), nobody, root, &["utimes", f, &OLD_MTIME.to_string()], "ok");
    }
    dir
}

/// The mtime every file of [`tree`] starts with.
const OLD_MTIME: i64 = 1000;

fn args(a: &[&str]) -> Vec<OsString> {
    a.iter().map(OsString::from).collect()
}

fn run(cmd: Cmd, nobody: bool, cwd: &Path, a: &[&str], expect: &str) {
    let cmd = cmd.args(args(a)).cwd(cwd).env_remove("TMPDIR");
    let cmd = if nobody { cmd.nobody() } else { cmd };
    let out = cmd.run();
    assert_eq!(out.stdout.trim(), expect, "{}", out.report());
}

fn sandboxed(root: &Path) -> Cmd {
    let mut allow = OsString::from("--allow-write=");
    allow.push(root.join("in"));
    sbx([OsString::from("--deny-write"), allow, OsString::from("--"), probe().as_os_str().to_owned()])
}

/// What a test checks of a file: mode, owner, mtime, the xattr user.sbx.
#[derive(Debug, PartialEq, Eq)]
struct State {
    mode: u32,
    uid: u32,
    mtime: i64,
    xattrs: (String, String),
}

fn state(root: &Path, rel: &str) -> State {
    let m = fs::symlink_metadata(root.join(rel)).unwrap();
    let x = |name: &str| bare(probe()).args(args(&["getxattr", rel, name])).cwd(root).run().stdout.trim().to_string();
    State { mode: m.mode() & 0o7777, uid: m.uid(), mtime: m.mtime(), xattrs: (x("user.sbx"), x("user.old")) }
}

/// Runs `op` on in/file and out/file: without sbx on a fresh tree (ok),
/// then under sbx: ok inside (and `changed` holds), refused outside with
/// `denied` (and out/file unchanged), and through in/link (refused).
fn check(nobody: bool, op: &[&str], denied: &str, changed: impl Fn(&State) -> bool) {
    check_prepared(nobody, op, denied, |_| {}, changed)
}

/// [`check`], with each fresh tree passed to `prepare` first.
fn check_prepared(nobody: bool, op: &[&str], denied: &str, prepare: impl Fn(&Path), changed: impl Fn(&State) -> bool) {
    let call = |cmd: Cmd, root: &Path, file: &str, expect: &str| {
        let mut a = vec![op[0], file];
        a.extend_from_slice(&op[1..]);
        run(cmd, nobody, root, &a, expect);
    };
    let tree = |nobody| {
        let t = tree(nobody);
        prepare(t.path());
        t
    };
    let bare_tree = tree(nobody);
    let root = bare_tree.path();
    call(bare(probe()), root, "out/file", "ok");
    assert!(changed(&state(root, "out/file")), "{op:?} without sbx changed nothing");

    let t = tree(nobody);
    let root = t.path();
    let before = state(root, "out/file");
    call(sandboxed(root), root, "out/file", denied);
    assert_eq!(state(root, "out/file"), before, "{op:?} changed out/file under sbx");
    call(sandboxed(root), root, "in/file", "ok");
    assert!(changed(&state(root, "in/file")), "{op:?} inside did not happen");
    if op[0] != "lchown" {
        call(sandboxed(root), root, "in/link", denied);
        assert_eq!(state(root, "out/file"), before, "{op:?} through in/link changed out/file");
    }
}

fn users(test: impl Fn(bool)) {
    super::util::users().into_iter().for_each(test);
}

#[test]
fn mode() {
    if !super::util::enforceable(&["--deny-write"]) {
        return;
    }
    users(|nobody| {
        for op in ["chmod", "fchmodat", "fchmodat2", "fchmod"] {
            if !absent_in_container(nobody, op) {
                check(nobody, &[op, "600"], "EPERM", |s| s.mode == 0o600);
            }
        }
    });
}

/// Whether `op` (on a mode) fails with ENOSYS in the suite's container
/// without sbx: there (Docker 20.10's profile predates fchmodat2, so runc
/// makes it ENOSYS and libc falls back to fchmodat) it must fail alike under
/// sbx, inside the writable tree too, and changes nothing. False outside a
/// container.
fn absent_in_container(nobody: bool, op: &str) -> bool {
    if super::util::container().is_none() {
        return false;
    }
    let t = tree(nobody);
    let root = t.path();
    let without = bare(probe()).in_container().args([op, "in/file", "600"]).cwd(root);
    let without = if nobody { without.nobody() } else { without }.run();
    if without.stdout.trim_end() != "ENOSYS" {
        return false;
    }
    eprintln!("{op} is ENOSYS in the container without sbx");
    run(sandboxed(root), nobody, root, &[op, "in/file", "600"], "ENOSYS");
    run(sandboxed(root), nobody, root, &[op, "out/file", "600"], "ENOSYS");
    assert_eq!(state(root, "in/file").mode, 0o644);
    assert_eq!(state(root, "out/file").mode, 0o644);
    true
}

#[test]
fn owner() {
    if !super::util::enforceable(&["--deny-write"]) {
        return;
    }
    users(|nobody| {
        // Root gives the file to 65534. A user may only "change" it to its
        // own uid (65534, or the container's user), which leaves the owner
        // as it was: what shows that the chown happened is the setuid bit,
        // which every chown of a file clears (root's too, since Linux 2.2.13).
        let to = if nobody || super::util::is_root() { NOBODY } else { super::util::sbx_uid() };
        let uid = to.to_string();
        let setuid = |root: &Path| {
            for f in ["in/file", "out/file"] {
                fs::set_permissions(root.join(f), fs::Permissions::from_mode(0o4755)).unwrap();
            }
        };
        for op in ["chown", "lchown", "fchownat", "fchown"] {
            check_prepared(nobody, &[op, &uid, &uid], "EPERM", setuid, |s| s.uid == to && s.mode == 0o755);
        }
    });
}

#[test]
fn times() {
    if !super::util::enforceable(&["--deny-write"]) {
        return;
    }
    users(|nobody| {
        for op in ["utimensat", "utimes", "futimens", "utime", "futimesat"] {
            check(nobody, &[op, "1000000"], "EPERM", |s| s.mtime == 1_000_000);
        }
        // "Now" needs only write permission: refused like a missing one.
        check(nobody, &["utimensat-now"], "EACCES", |s| s.mtime > OLD_MTIME);
    });
}

#[test]
fn xattrs() {
    if !super::util::enforceable(&["--deny-write"]) {
        return;
    }
    users(|nobody| {
        for op in ["setxattr", "fsetxattr", "lsetxattr"] {
            check(nobody, &[op, "user.sbx", "v"], "EPERM", |s| s.xattrs.0 == "v");
        }
        for op in ["removexattr", "fremovexattr", "lremovexattr"] {
            check(nobody, &[op, "user.old"], "EPERM", |s| s.xattrs.1 != "1");
        }
    });
}

/// Calls sbx does not mediate and so refuses outright under --deny-write
/// (ESCAPES.md), inside the writable paths too, where each works bare.
#[test]
fn unmediated_metadata_calls_are_refused_everywhere() {
    if !super::util::enforceable(&["--deny-write"]) {
        return;
    }
    for (op, extra, works) in [
        ("setxattrat", &["user.sbx", "v"][..], "ok"),
        ("removexattrat", &["user.old"], "ok"),
        ("file_setattr", &[], "ok"),
    ] {
        let t = tree(false);
        let root = t.path();
        let mut a = vec![op, "in/file"];
        a.extend_from_slice(extra);
        let out = bare(probe()).args(args(&a)).cwd(root).run();
        let got = out.stdout.trim();
        if got == "ENOSYS" {
            // A kernel older than the call (6.13; file_setattr 6.17).
            super::util::skip(&format!("{op} needs a newer kernel (ENOSYS)"));
            continue;
        }
        // file_setattr may say the file system has no such attributes.
        assert!(got == works || (op == "file_setattr" && got == "EOPNOTSUPP"), "bare {op}: {}", out.report());
        run(sandboxed(root), false, root, &a, "EPERM");
    }
}

/// The metadata calls on the 32-bit (i386) entry, which the supervisor does
/// not mediate: refused (EPERM) even inside the writable tree. Written here,
/// not taken from sbx's tables, with the arguments of [`i386_metadata_call`]
/// (`F` the file, `FD` a read-only fd of it, `U`/`G` its owner). Calls
/// numbered 452 and up (fchmodat2, setxattrat, …) fail with ENOSYS on that
/// entry whatever the policy.
const I386_METADATA: &[(&str, &[&str])] = &[
    ("chmod", &["F", "0600"]),
    ("fchmod", &["FD", "0600"]),
    ("fchmodat", &["-100", "F", "0600"]),
    ("chown", &["F", "U", "G"]),
    ("lchown", &["F", "U", "G"]),
    ("fchown", &["FD", "U", "G"]),
    ("chown32", &["F", "U", "G"]),
    ("lchown32", &["F", "U", "G"]),
    ("fchown32", &["FD", "U", "G"]),
    ("fchownat", &["-100", "F", "U", "G", "0"]),
    ("utime", &["F", "0"]),
    ("utimes", &["F", "0"]),
    ("futimesat", &["-100", "F", "0"]),
    ("utimensat", &["-100", "F", "0", "0"]),
    ("setxattr", &["F", "s:user.sbx", "s:v", "1", "0"]),
    ("lsetxattr", &["F", "s:user.sbx", "s:v", "1", "0"]),
    ("fsetxattr", &["FD", "s:user.sbx", "s:v", "1", "0"]),
    ("removexattr", &["F", "s:user.old"]),
    ("lremovexattr", &["F", "s:user.old"]),
    ("fremovexattr", &["FD", "s:user.old"]),
];

/// The probe's arguments for `call` on in/file through int 0x80.
fn i386_metadata_call(call: &str, template: &[&str], owner: u32) -> Vec<String> {
    let nr = libseccomp::ScmpSyscall::from_name_by_arch(call, libseccomp::ScmpArch::X86)
        .unwrap_or_else(|e| panic!("no i386 number for {call}: {e}"));
    let mut a = vec!["i386-call".to_string(), nr.as_raw_syscall().to_string()];
    a.extend(template.iter().map(|t| match *t {
        "F" => "s:in/file".to_string(),
        "FD" => "f:in/file".to_string(),
        "U" | "G" => owner.to_string(),
        other => other.to_string(),
    }));
    a
}

#[test]
fn thirty_two_bit_metadata_calls_are_refused_even_inside() {
    if !super::util::enforceable(&["--deny-write"]) {
        return;
    }
    users(|nobody| {
        let owner = if nobody { NOBODY } else { 0 };
        for &(call, template) in I386_METADATA {
            let a = i386_metadata_call(call, template, owner);
            let a: Vec<&str> = a.iter().map(String::as_str).collect();
            // The control: bare, the kernel performs it.
            let bare_tree = tree(nobody);
            run(bare(probe()), nobody, bare_tree.path(), &a, "ok");
            let t = tree(nobody);
            let root = t.path();
            let before = state(root, "in/file");
            run(sandboxed(root), nobody, root, &a, "EPERM");
            assert_eq!(state(root, "in/file"), before, "32-bit {call} changed in/file under sbx");
        }
    });
}

#[test]
fn lchown_of_a_symlink_inside_changes_the_link_itself() {
    if !super::util::enforceable(&["--deny-write"]) {
        return;
    }
    if !need_root() {
        return;
    }
    let t = tree(false);
    let root = t.path();
    run(sandboxed(root), false, root, &["lchown", "in/link", "65534", "65534"], "ok");
    assert_eq!(fs::symlink_metadata(root.join("in/link")).unwrap().uid(), NOBODY);
    assert_eq!(fs::metadata(root.join("out/file")).unwrap().uid(), 0);
}

#[test]
fn absolute_paths_are_decided_alike() {
    if !super::util::enforceable(&["--deny-write"]) {
        return;
    }
    let t = tree(false);
    let root = t.path();
    let out = root.join("out/file").display().to_string();
    let inside = root.join("in/file").display().to_string();
    run(sandboxed(root), false, Path::new("/"), &["chmod", &out, "600"], "EPERM");
    run(sandboxed(root), false, Path::new("/"), &["chmod", &inside, "600"], "ok");
    assert_eq!(fs::metadata(root.join("out/file")).unwrap().mode() & 0o777, 0o644);
    assert_eq!(fs::metadata(root.join("in/file")).unwrap().mode() & 0o777, 0o600);
}

#[test]
fn refusals_are_reported_with_the_flag() {
    if !super::util::enforceable(&["--deny-write"]) {
        return;
    }
    let t = tree(false);
    let root = t.path();
    let mut allow = OsString::from("--allow-write=");
    allow.push(root.join("in"));
    let shown = root.join("out/file").canonicalize().unwrap();
    let dir = shown.parent().unwrap();
    let run = |extra: Option<String>| {
        let mut args = vec![OsString::from("--deny-write"), allow.clone()];
        args.extend(extra.map(OsString::from));
        args.extend(["--", "chmod", "600", "out/file"].map(OsString::from));
        sbx(args).cwd(root).env_remove("TMPDIR").run()
    };
    run(None).code(1).stderr_has(&format!(
        "sbx: blocked chmod of {} — allow with --allow-write={}",
        shown.display(),
        dir.display()
    ));
    // The flag it names makes the same call pass.
    run(Some(format!("--allow-write={}", dir.display()))).success().stderr_lacks("sbx: blocked");
}

#[test]
fn real_tools_keep_working_inside() {
    if !super::util::enforceable(&["--deny-write"]) {
        return;
    }
    let t = tree(false);
    let root = t.path();
    fs::create_dir_all(root.join("in/build")).unwrap();
    fs::write(root.join("in/build/tool"), "#!/bin/sh\necho built\n").unwrap();
    let mut allow = OsString::from("--allow-write=");
    allow.push(root.join("in"));
    let script = "chmod +x build/tool && build/tool && cp -p file copy && touch file && touch -d 2001-01-01 copy \
                  && chmod 640 copy";
    sbx([OsString::from("--deny-write"), allow, "--".into(), "sh".into(), "-c".into(), script.into()])
        .cwd(root.join("in"))
        .env_remove("TMPDIR")
        .env("TZ", "UTC")
        .run()
        .success()
        .stdout_is("built");
    let copy = fs::metadata(root.join("in/copy")).unwrap();
    assert_eq!(copy.mode() & 0o777, 0o640);
    assert_eq!(copy.mtime(), 978_307_200);
}

#[test]
fn default_dev_nodes_stay_writable_but_not_chmod_able() {
    if !super::util::enforceable(&["--deny-write"]) {
        return;
    }
    let t = tree(false);
    sbx(["--deny-write", "--", probe().to_str().unwrap(), "chmod", "/dev/null", "666"])
        .cwd(t.path())
        .env_remove("TMPDIR")
        .run()
        .success()
        .stdout_is("EPERM");
}

#[test]
fn without_a_supervisor_deny_write_is_refused_or_names_the_loss() {
    if !super::util::enforceable(&["--deny-write"]) || !super::util::net_enforceable() {
        return;
    }
    // An outer sbx holds the one seccomp listener a process chain may have
    // and, restricting only the network, never sees metadata calls, so an
    // inner --deny-write cannot have them mediated: refused, or with
    // --best-effort a warning.
    let dir = super::util::tempdir();
    let file = dir.path().join("f");
    std::fs::write(&file, "x").unwrap();
    let sbx_bin = super::util::sbx_path().display().to_string();
    let inner = |extra: &str| format!("{sbx_bin} {extra} --deny-write -- chmod 600 {}; echo status=$?", file.display());
    let out = super::util::sbx(["--deny-net", "--", "sh", "-c", &inner("")]).run();
    out.success()
        .stdout_is("status=125")
        .stderr_has("changing modes, owners, times and extended attributes of files outside the writable paths")
        .stderr_has("holds the one seccomp listener")
        .stderr_has("--deny-write for metadata");
    let out = super::util::sbx(["--deny-net", "--", "sh", "-c", &inner("--best-effort")]).run();
    out.success()
        .stdout_is("status=0")
        .stderr_has("warning: --best-effort")
        .stderr_has("changing modes, owners, times and extended attributes");
}

#[test]
fn chattr_inode_flags_are_refused_under_deny_write() {
    if !super::util::enforceable(&["--deny-write"]) {
        return;
    }
    // FS_IOC_SETFLAGS works on a read-only fd of a file one owns; seccomp
    // sees only the request, so it is refused everywhere under --deny-write.
    let dir = super::util::tempdir();
    super::util::make_reachable(dir.path());
    let inside = dir.path().join("in");
    std::fs::create_dir(&inside).unwrap();
    super::util::make_reachable(&inside);
    for name in ["out-bare", "out", "in/file"] {
        std::fs::write(dir.path().join(name), "x").unwrap();
    }
    let probe = super::util::probe();
    super::util::bare(probe).arg("chattr-noatime").arg(dir.path().join("out-bare")).run().success().stdout_is("ok");
    let allow = format!("--allow-write={}", inside.display());
    for target in ["out", "in/file"] {
        super::util::sbx([allow.as_str(), "--"])
            .arg(probe)
            .arg("chattr-noatime")
            .arg(dir.path().join(target))
            .run()
            .success()
            .stdout_is("EPERM");
    }
    // Without --deny-write nothing is refused.
    super::util::sbx(["--deny-env", "--"])
        .arg(probe)
        .arg("chattr-noatime")
        .arg(dir.path().join("out"))
        .run()
        .success()
        .stdout_is("ok");
}

#[test]
fn racing_threads_flipping_a_chmod_path_never_change_the_file_outside() {
    if !super::util::enforceable(&["--deny-write"]) {
        return;
    }
    race_path("race-chmod", |m| m.permissions().mode() & 0o777 == 0o600);
}

#[test]
fn racing_threads_flipping_a_chown_path_never_change_the_file_outside() {
    if !super::util::enforceable(&["--deny-write"]) {
        return;
    }
    if !super::util::need_root() {
        return;
    }
    race_path("race-chown", |m| m.uid() == 1234);
}

#[test]
fn racing_threads_flipping_a_utimes_path_never_change_the_file_outside() {
    if !super::util::enforceable(&["--deny-write"]) {
        return;
    }
    race_path("race-utimes", |m| m.mtime() == 1_000_000_000);
}

#[test]
fn racing_threads_flipping_a_setxattr_path_never_change_the_file_outside() {
    if !super::util::enforceable(&["--deny-write"]) {
        return;
    }
    // (The xattr is checked with getxattr, not through the metadata.)
    race_path("race-setxattr", |_| false);
}

#[test]
fn racing_threads_flipping_a_truncate_path_never_truncate_the_file_outside() {
    // Landlock's TRUNCATE right decides on the path the kernel resolves;
    // below ABI 3 sbx's supervisor does, on its own copy of the path.
    if !super::util::enforceable(&["--deny-write"]) {
        return;
    }
    race_path("race-truncate", |m| m.len() == 0);
}

/// Whether `f` carries the xattr `user.sbx` (what `race-setxattr` sets).
fn has_sbx_xattr(f: &std::path::Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(f.as_os_str().as_bytes()).unwrap();
    let mut buf = [0u8; 16];
    // SAFETY: both names are NUL-terminated; buf is live and its length is passed.
    let n = unsafe { libc::getxattr(path.as_ptr(), c"user.sbx".as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    n == 5 && &buf[..5] == b"raced"
}

/// Threads make the metadata write `op` through a path another thread keeps
/// flipping between a file inside the writable tree and one outside;
/// `changed` tells a file the write reached.
fn race_path(op: &str, changed: fn(&std::fs::Metadata) -> bool) {
    let dir = super::util::tempdir();
    super::util::make_reachable(dir.path());
    for d in ["in", "ou"] {
        std::fs::create_dir(dir.path().join(d)).unwrap();
    }
    let (inside, outside) = (dir.path().join("in/f"), dir.path().join("ou/f"));
    let reset = || {
        for f in [&inside, &outside] {
            let _ = std::fs::remove_file(f);
            std::fs::write(f, "x").unwrap();
            std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
    };
    let reached = |f: &std::path::Path| {
        if op == "race-setxattr" { has_sbx_xattr(f) } else { changed(&std::fs::metadata(f).unwrap()) }
    };
    let probe = super::util::probe();
    let race = |cmd: super::util::Cmd, rounds: &str| {
        cmd.arg(probe).arg(op).arg(&inside).arg(&outside).args(["4", rounds]).run()
    };
    // Bare, the race does reach the outside file (more rounds on a busy machine).
    let mut hit = false;
    for rounds in ["100", "1000", "5000", "20000"] {
        reset();
        race(super::util::bare("env"), rounds).success().stdout_has("ok changed=");
        if reached(&outside) {
            hit = true;
            break;
        }
    }
    assert!(hit, "the bare {op} race never reached the second file, even with 20000 rounds");
    reset();
    let allow = format!("--allow-write={}", dir.path().join("in").display());
    // Under sbx, the file outside is never reached, however long the race;
    // the one inside is (more rounds on a busy machine, where most calls
    // see a half-flipped path).
    for rounds in ["1000", "5000", "20000"] {
        let out = race(super::util::sbx(["-q", allow.as_str(), "--"]), rounds);
        out.success().stdout_has("ok changed=");
        assert!(!reached(&outside), "the file outside was changed{}", out.report());
        if reached(&inside) {
            return;
        }
    }
    panic!("the allowed file was never changed, even with 20000 rounds");
}
