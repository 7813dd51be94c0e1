//! A small thread pool for the supervisor: jobs never wait behind a blocked
//! one (a job that finds no idle thread gets a new one), idle threads are
//! reused and exit after a while, and stacks are small to keep memory low.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

type Job = Box<dyn FnOnce() + Send + 'static>;

/// Threads kept waiting for work at most; more exit when done.
const MAX_IDLE: usize = 4;
/// How long an idle thread waits before it exits.
const IDLE_TIMEOUT: Duration = Duration::from_secs(20);
/// Stack size of a worker (jobs keep their buffers on the heap).
const STACK: usize = 256 * 1024;

#[derive(Default)]
struct State {
    jobs: VecDeque<Job>,
    /// Threads waiting on the condvar.
    idle: usize,
    /// Wake-ups sent and not yet consumed.
    wakeups: usize,
}

#[derive(Default)]
struct Inner {
    state: Mutex<State>,
    cond: Condvar,
}

/// The pool; cloning shares it.
#[derive(Clone, Default)]
pub struct Pool {
    inner: Arc<Inner>,
}

impl Pool {
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `job` on a worker thread; if no thread can be started (out of
    /// memory or processes), runs a queued job here rather than lose it.
    pub fn submit(&self, job: Job) -> std::io::Result<()> {
        let mut st = self.inner.state.lock().unwrap_or_else(PoisonError::into_inner);
        st.jobs.push_back(job);
        if st.idle > st.wakeups {
            st.wakeups += 1;
            self.inner.cond.notify_one();
            return Ok(());
        }
        drop(st);
        let inner = Arc::clone(&self.inner);
        let spawned =
            std::thread::Builder::new().name("sbx-worker".into()).stack_size(STACK).spawn(move || work(&inner));
        match spawned {
            Ok(_) => Ok(()),
            Err(err) => {
                let job = self.inner.state.lock().unwrap_or_else(PoisonError::into_inner).jobs.pop_back();
                if let Some(job) = job {
                    job();
                }
                Err(err)
            }
        }
    }
}

fn work(inner: &Inner) {
    let mut st = inner.state.lock().unwrap_or_else(PoisonError::into_inner);
    loop {
        if let Some(job) = st.jobs.pop_front() {
            drop(st);
            job();
            st = inner.state.lock().unwrap_or_else(PoisonError::into_inner);
            if st.jobs.is_empty() && st.idle >= MAX_IDLE {
                return;
            }
            continue;
        }
        st.idle += 1;
        let (guard, timeout) = inner.cond.wait_timeout(st, IDLE_TIMEOUT).unwrap_or_else(PoisonError::into_inner);
        st = guard;
        st.idle -= 1;
        st.wakeups = st.wakeups.saturating_sub(1);
        if timeout.timed_out() && st.jobs.is_empty() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn a_blocked_job_does_not_hold_up_the_next() {
        let pool = Pool::new();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let (done_tx, done_rx) = mpsc::channel::<u32>();
        let d = done_tx.clone();
        pool.submit(Box::new(move || {
            let _ = release_rx.recv();
            let _ = d.send(1);
        }))
        .unwrap();
        let d = done_tx.clone();
        pool.submit(Box::new(move || {
            let _ = d.send(2);
        }))
        .unwrap();
        assert_eq!(done_rx.recv_timeout(Duration::from_secs(5)), Ok(2));
        release_tx.send(()).unwrap();
        assert_eq!(done_rx.recv_timeout(Duration::from_secs(5)), Ok(1));
    }

    #[test]
    fn many_jobs_all_run() {
        let pool = Pool::new();
        let (tx, rx) = mpsc::channel::<usize>();
        for i in 0..500 {
            let tx = tx.clone();
            pool.submit(Box::new(move || {
                let _ = tx.send(i);
            }))
            .unwrap();
            if i % 7 == 0 {
                std::thread::yield_now();
            }
        }
        let mut got: Vec<usize> = (0..500).map(|_| rx.recv_timeout(Duration::from_secs(5)).unwrap()).collect();
        got.sort_unstable();
        assert_eq!(got, (0..500).collect::<Vec<_>>());
    }
}
