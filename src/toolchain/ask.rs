//! Asking a package tool for its built-in default: the program found on the
//! caller's PATH, run with the caller's environment, in `/` (so no project
//! directory's files or modules are involved), no input, its errors
//! discarded, for at most [`TIMEOUT`].

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::policy::Surroundings;

/// How long a tool may take to answer.
pub(super) const TIMEOUT: Duration = Duration::from_secs(10);

/// The non-empty lines `program args…` printed, if it exited 0; else why not.
pub(super) fn run(program: &str, args: &[&str], ctx: &Surroundings) -> Result<Vec<String>, String> {
    let mut child = Command::new(program)
        .args(args)
        .env_clear()
        .envs(ctx.vars.iter().map(|(k, v)| (k, v)))
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|err| match err.kind() {
            std::io::ErrorKind::NotFound => format!("failed: {program} is not on PATH"),
            _ => format!("failed: cannot run {program} ({err})"),
        })?;
    let started = Instant::now();
    // Read on a thread: a process the tool leaves behind may hold the pipe
    // open after the tool exits.
    let (tx, rx) = std::sync::mpsc::channel();
    if let Some(mut stdout) = child.stdout.take() {
        std::thread::spawn(move || {
            let mut out = Vec::new();
            let read = stdout.read_to_end(&mut out).map(|_| out);
            let _ = tx.send(read);
        });
    }
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() < TIMEOUT => std::thread::sleep(Duration::from_millis(2)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("did not answer within {} s", TIMEOUT.as_secs()));
            }
            Err(err) => return Err(format!("failed: {err}")),
        }
    };
    if !status.success() {
        return Err(format!("failed ({status})"));
    }
    let out = match rx.recv_timeout(TIMEOUT.saturating_sub(started.elapsed())) {
        Ok(Ok(out)) => out,
        Ok(Err(err)) => return Err(format!("failed: cannot read its output ({err})")),
        Err(_) => return Err("exited, but something it started kept its output open".into()),
    };
    Ok(String::from_utf8_lossy(&out).lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect())
}
