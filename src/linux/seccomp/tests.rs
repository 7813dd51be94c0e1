use std::ffi::OsString;
use std::path::PathBuf;

use super::*;
use crate::env::EnvPolicy;
use crate::policy::Deny;

fn policy(net: Net) -> Policy {
    Policy {
        deny: Deny { net: net == Net::Denied, ..Deny::default() },
        paths: Vec::new(),
        net,
        unix_allow: Vec::new(),
        quiet: false,
        env: EnvPolicy::Inherit,
        best_effort: false,
        command: vec![OsString::from("true")],
        cwd: PathBuf::from("/"),
        child_env: Vec::new(),
    }
}

fn table(rules: &[Rule]) -> String {
    rules.iter().map(|r| format!("{r}\n")).collect()
}

#[test]
fn deny_net_rule_table() {
    let rules = rules(&policy(Net::Denied));
    let t = table(&rules);
    let socket = rules.iter().find(|r| r.syscall == "socket").unwrap_or_else(|| panic!("{t}"));
    assert_eq!(socket.when, When::Arg0Not(libc::AF_UNIX as u64), "{t}");
    assert_eq!(socket.errno, libc::EPERM, "{t}");
    let pair = rules.iter().find(|r| r.syscall == "socketpair").unwrap_or_else(|| panic!("{t}"));
    assert_eq!(pair.when, When::Arg0Not(libc::AF_UNIX as u64), "{t}");
    for io in ["io_uring_setup", "io_uring_enter", "io_uring_register"] {
        let r = rules.iter().find(|r| r.syscall == io).unwrap_or_else(|| panic!("{io} missing:\n{t}"));
        assert_eq!(r.when, When::Always, "{t}");
    }
}

#[test]
fn no_restriction_no_filter() {
    let rules = rules(&policy(Net::Unrestricted));
    assert!(rules.is_empty(), "{}", table(&rules));
    assert!(compile(&rules).unwrap().is_none());
}

#[test]
fn compiles_for_every_entry() {
    let rules = rules(&policy(Net::Denied));
    let program = compile(&rules).unwrap().unwrap_or_else(|| panic!("no program for\n{}", table(&rules)));
    assert!(!program.is_empty());
    // Three architectures on x86_64, each with socket/socketpair/io_uring checks.
    #[cfg(target_arch = "x86_64")]
    assert!(program.len() > 30, "suspiciously short filter ({} instructions) for\n{}", program.len(), table(&rules));
}

#[test]
fn unknown_syscall_is_an_error() {
    let rules = [Rule { syscall: "no_such_syscall", when: When::Always, errno: libc::EPERM, reason: "test" }];
    let err = compile(&rules).err().map(|e| format!("{e:#}")).unwrap_or_default();
    assert!(err.contains("no_such_syscall"), "{err}");
}
