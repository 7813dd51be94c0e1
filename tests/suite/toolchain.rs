//! The toolchain profiles (`-p npm`, `-p pip`, `-p cargo`) end to end: a
//! fake home, project and PATH with the tool's configuration files, and
//! what `--explain` and a run make of them. Reserved names only; the one
//! registry that is reached is a loopback listener.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use super::profiles;
use super::util::{Cmd, listener, net_enforceable, probe};

const TOKEN: &str = "npm_TOKEN_abcdef0123456789";

/// [`profiles::World`] (a private home, configuration and project) with
/// `bin/` as the only PATH entry and none of the caller's tool settings.
struct World(profiles::World);

impl World {
    fn new() -> Self {
        let w = profiles::World::new();
        std::fs::create_dir_all(w.path("bin")).unwrap();
        Self(w)
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.0.path(relative)
    }

    fn write(&self, relative: &str, text: &str) -> &Self {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        self.0.write(relative, text);
        self
    }

    /// A fake tool in `bin/` that prints `line`.
    fn tool(&self, name: &str, line: &str) {
        let path = self.path("bin").join(name);
        std::fs::write(&path, format!("#!/bin/sh\necho '{line}'\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// `sbx ARGS` in `proj/sub`, with none of the caller's tool settings.
    fn sbx(&self, args: &[&str]) -> Cmd {
        let mut cmd = self
            .0
            .sbx(args)
            .env("XDG_CONFIG_DIRS", self.path("config"))
            .env("CARGO_HOME", self.path("home/.cargo"))
            .env("PATH", self.path("bin"))
            .env_remove("VIRTUAL_ENV");
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy().into_owned();
            let upper = name.to_ascii_uppercase();
            if upper.starts_with("NPM_CONFIG_") || upper.starts_with("PIP_") || upper.starts_with("CARGO_REGISTRIES_") {
                cmd = cmd.env_remove(name);
            }
        }
        cmd
    }

    fn explain(&self, profile: &str) -> String {
        let out = self.sbx(&["--explain", "-p", profile, "--", "true"]).run();
        out.success();
        assert!(!out.stdout.contains(TOKEN) && !out.stderr.contains(TOKEN), "a token was shown{}", out.report());
        out.stdout.clone()
    }
}

/// The `allow` line of `text` for `entry`.
#[track_caller]
fn allow_line<'a>(text: &'a str, entry: &str) -> &'a str {
    let prefix = format!("  allow      {entry}  ← ");
    text.lines().find(|l| l.starts_with(&prefix)).unwrap_or_else(|| panic!("no allow line for {entry}:\n{text}"))
}

#[test]
fn npm_profile_takes_the_registries_from_the_npmrc_files() {
    let w = World::new();
    w.write(
        "home/.npmrc",
        &format!("registry=https://registry.example.com/\n//registry.example.com/:_authToken={TOKEN}\n"),
    )
    .write("proj/package.json", "{}")
    .write("proj/.npmrc", "@corp:registry=https://npm.corp.test:8443/\n");
    let text = w.explain("npm");
    assert!(text.contains("  network      denied       profile npm: allow_registries (built in)"), "{text}");
    assert_eq!(
        allow_line(&text, "registry.example.com:443"),
        "  allow      registry.example.com:443  ← profile npm: allow_registries (built in), found in ~/.npmrc: registry"
    );
    let project = w.path("proj/.npmrc").display().to_string();
    assert!(allow_line(&text, "npm.corp.test:8443").ends_with(&format!("found in {project}: @corp:registry")));
    assert!(text.contains("npm's registries (profile npm): looked at npm_config_* variables"), "{text}");
    // npm itself was not asked: the files named the registry.
    assert!(!text.contains("npm config get registry"), "{text}");
}

#[test]
fn npm_profile_asks_npm_when_no_file_names_a_registry() {
    let w = World::new();
    w.tool("npm", "https://registry.example.com/");
    let text = w.explain("npm");
    assert!(allow_line(&text, "registry.example.com:443").ends_with("found in `npm config get registry`"), "{text}");
    let json = w.sbx(&["--explain=json", "-p", "npm", "--", "true"]).run();
    json.success().stdout_has("\"found_in\": \"`npm config get registry`\"");
}

#[test]
fn npm_profile_is_refused_when_no_registry_can_be_told_and_the_fix_works() {
    if !net_enforceable() {
        return;
    }
    let w = World::new();
    let out = w.sbx(&["-p", "npm", "--", "/bin/sh", "-c", "echo ran"]).run();
    out.code(125)
        .stderr_has("sbx: profile npm allows npm's registries (allow_registries), but sbx cannot tell which registry")
        .stderr_has("~/.npmrc (none)")
        .stderr_has("`npm config get registry` failed: npm is not on PATH")
        .stderr_has("--allow-net=https://registry.example.com/");
    assert!(!out.stdout.contains("ran"), "the command ran{}", out.report());
    w.sbx(&["-p", "npm", "--allow-net=https://registry.example.com/", "--", "/bin/sh", "-c", "echo ran"])
        .run()
        .success()
        .stdout_is("ran")
        .stderr_has("the --allow-net and allow_net entries given are used as they are");
}

#[test]
fn pip_profile_takes_the_indexes_from_pip_conf_and_the_environment() {
    let w = World::new();
    w.write(
        "config/pip/pip.conf",
        "[global]\nindex-url = https://registry.example.com/simple/\nextra-index-url =\n    https://extra.test/simple\n",
    );
    let text = w.explain("pip");
    // XDG_CONFIG_HOME/pip/pip.conf (outside the home here, so shown whole).
    let file = w.path("config/pip/pip.conf").display().to_string();
    assert!(
        allow_line(&text, "registry.example.com:443").ends_with(&format!("found in {file}: [global] index-url")),
        "{text}"
    );
    assert!(allow_line(&text, "extra.test:443").ends_with(&format!("found in {file}: [global] extra-index-url")));
    // PIP_INDEX_URL overrides the file's index-url.
    let out =
        w.sbx(&["--explain", "-p", "pip", "--", "true"]).env("PIP_INDEX_URL", "http://pypi.test:8080/simple").run();
    out.success();
    assert!(allow_line(&out.stdout, "pypi.test:8080").ends_with("found in PIP_INDEX_URL"));
    out.stdout_lacks("registry.example.com");
}

#[test]
fn cargo_profile_follows_the_projects_source_replacement() {
    let w = World::new();
    w.write(
        "proj/.cargo/config.toml",
        "[source.crates-io]\nreplace-with = \"mirror\"\n\n[source.mirror]\nregistry = \"sparse+https://registry.example.com/index/\"\n",
    )
    .write("home/.cargo/config.toml", "[registries.internal]\nindex = \"https://cargo.internal.test/git/index\"\n");
    let text = w.explain("cargo");
    let project = w.path("proj/.cargo/config.toml").display().to_string();
    assert!(
        allow_line(&text, "registry.example.com:443").ends_with(&format!("found in {project}: source.mirror.registry")),
        "{text}"
    );
    assert!(
        allow_line(&text, "cargo.internal.test:443")
            .ends_with("found in ~/.cargo/config.toml: registries.internal.index")
    );
}

#[test]
fn cargo_profile_without_a_replacement_is_refused_with_what_to_add() {
    let w = World::new();
    let out = w.sbx(&["-p", "cargo", "--", "/bin/sh", "-c", "echo ran"]).run();
    out.code(125)
        .stderr_has("~/.cargo/config.toml (none)")
        .stderr_has("[source.crates-io] replace-with = \"mirror\" and [source.mirror] registry = ");
    assert!(!out.stdout.contains("ran"), "the command ran{}", out.report());
}

#[test]
fn npm_profile_reaches_the_configured_registry_and_nothing_else() {
    if !net_enforceable() {
        return;
    }
    let registry = listener("127.0.0.1");
    let other = listener("127.0.0.1");
    let w = World::new();
    w.write("home/.npmrc", &format!("registry=http://{}/\n", registry.addr));
    let connect = |l: &super::util::Listener| {
        w.sbx(&["-p", "npm", "--"]).arg(probe()).args(["connect", &l.ip(), &l.port()]).run()
    };
    let before = other.accepted();
    connect(&registry).success().stdout_is("ok");
    assert!(registry.accepted() >= 1, "the registry saw no connection");
    connect(&other).success().stdout_is("ECONNREFUSED");
    assert_eq!(other.accepted(), before, "the other listener saw a connection");
}
