use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::*;
use crate::policy::{Kind, Policy, Source};

/// A scratch tree: `home/`, `state/`, `config/`, `proj/sub/`; surroundings
/// with HOME and XDG_* pointing into it and the current directory `proj/sub`.
struct Scratch {
    _dir: tempfile::TempDir,
    root: PathBuf,
    ctx: Surroundings,
}

impl Scratch {
    fn new(extra_vars: &[(&str, &str)]) -> Self {
        let dir = tempfile::Builder::new().prefix("sbx-config-").tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        for d in ["home", "state", "config", "proj/sub"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        let mut vars: Vec<(OsString, OsString)> = vec![
            ("HOME".into(), root.join("home").into()),
            ("XDG_STATE_HOME".into(), root.join("state").into()),
            ("XDG_CONFIG_HOME".into(), root.join("config").into()),
        ];
        vars.extend(extra_vars.iter().map(|(k, v)| (OsString::from(k), OsString::from(v))));
        let ctx = Surroundings { vars, cwd: root.join("proj/sub") };
        Self { _dir: dir, root, ctx }
    }

    fn write(&self, relative: &str, text: &str) -> PathBuf {
        let path = self.root.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    fn project(&self, text: &str) -> PathBuf {
        self.write("proj/sbx.toml", text)
    }

    fn user(&self, text: &str) -> PathBuf {
        self.write("config/sbx/config.toml", text)
    }

    fn resolve(&self, args: &[&str]) -> Result<Resolved, ConfigError> {
        let cli = Cli::for_test(args);
        Config::load(&cli, &self.ctx)?.resolve(&cli, &self.ctx)
    }

    /// Resolves, expecting no error and no refusal.
    #[track_caller]
    fn request(&self, args: &[&str]) -> Request {
        let resolved = self.resolve(args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
        if let Some(refusal) = resolved.refusal {
            panic!("{args:?} refused: {refusal}");
        }
        resolved.request
    }

    #[track_caller]
    fn error(&self, args: &[&str]) -> String {
        match self.resolve(args) {
            Ok(r) => panic!("{args:?} resolved: {:?}", r.request),
            Err(e) => e.to_string(),
        }
    }

    fn trust(&self, path: &Path) {
        let file = ConfigFile::read(Layer::Project, path).unwrap();
        trust::record(file.path.as_ref().unwrap(), &file.sha256, &self.ctx).unwrap();
    }
}

fn profile_source(source: &Source) -> (String, &'static str, Option<usize>) {
    match source {
        Source::Profile(key) => (key.profile.clone(), key.key, key.at.as_ref().map(|(_, l)| *l)),
        other => panic!("not a profile source: {other:?}"),
    }
}

fn values(list: &[Sourced<PathBuf>]) -> Vec<PathBuf> {
    list.iter().map(|e| e.value.clone()).collect()
}

#[test]
fn builtin_profiles_parse_and_are_the_documented_ones() {
    let builtin = ConfigFile::builtin().unwrap();
    let names: Vec<&str> = builtin.profiles().map(Profile::name).collect();
    assert_eq!(names, ["build", "cargo", "npm", "offline", "pip", "readonly", "strict"]);
    let s = Scratch::new(&[]);
    let r = s.request(&["-p", "build", "true"]);
    assert!(r.denied(Kind::Write).is_some() && r.denied(Kind::Net).is_some());
    assert!(r.denied(Kind::Read).is_none() && r.denied(Kind::Env).is_none());
    assert_eq!(values(&r.allow_write), std::slice::from_ref(&s.ctx.cwd), "built-in `.` is the current directory");
    let r = s.request(&["-p", "strict", "true"]);
    assert!(Kind::ALL.iter().all(|&k| r.denied(k).is_some()));
    let r = s.request(&["-p", "offline", "true"]);
    assert!(r.denied(Kind::Net).is_some() && r.denied(Kind::Write).is_none());
    let r = s.request(&["-p", "readonly", "true"]);
    assert!(r.denied(Kind::Write).is_some() && r.allow_write.is_empty());
}

#[test]
fn every_key_parses_with_its_line() {
    let s = Scratch::new(&[("CACHE", "/var/cache/x")]);
    let path = s.user(
        r#"
[profile.all]
deny = ["read", "write", "net", "env"]
deny_all = true
allow_read = ["/usr/share"]
allow_write = ["out", "~/.cache", "${CACHE}/sub"]
allow_net = ["127.0.0.1:8080"]
allow_env = ["CARGO_*"]
allow_unix = ["/run/app.sock"]
extends = ["offline"]
best_effort = true
"#,
    );
    let r = s.request(&["-p", "all", "true"]);
    for kind in Kind::ALL {
        let reason = r.denied(kind).unwrap();
        let (profile, key, line) = profile_source(&reason.source);
        // `deny` (line 3) comes before `deny_all`; net was denied first by `offline`.
        if kind == Kind::Net {
            assert_eq!((profile.as_str(), key, line), ("offline", "deny", None));
        } else {
            assert_eq!((profile.as_str(), key, line), ("all", "deny", Some(3)));
        }
    }
    let dir = path.parent().unwrap();
    assert_eq!(values(&r.allow_read), [PathBuf::from("/usr/share")]);
    assert_eq!(
        values(&r.allow_write),
        [dir.join("out"), s.root.join("home/.cache"), PathBuf::from("/var/cache/x/sub")],
        "relative paths from the file's directory, ~ and ${{VAR}} expanded"
    );
    assert_eq!(profile_source(&r.allow_write[0].source), ("all".into(), "allow_write", Some(6)));
    assert_eq!(values(&r.allow_unix), [PathBuf::from("/run/app.sock")]);
    assert_eq!(r.allow_net[0].value, "127.0.0.1:8080");
    assert_eq!(profile_source(&r.allow_net[0].source), ("all".into(), "allow_net", Some(7)));
    assert_eq!(r.allow_env[0].value, "CARGO_*");
    assert_eq!(profile_source(r.best_effort.as_ref().unwrap()), ("all".into(), "best_effort", Some(11)));
    match &r.allow_write[0].source {
        Source::Profile(key) => assert_eq!(key.at.as_ref().unwrap().0, path),
        other => panic!("{other:?}"),
    }
}

#[test]
fn errors_name_file_line_and_key() {
    let s = Scratch::new(&[]);
    let cases: &[(&str, &str, &str)] = &[
        (
            "[profile.x]\nalow_write = [\"a\"]\n",
            ":2:1: profile.x.alow_write: unknown field `alow_write`",
            "expected one of",
        ),
        ("[profile.x]\ndeny = [\"wrte\"]\n", ":2:9: profile.x.deny: unknown variant `wrte`", "`write`"),
        ("[profile.x]\nallow_write = \"a\"\n", ":2:15: profile.x.allow_write: invalid type: string", "sequence"),
        ("[profile.x]\nallow_read = [\n  \"a\",\n  3,\n]\n", ":4:3: profile.x.allow_read: invalid type: integer", ""),
        ("[profile.x]\ndeny_all = \"yes\"\n", ":2:12: profile.x.deny_all: invalid type", "boolean"),
        ("[profile.x]\nbest_effort = 1\n", ":2:15: profile.x.best_effort: invalid type", "boolean"),
        ("[profiles.x]\n", ":1:2: profiles.x: unknown field `profiles`", "`profile`"),
        ("[profile.x]\nallow_env = [\"\"]\n", ":2:14: profile.x.allow_env: an empty allow_env entry", ""),
        ("[profile.\"a b\"]\n", ":1:10: ", "invalid character ' ' in profile name"),
        ("[profile.x]\nextends = [\"a/b\"]\n", ":2:12: profile.x.extends: invalid character '/'", ""),
        ("[profile.x]\nallow_read = []\nallow_read = []\n", ":3:1: profile.x.allow_read: duplicate key", ""),
        ("[profile.x\n", ":1:", "unclosed table"),
        (
            "[profile.x]\nallow_write = [\"${NOPE}/a\"]\n",
            ":2:16: profile.x.allow_write: \"${NOPE}/a\": ${NOPE} is not set",
            "",
        ),
        ("[profile.x]\nallow_write = [\"${A-B}\"]\n", ":2:16:", "not a variable name"),
        ("[profile.x]\nallow_write = [\"${OPEN\"]\n", ":2:16:", "without a closing"),
        ("[profile.x]\nallow_read = [\"~root/x\"]\n", ":2:15:", "~user is not supported"),
    ];
    for (text, expected, also) in cases {
        let path = s.write("named.toml", text);
        let err = s.error(&["--config", path.to_str().unwrap(), "-p", "x", "true"]);
        let want = format!("{}{expected}", path.display());
        assert!(err.contains(&want), "{text:?}:\n  got  {err}\n  want {want}");
        assert!(err.contains(also), "{text:?}: {err} lacks {also:?}");
        assert!(err.contains("fix the file"), "{err}");
    }
}

#[test]
fn a_broken_file_is_an_error_even_when_no_profile_is_asked_for() {
    // A misspelt [profile.default] must not be skipped as "not selected".
    let s = Scratch::new(&[]);
    s.user("[profile.default]\ndeny = [\"net\"]\nalow_write = [\".\"]\n");
    let err = s.error(&["true"]);
    assert!(err.contains("config.toml:3:1: profile.default.alow_write"), "{err}");
}

#[test]
fn an_empty_variable_is_refused_not_expanded_to_nothing() {
    let s = Scratch::new(&[("EMPTY", "")]);
    let path = s.write("named.toml", "[profile.x]\nallow_write = [\"${EMPTY}/etc\"]\n");
    let err = s.error(&["--config", path.to_str().unwrap(), "-p", "x", "true"]);
    assert!(err.contains("${EMPTY} is empty"), "{err}");
}

#[test]
fn without_home_a_tilde_path_is_an_error() {
    let s = Scratch::new(&[]);
    let path = s.write("named.toml", "[profile.x]\nallow_read = [\"~/x\"]\n");
    let cli = Cli::for_test(&["--config", path.to_str().unwrap(), "-p", "x", "true"]);
    let mut ctx = s.ctx.clone();
    ctx.vars.retain(|(k, _)| k != "HOME");
    let err = Config::load(&cli, &ctx).unwrap().resolve(&cli, &ctx).unwrap_err().to_string();
    assert!(err.contains(":2:15:") && err.contains("HOME is not set"), "{err}");
}

#[test]
fn extends_applies_bases_first_and_sources_name_the_defining_profile() {
    let s = Scratch::new(&[]);
    s.user(
        r#"[profile.base]
allow_write = ["/base"]
best_effort = true

[profile.mid]
extends = ["base"]
allow_write = ["/mid"]
best_effort = false

[profile.top]
extends = ["mid", "offline"]
allow_write = ["/top"]
"#,
    );
    let r = s.request(&["-p", "top", "true"]);
    assert_eq!(values(&r.allow_write), [PathBuf::from("/base"), "/mid".into(), "/top".into()]);
    assert_eq!(profile_source(&r.allow_write[0].source), ("base".into(), "allow_write", Some(2)));
    assert!(r.denied(Kind::Net).is_some(), "offline's deny");
    assert!(r.best_effort.is_none(), "mid's best_effort = false overrides base's true");
    let r = s.request(&["-p", "base", "true"]);
    assert!(r.best_effort.is_some());
}

#[test]
fn extends_cycles_are_rejected() {
    let s = Scratch::new(&[]);
    s.user("[profile.a]\nextends = [\"a\"]\n");
    let err = s.error(&["-p", "a", "true"]);
    assert!(err.contains("config.toml:2:") && err.contains("cycle (a → a)"), "{err}");
    s.user("[profile.a]\nextends = [\"b\"]\n\n[profile.b]\nextends = [\"c\"]\n\n[profile.c]\nextends = [\"a\"]\n");
    let err = s.error(&["-p", "a", "true"]);
    assert!(err.contains("config.toml:8:") && err.contains("cycle (a → b → c → a)"), "{err}");
    // A diamond is no cycle.
    s.user("[profile.a]\nextends = [\"b\", \"c\"]\n[profile.b]\nextends = [\"d\"]\n[profile.c]\nextends = [\"d\"]\n[profile.d]\n");
    let r = s.request(&["-p", "a", "true"]);
    assert!(r.allow_write.is_empty());
    // A wide diamond resolves quickly: each base is applied once.
    let mut text = String::from("[profile.p0]\nallow_write = [\"/shared\"]\n");
    for i in 1..40 {
        text.push_str(&format!("[profile.p{i}]\nextends = [\"p{}\", \"p{}\"]\n", i - 1, i - 1));
    }
    s.user(&text);
    let r = s.request(&["-p", "p39", "true"]);
    assert_eq!(values(&r.allow_write), [PathBuf::from("/shared")]);
}

#[test]
fn unknown_profiles_and_bases_are_errors_that_list_the_profiles() {
    let s = Scratch::new(&[]);
    s.user("[profile.a]\nextends = [\"nope\"]\n");
    let err = s.error(&["-p", "a", "true"]);
    assert!(err.contains("config.toml:2: profile a extends \"nope\"") && err.contains("build"), "{err}");
    let err = s.error(&["-p", "missing", "true"]);
    assert!(err.contains("no profile named \"missing\" (asked for by -p)") && err.contains("a, build"), "{err}");
}

#[test]
fn selection_flag_then_variable_then_default() {
    let s = Scratch::new(&[("SBX_PROFILE", "offline")]);
    s.user("[profile.default]\ndeny = [\"env\"]\n");
    let r = s.resolve(&["-p", "readonly", "true"]).unwrap();
    assert_eq!(r.profile.as_ref().map(|p| (p.name.as_str(), p.by)), Some(("readonly", SelectedBy::Flag)));
    let r = s.resolve(&["true"]).unwrap();
    assert_eq!(r.profile.as_ref().map(|p| (p.name.as_str(), p.by)), Some(("offline", SelectedBy::Env)));
    let s = Scratch::new(&[("SBX_PROFILE", "")]);
    s.user("[profile.default]\ndeny = [\"env\"]\n");
    let r = s.resolve(&["true"]).unwrap();
    assert_eq!(r.profile.as_ref().map(|p| (p.name.as_str(), p.by)), Some(("default", SelectedBy::Default)));
    assert!(r.request.denied(Kind::Env).is_some());
    // No default profile and none named: flags only.
    let s = Scratch::new(&[]);
    let r = s.resolve(&["--deny-net", "true"]).unwrap();
    assert!(r.profile.is_none() && r.request.denied(Kind::Net).is_some());
    let err = Scratch::new(&[("SBX_PROFILE", "nope")]).error(&["true"]);
    assert!(err.contains("asked for by SBX_PROFILE"), "{err}");
}

#[test]
fn later_layers_replace_a_profile_whole() {
    let s = Scratch::new(&[]);
    s.user("[profile.build]\nallow_write = [\"/user\"]\n[profile.mine]\ndeny = [\"env\"]\n");
    let r = s.request(&["-p", "build", "true"]);
    assert_eq!(values(&r.allow_write), [PathBuf::from("/user")], "the built-in build is replaced, not merged");
    assert!(r.denied(Kind::Net).is_none());
    let project = s.project("[profile.build]\nallow_write = [\"/project\"]\n");
    s.trust(&project);
    let r = s.request(&["-p", "build", "true"]);
    assert_eq!(values(&r.allow_write), [PathBuf::from("/project")]);
    // --config replaces the project file; the user's file stays.
    let named = s.write("named.toml", "[profile.other]\n");
    let r = s.request(&["--config", named.to_str().unwrap(), "-p", "build", "true"]);
    assert_eq!(values(&r.allow_write), [PathBuf::from("/user")]);
    // --no-config: built-ins only.
    let r = s.request(&["--no-config", "-p", "build", "true"]);
    assert_eq!(values(&r.allow_write), std::slice::from_ref(&s.ctx.cwd));
    assert!(s.resolve(&["--no-config", "-p", "mine", "true"]).is_err());
}

#[test]
fn flags_tighten_and_add_exceptions_never_loosen() {
    let s = Scratch::new(&[]);
    s.user("[profile.p]\ndeny = [\"write\"]\nallow_write = [\"/p\"]\n");
    let r = s.request(&["-p", "p", "--deny-net", "--allow-write=/flag", "--allow-env=X", "true"]);
    assert!(r.denied(Kind::Write).is_some() && r.denied(Kind::Net).is_some() && r.denied(Kind::Env).is_some());
    assert_eq!(values(&r.allow_write), [PathBuf::from("/p"), "/flag".into()]);
    assert_eq!(r.allow_write[1].source, Source::Flag("--allow-write"));
    assert_eq!(profile_source(&r.denied(Kind::Write).unwrap().source).0, "p");
    // A flag cannot lift the profile's deny.
    let r = s.request(&["-p", "p", "--allow-net=*", "true"]);
    assert!(r.denied(Kind::Write).is_some());
    // --deny-net under a profile that allows all network: warned about.
    s.user("[profile.open]\nallow_net = [\"*\"]\n");
    let resolved = s.resolve(&["-p", "open", "--deny-net", "true"]).unwrap();
    assert!(resolved.warnings.iter().any(|w| w.contains("--deny-net has no effect")), "{:?}", resolved.warnings);
}

#[test]
fn policy_from_a_profile_carries_the_profile_source() {
    let s = Scratch::new(&[]);
    std::fs::create_dir_all(s.root.join("config/sbx/data")).unwrap();
    s.user("[profile.p]\nallow_read = [\"data\"]\n");
    let r = s.request(&["-p", "p", "true"]);
    let policy = Policy::build(&r, &s.ctx).unwrap();
    let rule = policy.paths.iter().find(|r| r.path == s.root.join("config/sbx/data")).unwrap();
    assert_eq!(
        rule.source.to_string(),
        format!("profile p: allow_read, {}:2", s.root.join("config/sbx/config.toml").display())
    );
}

#[test]
fn an_untrusted_project_file_is_refused_only_when_it_would_apply() {
    let s = Scratch::new(&[]);
    let project = s.project("[profile.proj]\ndeny = [\"net\"]\n");
    // Only flags, no default profile in it: the file does not matter.
    let r = s.resolve(&["--deny-write", "true"]).unwrap();
    assert!(r.refusal.is_none() && r.profile.is_none());
    // A built-in it does not define: not used, not refused.
    assert!(s.resolve(&["-p", "offline", "true"]).unwrap().refusal.is_none());
    // Its own profile: refused until trusted.
    let refusal = s.resolve(&["-p", "proj", "true"]).unwrap().refusal.unwrap();
    assert!(matches!(refusal, ConfigError::Untrusted { .. }), "{refusal}");
    let text = refusal.to_string();
    assert!(text.contains("is not trusted") && text.contains("sbx trust") && text.contains("--no-config"), "{text}");
    s.trust(&project);
    assert!(s.resolve(&["-p", "proj", "true"]).unwrap().refusal.is_none());
    // Edited: refused again, as changed.
    s.project("[profile.proj]\ndeny = [\"net\"]\nallow_net = [\"*\"]\n");
    let refusal = s.resolve(&["-p", "proj", "true"]).unwrap().refusal.unwrap();
    assert!(matches!(refusal, ConfigError::Changed { .. }), "{refusal}");
    // A default profile in it applies to flag-only runs, so it is refused.
    s.project("[profile.default]\ndeny = [\"net\"]\n");
    assert!(s.resolve(&["--deny-write", "true"]).unwrap().refusal.is_some());
    // A user profile extending a base the project replaces uses the project file.
    s.user("[profile.mine]\nextends = [\"base\"]\n[profile.base]\n");
    s.project("[profile.base]\nallow_write = [\"/\"]\n");
    assert!(s.resolve(&["-p", "mine", "true"]).unwrap().refusal.is_some());
}

#[test]
fn user_and_named_files_need_no_trust() {
    let s = Scratch::new(&[]);
    s.user("[profile.u]\ndeny = [\"net\"]\n");
    assert!(s.resolve(&["-p", "u", "true"]).unwrap().refusal.is_none());
    let named = s.write("proj/other.toml", "[profile.n]\ndeny = [\"net\"]\n");
    assert!(s.resolve(&["--config", named.to_str().unwrap(), "-p", "n", "true"]).unwrap().refusal.is_none());
    let err = s.error(&["--config", "/nonexistent/sbx.toml", "-p", "n", "true"]);
    assert!(err.contains("no such file"), "{err}");
}

#[test]
fn the_nearest_project_file_wins() {
    let s = Scratch::new(&[]);
    s.project("[profile.outer]\n");
    let inner = s.write("proj/sub/sbx.toml", "[profile.inner]\n");
    assert_eq!(find_project_file(&s.ctx.cwd), Some(inner));
}

#[test]
fn a_damaged_trust_record_is_an_error_not_trust() {
    let s = Scratch::new(&[]);
    s.project("[profile.proj]\n");
    s.write("state/sbx/trusted.toml", "this is not toml [");
    let err = s.error(&["-p", "proj", "true"]);
    assert!(err.contains("damaged") && err.contains("trusted.toml"), "{err}");
}

#[test]
fn trust_record_keeps_one_entry_per_file() {
    let s = Scratch::new(&[]);
    let a = s.project("[profile.a]\n");
    s.trust(&a);
    s.project("[profile.a]\ndeny = [\"net\"]\n");
    s.trust(&a);
    let text = std::fs::read_to_string(s.root.join("state/sbx/trusted.toml")).unwrap();
    assert_eq!(text.matches("[[trusted]]").count(), 1, "{text}");
    assert!(s.resolve(&["-p", "a", "true"]).unwrap().refusal.is_none());
}

#[test]
fn schema_locate_finds_keys_in_multiline_values() {
    let text = "[profile.x]\nallow_write = [\n  \"a=b\",\n  3,\n]\n";
    let at = text.find('3').unwrap();
    let pos = schema::locate(text, at);
    assert_eq!((pos.line, pos.column, pos.key.as_deref()), (4, 3, Some("profile.x.allow_write")));
}

#[test]
fn allow_registries_denies_the_network_and_allows_the_configured_hosts() {
    // No PATH: no tool can be asked; the files decide.
    let s = Scratch::new(&[]);
    s.write("home/.npmrc", "registry=https://registry.example.com/\n//registry.example.com/:_authToken=TOKEN\n");
    let r = s.request(&["-p", "npm", "true"]);
    let reason = r.denied(Kind::Net).unwrap();
    assert!(!reason.implied);
    assert_eq!(r.allow_net.len(), 1, "{:?}", r.allow_net);
    assert_eq!(r.allow_net[0].value, "registry.example.com:443");
    assert_eq!(
        r.allow_net[0].source.to_string(),
        "profile npm: allow_registries (built in), found in ~/.npmrc: registry"
    );
    let policy = Policy::build(&r, &s.ctx).unwrap();
    assert_eq!(policy.net.name_rules().len(), 1);

    // In a user profile, with its line, next to other keys.
    let path = s.user("[profile.web]\nextends = [\"build\"]\nallow_registries = [\"npm\"]\n");
    let r = s.request(&["-p", "web", "true"]);
    assert!(r.denied(Kind::Write).is_some());
    assert_eq!(
        r.allow_net[0].source.to_string(),
        format!("profile web: allow_registries, {}:3, found in ~/.npmrc: registry", path.display())
    );
}

#[test]
fn a_tool_whose_registries_cannot_be_told_refuses_unless_entries_are_given() {
    let s = Scratch::new(&[]);
    let resolved = s.resolve(&["-p", "cargo", "true"]).unwrap();
    let refusal = resolved.refusal.unwrap().to_string();
    assert!(refusal.starts_with("profile cargo allows cargo's registries (allow_registries), but sbx cannot tell"));
    assert!(refusal.contains("~/.cargo/config.toml (none)"), "{refusal}");
    assert!(refusal.contains("[source.crates-io] replace-with = \"mirror\""), "{refusal}");
    // The fix it names works: an --allow-net entry, and a warning.
    let resolved = s.resolve(&["-p", "cargo", "--allow-net=registry.example.com", "true"]).unwrap();
    assert!(resolved.refusal.is_none());
    assert!(resolved.warnings.iter().any(|w| w.contains("the --allow-net and allow_net entries given")));
}

#[test]
fn allow_registries_names_only_known_tools() {
    let s = Scratch::new(&[]);
    s.user("[profile.x]\nallow_registries = [\"gem\"]\n");
    let err = s.resolve(&["-p", "x", "true"]).unwrap_err().to_string();
    assert!(err.contains(":2:") && err.contains("unknown variant `gem`"), "{err}");
}

#[test]
fn private_tmp_and_keep_tmp_keys_name_their_lines() {
    let s = Scratch::new(&[]);
    s.user("[profile.tmp]\ndeny = [\"write\"]\nprivate_tmp = true\nkeep_tmp = true\n");
    let r = s.request(&["-p", "tmp", "true"]);
    assert_eq!(profile_source(r.private_tmp.as_ref().unwrap()), ("tmp".into(), "private_tmp", Some(3)));
    assert_eq!(profile_source(r.keep_tmp.as_ref().unwrap()), ("tmp".into(), "keep_tmp", Some(4)));
    let r = s.request(&["--no-config", "--deny-write", "--private-tmp", "true"]);
    assert_eq!(r.private_tmp, Some(Source::Flag("--private-tmp")));
    // `false` turns nothing on.
    s.user("[profile.off]\ndeny = [\"write\"]\nprivate_tmp = false\n");
    assert_eq!(s.request(&["-p", "off", "true"]).private_tmp, None);
}
