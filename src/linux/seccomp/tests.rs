use super::*;
use crate::policy::{Deny, NetRule};

fn policy(net: Net) -> Policy {
    Policy::for_test(Deny { net: net.is_restricted(), ..Deny::default() }, net, Vec::new())
}

fn allow(entries: &[&str]) -> Net {
    Net::Allow(entries.iter().map(|e| NetRule::parse(e).unwrap()).collect())
}

/// The mediation of a kernel with Landlock ABI 7 and a supervisor (or none).
fn mediation(supervisor: bool) -> Mediation {
    Mediation {
        supervisor,
        pid_calls_supervised: supervisor,
        sockets: supervisor,
        watches: supervisor,
        ..Mediation::default()
    }
}

fn rules_for(policy: &Policy) -> Vec<Rule> {
    rules(policy, &mediation(true))
}

fn table(rules: &[Rule]) -> String {
    rules.iter().map(|r| format!("{r}\n")).collect()
}

fn find<'a>(rules: &'a [Rule], syscall: &str, entries: Entries) -> &'a Rule {
    rules
        .iter()
        .find(|r| r.syscall == syscall && r.entries == entries)
        .unwrap_or_else(|| panic!("no {syscall} rule for {entries}:\n{}", table(rules)))
}

/// Evaluates the socket() rules the way the filter does: EPERM if any fires.
fn socket_denied(rules: &[Rule], args: [u64; 3]) -> bool {
    rules.iter().filter(|r| r.syscall == "socket").any(|r| match r.when {
        When::Always => true,
        When::Arg(n, cmp) => {
            let a = args[n as usize];
            match cmp {
                Cmp::Eq(v) => a == v,
                Cmp::Ne(v) => a != v,
                Cmp::Gt(v) => a > v,
                Cmp::MaskedEq { mask, value } => a & mask == value,
            }
        }
        When::Both(..) => panic!("socket rules compare one argument: {r}"),
    })
}

#[test]
fn deny_net_rule_table() {
    // Without a supervisor that can take the command's sockets: every
    // family but unix refused outright.
    let strict = rules(&policy(Net::Denied), &mediation(false));
    let socket = find(&strict, "socket", Entries::ALL);
    assert_eq!(socket.when, When::Arg(0, Cmp::Ne(libc::AF_UNIX as u64)), "{}", table(&strict));
    assert_eq!(socket.action, Action::Errno(libc::EPERM), "{}", table(&strict));
    let rules = rules_for(&policy(Net::Denied));
    let t = table(&rules);
    let pair = find(&rules, "socketpair", Entries::ALL);
    assert_eq!(pair.when, When::Arg(0, Cmp::Ne(libc::AF_UNIX as u64)), "{t}");
    for io in ["io_uring_setup", "io_uring_enter", "io_uring_register"] {
        assert_eq!(find(&rules, io, Entries::ALL).when, When::Always, "{t}");
    }
    // Unix pathname sockets are mediated even without --allow-net.
    for syscall in ["connect", "bind"] {
        assert_eq!(find(&rules, syscall, Entries::NATIVE_X32).action, Action::Notify, "{t}");
    }
    assert_eq!(find(&rules, "sendto", Entries::NATIVE_X32).when, When::Arg(4, Cmp::Ne(0)), "{t}");
    assert!(needs_supervisor(&rules));
}

#[test]
fn per_address_rule_table() {
    let rules = rules_for(&policy(allow(&["127.0.0.1:80"])));
    let t = table(&rules);
    for syscall in ["connect", "bind", "sendto"] {
        assert_eq!(find(&rules, syscall, Entries::NATIVE_X32).action, Action::Notify, "{t}");
    }
    for syscall in ["sendmsg", "sendmmsg"] {
        assert_eq!(find(&rules, syscall, Entries::NATIVE).action, Action::Notify, "{t}");
        assert_eq!(find(&rules, syscall, Entries::X32).action, Action::Errno(libc::EPERM), "{t}");
    }
    // send() on a connected socket (NULL destination) is never intercepted.
    assert_eq!(find(&rules, "sendto", Entries::NATIVE_X32).when, When::Arg(4, Cmp::Ne(0)), "{t}");
    for syscall in ["connect", "bind", "sendto", "sendmsg", "sendmmsg", "socketcall"] {
        let r = find(&rules, syscall, Entries::COMPAT);
        assert_eq!((r.when, r.action), (When::Always, Action::Errno(libc::EPERM)), "{t}");
    }
    assert!(!rules.iter().any(|r| r.syscall.starts_with("recv")), "{t}");
}

#[test]
fn per_address_socket_rules_allow_exactly_unix_inet_stream_dgram() {
    let rules = rules_for(&policy(allow(&["10.0.0.0/8"])));
    let (unix, inet, inet6) = (libc::AF_UNIX as u64, libc::AF_INET as u64, libc::AF_INET6 as u64);
    let (stream, dgram) = (libc::SOCK_STREAM as u64, libc::SOCK_DGRAM as u64);
    let flags = (libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC) as u64;
    for family in 0..64u64 {
        for ty in 0..16u64 {
            for proto in 0..300u64 {
                let allowed = [unix, inet, inet6].contains(&family)
                    && [stream, dgram].contains(&ty)
                    && [0, libc::IPPROTO_TCP as u64, libc::IPPROTO_UDP as u64].contains(&proto);
                assert_eq!(
                    !socket_denied(&rules, [family, ty | flags, proto]),
                    allowed,
                    "socket({family}, {ty}, {proto})\n{}",
                    table(&rules)
                );
            }
        }
    }
    assert!(socket_denied(&rules, [inet | 1 << 32, stream, 0]), "high bits must not sneak through");
    assert!(socket_denied(&rules, [inet, stream, 6 | 1 << 40]));
    assert!(rules.iter().filter(|r| r.syscall == "socket").count() < 20, "{}", table(&rules));
}

#[test]
fn without_a_supervisor_nothing_notifies() {
    let rules = rules(&policy(Net::Denied), &mediation(false));
    assert!(!needs_supervisor(&rules), "{}", table(&rules));
    assert!(rules.iter().any(|r| r.syscall == "socket"), "{}", table(&rules));
}

#[test]
fn without_restrictions_only_the_baseline_and_the_process_scope() {
    let table_ = rules_for(&policy(Net::Unrestricted));
    let rules = table_;
    assert_eq!(rules[..baseline().len()], baseline()[..], "{}", table(&rules));
    let rest = &rules[baseline().len()..];
    let nested = |r: &Rule| {
        r.syscall == "ioctl"
            && [super::super::nested::REGISTER, super::super::nested::DONE]
                .iter()
                .any(|&q| r.when == When::Arg(1, Cmp::MaskedEq { mask: IOCTL_REQUEST, value: q }))
    };
    assert!(rest.iter().all(|r| PID_TARGETED.iter().any(|(s, _)| *s == r.syscall) || nested(r)), "{}", table(rest));
    assert_eq!(rest.iter().filter(|r| nested(r)).count(), 2, "an sbx inside may ask: {}", table(rest));
    assert!(rest.iter().all(|r| r.action == Action::Notify), "{}", table(rest));
    // Without a supervisor the same calls are refused for any other process.
    let strict = super::rules(&policy(Net::Unrestricted), &mediation(false));
    assert!(!needs_supervisor(&strict), "{}", table(&strict));
    assert!(compile(&rules).unwrap().is_some(), "every sandbox gets the baseline filter");
    assert!(compile(&[]).unwrap().is_none());
}

#[test]
fn every_policy_starts_with_the_baseline() {
    for net in [Net::Unrestricted, Net::Denied, allow(&["127.0.0.1"])] {
        for supervisor in [true, false] {
            let rules = rules(&policy(net.clone()), &mediation(supervisor));
            assert_eq!(rules[..baseline().len()], baseline()[..], "{}", table(&rules));
        }
    }
    for rule in baseline() {
        let compat_only = rule.syscall == "umount" || DENIED_COMPAT.iter().any(|(s, _)| *s == rule.syscall);
        assert_eq!(rule.entries, if compat_only { Entries::COMPAT } else { Entries::ALL }, "{rule}");
        assert!(!rule.reason.is_empty());
    }
}

#[test]
fn compiles_for_every_entry() {
    for net in [Net::Denied, allow(&["127.0.0.1"])] {
        let rules = rules_for(&policy(net));
        let program = compile(&rules).unwrap().unwrap_or_else(|| panic!("no program for\n{}", table(&rules)));
        assert!(!program.is_empty());
        #[cfg(target_arch = "x86_64")]
        assert!(
            program.len() > 30,
            "suspiciously short filter ({} instructions) for\n{}",
            program.len(),
            table(&rules)
        );
    }
}

/// A classic-BPF interpreter for the instructions libseccomp emits, to check
/// what the compiled filter really returns for a given call.
fn run_bpf(program: &BpfProgram, nr: u32, arch: u32, args: [u64; 6]) -> u32 {
    let mut data = Vec::new();
    data.extend_from_slice(&nr.to_ne_bytes());
    data.extend_from_slice(&arch.to_ne_bytes());
    data.extend_from_slice(&0u64.to_ne_bytes());
    for a in args {
        data.extend_from_slice(&a.to_ne_bytes());
    }
    let insns = program.instructions();
    let (mut acc, mut x, mut mem, mut pc) = (0u32, 0u32, [0u32; 16], 0usize);
    loop {
        let i = insns[pc];
        pc += 1;
        let k = i.k;
        match i.code {
            0x20 => acc = u32::from_ne_bytes(data[k as usize..k as usize + 4].try_into().unwrap()), // ld [k]
            0x00 => acc = k,                                                                        // ld #k
            0x60 => acc = mem[k as usize],                                                          // ld M[k]
            0x61 => x = mem[k as usize],                                                            // ldx M[k]
            0x02 => mem[k as usize] = acc,                                                          // st M[k]
            0x03 => mem[k as usize] = x,                                                            // stx M[k]
            0x54 => acc &= k,                                                                       // and #k
            0x07 => x = acc,                                                                        // tax
            0x87 => acc = x,                                                                        // txa
            0x05 => pc += k as usize,                                                               // ja
            0x15 | 0x25 | 0x35 | 0x45 => {
                let taken = match i.code {
                    0x15 => acc == k,
                    0x25 => acc > k,
                    0x35 => acc >= k,
                    _ => acc & k != 0,
                };
                pc += if taken { i.jt } else { i.jf } as usize;
            }
            0x06 => return k, // ret #k
            other => panic!("unexpected BPF opcode {other:#x} at {}", pc - 1),
        }
    }
}

const AUDIT_X86_64: u32 = 0xc000_003e;
const AUDIT_I386: u32 = 0x4000_0003;
const X32: u32 = 0x4000_0000;
const ALLOW: u32 = 0x7fff_0000;
const NOTIFY: u32 = 0x7fc0_0000;
const EPERM: u32 = 0x0005_0000 | libc::EPERM as u32;

#[cfg(target_arch = "x86_64")]
#[test]
fn compiled_filter_acts_per_entry() {
    let rules = rules_for(&policy(allow(&["127.0.0.1"])));
    let program = compile(&rules).unwrap().unwrap();
    let pfc = pseudo_code(&rules).unwrap();
    let run = |nr: u32, arch: u32, args: [u64; 6]| run_bpf(&program, nr, arch, args);
    let (inet, stream) = (libc::AF_INET as u64, libc::SOCK_STREAM as u64);
    // Native: connect/bind/sendmsg/sendmmsg notify; sendto only with a destination.
    for nr in [42, 49, 46, 307] {
        assert_eq!(run(nr, AUDIT_X86_64, [3, 0, 0, 0, 0, 0]), NOTIFY, "native {nr}\n{pfc}");
    }
    assert_eq!(run(44, AUDIT_X86_64, [3, 0, 1, 0, 0, 0]), ALLOW, "send() on a connected socket\n{pfc}");
    assert_eq!(run(44, AUDIT_X86_64, [3, 0, 1, 0, 0x1000, 16]), NOTIFY, "sendto with a destination\n{pfc}");
    assert_eq!(run(44, AUDIT_X86_64, [3, 0, 1, 0, 1 << 32, 16]), NOTIFY, "a destination above 4 GiB\n{pfc}");
    assert_eq!(run(45, AUDIT_X86_64, [3, 0, 1, 0, 0x1000, 0x2000]), ALLOW, "recvfrom is never intercepted");
    assert_eq!(run(41, AUDIT_X86_64, [inet, stream, 0, 0, 0, 0]), ALLOW);
    assert_eq!(run(41, AUDIT_X86_64, [inet, libc::SOCK_RAW as u64, 0, 0, 0, 0]), EPERM);
    assert_eq!(run(41, AUDIT_X86_64, [libc::AF_NETLINK as u64, stream, 0, 0, 0, 0]), EPERM);
    assert_eq!(run(41, AUDIT_X86_64, [inet, stream, libc::IPPROTO_SCTP as u64, 0, 0, 0]), EPERM);
    assert_eq!(run(425, AUDIT_X86_64, [0; 6]), EPERM, "io_uring_setup");
    // x32: the same decisions for connect/bind/sendto; message headers refused.
    assert_eq!(run(X32 | 42, AUDIT_X86_64, [3, 0, 0, 0, 0, 0]), NOTIFY, "x32 connect\n{pfc}");
    assert_eq!(run(X32 | 49, AUDIT_X86_64, [3, 0, 0, 0, 0, 0]), NOTIFY, "x32 bind\n{pfc}");
    assert_eq!(run(X32 | 44, AUDIT_X86_64, [3, 0, 1, 0, 0, 0]), ALLOW, "x32 send()\n{pfc}");
    assert_eq!(run(X32 | 44, AUDIT_X86_64, [3, 0, 1, 0, 0x1000, 16]), NOTIFY, "x32 sendto\n{pfc}");
    assert_eq!(run(X32 | 518, AUDIT_X86_64, [3, 0, 0, 0, 0, 0]), EPERM, "x32 sendmsg\n{pfc}");
    assert_eq!(run(X32 | 538, AUDIT_X86_64, [3, 0, 0, 0, 0, 0]), EPERM, "x32 sendmmsg\n{pfc}");
    assert_eq!(run(X32 | 41, AUDIT_X86_64, [libc::AF_PACKET as u64, stream, 0, 0, 0, 0]), EPERM, "x32 socket\n{pfc}");
    // i386: no notification at all; the network calls fail.
    for nr in [362, 361, 369, 370, 345, 102] {
        assert_eq!(run(nr, AUDIT_I386, [3, 0, 0, 0, 0, 0]), EPERM, "i386 {nr}\n{pfc}");
    }
    assert_eq!(run(0xdead, 0x1234, [0; 6]) & 0xffff_0000, 0x8000_0000, "unknown arch kills the process");
}

#[cfg(target_arch = "x86_64")]
#[test]
fn compiled_deny_net_filter_mediates_unix_connects() {
    let rules = rules_for(&policy(Net::Denied));
    let program = compile(&rules).unwrap().unwrap();
    let run = |nr: u32, arch: u32, args: [u64; 6]| run_bpf(&program, nr, arch, args);
    let (inet, inet6, dgram, udp) =
        (libc::AF_INET as u64, libc::AF_INET6 as u64, libc::SOCK_DGRAM as u64, libc::IPPROTO_UDP as u64);
    assert_eq!(run(41, AUDIT_X86_64, [libc::AF_UNIX as u64, 1, 0, 0, 0, 0]), ALLOW);
    // Every inet socket goes to the supervisor (which lets UDP ones be made
    // and names and refuses the rest: `mediate`); other families, and x32's
    // and i386's inet sockets, are refused outright.
    for family in [inet, inet6] {
        assert_eq!(run(41, AUDIT_X86_64, [family, dgram, 0, 0, 0, 0]), NOTIFY);
        assert_eq!(run(41, AUDIT_X86_64, [family, dgram | libc::SOCK_CLOEXEC as u64, udp, 0, 0, 0]), NOTIFY);
        assert_eq!(run(41, AUDIT_X86_64, [family, 1, 0, 0, 0, 0]), NOTIFY);
        assert_eq!(run(41, AUDIT_X86_64, [family, 1, 262, 0, 0, 0]), NOTIFY, "MPTCP");
        assert_eq!(run(41, AUDIT_X86_64, [family, dgram, 1, 0, 0, 0]), NOTIFY, "ICMP");
        assert_eq!(run(41, AUDIT_X86_64, [family, 3, 0, 0, 0, 0]), NOTIFY, "raw");
        assert_eq!(run(X32 | 41, AUDIT_X86_64, [family, dgram, 0, 0, 0, 0]), EPERM, "x32");
    }
    assert_eq!(run(41, AUDIT_X86_64, [libc::AF_PACKET as u64, dgram, 0, 0, 0, 0]), EPERM);
    assert_eq!(run(41, AUDIT_X86_64, [libc::AF_NETLINK as u64, dgram, 0, 0, 0, 0]), EPERM);
    assert_eq!(run(359, AUDIT_I386, [inet, dgram, 0, 0, 0, 0]), EPERM, "i386 socket");
    assert_eq!(run(42, AUDIT_X86_64, [3, 0, 0, 0, 0, 0]), NOTIFY);
    assert_eq!(run(44, AUDIT_X86_64, [3, 0, 1, 0, 0, 0]), ALLOW);
    assert_eq!(run(362, AUDIT_I386, [3, 0, 0, 0, 0, 0]), EPERM);
}

#[test]
fn unknown_syscall_is_an_error() {
    let rules = [Rule {
        syscall: "no_such_syscall",
        when: When::Always,
        action: Action::Errno(libc::EPERM),
        entries: Entries::ALL,
        reason: "test",
    }];
    let err = compile(&rules).err().map(|e| format!("{e:#}")).unwrap_or_default();
    assert!(err.contains("no_such_syscall"), "{err}");
}

#[cfg(target_arch = "x86_64")]
mod baseline_filter {
    use super::*;

    const ENOSYS: u32 = 0x0005_0000 | libc::ENOSYS as u32;
    const TIOCSTI: u64 = 0x5412;
    const TIOCLINUX: u64 = 0x541c;

    /// The syscall number of `name` on `arch`, as libseccomp resolves it
    /// (x32 numbers carry the x32 bit).
    fn nr(name: &str, arch: ScmpArch) -> u32 {
        ScmpSyscall::from_name_by_arch(name, arch).unwrap().as_raw_syscall() as u32
    }

    /// Runs `name(args)` through the filter of every policy, on every entry.
    fn each_entry(check: impl Fn(&dyn Fn(&str, [u64; 6]) -> u32, &str)) {
        for net in [Net::Unrestricted, Net::Denied, allow(&["127.0.0.1"])] {
            let program = compile(&rules_for(&policy(net))).unwrap().unwrap();
            for (arch, audit, label) in [
                (ScmpArch::X8664, AUDIT_X86_64, "native"),
                (ScmpArch::X32, AUDIT_X86_64, "x32"),
                (ScmpArch::X86, AUDIT_I386, "i386"),
            ] {
                let run = |name: &str, args: [u64; 6]| run_bpf(&program, nr(name, arch), audit, args);
                check(&run, label);
            }
        }
    }

    #[test]
    fn terminal_injection_is_refused_whatever_the_high_half() {
        assert_eq!(nr("ioctl", ScmpArch::X32), X32 | 514, "x32 has its own ioctl entry");
        each_entry(|run, entry| {
            for request in [TIOCSTI, TIOCLINUX] {
                assert_eq!(run("ioctl", [0, request, 0x1000, 0, 0, 0]), EPERM, "{entry} {request:#x}");
                if entry != "i386" {
                    // The kernel ignores the high half of the request.
                    let high = request | 0xdead_beef_0000_0000;
                    assert_eq!(run("ioctl", [0, high, 0x1000, 0, 0, 0]), EPERM, "{entry} {high:#x}");
                }
            }
            // Other terminal requests (window size, termios, TIOCSCTTY) pass.
            for request in [libc::TIOCGWINSZ, libc::TCGETS, libc::TIOCSCTTY, libc::FIONREAD] {
                #[allow(clippy::unnecessary_cast)] // c_ulong on glibc, c_int elsewhere
                let request = request as u64;
                assert_eq!(run("ioctl", [0, request, 0x1000, 0, 0, 0]), ALLOW, "{entry} {request:#x}");
            }
        });
    }

    #[test]
    fn namespaces_are_refused_threads_and_processes_are_not() {
        let thread = (libc::CLONE_VM
            | libc::CLONE_FS
            | libc::CLONE_FILES
            | libc::CLONE_SIGHAND
            | libc::CLONE_THREAD
            | libc::CLONE_SYSVSEM
            | libc::CLONE_SETTLS
            | libc::CLONE_PARENT_SETTID
            | libc::CLONE_CHILD_CLEARTID) as u64;
        let fork = (libc::CLONE_CHILD_SETTID | libc::CLONE_CHILD_CLEARTID | libc::SIGCHLD) as u64;
        let vfork = (libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD) as u64;
        each_entry(|run, entry| {
            for flags in [thread, fork, vfork, 0x80 | libc::CLONE_VM as u64] {
                assert_eq!(run("clone", [flags, 0, 0, 0, 0, 0]), ALLOW, "{entry} clone({flags:#x})");
            }
            for flags in [libc::CLONE_FS, libc::CLONE_FILES, libc::CLONE_SYSVSEM] {
                assert_eq!(run("unshare", [flags as u64, 0, 0, 0, 0, 0]), ALLOW, "{entry} unshare({flags:#x})");
            }
            for &(flag, name) in CLONE_NAMESPACES {
                assert_eq!(run("clone", [fork | flag, 0, 0, 0, 0, 0]), EPERM, "{entry} clone({name})");
                assert_eq!(run("unshare", [flag, 0, 0, 0, 0, 0]), EPERM, "{entry} unshare({name})");
                assert_eq!(run("unshare", [flag | libc::CLONE_FS as u64, 0, 0, 0, 0, 0]), EPERM, "{entry} {name}");
            }
            assert_eq!(run("unshare", [CLONE_NEWTIME, 0, 0, 0, 0, 0]), EPERM, "{entry} unshare(CLONE_NEWTIME)");
            assert_eq!(run("clone3", [0x1000, 88, 0, 0, 0, 0]), ENOSYS, "{entry} clone3");
        });
    }

    #[test]
    fn mounts_kernel_code_and_keyrings_are_refused() {
        each_entry(|run, entry| {
            for &(syscall, _) in DENIED_ALWAYS {
                let arch = match entry {
                    "i386" => ScmpArch::X86,
                    "x32" => ScmpArch::X32,
                    _ => ScmpArch::X8664,
                };
                // Not on this entry (i386 has no kexec_file_load), or unknown to
                // this libseccomp (filtered by number; the integration tests
                // check those on the real kernel).
                match ScmpSyscall::from_name_by_arch(syscall, arch) {
                    Ok(nr) if nr.as_raw_syscall() >= 0 => {}
                    _ => continue,
                }
                assert_eq!(run(syscall, [0; 6]), EPERM, "{entry} {syscall}");
            }
            if entry == "i386" {
                assert_eq!(run("umount", [0; 6]), EPERM, "i386 umount");
            }
            for ok in
                ["read", "openat", "execve", "fork", "vfork", "ptrace", "process_vm_readv", "landlock_restrict_self"]
            {
                assert_eq!(run(ok, [0; 6]), ALLOW, "{entry} {ok}");
            }
        });
    }
}

#[test]
fn the_readme_lists_every_baseline_refusal() {
    let readme = include_str!("../../../README.md");
    for rule in baseline() {
        assert!(readme.contains(&format!("`{}", rule.syscall)), "README.md does not list `{}`", rule.syscall);
    }
    for (_, name) in CLONE_NAMESPACES {
        assert!(readme.contains(name.trim_start_matches("CLONE_")), "README.md does not list {name}");
    }
}

/// The other direction: every call the README's baseline table names is
/// refused by the code, so deleting a rule while its row stays fails here.
#[test]
fn every_call_the_readmes_baseline_table_names_is_refused() {
    let readme = include_str!("../../../README.md");
    let start = readme.find("| refused | why it would let the command leave the policy |").expect("the baseline table");
    let table = &readme[start..];
    let table = &table[..table.find("\n\n").unwrap_or(table.len())];
    let rules = baseline();
    let mut checked = 0;
    for line in table.lines().skip(2) {
        let first = line.split('|').nth(1).unwrap_or("");
        for name in first.split('`').skip(1).step_by(2) {
            // ioctl requests and clone flags are checked by their own tests;
            // `ENOSYS` is what clone3 answers.
            if name.contains('(') || name.starts_with("CLONE_") || name.starts_with("NEW") || name.starts_with('E') {
                continue;
            }
            assert!(
                rules.iter().any(|r| r.syscall == name),
                "README.md's baseline table names `{name}`, which no baseline rule refuses"
            );
            checked += 1;
        }
    }
    assert!(checked > 30, "only {checked} calls read from the README's baseline table");
}

#[test]
fn the_learning_table_compiles_and_spares_the_childs_own_exec() {
    let rules = learn_rules(0x1234_5678);
    assert!(
        rules.iter().any(|r| r.syscall == "execve"
            && r.when == When::Arg(2, Cmp::Ne(0x1234_5678))
            && r.entries == Entries::NATIVE
            && r.action == Action::Notify),
        "{rules:#?}"
    );
    // Everything observed is handed over, nothing is refused beyond the baseline.
    for name in OBSERVED.iter().filter(|n| native_number(n).is_some()) {
        assert!(rules.iter().any(|r| r.syscall == *name && r.action == Action::Notify), "{name}");
    }
    // Refused: what a learned profile (read, write and net denied) refuses
    // whatever it allows — not connect or the like.
    for r in rules.iter().filter(|r| matches!(r.action, Action::Errno(_))) {
        assert!(!OBSERVED.contains(&r.syscall) || r.entries != Entries::NATIVE, "{r}");
    }
    assert!(rules.iter().any(|r| r.syscall == "io_uring_setup" && r.action == Action::Errno(libc::EPERM)));
    assert!(compile(&rules).unwrap().is_some());
}

#[test]
fn reads_that_name_a_source_go_to_the_supervisor_only_while_dns_is_filtered() {
    let p = policy(allow(&["registry.example.com:443"]));
    let source_rules = |rules: &[Rule]| -> Vec<String> {
        rules.iter().filter(|r| ["getpeername", "recvfrom"].contains(&r.syscall)).map(|r| r.to_string()).collect()
    };
    assert!(source_rules(&rules(&p, &mediation(true))).is_empty(), "{}", table(&rules(&p, &mediation(true))));
    let filtered = Mediation { dns_sources: true, ..mediation(true) };
    let got = rules(&p, &filtered);
    let found = source_rules(&got);
    assert_eq!(found.len(), 2, "{}", table(&got));
    assert!(found[0].starts_with("getpeername → supervisor [native entry]"), "{found:?}");
    // A NULL source address (every stream read, recv()) stays unmediated.
    assert!(found[1].starts_with("recvfrom(arg4 != 0) → supervisor [native entry]"), "{found:?}");
    // No supervisor, no such rules (and nothing for a filter without one).
    let unsupervised = Mediation { dns_sources: true, ..mediation(false) };
    assert!(source_rules(&rules(&policy(Net::Denied), &unsupervised)).is_empty());
    assert!(compile(&got).unwrap().is_some());
}
