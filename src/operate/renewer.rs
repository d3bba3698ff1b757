//! A fleet worker's lease renewals, heartbeat and fleet status, on a
//! PostgreSQL connection and a thread of their own.
//!
//! Why not in the `run` loop: the loop's writes take the writer's lock
//! shared, so while a `build` (or `store copy`) holds it exclusively, the
//! loop's next write waits, and everything behind it in the loop with it.
//! A build longer than a lease then let every lease of every worker lapse,
//! and other workers fetched those sources a second time. Renewals touch
//! only lease rows and take no writer's lock, so they go on here whatever
//! the loop is waiting for.
//!
//! The thread renews every period ([`Renewer::start`]'s `every`) until
//! [`Renewer::stop`] (or drop), which returns only once the thread has
//! ended, so that leaving the fleet afterwards is the last word.

use chrono::{DateTime, Utc};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::store::StoreError;
use crate::store::pg::leases::{ALIVE_WITHIN, FleetStatus, Leases};

/// A source due this long without a worker claiming it counts as overdue
/// (`/healthz`, `/metrics`).
pub const OVERDUE_AFTER: Duration = Duration::from_secs(60);

/// What the loop tells the renewer and what the renewer found.
#[derive(Default)]
struct Board {
    /// Fetches in flight, for the heartbeat row.
    in_flight: usize,
    /// The fleet's status as last read.
    status: Option<FleetStatus>,
    stop: bool,
}

struct Inner {
    board: Mutex<Board>,
    wake: Condvar,
}

impl Inner {
    fn board(&self) -> std::sync::MutexGuard<'_, Board> {
        self.board.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The renewal thread's handle.
pub struct Renewer {
    inner: Arc<Inner>,
    thread: Option<JoinHandle<()>>,
}

impl Renewer {
    /// Starts renewing `leases`' holder's leases to `lease` from each
    /// renewal, every `every`, with a heartbeat (the worker started at
    /// `started`); the first renewal is at once.
    pub fn start(leases: Leases, lease: Duration, started: DateTime<Utc>, every: Duration) -> std::io::Result<Renewer> {
        let inner = Arc::new(Inner { board: Mutex::new(Board::default()), wake: Condvar::new() });
        let shared = inner.clone();
        let thread = std::thread::Builder::new()
            .name("lease-renewer".into())
            .spawn(move || renew_until_stopped(&leases, lease, started, every, &shared))?;
        Ok(Renewer { inner, thread: Some(thread) })
    }

    /// Tells the next heartbeat how many fetches are in flight, and takes
    /// the fleet status read since the last call, if any.
    pub fn report(&self, in_flight: usize) -> Option<FleetStatus> {
        let mut board = self.inner.board();
        board.in_flight = in_flight;
        board.status.take()
    }

    /// Stops renewing; returns once the thread has ended (after its
    /// renewal under way, if one is).
    pub fn stop(&mut self) {
        self.inner.board().stop = true;
        self.inner.wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Renewer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn renew_until_stopped(leases: &Leases, lease: Duration, started: DateTime<Utc>, every: Duration, inner: &Inner) {
    let mut last_renewed = Instant::now();
    loop {
        let in_flight = inner.board().in_flight;
        match renew_once(leases, lease, started, in_flight) {
            Ok(status) => {
                let silent = last_renewed.elapsed();
                if silent >= lease {
                    // The store was out of reach for longer than a lease:
                    // other workers may have claimed and fetched this
                    // worker's sources too (the later result is stored).
                    tracing::warn!(
                        "leases lapsed: not renewed for {} (lease {}); other workers may have fetched these sources too",
                        humantime::format_duration(Duration::from_secs(silent.as_secs())),
                        humantime::format_duration(lease)
                    );
                }
                last_renewed = Instant::now();
                inner.board().status = Some(status);
            }
            Err(e) => tracing::warn!("leases not renewed (tried again in {}): {e}", humantime::format_duration(every)),
        }
        let board = inner.board();
        let (board, _) = inner.wake.wait_timeout_while(board, every, |b| !b.stop).unwrap_or_else(|p| p.into_inner());
        if board.stop {
            return;
        }
    }
}

/// One renewal: every lease this worker holds (sources and hosts), its
/// heartbeat, and the fleet's status.
fn renew_once(leases: &Leases, lease: Duration, started: DateTime<Utc>, in_flight: usize) -> Result<FleetStatus, StoreError> {
    let now = Utc::now();
    leases.renew_all(now, lease)?;
    leases.heartbeat(now, started, in_flight)?;
    leases.status(now, ALIVE_WITHIN, OVERDUE_AFTER)
}
