//! The config readers on fixtures in temp dirs: a fake home, project, system
//! root and PATH, reserved names only.

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use super::{Lookup, Tool, ini, lookup_in, url_entry};
use crate::policy::Surroundings;

const TOKEN: &str = "npm_SECRET0123456789";

/// A temp world: `home/`, `proj/sub` (the current directory), `sys/` (the
/// system root), `bin/` (PATH, empty unless a test puts a tool there).
struct World {
    _dir: tempfile::TempDir,
    root: PathBuf,
    vars: Vec<(OsString, OsString)>,
}

impl World {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        for d in ["home", "proj/sub", "sys/etc", "bin"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        let vars = vec![("HOME".into(), root.join("home").into()), ("PATH".into(), root.join("bin").into())];
        Self { _dir: dir, root, vars }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    fn write(&self, relative: &str, text: &str) -> &Self {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        self
    }

    fn var(&mut self, name: &str, value: impl Into<OsString>) -> &mut Self {
        self.vars.push((name.into(), value.into()));
        self
    }

    /// A fake `name` on PATH that prints `output`.
    fn tool(&self, name: &str, output: &str) {
        let path = self.path("bin").join(name);
        std::fs::write(&path, format!("#!/bin/sh\nprintf '%s\\n' {output}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn lookup(&self, tool: Tool) -> Lookup {
        let ctx = Surroundings { vars: self.vars.clone(), cwd: self.path("proj/sub") };
        let found = lookup_in(tool, &ctx, &self.path("sys"));
        assert!(!format!("{found:?}").contains(TOKEN), "a token was kept: {found:#?}");
        found
    }
}

/// The lookup's hosts as `ENTRY ← FROM`.
fn hosts(l: &Lookup) -> Vec<String> {
    l.hosts.iter().map(|f| format!("{} ← {}", f.entry, f.from)).collect()
}

#[test]
fn registry_urls_become_host_and_port_without_credentials() {
    assert_eq!(url_entry("https://registry.example.com/").unwrap(), "registry.example.com:443");
    assert_eq!(url_entry("http://127.0.0.1:4873/").unwrap(), "127.0.0.1:4873");
    assert_eq!(url_entry("sparse+https://registry.example.com/index/").unwrap(), "registry.example.com:443");
    assert_eq!(url_entry("https://user:s3cret@Registry.Example.com:8443/simple").unwrap(), "registry.example.com:8443");
    assert_eq!(url_entry("ssh://git@git.example.com/index.git").unwrap(), "git.example.com:22");
    for bad in ["https://user:s3cret@/", "gopher://user:s3cret@example.com/", "registry.example.com", "file:///srv"] {
        let err = url_entry(bad).unwrap_err();
        assert!(!err.contains("s3cret"), "{bad}: {err}");
    }
}

#[test]
fn the_ini_reader_keeps_only_the_asked_keys() {
    let text = "; comment\nregistry = \"https://registry.example.com/\"\n//registry.example.com/:_authToken=SECRET\n\
                @corp:registry=https://corp.test/\n[section]\nregistry=https://in-section.test/\n";
    let kept = ini::read(text, ini::NPMRC, |s, k| s.is_none() && k.ends_with("registry"));
    let shown: Vec<(String, String)> =
        kept.iter().map(|e| (e.key.clone(), ini::unquote(&e.value).to_owned())).collect();
    assert_eq!(
        shown,
        [
            ("registry".to_owned(), "https://registry.example.com/".to_owned()),
            ("@corp:registry".to_owned(), "https://corp.test/".to_owned())
        ]
    );
    // pip's configparser: `:` delimits, indented lines continue a value.
    let text = "[global]\nindex-url: https://a.test/simple\nextra-index-url =\n  https://b.test/simple\n  # no\n  \
                https://c.test/simple\npassword = SECRET\n  SECRET-CONTINUED\n";
    let kept = ini::read(text, ini::PIP_CONF, |_, k| k.ends_with("url"));
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert_eq!(
        kept[1].value.split_whitespace().collect::<Vec<_>>(),
        ["https://b.test/simple", "https://c.test/simple"]
    );
    assert!(!format!("{kept:?}").contains("SECRET"));
}

#[test]
fn npm_reads_the_user_npmrc_and_drops_tokens() {
    let w = World::new();
    w.write(
        "home/.npmrc",
        &format!("registry=https://registry.example.com/\n//registry.example.com/:_authToken={TOKEN}\n_auth={TOKEN}\n"),
    );
    let l = w.lookup(Tool::Npm);
    assert!(l.known);
    assert_eq!(hosts(&l), ["registry.example.com:443 ← ~/.npmrc: registry"]);
    // Not asked: npm is not even on PATH.
    assert!(!l.looked_at.iter().any(|s| s.contains("npm config")), "{:?}", l.looked_at);
}

#[test]
fn npm_project_npmrc_beats_the_user_one_and_scopes_add_up() {
    let w = World::new();
    w.write("home/.npmrc", "registry=https://user.example.com/\n@corp:registry=https://corp-user.test/\n")
        .write("proj/package.json", "{}")
        .write("proj/.npmrc", "registry=https://registry.example.com/\n@corp:registry=https://corp.test:8443/\n")
        .write("proj/sub/.npmrc", "registry=https://not-the-project-root.test/\n");
    let l = w.lookup(Tool::Npm);
    let project = w.path("proj/.npmrc").display().to_string();
    assert_eq!(
        hosts(&l),
        [
            format!("corp.test:8443 ← {project}: @corp:registry"),
            format!("registry.example.com:443 ← {project}: registry")
        ]
    );
}

#[test]
fn npm_variables_beat_files_and_expand() {
    let mut w = World::new();
    w.write("home/.npmrc", "registry=${REGISTRY_URL}\n@a:registry=${UNSET_VAR}\n");
    w.var("REGISTRY_URL", "https://registry.example.com/");
    let l = w.lookup(Tool::Npm);
    assert_eq!(hosts(&l), ["registry.example.com:443 ← ~/.npmrc: registry"]);
    assert!(l.notes.iter().any(|n| n.contains("${UNSET_VAR} is not set")), "{:?}", l.notes);
    w.var("npm_config_registry", "http://127.0.0.1:4873/");
    let l = w.lookup(Tool::Npm);
    assert_eq!(hosts(&l)[0], "127.0.0.1:4873 ← npm_config_registry");
}

#[test]
fn npm_userconfig_and_globalconfig_variables_name_the_files() {
    let mut w = World::new();
    w.write("elsewhere/npmrc", "@corp:registry=https://corp.test/\n")
        .write("global/npmrc", "registry=https://g.test/\n");
    let (user, global) = (w.path("elsewhere/npmrc"), w.path("global/npmrc"));
    w.var("npm_config_userconfig", user).var("npm_config_globalconfig", global);
    let l = w.lookup(Tool::Npm);
    let shown = hosts(&l);
    assert!(shown.contains(&format!("corp.test:443 ← {}: @corp:registry", w.path("elsewhere/npmrc").display())));
    assert!(shown.contains(&format!("g.test:443 ← {}: registry", w.path("global/npmrc").display())));
}

#[test]
fn npm_is_asked_only_when_no_file_names_a_registry() {
    let w = World::new();
    w.tool("npm", "https://registry.example.com/");
    let l = w.lookup(Tool::Npm);
    assert!(l.known);
    assert_eq!(hosts(&l), ["registry.example.com:443 ← `npm config get registry`"]);
}

#[test]
fn npm_without_configuration_or_npm_is_unknown() {
    let w = World::new();
    let l = w.lookup(Tool::Npm);
    assert!(!l.known);
    assert!(l.hosts.is_empty());
    assert!(l.notes.iter().any(|n| n.contains("npm is not on PATH")), "{:?}", l.notes);
    assert!(l.looked_at.contains(&"~/.npmrc (none)".to_owned()), "{:?}", l.looked_at);
}

#[test]
fn pip_reads_its_files_in_order_and_every_section() {
    let w = World::new();
    w.write("sys/etc/pip.conf", "[global]\nindex-url = https://system.example.com/simple\n").write(
        "home/.config/pip/pip.conf",
        "[global]\nindex_url = https://registry.example.com/simple/\nextra-index-url =\n    \
             https://extra.test/simple\n    http://10.0.0.1:8080/simple\ntrusted-host = extra.test\n\
             [install]\nfind-links = /opt/wheels https://wheels.test/\n",
    );
    let l = w.lookup(Tool::Pip);
    assert!(l.known);
    let user = "~/.config/pip/pip.conf";
    assert_eq!(
        hosts(&l),
        [
            format!("registry.example.com:443 ← {user}: [global] index-url"),
            format!("extra.test:443 ← {user}: [global] extra-index-url"),
            format!("10.0.0.1:8080 ← {user}: [global] extra-index-url"),
            format!("extra.test ← {user}: [global] trusted-host"),
            format!("wheels.test:443 ← {user}: [install] find-links"),
        ]
    );
}

#[test]
fn pip_variables_override_the_files() {
    let mut w = World::new();
    w.write("conf/pip.ini", "[global]\nindex-url = https://file.example.com/simple\n");
    w.var("PIP_CONFIG_FILE", w.path("conf/pip.ini"));
    let l = w.lookup(Tool::Pip);
    assert_eq!(hosts(&l), [format!("file.example.com:443 ← {}: [global] index-url", w.path("conf/pip.ini").display())]);
    w.var("PIP_INDEX_URL", "https://registry.example.com/simple")
        .var("PIP_EXTRA_INDEX_URL", "https://a.test/ https://b.test/");
    let l = w.lookup(Tool::Pip);
    assert_eq!(
        hosts(&l),
        [
            "registry.example.com:443 ← PIP_INDEX_URL",
            "a.test:443 ← PIP_EXTRA_INDEX_URL",
            "b.test:443 ← PIP_EXTRA_INDEX_URL"
        ]
    );
}

#[test]
fn pip_asks_python_for_the_default_index_and_file_host() {
    let w = World::new();
    w.tool("python3", "https://registry.example.com/ files.example.com");
    let l = w.lookup(Tool::Pip);
    assert!(l.known, "{l:?}");
    assert_eq!(
        hosts(&l),
        [
            "registry.example.com:443 ← pip's default index (asked python3)",
            "files.example.com:443 ← pip's default file host (asked python3)"
        ]
    );
    // A virtualenv's python and pip.conf.
    let mut w = World::new();
    w.write("venv/pip.conf", "[global]\nindex-url = https://venv.example.com/simple\n");
    w.var("VIRTUAL_ENV", w.path("venv"));
    assert_eq!(
        hosts(&w.lookup(Tool::Pip)),
        [format!("venv.example.com:443 ← {}: [global] index-url", w.path("venv/pip.conf").display())]
    );
}

#[test]
fn pip_without_python_is_unknown() {
    let l = World::new().lookup(Tool::Pip);
    assert!(!l.known);
    assert!(l.notes.iter().any(|n| n.contains("python3 is not on PATH")), "{:?}", l.notes);
}

#[test]
fn cargo_follows_source_replacement_and_registries() {
    let mut w = World::new();
    w.write(
        "home/.cargo/config.toml",
        "[source.crates-io]\nreplace-with = \"corp\"\n[source.corp]\nreplace-with = \"mirror\"\n\
         [source.mirror]\nregistry = \"sparse+https://registry.example.com/index/\"\n\
         [registries.internal]\nindex = \"https://internal.test/git/index\"\n",
    );
    let l = w.lookup(Tool::Cargo);
    assert!(l.known, "{l:?}");
    assert_eq!(
        hosts(&l),
        [
            "registry.example.com:443 ← ~/.cargo/config.toml: source.mirror.registry",
            "internal.test:443 ← ~/.cargo/config.toml: registries.internal.index"
        ]
    );
    // The project's file beats the home one; a variable beats both.
    w.write("proj/.cargo/config.toml", "[source.mirror]\nregistry = \"sparse+https://project.example.com/\"\n");
    w.var("CARGO_REGISTRIES_INTERNAL_INDEX", "sparse+http://127.0.0.1:3000/");
    let project = w.path("proj/.cargo/config.toml").display().to_string();
    assert_eq!(
        hosts(&w.lookup(Tool::Cargo)),
        [
            format!("project.example.com:443 ← {project}: source.mirror.registry"),
            "127.0.0.1:3000 ← CARGO_REGISTRIES_INTERNAL_INDEX".to_owned()
        ]
    );
}

#[test]
fn cargo_home_and_local_sources() {
    let mut w = World::new();
    w.write(
        "ch/config",
        "[source.crates-io]\nreplace-with = \"vendored\"\n[source.vendored]\ndirectory = \"vendor\"\n",
    );
    w.var("CARGO_HOME", w.path("ch"));
    let l = w.lookup(Tool::Cargo);
    assert!(l.known && l.hosts.is_empty(), "{l:?}");
    assert!(l.notes.iter().any(|n| n.contains("a local directory, no host needed")));
}

#[test]
fn cargo_without_replacement_is_unknown_and_cycles_are_caught() {
    let w = World::new();
    w.write("home/.cargo/config.toml", "[registries.internal]\nindex = \"https://internal.test/index\"\n");
    let l = w.lookup(Tool::Cargo);
    assert!(!l.known);
    assert_eq!(hosts(&l), ["internal.test:443 ← ~/.cargo/config.toml: registries.internal.index"]);
    w.write(
        "home/.cargo/config.toml",
        "[source.crates-io]\nreplace-with = \"a\"\n[source.a]\nreplace-with = \"crates-io\"\n",
    );
    let l = w.lookup(Tool::Cargo);
    assert!(!l.known);
    assert!(l.notes.iter().any(|n| n.contains("cycle")), "{:?}", l.notes);
    w.write("home/.cargo/config.toml", "not toml [");
    assert!(w.lookup(Tool::Cargo).notes.iter().any(|n| n.contains("not valid TOML")));
}

#[test]
fn a_tool_that_fails_is_noted() {
    let w = World::new();
    let path = w.path("bin/npm");
    std::fs::write(&path, "#!/bin/sh\nexit 3\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    let l = w.lookup(Tool::Npm);
    assert!(!l.known);
    assert!(l.notes.iter().any(|n| n.contains("failed (exit status: 3)")), "{:?}", l.notes);
}
