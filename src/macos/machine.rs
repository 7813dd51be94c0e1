//! What sbx learns about this Mac before a run, beyond the policy: the
//! terminals on its stdin, stdout and stderr, and which optional SBPL forms
//! this macOS's profile compiler accepts (its [`Dialect`]). Choosing from
//! those facts is pure and tested on every platform; only the `detect`
//! functions look at the machine, on macOS.
//!
//! Guarantee: a fact sbx could not establish never drops a restriction
//! silently. A form is used only once a probe compiled it; the cache keeps
//! only forms that compiled, so a forged or stale cache can make a profile
//! fail to compile (sbx then exits 125 and forgets the cache), never make it
//! weaker. When no form of the TIOCSTI rule compiles, the command runs in a
//! new session instead (see [`Dialect::new_session`]).

use std::path::{Path, PathBuf};

/// How an optional rule is spelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// By the name macOS's headers use (`TIOCSTI`).
    Symbolic,
    /// By its number, for a macOS whose SBPL does not bind the name (Codex
    /// issue 45119: `unbound variable: TIOCSTI` on macOS 14.2, exit 65).
    Numeric,
}

/// One optional rule in one spelling: its name in the cache and its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    pub id: &'static str,
    pub rule: &'static str,
}

/// No synthetic keyboard or mouse events.
pub const HID_CONTROL: Candidate = Candidate { id: "hid-control", rule: "(deny hid-control)" };
/// No TIOCSTI (terminal input injection), by name.
pub const TIOCSTI_SYMBOLIC: Candidate =
    Candidate { id: "tiocsti-symbolic", rule: "(deny file-ioctl (ioctl-command TIOCSTI))" };
/// No TIOCSTI, by number: `_IOW('t', 114, char)` = 0x80017472.
pub const TIOCSTI_NUMERIC: Candidate =
    Candidate { id: "tiocsti-numeric", rule: "(deny file-ioctl (ioctl-command 2147578994))" };
/// No change of a file's data-protection class, by name.
pub const PROTECTION_CLASS_SYMBOLIC: Candidate =
    Candidate { id: "protection-class-symbolic", rule: "(deny system-fcntl (fcntl-command F_SETPROTECTIONCLASS))" };
/// No change of a file's data-protection class, by number (`F_SETPROTECTIONCLASS` = 64).
pub const PROTECTION_CLASS_NUMERIC: Candidate =
    Candidate { id: "protection-class-numeric", rule: "(deny system-fcntl (fcntl-command 64))" };

/// Every candidate, in the order they are tried.
pub const CANDIDATES: &[Candidate] =
    &[HID_CONTROL, TIOCSTI_SYMBOLIC, TIOCSTI_NUMERIC, PROTECTION_CLASS_SYMBOLIC, PROTECTION_CLASS_NUMERIC];

/// Which optional rules this macOS compiles, and in which spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dialect {
    pub hid_control: bool,
    pub tiocsti: Option<Form>,
    pub protection_class: Option<Form>,
}

impl Dialect {
    /// Every rule, by name: what the macOS versions sbx's peers run on
    /// accept. For the golden profiles and the fuzz target; a run uses what
    /// [`Dialect::choose`] finds.
    pub const BY_NAME: Dialect =
        Dialect { hid_control: true, tiocsti: Some(Form::Symbolic), protection_class: Some(Form::Symbolic) };

    /// Chooses each rule's spelling by asking `compiles` (at most once per
    /// candidate): the name first, the number only if the name does not
    /// compile.
    pub fn choose(mut compiles: impl FnMut(&Candidate) -> bool) -> Self {
        let mut pick = |symbolic: &Candidate, numeric: &Candidate| {
            if compiles(symbolic) {
                Some(Form::Symbolic)
            } else if compiles(numeric) {
                Some(Form::Numeric)
            } else {
                None
            }
        };
        let tiocsti = pick(&TIOCSTI_SYMBOLIC, &TIOCSTI_NUMERIC);
        let protection_class = pick(&PROTECTION_CLASS_SYMBOLIC, &PROTECTION_CLASS_NUMERIC);
        Dialect { hid_control: compiles(&HID_CONTROL), tiocsti, protection_class }
    }

    /// The TIOCSTI rule, if this macOS can name it.
    pub fn tiocsti_rule(&self) -> Option<&'static str> {
        self.tiocsti.map(|form| match form {
            Form::Symbolic => TIOCSTI_SYMBOLIC.rule,
            Form::Numeric => TIOCSTI_NUMERIC.rule,
        })
    }

    /// The F_SETPROTECTIONCLASS rule, if this macOS can name it.
    pub fn protection_class_rule(&self) -> Option<&'static str> {
        self.protection_class.map(|form| match form {
            Form::Symbolic => PROTECTION_CLASS_SYMBOLIC.rule,
            Form::Numeric => PROTECTION_CLASS_NUMERIC.rule,
        })
    }

    /// Whether the command must start in a new session (`setsid`): TIOCSTI
    /// cannot be named here, and without a controlling terminal the command
    /// cannot inject into the caller's (TIOCSTI needs the terminal to be the
    /// caller's controlling one, unless it runs as root).
    pub fn new_session(&self) -> bool {
        self.tiocsti.is_none()
    }

    /// One line for `--doctor`: how TIOCSTI is kept out.
    pub fn describe_tiocsti(&self) -> &'static str {
        match self.tiocsti {
            Some(Form::Symbolic) => "denied by the profile ((ioctl-command TIOCSTI))",
            Some(Form::Numeric) => {
                "denied by the profile, by number (this macOS does not bind the name TIOCSTI in SBPL)"
            }
            None => {
                "this macOS's SBPL cannot name TIOCSTI: commands run in a new session, without a controlling \
                 terminal (no /dev/tty, no job control)"
            }
        }
    }
}

/// What the cache already says of `candidate`: `Some(true)` when it lists
/// it, `Some(false)` when it lists the other spelling of the same rule
/// (either does the job, so the name is not probed again on a macOS that
/// needs the number), `None` when only a probe can tell. A rule no
/// spelling of which is listed is probed on every run.
pub fn cached_answer(candidate: &Candidate, cached: &[&str]) -> Option<bool> {
    let other = [(TIOCSTI_SYMBOLIC, TIOCSTI_NUMERIC), (PROTECTION_CLASS_SYMBOLIC, PROTECTION_CLASS_NUMERIC)]
        .iter()
        .find_map(|&(a, b)| {
            if a == *candidate {
                Some(b)
            } else if b == *candidate {
                Some(a)
            } else {
                None
            }
        });
    if cached.contains(&candidate.id) {
        Some(true)
    } else if other.is_some_and(|other| cached.contains(&other.id)) {
        Some(false)
    } else {
        None
    }
}

/// The first line of the cache file: its format.
const CACHE_HEADER: &str = "sbx seatbelt forms 1";

/// The candidate ids the cache in `text` lists as compiling on the macOS
/// build `build`: none when the file is for another build or not in this
/// format. Unknown ids are dropped.
pub fn cached_forms(text: &str, build: &str) -> Vec<&'static str> {
    let mut lines = text.lines();
    let key = format!("build {build}");
    if build.is_empty() || lines.next() != Some(CACHE_HEADER) || lines.next() != Some(key.as_str()) {
        return Vec::new();
    }
    lines.filter_map(|id| CANDIDATES.iter().find(|c| c.id == id).map(|c| c.id)).collect()
}

/// The cache file's text: the forms that compiled on `build`.
pub fn cache_text(build: &str, ids: &[&str]) -> String {
    let mut text = format!("{CACHE_HEADER}\nbuild {build}\n");
    for id in ids {
        text.push_str(id);
        text.push('\n');
    }
    text
}

/// The terminal devices among sbx's stdin, stdout and stderr (`None`: not a
/// terminal), once each, in that order. Only `/dev/…` names count.
pub fn terminals(names: impl IntoIterator<Item = Option<PathBuf>>) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    for name in names.into_iter().flatten() {
        if name.starts_with("/dev") && name != Path::new("/dev") && !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// The facts about this Mac a profile needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    /// The command's own terminals (see [`terminals`]): readable and
    /// writable (data only) when files are restricted; no other terminal is.
    pub terminals: Vec<PathBuf>,
    pub dialect: Dialect,
}

#[cfg(target_os = "macos")]
mod detect {
    use std::path::PathBuf;
    use std::process::{Command, Stdio};

    use super::{Candidate, Dialect, Machine, cache_text, cached_answer, cached_forms, terminals};
    use crate::macos::diagnose::APPLY_FAILED;
    use crate::macos::profile::SANDBOX_EXEC;
    use crate::macos::sys;

    impl Machine {
        /// This Mac's facts: the terminals on fds 0–2 and the dialect;
        /// `None` when no profile can be applied here at all (sbx runs
        /// inside another sandbox).
        pub fn detect() -> Option<Self> {
            Some(Machine { terminals: terminals((0..3).map(sys::ttyname)), dialect: Dialect::detect()? })
        }
    }

    /// What a probe showed.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Probe {
        Compiles,
        /// sandbox-exec refused the rule (65), or could not be started.
        Refused,
        /// No profile can be applied here (71): inside another sandbox.
        CannotApply,
    }

    impl Dialect {
        /// Probes each candidate this macOS build is not already known to
        /// compile: `sandbox-exec -p '(version 1)(allow default)RULE'
        /// /usr/bin/true` (a few milliseconds each, on the first run after
        /// an update). Forms that compiled are cached in
        /// `~/Library/Caches/sbx/seatbelt-forms`. `None` when a probe could
        /// not apply even that profile (inside another sandbox, where
        /// nothing can be learned and nothing can run sandboxed).
        pub fn detect() -> Option<Self> {
            let build = sys::sysctl_string(c"kern.osversion").unwrap_or_default();
            let path = cache_path();
            let text = path.as_ref().and_then(|p| std::fs::read_to_string(p).ok()).unwrap_or_default();
            let mut known = cached_forms(&text, &build);
            let before = known.len();
            let mut nested = false;
            let dialect = Dialect::choose(|candidate| {
                if let Some(answer) = cached_answer(candidate, &known) {
                    return answer;
                }
                match probe(candidate) {
                    Probe::Compiles => {
                        known.push(candidate.id);
                        true
                    }
                    Probe::Refused => false,
                    Probe::CannotApply => {
                        nested = true;
                        false
                    }
                }
            });
            if nested {
                return None;
            }
            if known.len() > before && !build.is_empty() {
                if let Some(path) = &path {
                    store(path, &cache_text(&build, &known));
                }
            }
            Some(dialect)
        }

        /// Forgets the cache (after this macOS refused a profile: a form
        /// the cache claims may not compile after all).
        pub fn forget() {
            if let Some(path) = cache_path() {
                let _ = std::fs::remove_file(path);
            }
        }
    }

    fn cache_path() -> Option<PathBuf> {
        let home = crate::paths::home_dir(std::env::var_os("HOME"))?;
        Some(home.join("Library/Caches/sbx/seatbelt-forms"))
    }

    /// Writes the cache through a temporary file and a rename, so a reader
    /// never sees half of it; failures only cost a probe next time.
    fn store(path: &std::path::Path, text: &str) {
        let Some(dir) = path.parent() else { return };
        let temporary = dir.join(format!(".seatbelt-forms.{}", std::process::id()));
        let written = std::fs::create_dir_all(dir)
            .and_then(|()| std::fs::write(&temporary, text))
            .and_then(|()| std::fs::rename(&temporary, path));
        if let Err(err) = written {
            tracing::debug!(%err, path = %path.display(), "could not cache the SBPL forms");
            let _ = std::fs::remove_file(&temporary);
        }
    }

    /// Whether this macOS compiles `candidate`: sandbox-exec ends 0 with it,
    /// 65 when it does not compile, 71 when it cannot apply any profile.
    fn probe(candidate: &Candidate) -> Probe {
        let status = Command::new(SANDBOX_EXEC)
            .arg("-p")
            .arg(format!("(version 1)(allow default){}", candidate.rule))
            .arg("/usr/bin/true")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        tracing::debug!(rule = candidate.rule, ?status, "probed an SBPL form");
        match status.map(|s| s.code()) {
            Ok(Some(0)) => Probe::Compiles,
            Ok(Some(APPLY_FAILED)) => Probe::CannotApply,
            _ => Probe::Refused,
        }
    }
}

#[cfg(test)]
mod tests;
