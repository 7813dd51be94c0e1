//! `--private-tmp` (issue #15): under `--deny-write` the command gets a
//! fresh directory of its own instead of the shared /tmp and $TMPDIR —
//! writing /tmp fails with EACCES (the control without the flag succeeds),
//! TMPDIR, TMP, TEMP and TEMPDIR name the private directory, and sbx
//! removes it however the run ends (exit, failure, signal, SIGTERM to sbx),
//! without following the symlinks the command planted, emptying the
//! read-only and mode-000 directories it made; `--keep-tmp` keeps it.
//!
//! Each test points TMPDIR at a fresh directory of its own (the private
//! directory is made there), so "removed" means that directory is empty
//! again, and nothing the tests do touches anything else in /tmp.

use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tempfile::TempDir;

use super::util::{Cmd, User, files_enforced, make_reachable, need_root, probe, sbx, tempdir};

/// A fresh directory for TMPDIR (the parent of the private directory),
/// writable by every user, as /tmp is.
struct Parent {
    dir: TempDir,
}

impl Parent {
    fn new() -> Self {
        let dir = tempdir();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o1777)).unwrap();
        make_reachable(dir.path());
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// What is in it now.
    fn entries(&self) -> Vec<PathBuf> {
        fs::read_dir(self.path()).unwrap().map(|e| e.unwrap().path()).collect()
    }

    /// `sbx ARGS` (as `user`) with TMPDIR pointing here.
    fn sbx(&self, user: User, args: &[&str]) -> Cmd {
        let cmd = sbx(args).env("TMPDIR", self.path());
        user.apply(cmd)
    }

    /// Asserts that the run left nothing here (the private directory is gone).
    #[track_caller]
    fn assert_empty(&self, after: &str) {
        let left = self.entries();
        assert!(left.is_empty(), "after {after}, the private temporary directory is still there: {left:?}");
    }
}

/// A file name in /tmp no other test uses.
fn in_tmp(what: &str) -> PathBuf {
    PathBuf::from(format!("/tmp/sbx-test-ptmp-{what}-{}", std::process::id()))
}

fn writes_tmp_only_privately(user: User) {
    let parent = Parent::new();
    if !files_enforced() {
        // Refused before anything is made on disk.
        parent.sbx(user, &["--deny-write", "--private-tmp", "--", "true"]).run().code(125);
        parent.assert_empty("a refused run");
        return;
    }
    let target = in_tmp(if user == User::Nobody { "nobody" } else { "caller" });
    let _ = fs::remove_file(&target);
    let target_arg = target.to_str().unwrap();
    // The control: /tmp is writable under --deny-write by default.
    parent.sbx(user, &["--deny-write", "--"]).arg(probe()).args(["write", target_arg]).run().stdout_is("ok");
    fs::remove_file(&target).unwrap();
    let out = parent.sbx(user, &["--deny-write", "--private-tmp", "--"]).arg(probe()).args(["write", target_arg]).run();
    out.success().stdout_is("EACCES");
    assert!(!target.exists(), "{} was created{}", target.display(), out.report());
    // $TMPDIR itself (shared too) is not writable either.
    let shared = parent.path().join("shared");
    parent
        .sbx(user, &["--deny-write", "--private-tmp", "--"])
        .arg(probe())
        .args(["write", shared.to_str().unwrap()])
        .run()
        .stdout_is("EACCES");
    // The private one is, and every variable names it.
    let script = format!(r#"echo "$TMPDIR|$TMP|$TEMP|$TEMPDIR"; {} write "$TMPDIR/f""#, probe().display());
    let out = parent.sbx(user, &["--deny-write", "--private-tmp", "--", "sh", "-c", &script]).run();
    out.success();
    let mut lines = out.stdout.lines();
    let vars: Vec<&str> = lines.next().unwrap_or_default().split('|').collect();
    assert_eq!(vars.len(), 4, "{}", out.report());
    assert!(vars.iter().all(|v| *v == vars[0]), "TMPDIR, TMP, TEMP, TEMPDIR differ{}", out.report());
    let private = Path::new(vars[0]);
    let canonical_parent = fs::canonicalize(parent.path()).unwrap();
    assert_eq!(private.parent(), Some(canonical_parent.as_path()), "{}", out.report());
    assert!(private.file_name().unwrap().to_str().unwrap().starts_with("sbx-"), "{}", out.report());
    assert_eq!(lines.next(), Some("ok"), "{}", out.report());
    parent.assert_empty("a run that wrote into it");
}

#[test]
fn writes_tmp_only_privately_caller() {
    writes_tmp_only_privately(User::Caller);
}

#[test]
fn writes_tmp_only_privately_nobody() {
    if need_root() {
        writes_tmp_only_privately(User::Nobody);
    }
}

#[test]
fn the_private_tmp_is_its_owners_alone() {
    if !files_enforced() {
        return;
    }
    let parent = Parent::new();
    let out = parent.sbx(User::Caller, &["--deny-write", "--private-tmp", "--", "sh", "-c", "stat -c %a \"$TMPDIR\""]);
    out.run().success().stdout_is("700");
}

#[test]
fn under_deny_read_tmp_is_not_readable_either() {
    if !files_enforced() {
        return;
    }
    let parent = Parent::new();
    let secret = in_tmp("read");
    fs::write(&secret, "other project\n").unwrap();
    make_reachable(&secret);
    let read = |extra: &[&str]| {
        let allow_probe = format!("--allow-read={}", probe().display());
        let mut args = vec!["--deny-read", "--deny-write", allow_probe.as_str()];
        args.extend_from_slice(extra);
        args.push("--");
        parent.sbx(User::Caller, &args).arg(probe()).args(["read", secret.to_str().unwrap()]).run()
    };
    read(&[]).stdout_is("ok");
    read(&["--private-tmp"]).stdout_is("EACCES");
    fs::remove_file(&secret).unwrap();
    parent.assert_empty("--deny-read runs");
}

#[test]
fn without_a_write_restriction_private_tmp_is_refused() {
    let parent = Parent::new();
    let out = parent.sbx(User::Caller, &["--private-tmp", "--", "sh", "-c", "echo ran"]).run();
    out.code(125).stderr_has("--private-tmp").stderr_has("add --deny-write");
    assert!(out.stdout.is_empty(), "the command ran{}", out.report());
    parent.assert_empty("a refused run");
}

#[test]
fn the_private_tmp_is_removed_however_the_command_ends() {
    if !files_enforced() {
        return;
    }
    let parent = Parent::new();
    let run =
        |script: &str| parent.sbx(User::Caller, &["--deny-write", "--private-tmp", "--", "sh", "-c", script]).run();
    run("touch \"$TMPDIR/f\"; exit 3").code(3);
    parent.assert_empty("exit 3");
    run("touch \"$TMPDIR/f\"; kill -KILL $$").signal(libc::SIGKILL);
    parent.assert_empty("death by SIGKILL");
    // Past the point where it is made, sbx's own failures too.
    parent.sbx(User::Caller, &["--deny-write", "--private-tmp", "--", "sbx-test-no-such-command"]).run().code(127);
    parent.assert_empty("command not found");
}

#[test]
fn the_private_tmp_is_removed_when_sbx_gets_sigterm() {
    if !files_enforced() {
        return;
    }
    let parent = Parent::new();
    let script = "touch \"$TMPDIR/f\"; echo ready; exec sleep 30";
    let mut child = parent
        .sbx(User::Caller, &["--deny-write", "--private-tmp", "--", "sh", "-c", script])
        .command()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    assert_eq!(parent.entries().len(), 1, "the private directory exists while the command runs");
    // SAFETY: kill with integers, to our own child (not yet waited for).
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let status = child.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc::SIGTERM), "sbx ends as the command did: {status:?}");
    parent.assert_empty("SIGTERM to sbx");
}

#[test]
fn keep_tmp_keeps_it_and_says_where() {
    if !files_enforced() {
        return;
    }
    let parent = Parent::new();
    let out = parent
        .sbx(
            User::Caller,
            &["--deny-write", "--private-tmp", "--keep-tmp", "--", "sh", "-c", "echo kept > \"$TMPDIR/f\""],
        )
        .run();
    out.success();
    let [kept] = parent.entries().try_into().unwrap_or_else(|e| panic!("{e:?}{}", out.report()));
    let kept = fs::canonicalize(kept).unwrap();
    out.stderr_has(&format!("sbx: kept the private temporary directory {} (--keep-tmp)", kept.display()));
    assert_eq!(fs::read_to_string(kept.join("f")).unwrap(), "kept\n");
}

#[test]
fn removal_does_not_follow_planted_symlinks() {
    if !files_enforced() {
        return;
    }
    let parent = Parent::new();
    let outside = tempdir();
    let victim = outside.path().join("victim");
    fs::create_dir(&victim).unwrap();
    fs::write(victim.join("file"), "keep me\n").unwrap();
    let v = victim.to_str().unwrap();
    let script = format!(
        "ln -s {v} \"$TMPDIR/link\" && ln -s {v}/file \"$TMPDIR/file-link\" && mkdir \"$TMPDIR/d\" && \
         ln -s {v} \"$TMPDIR/d/link\" && echo planted"
    );
    parent
        .sbx(User::Caller, &["--deny-write", "--private-tmp", "--", "sh", "-c", &script])
        .run()
        .success()
        .stdout_is("planted");
    parent.assert_empty("planting symlinks");
    assert_eq!(fs::read_to_string(victim.join("file")).unwrap(), "keep me\n", "a symlink's target was removed");
}

fn read_only_and_mode_000_dirs_are_removed(user: User) {
    if !files_enforced() {
        return;
    }
    let parent = Parent::new();
    let script = "mkdir -p \"$TMPDIR/a/b/c\" && touch \"$TMPDIR/a/b/c/f\" \"$TMPDIR/a/ro\" && chmod 444 \"$TMPDIR/a/ro\" \
                  && chmod 000 \"$TMPDIR/a/b/c\" && chmod 500 \"$TMPDIR/a/b\" \"$TMPDIR/a\" && chmod 000 \"$TMPDIR\" \
                  && echo locked";
    parent.sbx(user, &["--deny-write", "--private-tmp", "--", "sh", "-c", script]).run().success().stdout_is("locked");
    parent.assert_empty("a tree of read-only and mode-000 directories");
}

#[test]
fn read_only_and_mode_000_dirs_are_removed_caller() {
    read_only_and_mode_000_dirs_are_removed(User::Caller);
}

#[test]
fn read_only_and_mode_000_dirs_are_removed_nobody() {
    if need_root() {
        read_only_and_mode_000_dirs_are_removed(User::Nobody);
    }
}

#[test]
fn explain_says_which_temporary_directory_is_in_force() {
    let parent = Parent::new();
    let shared = parent.sbx(User::Caller, &["--deny-write", "--explain"]).run();
    shared.success().stdout_has("temporary directory\n  shared     /tmp");
    let private = parent.sbx(User::Caller, &["--deny-write", "--private-tmp", "--keep-tmp", "--explain"]).run();
    let canonical = fs::canonicalize(parent.path()).unwrap();
    private
        .success()
        .stdout_has(&format!(
            "  private    {}/sbx-XXXXXX, made for this run (mode 0700)  ← --private-tmp",
            canonical.display()
        ))
        .stdout_has("kept when the command ends  ← --keep-tmp")
        .stdout_lacks("read+write /tmp\n");
    parent.assert_empty("--explain");
    // A profile key names itself.
    let home = tempdir();
    fs::create_dir_all(home.path().join(".config/sbx")).unwrap();
    fs::write(home.path().join(".config/sbx/config.toml"), "[profile.t]\ndeny = [\"write\"]\nprivate_tmp = true\n")
        .unwrap();
    let out = parent
        .sbx(User::Caller, &["-p", "t", "--explain"])
        .env("HOME", home.path())
        .env_remove("XDG_CONFIG_HOME")
        .run();
    out.success().stdout_has("← profile t: private_tmp");
}
