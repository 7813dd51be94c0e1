use super::*;
use crate::policy::{Deny, NetRule};

fn policy(deny: Deny, net: Net) -> Policy {
    Policy::for_test(deny, net, Vec::new())
}

fn kernel(abi: u8, supervisor: bool) -> Kernel {
    Kernel {
        abi,
        no_supervisor: (!supervisor).then(|| "an enclosing sandbox holds the listener".into()),
        no_fd_taking: None,
        delegated: None,
    }
}

fn by<'a>(plan: &'a Plan, what: &str) -> &'a By {
    &plan.covered.iter().find(|c| c.what == what).unwrap_or_else(|| panic!("{what} not covered: {plan:#?}")).by
}

const ALL: Deny = Deny { read: true, write: true, net: true, env: true };

#[test]
fn with_a_supervisor_abi_1_to_5_leave_no_gap() {
    for abi in 1..=7 {
        for net in [Net::Denied, Net::Allow(vec![NetRule::parse("127.0.0.1:80").unwrap()])] {
            for deny in [ALL, Deny { write: true, ..Deny::default() }, Deny::default()] {
                let plan = super::plan(&policy(deny, net.clone()), &kernel(abi, true));
                let gaps: Vec<_> = plan.gaps().collect();
                assert!(gaps.is_empty(), "ABI {abi} {deny:?}: {gaps:?}");
            }
        }
    }
}

#[test]
fn each_missing_right_is_covered_by_the_supervisor_or_the_filter() {
    let p = policy(ALL, Net::Denied);
    let plan = super::plan(&p, &kernel(2, true));
    assert!(matches!(by(&plan, SIGNALS), By::Enforced(how) if how.contains("supervisor")));
    assert!(matches!(by(&plan, ABSTRACT_SOCKETS), By::Enforced(how) if how.contains("supervisor")));
    assert!(matches!(by(&plan, TRUNCATING), By::Enforced(how) if how.contains("truncate(2)")));
    assert!(matches!(by(&plan, DEVICE_IOCTL), By::Enforced(how) if how.contains("READ_FILE")));
    assert!(matches!(by(&plan, TCP_LAYER), By::Open(_)));
    assert_eq!(
        plan.mediation,
        Mediation {
            supervisor: true,
            outer: Default::default(),
            signals: true,
            pid_calls_supervised: true,
            ptrace_calls: false,
            truncate: true,
            abstract_sockets: true,
            random_ioctls: true,
            pty_peers: true,
            sockets: true,
            dns_sources: false,
            watches: true,
            write_reports: true,
            protect: false,
        }
    );
    // ABI 1: renames across directories are refused outright.
    let plan1 = super::plan(&p, &kernel(1, true));
    assert!(matches!(by(&plan1, RENAMING), By::Enforced(how) if how.contains("EXDEV")));
    // ABI 3: Landlock truncates, the supervisor does not.
    let plan3 = super::plan(&p, &kernel(3, true));
    assert!(matches!(by(&plan3, TRUNCATING), By::Enforced(how) if how.contains("TRUNCATE")));
    assert!(!plan3.mediation.truncate);
    // ABI 7: only the pid calls go to the supervisor.
    let plan7 = super::plan(&p, &kernel(7, true));
    assert!(!plan7.mediation.signals && !plan7.mediation.abstract_sockets && !plan7.mediation.random_ioctls);
    assert!(plan7.mediation.pid_calls_supervised);
}

#[test]
fn without_a_supervisor_old_abis_have_gaps_and_new_ones_none() {
    let p = policy(Deny::default(), Net::Unrestricted);
    let gaps: Vec<_> = super::plan(&p, &kernel(5, false)).gaps().map(|(w, _)| w.to_owned()).collect();
    assert_eq!(gaps, [SIGNALS], "{gaps:?}");
    assert!(super::plan(&p, &kernel(7, false)).gaps().next().is_none());
    // The pid calls are then refused by seccomp for any other process: stricter, no gap.
    let plan7 = super::plan(&p, &kernel(7, false));
    assert!(!plan7.mediation.pid_calls_supervised && !plan7.mediation.supervisor);
    let w = policy(Deny { write: true, ..Deny::default() }, Net::Unrestricted);
    let gaps: Vec<_> = super::plan(&w, &kernel(2, false)).gaps().map(|(w, _)| w.to_owned()).collect();
    assert!(gaps.iter().any(|g| g == TRUNCATING) && gaps.iter().any(|g| g == METADATA), "{gaps:?}");
}

#[test]
fn without_landlock_files_and_proc_environ_are_gaps_network_is_not() {
    let net = super::plan(&policy(Deny { net: true, ..Deny::default() }, Net::Denied), &kernel(0, true));
    assert!(net.gaps().next().is_none(), "{net:#?}");
    assert!(net.mediation.ptrace_calls);
    assert!(matches!(by(&net, PROC_FILES), By::Open(_)));
    let env = super::plan(&policy(Deny { env: true, ..Deny::default() }, Net::Unrestricted), &kernel(0, true));
    let gaps: Vec<_> = env.gaps().map(|(w, _)| w.to_owned()).collect();
    assert_eq!(gaps, [PROC_ENVIRON], "{gaps:?}");
    let files =
        super::plan(&policy(Deny { read: true, write: true, ..Deny::default() }, Net::Unrestricted), &kernel(0, true));
    let gaps: Vec<_> = files.gaps().map(|(w, _)| w.to_owned()).collect();
    for what in ["reading files outside the readable paths", "writing files outside the writable paths"] {
        assert!(gaps.iter().any(|g| g == what), "{what}: {gaps:?}");
    }
}

#[test]
fn every_covered_row_belongs_to_a_restriction_that_is_on() {
    let p = policy(Deny { net: true, ..Deny::default() }, Net::Denied);
    for abi in 0..=7 {
        for c in super::plan(&p, &kernel(abi, true)).covered {
            assert!(matches!(c.kind, None | Some(Kind::Net)), "ABI {abi}: {c:?}");
        }
    }
}

#[test]
fn without_fd_taking_inherited_inet_sockets_are_a_gap() {
    let no_take = |abi| Kernel { no_fd_taking: Some("pidfd_getfd is refused".into()), ..kernel(abi, true) };
    for net in [Net::Denied, Net::Allow(vec![NetRule::parse("127.0.0.1:80").unwrap()])] {
        let p = policy(Deny::default(), net);
        for (abi, what, other) in [(4, INHERITED_UDP, INHERITED_INET), (3, INHERITED_INET, INHERITED_UDP)] {
            let plan = super::plan(&p, &no_take(abi));
            assert!(matches!(by(&plan, what), By::Gap(needs) if needs.contains("pidfd_getfd")), "{plan:#?}");
            assert!(plan.covered.iter().all(|c| c.what != other), "{plan:#?}");
            // Taking fds, the supervisor refuses them.
            let plan = super::plan(&p, &kernel(abi, true));
            assert!(plan.covered.iter().all(|c| c.what != what), "{plan:#?}");
        }
    }
}
