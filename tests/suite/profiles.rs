//! Profiles and `sbx trust`, end to end. Every test
//! points HOME, XDG_CONFIG_HOME and XDG_STATE_HOME at its own temp dir, so
//! none reads or writes the real user's configuration or trust record.

use std::path::{Path, PathBuf};

use super::process::script;
use super::util::{Cmd, Output, probe, sbx, tempdir};

/// A private world: `home/`, `config/` (XDG_CONFIG_HOME), `state/`
/// (XDG_STATE_HOME), and a project `proj/` with a subdirectory `proj/sub`.
struct World {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl World {
    fn new() -> Self {
        let dir = tempdir();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        for d in ["home", "config/sbx", "state", "proj/sub"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        Self { _dir: dir, root }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    fn write(&self, relative: &str, text: &str) -> PathBuf {
        let path = self.path(relative);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// `sbx ARGS` in `proj/sub`, isolated from the real user's files.
    fn sbx<I: IntoIterator<Item = S>, S: AsRef<std::ffi::OsStr>>(&self, args: I) -> Cmd {
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
    let w = World::new();
    let project = w.write("proj/sbx.toml", "[profile.proj]\ndeny = [\"write\"]\nallow_write = [\"sub\"]\n");
    let run = |w: &World| w.sbx(["-p", "proj", "--", "sh", "-c", "echo ran > ran.txt && echo ran"]).run();

    let out = run(&w);
    refused(&out);
    out.stderr_has(&format!("sbx: {} is not trusted", project.display()))
        .stderr_has(&format!("sbx trust {}", project.display()));
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
    std::fs::write(&project, "[profile.proj]\ndeny = [\"write\"]\nallow_write = [\"/\"]\n").unwrap();
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
    let path = format!("{}:/usr/bin:/bin", bin.display());
    w.write("proj/sbx.toml", "[profile.proj]\n");
    // After `--`, or after any option, `trust` is the command.
    w.sbx(["--", "trust", "x"]).env("PATH", &path).run().success().stdout_is("program trust x");
    w.sbx(["--deny-write", "trust", "x"]).env("PATH", &path).run().success().stdout_is("program trust x");
    // As the first word, it is sbx's action.
    let out = w.sbx(["trust"]).env("PATH", &path).run();
    out.success().stdout_has("Trusted");
    assert!(!out.stdout.contains("program trust"), "{}", out.report());
}
