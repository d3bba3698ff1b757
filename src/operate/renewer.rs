//! A fleet worker's lease renewals, heartbeat and fleet status, on a
//! PostgreSQL connection and a thread of their own.
//!
//! Why not in the `run` loop: the loop's writes take the writer's lock
//! shared, so while a `build` (or `store copy`) holds it exclusively, the
//! loop's next write waits, and everything behind it in the loop with it.
//! A build longer than a lease then let every lease of every worker lapse,
//! and other workers fetched those sources a second time. Renewals touch
//! only lease rows, take no writer's lock and wait for no row lock (see
//! `Leases::renew_all`), so they go on here whatever the loop waits for.
//!
//! Two limits keep a worker from holding sources it will never fetch: a
//! loop silent for [`WEDGED_AFTER`] (it reports at every turn, see
//! [`Renewer::report`]) is taken for stuck and its leases are left to
//! lapse, so that other workers take the sources; and a renewal thread
//! that died is told to the loop, which then stops with an error.

use chrono::Utc;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::store::StoreError;
use crate::store::pg::leases::{ALIVE_WITHIN, FleetStatus, Leases};

/// A source due this long without a worker claiming it counts as overdue
/// (`/healthz`, `/metrics`).
pub const OVERDUE_AFTER: Duration = Duration::from_secs(60);

/// A loop that has not reported for this long is stuck, not waiting out a
/// `build` (even a cold one of 10,000 sources takes minutes): its leases
/// are no longer renewed.
pub const WEDGED_AFTER: Duration = Duration::from_secs(30 * 60);

/// How long [`Renewer::stop`] waits for a renewal under way (the store
/// may be out of reach) before it leaves the thread to end by itself.
const STOP_WAIT: Duration = Duration::from_secs(5);

/// What the loop tells the renewer and what the renewer found.
struct Board {
    /// Fetches in flight, for the heartbeat row.
    in_flight: usize,
    /// When the loop last reported.
    reported: Instant,
    /// The fleet's status as last read, not yet taken by the loop.
    status: Option<FleetStatus>,
    stop: bool,
    /// The thread has ended (stopped, or panicked).
    ended: bool,
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

/// Marks the thread ended however it ends, a panic included.
struct EndGuard(Arc<Inner>);

impl Drop for EndGuard {
    fn drop(&mut self) {
        self.0.board().ended = true;
        self.0.wake.notify_all();
    }
}

/// The renewal thread's handle.
pub struct Renewer {
    inner: Arc<Inner>,
    thread: Option<JoinHandle<()>>,
}

impl Renewer {
    /// Starts renewing `leases`' holder's leases to `lease` from each
    /// renewal, every `every`, with a heartbeat; the first renewal is at
    /// once. The holder's `workers` row must exist (the renewals only
    /// update it).
    pub fn start(leases: Leases, lease: Duration, every: Duration) -> std::io::Result<Renewer> {
        Renewer::start_with(leases, lease, every, WEDGED_AFTER)
    }

    /// [`Renewer::start`] taking a loop for stuck after `wedged_after`
    /// without a report, rather than [`WEDGED_AFTER`] (tests).
    pub fn start_with(leases: Leases, lease: Duration, every: Duration, wedged_after: Duration) -> std::io::Result<Renewer> {
        let board = Board { in_flight: 0, reported: Instant::now(), status: None, stop: false, ended: false };
        let inner = Arc::new(Inner { board: Mutex::new(board), wake: Condvar::new() });
        let guard = EndGuard(inner.clone());
        let thread = std::thread::Builder::new().name("lease-renewer".into()).spawn(move || {
            let guard = guard;
            renew_until_stopped(&leases, lease, every, wedged_after, &guard.0);
        })?;
        Ok(Renewer { inner, thread: Some(thread) })
    }

    /// Tells the next heartbeat how many fetches are in flight (and that
    /// the loop is alive), and takes the fleet status read since the last
    /// call, if any. `Err` when the renewal thread has died.
    pub fn report(&self, in_flight: usize) -> std::io::Result<Option<FleetStatus>> {
        let mut board = self.inner.board();
        if board.ended && !board.stop {
            return Err(std::io::Error::other("the lease renewal thread ended; leases are no longer renewed"));
        }
        board.in_flight = in_flight;
        board.reported = Instant::now();
        Ok(board.status.take())
    }

    /// Stops renewing. Waits for a renewal under way up to [`STOP_WAIT`],
    /// then lets the thread end by itself: a late renewal only updates
    /// rows, so it cannot bring back a worker that has left.
    pub fn stop(&mut self) {
        let mut board = self.inner.board();
        board.stop = true;
        self.inner.wake.notify_all();
        let (board, _) = self.inner.wake.wait_timeout_while(board, STOP_WAIT, |b| !b.ended).unwrap_or_else(|p| p.into_inner());
        let ended = board.ended;
        drop(board);
        if let Some(thread) = self.thread.take()
            && ended
        {
            let _ = thread.join();
        }
    }
}

impl Drop for Renewer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn renew_until_stopped(leases: &Leases, lease: Duration, every: Duration, wedged_after: Duration, inner: &Inner) {
    let mut last_renewed = Instant::now();
    let mut wedged = false;
    loop {
        let (in_flight, silent) = {
            let board = inner.board();
            (board.in_flight, board.reported.elapsed())
        };
        if silent >= wedged_after {
            if !wedged {
                tracing::error!(
                    "the run loop has not moved for {}: its leases are no longer renewed, so other workers take its sources",
                    humantime::format_duration(Duration::from_secs(silent.as_secs()))
                );
                wedged = true;
            }
        } else {
            wedged = false;
            match renew_once(leases, lease, in_flight) {
                Ok(status) => {
                    let gap = last_renewed.elapsed();
                    if gap >= lease {
                        // The store was out of reach for longer than a
                        // lease: other workers may have claimed and
                        // fetched these sources too (the later result is
                        // stored).
                        tracing::warn!(
                            "leases lapsed: not renewed for {} (lease {}); other workers may have fetched these sources too",
                            humantime::format_duration(Duration::from_secs(gap.as_secs())),
                            humantime::format_duration(lease)
                        );
                    }
                    last_renewed = Instant::now();
                    inner.board().status = Some(status);
                }
                Err(e) => tracing::warn!("leases not renewed (tried again in {}): {e}", humantime::format_duration(every)),
            }
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
fn renew_once(leases: &Leases, lease: Duration, in_flight: usize) -> Result<FleetStatus, StoreError> {
    let now = Utc::now();
    leases.renew_all(now, lease, in_flight)?;
    leases.status(now, ALIVE_WITHIN, OVERDUE_AFTER)
}
