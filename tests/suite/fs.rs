//! Filesystem restrictions (issue #2): `--deny-write`, `--deny-read`, their
//! `--allow-*` exceptions and defaults, path tricks, device nodes.
//!
//! Every restriction check first runs the probe WITHOUT sbx on a fresh,
//! identical tree and asserts `ok` (so a denial is sbx's doing, not a missing
//! file or a permission bit), then runs it under sbx on another fresh tree and
//! asserts the exact errno the kernel gives (Linux 6.18, Landlock ABI 7).
//! The key cases run twice: as the invoking user (root in CI) and as uid 65534.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use super::util::{
    Cmd, Output, bare, files_enforced, landlock_abi, make_reachable, need_root, net_enforceable, probe, sbx, skip,
    tempdir,
};

/// `vec![OsString, ...]` from anything `OsString::from` takes (`&str`, `&Path`, `OsString`…).
macro_rules! argv {
    ($($x:expr),* $(,)?) => { vec![$(OsString::from($x)),*] };
}

/// Defines `mod $name` with two tests running `body(user)`: `caller` (the
/// invoking user, root in CI) and `nobody` (uid/gid 65534; needs root to
/// switch, skipped otherwise).
macro_rules! as_both_users {
    ($(#[$meta:meta])* fn $name:ident($user:ident: User) $body:block) => {
        $(#[$meta])*
        mod $name {
            use super::*;

            fn body($user: User) {
                // Without Landlock: refused, which `files_enforced` asserts.
                if !files_enforced() {
                    return;
                }
                $body
            }

            #[test]
            fn caller() {
                body(User::Caller)
            }

            #[test]
            fn nobody() {
                if need_root() {
                    body(User::Nobody)
                }
            }
        }
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum User {
    /// Whoever runs the tests (root in CI).
    Caller,
    /// uid/gid 65534 with no groups (via setpriv).
    Nobody,
}

/// A fresh temp tree, the same for every test:
///
/// ```text
/// in/file         "in\n"      the tree a test makes writable/readable
/// in/sub/
/// in/link-out  -> ../out      symlinks that lead out of in/
/// in/link-file -> ../out/file
/// out/file        "out\n"     the protected tree
/// out/other       "other\n"
/// out/dir/
/// ```
///
/// For [`User::Nobody`] every directory is 0777 and every file 0666, so
/// without sbx uid 65534 can do everything a probe tries.
struct Tree {
    dir: TempDir,
}

impl Tree {
    /// Under the target dir (neither /tmp nor $TMPDIR: those are writable defaults).
    fn new(user: User) -> Self {
        Self::build(tempdir(), user)
    }

    /// Under /tmp, which stays writable under `--deny-write`.
    fn in_tmp(user: User) -> Self {
        super::util::files_as_sbx_user();
        Self::build(tempfile::Builder::new().prefix("sbx-test-").tempdir_in("/tmp").unwrap(), user)
    }

    fn build(dir: TempDir, user: User) -> Self {
        let root = dir.path();
        fs::create_dir_all(root.join("in/sub")).unwrap();
        fs::create_dir_all(root.join("out/dir")).unwrap();
        fs::write(root.join("in/file"), "in\n").unwrap();
        fs::write(root.join("out/file"), "out\n").unwrap();
        fs::write(root.join("out/other"), "other\n").unwrap();
        std::os::unix::fs::symlink("../out", root.join("in/link-out")).unwrap();
        std::os::unix::fs::symlink("../out/file", root.join("in/link-file")).unwrap();
        if user == User::Nobody {
            open_up(root);
            make_reachable(root);
        }
        Self { dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Absolute path of `rel`, as an argument.
    fn p(&self, rel: &str) -> OsString {
        self.path(rel).into_os_string()
    }

    fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.path(rel)).unwrap()
    }
}

/// Makes every directory under `dir` 0777 and every file 0666 (symlinks untouched).
pub(super) fn open_up(dir: &Path) {
    let meta = fs::symlink_metadata(dir).unwrap();
    if meta.file_type().is_symlink() {
        return;
    }
    if meta.is_dir() {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o777)).unwrap();
        for entry in fs::read_dir(dir).unwrap() {
            open_up(&entry.unwrap().path());
        }
    } else {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o666)).unwrap();
    }
}

/// `NAME=VALUE` as one argument (VALUE may be any bytes).
fn flag(name: &str, value: impl AsRef<OsStr>) -> OsString {
    let mut out = OsString::from(name);
    out.push("=");
    out.push(value);
    out
}

/// `--allow-read=<the probe>`: under `--deny-read` the probe (in the target
/// dir) must be allowed to run. A file rule: it grants nothing else.
fn allow_probe() -> OsString {
    flag("--allow-read", probe())
}

/// Runs `cmd` in `cwd` as `user`. TMPDIR is removed so a TMPDIR pointing
/// at (or above) the target dir cannot make "outside" writable by default.
fn prepare(cmd: Cmd, user: User, cwd: &Path) -> Cmd {
    let cmd = cmd.cwd(cwd).env_remove("TMPDIR");
    if user == User::Nobody { cmd.nobody() } else { cmd }
}

/// `probe ARGS` without sbx.
fn bare_probe(user: User, cwd: &Path, args: Vec<OsString>) -> Cmd {
    prepare(bare(probe()).args(args), user, cwd)
}

/// `sbx FLAGS -- probe ARGS`.
fn sbx_probe(user: User, cwd: &Path, flags: Vec<OsString>, args: Vec<OsString>) -> Cmd {
    prepare(sbx(flags).arg("--").arg(probe()).args(args), user, cwd)
}

/// The standard check. Proves `probe ARGS` prints `ok` without sbx on a fresh
/// tree made by `make`; then, on another fresh tree, that under `sbx FLAGS`
/// it prints `expected` and sbx exits 0 (the probe's own status). Both run in
/// `cwd` (relative to the tree). Returns the sandboxed tree, to inspect.
#[track_caller]
fn check_with(
    make: impl Fn() -> Tree,
    user: User,
    cwd: &str,
    flags: impl Fn(&Tree) -> Vec<OsString>,
    args: impl Fn(&Tree) -> Vec<OsString>,
    expected: &str,
) -> Tree {
    let control = make();
    bare_probe(user, &control.path(cwd), args(&control)).run().success().stdout_is("ok");
    let t = make();
    sbx_probe(user, &t.path(cwd), flags(&t), args(&t)).run().success().stdout_is(expected);
    t
}

/// [`check_with`] on a [`Tree::new`] tree, run from the tree's root.
#[track_caller]
fn check(
    user: User,
    flags: impl Fn(&Tree) -> Vec<OsString>,
    args: impl Fn(&Tree) -> Vec<OsString>,
    expected: &str,
) -> Tree {
    check_with(|| Tree::new(user), user, ".", flags, args, expected)
}

/// What a rename across directories inside the writable paths gives: ok,
/// or below Landlock ABI 2, EXDEV.
fn across_dirs() -> &'static str {
    if landlock_abi() >= 2 { "ok" } else { "EXDEV" }
}

/// `--deny-write --allow-write=<tree>/in`.
fn write_in(t: &Tree) -> Vec<OsString> {
    argv!["--deny-write", flag("--allow-write", t.p("in"))]
}

/// `--deny-read` (plus the probe).
fn deny_read(_: &Tree) -> Vec<OsString> {
    argv!["--deny-read", allow_probe()]
}

// ---------------------------------------------------------------------------
// --deny-write: writing, creating, truncating

as_both_users! {
    /// Creating a file outside the writable paths: EACCES, nothing created.
    fn write_new_file_outside_denied(user: User) {
        let t = check(user, write_in, |t| argv!["write", t.p("out/new")], "EACCES");
        assert!(!t.path("out/new").exists());
    }
}

as_both_users! {
    /// Writing an existing file outside the writable paths: EACCES, content kept.
    fn write_existing_file_outside_denied(user: User) {
        let t = check(user, write_in, |t| argv!["write", t.p("out/file")], "EACCES");
        assert_eq!(t.read("out/file"), "out\n");
    }
}

as_both_users! {
    /// Inside an --allow-write dir: creating and overwriting work.
    fn write_inside_allow_write_dir(user: User) {
        let t = check(user, write_in, |t| argv!["write", t.p("in/new")], "ok");
        assert_eq!(t.read("in/new"), "x");
        let t = check(user, write_in, |t| argv!["write", t.p("in/file")], "ok");
        assert_eq!(t.read("in/file"), "xn\n");
    }
}

as_both_users! {
    /// /tmp stays writable under --deny-write (a default), even with no --allow-write.
    fn tmp_stays_writable(user: User) {
        let t = check_with(
            || Tree::in_tmp(user),
            user,
            ".",
            |_| argv!["--deny-write"],
            |t| argv!["write", t.p("out/new")],
            "ok",
        );
        assert_eq!(t.read("out/new"), "x");
    }
}

/// $TMPDIR is writable under --deny-write; its sibling is not.
#[test]
fn tmpdir_stays_writable() {
    if !files_enforced() {
        return;
    }
    let t = Tree::new(User::Caller);
    bare_probe(User::Caller, &t.path("."), argv!["write", t.p("out/new")]).run().success().stdout_is("ok");
    let run = |path: &str| {
        sbx_probe(User::Caller, &t.path("."), argv!["--deny-write"], argv!["write", t.p(path)])
            .env("TMPDIR", t.path("in"))
            .run()
    };
    run("in/new").success().stdout_is("ok");
    run("out/new2").success().stdout_is("EACCES");
    assert!(!t.path("out/new2").exists());
}

as_both_users! {
    /// `--allow-write=.` means the current directory: run from in/, `new` is
    /// writable and `../out/new` is not.
    fn allow_write_dot_is_cwd(user: User) {
        let flags = |_: &Tree| argv!["--allow-write=."];
        let t = check_with(|| Tree::new(user), user, "in", flags, |_| argv!["write", "new"], "ok");
        assert_eq!(t.read("in/new"), "x");
        let t = check_with(|| Tree::new(user), user, "in", flags, |_| argv!["write", "../out/new"], "EACCES");
        assert!(!t.path("out/new").exists());
    }
}

as_both_users! {
    /// A relative --allow-write path resolves against the current directory.
    fn allow_write_relative_path(user: User) {
        let flags = |_: &Tree| argv!["--allow-write=in"];
        check(user, flags, |_| argv!["write", "in/new"], "ok");
        check(user, flags, |_| argv!["write", "out/new"], "EACCES");
    }
}

as_both_users! {
    /// truncate(2) by path outside the writable paths: EACCES, content kept.
    fn truncate_outside_denied(user: User) {
        let t = check(user, write_in, |t| argv!["truncate", t.p("out/file")], "EACCES");
        assert_eq!(t.read("out/file"), "out\n");
    }
}

as_both_users! {
    /// A read-only open with O_TRUNC truncates without any write access:
    /// Landlock's TRUNCATE right (ABI 3) refuses it outside the writable
    /// paths; below, seccomp refuses it everywhere (inside too: sbx cannot
    /// see the path there), with the same errno.
    fn read_only_open_with_o_trunc_outside_denied(user: User) {
        let t = check(user, write_in, |t| argv!["open-trunc-ro", t.p("out/file")], "EACCES");
        assert_eq!(t.read("out/file"), "out\n");
        let inside = if landlock_abi() >= 3 { "ok" } else { "EACCES" };
        check(user, write_in, |t| argv!["open-trunc-ro", t.p("in/file")], inside);
    }
}

as_both_users! {
    /// openat2 with O_TRUNC: Landlock checks it like open; below ABI 3 its
    /// flags (in memory, out of seccomp's reach) cannot be checked, so
    /// openat2 fails with ENOSYS and libc falls back to openat.
    fn openat2_cannot_truncate_outside(user: User) {
        let abi3 = landlock_abi() >= 3;
        let t = check(user, write_in, |t| argv!["openat2-trunc", t.p("out/file")], if abi3 { "EACCES" } else { "ENOSYS" });
        assert_eq!(t.read("out/file"), "out\n");
        check(user, write_in, |t| argv!["openat2-read", t.p("in/file")], if abi3 { "ok" } else { "ENOSYS" });
    }
}

as_both_users! {
    /// Without --deny-write, truncating is not restricted (and openat2 works).
    fn truncation_is_free_without_deny_write(user: User) {
        check(user, deny_read_tree, |t| argv!["truncate", t.p("out/file")], "ok");
        check(user, deny_read_tree, |t| argv!["openat2-read", t.p("out/file")], "ok");
    }
}

/// `--deny-read --allow-read=<tree>` (plus the probe): reading the whole
/// tree is allowed, writing is not restricted.
fn deny_read_tree(t: &Tree) -> Vec<OsString> {
    argv!["--deny-read", allow_probe(), flag("--allow-read", t.dir.path())]
}

as_both_users! {
    /// Renaming across directories where writing is not denied: every
    /// Landlock layer refuses it unless it grants REFER, so sbx grants it
    /// beneath `/` (ABI 2+); ABI 1 has no REFER and refuses it (EXDEV).
    fn renames_across_directories_work_where_writing_is_not_denied(user: User) {
        let abi = landlock_abi();
        let expected = if abi == 1 { "EXDEV" } else { "ok" };
        check(user, deny_read_tree, |t| argv!["rename", t.p("out/file"), t.p("in/sub/moved")], expected);
        for flags in [&["--deny-net"][..], &[], &["--deny-env"]] {
            if flags == ["--deny-net"] && !net_enforceable() {
                continue;
            }
            let flags: Vec<OsString> = flags.iter().map(OsString::from).collect();
            check(user, |_| flags.clone(), |t| argv!["rename", t.p("out/file"), t.p("in/sub/moved")], expected);
        }
    }
}

as_both_users! {
    /// truncate(2) by path inside an --allow-write dir works.
    fn truncate_inside_allowed(user: User) {
        let t = check(user, write_in, |t| argv!["truncate", t.p("in/file")], "ok");
        assert_eq!(t.read("in/file"), "");
    }
}

// ---------------------------------------------------------------------------
// --deny-write: rename, link, symlink, delete

as_both_users! {
    /// Moving a file from the writable dir out of it: EACCES (creating in out/
    /// is denied), the file stays.
    fn rename_out_of_writable_dir_denied(user: User) {
        let t = check(user, write_in, |t| argv!["rename", t.p("in/file"), t.p("out/moved")], "EACCES");
        assert!(t.path("in/file").exists() && !t.path("out/moved").exists());
    }
}

as_both_users! {
    /// Moving a protected file into the writable dir: EACCES (removing from
    /// out/ is denied), the file stays.
    fn rename_into_writable_dir_denied(user: User) {
        let t = check(user, write_in, |t| argv!["rename", t.p("out/file"), t.p("in/moved")], "EACCES");
        assert!(t.path("out/file").exists() && !t.path("in/moved").exists());
    }
}

as_both_users! {
    /// Renaming across subdirectories inside the writable dir works.
    /// (Below Landlock ABI 2 every rename across directories is refused
    /// with EXDEV, inside the writable paths too: tools copy instead.)
    fn rename_within_writable_dir_allowed(user: User) {
        let t = check(user, write_in, |t| argv!["rename", t.p("in/file"), t.p("in/sub/moved")], across_dirs());
        assert_eq!(t.path("in/sub/moved").exists(), across_dirs() == "ok");
    }
}

/// `--deny-write --allow-write=in` with the network supervisor running too
/// (`--deny-net`): sbx confines itself with a Landlock layer of its own, which
/// the command's domain nests inside.
fn write_in_supervised(t: &Tree) -> Vec<OsString> {
    argv!["--deny-write", flag("--allow-write", t.p("in")), "--deny-net"]
}

as_both_users! {
    /// The same rename with the supervisor's own Landlock layer above the
    /// command's: every Landlock layer denies renames across directories
    /// unless it grants REFER, so that layer must grant it everywhere.
    fn rename_within_writable_dir_allowed_with_the_supervisor(user: User) {
        if !net_enforceable() {
            return;
        }
        let t = check(user, write_in_supervised, |t| argv!["rename", t.p("in/file"), t.p("in/sub/moved")], across_dirs());
        assert_eq!(t.path("in/sub/moved").exists(), across_dirs() == "ok");
    }
}

as_both_users! {
    /// Hard-linking a protected file into the writable dir (which would make it
    /// writable through the link). Creating a file in in/ is allowed, so this is
    /// not EACCES: Landlock refuses the reparenting itself (out/ lacks the
    /// REFER right) and answers EXDEV, as for a cross-device link, so tools
    /// fall back to copying.
    fn link_protected_file_into_writable_dir_exdev(user: User) {
        let t = check(user, write_in, |t| argv!["link", t.p("out/file"), t.p("in/linked")], "EXDEV");
        assert!(!t.path("in/linked").exists());
    }
}

as_both_users! {
    /// Hard-linking out of the writable dir into the protected tree: EACCES
    /// (creating in out/ is denied; EACCES takes precedence over EXDEV).
    fn link_out_of_writable_dir_denied(user: User) {
        let t = check(user, write_in, |t| argv!["link", t.p("in/file"), t.p("out/linked")], "EACCES");
        assert!(!t.path("out/linked").exists());
    }
}

as_both_users! {
    /// Creating a symlink outside the writable paths: EACCES.
    fn symlink_outside_denied(user: User) {
        let t = check(user, write_in, |t| argv!["symlink", t.p("in/file"), t.p("out/sym")], "EACCES");
        assert!(fs::symlink_metadata(t.path("out/sym")).is_err());
    }
}

as_both_users! {
    /// unlink outside the writable paths: EACCES, the file stays.
    fn unlink_outside_denied(user: User) {
        let t = check(user, write_in, |t| argv!["unlink", t.p("out/file")], "EACCES");
        assert!(t.path("out/file").exists());
    }
}

as_both_users! {
    /// rmdir outside the writable paths: EACCES, the directory stays.
    fn rmdir_outside_denied(user: User) {
        let t = check(user, write_in, |t| argv!["rmdir", t.p("out/dir")], "EACCES");
        assert!(t.path("out/dir").is_dir());
    }
}

as_both_users! {
    /// mkdir and mkfifo outside the writable paths: EACCES.
    fn mkdir_and_mkfifo_outside_denied(user: User) {
        let t = check(user, write_in, |t| argv!["mkdir", t.p("out/newdir")], "EACCES");
        assert!(!t.path("out/newdir").exists());
        let t = check(user, write_in, |t| argv!["mkfifo", t.p("out/fifo")], "EACCES");
        assert!(!t.path("out/fifo").exists());
    }
}

as_both_users! {
    /// A unix socket's file (bind) outside the writable paths: EACCES;
    /// inside, it is made.
    fn unix_socket_file_outside_denied(user: User) {
        let t = check(user, write_in, |t| argv!["unix-bind", t.p("out/sock")], "EACCES");
        assert!(fs::symlink_metadata(t.path("out/sock")).is_err());
        let t = check(user, write_in, |t| argv!["unix-bind", t.p("in/sock")], "ok");
        assert!(fs::symlink_metadata(t.path("in/sock")).unwrap().file_type().is_socket());
    }
}

as_both_users! {
    /// Deleting inside the writable dir works (unlink and rmdir).
    fn delete_inside_allowed(user: User) {
        let t = check(user, write_in, |t| argv!["unlink", t.p("in/file")], "ok");
        assert!(!t.path("in/file").exists());
        let t = check(user, write_in, |t| argv!["rmdir", t.p("in/sub")], "ok");
        assert!(!t.path("in/sub").exists());
    }
}

// ---------------------------------------------------------------------------
// Path tricks: Landlock checks the object reached, not the spelling.

/// `/proc/self/root` followed by the absolute path of `rel`.
fn via_proc_root(t: &Tree, rel: &str) -> OsString {
    let mut out = OsString::from("/proc/self/root");
    out.push(t.path(rel));
    out
}

as_both_users! {
    /// Writing through /proc/self/root/<absolute path outside>: EACCES.
    fn write_via_proc_self_root_denied(user: User) {
        let t = check(user, write_in, |t| argv!["write", via_proc_root(t, "out/new")], "EACCES");
        assert!(!t.path("out/new").exists());
    }
}

as_both_users! {
    /// Writing through a symlink inside the writable dir: to a directory
    /// outside (in/link-out/new) and to a file outside (in/link-file): EACCES.
    fn write_via_symlink_in_writable_dir_denied(user: User) {
        let t = check(user, write_in, |t| argv!["write", t.p("in/link-out/new")], "EACCES");
        assert!(!t.path("out/new").exists());
        let t = check(user, write_in, |t| argv!["write", t.p("in/link-file")], "EACCES");
        assert_eq!(t.read("out/file"), "out\n");
        check(user, write_in, |t| argv!["truncate", t.p("in/link-file")], "EACCES");
    }
}

as_both_users! {
    /// Writing via `..` out of the writable dir (in/sub/../../out/new): EACCES.
    fn write_via_dotdot_denied(user: User) {
        let t = check(user, write_in, |t| argv!["write", t.p("in/sub/../../out/new")], "EACCES");
        assert!(!t.path("out/new").exists());
    }
}

as_both_users! {
    /// Under --deny-read with in/ readable: reading out/file through a symlink
    /// in in/, through /proc/self/root and through `..`: EACCES.
    fn read_via_path_tricks_denied(user: User) {
        let flags = |t: &Tree| argv!["--deny-read", allow_probe(), flag("--allow-read", t.p("in"))];
        check(user, flags, |t| argv!["read", t.p("in/link-file")], "EACCES");
        check(user, flags, |t| argv!["readdir", t.p("in/link-out")], "EACCES");
        check(user, flags, |t| argv!["read", via_proc_root(t, "out/file")], "EACCES");
        check(user, flags, |t| argv!["read", t.p("in/../out/file")], "EACCES");
    }
}

// ---------------------------------------------------------------------------
// Device nodes and FIFOs

/// As root: proves `probe OP <tmp tree>/REL` creates a device node of the
/// right kind without sbx (then removes it), then asserts EACCES under
/// `sbx FLAGS` on a fresh /tmp tree, and that nothing was created.
fn mknod_denied(op: &str, flags: impl Fn(&Tree) -> Vec<OsString>, rel: &str) {
    if !need_root() {
        return;
    }
    let control = Tree::in_tmp(User::Caller);
    let node = control.path(rel);
    bare_probe(User::Caller, &control.path("."), argv![op, &node]).run().success().stdout_is("ok");
    let kind = fs::symlink_metadata(&node).unwrap().file_type();
    assert!(if op == "mknod-block" { kind.is_block_device() } else { kind.is_char_device() }, "{kind:?}");
    fs::remove_file(&node).unwrap();

    let t = Tree::in_tmp(User::Caller);
    sbx_probe(User::Caller, &t.path("."), flags(&t), argv![op, t.p(rel)]).run().success().stdout_is("EACCES");
    assert!(fs::symlink_metadata(t.path(rel)).is_err());
}

/// As root, creating a block device in /tmp (writable) under --deny-write: EACCES.
#[test]
fn mknod_block_in_tmp_denied_under_deny_write() {
    if !files_enforced() {
        return;
    }
    mknod_denied("mknod-block", |_| argv!["--deny-write"], "out/node");
}

/// As root, creating a char device in /tmp under --deny-write: EACCES.
#[test]
fn mknod_char_in_tmp_denied_under_deny_write() {
    if !files_enforced() {
        return;
    }
    mknod_denied("mknod-char", |_| argv!["--deny-write"], "out/node");
}

/// As root, creating a block device in /tmp (readable, and not write-restricted)
/// under --deny-read: EACCES.
#[test]
fn mknod_block_in_tmp_denied_under_deny_read() {
    if !files_enforced() {
        return;
    }
    mknod_denied("mknod-block", deny_read, "out/node");
}

/// As root, creating a char device in /tmp under --deny-read: EACCES.
#[test]
fn mknod_char_in_tmp_denied_under_deny_read() {
    if !files_enforced() {
        return;
    }
    mknod_denied("mknod-char", deny_read, "out/node");
}

/// As root, creating device nodes inside an --allow-write dir: still EACCES.
#[test]
fn mknod_in_allow_write_dir_denied() {
    if !files_enforced() {
        return;
    }
    mknod_denied("mknod-block", write_in, "in/node");
    mknod_denied("mknod-char", write_in, "in/node");
}

as_both_users! {
    /// mkfifo inside an --allow-write dir works (only device nodes are never allowed).
    fn mkfifo_in_allow_write_dir(user: User) {
        let t = check(user, write_in, |t| argv!["mkfifo", t.p("in/fifo")], "ok");
        assert!(fs::symlink_metadata(t.path("in/fifo")).unwrap().file_type().is_fifo());
    }
}

as_both_users! {
    /// /dev/null stays writable under --deny-write.
    fn dev_null_writable_under_deny_write(user: User) {
        check(user, |_| argv!["--deny-write"], |_| argv!["write", "/dev/null"], "ok");
    }
}

/// A block device that root can `probe OP` without sbx — unbound loop
/// devices first (no data behind them), then the rest in name order.
fn block_device(op: &str) -> Option<PathBuf> {
    let mut devices: Vec<PathBuf> = fs::read_dir("/dev")
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| fs::symlink_metadata(e.path()).is_ok_and(|m| m.file_type().is_block_device()))
        .map(|e| e.path())
        .collect();
    devices.sort_by_key(|p| (!p.file_name().is_some_and(|n| n.as_bytes().starts_with(b"loop")), p.clone()));
    devices.into_iter().find(|d| bare(probe()).arg(op).arg(d).run().stdout.trim_end() == "ok")
}

/// As root, reading a raw block device (not among the /dev defaults) under --deny-read: EACCES.
#[test]
fn raw_block_device_unreadable_under_deny_read() {
    if !files_enforced() {
        return;
    }
    if !need_root() {
        return;
    }
    let Some(dev) = block_device("read") else {
        return skip("no block device in /dev that root can read");
    };
    bare(probe()).arg("read").arg(&dev).run().success().stdout_is("ok");
    sbx([OsString::from("--deny-read"), allow_probe(), "--".into()])
        .arg(probe())
        .arg("read")
        .arg(&dev)
        .run()
        .success()
        .stdout_is("EACCES");
}

/// As root, opening a raw block device for writing under --deny-write: EACCES.
/// `open-wronly` only opens and closes; nothing is ever written.
#[test]
fn raw_block_device_not_writable_under_deny_write() {
    if !files_enforced() {
        return;
    }
    if !need_root() {
        return;
    }
    let Some(dev) = block_device("open-wronly") else {
        return skip("no block device in /dev that root can open for writing");
    };
    bare(probe()).arg("open-wronly").arg(&dev).run().success().stdout_is("ok");
    sbx(["--deny-write", "--"]).arg(probe()).arg("open-wronly").arg(&dev).run().success().stdout_is("EACCES");
}

// ---------------------------------------------------------------------------
// Flag values: empty, missing, non-UTF-8

/// `--allow-write=` and `--allow-read=`: sbx refuses (125) with a message on
/// stderr starting with `sbx: `, and the command never runs.
#[test]
fn empty_allow_value_rejected() {
    if !files_enforced() {
        return;
    }
    for name in ["--allow-write", "--allow-read"] {
        let t = Tree::new(User::Caller);
        let out = sbx_probe(User::Caller, &t.path("."), vec![flag(name, "")], argv!["write", t.p("in/marker")]).run();
        out.code(125).stderr_has(name).stderr_has("empty path").stdout_is("");
        assert!(out.stderr.starts_with("sbx: "), "stderr must start with `sbx: `{}", out.report());
        assert!(!t.path("in/marker").exists(), "the command ran{}", out.report());
    }
}

as_both_users! {
    /// A missing nested --allow-write dir below the current directory
    /// (out/a/b, out/a missing too) is created before the sandbox, said so
    /// on stderr, and is writable; its new parent is not.
    fn missing_allow_write_dir_is_created(user: User) {
        let t = Tree::new(user);
        assert!(!t.path("out/a").exists());
        let flags = argv!["--allow-write=out/a/b"];
        let created = format!(
            "sbx: created the missing directories {} to {} (--allow-write={})",
            t.path("out/a").display(),
            t.path("out/a/b").display(),
            t.path("out/a/b").display()
        );
        sbx_probe(user, &t.path("."), flags.clone(), argv!["write", "out/a/b/f"])
            .run()
            .success()
            .stdout_is("ok")
            .stderr_has(&created);
        assert!(t.path("out/a/b").is_dir());
        assert_eq!(t.read("out/a/b/f"), "x");
        // Existing now: nothing more to say.
        let again = sbx_probe(user, &t.path("."), flags.clone(), argv!["write", "out/a/b/g"]).run();
        again.success().stdout_is("ok").stderr_lacks("created");

        let control = Tree::new(user);
        fs::create_dir_all(control.path("out/a/b")).unwrap();
        if user == User::Nobody {
            open_up(&control.path("out"));
        }
        bare_probe(user, &control.path("."), argv!["write", "out/a/f"]).run().success().stdout_is("ok");
        sbx_probe(user, &t.path("."), flags.clone(), argv!["write", "out/a/f"]).run().success().stdout_is("EACCES");
    }
}

as_both_users! {
    /// Outside the home and current directories, a missing --allow-write
    /// dir is created only where its parent exists. A chain (a typo) is
    /// refused (125) before the command runs, naming the highest missing
    /// directory and the mkdir that would make it; nothing is created. Made
    /// as told, the same run works.
    fn missing_allow_write_chain_elsewhere_is_refused(user: User) {
        let t = Tree::new(user);
        // Neither the current nor the home directory holds the tree's root.
        let run = |dir: &str, file: &str| {
            let flags = vec![flag("--allow-write", t.path(dir))];
            sbx_probe(user, &t.path("in/sub"), flags, argv!["write", t.p(file)]).env("HOME", t.path("in")).run()
        };
        let out = run("out/new", "out/new/f");
        out.success().stdout_is("ok").stderr_has(&format!(
            "sbx: created the missing directory {} (--allow-write=",
            t.path("out/new").display()
        ));

        let out = run("nope/deep/dir", "nope/deep/dir/f");
        out.code(125)
            .stdout_is("")
            .stderr_has(&format!("--allow-write={}", t.path("nope/deep/dir").display()))
            .stderr_has(&format!("does not exist, nor does {};", t.path("nope").display()))
            .stderr_has(&format!("mkdir -p {}", t.path("nope/deep/dir").display()));
        assert!(out.stderr.starts_with("sbx: "), "stderr must start with `sbx: `{}", out.report());
        assert!(!t.path("nope").exists(), "nothing may be created{}", out.report());

        fs::create_dir_all(t.path("nope/deep/dir")).unwrap();
        if user == User::Nobody {
            open_up(&t.path("nope"));
        }
        run("nope/deep/dir", "nope/deep/dir/f").success().stdout_is("ok");
        assert_eq!(t.read("nope/deep/dir/f"), "x");
    }
}

/// A missing --allow-read path: a warning naming it, and the command still
/// runs under --deny-read (other rules intact).
#[test]
fn missing_allow_read_warns_and_runs() {
    if !files_enforced() {
        return;
    }
    let t = Tree::new(User::Caller);
    let missing = t.path("nope/x");
    let flags = argv![allow_probe(), flag("--allow-read", t.p("in")), flag("--allow-read", &missing)];
    sbx_probe(User::Caller, &t.path("."), flags.clone(), argv!["read", t.p("in/file")])
        .run()
        .success()
        .stdout_is("ok")
        .stderr_has("sbx: warning: --allow-read=")
        .stderr_has(&missing.display().to_string())
        .stderr_has("no such file or directory");
    bare_probe(User::Caller, &t.path("."), argv!["read", t.p("out/file")]).run().success().stdout_is("ok");
    sbx_probe(User::Caller, &t.path("."), flags.clone(), argv!["read", t.p("out/file")])
        .run()
        .success()
        .stdout_is("EACCES");
}

/// `<tree>/NAME`, with NAME given as raw bytes (not necessarily UTF-8).
fn non_utf8(t: &Tree, name: &[u8]) -> PathBuf {
    let mut p = t.path(".").into_os_string().into_vec();
    p.push(b'/');
    p.extend_from_slice(name);
    PathBuf::from(OsString::from_vec(p))
}

/// `--allow-write=<dir named with byte 0xff>` works: existing and missing
/// (created) dirs are writable, the rest is not.
#[test]
fn non_utf8_allow_write_path() {
    if !files_enforced() {
        return;
    }
    let t = Tree::new(User::Caller);
    let existing = non_utf8(&t, b"w\xffx");
    fs::create_dir(&existing).unwrap();
    let missing = non_utf8(&t, b"m\xffy/sub\xfe");
    let flags = argv![flag("--allow-write", &existing), flag("--allow-write", &missing)];
    let run = |target: &Path| sbx_probe(User::Caller, &t.path("."), flags.clone(), argv!["write", target]).run();
    run(&existing.join("f")).success().stdout_is("ok");
    assert_eq!(fs::read(existing.join("f")).unwrap(), b"x");
    assert!(missing.is_dir());
    run(&missing.join("f")).success().stdout_is("ok");

    let control = Tree::new(User::Caller);
    bare_probe(User::Caller, &control.path("."), argv!["write", control.p("out/new")]).run().success().stdout_is("ok");
    run(&t.path("out/new")).success().stdout_is("EACCES");
}

// ---------------------------------------------------------------------------
// --deny-read

as_both_users! {
    /// Reading a file outside the readable paths: EACCES.
    fn read_file_denied(user: User) {
        check(user, deny_read, |t| argv!["read", t.p("out/file")], "EACCES");
    }
}

as_both_users! {
    /// Listing a directory outside the readable paths: EACCES.
    fn readdir_denied(user: User) {
        check(user, deny_read, |t| argv!["readdir", t.p("out")], "EACCES");
    }
}

as_both_users! {
    /// `--allow-read=FILE` grants that file only: its sibling and its
    /// directory listing stay EACCES.
    fn allow_read_file_rule(user: User) {
        let flags = |t: &Tree| argv![allow_probe(), flag("--allow-read", t.p("out/file"))];
        check(user, flags, |t| argv!["read", t.p("out/file")], "ok");
        check(user, flags, |t| argv!["read", t.p("out/other")], "EACCES");
        check(user, flags, |t| argv!["readdir", t.p("out")], "EACCES");
    }
}

as_both_users! {
    /// --allow-write paths are readable under --deny-read; others are not.
    fn allow_write_paths_readable(user: User) {
        let flags = |t: &Tree| argv!["--deny-read", allow_probe(), flag("--allow-write", t.p("in"))];
        check(user, flags, |t| argv!["read", t.p("in/file")], "ok");
        check(user, flags, |t| argv!["readdir", t.p("in/sub")], "ok");
        check(user, flags, |t| argv!["write", t.p("in/new")], "ok");
        check(user, flags, |t| argv!["read", t.p("out/file")], "EACCES");
    }
}

/// A fake home: `.cargo/bin/tool` and `.cargo/credentials.toml`.
fn fake_cargo_home(t: &Tree) -> PathBuf {
    let cargo = t.path("home/.cargo");
    fs::create_dir_all(cargo.join("bin")).unwrap();
    fs::write(cargo.join("bin/tool"), "#!/bin/sh\n").unwrap();
    fs::write(cargo.join("credentials.toml"), "[registry]\ntoken = \"secret\"\n").unwrap();
    cargo
}

/// Checks, bare then under `sbx --deny-read` with `env`, that
/// `<cargo>/bin/tool` is readable and `<cargo>/credentials.toml` is not.
fn check_cargo_home(t: &Tree, cargo: &Path, env: &[(&str, OsString)]) {
    let with_env = |mut cmd: Cmd| {
        cmd = cmd.env_remove("CARGO_HOME");
        for (k, v) in env {
            cmd = cmd.env(k, v);
        }
        cmd
    };
    for file in ["bin/tool", "credentials.toml"] {
        with_env(bare_probe(User::Caller, &t.path("."), argv!["read", cargo.join(file)]))
            .run()
            .success()
            .stdout_is("ok");
    }
    let sandboxed = |args: Vec<OsString>| {
        with_env(sbx_probe(User::Caller, &t.path("."), argv!["--deny-read", allow_probe()], args)).run()
    };
    sandboxed(argv!["read", cargo.join("bin/tool")]).success().stdout_is("ok");
    sandboxed(argv!["read", cargo.join("credentials.toml")]).success().stdout_is("EACCES");
    sandboxed(argv!["readdir", cargo]).success().stdout_is("EACCES");
}

/// HOME=<fake home> with ~/.cargo/bin on PATH: ~/.cargo/bin is readable (a
/// PATH dir and cargo's install root) but ~/.cargo/credentials.toml is not.
#[test]
fn cargo_credentials_unreadable_with_home() {
    if !files_enforced() {
        return;
    }
    let t = Tree::new(User::Caller);
    let cargo = fake_cargo_home(&t);
    let path = std::env::join_paths(
        std::iter::once(cargo.join("bin")).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )
    .unwrap();
    check_cargo_home(&t, &cargo, &[("HOME", t.p("home")), ("PATH", path)]);
}

/// CARGO_HOME=<elsewhere>, not on PATH: its bin/ is readable (the version
/// manager default follows the variable), its credentials.toml is not.
#[test]
fn cargo_credentials_unreadable_with_cargo_home() {
    if !files_enforced() {
        return;
    }
    let t = Tree::new(User::Caller);
    let cargo = fake_cargo_home(&t);
    check_cargo_home(&t, &cargo, &[("HOME", t.p("in")), ("CARGO_HOME", cargo.clone().into_os_string())]);
}

/// The first `name` in the test's PATH that is an executable file.
fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

/// Runs `PROGRAM ARGS` bare and then under `sbx --deny-read`, from a fresh
/// temp dir (unreadable in the sandbox, like a project dir), with the test's
/// PATH and HOME; `check` judges both outputs. Skips if PROGRAM is not on PATH.
fn runs_under_deny_read(program: &str, args: &[&str], check: impl Fn(&Output)) {
    // From here on PATH is searched as the user sbx runs as.
    let t = Tree::new(User::Caller);
    let Some(found) = on_path(program) else {
        if super::util::container().is_some() && !super::util::is_root() {
            // Here (CI) the Rust toolchain lies in root's home.
            return super::util::skip_in_container(&format!("{program} is not on PATH for the container's user"));
        }
        return skip(&format!("{program} is not on PATH"));
    };
    eprintln!("{program} is {}", found.display());
    check(bare(program).args(args).cwd(t.path(".")).run().success());
    check(sbx(["--deny-read", "--", program]).args(args).cwd(t.path(".")).run().success());
}

/// `sbx --deny-read -- python3 -c 'print(1)'` prints 1 (here python3 is a
/// pyenv shim: a bash script running `pyenv exec` from ~/.pyenv).
#[test]
fn python3_runs_under_deny_read() {
    if !files_enforced() {
        return;
    }
    runs_under_deny_read("python3", &["-c", "print(1)"], |out| {
        out.stdout_is("1");
    });
}

/// `sbx --deny-read -- cargo --version` works (here cargo is the rustup
/// proxy in ~/.cargo/bin, running a toolchain from ~/.rustup/toolchains).
#[test]
fn cargo_runs_under_deny_read() {
    if !files_enforced() {
        return;
    }
    runs_under_deny_read("cargo", &["--version"], |out| {
        assert!(out.stdout.starts_with("cargo "), "not a cargo version{}", out.report());
    });
}

as_both_users! {
    /// The random devices stay readable under --deny-write, their ioctls do
    /// not: Landlock's IOCTL_DEV (ABI 5), below that seccomp, by request.
    fn random_device_ioctls_are_denied_under_deny_write(user: User) {
        check(user, write_in, |_| argv!["rnd-count"], "EACCES");
        check(user, write_in, |_| argv!["read", "/dev/urandom"], "ok");
    }
}

#[test]
fn a_device_outside_the_write_defaults_gets_no_ioctl() {
    if !files_enforced() || !need_root() {
        return;
    }
    // A block device opened read-only, then an ioctl on it (BLKGETSIZE64,
    // harmless; a root command could as well discard or rewrite the disk).
    let dev = "/dev/loop0";
    if !Path::new(dev).exists() {
        return skip("needs /dev/loop0 (a block device root may open)");
    }
    bare(probe()).args(["blk-ioctl", dev]).run().success().stdout_is("ok");
    // ABI 5: the ioctl is refused. Below: the device cannot even be opened.
    let expected = if landlock_abi() >= 5 { "EACCES" } else { "open EACCES" };
    sbx(["--deny-write", "--"]).arg(probe()).args(["blk-ioctl", dev]).run().success().stdout_is(expected);
    // Without --deny-write nothing is restricted.
    sbx(["--deny-env", "--"]).arg(probe()).args(["blk-ioctl", dev]).run().success().stdout_is("ok");
}
