//! sbx inside a Docker container (issue #13): Docker's default seccomp
//! profile (moby's current one and Docker 20.10.24's) and capabilities, as
//! root and as uid 1000, with and without `--cap-add SYS_PTRACE`, through
//! the launcher in docker.rs. Those profiles refuse `pidfd_getfd` (20.10's
//! also `process_vm_readv`) without CAP_SYS_PTRACE, which sbx's supervisor
//! uses.
//!
//! EXPECTATIONS of the behaviour being implemented for #13 (the wording sbx
//! will use is a guess, gathered in the constants below; the outcomes are
//! the issue's):
//! - `--deny-write` works in every such container;
//! - without CAP_SYS_PTRACE, `--deny-net` and `--allow-net` are refused
//!   before anything runs (exit 125), naming `pidfd_getfd`, the container's
//!   seccomp profile and the fix; `--deny-net --best-effort` runs and inet
//!   sockets fail with EPERM;
//! - with CAP_SYS_PTRACE both work as on the host;
//! - `sbx --doctor` predicts each of these outcomes.
//!
//! These tests start containers of their own; they need root (the launcher
//! loads the profile without no_new_privs, as runc does).

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Stdio;

use tempfile::TempDir;

use super::docker::{Container, Profile, build_filter};
use super::util::{self, Cmd, Output, bare, listener, probe, sbx};

/// What sbx's refusal of a network flag names (EXPECTED wording): the call
/// the container's filter blocks, who blocks it, and the fix.
const REFUSAL_NAMES: [&str; 3] = ["pidfd_getfd", "seccomp", "--cap-add=SYS_PTRACE"];

/// How often a refused run is repeated to catch the command starting anyway.
const REFUSED_RUNS: usize = 30;

/// By hand: `SBX_TEST_CONTAINER_RUN='sh command' [SBX_TEST_CONTAINER=docker-1000]
/// [SBX_TEST_CONTAINER_BPF=FILE] cargo test --test all container::by_hand --
/// --ignored --nocapture` runs the command in the container (default
/// `docker`) with this terminal ($PROBE is the test probe), and writes
/// libseccomp's part of the container's BPF program (without runc's ENOSYS
/// stub) to FILE, to compare with another build's.
#[test]
#[ignore = "a tool: runs $SBX_TEST_CONTAINER_RUN in the container"]
fn by_hand() {
    let container = util::container().cloned().unwrap_or_else(Container::docker);
    if let Some(file) = std::env::var_os("SBX_TEST_CONTAINER_BPF") {
        let filter = build_filter(&container.profile.path(), &container.caps());
        let bytes: Vec<u8> = filter
            .program
            .iter()
            .flat_map(|i| [&i.code.to_ne_bytes()[..], &[i.jt, i.jf], &i.k.to_ne_bytes()[..]].concat())
            .collect();
        fs::write(&file, bytes).unwrap();
        eprintln!(
            "{}: {} instructions ({} of libseccomp's), {} rules, {} skipped by includes/excludes, unknown {:?}, \
             ENOSYS above {:?}",
            container.name(),
            filter.bpf.len(),
            filter.program.len(),
            filter.rules,
            filter.skipped,
            filter.unknown,
            filter.enosys_above
        );
    }
    let Ok(line) = std::env::var("SBX_TEST_CONTAINER_RUN") else {
        panic!("set SBX_TEST_CONTAINER_RUN to a shell command")
    };
    let mut cmd = std::process::Command::new("sh");
    cmd.args(["-c", &line]).env("PROBE", probe()).stdin(Stdio::inherit());
    container.apply(&mut cmd, None, None);
    let status = cmd.status().unwrap();
    assert!(status.success(), "{line}: {status}");
}

/// Every container the tests here run sbx in: both profiles, as root and as
/// uid 1000, with and without `--cap-add SYS_PTRACE`. Empty (and the test
/// skipped) where containers cannot be started: not as root, or when the
/// whole suite already runs in one (SBX_TEST_CONTAINER).
fn containers() -> Vec<Container> {
    if let Some(c) = util::container() {
        util::skip_in_container(&format!(
            "these tests start containers of their own; the suite runs in {} already",
            c.name()
        ));
        return Vec::new();
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        util::skip("needs root to start a container (its filter is loaded without no_new_privs)");
        return Vec::new();
    }
    let mut all = Vec::new();
    for profile in [Profile::Moby, Profile::Moby2010] {
        for user in [None, Some(1000)] {
            let c = Container::docker().profile(profile).user(user);
            all.push(c.clone());
            all.push(c.cap_add("SYS_PTRACE"));
        }
    }
    all
}

/// Runs `test` in each of [`containers`], all of them even when some fail
/// (each failure prints its report), then fails naming those that failed.
fn each_container(test: impl Fn(&Container)) {
    each_of(containers(), test);
}

/// [`each_container`] for `list`.
fn each_of(list: Vec<Container>, test: impl Fn(&Container)) {
    let mut failed = Vec::new();
    for c in list {
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| test(&c))).is_err() {
            failed.push(c.name());
        }
    }
    assert!(failed.is_empty(), "failed in {} container(s): {}", failed.len(), failed.join(", "));
}

fn ptrace(c: &Container) -> bool {
    c.cap_add.iter().any(|cap| cap == "CAP_SYS_PTRACE")
}

/// A temp dir owned by the container's user (everything in it too), so
/// that only sbx, never the file modes, can deny the user anything there.
fn owned_dir(c: &Container) -> TempDir {
    let dir = util::tempdir();
    util::make_reachable(dir.path());
    give(dir.path(), c.user.unwrap_or(0));
    dir
}

/// Makes `path` and everything under it `uid`'s (group too).
fn give(path: &Path, uid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), Some(uid)).unwrap();
    if fs::symlink_metadata(path).unwrap().is_dir() {
        for entry in fs::read_dir(path).unwrap() {
            give(&entry.unwrap().path(), uid);
        }
    }
}

/// `sbx ARGS` in `c`, on this kernel's own Landlock (what is tested here is
/// the container, whatever ABI the suite simulates).
fn sbx_in(c: &Container, args: &[&str]) -> Cmd {
    sbx(args).container(c).landlock("")
}

/// The probe in `c` without sbx: what the container itself allows.
fn probe_in(c: &Container, args: &[&str]) -> Output {
    bare(probe()).args(args).container(c).run()
}

/// Asserts that sbx refused `run` before starting anything: exit 125, the
/// reason with its fix, and `side` (which the command would have created)
/// still missing.
#[track_caller]
fn refused(c: &Container, out: &Output, side: &Path) {
    // First what matters most: nothing ran.
    assert!(!side.exists(), "{}: the command ran (it wrote {}){}", c.name(), side.display(), out.report());
    assert!(out.stdout.is_empty(), "{}: the command printed something{}", c.name(), out.report());
    out.code(125);
    for name in REFUSAL_NAMES {
        out.stderr_has(name);
    }
}

/// The launcher gives what podman + runc gave with the same profile and
/// capabilities (tests/container/README.md): the filter (loaded without
/// no_new_privs), the capability sets, the user, and the errno of calls
/// that tell the profiles and `--cap-add SYS_PTRACE` apart.
#[test]
fn the_launcher_gives_dockers_filter_capabilities_and_user() {
    each_container(|c| {
        let status = bare("grep").args(["-E", "^(Seccomp|NoNewPrivs|Cap(Inh|Prm|Eff|Bnd|Amb)):", "/proc/self/status"]);
        let status = status.container(c).run();
        status.success();
        let field = |name: &str| {
            let line = status.stdout.lines().find(|l| l.starts_with(&format!("{name}:"))).unwrap();
            line.split_whitespace().nth(1).unwrap().to_owned()
        };
        let bounding = if ptrace(c) { "00000000a80c25fb" } else { "00000000a80425fb" };
        let (prm, eff) = if c.is_root() { (bounding, bounding) } else { ("0000000000000000", "0000000000000000") };
        let got = [field("Seccomp"), field("NoNewPrivs"), field("CapInh"), field("CapPrm"), field("CapEff")];
        assert_eq!(got, ["2", "0", "0000000000000000", prm, eff], "{}{}", c.name(), status.report());
        assert_eq!([field("CapBnd"), field("CapAmb")], [bounding, "0000000000000000"], "{}", c.name());
        let uid = c.user.unwrap_or(0).to_string();
        bare("id").arg("-u").container(c).run().success().stdout_is(&uid);
        bare("id").arg("-G").container(c).run().success().stdout_is(&uid);

        // Each call: whether the container lets it through (then it gives
        // what it gives on the host), else the errno the profile sets.
        let ptrace = ptrace(c);
        let old = c.profile == Profile::Moby2010;
        let expect = [
            (&["pidfd-getfd-parent"][..], ptrace, "EPERM"),
            (&["vmread-parent"], ptrace || !old, "EPERM"),
            (&["io_uring"], old, "EPERM"),
            (&["clone3"], false, "ENOSYS"),
            (&["unshare", "net"], false, "EPERM"),
            (&["socket", "vsock"], old, "EPERM"),
            // Above the highest number the profile names (runc's stub).
            (&["open_tree_attr"], false, "ENOSYS"),
        ];
        // The probe's parent is a shell of the same user (the `-parent` calls
        // act on it), not the test process.
        let under_shell = |args: &[&str]| bare("sh").args(["-c", "\"$@\"; exit $?", "sh"]).arg(probe()).args(args);
        for (args, allowed, errno) in expect {
            let host = under_shell(args).run();
            let want = if allowed { host.stdout.trim_end() } else { errno };
            if host.stdout.trim_end() == errno {
                // An older kernel without the call: nothing to tell apart.
                eprintln!("probe {args:?} gives {errno} on the host already");
                continue;
            }
            let out = under_shell(args).container(c).run();
            assert_eq!(out.stdout.trim_end(), want, "{}: probe {args:?}{}", c.name(), out.report());
        }
    });
}

/// `--deny-write --allow-write=DIR` works in every container: a shell
/// writes, chmods and runs make inside DIR; writing and chmod outside are
/// refused (EACCES, EPERM) although the container allows both without sbx.
#[test]
fn deny_write_works_in_containers() {
    each_container(|c| {
        let t = tempfile_tree(c);
        let (inside, outside) = (t.path().join("in"), t.path().join("out"));
        let (out_new, out_file) = (outside.join("new"), outside.join("file"));
        // Without sbx the container's user may do both outside.
        probe_in(c, &["write", out_new.to_str().unwrap()]).success().stdout_is("ok");
        fs::remove_file(&out_new).unwrap();
        probe_in(c, &["chmod", out_file.to_str().unwrap(), "600"]).success().stdout_is("ok");
        fs::set_permissions(&out_file, fs::Permissions::from_mode(0o644)).unwrap();

        let allow = format!("--allow-write={}", inside.display());
        let script = format!("echo x > {0}/f && chmod 600 {0}/f && make -C {0}", inside.display());
        sbx_in(c, &["--deny-write", &allow, "--", "sh", "-c", &script]).run().success();
        assert_eq!(fs::read_to_string(inside.join("f")).unwrap(), "x\n", "{}", c.name());
        assert_eq!(fs::metadata(inside.join("f")).unwrap().mode() & 0o777, 0o600, "{}", c.name());
        assert_eq!(fs::read_to_string(inside.join("built")).unwrap(), "built\n", "{}: make did not run", c.name());

        let deny = |args: &[&str], expected: &str| {
            let mut full = vec!["--deny-write", &allow, "--", probe().to_str().unwrap()];
            full.extend_from_slice(args);
            sbx_in(c, &full).run().success().stdout_is(expected);
        };
        deny(&["write", out_new.to_str().unwrap()], "EACCES");
        assert!(!out_new.exists(), "{}", c.name());
        deny(&["chmod", out_file.to_str().unwrap(), "600"], "EPERM");
        assert_eq!(fs::metadata(&out_file).unwrap().mode() & 0o777, 0o644, "{}", c.name());
    });
}

/// in/Makefile (makes in/built), out/file (0644); all the container user's.
fn tempfile_tree(c: &Container) -> TempDir {
    let t = util::tempdir();
    fs::create_dir_all(t.path().join("in")).unwrap();
    fs::create_dir_all(t.path().join("out")).unwrap();
    fs::write(t.path().join("in/Makefile"), "built:\n\techo built > built\n").unwrap();
    fs::write(t.path().join("out/file"), "out\n").unwrap();
    fs::set_permissions(t.path().join("out/file"), fs::Permissions::from_mode(0o644)).unwrap();
    util::make_reachable(t.path());
    give(t.path(), c.user.unwrap_or(0));
    t
}

/// `--deny-net`: without CAP_SYS_PTRACE refused before anything runs (every
/// one of many tries), and with `--best-effort` run with inet sockets
/// refused (EPERM); with CAP_SYS_PTRACE run as on the host.
#[test]
fn deny_net_in_containers() {
    each_container(|c| {
        // The container itself allows inet sockets.
        probe_in(c, &["socket", "inet"]).success().stdout_is("ok");
        let inet = |extra: &[&str]| {
            let mut args = vec!["--deny-net"];
            args.extend_from_slice(extra);
            args.extend(["--", probe().to_str().unwrap(), "socket", "inet"]);
            sbx_in(c, &args).run()
        };
        if ptrace(c) {
            inet(&[]).success().stdout_is("EPERM");
            return;
        }
        let dir = owned_dir(c);
        let side = dir.path().join("side");
        let script = format!("echo ran >> {}", side.display());
        for _ in 0..REFUSED_RUNS {
            refused(c, &sbx_in(c, &["--deny-net", "--", "sh", "-c", &script]).run(), &side);
        }
        inet(&["--best-effort"]).success().stdout_is("EPERM");
    });
}

/// `--allow-net=127.0.0.1:PORT` and a connect to a loopback listener: with
/// CAP_SYS_PTRACE the connection is made; without it sbx refuses before
/// anything runs (every one of many tries) and nothing connects.
#[test]
fn allow_net_in_containers() {
    each_container(|c| {
        let server = listener("127.0.0.1");
        let (ip, port) = (server.ip(), server.port());
        let connect = [probe().to_str().unwrap(), "connect", &ip, &port];
        // The container itself may connect.
        probe_in(c, &connect[1..]).success().stdout_is("ok");
        let before = server.accepted();
        assert!(before >= 1, "{}: the bare connect did not arrive", c.name());
        let allow = server.allow();
        if ptrace(c) {
            let mut args = vec![allow.as_str(), "--"];
            args.extend_from_slice(&connect);
            sbx_in(c, &args).run().success().stdout_is("ok");
            assert!(server.accepted() > before, "{}: sbx's connect did not arrive", c.name());
            return;
        }
        let dir = owned_dir(c);
        let side = dir.path().join("side");
        let script = format!("echo ran >> {} && exec {}", side.display(), connect.join(" "));
        for _ in 0..REFUSED_RUNS {
            refused(c, &sbx_in(c, &[&allow, "--", "sh", "-c", &script]).run(), &side);
        }
        assert_eq!(server.accepted(), before, "{}: something connected", c.name());
    });
}

/// The same end to end in containers of their own (network, PID and mount
/// namespaces, runc's masked /proc paths; moby's profile, root and uid
/// 1000, with and without SYS_PTRACE), sbx started as PID 1 as by `docker
/// run IMAGE sbx …`: `--deny-write` works and the command's parent is sbx,
/// PID 1; `--deny-net` refuses inet sockets with SYS_PTRACE and is refused
/// before anything runs without it.
#[test]
fn in_a_container_of_its_own_sbx_runs_as_pid_1() {
    let isolated = containers().into_iter().filter(|c| c.profile == Profile::Moby).map(Container::isolated);
    each_of(isolated.collect(), |c| {
        let t = tempfile_tree(c);
        let (inside, outside) = (t.path().join("in"), t.path().join("out"));
        let allow = format!("--allow-write={}", inside.display());
        let script = format!("echo $PPID > {0}/ppid && make -C {0}", inside.display());
        sbx_in(c, &["--deny-write", &allow, "--", "sh", "-c", &script]).run().success();
        assert_eq!(fs::read_to_string(inside.join("ppid")).unwrap(), "1\n", "{}: sbx is not PID 1", c.name());
        assert_eq!(fs::read_to_string(inside.join("built")).unwrap(), "built\n", "{}: make did not run", c.name());
        let out_new = outside.join("new");
        let write = ["--deny-write", &allow, "--", probe().to_str().unwrap(), "write", out_new.to_str().unwrap()];
        sbx_in(c, &write).run().success().stdout_is("EACCES");
        assert!(!out_new.exists(), "{}", c.name());

        if ptrace(c) {
            sbx_in(c, &["--deny-net", "--", probe().to_str().unwrap(), "socket", "inet"])
                .run()
                .success()
                .stdout_is("EPERM");
        } else {
            let side = inside.join("side");
            let script = format!("echo ran >> {}", side.display());
            refused(c, &sbx_in(c, &["--deny-net", "--", "sh", "-c", &script]).run(), &side);
        }
    });
}

/// The wording of `sbx --doctor` in a container whose filter blocks
/// `pidfd_getfd`: a line naming `pidfd_getfd` that starts with "no" and names
/// seccomp,
const DOCTOR_BLOCKED: [&str; 2] = ["pidfd_getfd", "seccomp"];
/// and, in the blocks of `--deny-net` and `--allow-net`, the fix.
const DOCTOR_FIX: &str = "SYS_PTRACE";
/// The verdict of a flag sbx enforces.
const DOCTOR_ENFORCED: &str = "works";

/// `sbx --doctor` in each container predicts what the runs above found:
/// `--deny-write` enforced everywhere; `--deny-net` and `--allow-net` not
/// without CAP_SYS_PTRACE — `pidfd_getfd` blocked by the container's seccomp
/// filter, the fix named — and enforced with it. Each verdict is also checked
/// against a run of that flag (enforced: it runs; otherwise: exit 125), and
/// the exit status against the verdicts (1 when something is missing).
#[test]
fn doctor_predicts_each_outcome_in_containers() {
    each_container(|c| {
        let out = sbx_in(c, &["--doctor"]).run();
        let report = &out.stdout;
        let blocks = flag_blocks(report);
        let verdict = |flag: &str| {
            let (verdict, _) = blocks.iter().find(|(f, _)| f == flag).map(|(_, b)| b).unwrap_or_else(|| {
                panic!("{}: no verdict for {flag}{}", c.name(), out.report());
            });
            verdict.clone()
        };
        let block = |flag: &str| blocks.iter().find(|(f, _)| f == flag).map(|(_, (_, b))| b.clone()).unwrap();
        let pidfd_line = report.lines().map(str::trim).find(|l| l.contains(DOCTOR_BLOCKED[0]));
        let pidfd_line = pidfd_line.unwrap_or_else(|| panic!("{}: pidfd_getfd not named{}", c.name(), out.report()));

        assert_eq!(verdict("--deny-write"), DOCTOR_ENFORCED, "{}{}", c.name(), out.report());
        if ptrace(c) {
            assert!(pidfd_line.starts_with("yes"), "{}: {pidfd_line:?}{}", c.name(), out.report());
            for flag in ["--deny-net", "--allow-net=HOST"] {
                assert_eq!(verdict(flag), DOCTOR_ENFORCED, "{}: {flag}{}", c.name(), out.report());
            }
        } else {
            assert!(
                pidfd_line.starts_with("no") && DOCTOR_BLOCKED.iter().all(|w| pidfd_line.contains(w)),
                "{}: want a line saying pidfd_getfd is blocked by a seccomp filter, got {pidfd_line:?}{}",
                c.name(),
                out.report()
            );
            for flag in ["--deny-net", "--allow-net=HOST"] {
                assert_ne!(verdict(flag), DOCTOR_ENFORCED, "{}: {flag}{}", c.name(), out.report());
                let text = block(flag);
                assert!(
                    text.contains(DOCTOR_BLOCKED[0]) && text.contains(DOCTOR_FIX),
                    "{}: {flag} does not say why and what to do{}",
                    c.name(),
                    out.report()
                );
            }
        }
        // Each verdict against a run of its flag.
        let server = listener("127.0.0.1");
        let allow = server.allow();
        for (flag, args) in [
            ("--deny-write", vec!["--deny-write"]),
            ("--deny-net", vec!["--deny-net"]),
            ("--allow-net=HOST", vec![allow.as_str()]),
        ] {
            let mut full = args.clone();
            full.extend(["--", "true"]);
            let run = sbx_in(c, &full).run();
            let expected = if verdict(flag) == DOCTOR_ENFORCED { 0 } else { 125 };
            assert_eq!(
                run.status.code(),
                Some(expected),
                "{}: doctor says {flag} {:?}{}",
                c.name(),
                verdict(flag),
                run.report()
            );
        }
        let all_enforced = blocks.iter().all(|(_, (v, _))| v == DOCTOR_ENFORCED);
        out.code(if all_enforced { 0 } else { 1 });
    });
}

/// The per-flag section of a doctor report: (flag, (verdict, the lines under
/// it)). A flag's line is "  FLAG<padding> VERDICT" (the verdict "works", or
/// "refused (exit 125): why — fix: …"); its parts follow, indented further.
fn flag_blocks(report: &str) -> Vec<(String, (String, String))> {
    let mut blocks: Vec<(String, (String, String))> = Vec::new();
    let section = report.split("what a run does with each flag here").nth(1).unwrap_or("");
    for line in section.lines().skip(1).take_while(|l| !l.is_empty()) {
        if line.starts_with("  ") && !line.starts_with("    ") {
            let line = line.trim();
            let (flag, rest) = line.split_once("  ").unwrap_or((line, ""));
            let rest = rest.trim();
            let verdict = if rest == DOCTOR_ENFORCED { rest } else { rest.split(':').next().unwrap_or(rest) };
            blocks.push((flag.trim().to_owned(), (verdict.trim().to_owned(), rest.to_owned() + "\n")));
        } else if let Some((_, (_, text))) = blocks.last_mut() {
            text.push_str(line);
            text.push('\n');
        }
    }
    blocks
}
