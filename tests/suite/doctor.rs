//! `sbx --doctor` and `--explain` inside an enclosing sandbox, end to end:
//! under a seccomp filter that refuses what a container's profile refuses
//! (tests/probes/refuse.c: pidfd_getfd with EPERM as Docker's default does
//! without CAP_SYS_PTRACE, process_vm_readv too as moby 20.10's does,
//! openat2 with ENOSYS as an older runtime's does) and inside an outer sbx
//! that holds the seccomp listener. The doctor names each probe's cause,
//! and its verdict for every flag is what a run with that flag does:
//! "works" exactly when the run starts the command, "refused" with the
//! need the run names, and --best-effort then gives up what it said.
//! As root and as uid 65534.

use std::ffi::OsString;

use super::util::{self, Cmd, Output, probe, refuse, sbx_path};

/// How sbx is started: under `refuse RULES --`, or inside an outer sbx.
#[derive(Clone)]
struct Around {
    prefix: Vec<OsString>,
    nobody: bool,
}

impl Around {
    /// Under a filter refusing `rules` (`NAME=ERRNO`).
    fn refusing(rules: &[&str], nobody: bool) -> Self {
        let mut prefix = vec![refuse().as_os_str().to_owned()];
        prefix.extend(rules.iter().map(OsString::from));
        prefix.push("--".into());
        Self { prefix, nobody }
    }

    /// Inside `sbx FLAGS --`.
    fn inside_sbx(flags: &[&str], nobody: bool) -> Self {
        let mut prefix = vec![sbx_path().as_os_str().to_owned()];
        prefix.extend(flags.iter().map(OsString::from));
        prefix.push("--".into());
        Self { prefix, nobody }
    }

    /// `sbx ARGS` run so.
    fn sbx(&self, args: &[&str]) -> Cmd {
        let cmd = Cmd::new(&self.prefix[0]).args(&self.prefix[1..]).arg(sbx_path()).args(args).simulated();
        if self.nobody { cmd.nobody() } else { cmd }
    }
}

/// The flags the doctor gives a verdict for, and the flags a run gets.
const FLAGS: [(&str, &[&str]); 6] = [
    ("every run (no flag)", &[]),
    ("--deny-read", &["--deny-read"]),
    ("--deny-write", &["--deny-write"]),
    ("--deny-net", &["--deny-net"]),
    ("--allow-net=HOST", &["--allow-net=127.0.0.1"]),
    ("--deny-env", &["--deny-env"]),
];

/// The doctor's verdict for `flag`: the rest of its line.
#[track_caller]
fn verdict<'a>(doctor: &'a Output, flag: &str) -> &'a str {
    doctor
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("  ")?.strip_prefix(flag)?.strip_prefix(' ').map(str::trim_start))
        .unwrap_or_else(|| panic!("no verdict for {flag}{}", doctor.report()))
}

/// Runs the doctor `around`, and for every flag a command with it: each
/// verdict is what the run does. Returns the doctor's output.
#[track_caller]
fn doctor_agrees_with_runs(around: &Around) -> Output {
    let doctor = around.sbx(&["--doctor"]).run();
    let mut complete = true;
    for (flag, args) in FLAGS {
        let verdict = verdict(&doctor, flag);
        let mut run_args = args.to_vec();
        run_args.extend(["--", "sh", "-c", "echo ran"]);
        let run = around.sbx(&run_args).run();
        if verdict == "works" {
            assert!(
                run.status.success() && run.stdout == "ran\n",
                "the doctor says {flag} works, but a run does not:{}{}",
                run.report(),
                doctor.report()
            );
            continue;
        }
        complete = false;
        let rest = verdict
            .strip_prefix("refused (exit 125): needs ")
            .unwrap_or_else(|| panic!("{flag}: neither works nor refused: {verdict}{}", doctor.report()));
        let (needs, given_up) = rest.split_once("; --best-effort would give up: ").unwrap();
        let need = unpid(needs.split(" — fix: ").next().unwrap());
        assert!(
            run.status.code() == Some(125) && run.stdout.is_empty() && unpid(&run.stderr).contains(&need),
            "the doctor says {flag} is refused for {need:?}, but a run does not say so:{}{}",
            run.report(),
            doctor.report()
        );
        let mut best_effort = vec!["--best-effort"];
        best_effort.extend(&run_args);
        let run = around.sbx(&best_effort).run();
        run.success().stdout_is("ran").stderr_has("warning: --best-effort");
        for what in given_up.split("; ") {
            run.stderr_has(what);
        }
    }
    doctor.code(if complete { 0 } else { 1 });
    doctor
}

/// `text` with every "pid N" as "pid _": the doctor and the run it is
/// compared with sit in different outer sbx processes.
fn unpid(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("pid ") {
        out.push_str(&rest[..at + 4]);
        rest = rest[at + 4..].trim_start_matches(|c: char| c.is_ascii_digit());
        out.push('_');
    }
    out.push_str(rest);
    out
}

/// Asserts that some line of the doctor's stdout contains `a` and, after it, `b`.
#[track_caller]
fn line_has(out: &Output, a: &str, b: &str) {
    let found = out.stdout.lines().any(|l| l.find(a).is_some_and(|i| l[i + a.len()..].contains(b)));
    assert!(found, "no stdout line has {a:?} then {b:?}{}", out.report());
}

const PIDFD_GETFD_REFUSED: &str = "the enclosing seccomp filter refuses pidfd_getfd (EPERM)";
const CAP_ADD_FIX: &str = "fix: run the container with --cap-add=SYS_PTRACE (Docker's default seccomp profile and \
                           Kubernetes' RuntimeDefault allow pidfd_getfd only with CAP_SYS_PTRACE) or with a seccomp \
                           profile that allows pidfd_getfd";

#[test]
fn without_an_enclosing_sandbox_the_doctor_agrees_with_runs() {
    for nobody in util::users() {
        let doctor = doctor_agrees_with_runs(&Around::refusing(&[], nobody));
        for call in ["pidfd_getfd", "process_vm_readv", "/proc/PID/mem", "/proc/PID/fd", "openat2"] {
            line_has(&doctor, "  yes ", call);
        }
    }
}

#[test]
fn a_filter_refusing_pidfd_getfd_is_named_and_refuses_the_network_as_runs_do() {
    // Docker's default profile without CAP_SYS_PTRACE.
    for nobody in util::users() {
        let around = Around::refusing(&["pidfd_getfd=EPERM"], nobody);
        let doctor = doctor_agrees_with_runs(&around);
        doctor.stdout_has("seccomp: sbx runs under").stdout_has("inside a container or another sandbox");
        line_has(&doctor, "  no  pidfd_getfd (Linux 5.6)", &format!("— EPERM: {PIDFD_GETFD_REFUSED}"));
        line_has(&doctor, "  yes ", "process_vm_readv");
        line_has(&doctor, "  yes ", "/proc/PID/fd");
        doctor.stdout_has(&format!(
            "so: the supervisor runs, but cannot take the command's file descriptors ({PIDFD_GETFD_REFUSED}): it \
             reaches the files behind them through /proc/PID/fd, and cannot act on the command's sockets"
        ));
        let sockets = format!(
            "refused (exit 125): needs sbx's supervisor making those calls on the command's sockets, which needs \
             pidfd_getfd, but {PIDFD_GETFD_REFUSED} — {CAP_ADD_FIX}"
        );
        line_has(&doctor, "--deny-net ", &sockets);
        line_has(&doctor, "--deny-net ", "--best-effort would give up: connecting to unix sockets outside the sandbox");
        line_has(&doctor, "--allow-net=HOST ", &sockets);
        line_has(&doctor, "--allow-net=HOST ", "give up: --allow-net rules (never widened");
        doctor.stdout_has(&format!("\n{CAP_ADD_FIX}"));
        if util::landlock_abi() >= 1 {
            assert_eq!(verdict(&doctor, "--deny-write"), "works", "{}", doctor.report());
            assert_eq!(verdict(&doctor, "--deny-read"), "works", "{}", doctor.report());
        }

        // --explain says the same; the refusal names the filter (and blames
        // the kernel only where Landlock lacks what the supervisor would
        // stand in for).
        let explain = around.sbx(&["--explain", "--deny-net", "--", "true"]).run();
        explain
            .success()
            .stdout_has("verdict: sbx would refuse to run (exit 125)")
            .stdout_has(&format!(
                "network supervisor available, but it cannot take the command's file descriptors, so it cannot act on \
                 its sockets ({PIDFD_GETFD_REFUSED} — {CAP_ADD_FIX}"
            ))
            .stdout_lacks("this kernel lacks");
        let refusal = explain.stdout.lines().find(|l| l.starts_with("  - ") && l.contains("see `unenforced`"));
        let refusal = refusal.unwrap_or_else(|| panic!("no refusal{}", explain.report()));
        assert!(refusal.contains(&format!("{PIDFD_GETFD_REFUSED} — {CAP_ADD_FIX}")), "{}", explain.report());
        if util::landlock_abi() >= 6 {
            assert!(
                refusal.starts_with(&format!(
                    "  - sbx cannot enforce part of the policy here (see `unenforced`): {PIDFD_GETFD_REFUSED}"
                )) && !refusal.contains("upgrade the kernel"),
                "{}",
                explain.report()
            );
        }
        let json = around.sbx(&["--explain=json", "--allow-net=127.0.0.1", "--", "true"]).run();
        let value: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
        assert_eq!(value["verdict"]["runs"], false);
        assert_eq!(value["kernel"]["supervisor_unavailable"], serde_json::Value::Null);
        let fd_taking = value["kernel"]["fd_taking_unavailable"].as_str().unwrap_or_default();
        assert!(fd_taking.starts_with(PIDFD_GETFD_REFUSED), "{}", json.report());
    }
}

#[test]
fn a_filter_refusing_process_vm_readv_too_leaves_proc_mem_and_the_supervisor_works() {
    // moby 20.10's profile without CAP_SYS_PTRACE.
    for nobody in util::users() {
        let around = Around::refusing(&["pidfd_getfd=EPERM", "process_vm_readv=EPERM"], nobody);
        let doctor = doctor_agrees_with_runs(&around);
        line_has(
            &doctor,
            "  no  process_vm_readv (Linux 3.2)",
            "— EPERM: the enclosing seccomp filter refuses process_vm_readv (EPERM)",
        );
        line_has(&doctor, "  yes ", "/proc/PID/mem");
        doctor.stdout_has("(it reads the command's memory through /proc/PID/mem: process_vm_readv is refused)");
        line_has(&doctor, "--deny-net ", PIDFD_GETFD_REFUSED);
        if !util::files_enforced() {
            continue;
        }
        // The supervisor reads the command's paths through /proc/PID/mem:
        // chmod inside the writable paths works, outside it does not.
        let dir = util::tempdir();
        util::make_reachable(dir.path());
        let (inside, outside) = (dir.path().join("in"), dir.path().join("out"));
        std::fs::create_dir(&inside).unwrap();
        util::make_reachable(&inside);
        for file in [inside.join("f"), outside.clone()] {
            std::fs::write(&file, "x").unwrap();
            util::make_reachable(&file);
            // The command's own files (only their owner may chmod them).
            if nobody {
                std::os::unix::fs::chown(&file, Some(65534), Some(65534)).unwrap();
            }
        }
        let allow = format!("--allow-write={}", inside.display());
        let chmod = |file: &std::path::Path| {
            around.sbx(&[&allow, "--", probe().to_str().unwrap(), "chmod", file.to_str().unwrap(), "600"]).run()
        };
        chmod(&inside.join("f")).success().stdout_is("ok");
        // (The path in the report was read from the command's memory.)
        chmod(&outside).success().stdout_is("EPERM").stderr_has(&format!("blocked chmod of {}", outside.display()));
    }
}

#[test]
fn a_filter_answering_enosys_for_openat2_is_named_not_the_kernel() {
    // An older runtime's profile, which predates openat2: runc answers ENOSYS.
    for nobody in util::users() {
        let doctor = doctor_agrees_with_runs(&Around::refusing(&["openat2=ENOSYS"], nobody));
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
        let mut numbers = release.trim().split(|c: char| !c.is_ascii_digit());
        let (major, minor) = (numbers.next().unwrap(), numbers.next().unwrap());
        let cause = format!(
            "the enclosing seccomp filter answers openat2 with ENOSYS, though this kernel (Linux {major}.{minor}) has \
             it"
        );
        line_has(&doctor, "  no  openat2 (Linux 5.6)", &format!("— ENOSYS: {cause}"));
        doctor.stdout_has(&format!("so: no supervisor can run here: {cause}"));
        doctor.stdout_has("fix: run the container with a seccomp profile that allows openat2");
        doctor.stdout_lacks("this kernel lacks");
    }
}

#[test]
fn inside_an_outer_sbx_the_held_listener_is_named() {
    for nobody in util::users() {
        let doctor = doctor_agrees_with_runs(&Around::inside_sbx(&["--deny-net"], nobody));
        line_has(
            &doctor,
            "  no  a seccomp filter with a listener (Linux 5.0)",
            "— EBUSY: an enclosing sandbox — an outer sbx or a container runtime — already holds the one seccomp \
             listener the kernel allows per process",
        );
        // The enclosing sbx decides for this sandbox what its own policy has
        // it mediate (nested delegation).
        doctor.stdout_has("so: no supervisor can run here: the enclosing sbx (pid ");
    }
}
