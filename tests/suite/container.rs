//! sbx inside a Docker container (issue #13): Docker's default seccomp
//! profile (moby's current one and Docker 20.10.24's) and capabilities, as
//! root and as uid 1000, with and without `--cap-add SYS_PTRACE`, through
//! the launcher in docker.rs.
//!
//! These tests start containers of their own; they need root (the launcher
//! loads the profile without no_new_privs, as runc does).

use std::fs;
use std::process::Stdio;

use super::docker::{Container, Profile, build_filter};
use super::util::{self, bare, probe};

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
