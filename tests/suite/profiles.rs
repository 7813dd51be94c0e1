//! Profiles, `sbx trust`, `--explain` and `--doctor`, end to end. Every test
//! points HOME, XDG_CONFIG_HOME and XDG_STATE_HOME at its own temp dir, so
//! none reads or writes the real user's configuration or trust record.

use std::path::{Path, PathBuf};

use super::kernel::{Deny, Filter, assert_shim_hides_landlock};
use super::process::script;
use super::util::{Cmd, Output, probe, sbx, tempdir};

/// A private world: `home/`, `config/` (XDG_CONFIG_HOME), `state/`
/// (XDG_STATE_HOME), and a project `proj/` with a subdirectory `proj/sub`.
pub(super) struct World {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl World {
    pub(super) fn new() -> Self {
        let dir = tempdir();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        for d in ["home", "config/sbx", "state", "proj/sub"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        Self { _dir: dir, root }
    }

    pub(super) fn path(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    pub(super) fn write(&self, relative: &str, text: &str) -> PathBuf {
        let path = self.path(relative);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// `sbx ARGS` in `proj/sub`, isolated from the real user's files.
    pub(super) fn sbx<I: IntoIterator<Item = S>, S: AsRef<std::ffi::OsStr>>(&self, args: I) -> Cmd {
        self.isolate(sbx(args)).cwd(self.path("proj/sub"))
    }

    fn isolate(&self, cmd: Cmd) -> Cmd {
        cmd.env("HOME", self.path("home"))
            .env("XDG_CONFIG_HOME", self.path("config"))
            .env("XDG_STATE_HOME", self.path("state"))
            .env_remove("SBX_PROFILE")
            .env_remove("TMPDIR")
    }

    fn record(&self) -> PathBuf {
        self.path("state/sbx/trusted.toml")
    }
}

/// Asserts sbx refused before starting the command (which would print `ran`).
#[track_caller]
fn refused(out: &Output) {
    out.code(125);
    assert!(!out.stdout.contains("ran"), "the command ran{}", out.report());
}

#[test]
fn a_user_profile_applies_and_flags_add_to_it() {
    // Its profiles restrict files.
    if !super::util::files_enforced() {
        return;
    }
    let w = World::new();
    let allowed = w.path("proj/out");
    let flagged = w.path("proj/flagged");
    std::fs::create_dir_all(&flagged).unwrap();
    w.write("config/sbx/config.toml", "[profile.p]\ndeny = [\"write\"]\nallow_write = [\"../../proj/out\"]\n");
    // Premise: the probe can write both without sbx.
    for dir in [&allowed, &flagged] {
        std::fs::create_dir_all(dir).unwrap();
    }
    let write = |args: &[&str], target: &Path| w.sbx(args).arg("--").arg(probe()).arg("write").arg(target).run();
    write(&["-p", "p"], &allowed.join("f")).success().stdout_is("ok");
    write(&["-p", "p"], &flagged.join("f")).success().stdout_is("EACCES");
    let out = w
        .sbx(["-p", "p", &format!("--allow-write={}", flagged.display()), "--"])
        .arg(probe())
        .arg("write")
        .arg(flagged.join("g"))
        .run();
    out.success().stdout_is("ok");
    // --deny-net tightens.
    let out = w.sbx(["-p", "p", "--deny-net", "--"]).arg(probe()).args(["socket", "inet"]).run();
    out.success().stdout_is("EPERM");
    // The same through SBX_PROFILE.
    let out = w.sbx(["--"]).env("SBX_PROFILE", "p").arg(probe()).arg("write").arg(flagged.join("h")).run();
    out.success().stdout_is("EACCES");
}

#[test]
fn a_builtin_profile_works_without_any_file() {
    // Its profiles restrict files.
    if !super::util::files_enforced() {
        return;
    }
    let w = World::new();
    let out = w.sbx(["-p", "build", "--"]).arg(probe()).arg("write").arg(w.path("proj/sub/made")).run();
    out.success().stdout_is("ok");
    let out = w.sbx(["-p", "build", "--"]).arg(probe()).arg("write").arg(w.path("proj/elsewhere")).run();
    out.success().stdout_is("EACCES");
    let out = w.sbx(["-p", "offline", "--"]).arg(probe()).args(["socket", "inet"]).run();
    out.success().stdout_is("EPERM");
}

#[test]
fn a_configuration_error_is_exit_125_with_file_line_and_key() {
    let w = World::new();
    let file = w.write("config/sbx/config.toml", "[profile.default]\ndeny = [\"write\"]\nalow_write = [\".\"]\n");
    // Even without -p: the misspelt key is in the default profile.
    let out = w.sbx(["--", "sh", "-c", "echo ran"]).run();
    refused(&out);
    out.stderr_has(&format!("sbx: {}:3:1: profile.default.alow_write: unknown field `alow_write`", file.display()));
    std::fs::remove_file(&file).unwrap();
    let out = w.sbx(["-p", "nope", "--", "sh", "-c", "echo ran"]).run();
    refused(&out);
    out.stderr_has("no profile named \"nope\"");
}

#[test]
fn trust_untrusted_refused_trusted_used_edited_refused() {
    // Its profiles restrict files.
    if !super::util::files_enforced() {
        return;
    }
    let w = World::new();
    let project = w.write("proj/sbx.toml", "[profile.proj]\ndeny = [\"write\"]\nallow_write = [\"sub\"]\n");
    let run = |w: &World| w.sbx(["-p", "proj", "--", "sh", "-c", "echo ran > ran.txt && echo ran"]).run();

    let out = run(&w);
    refused(&out);
    out.stderr_has(&format!("sbx: {} is not trusted", project.display()))
        .stderr_has(&format!("sbx trust {}", project.display()))
        .stderr_has("--explain -p proj");
    assert!(!w.path("proj/sub/ran.txt").exists());
    assert!(!w.record().exists(), "refusing writes nothing");

    // `sbx trust` finds the nearest sbx.toml, shows its profiles, records it.
    let out = w.sbx(["trust"]).run();
    out.success()
        .stdout_has(&project.display().to_string())
        .stdout_has("[profile.proj] (line 1)")
        .stdout_has(&w.path("proj/sub").display().to_string())
        .stdout_has("Trusted: recorded in");
    let record = std::fs::read_to_string(w.record()).unwrap();
    assert!(record.contains(&project.display().to_string()), "{record}");
    run(&w).success().stdout_is("ran");
    w.sbx(["trust"]).run().success().stdout_has("Already trusted");

    // Any edit needs trust again.
    std::fs::write(&project, "[profile.proj]\ndeny = [\"write\"]\nallow_write = [\"sub\", \".\"]\n").unwrap();
    let out = run(&w);
    refused(&out);
    out.stderr_has("changed since you trusted it");
    w.sbx(["trust", project.to_str().unwrap()]).run().success();
    run(&w).success();

    // --no-config sidesteps the file altogether.
    std::fs::write(&project, "[profile.default]\ndeny = [\"net\"]\n").unwrap();
    refused(&w.sbx(["--deny-write", "--", "sh", "-c", "echo ran"]).run());
    w.sbx(["--no-config", "--deny-write", "--", "sh", "-c", "echo ran"]).run().success().stdout_is("ran");
}

#[test]
fn trust_refuses_a_broken_file_and_records_nothing() {
    let w = World::new();
    let project = w.write("proj/sbx.toml", "[profile.proj]\nextends = [\"missing\"]\n");
    let out = w.sbx(["trust"]).run();
    out.code(125).stderr_has(&format!("{}:2: profile proj extends \"missing\"", project.display()));
    assert!(!w.record().exists());
    let w2 = World::new();
    w2.sbx(["trust"]).run().code(125).stderr_has("no sbx.toml in");
}

#[test]
fn meta_actions_never_shadow_a_command() {
    let w = World::new();
    let bin = w.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    script(&bin, "trust", "echo program trust \"$@\"", 0o755);
    script(&bin, "learn", "echo program learn \"$@\"", 0o755);
    let path = format!("{}:/usr/bin:/bin", bin.display());
    w.write("proj/sbx.toml", "[profile.proj]\n");
    // After `--`, or after any option, `trust` is the command.
    w.sbx(["--", "trust", "x"]).env("PATH", &path).run().success().stdout_is("program trust x");
    w.sbx([super::util::any_restriction(), "trust", "x"])
        .env("PATH", &path)
        .run()
        .success()
        .stdout_is("program trust x");
    w.sbx([super::util::any_restriction(), "--", "--explain"]).env("PATH", &path).run().code(127);
    w.sbx(["--", "learn", "x"]).env("PATH", &path).run().success().stdout_is("program learn x");
    w.sbx([super::util::any_restriction(), "learn", "x"])
        .env("PATH", &path)
        .run()
        .success()
        .stdout_is("program learn x");
    // As the first word, it is sbx's action.
    let out = w.sbx(["trust"]).env("PATH", &path).run();
    out.success().stdout_has("Trusted");
    assert!(!out.stdout.contains("program trust"), "{}", out.report());
}

/// Replaces this machine's values in explain output with placeholders, and
/// the list of how each part is enforced (it depends on the kernel) with
/// `{ENFORCEMENT}`.
fn normalize(text: &str, w: &World) -> String {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    let abi = super::util::landlock_abi();
    // (How each part is enforced is checked against the plan in
    // `explain_names_how_this_kernel_enforces_each_part`.)
    let mut kept = String::new();
    let mut in_json_list = false;
    for line in text.lines() {
        if in_json_list {
            in_json_list = !(line == "    ]" || line == "    ],");
            if !in_json_list && line.ends_with(',') {
                kept.push_str("    \"enforcement\": \"{ENFORCEMENT}\",\n");
            } else if !in_json_list {
                kept.push_str("    \"enforcement\": \"{ENFORCEMENT}\"\n");
            }
            continue;
        }
        if line == "    \"enforcement\": [" {
            in_json_list = true;
            continue;
        }
        if line.starts_with("  - [") {
            continue;
        }
        kept.push_str(line);
        kept.push('\n');
        if line == "  how each restriction is enforced here:" {
            kept.push_str("  {ENFORCEMENT}\n");
        }
    }
    kept.replace(&w.root.display().to_string(), "{ROOT}")
        .replace(release.trim(), "{KERNEL}")
        .replace(std::env::consts::ARCH, "{ARCH}")
        .replace(&format!("Landlock ABI {abi}"), "Landlock ABI {ABI}")
        .replace(&format!("\"landlock_abi\": {abi}"), "\"landlock_abi\": {ABI}")
        .replace(&format!("\"landlock\": \"ABI {abi}\""), "\"landlock\": \"ABI {ABI}\"")
}

/// Compares with `tests/golden/NAME`, or rewrites it under `SBX_BLESS=1`.
#[track_caller]
fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name);
    if std::env::var_os("SBX_BLESS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("{}: {e}; create it with SBX_BLESS=1 cargo test --test all profiles::", path.display())
    });
    assert_eq!(actual, expected, "explain output differs from {} (SBX_BLESS=1 rewrites it)", path.display());
}

/// A profile with every kind of entry, used by the explain goldens.
fn explain_world() -> World {
    let w = World::new();
    w.write(
        "config/sbx/config.toml",
        "# user configuration\n\
         [profile.ci]\n\
         extends = [\"build\"]\n\
         allow_write = [\"~/cache\", \"${CI_OUT}/out\"]\n\
         allow_net = [\"127.0.0.1:8080\"]\n\
         allow_env = [\"CI_*\"]\n\
         close_fds = true\n",
    );
    std::fs::create_dir_all(w.path("home/cache")).unwrap();
    w
}

fn explain_cmd(w: &World, format: &str) -> Cmd {
    w.sbx([format, "-p", "ci", "--allow-unix=/run/none.sock", "--allow-env=TOKEN", "--", "make", "-j4", "a b"])
        .env("CI_OUT", w.path("proj"))
        .env("PATH", "/usr/bin:/bin")
}

/// Without Landlock the golden policy (it denies writing) is refused: said
/// instead of compared.
fn refused_without_landlock(out: &Output) -> bool {
    if super::util::landlock_abi() > 0 {
        return false;
    }
    out.stdout_has("writing files outside the writable paths");
    true
}

#[test]
fn explain_text_golden() {
    let w = explain_world();
    let out = explain_cmd(&w, "--explain").run();
    out.success();
    assert!(out.stderr.is_empty(), "{}", out.report());
    if refused_without_landlock(&out) {
        out.stdout_has("verdict: sbx would refuse to run (exit 125)");
        return;
    }
    golden("explain-ci.txt", &normalize(&out.stdout, &w));
    // Nothing was created or run.
    assert!(!w.path("proj/out").exists(), "--explain created a missing --allow-write directory");
}

#[test]
fn explain_json_golden_and_parses() {
    let w = explain_world();
    let out = explain_cmd(&w, "--explain=json").run();
    out.success();
    let value: serde_json::Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}{}", out.report()));
    assert_eq!(value["profile"]["name"], "ci");
    assert_eq!(value["restrictions"][1]["source"]["profile"], "build");
    if refused_without_landlock(&out) {
        assert_eq!(value["verdict"]["runs"], false);
        return;
    }
    assert_eq!(value["verdict"]["runs"], true);
    golden("explain-ci.json", &normalize(&out.stdout, &w));
    assert!(!w.path("proj/out").exists());
}

#[test]
fn explain_names_how_this_kernel_enforces_each_part() {
    use sbx::linux::enforcement::{self, By, Kernel};
    let abi = super::util::landlock_abi();
    for flags in
        [&["--deny-write", "--deny-net"][..], &["--deny-read", "--deny-env"], &["--allow-net=127.0.0.1:80"], &[]]
    {
        let out = sbx(["--explain=json"]).args(flags).args(["--", "true"]).run();
        out.success();
        let value: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        let rows = value["kernel"]["enforcement"].as_array().unwrap_or_else(|| panic!("{}", out.report()));
        // The same plan a run makes on this kernel (with a supervisor).
        let argv = ["sbx"].iter().chain(flags).chain(["--", "true"].iter());
        let cli = <sbx::cli::Cli as clap::Parser>::try_parse_from(argv).unwrap();
        let ctx = sbx::policy::Surroundings::current().unwrap();
        let policy = sbx::policy::Policy::build(&sbx::policy::Request::from_cli(&cli, &ctx), &ctx).unwrap();
        let plan = enforcement::plan(
            &policy,
            &Kernel { abi: abi as u8, no_supervisor: None, no_fd_taking: None, delegated: None },
        );
        assert_eq!(rows.len(), plan.covered.len(), "{}", out.report());
        for (row, c) in rows.iter().zip(&plan.covered) {
            let (status, how) = match &c.by {
                By::Enforced(how) => ("enforced", how),
                By::Gap(needs) => ("not enforced", needs),
                By::Open(why) => ("open", why),
            };
            assert_eq!(row["what"], c.what.as_str(), "{}", out.report());
            assert_eq!(row["status"], status, "{}", out.report());
            assert_eq!(row["how"], how.as_str(), "{}", out.report());
        }
        // And the text says the same.
        let text = sbx(["--explain"]).args(flags).args(["--", "true"]).run();
        for c in &plan.covered {
            text.stdout_has(&c.what);
        }
        if abi >= 6 {
            text.stdout_has("sending signals to processes outside the sandbox: Landlock signal scope (ABI 6)");
        } else {
            text.stdout_has("sending signals to processes outside the sandbox: sbx's supervisor");
        }
    }
}

#[test]
fn explain_shows_an_untrusted_profile_and_the_refusal() {
    // Its profiles restrict files.
    if !super::util::files_enforced() {
        return;
    }
    let w = World::new();
    w.write("proj/sbx.toml", "[profile.default]\nallow_write = [\"sub\"]\n");
    let out = w.sbx(["--explain"]).run();
    out.success()
        .stdout_has("profile: default (project configuration")
        .stdout_has("would refuse to run")
        .stdout_has("is not trusted")
        .stdout_has("sbx.toml (project configuration, not trusted)");
    let out = w.sbx(["--explain=json"]).run();
    let value: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(value["verdict"]["runs"], false);
    assert_eq!(value["config_files"][0]["trust"], "not trusted");
    w.sbx(["trust"]).run().success();
    let out = w.sbx(["--explain"]).run();
    out.success().stdout_has("sbx.toml (project configuration, trusted)").stdout_has("would run");
    // Errors that keep the policy from being built are errors here too.
    w.sbx(["--explain", "-p", "nope"]).run().code(125).stderr_has("no profile named");
    w.sbx(["--explain=yaml"]).run().code(125);
}

#[test]
fn doctor_on_this_kernel() {
    // Whatever the (simulated) Landlock ABI: with a supervisor everything is
    // enforced from ABI 1 on, each part by what this ABI has.
    let abi = super::util::landlock_abi();
    let out = sbx(["--doctor"]).run();
    if abi == 0 {
        out.code(1).stdout_has("Landlock: ").stdout_has("some restrictions cannot be enforced here");
        line_has(&out, "--deny-write ", "refused (exit 125): needs Landlock ABI 1 (Linux 5.13)");
        line_has(&out, "--deny-net ", "works");
        line_has(&out, "- reading /proc/PID files", "open (only Landlock can close them");
        return;
    }
    let confined = match super::util::container() {
        // The container's filter (the launcher loads one).
        Some(_) => "seccomp: sbx runs under 1 seccomp filter already",
        None => "seccomp: no filter confines sbx",
    };
    out.success()
        .stdout_has(&format!("Landlock: ABI {abi}"))
        .stdout_has("yes user notification")
        .stdout_has(confined)
        .stdout_has("so: the supervisor runs and can take the command's file descriptors")
        .stdout_has("verdict: everything sbx offers is enforced");
    for flag in
        ["every run (no flag) ", "--deny-read ", "--deny-write ", "--deny-net ", "--allow-net=HOST ", "--deny-env "]
    {
        line_has(&out, flag, " works");
    }
    for call in ["no_new_privs", "a seccomp filter with a listener", "pidfd_getfd", "process_vm_readv", "/proc/PID/mem"]
    {
        line_has(&out, "  yes ", call);
    }
    let signals = if abi >= 6 { "Landlock signal scope (ABI 6)" } else { "sbx's supervisor: signals" };
    line_has(&out, "- sending signals to processes outside the sandbox", signals);
    let truncation = if abi >= 3 { "Landlock TRUNCATE (ABI 3)" } else { "sbx's supervisor: truncate(2)" };
    line_has(&out, "- truncating files outside the writable paths", truncation);
    let ioctl = if abi >= 5 {
        "Landlock IOCTL_DEV (ABI 5)"
    } else {
        "device files outside the write defaults cannot be opened"
    };
    line_has(&out, "- ioctl on device files outside the writable paths", ioctl);
    line_has(&out, "- changing the priority, limits or scheduling", "sbx's supervisor");
    // --doctor takes nothing else.
    sbx(["--doctor", "--deny-write"]).run().code(125);
    sbx(["--doctor", "--", "true"]).run().code(125);
}

#[test]
fn doctor_and_explain_without_landlock() {
    if !super::util::need_real_abi(1) {
        return;
    }
    assert_shim_hides_landlock("none", "ENOSYS");
    let out = sbx(["--doctor"]).landlock("none").run();
    out.code(1)
        .stdout_has("Landlock: not available")
        .stdout_has("no  ABI 1")
        .stdout_has("writing files outside the writable paths")
        .stdout_has("fix: use Linux 5.13 or later built with CONFIG_SECURITY_LANDLOCK=y");
    line_has(&out, "--deny-write ", "refused (exit 125): needs Landlock ABI 1 (Linux 5.13) — fix: use Linux 5.13");
    line_has(&out, "--deny-write ", "--best-effort would give up: writing files outside the writable paths");
    line_has(&out, "--deny-net ", " works");
    line_has(&out, "--deny-env ", "refused (exit 125): needs Landlock ABI 1 (Linux 5.13)");
    line_has(&out, "/proc/PID/environ", "NOT ENFORCED here");
    line_has(&out, "- sending signals to processes outside the sandbox", "sbx's supervisor");
    let w = World::new();
    let out = w.sbx(["--explain", "-p", "build", "--", "true"]).landlock("none").run();
    out.success()
        .stdout_has("NOT ENFORCED here: writing files outside the writable paths")
        .stdout_has("would refuse to run")
        .stdout_has("--best-effort");
    let out = w.sbx(["--explain", "-p", "build", "--best-effort", "--", "true"]).landlock("none").run();
    out.success().stdout_has("would run the command");
    // The network alone runs without Landlock.
    let out = w.sbx(["--explain", "--deny-net", "--", "true"]).landlock("none").run();
    out.success()
        .stdout_has("would run the command")
        .stdout_has("sbx's supervisor: connects and sends reach only abstract sockets");

    // Landlock built in but disabled at boot: the fix is the boot parameter.
    let out = sbx(["--doctor"]).landlock("disabled").run();
    out.code(1).stdout_has("not enabled").stdout_has("lsm=");
}

#[test]
fn doctor_without_user_notification() {
    // seccomp(SECCOMP_GET_NOTIF_SIZES) fails as on a kernel before 5.0.
    let filter = Filter::new(&[Deny { syscall: "seccomp", errno: libc::EINVAL, arg0: Some(3) }]);
    let out = filter.run(&sbx(["--doctor"]));
    out.code(1).stdout_has("--allow-net rules").stdout_has("connecting to unix sockets outside the sandbox");
    // This kernel has it: the filter is named, not the kernel.
    let cause = "the enclosing seccomp filter refuses seccomp user notification (EINVAL)";
    line_has(&out, "no  seccomp user notification", &format!("EINVAL: {cause}"));
    line_has(&out, "--allow-net=HOST ", &format!("refused (exit 125): needs the network supervisor, but {cause}"));
    line_has(&out, "--deny-net ", "refused (exit 125)");
}

/// Asserts that some line of stdout contains both `a` and, after it, `b`.
#[track_caller]
fn line_has(out: &Output, a: &str, b: &str) {
    let found = out.stdout.lines().any(|l| l.find(a).is_some_and(|i| l[i + a.len()..].contains(b)));
    assert!(found, "no stdout line has {a:?} then {b:?}{}", out.report());
}

#[test]
fn the_documented_configuration_files_are_valid() {
    // Its profiles restrict files.
    if !super::util::files_enforced() {
        return;
    }
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
    let mut checked = 0;
    for name in ["recipes.md", "config.md"] {
        let text = std::fs::read_to_string(docs.join(name)).unwrap();
        // Every block fenced "```toml" is an sbx configuration; another tool's
        // TOML is fenced with its name ("```toml gitlab-runner").
        for block in text.split("```toml\n").skip(1) {
            let block = block.split("```").next().unwrap();
            if block.contains('…') {
                continue; // a schematic, not a file
            }
            let w = World::new();
            // What `allow_registries` reads: each tool's registry configured.
            w.write("home/.npmrc", "registry=https://registry.example.com/\n");
            std::fs::create_dir_all(w.path("config/pip")).unwrap();
            w.write("config/pip/pip.conf", "[global]\nindex-url = https://registry.example.com/simple/\n");
            std::fs::create_dir_all(w.path("home/.cargo")).unwrap();
            w.write(
                "home/.cargo/config.toml",
                "[source.crates-io]\nreplace-with = \"m\"\n[source.m]\nregistry = \"sparse+https://registry.example.com/\"\n",
            );
            let file = w.write("proj/sbx.toml", block);
            let out = w.sbx(["trust"]).arg(&file).run();
            assert!(
                out.status.success(),
                "a TOML block of docs/{name} is not a valid configuration:\n{block}{}",
                out.report()
            );
            // Each profile also makes a valid policy (net entries, paths).
            for profile in block.lines().filter_map(|l| l.strip_prefix("[profile.")?.split(']').next()) {
                let out = w
                    .sbx(["--explain", "-p", profile, "--", "true"])
                    .env("CARGO_HOME", w.path("home/.cargo"))
                    .env_remove("PIP_CONFIG_FILE")
                    .env_remove("PIP_INDEX_URL")
                    .env_remove("npm_config_registry")
                    .run();
                assert!(
                    out.status.success(),
                    "docs/{name}: profile {profile} makes no policy:\n{block}{}",
                    out.report()
                );
                out.stdout_has("verdict: sbx would run");
            }
            checked += 1;
        }
    }
    assert!(checked >= 4, "only {checked} blocks checked");
}

#[test]
fn a_summary_of_what_was_blocked_ends_the_run() {
    let w = World::new();
    w.write("config/sbx/config.toml", "[profile.web]\nallow_net = [\"127.0.0.1\"]\n");
    // Three refused connects to one address, one to another (nothing
    // listens there: without sbx they would be ECONNREFUSED too, so only
    // sbx's report tells them apart).
    let p = probe().display().to_string();
    let script = format!("for i in 1 2 3; do {p} connect 127.0.0.2 9; done; {p} connect 127.0.0.3 9");
    let out = w.sbx(["-p", "web", "--", "sh", "-c", &script]).run();
    out.success()
        .stderr_has("sbx: summary: the sandbox refused 4 network attempts of 2 kinds:")
        .stderr_has("sbx:   3× connect to 127.0.0.2:9 — allow with --allow-net=127.0.0.2:9")
        .stderr_has("sbx:   1× connect to 127.0.0.3:9")
        .stderr_has(&format!(
            "add the entry to allow_net of profile web at {}:2",
            w.path("config/sbx/config.toml").display()
        ));
    // The summary comes after the command's own output and sbx's reports.
    let summary_at = out.stderr.find("sbx: summary").unwrap();
    assert!(out.stderr[..summary_at].contains("sbx: blocked connect to 127.0.0.3:9"), "{}", out.report());
    // -q silences it with the rest.
    let out = w.sbx(["-q", "-p", "web", "--", "sh", "-c", &script]).run();
    out.success();
    assert!(out.stderr.is_empty(), "{}", out.report());
    // Nothing blocked: no summary.
    let out = w.sbx(["-p", "web", "--", "true"]).run();
    out.success().stderr_lacks("summary");
}

// ------------------------------------------------------------ sbx's own files

#[test]
fn no_rule_makes_sbx_own_configuration_writable() {
    // (Without Landlock, --deny-write itself is refused first.)
    if !super::util::files_enforced() {
        return;
    }
    // A command that could rewrite the user configuration or the trust
    // record would choose the next run's sandbox: any write rule reaching
    // them is refused before the command starts, from every source.
    let w = World::new();
    // The old agent recipe: `.` in the user config is the config directory.
    w.write("config/sbx/config.toml", "[profile.agent]\ndeny = [\"write\", \"net\"]\nallow_write = [\".\"]\n");
    let out = w.sbx(["-p", "agent", "--", "echo", "ran"]).run();
    refused(&out);
    out.stderr_has(&format!("allow_write entry {:?} of profile agent", w.path("config/sbx").display().to_string()))
        .stderr_has("config.toml:3")
        .stderr_has("sbx's user configuration directory");
    // --explain says the same, and that it would refuse.
    let out = w.sbx(["--explain", "-p", "agent", "--", "true"]).run();
    out.success().stdout_has("verdict: sbx would refuse to run (exit 125)").stdout_has("user configuration directory");
    // Flags: the directory itself, an ancestor of it, the trust record's.
    for (dir, what) in [
        (w.path("config/sbx"), "sbx's user configuration directory"),
        (w.path("config"), "sbx's user configuration directory"),
        (w.path("state"), "sbx's record of trusted project files"),
    ] {
        let flag = format!("--allow-write={}", dir.display());
        let out = w.sbx(["--deny-write", &flag, "--", "echo", "ran"]).run();
        refused(&out);
        out.stderr_has(&flag).stderr_has(what);
    }
    // The trust record's directory need not exist yet: creating it is as bad.
    assert!(!w.path("state/sbx").exists());
}

#[test]
fn the_fixed_agent_recipe_writes_the_project_and_not_the_configuration() {
    if !super::util::files_enforced() {
        return;
    }
    let w = World::new();
    let config = w.write("config/sbx/config.toml", "[profile.agent]\nextends = [\"build\"]\ndeny = [\"env\"]\n");
    let before = std::fs::read(&config).unwrap();
    let write = |target: PathBuf| w.sbx(["-p", "agent", "--"]).arg(probe()).arg("write").arg(target).run();
    write(w.path("proj/sub/made")).success().stdout_is("ok");
    write(config.clone()).success().stdout_is("EACCES");
    write(w.path("config/sbx/other.toml")).success().stdout_is("EACCES");
    assert_eq!(std::fs::read(&config).unwrap(), before);
}

#[test]
fn a_dot_resolving_to_home_or_root_is_refused_or_warned_about() {
    // (Without Landlock, --deny-write itself is refused first.)
    if !super::util::files_enforced() {
        return;
    }
    let w = World::new();
    // HOME holds the configuration (no XDG_CONFIG_HOME): `-p build` run
    // from HOME would make ~/.config/sbx writable — refused, and said why.
    std::fs::create_dir_all(w.path("home/.config/sbx")).unwrap();
    let from_home = |cmd: Cmd| cmd.env_remove("XDG_CONFIG_HOME").cwd(w.path("home"));
    let out = from_home(w.sbx(["-p", "build", "--", "echo", "ran"])).run();
    refused(&out);
    out.stderr_has("built-in profile build").stderr_has("it is your home directory");
    // From /, the whole file system.
    let out = from_home(w.sbx(["-p", "build", "--", "echo", "ran"])).cwd("/").run();
    refused(&out);
    out.stderr_has("it is the whole file system");
    // With sbx's files elsewhere, HOME writable is allowed, with a warning.
    let out = w.sbx(["-p", "build", "--", "echo", "ran"]).cwd(w.path("home")).run();
    out.success().stdout_is("ran").stderr_has("makes your whole home directory writable");
}

#[test]
fn a_config_file_given_with_config_inside_a_writable_path_is_warned_about() {
    if !super::util::files_enforced() {
        return;
    }
    let w = World::new();
    let file = w.write("proj/sub/mine.toml", "[profile.mine]\ndeny = [\"write\"]\nallow_write = [\".\"]\n");
    let out = w.sbx(["--config"]).arg(&file).args(["-p", "mine", "--", "echo", "ran"]).run();
    out.success()
        .stdout_is("ran")
        .stderr_has(&format!("lets the command rewrite {}", file.display()))
        .stderr_has("the configuration file given with --config");
}
