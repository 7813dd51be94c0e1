//! The supervisor's receiver threads. Each blocks receiving from the seccomp
//! listener, handles the notification it got, and goes back to receiving:
//! one wake-up per call, no hand-off between threads. Whenever the last idle
//! receiver takes a notification it first starts another, so a call that
//! blocks (a connect to a host that does not answer) never delays the next
//! one — up to [`MAX_THREADS`] receivers: a command that keeps more calls
//! blocked at once (a flood of connects to a black hole) makes its further
//! calls wait in the kernel until one returns, instead of growing sbx without
//! end. Receivers beyond a few idle ones exit. Stacks are small to keep
//! memory low.

use std::os::fd::BorrowedFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use nix::errno::Errno;

use super::sys::Notification;

/// Receivers kept waiting at most; more exit when done.
const MAX_IDLE: usize = 4;
/// Receivers at most (each may be blocked in a call it performs): about
/// 16 MiB of stacks.
pub const MAX_THREADS: usize = 64;
/// Stack size of a receiver (handlers keep their buffers on the heap).
const STACK: usize = 256 * 1024;

/// What the receivers serve.
pub trait Serve: Send + Sync + 'static {
    /// Runs first on every receiver thread.
    fn thread_start(&self) {}

    /// Blocks for the next notification; `Ok(None)` if it vanished.
    fn receive(&self) -> Result<Option<Notification>, Errno>;
    /// Decides, performs and answers one notification.
    fn handle(&self, req: Notification);
}

struct Shared<S> {
    server: S,
    idle: AtomicUsize,
    /// Receivers running (idle or handling a call).
    running: AtomicUsize,
}

/// Blocks for the next notification on `listener`. `None` when the waiting
/// thread went away before it could be received.
pub fn receive_from(listener: BorrowedFd<'_>) -> Result<Option<Notification>, Errno> {
    match super::sys::notif_receive(listener) {
        Ok(req) => Ok(Some(req)),
        // ENOENT also answers every receive once no process uses the filter
        // any more: then the listener reports a hang-up, and this receiver
        // ends instead of spinning.
        Err(Errno::ENOENT) if super::sys::hung_up(listener) => Err(Errno::ENOENT),
        Err(Errno::ENOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Starts the first receiver.
pub fn start<S: Serve>(server: S) -> std::io::Result<()> {
    spawn(Arc::new(Shared { server, idle: AtomicUsize::new(0), running: AtomicUsize::new(0) }))
}

fn spawn<S: Serve>(shared: Arc<Shared<S>>) -> std::io::Result<()> {
    shared.idle.fetch_add(1, Ordering::SeqCst);
    shared.running.fetch_add(1, Ordering::SeqCst);
    let s = Arc::clone(&shared);
    let started = std::thread::Builder::new().name("sbx-receiver".into()).stack_size(STACK).spawn(move || {
        s.server.thread_start();
        receive(&s);
        s.running.fetch_sub(1, Ordering::SeqCst);
    });
    if started.is_err() {
        shared.idle.fetch_sub(1, Ordering::SeqCst);
        shared.running.fetch_sub(1, Ordering::SeqCst);
    }
    started.map(drop)
}

/// Runs with `idle` already counting this thread.
fn receive<S: Serve>(shared: &Arc<Shared<S>>) {
    loop {
        let got = shared.server.receive();
        let was_idle = shared.idle.fetch_sub(1, Ordering::SeqCst);
        match got {
            Ok(Some(req)) => {
                if was_idle == 1 && shared.running.load(Ordering::SeqCst) < MAX_THREADS {
                    // Out of memory or processes: this thread stays the only
                    // receiver, and calls wait behind this one.
                    if let Err(err) = spawn(Arc::clone(shared)) {
                        tracing::warn!("cannot start another receiver thread: {err}");
                    }
                }
                shared.server.handle(req);
            }
            Ok(None) => {}
            Err(errno) => {
                // The listener is gone or broken; every mediated call in the
                // sandbox then fails (ENOSYS): nothing passes unchecked.
                tracing::debug!("receiving notifications ended: {}", errno.desc());
                return;
            }
        }
        if shared.idle.load(Ordering::SeqCst) >= MAX_IDLE {
            return;
        }
        shared.idle.fetch_add(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::sync::mpsc::{Receiver, Sender, channel};
    use std::time::Duration;

    /// Notifications from a channel; `handle` blocks on id 0 until released.
    struct Fake {
        rx: Mutex<Receiver<u64>>,
        release: Mutex<Receiver<()>>,
        done: Mutex<Sender<u64>>,
    }

    impl Serve for Fake {
        fn receive(&self) -> Result<Option<Notification>, Errno> {
            // Only one receiver may hold the channel at a time, like the
            // kernel hands each notification to one receiver.
            let id = self.rx.lock().unwrap().recv().map_err(|_| Errno::EBADF)?;
            Ok(Some(Notification { id, ..Notification::default() }))
        }

        fn handle(&self, req: Notification) {
            if req.id == 0 {
                let _ = self.release.lock().unwrap().recv();
            }
            let _ = self.done.lock().unwrap().send(req.id);
        }
    }

    #[test]
    fn receivers_stay_bounded_and_queued_calls_run_once_one_frees() {
        let (tx, rx) = channel();
        let (release_tx, release_rx) = channel();
        let (done_tx, done_rx) = channel();
        let fake = Fake { rx: Mutex::new(rx), release: Mutex::new(release_rx), done: Mutex::new(done_tx) };
        let shared = Arc::new(Shared { server: fake, idle: AtomicUsize::new(0), running: AtomicUsize::new(0) });
        spawn(Arc::clone(&shared)).unwrap();
        // Every call blocks (id 0) until released: more than MAX_THREADS of them.
        for _ in 0..MAX_THREADS + 20 {
            tx.send(0).unwrap();
        }
        std::thread::sleep(Duration::from_millis(300));
        let running = shared.running.load(Ordering::SeqCst);
        assert!(running <= MAX_THREADS, "{running} receivers");
        assert_eq!(running, MAX_THREADS, "fewer receivers than blocked calls allow");
        // Released one by one, all of them run.
        for _ in 0..MAX_THREADS + 20 {
            release_tx.send(()).unwrap();
        }
        for _ in 0..MAX_THREADS + 20 {
            assert_eq!(done_rx.recv_timeout(Duration::from_secs(5)), Ok(0));
        }
    }

    #[test]
    fn a_blocked_call_does_not_hold_up_the_next_and_all_run() {
        let (tx, rx) = channel();
        let (release_tx, release_rx) = channel();
        let (done_tx, done_rx) = channel();
        start(Fake { rx: Mutex::new(rx), release: Mutex::new(release_rx), done: Mutex::new(done_tx) }).unwrap();
        tx.send(0).unwrap();
        for id in 1..=300 {
            tx.send(id).unwrap();
        }
        let mut got: Vec<u64> = (1..=300).map(|_| done_rx.recv_timeout(Duration::from_secs(5)).unwrap()).collect();
        got.sort_unstable();
        assert_eq!(got, (1..=300).collect::<Vec<_>>(), "calls waited behind a blocked one");
        release_tx.send(()).unwrap();
        assert_eq!(done_rx.recv_timeout(Duration::from_secs(5)), Ok(0));
    }
}
