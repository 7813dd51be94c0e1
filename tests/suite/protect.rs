//! Protected paths inside the writable paths (issue #15): under
//! `--deny-write --allow-write=.` in a git work tree, the files that make
//! git, editors, direnv and CI run code stay read-only, while git itself
//! keeps working; `--protect` adds paths, `--unprotect` and a more specific
//! `--allow-write` lift defaults.
//!
//! Every refusal is checked against a control: the same probe without sbx,
//! on an identical fresh repository, succeeds. Racing tests flip the path
//! in memory or swap a symlink while threads write through it, and then
//! look at the protected files themselves.

use std::fs;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use super::util::{
    Cmd, Output, User, as_both_users, bare, container, files_enforced, landlock_abi, need_root, probe, sbx, sbx_uid,
    tempdir,
};

/// A git work tree `proj` with one commit, a hooks directory, a `srcx/hooks`
/// directory (a harmless twin for the racing tests) and a bare `remote.git`
/// beside it, owned by the user sbx runs as.
struct Repo {
    tmp: TempDir,
    dir: PathBuf,
    user: User,
}

impl Repo {
    fn new(user: User) -> Self {
        let tmp = tempdir();
        let dir = tmp.path().join("proj");
        // Made by root's commands, then given to the user sbx runs as.
        bare("sh")
            .args(["-c", "mkdir proj && echo one > proj/a.txt && mkdir -p proj/srcx/hooks"])
            .cwd(tmp.path())
            .run()
            .success();
        git(&dir, &["init", "-q", "-b", "main", "."]);
        git(&dir, &["add", "a.txt"]);
        git(&dir, &["commit", "-qm", "one"]);
        bare("sh")
            .args(["-c", "mkdir -p .git/hooks .git/info && printf '#!/bin/sh\\n' > .git/hooks/pre-commit.sample"])
            .cwd(&dir)
            .run()
            .success();
        git(tmp.path(), &["init", "-q", "--bare", "-b", "main", "remote.git"]);
        git(&dir, &["remote", "add", "origin", "../remote.git"]);
        git(&dir, &["push", "-q", "origin", "main"]);
        let repo = Repo { tmp, dir, user };
        repo.give(repo.tmp.path());
        repo
    }

    /// Gives `path` (recursively) to the user sbx runs as.
    fn give(&self, path: &Path) {
        let uid = match self.user {
            User::Nobody => Some(65534),
            User::Caller => Some(sbx_uid()).filter(|&u| u != 0),
        };
        if let Some(uid) = uid {
            bare("chown").args(["-R", &format!("{uid}:{uid}")]).arg(path).run().success();
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    /// sbx --deny-write --allow-write=. FLAGS -- ARGS, in the work tree.
    fn sbx(&self, flags: &[&str], args: &[&std::ffi::OsStr]) -> Cmd {
        let mut cmd = sbx(["--deny-write", "--allow-write=."]).args(flags).arg("--").args(args).cwd(&self.dir);
        cmd = cmd.env("HOME", self.tmp.path()).env("GIT_CONFIG_NOSYSTEM", "1");
        self.user.apply(cmd)
    }

    /// The probe without sbx, as the same user, in the work tree.
    fn bare_probe(&self, args: &[&str]) -> Output {
        let cmd = bare(probe()).args(args).cwd(&self.dir);
        self.user.apply(cmd).run()
    }

    /// The probe under sbx (default protections, plus `flags`).
    fn probe(&self, flags: &[&str], args: &[&str]) -> Output {
        let mut argv = vec![probe().as_os_str()];
        argv.extend(args.iter().map(std::ffi::OsStr::new));
        self.sbx(flags, &argv).run()
    }

    /// A shell script under sbx.
    fn sh(&self, flags: &[&str], script: &str) -> Output {
        let argv: Vec<&std::ffi::OsStr> = ["sh", "-c", script].into_iter().map(std::ffi::OsStr::new).collect();
        self.sbx(flags, &argv).run()
    }
}

fn git(dir: &Path, args: &[&str]) {
    trusting(bare("git"))
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "init.templateDir="])
        .args(args)
        .cwd(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .run()
        .success();
}

/// git, and the gits it starts, trusting repositories of other users (the
/// tests' are the sandboxed user's) and local clones (a submodule).
fn trusting(cmd: Cmd) -> Cmd {
    cmd.env("GIT_CONFIG_COUNT", "2")
        .env("GIT_CONFIG_KEY_0", "safe.directory")
        .env("GIT_CONFIG_VALUE_0", "*")
        .env("GIT_CONFIG_KEY_1", "protocol.file.allow")
        .env("GIT_CONFIG_VALUE_1", "always")
}

/// Files that must be unchanged after an escape: (path, content; `None`:
/// absent; `CONFIG`: git's configuration as it was).
type Unchanged = &'static [(&'static str, Option<&'static str>)];

/// What a call does to a protected path, the errno sbx answers, and the
/// files that must be unchanged afterwards.
const ESCAPES: &[(&[&str], &str, Unchanged)] = &[
    (&["write", ".git/hooks/pre-commit"], "EACCES", &[(".git/hooks/pre-commit", None)]),
    (&["write", ".git/hooks/pre-commit.sample"], "EACCES", &[(".git/hooks/pre-commit.sample", Some("#!/bin/sh\n"))]),
    (
        &["rename", ".git/hooks/pre-commit.sample", ".git/hooks/pre-commit"],
        "EACCES",
        &[(".git/hooks/pre-commit", None)],
    ),
    (&["link", "a.txt", ".git/hooks/pre-commit"], "EACCES", &[(".git/hooks/pre-commit", None)]),
    (&["symlink", "../../a.txt", ".git/hooks/pre-commit"], "EACCES", &[(".git/hooks/pre-commit", None)]),
    (&["tmpfile-link", ".", ".git/hooks/pre-commit"], "EACCES", &[(".git/hooks/pre-commit", None)]),
    (&["tmpfile-link", ".git/hooks", "x"], "EACCES", &[]),
    (&["unlink", ".git/hooks/pre-commit.sample"], "EACCES", &[(".git/hooks/pre-commit.sample", Some("#!/bin/sh\n"))]),
    (&["rename", ".git/hooks", "hooks-away"], "EACCES", &[(".git/hooks/pre-commit.sample", Some("#!/bin/sh\n"))]),
    (&["rename", ".git", "git-away"], "EACCES", &[(".git/hooks/pre-commit.sample", Some("#!/bin/sh\n"))]),
    // A prepared tree renamed onto the way to a protected path.
    (&["rename", "srcx", ".github"], "EACCES", &[(".github", None)]),
    (&["write", ".git/config"], "EACCES", &[]),
    (&["truncate", ".git/config"], "EACCES", &[]),
    (&["unlink", ".git/config"], "EACCES", &[]),
    (&["rename", "a.txt", ".git/config"], "EACCES", &[(".git/config", Some("CONFIG"))]),
    (&["link", ".git/config", "config-link"], "EACCES", &[("config-link", None)]),
    (&["chmod", ".git/config", "777"], "EPERM", &[]),
    (&["setxattr", ".git/config", "user.sbx", "x"], "EPERM", &[]),
    (&["write", ".git/info/attributes"], "EACCES", &[(".git/info/attributes", None)]),
    (&["write", ".envrc"], "EACCES", &[(".envrc", None)]),
    (&["mkdir", ".vscode"], "EACCES", &[(".vscode", None)]),
    (&["write", "sbx.toml"], "EACCES", &[("sbx.toml", None)]),
    (&["mkdir", ".husky"], "EACCES", &[(".husky", None)]),
    (&["write", ".pre-commit-config.yaml"], "EACCES", &[(".pre-commit-config.yaml", None)]),
    (&["mkdir", ".idea"], "EACCES", &[(".idea", None)]),
    (&["write", ".gitlab-ci.yml"], "EACCES", &[(".gitlab-ci.yml", None)]),
    (&["write", "mise.toml"], "EACCES", &[("mise.toml", None)]),
    (&["write", ".mise.toml"], "EACCES", &[(".mise.toml", None)]),
    (&["write", ".git/config.worktree"], "EACCES", &[(".git/config.worktree", None)]),
];

#[test]
fn every_default_protection_refuses_its_escape() {
    as_both_users(|user| {
        for &(args, errno, unchanged) in ESCAPES {
            // Control: the call works without sbx.
            let control = Repo::new(user);
            control.bare_probe(args).stdout_is("ok");
            let repo = Repo::new(user);
            let config = fs::read_to_string(repo.path(".git/config")).unwrap();
            let out = repo.probe(&[], args);
            out.success().stdout_is(errno).stderr_has("protected");
            assert_eq!(fs::read_to_string(repo.path(".git/config")).unwrap(), config, "{}", out.report());
            for &(rel, content) in unchanged {
                let now = fs::read_to_string(repo.path(rel)).ok();
                let want = content.map(|c| if c == "CONFIG" { config.clone() } else { c.to_owned() });
                let is_dir = repo.path(rel).is_dir();
                assert!(
                    now == want || (is_dir && want.is_none() && !repo.path(rel).exists()),
                    "{rel}: {now:?}\n{}",
                    out.report()
                );
                if want.is_none() {
                    assert!(!repo.path(rel).exists(), "{rel} was made\n{}", out.report());
                }
            }
        }
    });
}

/// Every write-intent call, made raw (the legacy calls too, which libc no
/// longer makes: `open`, `creat`), as a harmless write beside the protected
/// paths: (call, arguments for the probe's `call` op). Written here, not
/// taken from sbx's table. In a protected project Landlock leaves the tree
/// read-only and sbx performs each such call; one it did not see would fail
/// with EACCES.
fn write_intent_calls() -> Vec<(&'static str, i64, Vec<&'static str>)> {
    use libc::*;
    vec![
        ("open", SYS_open, vec!["s:new1", "0x41", "0644"]), // O_WRONLY | O_CREAT
        ("openat", SYS_openat, vec!["-100", "s:new2", "0x41", "0644"]),
        ("creat", SYS_creat, vec!["s:new3", "0644"]),
        ("mkdir", SYS_mkdir, vec!["s:d1", "0755"]),
        ("mkdirat", SYS_mkdirat, vec!["-100", "s:d2", "0755"]),
        ("mknod", SYS_mknod, vec!["s:fifo1", "010644", "0"]), // S_IFIFO | 0644
        ("mknodat", SYS_mknodat, vec!["-100", "s:fifo2", "010644", "0"]),
        ("unlink", SYS_unlink, vec!["s:victim1"]),
        ("unlinkat", SYS_unlinkat, vec!["-100", "s:victim2", "0"]),
        ("rmdir", SYS_rmdir, vec!["s:empty"]),
        ("rename", SYS_rename, vec!["s:r1", "s:r1b"]),
        ("renameat", SYS_renameat, vec!["-100", "s:r2", "-100", "s:r2b"]),
        ("renameat2", SYS_renameat2, vec!["-100", "s:r3", "-100", "s:r3b", "0"]),
        ("link", SYS_link, vec!["s:l1", "s:l1b"]),
        ("linkat", SYS_linkat, vec!["-100", "s:l2", "-100", "s:l2b", "0"]),
        ("symlink", SYS_symlink, vec!["s:a.txt", "s:sl1"]),
        ("symlinkat", SYS_symlinkat, vec!["s:a.txt", "-100", "s:sl2"]),
        ("truncate", SYS_truncate, vec!["s:t1", "0"]),
    ]
}

#[test]
fn every_write_intent_call_is_performed_beside_protected_paths() {
    as_both_users(|user| {
        let script: String = write_intent_calls()
            .iter()
            .map(|(_, nr, args)| format!("{} call {nr} {}\n", probe().display(), args.join(" ")))
            .chain([format!("{} openat2-trunc t2\n", probe().display())])
            .collect();
        // Below Landlock ABI 3 sbx refuses openat2 with O_TRUNC (README: it
        // cannot check it), the control still truncates.
        let openat2 = if landlock_abi() >= 3 { "ok" } else { "ENOSYS" };
        let mut want = vec!["ok"; write_intent_calls().len()];
        let control_want = [&want[..], &["ok"]].concat().join("\n");
        want.push(openat2);
        let want = want.join("\n");
        let prepare = |repo: &Repo| {
            bare("sh")
                .args(["-c", "for f in victim1 victim2 r1 r2 r3 l1 l2 t1 t2; do echo x > $f; done; mkdir empty"])
                .cwd(&repo.dir)
                .run()
                .success();
            repo.give(&repo.dir);
        };
        // Control: the same calls without sbx.
        let control = Repo::new(user);
        prepare(&control);
        let cmd = user.apply(bare("sh").args(["-c", &script]).cwd(&control.dir));
        cmd.run().success().stdout_is(&control_want);

        let repo = Repo::new(user);
        prepare(&repo);
        let out = repo.sh(&[], &script);
        out.success().stdout_is(&want);
        let made = ["new1", "new2", "new3", "d1", "d2", "fifo1", "fifo2", "r1b", "r2b", "r3b", "l1b", "l2b"];
        for rel in made.iter().chain(&["sl1", "sl2"]) {
            assert!(repo.path(rel).symlink_metadata().is_ok(), "{rel} was not made{}", out.report());
        }
        for rel in ["victim1", "victim2", "empty", "r1", "r2", "r3"] {
            assert!(repo.path(rel).symlink_metadata().is_err(), "{rel} is still there{}", out.report());
        }
        let truncated: &[&str] = if openat2 == "ok" { &["t1", "t2"] } else { &["t1"] };
        for rel in truncated {
            assert_eq!(fs::metadata(repo.path(rel)).unwrap().len(), 0, "{rel} not truncated{}", out.report());
        }
        // The project is protected: the same calls at .git/config are not made.
        repo.probe(&[], &["call", &libc::SYS_unlink.to_string(), "s:.git/config"])
            .success()
            .stdout_is("EACCES")
            .stderr_has("protected");
    });
}

/// The second layer on its own: the supervisor performs no call of the
/// 32-bit entry, so there Landlock alone stands in front of the protected
/// tree, which it keeps read-only: a new file and a hook are both refused
/// (EACCES), where bare both are made.
#[test]
fn landlock_alone_keeps_a_protected_tree_read_only() {
    as_both_users(|user| {
        let calls: [&[&str]; 2] = [
            &["i386-call", "5", "s:new-i386", "0x41", "0644"], // open(O_WRONLY | O_CREAT)
            &["i386-call", "8", "s:.git/hooks/pre-commit", "0755"], // creat
        ];
        let control = Repo::new(user);
        for args in calls {
            control.bare_probe(args).success().stdout_is("ok");
        }
        let repo = Repo::new(user);
        for args in calls {
            repo.probe(&[], args).success().stdout_is("EACCES");
        }
        assert!(!repo.path("new-i386").exists() && !repo.path(".git/hooks/pre-commit").exists());
    });
}

#[test]
fn a_new_directory_on_the_way_is_made_and_what_is_protected_in_it_is_not() {
    as_both_users(|user| {
        let repo = Repo::new(user);
        let out = repo.sh(
            &[],
            &format!("{p} mkdir .github; {p} mkdir .github/workflows; {p} write .github/ok", p = probe().display()),
        );
        out.success().stdout_is("ok\nEACCES\nok").stderr_has("blocked create directory");
        assert!(repo.path(".github").is_dir() && !repo.path(".github/workflows").exists());
    });
}

#[test]
fn the_project_stays_writable_around_the_protected_paths() {
    as_both_users(|user| {
        let repo = Repo::new(user);
        let p = probe().display().to_string();
        let out = repo.sh(
            &[],
            &format!(
                "{p} write new.txt && {p} mkdir target && {p} mkdir target/deep && {p} write target/deep/f && \
                 {p} rename new.txt target/moved && {p} link target/moved hard && {p} symlink target soft && \
                 {p} write soft/via-link && {p} unlink hard && {p} tmpfile-link . named && {p} write .git/index.lock \
                 && {p} rename .git/index.lock .git/other && {p} mkfifo fifo && cat named"
            ),
        );
        out.success().stdout_is(&format!("{}tmp", "ok\n".repeat(13))).stderr_lacks("blocked");
        assert_eq!(fs::read_to_string(repo.path("target/deep/f")).unwrap(), "x");
        assert_eq!(fs::read_to_string(repo.path("target/via-link")).unwrap(), "x");
    });
}

#[test]
fn files_sbx_makes_for_the_command_are_the_commands() {
    as_both_users(|user| {
        let repo = Repo::new(user);
        let out = repo.sh(&[], "umask 027; echo x > f; mkdir d; stat -c '%a %u' f d");
        let uid = if user == User::Nobody { 65534 } else { sbx_uid() };
        out.success().stdout_is(&format!("640 {uid}\n750 {uid}"));
    });
}

#[test]
fn writing_through_dev_stdout_reaches_the_commands_own_file() {
    as_both_users(|user| {
        let repo = Repo::new(user);
        let out = repo.sh(&[], &format!("{} write-stdout-path > log; cat log", probe().display()));
        out.success().stdout_is("via-path");
    });
}

#[test]
fn git_works_under_the_default_protections() {
    as_both_users(|user| {
        let repo = Repo::new(user);
        let script = "set -e
            g() { git -c user.name=t -c user.email=t@example.com \"$@\"; }
            echo two >> a.txt; g add a.txt; g commit -qm two
            g branch feature; g checkout -q feature; echo b > b.txt; g add b.txt; g commit -qm three
            g checkout -q main; echo dirty >> a.txt; g stash -q; g stash pop -q; g checkout -q -- a.txt
            g fetch -q origin; PUSH; g tag v1; g merge -q --no-edit feature
            g worktree add -q linked -b side
            cd linked; echo w > w.txt; g add w.txt; g commit -qm in-linked; cd ..
            g gc -q
            g log --format=%s | tr '\\n' ' '";
        // Pushing renames objects across the remote's directories, which
        // Landlock ABI 1 refuses in a tree the command writes itself.
        let push = if landlock_abi() >= 2 { "g push -q origin feature" } else { ":" };
        let script = script.replace("PUSH", push);
        let out = repo.sbx(&["--allow-write=../remote.git"], &["sh".as_ref(), "-c".as_ref(), script.as_ref()]).run();
        out.success().stdout_is("three two one").stderr_lacks("blocked");
        // The linked worktree's commit is on its branch.
        git_as(&repo, &["log", "--format=%s", "-1", "side"]).stdout_is("in-linked");
        // And a hook is still refused afterwards, in the main and the linked tree.
        let out = repo.sh(&[], "echo x > .git/hooks/post-commit || echo refused; cd linked && (echo x > \"$(git rev-parse --git-common-dir)/hooks/post-commit\" || echo refused)");
        out.success().stdout_is("refused\nrefused");
    });
}

#[test]
fn a_linked_worktree_protects_its_pointer_and_the_main_repositorys_files() {
    as_both_users(|user| {
        let repo = Repo::new(user);
        git_as(&repo, &["worktree", "add", "-q", "../linked", "-b", "side"]);
        repo.give(repo.tmp.path());
        let linked = repo.tmp.path().join("linked");
        let p = probe().display().to_string();
        let main = repo.dir.display().to_string();
        let script = format!(
            "{p} write .git; {p} write {main}/.git/hooks/pre-commit; {p} write {main}/.git/config; echo w > w.txt && \
             git -c user.name=t -c user.email=t@example.com add w.txt && git -c user.name=t -c \
             user.email=t@example.com commit -qm linked && echo committed"
        );
        let mut cmd =
            sbx(["--deny-write", "--allow-write=.", &format!("--allow-write={main}"), "--", "sh", "-c", &script])
                .cwd(&linked)
                .env("HOME", repo.tmp.path());
        cmd = user.apply(cmd);
        cmd.run().success().stdout_is("EACCES\nEACCES\nEACCES\ncommitted");
    });
}

/// `git` as the repository's owner, which must succeed.
fn git_as(repo: &Repo, args: &[&str]) -> Output {
    let cmd = trusting(bare("git"))
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .cwd(&repo.dir)
        .env("HOME", repo.tmp.path());
    let out = repo.user.apply(cmd).run();
    out.success();
    out
}

#[test]
fn core_hooks_path_and_included_files_are_protected_too() {
    as_both_users(|user| {
        let repo = Repo::new(user);
        git_as(&repo, &["config", "core.hooksPath", ".githooks"]);
        git_as(&repo, &["config", "include.path", "../shared.gitconfig"]);
        repo.probe(&[], &["mkdir", ".githooks"]).success().stdout_is("EACCES");
        bare("mkdir").arg(repo.path(".githooks")).run().success();
        repo.give(&repo.path(".githooks"));
        repo.probe(&[], &["write", ".githooks/pre-commit"]).success().stdout_is("EACCES");
        // Outside the writable tree anyway: refused, by Landlock.
        repo.probe(&[], &["write", "../shared.gitconfig"]).success().stdout_is("EACCES");
    });
}

#[test]
fn racing_threads_never_write_a_protected_path() {
    as_both_users(|user| {
        let repo = Repo::new(user);
        let p = probe().display().to_string();
        // The path flips in memory between a free twin and the hook while
        // four threads create it; then the rename onto .git/config races.
        let out = repo.sh(
            &[],
            &format!(
                "{p} race-create srcx/hooks/pre-commit .git/hooks/pre-commit 4 3000; {p} race-rename-onto srcx/config \
                 .git/config 4 2000; {p} race-swap l srcx/hooks .git/hooks pre-commit 3000"
            ),
        );
        out.success();
        let counts: Vec<u64> = out
            .stdout
            .lines()
            .map(|l| l.rsplit('=').next().unwrap().parse().unwrap_or_else(|_| panic!("{}", out.report())))
            .collect();
        assert!(counts.iter().all(|&n| n > 0), "a race never wrote its free twin: {counts:?}\n{}", out.report());
        assert!(!repo.path(".git/hooks/pre-commit").exists(), "{}", out.report());
        let config = fs::read_to_string(repo.path(".git/config")).unwrap();
        assert!(config.contains("[core]") && !config.contains("raced"), "{config}\n{}", out.report());
    });
}

#[test]
fn protect_adds_a_path_and_names_itself_in_the_refusal() {
    as_both_users(|user| {
        let repo = Repo::new(user);
        let out = repo.probe(&["--protect=a.txt"], &["write", "a.txt"]);
        out.success().stdout_is("EACCES").stderr_has("protected by --protect=");
        assert_eq!(fs::read_to_string(repo.path("a.txt")).unwrap(), "one\n");
        // Outside a git work tree too.
        let tmp = tempdir();
        let plain = tmp.path().join("plain");
        fs::create_dir(&plain).unwrap();
        fs::write(plain.join("keep"), "k\n").unwrap();
        if user == User::Nobody {
            bare("chown").args(["-R", "65534:65534"]).arg(tmp.path()).run().success();
        }
        let mut cmd = sbx(["--deny-write", "--allow-write=.", "--protect=keep", "--"])
            .arg(probe())
            .args(["rename", "keep", "moved"])
            .cwd(&plain);
        cmd = user.apply(cmd);
        cmd.run().success().stdout_is("EACCES");
    });
}

#[test]
fn unprotect_and_a_more_specific_allow_write_lift_a_default_visibly() {
    as_both_users(|user| {
        let repo = Repo::new(user);
        repo.probe(&["--unprotect=.git/config"], &["write", ".git/config"]).success().stdout_is("ok");
        let repo = Repo::new(user);
        repo.probe(&["--allow-write=.git/hooks"], &["write", ".git/hooks/pre-commit"]).success().stdout_is("ok");
        // The other defaults stay.
        repo.probe(&["--allow-write=.git/hooks"], &["write", ".git/config"]).success().stdout_is("EACCES");
        let explained = repo.sbx(&["--explain", "--unprotect=.vscode"], &["true".as_ref()]).run();
        explained
            .success()
            .stdout_has("/proj/.vscode (default lifted)  ← --unprotect")
            .stdout_has("/proj/.git/hooks  ← default");
    });
}

#[test]
fn protect_needs_a_write_restriction() {
    let tmp = tempdir();
    sbx(["--protect=x", "--", "true"])
        .cwd(tmp.path())
        .run()
        .code(125)
        .stderr_has("--protect=")
        .stderr_has("writing is not restricted");
}

#[test]
fn a_command_that_dropped_to_another_user_is_refused_not_served_as_sbx() {
    if !files_enforced() || !need_root() {
        return;
    }
    let repo = Repo::new(User::Caller);
    fs::set_permissions(&repo.dir, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let out = repo
        .sh(&[], &format!("setpriv --reuid=65534 --regid=65534 --clear-groups {} write by-nobody", probe().display()));
    out.success().stdout_is("EACCES");
    // In a container without CAP_SYS_PTRACE sbx cannot read the memory of
    // a process of another user: the call continues, and Landlock refuses
    // it without a report.
    if container().is_none() {
        out.stderr_has("changed its user");
    }
    assert!(!repo.path("by-nobody").exists());
}

#[test]
fn submodules_hooks_configuration_and_pointers_are_protected() {
    as_both_users(|user| {
        let repo = Repo::new(user);
        // A submodule from a local repository (the remote), as root, then given.
        bare("chown").args(["-R", "0:0"]).arg(repo.tmp.path()).run().success();
        git(&repo.dir, &["submodule", "add", "-q", "../remote.git", "libs/sub"]);
        repo.give(repo.tmp.path());
        let p = probe().display().to_string();
        let out = repo.sh(
            &[],
            &format!(
                "{p} mkdir .git/modules/libs/sub/hooks; {p} write .git/modules/libs/sub/config; \
                 {p} write libs/sub/.git; {p} write libs/sub/new.txt"
            ),
        );
        out.success().stdout_is("EACCES\nEACCES\nEACCES\nok");
    });
}

#[test]
fn git_config_cannot_name_a_hooks_path_and_a_missing_hooks_directory_cannot_be_made() {
    as_both_users(|user| {
        let repo = Repo::new(user);
        let config = fs::read_to_string(repo.path(".git/config")).unwrap();
        // Control: without sbx, git sets it.
        let control = Repo::new(user);
        git_as(&control, &["config", "core.hooksPath", "/tmp"]);
        assert!(fs::read_to_string(control.path(".git/config")).unwrap().contains("hooksPath"));
        let out = repo.sh(&[], "git config core.hooksPath /tmp; echo status=$?");
        out.success().stdout_is("status=4").stderr_has("could not write config file");
        assert_eq!(fs::read_to_string(repo.path(".git/config")).unwrap(), config);
        // A repository without a hooks directory: it cannot be made either.
        bare("rm").args(["-rf"]).arg(repo.path(".git/hooks")).run().success();
        repo.probe(&[], &["mkdir", ".git/hooks"]).success().stdout_is("EACCES");
        repo.probe(&[], &["symlink", "../srcx/hooks", ".git/hooks"]).success().stdout_is("EACCES");
        assert!(!repo.path(".git/hooks").exists());
    });
}

#[test]
fn a_writer_of_a_fifo_waits_for_its_reader_as_without_sbx() {
    as_both_users(|user| {
        let repo = Repo::new(user);
        // The reader opens the fifo only after the writer has begun to wait
        // for one (the delay is the case under test, not synchronisation):
        // sbx opens it for the writer and must wait too, not fail (ENXIO).
        let out = repo.sh(&[], "mkfifo p; (sleep 0.3; timeout 10 cat p) & echo through > p; wait");
        out.success().stdout_is("through").stderr_lacks("No such device");
    });
}
