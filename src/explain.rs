//! `sbx --explain`: the resolved policy — every restriction and rule, where
//! it came from (default, flag, or profile key with its file and line), and
//! what this platform will and will not enforce of it (Linux: this kernel;
//! macOS: SBPL's limits, see [`crate::macos::enforcement`]) — as text for
//! people or JSON for tools. Guarantees: nothing is run and nothing on disk changes
//! (missing `--allow-write` directories are listed, not created); the
//! verdict is the one a real run would reach.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::cli::ExplainFormat;
use crate::config::{Chosen, Resolved};
use crate::env::{BASE_VARS, EnvPolicy};
use crate::policy::{Access, Deny, HideOutcome, Kind, Net, Policy, Source, TEMP_VARS, Temp};
use crate::support::{Coverage, Gap, How, Platform, Support};
use crate::trust::TrustStatus;

/// The whole explanation; its JSON form is `--explain=json`.
#[derive(Debug, Serialize)]
pub struct Explanation {
    /// COMMAND and its arguments (lossy UTF-8), empty when none was given.
    pub command: Vec<String>,
    pub profile: Option<ProfileOut>,
    /// The configuration files read, highest precedence first.
    pub config_files: Vec<FileOut>,
    /// Every profile `-p` can name, and where it is defined.
    pub available_profiles: Vec<AvailableOut>,
    /// read, write, net, env — in that order.
    pub restrictions: Vec<RestrictionOut>,
    /// Filesystem rules, when reading or writing is denied.
    pub paths: Vec<PathOut>,
    /// `--allow-write` directories that do not exist: created when the command runs.
    pub created_when_run: Vec<PathOut>,
    /// Paths kept read-only inside the writable paths.
    pub protected: Vec<ProtectedOut>,
    /// Default protections lifted, and by what.
    pub unprotected: Vec<ProtectedOut>,
    /// The temporary directory the command may write (when writing is denied).
    pub temp: Option<TempOut>,
    /// Every hide asked for (`--hide`, the secrets set): hidden, lifted or skipped.
    pub hidden: Vec<HiddenOut>,
    pub network: NetworkOut,
    pub environment: EnvironmentOut,
    pub best_effort: Option<SourceOut>,
    /// Whether every fd above stderr is closed before COMMAND starts, and who asked.
    pub close_fds: Option<SourceOut>,
    /// `kernel` on Linux, `macos` on macOS.
    #[serde(flatten)]
    pub platform: PlatformOut,
    pub verdict: VerdictOut,
}

#[derive(Debug, Serialize)]
pub struct ProfileOut {
    pub name: String,
    /// `-p`, `SBX_PROFILE` or `default`.
    pub selected_by: String,
    /// `built in`, `user configuration`, `project configuration`, `--config file`.
    pub defined_in: String,
    pub file: Option<String>,
    pub line: Option<usize>,
}

#[derive(Debug, Serialize)]
pub struct AvailableOut {
    pub name: String,
    pub defined_in: String,
    pub file: Option<String>,
    pub line: Option<usize>,
}

#[derive(Debug, Serialize)]
pub struct FileOut {
    pub kind: String,
    pub path: String,
    /// For a project file: `trusted`, `not trusted` or `changed since trusted`.
    pub trust: Option<String>,
}

/// Which temporary directory is in force under `--deny-write`.
#[derive(Debug, Serialize)]
pub struct TempOut {
    /// `shared` (`/tmp` and `$TMPDIR`, the default) or `private` (`--private-tmp`).
    pub mode: String,
    /// The shared temporary directories still granted: `/tmp` and
    /// `$TMPDIR` when shared; when private, none on Linux, and on macOS the
    /// per-user temporary directory (a default of its own).
    pub shared: Vec<String>,
    /// Private: where it is made (`PARENT/sbx-XXXXXX`).
    pub parent: Option<String>,
    /// Private: who asked for it.
    pub source: Option<SourceOut>,
    /// Private: who asked to keep it at exit, if anyone.
    pub keep: Option<SourceOut>,
}

/// Where a rule came from.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum SourceOut {
    Default {
        why: String,
    },
    Flag {
        flag: String,
    },
    Profile {
        profile: String,
        key: String,
        file: Option<String>,
        line: Option<usize>,
        /// Where an `allow_registries` host was found (`~/.npmrc: registry`).
        #[serde(skip_serializing_if = "Option::is_none")]
        found_in: Option<String>,
    },
}

impl From<&Source> for SourceOut {
    fn from(source: &Source) -> Self {
        match source {
            Source::Default(why) => SourceOut::Default { why: (*why).to_owned() },
            Source::Flag(flag) => SourceOut::Flag { flag: (*flag).to_owned() },
            Source::Profile(key) => SourceOut::Profile {
                profile: key.profile.clone(),
                key: key.key.to_owned(),
                file: key.at.as_ref().map(|(f, _)| show(f)),
                line: key.at.as_ref().map(|(_, l)| *l),
                found_in: key.from.clone(),
            },
        }
    }
}

#[derive(Debug, Serialize)]
pub struct RestrictionOut {
    /// `read`, `write`, `net`, `env`.
    pub kind: String,
    pub denied: bool,
    pub source: Option<SourceOut>,
    /// Denied because an exception of its kind was given (`--allow-write` implies `--deny-write`).
    pub implied: bool,
    /// What this kernel does not enforce of it.
    pub unenforced: Vec<GapOut>,
    /// macOS only: limits of its sandbox that refuse nothing (absent when none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub limits: Vec<LimitOut>,
}

/// A limit of the platform's sandbox that holds for every run and refuses nothing.
#[derive(Debug, Clone, Serialize)]
pub struct LimitOut {
    pub what: String,
    pub why: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct GapOut {
    pub what: String,
    pub needs: String,
}

impl From<&Gap> for GapOut {
    fn from(gap: &Gap) -> Self {
        Self { what: gap.what.clone(), needs: gap.needs.clone() }
    }
}

#[derive(Debug, Serialize)]
pub struct PathOut {
    pub path: String,
    /// `read` or `read+write`.
    pub access: String,
    /// `dir` (and everything beneath) or `file`.
    pub is_dir: bool,
    pub source: SourceOut,
    /// A writable tree that holds protected paths: the command's writes
    /// there are performed by sbx.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub performed: bool,
}

/// A protected path (or a lifted default): why, and who asked (or lifted).
#[derive(Debug, Serialize)]
pub struct ProtectedOut {
    pub path: String,
    pub why: String,
    pub source: SourceOut,
}

/// One hide and what became of it.
#[derive(Debug, Serialize)]
pub struct HiddenOut {
    pub path: String,
    /// `hidden`, `lifted` or `skipped`.
    pub status: String,
    /// For an entry of the secrets set: what it holds.
    pub holds: Option<String>,
    pub source: SourceOut,
    /// Hidden: the rule it is cut out of. Lifted: the rule that names it.
    /// Skipped: why.
    pub detail: String,
    /// Hidden: the rules beneath it that grant part of it again.
    pub except: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct EntryOut {
    pub entry: String,
    pub source: SourceOut,
}

#[derive(Debug, Serialize)]
pub struct NetworkOut {
    /// `unrestricted`, `denied` or `allow-list`.
    pub mode: String,
    pub allow: Vec<EntryOut>,
    pub unix: Vec<EntryOut>,
    /// The package tools' registries `allow_registries` looked up (absent
    /// when none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub registries: Vec<RegistriesOut>,
}

/// How a package tool's registries were looked up.
#[derive(Debug, Serialize)]
pub struct RegistriesOut {
    pub profile: String,
    pub tool: String,
    /// Whether every registry the tool uses was found.
    pub known: bool,
    /// The files and variables read, and the tool asked, in order.
    pub looked_at: Vec<String>,
    /// Entries skipped and why; why asking the tool failed.
    pub notes: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct EnvironmentOut {
    /// `inherit` or `filter`.
    pub mode: String,
    /// Always passed under `filter`.
    pub base: Vec<String>,
    pub allow: Vec<EntryOut>,
}

/// The platform and what it does not enforce: `"kernel": {…}` on Linux,
/// `"macos": {…}` on macOS.
#[derive(Debug, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PlatformOut {
    Kernel(KernelOut),
    Macos(MacosOut),
}

impl PlatformOut {
    /// What this platform does not enforce of the policy, all restrictions together.
    pub fn unenforced(&self) -> &[GapOut] {
        match self {
            PlatformOut::Kernel(k) => &k.unenforced,
            PlatformOut::Macos(m) => &m.unenforced,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct MacosOut {
    /// `sw_vers -productVersion`.
    pub version: Option<String>,
    pub arch: String,
    /// `present`, `missing` or `not executable (…)`.
    pub sandbox_exec: String,
    /// Whether sbx already runs inside a macOS sandbox (`null`: unknown).
    pub inside_sandbox: Option<bool>,
    /// Why sbx cannot sandbox anything here (`null`: it can).
    pub unusable: Option<String>,
    /// The `--allow-net` entries SBPL cannot name: refused, or dropped under --best-effort.
    pub unenforced: Vec<GapOut>,
    /// Limits of every run (the restrictions list their own).
    pub limits: Vec<LimitOut>,
}

#[derive(Debug, Serialize)]
pub struct KernelOut {
    pub release: Option<String>,
    pub arch: String,
    /// 0: no Landlock.
    pub landlock_abi: u8,
    pub landlock: String,
    /// Why the network supervisor cannot run here (`null`: it can): the
    /// cause — a missing kernel feature, an enclosing seccomp filter or
    /// listener, Yama, an LSM — and the fix.
    pub supervisor_unavailable: Option<String>,
    /// Why the supervisor, though it runs, cannot take the command's file
    /// descriptors and so cannot act on its sockets (`null`: it can, or
    /// there is no supervisor): e.g. a container's seccomp profile that
    /// refuses pidfd_getfd; with the fix.
    pub fd_taking_unavailable: Option<String>,
    /// What this kernel does not enforce of the policy, all restrictions together.
    pub unenforced: Vec<GapOut>,
    /// How each restriction of the policy (and of every run) is enforced
    /// on this kernel: the Landlock right, seccomp, sbx's supervisor — or
    /// why not.
    pub enforcement: Vec<EnforcementOut>,
}

/// One restriction and how this kernel enforces it.
#[derive(Debug, Serialize)]
pub struct EnforcementOut {
    pub what: String,
    /// `read`, `write`, `net`, `env`, or `null` for every run.
    pub restriction: Option<String>,
    /// `enforced`, `not enforced` (a gap: refused unless --best-effort) or
    /// `open` (not asked for by the policy; said, not refused).
    pub status: String,
    /// The mechanism, what enforcing it needs, or why it stays open.
    pub how: String,
}

impl From<&Coverage> for EnforcementOut {
    fn from(c: &Coverage) -> Self {
        let (status, how) = match &c.how {
            How::Enforced(how) => ("enforced", how),
            How::Gap(needs) => ("not enforced", needs),
            How::Open(why) => ("open", why),
        };
        Self {
            what: c.what.clone(),
            restriction: c.kind.map(|k| k.name().to_owned()),
            status: status.to_owned(),
            how: how.clone(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct VerdictOut {
    /// Whether `sbx` would start the command.
    pub runs: bool,
    /// Why it would not.
    pub refusals: Vec<String>,
    pub warnings: Vec<String>,
}

/// Builds the explanation of `policy`, resolved from `resolved`, on `platform`.
pub fn explain(policy: &Policy, resolved: &Resolved, platform: &Platform) -> Explanation {
    let gaps = platform.gaps(policy);
    let baseline = platform.gaps(&only(policy, Deny::default(), false));
    let gaps_of = |kind: Kind| -> Vec<GapOut> {
        let deny = Deny {
            read: kind == Kind::Read,
            write: kind == Kind::Write,
            net: kind == Kind::Net,
            env: kind == Kind::Env,
        };
        platform
            .gaps(&only(policy, deny, kind == Kind::Net))
            .iter()
            .filter(|g| !baseline.contains(g) && gaps.contains(g))
            .map(GapOut::from)
            .collect()
    };
    let restrictions = Kind::ALL
        .iter()
        .map(|&kind| {
            let reason = policy.origins.denied(kind);
            RestrictionOut {
                kind: kind.name().to_owned(),
                denied: reason.is_some(),
                source: reason.map(|r| SourceOut::from(&r.source)),
                implied: reason.is_some_and(|r| r.implied),
                unenforced: if reason.is_some() { gaps_of(kind) } else { Vec::new() },
                limits: if reason.is_some() { limits_of(platform, policy, Some(kind)) } else { Vec::new() },
            }
        })
        .collect();
    let supervised = policy.supervised_trees();
    let paths = policy
        .paths
        .iter()
        .map(|r| PathOut {
            path: show(&r.path),
            access: r.access.to_string(),
            is_dir: r.is_dir,
            source: SourceOut::from(&r.source),
            performed: supervised.contains(&r.path),
        })
        .collect();
    let created_when_run = policy
        .missing_dirs
        .iter()
        .map(|d| PathOut {
            path: show(&d.value),
            access: Access::Write.to_string(),
            is_dir: true,
            source: SourceOut::from(&d.source),
            performed: false,
        })
        .collect();
    let protected = policy
        .protection
        .protected
        .iter()
        .map(|p| ProtectedOut { path: show(&p.path), why: p.why.clone(), source: SourceOut::from(&p.source) })
        .collect();
    let unprotected = policy
        .protection
        .lifted
        .iter()
        .map(|l| ProtectedOut { path: show(&l.path), why: l.why.clone(), source: SourceOut::from(&l.by) })
        .collect();
    let shared: Vec<String> = policy
        .paths
        .iter()
        .filter(|r| r.access == Access::Write)
        .filter(|r| matches!(r.source, Source::Default(why) if why.contains(crate::policy::defaults::TEMPORARY)))
        .map(|r| show(&r.path))
        .collect();
    let temp = policy.deny.write.then(|| match &policy.temp {
        Temp::Shared => TempOut { mode: "shared".into(), shared, parent: None, source: None, keep: None },
        Temp::Private(private) => TempOut {
            mode: "private".into(),
            shared,
            parent: Some(show(&private.parent)),
            source: Some(SourceOut::from(&private.source)),
            keep: private.keep.as_ref().map(SourceOut::from),
        },
    });
    let hidden = policy
        .origins
        .hide
        .iter()
        .map(|n| {
            let (status, detail, except) = match &n.outcome {
                HideOutcome::Hidden { from, except } => ("hidden", from.clone(), except.clone()),
                HideOutcome::Lifted(by) => ("lifted", by.clone(), Vec::new()),
                HideOutcome::Skipped(why) => ("skipped", why.clone(), Vec::new()),
            };
            HiddenOut {
                path: show(&n.path),
                status: status.to_owned(),
                holds: n.holds.map(str::to_owned),
                source: SourceOut::from(&n.source),
                detail,
                except,
            }
        })
        .collect();
    let network = NetworkOut {
        mode: match &policy.net {
            Net::Unrestricted => "unrestricted",
            Net::Denied => "denied",
            Net::Allow(_) => "allow-list",
        }
        .to_owned(),
        allow: policy
            .origins
            .net
            .iter()
            .map(|e| EntryOut { entry: e.value.clone(), source: SourceOut::from(&e.source) })
            .collect(),
        unix: policy
            .origins
            .unix
            .iter()
            .map(|e| EntryOut { entry: show(&e.value), source: SourceOut::from(&e.source) })
            .collect(),
        registries: resolved
            .registries
            .iter()
            .map(|(profile, l)| RegistriesOut {
                profile: profile.clone(),
                tool: l.tool.name().to_owned(),
                known: l.known,
                looked_at: l.looked_at.clone(),
                notes: l.notes.clone(),
            })
            .collect(),
    };
    let environment = EnvironmentOut {
        mode: match policy.env {
            EnvPolicy::Inherit => "inherit",
            EnvPolicy::Filter { .. } => "filter",
        }
        .to_owned(),
        base: if policy.deny.env { BASE_VARS.iter().map(|v| (*v).to_owned()).collect() } else { Vec::new() },
        allow: policy
            .origins
            .env
            .iter()
            .map(|e| EntryOut { entry: e.value.clone(), source: SourceOut::from(&e.source) })
            .collect(),
    };
    let mut refusals = Vec::new();
    let mut warnings = resolved.warnings.clone();
    if let Some(refusal) = &resolved.refusal {
        refusals.push(refusal.to_string());
    }
    let platform_out = match platform {
        Platform::Linux(support) => {
            kernel_verdict(policy, support, &gaps, &mut refusals, &mut warnings);
            PlatformOut::Kernel(kernel_out(support, policy, &gaps))
        }
        #[cfg(any(target_os = "macos", test))]
        Platform::Macos(mac) => macos_out(policy, mac, &gaps, &mut refusals, &mut warnings),
    };
    Explanation {
        command: policy.command.iter().map(|a| a.to_string_lossy().into_owned()).collect(),
        profile: resolved.profile.as_ref().map(profile_out),
        config_files: config_files(resolved),
        available_profiles: available_profiles(resolved),
        restrictions,
        paths,
        created_when_run,
        protected,
        unprotected,
        temp,
        hidden,
        network,
        environment,
        best_effort: policy.origins.best_effort.as_ref().map(SourceOut::from),
        close_fds: policy.origins.close_fds.as_ref().map(SourceOut::from),
        platform: platform_out,
        verdict: VerdictOut { runs: refusals.is_empty(), refusals, warnings },
    }
}

/// The verdict a run would reach on Linux: refused (or warned about, with
/// --best-effort) for what the kernel does not enforce — named as the run
/// names it: the kernel where Landlock is what is missing, else the causes
/// (an enclosing seccomp filter, Yama, …) and their fixes.
fn kernel_verdict(
    policy: &Policy,
    support: &Support,
    gaps: &[Gap],
    refusals: &mut Vec<String>,
    warnings: &mut Vec<String>,
) {
    if !gaps.is_empty() {
        let landlock = gaps.iter().any(|g| g.needs.starts_with("Landlock"));
        // The causes the gaps name (the supervisor's), each once, with the fix.
        let causes: Vec<String> = [&support.no_supervisor, &support.no_fd_taking]
            .into_iter()
            .flatten()
            .filter(|limit| gaps.iter().any(|g| g.needs.contains(&limit.cause)))
            .map(|limit| limit.text())
            .collect();
        if policy.best_effort {
            warnings.push(if landlock {
                "--best-effort: the command runs without the restrictions this kernel does not enforce".to_owned()
            } else {
                "--best-effort: the command runs without the restrictions sbx cannot enforce here".to_owned()
            });
        } else if landlock && causes.is_empty() {
            refusals.push(format!(
                "this kernel cannot enforce part of the policy (Landlock: {}; see `unenforced`); upgrade the kernel \
                 (or enable Landlock), or pass --best-effort to run without those restrictions",
                support.landlock.describe()
            ));
        } else if landlock {
            refusals.push(format!(
                "this kernel cannot enforce part of the policy (Landlock: {}; see `unenforced`), and sbx's \
                 supervisor cannot stand in for all of it here: {}; upgrade the kernel (or enable Landlock) or fix \
                 that, or pass --best-effort to run without those restrictions",
                support.landlock.describe(),
                causes.join("; ")
            ));
        } else {
            let causes = if causes.is_empty() { String::new() } else { format!(": {}", causes.join("; ")) };
            refusals.push(format!(
                "sbx cannot enforce part of the policy here (see `unenforced`){causes}; fix that, or pass \
                 --best-effort to run without those restrictions"
            ));
        }
    }
    if !policy.restricts_anything() {
        warnings.push(
            "nothing is restricted beyond the baseline (no_new_privs, signal and abstract socket scopes, no terminal injection, namespaces, mounts or kernel code)".to_owned(),
        );
    }
}

fn kernel_out(support: &Support, policy: &Policy, gaps: &[Gap]) -> KernelOut {
    KernelOut {
        enforcement: support.coverage(policy).iter().map(EnforcementOut::from).collect(),
        release: support.kernel.clone(),
        arch: support.arch.to_owned(),
        landlock_abi: support.landlock.version(),
        landlock: support.landlock.describe(),
        supervisor_unavailable: support.supervisor_unavailable(),
        fd_taking_unavailable: support.fd_taking_unavailable(),
        unenforced: gaps.iter().map(GapOut::from).collect(),
    }
}

/// The limits of `platform` for `policy` that belong to `kind` (`None`: to every run).
fn limits_of(platform: &Platform, policy: &Policy, kind: Option<Kind>) -> Vec<LimitOut> {
    match platform {
        Platform::Linux(_) => {
            let _ = (policy, kind);
            Vec::new()
        }
        #[cfg(any(target_os = "macos", test))]
        Platform::Macos(mac) => crate::macos::enforcement::limits(policy, mac)
            .into_iter()
            .filter(|l| l.kind == kind)
            .map(|l| LimitOut { what: l.what, why: l.why })
            .collect(),
    }
}

/// The macOS part of the explanation, and the verdict a run would reach —
/// sandbox-exec missing or nested, and [`crate::macos::profile::check_network`]'s
/// refusal or `--best-effort` warning, word for word.
#[cfg(any(target_os = "macos", test))]
fn macos_out(
    policy: &Policy,
    mac: &crate::macos::enforcement::MacSupport,
    gaps: &[Gap],
    refusals: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> PlatformOut {
    use crate::macos::enforcement::{Nesting, SandboxExec};
    let unusable = mac.unusable();
    if let Some(why) = &unusable {
        refusals.push(format!("{why}; sbx will not run the command unsandboxed"));
    }
    match crate::macos::profile::check_network(policy) {
        Ok((_, Some(warning))) => warnings.push(warning),
        Ok((_, None)) => {}
        Err(refusal) => refusals.push(refusal.to_string()),
    }
    if !policy.restricts_anything() {
        warnings.push(format!("nothing is restricted beyond the baseline ({})", crate::macos::enforcement::BASELINE));
    }
    let platform = Platform::Macos(mac.clone());
    PlatformOut::Macos(MacosOut {
        version: mac.version.clone(),
        arch: mac.arch.to_owned(),
        sandbox_exec: match &mac.sandbox_exec {
            SandboxExec::Present => "present".to_owned(),
            SandboxExec::Missing => "missing".to_owned(),
            SandboxExec::NotExecutable(what) => format!("not executable ({what})"),
        },
        inside_sandbox: match mac.nesting {
            Nesting::Outside => Some(false),
            Nesting::Inside(_) => Some(true),
            Nesting::Unknown(_) => None,
        },
        unusable,
        unenforced: gaps.iter().map(GapOut::from).collect(),
        limits: limits_of(&platform, policy, None),
    })
}

/// `policy` with only the restrictions in `deny` (and its network rules
/// only when `net`), to tell which restriction a gap belongs to.
fn only(policy: &Policy, deny: Deny, net: bool) -> Policy {
    let mut p = policy.clone();
    p.deny = deny;
    if !deny.read {
        p.hidden.clear();
    }
    if !net {
        p.net = Net::Unrestricted;
    }
    p
}

fn config_files(resolved: &Resolved) -> Vec<FileOut> {
    resolved
        .files
        .iter()
        .map(|(layer, path, trust)| FileOut {
            kind: layer.describe().to_owned(),
            path: show(path),
            trust: trust.map(|t| {
                match t {
                    TrustStatus::Trusted => "trusted",
                    TrustStatus::NotTrusted => "not trusted",
                    TrustStatus::Changed => "changed since trusted",
                }
                .to_owned()
            }),
        })
        .collect()
}

fn available_profiles(resolved: &Resolved) -> Vec<AvailableOut> {
    resolved
        .available
        .iter()
        .map(|d| AvailableOut {
            name: d.name.clone(),
            defined_in: d.layer.describe().to_owned(),
            file: d.at.as_ref().map(|(f, _)| show(f)),
            line: d.at.as_ref().map(|(_, l)| *l),
        })
        .collect()
}

fn profile_out(chosen: &Chosen) -> ProfileOut {
    ProfileOut {
        name: chosen.name.clone(),
        selected_by: chosen.by.to_string(),
        defined_in: chosen.layer.describe().to_owned(),
        file: chosen.at.as_ref().map(|(f, _)| show(f)),
        line: chosen.at.as_ref().map(|(_, l)| *l),
    }
}

fn show(path: &Path) -> String {
    path.display().to_string()
}

/// Renders `e` as `format`.
pub fn render(e: &Explanation, format: ExplainFormat) -> String {
    match format {
        ExplainFormat::Json => {
            let mut out = serde_json::to_string_pretty(e).unwrap_or_else(|err| format!("{{\"error\": \"{err}\"}}"));
            out.push('\n');
            out
        }
        ExplainFormat::Text => text(e),
    }
}

/// What an `--allow-net` entry means where its text does not say it: a
/// URL's `HOST:PORT`, a port to listen on.
fn net_meaning(entry: &str) -> String {
    match crate::policy::NetRule::parse(entry) {
        Ok(rule) if rule.is_listen() => match rule.port {
            Some(port) => format!(" (listening on port {port}, all interfaces)"),
            None => " (listening on every port, all interfaces)".to_owned(),
        },
        Ok(rule) if entry.contains('/') && !rule.to_string().contains('/') => format!(" (= {rule})"),
        _ => String::new(),
    }
}

fn source_text(source: &SourceOut) -> String {
    match source {
        SourceOut::Default { why } => format!("default: {why}"),
        SourceOut::Flag { flag } => flag.clone(),
        SourceOut::Profile { profile, key, file, line, found_in } => {
            let found = found_in.as_ref().map(|f| format!(", found in {f}")).unwrap_or_default();
            match (file, line) {
                (Some(file), Some(line)) => format!("profile {profile}: {key}, {file}:{line}{found}"),
                _ => format!("profile {profile}: {key} (built in){found}"),
            }
        }
    }
}

fn text(e: &Explanation) -> String {
    let mut out = String::new();
    let command = if e.command.is_empty() {
        "(no command given)".to_owned()
    } else {
        e.command.iter().map(|a| crate::shell::quote(a)).collect::<Vec<_>>().join(" ")
    };
    let _ = writeln!(out, "command: {command}");
    match &e.profile {
        Some(p) => {
            let at = match (&p.file, p.line) {
                (Some(f), Some(l)) => format!("{}, {f}:{l}", p.defined_in),
                _ => p.defined_in.clone(),
            };
            let _ = writeln!(out, "profile: {} ({at}; selected by {})", p.name, p.selected_by);
        }
        None => {
            let _ = writeln!(out, "profile: none");
        }
    }
    for f in &e.config_files {
        match &f.trust {
            Some(trust) => {
                let _ = writeln!(out, "read: {} ({}, {trust})", f.path, f.kind);
            }
            None => {
                let _ = writeln!(out, "read: {} ({})", f.path, f.kind);
            }
        }
    }

    let _ = writeln!(out, "\nrestrictions");
    for r in &e.restrictions {
        let name = match r.kind.as_str() {
            "net" => "network",
            "env" => "environment",
            other => other,
        };
        match &r.source {
            Some(source) if r.denied => {
                let why = if r.implied { format!("implied by {}", source_text(source)) } else { source_text(source) };
                let _ = writeln!(out, "  {name:<12} denied       {why}");
            }
            _ => {
                let _ = writeln!(out, "  {name:<12} not denied");
            }
        }
        for gap in &r.unenforced {
            let _ = writeln!(out, "  {:<12} NOT ENFORCED here: {} (needs {})", "", gap.what, gap.needs);
        }
        for limit in &r.limits {
            let _ = writeln!(out, "  {:<12} LIMIT on macOS: {} ({})", "", limit.what, limit.why);
        }
    }

    if !e.paths.is_empty() || !e.created_when_run.is_empty() {
        let _ = writeln!(out, "\nfiles (everything else is denied{})", denied_fs(e));
        for p in &e.paths {
            let mut path = if p.is_dir { p.path.clone() } else { format!("{} (file)", p.path) };
            if p.performed {
                path.push_str(" (holds protected paths: sbx performs the writes)");
            }
            let _ = writeln!(out, "  {:<10} {path}  ← {}", p.access, source_text(&p.source));
        }
        for p in &e.created_when_run {
            let _ = writeln!(out, "  {:<10} {} (created when run)  ← {}", p.access, p.path, source_text(&p.source));
        }
    }
    if !e.protected.is_empty() || !e.unprotected.is_empty() {
        let _ = writeln!(
            out,
            "\nprotected: read-only inside the writable paths (sbx performs the command's writes around them)"
        );
        for p in &e.protected {
            let _ = writeln!(out, "  {}  ← {}\n    {}", p.path, source_text(&p.source), p.why);
        }
        for p in &e.unprotected {
            let _ = writeln!(out, "  {} (default lifted)  ← {}", p.path, source_text(&p.source));
        }
    }

    if let Some(temp) = &e.temp {
        temp_text(&mut out, temp);
    }

    if !e.hidden.is_empty() {
        let reads_denied = e.restrictions.iter().any(|r| r.kind == "read" && r.denied);
        hidden_text(&mut out, &e.hidden, reads_denied);
    }

    let macos = matches!(e.platform, PlatformOut::Macos(_));
    let _ = writeln!(out, "\nnetwork");
    match e.network.mode.as_str() {
        "unrestricted" if e.network.allow.is_empty() && e.network.unix.is_empty() => {
            let _ = writeln!(out, "  not restricted");
        }
        "unrestricted" => {
            let _ = writeln!(out, "  all network allowed");
        }
        "denied" if macos => {
            let _ = writeln!(
                out,
                "  no network (socket pairs keep working; connecting to a unix socket needs --allow-unix)"
            );
        }
        "denied" => {
            let _ = writeln!(out, "  no network (socket pairs and unix sockets made inside the sandbox keep working)");
        }
        _ if macos => {
            let _ = writeln!(out, "  only these (and socket pairs; unix sockets only the --allow-unix ones):");
        }
        _ => {
            let _ = writeln!(out, "  only these (and unix sockets made inside the sandbox):");
        }
    }
    for entry in &e.network.allow {
        let _ = writeln!(
            out,
            "  allow      {}{}  ← {}",
            entry.entry,
            net_meaning(&entry.entry),
            source_text(&entry.source)
        );
    }
    for entry in &e.network.unix {
        let _ = writeln!(out, "  unix       {}  ← {}", entry.entry, source_text(&entry.source));
    }
    for r in &e.network.registries {
        let state = if r.known { "" } else { " — NOT all found" };
        let _ = writeln!(
            out,
            "  {}'s registries (profile {}){state}: looked at {}",
            r.tool,
            r.profile,
            r.looked_at.join(", ")
        );
        for note in &r.notes {
            let _ = writeln!(out, "    {note}");
        }
    }

    let _ = writeln!(out, "\nenvironment");
    if e.environment.mode == "inherit" {
        let _ = writeln!(out, "  inherited whole");
    } else {
        let _ = writeln!(out, "  only {} and:", e.environment.base.join(" "));
        if e.environment.allow.is_empty() {
            let _ = writeln!(out, "  (no other variable)");
        }
        for entry in &e.environment.allow {
            let _ = writeln!(out, "  allow      {}  ← {}", entry.entry, source_text(&entry.source));
        }
    }
    if let Some(source) = &e.close_fds {
        let _ = writeln!(out, "\nfile descriptors: every one above stderr closed ({})", source_text(source));
    }
    if let Some(source) = &e.best_effort {
        let _ = writeln!(out, "\nbest effort: on ({})", source_text(source));
    }

    let _ = writeln!(out, "\nprofiles (-p NAME)");
    for p in &e.available_profiles {
        match (&p.file, p.line) {
            (Some(f), Some(l)) => {
                let _ = writeln!(out, "  {:<14} {f}:{l}", p.name);
            }
            _ => {
                let _ = writeln!(out, "  {:<14} {}", p.name, p.defined_in);
            }
        }
    }

    match &e.platform {
        PlatformOut::Kernel(k) => {
            let _ = writeln!(
                out,
                "\nthis kernel: Linux {} {}, Landlock {}, network supervisor {}",
                k.release.as_deref().unwrap_or("(unknown release)"),
                k.arch,
                k.landlock,
                match (&k.supervisor_unavailable, &k.fd_taking_unavailable) {
                    (None, None) => "available".to_owned(),
                    (Some(why), _) => format!("unavailable ({why})"),
                    (None, Some(why)) => format!(
                        "available, but it cannot take the command's file descriptors, so it cannot act on its \
                         sockets ({why})"
                    ),
                }
            );
            let _ = writeln!(out, "  how each restriction is enforced here:");
            for row in &k.enforcement {
                let restriction = row.restriction.as_deref().unwrap_or("every run");
                let how = match row.status.as_str() {
                    "enforced" => row.how.clone(),
                    "open" => format!("open — {}", row.how),
                    _ => format!("NOT ENFORCED (needs {})", row.how),
                };
                let _ = writeln!(out, "  - [{restriction}] {}: {how}", row.what);
            }
        }
        PlatformOut::Macos(m) => {
            let _ = writeln!(
                out,
                "\nthis system: macOS {} ({}), /usr/bin/sandbox-exec {}, {}",
                m.version.as_deref().unwrap_or("(version unknown)"),
                m.arch,
                m.sandbox_exec,
                match m.inside_sandbox {
                    Some(false) => "not inside another sandbox",
                    Some(true) => "INSIDE another sandbox (macOS does not nest them)",
                    None => "whether inside another sandbox is unknown",
                }
            );
        }
    }
    let unenforced = e.platform.unenforced();
    if unenforced.is_empty() {
        let _ = writeln!(out, "  enforces all of the above");
    } else {
        let _ = writeln!(out, "  does not enforce:");
        for gap in unenforced {
            let _ = writeln!(out, "  - {} (needs {})", gap.what, gap.needs);
        }
    }
    if let PlatformOut::Macos(m) = &e.platform {
        for limit in &m.limits {
            let _ = writeln!(out, "  limit: {} ({})", limit.what, limit.why);
        }
    }

    let _ = writeln!(out);
    for w in &e.verdict.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    if e.verdict.runs {
        let _ = writeln!(out, "verdict: sbx would run the command under this policy");
    } else {
        let _ = writeln!(out, "verdict: sbx would refuse to run (exit 125):");
        for r in &e.verdict.refusals {
            let _ = writeln!(out, "  - {r}");
        }
    }
    out
}

/// The temporary directory section: shared or private, and who asked.
fn temp_text(out: &mut String, temp: &TempOut) {
    let _ = writeln!(out, "\ntemporary directory");
    match (&temp.parent, &temp.source) {
        (Some(parent), Some(source)) => {
            let _ = writeln!(
                out,
                "  private    {parent}/sbx-XXXXXX, made for this run (mode 0700)  ← {}",
                source_text(source)
            );
            let _ = writeln!(out, "             {} point at it", TEMP_VARS.join(", "));
            match &temp.keep {
                Some(keep) => {
                    let _ = writeln!(out, "             kept when the command ends  ← {}", source_text(keep));
                }
                None => {
                    let _ = writeln!(out, "             removed when the command ends");
                }
            }
            if temp.shared.is_empty() {
                let _ = writeln!(out, "             /tmp and $TMPDIR themselves are not granted");
            } else {
                let _ = writeln!(out, "             still writable by default: {}", temp.shared.join(", "));
            }
        }
        _ if temp.shared.is_empty() => {
            let _ = writeln!(out, "  none: neither /tmp nor $TMPDIR is writable (--private-tmp makes one per run)");
        }
        _ => {
            let _ = writeln!(
                out,
                "  shared     {} (default; writable by every process: --private-tmp makes one per run instead)",
                temp.shared.join(", ")
            );
        }
    }
}

/// The hidden paths: each hide, what it is cut out of (or what lifts it,
/// or why it is skipped), and what hiding leaves possible.
fn hidden_text(out: &mut String, hidden: &[HiddenOut], reads_denied: bool) {
    let _ = writeln!(out, "\nhidden (unreadable although a rule covers them)");
    for h in hidden {
        let holds = h.holds.as_deref().map(|w| format!(" ({w})")).unwrap_or_default();
        let _ = writeln!(out, "  {:<10} {}{holds}  ← {}", h.status, h.path, source_text(&h.source));
        let detail = match h.status.as_str() {
            "hidden" => format!("cut out of {}", h.detail),
            "lifted" => format!("readable: {} names it (remove that to hide it)", h.detail),
            _ => h.detail.clone(),
        };
        let _ = writeln!(out, "  {:<10} {detail}", "");
        for e in &h.except {
            let _ = writeln!(out, "  {:<10} except {e}", "");
        }
    }
    if hidden.iter().any(|h| h.status == "hidden") {
        let _ = writeln!(
            out,
            "  A hidden path's names can still be listed; its files cannot be read or executed (EACCES), nor\n  \
             reached through a link, a rename or /proc/self/root. A file made during the run directly in a\n  \
             directory on the way to a hidden path is unreadable to the command until the run ends."
        );
        let lift = if reads_denied {
            "To read a hidden path, name it: --allow-read=PATH."
        } else {
            "To read a hidden path, leave out the --hide (or --hide-secrets) that hides it: without --deny-read,\n  \
             --allow-read=PATH would deny every other read."
        };
        let _ = writeln!(out, "  {lift}");
    }
}

fn denied_fs(e: &Explanation) -> &'static str {
    let denied = |k: &str| e.restrictions.iter().any(|r| r.kind == k && r.denied);
    match (denied("read"), denied("write")) {
        (true, true) => "",
        (true, false) => " for reading; writing is not restricted",
        (false, true) => " for writing; reading is not restricted",
        (false, false) => "",
    }
}

/// The explanation of `request` on `platform`, with no configuration file
/// (in `/`): for tests of each platform's part.
#[cfg(test)]
pub(crate) fn explained(request: crate::policy::Request, platform: &Platform) -> Explanation {
    let ctx = crate::policy::Surroundings { vars: Vec::new(), cwd: "/".into() };
    let policy = Policy::build(&request, &ctx).unwrap_or_else(|e| panic!("{e:#}"));
    let resolved = Resolved {
        request,
        profile: None,
        refusal: None,
        files: Vec::new(),
        warnings: Vec::new(),
        available: Vec::new(),
        registries: Vec::new(),
    };
    explain(&policy, &resolved, platform)
}

#[cfg(test)]
#[cfg(target_os = "linux")]
mod tests {
    use super::*;
    use crate::policy::Request;
    use crate::support::{Confinement, Ia32, Landlock, Limit};

    fn support(abi: u8, supervisor_missing: Option<&str>) -> Platform {
        Platform::Linux(Support {
            kernel: Some("5.19.0".into()),
            arch: "x86_64",
            landlock: if abi == 0 { Landlock::Missing("ENOSYS".into()) } else { Landlock::Abi(abi) },
            seccomp_filter: true,
            user_notif: supervisor_missing.is_none(),
            confinement: Confinement::default(),
            probes: Vec::new(),
            no_supervisor: supervisor_missing
                .map(|m| Limit { cause: format!("this kernel lacks {m}"), fix: "upgrade the kernel".into() }),
            no_fd_taking: None,
            memory_through_proc: false,
            delegated: None,
            ia32: Ia32::NotApplicable,
        })
    }

    fn kernel(e: &Explanation) -> &KernelOut {
        match &e.platform {
            PlatformOut::Kernel(k) => k,
            PlatformOut::Macos(_) => panic!("not Linux"),
        }
    }

    fn denying(kinds: &[Kind]) -> Request {
        let mut r = Request::default();
        for &k in kinds {
            r.deny(k, Source::Flag("--test"));
        }
        r
    }

    #[test]
    fn gaps_are_told_per_restriction_and_refuse_the_run() {
        // ABI 2 without a supervisor (it covers these gaps where it can run).
        let e = explained(denying(&[Kind::Write, Kind::Net]), &support(2, Some("pidfd_getfd (Linux 5.6)")));
        let write = &e.restrictions[1];
        assert!(write.unenforced.iter().any(|g| g.what.contains("truncating")), "{:?}", write.unenforced);
        let net = &e.restrictions[2];
        assert!(net.unenforced.iter().any(|g| g.what.contains("abstract unix sockets")), "{:?}", net.unenforced);
        assert!(!net.unenforced.iter().any(|g| g.what.contains("truncating")));
        // With a supervisor the same kernel enforces all of it.
        let e2 = explained(denying(&[Kind::Write, Kind::Net]), &support(2, None));
        assert!(e2.verdict.runs && kernel(&e2).unenforced.is_empty(), "{:?}", kernel(&e2).unenforced);
        // The signal scope belongs to every run, not to a restriction.
        assert!(!e.restrictions.iter().any(|r| r.unenforced.iter().any(|g| g.what.contains("signals"))));
        assert!(kernel(&e).unenforced.iter().any(|g| g.what.contains("signals")));
        assert!(!e.verdict.runs);
        assert!(e.restrictions[0].unenforced.is_empty() && !e.restrictions[0].denied);
    }

    #[test]
    fn best_effort_runs_and_says_so() {
        let mut request = denying(&[Kind::Write]);
        request.best_effort = Some(Source::Flag("--best-effort"));
        let e = explained(request, &support(0, None));
        assert!(e.verdict.runs && e.verdict.warnings.iter().any(|w| w.contains("--best-effort")));
        assert_eq!(kernel(&e).landlock_abi, 0);
    }

    #[test]
    fn without_the_supervisor_allow_lists_are_a_gap() {
        let mut request = Request::default();
        request.allow_net.push(crate::policy::Sourced::new("127.0.0.1".into(), Source::Flag("--allow-net")));
        let e = explained(request, &support(7, Some("pidfd_getfd (Linux 5.6)")));
        assert!(e.restrictions[2].unenforced.iter().any(|g| g.what.contains("--allow-net rules")));
        assert!(!e.verdict.runs);
        let text = render(&e, ExplainFormat::Text);
        assert!(text.contains("NOT ENFORCED here: --allow-net rules") && text.contains("pidfd_getfd"), "{text}");
        let e = explained(denying(&[Kind::Env]), &support(7, None));
        assert!(e.verdict.runs && kernel(&e).unenforced.is_empty());
    }

    #[test]
    fn urls_and_listening_entries_say_what_they_mean() {
        let mut request = Request::default();
        for entry in ["https://registry.example.com/", "0.0.0.0:8080", "[::]", "10.0.0.0/8", "localhost"] {
            request.allow_net.push(crate::policy::Sourced::new(entry.into(), Source::Flag("--allow-net")));
        }
        let text = render(&explained(request, &support(7, None)), ExplainFormat::Text);
        for line in [
            "allow      https://registry.example.com/ (= registry.example.com:443)  ← --allow-net",
            "allow      0.0.0.0:8080 (listening on port 8080, all interfaces)  ← --allow-net",
            "allow      [::] (listening on every port, all interfaces)  ← --allow-net",
            "allow      10.0.0.0/8  ← --allow-net",
            "allow      localhost  ← --allow-net",
        ] {
            assert!(text.contains(line), "{line}\n{text}");
        }
    }

    #[test]
    fn an_enclosing_filter_is_named_not_the_kernel() {
        // Docker's default profile: the supervisor runs, without pidfd_getfd.
        let Platform::Linux(mut inside) = support(7, None) else { unreachable!() };
        inside.no_fd_taking = Some(Limit {
            cause: "the enclosing seccomp filter refuses pidfd_getfd (EPERM)".into(),
            fix: "run the container with --cap-add=SYS_PTRACE".into(),
        });
        let platform = Platform::Linux(inside);
        let e = explained(denying(&[Kind::Net]), &platform);
        assert!(!e.verdict.runs);
        assert_eq!(
            e.verdict.refusals,
            ["sbx cannot enforce part of the policy here (see `unenforced`): the enclosing seccomp filter refuses \
              pidfd_getfd (EPERM) — fix: run the container with --cap-add=SYS_PTRACE; fix that, or pass \
              --best-effort to run without those restrictions"]
        );
        assert_eq!(kernel(&e).supervisor_unavailable, None);
        let text = render(&e, ExplainFormat::Text);
        assert!(
            text.contains(
                "network supervisor available, but it cannot take the command's file descriptors, so it cannot act \
                 on its sockets (the enclosing seccomp filter refuses pidfd_getfd (EPERM) — fix: run the container \
                 with --cap-add=SYS_PTRACE)"
            ) && !text.contains("this kernel lacks")
                && !text.contains("upgrade the kernel"),
            "{text}"
        );
        // What needs no fd of the command's runs there.
        let e = explained(denying(&[Kind::Write, Kind::Read, Kind::Env]), &platform);
        assert!(e.verdict.runs, "{:?}", e.verdict);
    }
}
