//! `docker run` without Docker: runs a command as a Docker (runc) container
//! with the default seccomp profile and capability set would, so the tests can
//! run sbx where its users run it in CI. The test process stays outside (root,
//! unfiltered); each command it starts through [`Container::apply`] enters the
//! "container" between fork and exec, in runc's order:
//!
//! 1. ([`Container::namespaces`] only) new mount, PID, network, UTS and IPC
//!    namespaces, `lo` up, a fresh /proc and runc's masked and read-only
//!    paths. Without it the command shares the host's network and PIDs, as
//!    with `docker run --network host --pid host` (the suite talks to
//!    loopback listeners it opened and passes its own PIDs), and the host's
//!    mounts (a bind-mounted workspace, as in CI).
//! 2. The seccomp filter built from the Docker-format profile, as moby and
//!    runc build it: the archMap entry of this machine with its
//!    sub-architectures, rules kept or dropped by their `includes`/`excludes`
//!    (capabilities against the container's bounding set, Go architecture
//!    names, minimum kernel), argument filters (`SCMP_CMP_MASKED_EQ`: `value`
//!    is the mask, `valueTwo` the datum), per-rule `errnoRet`,
//!    `defaultErrnoRet`, names libseccomp does not know skipped, and runc's
//!    stub before libseccomp's program: on each architecture, a syscall
//!    numbered above the highest the rules name fails with ENOSYS instead of
//!    the default errno (so newer calls fall back).
//!    Loaded while still root with all capabilities and WITHOUT
//!    no_new_privs, like runc when the container does not ask for it.
//! 3. The bounding set cut to Docker's 14 default capabilities (plus
//!    `--cap-add`), inheritable and ambient cleared; as root, permitted and
//!    effective are those capabilities; with `--user UID` uid and gid become
//!    UID with no supplementary groups, which leaves a non-root command with
//!    no capabilities after exec (as in Docker: runc sets no ambient set).
//!
//! Everything is prepared before fork (the filter compiled to BPF, paths as
//! C strings); between fork and exec only system calls run.
//!
//! Checked by hand (tests/container/README.md has the commands and results)
//! on x86_64, Linux 6.18, libseccomp 2.5.4, in 8 containers (both profiles,
//! root and uid 1000, with and without `--cap-add SYS_PTRACE`):
//! - against podman 4.3.1 + runc 1.1.5 (Debian 12's packages) running a
//!   debootstrapped Debian 12 with the same profile, Docker's 14
//!   capabilities and `--network host --pid host`: the same `Seccomp`,
//!   `Seccomp_filters`, `NoNewPrivs` and `Cap*` lines in /proc/self/status,
//!   the same `id -u` and `id -G`, and the same answer to each of
//!   `pidfd_getfd`, `process_vm_readv`, `ptrace`, `clone3`,
//!   `io_uring_setup`, `unshare`, `socket` (AF_VSOCK, AF_ALG; the i386 and
//!   x32 entries), `mount`, `open_tree`, `open_tree_attr`, `fchmodat2` and
//!   i386 calls 452, 456 and 467;
//! - against `dockersim.py` (python-seccomp): libseccomp's program is byte
//!   for byte the one it builds. Its stand-in for runc's stub (an ENOSYS
//!   rule per number) cannot place numbers libseccomp does not know, so it
//!   answers EPERM above 456 (`open_tree_attr`, `setxattrat`, …) where runc,
//!   and this launcher, answer ENOSYS.
//!
//! `the_launcher_gives_dockers_filter_capabilities_and_user` (container.rs)
//! keeps asserting what podman gave.

use std::ffi::CString;
use std::io::{Read, Seek};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};

use libseccomp::{ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall};
// Capability names by number (linux/capability.h).
use sbx::linux::capabilities::NAMES as CAP_NAMES;
use serde_json::Value;

/// moby's default capability set (`oci/caps/defaults.go`).
pub const DOCKER_CAPS: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// runc's default maskedPaths and readonlyPaths.
const MASKED: [&str; 12] = [
    "/proc/asound",
    "/proc/acpi",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];
const READONLY: [&str; 5] = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

/// This machine in the profile's terms: its libseccomp architecture, the
/// archMap key and the Go name `includes`/`excludes` use.
#[cfg(target_arch = "x86_64")]
const NATIVE: (ScmpArch, &str, &str) = (ScmpArch::X8664, "SCMP_ARCH_X86_64", "amd64");
#[cfg(target_arch = "aarch64")]
const NATIVE: (ScmpArch, &str, &str) = (ScmpArch::Aarch64, "SCMP_ARCH_AARCH64", "arm64");

/// The seccomp profiles in tests/container (see its README.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Profile {
    /// moby's current default (moby/profiles/seccomp v0.2.3).
    Moby,
    /// Docker 20.10.24's default: `process_vm_readv` needs CAP_SYS_PTRACE too,
    /// io_uring is allowed, `socket` is not filtered by family.
    Moby2010,
}

impl Profile {
    pub fn path(self) -> PathBuf {
        let file = match self {
            Profile::Moby => "moby-default.json",
            Profile::Moby2010 => "moby-20.10.24.json",
        };
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/container").join(file)
    }
}

/// What `docker run` is simulated: the profile, the user, added capabilities
/// and whether the command gets namespaces of its own.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Container {
    pub profile: Profile,
    /// `--user UID` (gid UID, no supplementary groups); `None`: root.
    pub user: Option<u32>,
    /// `--cap-add`, as `CAP_…` names.
    pub cap_add: Vec<String>,
    /// Private mount, PID, network, UTS and IPC namespaces with runc's
    /// masked /proc paths (else host network and PIDs, see the module doc).
    pub namespaces: bool,
}

impl Container {
    /// `docker run` with the default profile, as root.
    pub fn docker() -> Self {
        Self { profile: Profile::Moby, user: None, cap_add: Vec::new(), namespaces: false }
    }

    pub fn profile(mut self, profile: Profile) -> Self {
        self.profile = profile;
        self
    }

    /// `--user UID` (`None`: root).
    pub fn user(mut self, uid: Option<u32>) -> Self {
        self.user = uid;
        self
    }

    /// `--cap-add CAP` (`SYS_PTRACE` or `CAP_SYS_PTRACE`).
    pub fn cap_add(mut self, cap: &str) -> Self {
        let name = format!("CAP_{}", cap.to_ascii_uppercase().trim_start_matches("CAP_"));
        assert!(CAP_NAMES.contains(&name.as_str()), "unknown capability {cap}");
        if !self.cap_add.contains(&name) {
            self.cap_add.push(name);
        }
        self
    }

    /// With namespaces of its own (see [`Container::namespaces`]).
    pub fn isolated(mut self) -> Self {
        self.namespaces = true;
        self
    }

    /// `docker`, then `-`-separated modifiers in any order: `20.10` (Docker
    /// 20.10.24's profile), a uid (`--user UID`), `ptrace` (`--cap-add
    /// SYS_PTRACE`), `netns` (namespaces of its own). E.g. `docker-1000`,
    /// `docker-20.10-1000-ptrace`.
    pub fn parse(name: &str) -> Result<Self, String> {
        let mut parts = name.split('-');
        if parts.next() != Some("docker") {
            return Err(format!("{name:?}: want docker[-20.10][-UID][-ptrace][-netns]"));
        }
        let mut c = Self::docker();
        for part in parts {
            c = match part {
                "20.10" => c.profile(Profile::Moby2010),
                "ptrace" => c.cap_add("SYS_PTRACE"),
                "netns" => c.isolated(),
                uid => match uid.parse::<u32>() {
                    Ok(0) => c.user(None),
                    Ok(uid) => c.user(Some(uid)),
                    Err(_) => {
                        return Err(format!("{name:?}: unknown part {part:?} (want 20.10, a uid, ptrace or netns)"));
                    }
                },
            };
        }
        Ok(c)
    }

    /// The name [`Container::parse`] reads back (other added capabilities
    /// than SYS_PTRACE are shown as `-cap-add=CAP_…`, which it does not read).
    pub fn name(&self) -> String {
        let mut name = String::from("docker");
        if self.profile == Profile::Moby2010 {
            name.push_str("-20.10");
        }
        if let Some(uid) = self.user {
            name.push_str(&format!("-{uid}"));
        }
        for cap in &self.cap_add {
            match cap.as_str() {
                "CAP_SYS_PTRACE" => name.push_str("-ptrace"),
                other => name.push_str(&format!("-cap-add={other}")),
            }
        }
        if self.namespaces {
            name.push_str("-netns");
        }
        name
    }

    /// The container's capability set (the bounding set; root's permitted
    /// and effective set).
    pub fn caps(&self) -> Vec<&str> {
        DOCKER_CAPS.iter().copied().chain(self.cap_add.iter().map(String::as_str)).collect()
    }

    /// Whether the command runs as root inside.
    pub fn is_root(&self) -> bool {
        self.user.is_none()
    }

    /// Makes `cmd` run in this container, as `uid` when given (`Cmd::nobody`)
    /// instead of the container's user, with /etc/resolv.conf, /etc/hosts and
    /// /etc/nsswitch.conf from `etc` when given (as Docker binds its own
    /// resolv.conf and hosts into each container).
    pub fn apply(&self, cmd: &mut Command, uid: Option<u32>, etc: Option<&Path>) {
        let entry = prepared(self, uid);
        let etc = etc.map(Etc::new);
        // SAFETY: the closure runs between fork and exec, in a copy of a
        // multi-threaded process: `Entry::enter` makes system calls only (no
        // allocation, no locks) on data prepared before the fork.
        unsafe {
            cmd.pre_exec(move || entry.enter(etc.as_ref()));
        }
    }
}

/// The filter and what building it did (for comparing with other builds).
pub struct Filter {
    /// runc's stub, then libseccomp's program: what is installed.
    pub bpf: Vec<libc::sock_filter>,
    /// libseccomp's program alone.
    pub program: Vec<libc::sock_filter>,
    /// Rules added (one per name).
    pub rules: usize,
    /// Names libseccomp does not know (skipped, as runc does).
    pub unknown: Vec<String>,
    /// Rules dropped by their includes/excludes.
    pub skipped: usize,
    /// Per architecture, the highest syscall number the rules name: above
    /// it, runc's stub answers ENOSYS.
    pub enosys_above: Vec<(ScmpArch, u32)>,
}

/// This kernel's (major, minor).
fn kernel() -> (u32, u32) {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    let mut parts = release.trim().split(['.', '-']).map(|p| p.parse::<u32>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

fn kernel_at_least(minimum: &str) -> bool {
    let mut parts = minimum.split('.').map(|p| p.parse::<u32>().unwrap());
    kernel() >= (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

fn strings(v: Option<&Value>) -> Vec<&str> {
    v.and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default()
}

fn arch(name: &str) -> ScmpArch {
    match name {
        "SCMP_ARCH_X86_64" => ScmpArch::X8664,
        "SCMP_ARCH_X86" => ScmpArch::X86,
        "SCMP_ARCH_X32" => ScmpArch::X32,
        "SCMP_ARCH_AARCH64" => ScmpArch::Aarch64,
        "SCMP_ARCH_ARM" => ScmpArch::Arm,
        other => panic!("architecture {other} is not handled here"),
    }
}

/// Whether a rule applies in a container with `caps`, as moby decides
/// (`setupSeccomp`): every included capability present, no excluded one,
/// this architecture included and not excluded, the kernel new enough.
fn applies(rule: &Value, caps: &[&str]) -> bool {
    let (inc, exc) = (&rule["includes"], &rule["excludes"]);
    let (inc_caps, exc_caps) = (strings(inc.get("caps")), strings(exc.get("caps")));
    let (inc_arches, exc_arches) = (strings(inc.get("arches")), strings(exc.get("arches")));
    if !inc_caps.iter().all(|c| caps.contains(c)) || exc_caps.iter().any(|c| caps.contains(c)) {
        return false;
    }
    if (!inc_arches.is_empty() && !inc_arches.contains(&NATIVE.2)) || exc_arches.contains(&NATIVE.2) {
        return false;
    }
    if inc.get("minKernel").and_then(Value::as_str).is_some_and(|k| !kernel_at_least(k)) {
        return false;
    }
    !exc.get("minKernel").and_then(Value::as_str).is_some_and(kernel_at_least)
}

fn compare(arg: &Value) -> ScmpArgCompare {
    let index = arg["index"].as_u64().unwrap() as u32;
    let value = arg["value"].as_u64().unwrap();
    let op = arg["op"].as_str().unwrap();
    let (op, datum) = match op {
        "SCMP_CMP_NE" => (ScmpCompareOp::NotEqual, value),
        "SCMP_CMP_LT" => (ScmpCompareOp::Less, value),
        "SCMP_CMP_LE" => (ScmpCompareOp::LessOrEqual, value),
        "SCMP_CMP_EQ" => (ScmpCompareOp::Equal, value),
        "SCMP_CMP_GE" => (ScmpCompareOp::GreaterEqual, value),
        "SCMP_CMP_GT" => (ScmpCompareOp::Greater, value),
        // Docker's `value` is the mask, `valueTwo` what the masked argument must equal.
        "SCMP_CMP_MASKED_EQ" => (ScmpCompareOp::MaskedEqual(value), arg["valueTwo"].as_u64().unwrap_or(0)),
        other => panic!("unknown comparison {other}"),
    };
    ScmpArgCompare::new(index, op, datum)
}

/// Builds the filter of the Docker-format profile at `path` for a container
/// with `caps`.
pub fn build_filter(path: &Path, caps: &[&str]) -> Filter {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let profile: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()));
    assert_eq!(profile["defaultAction"], "SCMP_ACT_ERRNO", "{}: only an ERRNO default is handled", path.display());
    let default_errno = profile.get("defaultErrnoRet").and_then(Value::as_i64).unwrap_or(libc::EPERM.into()) as i32;
    let mut ctx = ScmpFilterContext::new(ScmpAction::Errno(default_errno)).unwrap();
    // What runc asks of libseccomp when the container does not set
    // no_new_privs (only matters to `load`; the filter is installed below).
    ctx.set_ctl_nnp(false).unwrap();
    let mut arches = vec![NATIVE.0];
    for entry in profile["archMap"].as_array().into_iter().flatten() {
        if entry["architecture"] == NATIVE.1 {
            for sub in strings(entry.get("subArchitectures")) {
                ctx.add_arch(arch(sub)).unwrap();
                arches.push(arch(sub));
            }
        }
    }
    let mut filter = Filter {
        bpf: Vec::new(),
        program: Vec::new(),
        rules: 0,
        unknown: Vec::new(),
        skipped: 0,
        enosys_above: Vec::new(),
    };
    let mut named = Vec::new();
    for rule in profile["syscalls"].as_array().unwrap() {
        if !applies(rule, caps) {
            filter.skipped += 1;
            continue;
        }
        let action = match rule["action"].as_str().unwrap() {
            "SCMP_ACT_ALLOW" => ScmpAction::Allow,
            "SCMP_ACT_ERRNO" => {
                ScmpAction::Errno(rule.get("errnoRet").and_then(Value::as_i64).map_or(default_errno, |e| e as i32))
            }
            other => panic!("{}: action {other} is not handled", path.display()),
        };
        let args: Vec<ScmpArgCompare> = rule["args"].as_array().into_iter().flatten().map(compare).collect();
        for name in strings(rule.get("names")) {
            let added = ScmpSyscall::from_name(name).and_then(|nr| ctx.add_rule_conditional(action, nr, &args));
            match added {
                Ok(_) => filter.rules += 1,
                Err(_) => filter.unknown.push(name.to_owned()),
            }
            named.push(name);
        }
    }
    // runc: on each architecture, syscalls numbered above the highest the
    // rules name get ENOSYS, not the default errno (so a program falls back
    // from a call newer than the profile, or than libseccomp).
    for arch in arches {
        let numbers = named.iter().filter_map(|n| ScmpSyscall::from_name_by_arch(n, arch).ok()).map(i32::from);
        if let Some(max) = numbers.filter(|&nr| nr > 0).max() {
            filter.enosys_above.push((arch, max as u32));
        }
    }
    filter.program = export(&ctx);
    filter.bpf = enosys_stub(&filter.enosys_above);
    filter.bpf.extend_from_slice(&filter.program);
    filter
}

/// runc's stub (libcontainer/seccomp/patchbpf), run before libseccomp's
/// program: on each architecture of `max`, a syscall numbered above its
/// maximum fails with ENOSYS; x86-64 and x32 share an audit architecture and
/// are told apart by the x32 bit of the number.
fn enosys_stub(max: &[(ScmpArch, u32)]) -> Vec<libc::sock_filter> {
    const X32_BIT: u32 = 0x4000_0000;
    const LD_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
    const JEQ: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
    const JGT: u16 = (libc::BPF_JMP | libc::BPF_JGT | libc::BPF_K) as u16;
    const JSET: u16 = (libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K) as u16;
    const RET: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
    const ERRNO: u32 = 0x0005_0000; // SECCOMP_RET_ERRNO
    // linux/audit.h
    const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
    const AUDIT_ARCH_I386: u32 = 0x4000_0003;
    const AUDIT_ARCH_AARCH64: u32 = 0xc000_00b7;
    const AUDIT_ARCH_ARM: u32 = 0x4000_0028;
    let find = |a: ScmpArch| max.iter().find(|(arch, _)| *arch == a).map(|&(_, m)| m);
    // Per audit architecture, the maxima its section checks: x86-64's, then
    // x32's (told apart by the x32 bit of the number).
    let mut sections: Vec<(u32, Vec<u32>)> = Vec::new();
    for &(arch, top) in max {
        match arch {
            ScmpArch::X8664 | ScmpArch::X32 => {
                if !sections.iter().any(|(a, _)| *a == AUDIT_ARCH_X86_64) {
                    let (x86_64, x32) = (find(ScmpArch::X8664), find(ScmpArch::X32));
                    assert!(x86_64.is_some() && x32.is_some(), "x86-64 without x32 or the other way round");
                    sections.push((AUDIT_ARCH_X86_64, x86_64.into_iter().chain(x32).collect()));
                }
            }
            ScmpArch::X86 => sections.push((AUDIT_ARCH_I386, vec![top])),
            ScmpArch::Aarch64 => sections.push((AUDIT_ARCH_AARCH64, vec![top])),
            ScmpArch::Arm => sections.push((AUDIT_ARCH_ARM, vec![top])),
            other => panic!("no ENOSYS stub for {other:?}"),
        }
    }
    // Layout: load arch; one jeq per section; the sections (load nr, a jset
    // where x86-64 and x32 share one, a jgt per maximum); ENOSYS; the program.
    let section_len = |checks: &[u32]| 1 + usize::from(checks.len() > 1) + checks.len();
    let mut starts = Vec::new();
    let mut at = 1 + sections.len();
    for (_, checks) in &sections {
        starts.push(at);
        at += section_len(checks);
    }
    let (enosys, program) = (at, at + 1);
    let insn = |code: u16, k: u32, jt: usize, jf: usize| {
        let (jt, jf) = (u8::try_from(jt).expect("a short jump"), u8::try_from(jf).expect("a short jump"));
        libc::sock_filter { code, jt, jf, k }
    };
    // A jump from instruction `from` to `to`, relative.
    let off = |from: usize, to: usize| to - from - 1;
    let mut out = vec![insn(LD_ABS, 4, 0, 0)]; // seccomp_data.arch
    for (i, (audit, _)) in sections.iter().enumerate() {
        let here = out.len();
        let miss = if i + 1 == sections.len() { off(here, program) } else { 0 };
        out.push(insn(JEQ, *audit, off(here, starts[i]), miss));
    }
    for (_, checks) in &sections {
        out.push(insn(LD_ABS, 0, 0, 0)); // seccomp_data.nr
        if checks.len() > 1 {
            // x86-64 first, x32 second: the bit skips to the second check.
            out.push(insn(JSET, X32_BIT, 1, 0));
        }
        for &top in checks {
            let here = out.len();
            out.push(insn(JGT, top, off(here, enosys), off(here, program)));
        }
    }
    out.push(insn(RET, ERRNO | libc::ENOSYS as u32, 0, 0));
    assert_eq!(out.len(), program, "the stub's layout");
    out
}

/// The BPF program libseccomp generates for `ctx` (through a memfd:
/// libseccomp 2.5 has no in-memory export).
fn export(ctx: &ScmpFilterContext) -> Vec<libc::sock_filter> {
    // SAFETY: the name is NUL-terminated; memfd_create returns a new fd we own.
    let fd = unsafe { libc::memfd_create(c"sbx-test-bpf".as_ptr(), libc::MFD_CLOEXEC) };
    assert!(fd >= 0, "memfd_create: {}", std::io::Error::last_os_error());
    // SAFETY: fd is a fresh, open descriptor nobody else owns.
    let mut file = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    ctx.export_bpf(&file).unwrap();
    file.rewind().unwrap();
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).unwrap();
    let size = std::mem::size_of::<libc::sock_filter>();
    assert!(!bytes.is_empty() && bytes.len() % size == 0, "libseccomp exported {} bytes", bytes.len());
    bytes
        .chunks_exact(size)
        .map(|c| libc::sock_filter {
            code: u16::from_ne_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect()
}

/// Everything the forked child needs, made before the fork.
struct Entry {
    bpf: Vec<libc::sock_filter>,
    /// Capabilities to drop from the bounding set.
    drop: Vec<u32>,
    /// Root's permitted and effective set (low and high 32 bits).
    keep: [u32; 2],
    uid: Option<u32>,
    namespaces: Option<Namespaces>,
}

/// What the namespaced variant mounts.
struct Namespaces {
    root: CString,
    proc_: CString,
    /// (path, is a directory)
    masked: Vec<(CString, bool)>,
    readonly: Vec<CString>,
    lo: libc::ifreq,
}

// SAFETY: ifreq is plain data (a name and a union of integers); nothing in
// Namespaces points anywhere but into its own CStrings.
unsafe impl Send for Namespaces {}
// SAFETY: as above; Entry is only read after it is built.
unsafe impl Sync for Namespaces {}

/// The entry for (container, uid), built once per test run.
fn prepared(container: &Container, uid: Option<u32>) -> Arc<Entry> {
    type Cache = Mutex<Vec<((Container, Option<u32>), Arc<Entry>)>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let mut cache = CACHE.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    let key = (container.clone(), uid);
    if let Some((_, entry)) = cache.iter().find(|(k, _)| *k == key) {
        return Arc::clone(entry);
    }
    let caps = container.caps();
    let last: u32 = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap").unwrap().trim().parse().unwrap();
    let numbers: Vec<u32> =
        caps.iter().map(|c| CAP_NAMES.iter().position(|n| n == c).unwrap_or_else(|| panic!("{c}")) as u32).collect();
    let mask = numbers.iter().fold(0u64, |m, &n| m | (1u64 << n));
    let bpf = build_filter(&container.profile.path(), &caps).bpf;
    assert!(bpf.len() <= u16::MAX as usize, "a filter of {} instructions", bpf.len());
    let entry = Arc::new(Entry {
        bpf,
        drop: (0..=last).filter(|n| !numbers.contains(n)).collect(),
        keep: [mask as u32, (mask >> 32) as u32],
        uid: uid.or(container.user),
        namespaces: container.namespaces.then(namespaces),
    });
    cache.push((key, Arc::clone(&entry)));
    entry
}

fn namespaces() -> Namespaces {
    let c = |p: &str| CString::new(p).unwrap();
    // SAFETY: ifreq is plain data; all zeroes is a valid (empty) value.
    let mut lo: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, s) in lo.ifr_name.iter_mut().zip(b"lo") {
        *d = *s as libc::c_char;
    }
    Namespaces {
        root: c("/"),
        proc_: c("/proc"),
        masked: MASKED.iter().filter(|p| Path::new(p).exists()).map(|p| (c(p), Path::new(p).is_dir())).collect(),
        readonly: READONLY.iter().filter(|p| Path::new(p).exists()).map(|p| c(p)).collect(),
        lo,
    }
}

/// The result of a raw system call as an io::Result.
fn check(ret: libc::c_long) -> std::io::Result<libc::c_long> {
    if ret < 0 { Err(std::io::Error::last_os_error()) } else { Ok(ret) }
}

/// Files bound over /etc's in a mount namespace of the command's own.
struct Etc {
    root: CString,
    /// (file in the given directory, the /etc file it covers)
    binds: Vec<(CString, CString)>,
}

impl Etc {
    fn new(dir: &Path) -> Self {
        let c = |p: &Path| CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
        let binds = ["resolv.conf", "hosts", "nsswitch.conf"]
            .iter()
            .map(|f| (c(&dir.join(f)), c(&Path::new("/etc").join(f))))
            .collect();
        Self { root: c(Path::new("/")), binds }
    }

    /// A mount namespace of its own (unless already in one), then the binds.
    fn enter(&self, new_ns: bool) -> std::io::Result<()> {
        let null = std::ptr::null::<libc::c_char>();
        // SAFETY: NUL-terminated strings prepared before the fork.
        unsafe {
            if new_ns {
                check(libc::unshare(libc::CLONE_NEWNS).into())?;
                check(
                    libc::mount(null, self.root.as_ptr(), null, libc::MS_REC | libc::MS_PRIVATE, std::ptr::null())
                        .into(),
                )?;
            }
            for (from, to) in &self.binds {
                check(libc::mount(from.as_ptr(), to.as_ptr(), null, libc::MS_BIND, std::ptr::null()).into())?;
            }
        }
        Ok(())
    }
}

impl Entry {
    /// Runs in the forked child: enters the container. System calls only.
    fn enter(&self, etc: Option<&Etc>) -> std::io::Result<()> {
        if let Some(ns) = &self.namespaces {
            ns.enter()?;
        }
        if let Some(etc) = etc {
            etc.enter(self.namespaces.is_none())?;
        }
        // The length was checked to fit when the entry was built.
        let prog = libc::sock_fprog { len: self.bpf.len() as u16, filter: self.bpf.as_ptr().cast_mut() };
        // SAFETY: prog points to the prepared instructions, alive for the
        // call; without no_new_privs this needs CAP_SYS_ADMIN (we are root).
        check(unsafe { libc::syscall(libc::SYS_seccomp, libc::SECCOMP_SET_MODE_FILTER, 0, &prog) })?;
        for &cap in &self.drop {
            // SAFETY: integer arguments only.
            check(unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) }.into())?;
        }
        let mut data = [CapData { effective: 0, permitted: 0, inheritable: 0 }; 2];
        if let Some(uid) = self.uid {
            // SAFETY: integer arguments only (raw calls: only this thread
            // exists in the child, glibc's all-threads machinery is not wanted).
            unsafe {
                check(libc::syscall(libc::SYS_setgroups, 0, std::ptr::null::<libc::gid_t>()))?;
                check(libc::syscall(libc::SYS_setresgid, uid, uid, uid))?;
                // From uid 0 to another: the kernel clears permitted and effective.
                check(libc::syscall(libc::SYS_setresuid, uid, uid, uid))?;
            }
        } else {
            for (d, &k) in data.iter_mut().zip(&self.keep) {
                d.effective = k;
                d.permitted = k;
            }
        }
        let header = CapHeader { version: 0x2008_0522, pid: 0 };
        // SAFETY: header and data are valid for the call (version 3: two data records).
        check(unsafe { libc::syscall(libc::SYS_capset, &header, data.as_ptr()) })?;
        // SAFETY: integer arguments only.
        check(
            unsafe { libc::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong, 0, 0, 0) }
                .into(),
        )?;
        Ok(())
    }
}

impl Namespaces {
    /// New namespaces, then a fork: the parent waits and ends as its child
    /// did; the child (PID 1 of the new PID namespace) mounts /proc, masks
    /// runc's paths, brings `lo` up and returns to go on.
    fn enter(&self) -> std::io::Result<()> {
        let flags =
            libc::CLONE_NEWNS | libc::CLONE_NEWPID | libc::CLONE_NEWNET | libc::CLONE_NEWUTS | libc::CLONE_NEWIPC;
        // SAFETY: integer argument only.
        check(unsafe { libc::unshare(flags) }.into())?;
        // SAFETY: a raw fork (no atfork handlers: this is already a forked
        // copy of a multi-threaded process); both sides make system calls only.
        let pid = check(unsafe { libc::syscall(libc::SYS_clone, libc::SIGCHLD, 0, 0, 0, 0) })?;
        if pid > 0 {
            wait_and_end_alike(pid as libc::pid_t);
        }
        let null = std::ptr::null::<libc::c_char>();
        // SAFETY (all mounts): NUL-terminated strings prepared before the fork.
        unsafe {
            check(
                libc::mount(null, self.root.as_ptr(), null, libc::MS_REC | libc::MS_PRIVATE, std::ptr::null()).into(),
            )?;
            let proc_flags = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
            check(
                libc::mount(c"proc".as_ptr(), self.proc_.as_ptr(), c"proc".as_ptr(), proc_flags, std::ptr::null())
                    .into(),
            )?;
            for (path, dir) in &self.masked {
                if *dir {
                    libc::mount(c"tmpfs".as_ptr(), path.as_ptr(), c"tmpfs".as_ptr(), libc::MS_RDONLY, std::ptr::null());
                } else {
                    libc::mount(c"/dev/null".as_ptr(), path.as_ptr(), null, libc::MS_BIND, std::ptr::null());
                }
            }
            for path in &self.readonly {
                if libc::mount(path.as_ptr(), path.as_ptr(), null, libc::MS_BIND | libc::MS_REC, std::ptr::null()) == 0
                {
                    let ro = libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY;
                    libc::mount(path.as_ptr(), path.as_ptr(), null, ro, std::ptr::null());
                }
            }
        }
        // SAFETY: a datagram socket for two interface ioctls on a copy of
        // the prepared ifreq; the fd is closed before returning.
        unsafe {
            let sock = check(libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0).into())? as i32;
            let mut req = self.lo;
            let got = libc::ioctl(sock, libc::SIOCGIFFLAGS as _, &mut req);
            req.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
            let set = if got == 0 { libc::ioctl(sock, libc::SIOCSIFFLAGS as _, &req) } else { got };
            libc::close(sock);
            check(set.into())?;
        }
        Ok(())
    }
}

/// The intermediate process of the namespaced variant: closes every fd (so
/// the caller sees EOF and exec success only through the container's
/// process), waits for `pid` and exits with its status or dies of its signal.
fn wait_and_end_alike(pid: libc::pid_t) -> ! {
    // SAFETY: system calls on integers and a local status word; never returns.
    unsafe {
        libc::syscall(libc::SYS_close_range, 0, u32::MAX, 0);
        let mut status = 0;
        while libc::waitpid(pid, &mut status, 0) < 0 {
            if *libc::__errno_location() != libc::EINTR {
                libc::_exit(125);
            }
        }
        if libc::WIFSIGNALED(status) {
            let sig = libc::WTERMSIG(status);
            libc::signal(sig, libc::SIG_DFL);
            libc::kill(libc::syscall(libc::SYS_getpid) as libc::pid_t, sig);
            libc::_exit(128 + sig);
        }
        libc::_exit(libc::WEXITSTATUS(status))
    }
}

/// `struct __user_cap_header_struct`.
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

/// `struct __user_cap_data_struct`.
#[repr(C)]
#[derive(Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}
