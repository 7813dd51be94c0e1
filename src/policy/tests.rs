use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;

use super::*;

fn surroundings(dir: &Path, vars: &[(&str, &str)]) -> Surroundings {
    Surroundings {
        vars: vars.iter().map(|(k, v)| (OsString::from(k), OsString::from(v))).collect(),
        cwd: dir.to_path_buf(),
    }
}

fn show(policy: &Policy) -> String {
    policy.paths.iter().map(|r| format!("{} {} ({})\n", r.access, r.path.display(), r.source)).collect()
}

fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("sbx-policy-").tempdir().unwrap()
}

#[test]
fn allow_flags_imply_their_deny() {
    let dir = scratch();
    let ctx = surroundings(dir.path(), &[]);
    let p = Policy::resolve(&Cli::for_test(&["--allow-read=.", "true"]), &ctx).unwrap();
    assert_eq!(p.deny, Deny { read: true, write: false, net: false, env: false });
    let p = Policy::resolve(&Cli::for_test(&["--allow-write=.", "true"]), &ctx).unwrap();
    assert_eq!(p.deny, Deny { read: false, write: true, net: false, env: false });
    let p = Policy::resolve(&Cli::for_test(&["--allow-env=X", "true"]), &ctx).unwrap();
    assert_eq!(p.deny, Deny { read: false, write: false, net: false, env: true });
    let p = Policy::resolve(&Cli::for_test(&["--allow-net=*", "true"]), &ctx).unwrap();
    assert!(p.deny.net);
    assert_eq!(p.net, Net::Unrestricted);
    let p = Policy::resolve(&Cli::for_test(&["--deny-all", "true"]), &ctx).unwrap();
    assert_eq!(p.deny, Deny { read: true, write: true, net: true, env: true });
    assert_eq!(p.net, Net::Denied);
}

#[test]
fn no_flags_restrict_nothing() {
    let dir = scratch();
    let p = Policy::resolve(&Cli::for_test(&["true"]), &surroundings(dir.path(), &[])).unwrap();
    assert!(!p.restricts_anything());
    assert!(p.paths.is_empty(), "{}", show(&p));
}

#[test]
fn name_entries_make_an_allow_list_with_the_ip_entries() {
    let dir = scratch();
    let ctx = surroundings(dir.path(), &[]);
    let args = ["--allow-net=Example.com:443", "--allow-net=*.example.org", "--allow-net=127.0.0.1", "true"];
    let p = Policy::resolve(&Cli::for_test(&args), &ctx).unwrap();
    let Net::Allow(rules) = &p.net else { panic!("{:?}", p.net) };
    assert_eq!(rules.len(), 3);
    let names: Vec<String> = p.net.name_rules().iter().map(|r| r.to_string()).collect();
    assert_eq!(names, ["example.com:443", "*.example.org"]);
    assert!(Net::Denied.name_rules().is_empty() && Net::Unrestricted.name_rules().is_empty());
    // `*` still means all network.
    let p = Policy::resolve(&Cli::for_test(&["--allow-net=example.com", "--allow-net=*", "true"]), &ctx).unwrap();
    assert_eq!(p.net, Net::Unrestricted);
}

#[test]
fn resolver_sockets_and_name_entries_exclude_each_other() {
    let names = Net::Allow(vec![NetRule::parse("example.com").unwrap()]);
    let ips = Net::Allow(vec![NetRule::parse("127.0.0.1").unwrap()]);
    for sock in RESOLVER_SOCKETS {
        let allow = vec![PathBuf::from(sock)];
        let err = no_resolver_socket(&names, &allow).unwrap_err().to_string();
        assert!(err.contains(sock) && err.contains("bypass the DNS filter of --allow-net=example.com"), "{err}");
        no_resolver_socket(&ips, &allow).unwrap();
        no_resolver_socket(&Net::Denied, &allow).unwrap();
    }
    no_resolver_socket(&names, &[PathBuf::from("/run/app.sock")]).unwrap();
}

#[test]
fn ip_entries_make_an_allow_list() {
    let dir = scratch();
    let ctx = surroundings(dir.path(), &[]);
    let p =
        Policy::resolve(&Cli::for_test(&["--allow-net=127.0.0.1:80", "--allow-net=localhost", "true"]), &ctx).unwrap();
    assert!(p.deny.net);
    let Net::Allow(rules) = &p.net else { panic!("{:?}", p.net) };
    assert_eq!(rules.len(), 2);
    // `*` anywhere means all network, whatever else is listed.
    let p = Policy::resolve(&Cli::for_test(&["--allow-net=127.0.0.1", "--allow-net=*", "true"]), &ctx).unwrap();
    assert_eq!(p.net, Net::Unrestricted);
}

#[test]
fn malformed_entries_say_why() {
    let dir = scratch();
    let ctx = surroundings(dir.path(), &[]);
    for (entry, why) in [("1.2.3.4:70000", "1-65535"), ("10.0.0.0/40", "too long"), ("a..b", "empty label")] {
        let err = Policy::resolve(&Cli::for_test(&[&format!("--allow-net={entry}"), "true"]), &ctx).unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains(entry) && msg.contains(why), "{msg}");
    }
}

#[test]
fn allow_unix_paths_are_canonical_and_imply_deny_net() {
    let dir = scratch();
    let ctx = surroundings(dir.path(), &[]);
    std::fs::create_dir(dir.path().join("run")).unwrap();
    let p = Policy::resolve(&Cli::for_test(&["--allow-unix=run/../run/app.sock", "true"]), &ctx).unwrap();
    assert!(p.deny.net);
    assert_eq!(p.net, Net::Denied);
    let canonical = std::fs::canonicalize(dir.path()).unwrap().join("run/app.sock");
    assert_eq!(p.unix_allow, [canonical]);
    let err = Policy::resolve(&Cli::for_test(&["--allow-unix=nodir/app.sock", "true"]), &ctx).unwrap_err();
    assert!(format!("{err:#}").contains("does not exist"), "{err:#}");
}

#[test]
fn relative_and_tilde_paths_resolve() {
    let dir = scratch();
    let home = dir.path().join("home");
    std::fs::create_dir_all(home.join("proj")).unwrap();
    let ctx = surroundings(dir.path(), &[("HOME", home.to_str().unwrap())]);
    let p = Policy::resolve(&Cli::for_test(&["--allow-read=~/proj", "--allow-write=home/proj", "true"]), &ctx).unwrap();
    let canonical = std::fs::canonicalize(home.join("proj")).unwrap();
    let flagged: Vec<_> = p.paths.iter().filter(|r| matches!(r.source, Source::Flag(_))).collect();
    // The same directory read and written: one rule, the stronger one.
    assert_eq!(flagged.len(), 1, "{}", show(&p));
    assert_eq!(flagged[0].path, canonical);
    assert_eq!(flagged[0].access, Access::Write);
    assert_eq!(flagged[0].source, Source::Flag("--allow-write"));
}

#[test]
fn missing_allow_write_is_created_missing_allow_read_is_skipped() {
    let dir = scratch();
    let ctx = surroundings(dir.path(), &[]);
    let mut p = Policy::resolve(&Cli::for_test(&["--allow-write=out/a/b", "--allow-read=nope", "true"]), &ctx).unwrap();
    assert!(!dir.path().join("out").exists(), "resolving must not touch the disk");
    p.create_missing_dirs().unwrap();
    assert!(dir.path().join("out/a/b").is_dir());
    let flagged: Vec<_> = p.paths.iter().filter(|r| matches!(r.source, Source::Flag(_))).collect();
    assert_eq!(flagged.len(), 1, "{}", show(&p));
    assert!(flagged[0].is_dir);
}

#[test]
fn a_missing_allow_write_chain_is_created_only_below_home_or_cwd() {
    let dir = scratch();
    for sub in ["cwd", "home"] {
        std::fs::create_dir(dir.path().join(sub)).unwrap();
    }
    let ctx = surroundings(&dir.path().join("cwd"), &[("HOME", dir.path().join("home").to_str().unwrap())]);
    let resolve = |path: &str| Policy::resolve(&Cli::for_test(&[&format!("--allow-write={path}"), "true"]), &ctx);
    for fine in ["a/b/c", "~/.cache/tool", "../new"] {
        assert!(resolve(fine).is_ok(), "{fine}");
    }
    let err = format!("{:#}", resolve("../nope/deep/dir").unwrap_err());
    let top = dir.path().join("cwd/../nope");
    assert!(err.contains(&format!("does not exist, nor does {};", top.display())), "{err}");
    assert!(err.contains(&format!("mkdir -p {}", dir.path().join("cwd/../nope/deep/dir").display())), "{err}");
    assert!(!dir.path().join("nope").exists(), "nothing is created");
    let err = format!("{:#}", resolve("/nonexistent-sbx-test/deep").unwrap_err());
    assert!(err.contains("nor does /nonexistent-sbx-test;"), "{err}");
    // `..` in the part to create could climb out of the current directory.
    assert!(resolve("new/../../nope/deep").is_err());
    assert!(!dir.path().join("cwd/new").exists());
}

#[test]
fn symlinks_resolve_and_files_are_files() {
    let dir = scratch();
    let real = dir.path().join("real.txt");
    std::fs::write(&real, "x").unwrap();
    std::os::unix::fs::symlink(&real, dir.path().join("link")).unwrap();
    let p = Policy::resolve(&Cli::for_test(&["--allow-read=link", "true"]), &surroundings(dir.path(), &[])).unwrap();
    let r = p.paths.iter().find(|r| r.source == Source::Flag("--allow-read")).unwrap();
    assert_eq!(r.path, std::fs::canonicalize(&real).unwrap());
    assert!(!r.is_dir);
}

#[test]
fn non_utf8_paths_pass_through() {
    let dir = scratch();
    let name = OsStr::from_bytes(b"d\xffx");
    let args = vec![OsString::from("sbx"), {
        let mut a = OsString::from("--allow-write=");
        a.push(name);
        a
    }];
    let cli = Cli::parse_from_os(args.into_iter().chain([OsString::from("true")])).unwrap();
    let mut p = Policy::resolve(&cli, &surroundings(dir.path(), &[])).unwrap();
    p.create_missing_dirs().unwrap();
    let r = p.paths.iter().find(|r| r.source == Source::Flag("--allow-write")).unwrap();
    assert!(r.path.as_os_str().as_bytes().ends_with(b"d\xffx"), "{}", show(&p));
}

#[test]
fn read_defaults_never_grant_home_dot_dirs_whole() {
    let dir = scratch();
    let home = dir.path().join("home");
    for d in [".cargo/bin", ".rustup/toolchains", ".pyenv/versions", ".pyenv/shims", "bin"] {
        std::fs::create_dir_all(home.join(d)).unwrap();
    }
    std::fs::write(home.join(".cargo/credentials.toml"), "secret").unwrap();
    let home_s = home.to_str().unwrap().to_owned();
    let path = format!("{home_s}/.cargo/bin:{home_s}:/:relative:/usr/bin:{home_s}/bin");
    let ctx = surroundings(dir.path(), &[("HOME", &home_s), ("PATH", &path)]);
    let p = Policy::resolve(&Cli::for_test(&["--deny-read", "true"]), &ctx).unwrap();
    let listing = show(&p);
    let home = std::fs::canonicalize(&home).unwrap();
    for granted in [".cargo/bin", ".rustup/toolchains", ".pyenv/versions", ".pyenv/shims", "bin"] {
        assert!(p.paths.iter().any(|r| r.path == home.join(granted)), "{granted} missing:\n{listing}");
    }
    for never in ["", ".cargo", ".rustup", ".pyenv"] {
        assert!(!p.paths.iter().any(|r| r.path == home.join(never)), "{never:?} granted:\n{listing}");
    }
    assert!(!p.paths.iter().any(|r| r.path == Path::new("/")), "/ granted:\n{listing}");
    assert!(p.paths.iter().all(|r| r.access == Access::Read), "{listing}");
    for system in ["/usr", "/etc", "/proc", "/dev/null", "/tmp"] {
        let canonical = std::fs::canonicalize(system).unwrap();
        assert!(p.paths.iter().any(|r| r.path == canonical), "{system} missing:\n{listing}");
    }
    // Raw devices are not readable by default: /dev itself is not a rule.
    assert!(!p.paths.iter().any(|r| r.path == Path::new("/dev")), "{listing}");
}

#[test]
fn write_defaults_are_temp_and_safe_devices() {
    let dir = scratch();
    let p = Policy::resolve(&Cli::for_test(&["--deny-write", "true"]), &surroundings(dir.path(), &[])).unwrap();
    let listing = show(&p);
    let paths: Vec<_> = p.paths.iter().map(|r| r.path.to_string_lossy().into_owned()).collect();
    for expected in ["/tmp", "/dev/null", "/dev/zero", "/dev/full", "/dev/pts/ptmx", "/dev/shm"] {
        let canonical = std::fs::canonicalize(expected).unwrap();
        assert!(p.paths.iter().any(|r| r.path == canonical), "{expected} missing:\n{listing}");
    }
    assert!(p.paths.iter().all(|r| r.access == Access::Write), "{listing}");
    assert!(!paths.iter().any(|p| p == "/dev" || p == "/"), "{listing}");
    // Not every terminal: /dev/pts itself is not granted (only the one sbx
    // runs on, when it runs on one).
    assert!(!paths.iter().any(|p| p == "/dev/pts"), "{listing}");
}

#[test]
fn tmpdir_containing_home_is_not_a_temp_dir() {
    let dir = scratch();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let ctx = surroundings(dir.path(), &[("HOME", home.to_str().unwrap()), ("TMPDIR", dir.path().to_str().unwrap())]);
    let p = Policy::resolve(&Cli::for_test(&["--deny-write", "true"]), &ctx).unwrap();
    let tmp = std::fs::canonicalize(dir.path()).unwrap();
    assert!(!p.paths.iter().any(|r| r.path == tmp), "{}", show(&p));

    let tmpdir = dir.path().join("tmp");
    std::fs::create_dir_all(&tmpdir).unwrap();
    let ctx = surroundings(dir.path(), &[("HOME", home.to_str().unwrap()), ("TMPDIR", tmpdir.to_str().unwrap())]);
    let p = Policy::resolve(&Cli::for_test(&["--deny-write", "true"]), &ctx).unwrap();
    let tmpdir = std::fs::canonicalize(tmpdir).unwrap();
    assert!(p.paths.iter().any(|r| r.path == tmpdir && r.access == Access::Write), "{}", show(&p));
}

#[test]
fn child_env_is_filtered_under_deny_env() {
    let dir = scratch();
    let ctx = surroundings(dir.path(), &[("PATH", "/bin"), ("SECRET", "s"), ("AWS_KEY", "k")]);
    let p = Policy::resolve(&Cli::for_test(&["--allow-env=AWS_*", "true"]), &ctx).unwrap();
    let names: Vec<_> = p.child_env.iter().map(|(k, _)| k.to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["PATH", "AWS_KEY"]);
    let p = Policy::resolve(&Cli::for_test(&["--deny-write", "true"]), &ctx).unwrap();
    assert_eq!(p.child_env.len(), 3);
}

#[test]
fn empty_values_are_usage_errors() {
    for flag in ["--allow-write=", "--allow-read=", "--allow-net=", "--allow-env=", "--allow-unix="] {
        let res = Cli::parse_from_os(["sbx", flag, "true"].into_iter().map(OsString::from));
        assert_eq!(res.err(), Some(crate::exit::Outcome::Code(crate::exit::SBX_FAILED)), "{flag}");
    }
}

#[test]
fn command_after_double_dash_is_taken_verbatim() {
    let c = Cli::for_test(&["--deny-net", "--", "--deny-read", "-v"]);
    assert!(!c.deny_read && !c.verbose);
    assert_eq!(c.command, [OsString::from("--deny-read"), OsString::from("-v")]);
    let c = Cli::for_test(&["ls", "-la", "--deny-read"]);
    assert!(!c.deny_read);
    assert_eq!(c.command.len(), 3);
}

#[test]
fn refused_policy_creates_nothing() {
    let dir = scratch();
    let ctx = surroundings(dir.path(), &[]);
    assert!(Policy::resolve(&Cli::for_test(&["--allow-write=made", "--allow-net=a..b", "true"]), &ctx).is_err());
    assert!(!dir.path().join("made").exists());
}

#[test]
fn dangling_symlink_is_explained() {
    let dir = scratch();
    std::os::unix::fs::symlink(dir.path().join("nowhere"), dir.path().join("dangling")).unwrap();
    let err = Policy::resolve(&Cli::for_test(&["--allow-write=dangling", "true"]), &surroundings(dir.path(), &[]))
        .unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains("symlink") && msg.contains("nowhere"), "{msg}");
}

#[test]
fn a_private_tmp_replaces_tmp_and_tmpdir_for_reading_and_writing() {
    let dir = scratch();
    let tmpdir = scratch();
    let tmpdir_path = std::fs::canonicalize(tmpdir.path()).unwrap();
    let ctx = surroundings(dir.path(), &[("TMPDIR", tmpdir.path().to_str().unwrap())]);
    let shared = Policy::resolve(&Cli::for_test(&["--deny-read", "--deny-write", "true"]), &ctx).unwrap();
    assert!(shared.paths.iter().any(|r| r.path == Path::new("/tmp")), "{}", show(&shared));
    assert_eq!(shared.temp, Temp::Shared);
    let p = Policy::resolve(&Cli::for_test(&["--deny-read", "--deny-write", "--private-tmp", "true"]), &ctx).unwrap();
    assert!(!p.paths.iter().any(|r| r.path == Path::new("/tmp") || r.path == tmpdir_path), "{}", show(&p));
    let Temp::Private(private) = &p.temp else { panic!("{:?}", p.temp) };
    assert_eq!(private.parent, tmpdir_path, "made in $TMPDIR");
    assert_eq!(private.source, Source::Flag("--private-tmp"));
    assert_eq!(private.keep, None);
}

#[test]
fn a_private_tmp_is_refused_where_writes_are_not_restricted() {
    let dir = scratch();
    let ctx = surroundings(dir.path(), &[]);
    let err = Policy::resolve(&Cli::for_test(&["--private-tmp", "true"]), &ctx).unwrap_err();
    assert!(format!("{err:#}").contains("add --deny-write"), "{err:#}");
    // Implied by --allow-write, it is enough.
    let p = Policy::resolve(&Cli::for_test(&["--allow-write=.", "--private-tmp", "true"]), &ctx).unwrap();
    assert!(matches!(p.temp, Temp::Private(_)));
}

#[test]
fn creating_the_private_tmp_grants_it_and_names_it_in_the_childs_environment() {
    let dir = scratch();
    let parent = scratch();
    let ctx = surroundings(dir.path(), &[("TMPDIR", parent.path().to_str().unwrap()), ("TMP", "/elsewhere")]);
    let mut p = Policy::resolve(&Cli::for_test(&["--deny-write", "--private-tmp", "true"]), &ctx).unwrap();
    let made = p.create_private_tmp().unwrap().unwrap();
    let path = made.path().to_path_buf();
    assert!(path.is_dir() && path.starts_with(std::fs::canonicalize(parent.path()).unwrap()));
    let rule = p.paths.iter().find(|r| r.path == path).unwrap_or_else(|| panic!("{}", show(&p)));
    assert_eq!((rule.access, &rule.source), (Access::Write, &Source::Flag("--private-tmp")));
    for var in TEMP_VARS {
        let values: Vec<_> = p.child_env.iter().filter(|(k, _)| k == var).map(|(_, v)| v.clone()).collect();
        assert_eq!(values, [path.clone().into_os_string()], "{var}");
    }
    drop(made);
    assert!(!path.exists());
}
