//! One `wirefeed run` worker's part in a fleet on a PostgreSQL store:
//! instead of keeping every source's due time in memory, the worker
//! claims due sources from the store with leases
//! ([`crate::store::pg::leases`]), fetches them, and lets go of them once
//! their results (with their next due times) are stored. Leases are
//! renewed while fetches go on, with a heartbeat; a worker that stops
//! cleanly lets go of everything at once, one that dies is waited for
//! only until its leases expire.

use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::time::Duration;
use tokio::time::Instant;

use crate::store::StoreError;
use crate::store::pg::leases::{ALIVE_WITHIN, FleetStatus, Lease, Leases};

/// How often a worker with free fetch slots looks for due sources.
pub const CLAIM_EVERY: Duration = Duration::from_secs(1);

/// A source due this long without a worker claiming it counts as overdue
/// (`/healthz`, `/metrics`).
pub const OVERDUE_AFTER: Duration = Duration::from_secs(60);

/// A worker id unique to this process: machine, PID and start time in
/// microseconds (hex), e.g. `news-1:4242:61a2c3d4e5f60`.
pub fn worker_id() -> String {
    let machine = crate::store::pg::leases::machine_name();
    format!("{machine}:{}:{:x}", std::process::id(), Utc::now().timestamp_micros())
}

/// This worker's leases and heartbeat.
pub struct Fleet {
    leases: Leases,
    lease: Duration,
    started: DateTime<Utc>,
    /// The sources this worker holds, by name, with their row keys.
    held: HashMap<String, i64>,
    next_renew: Instant,
    next_claim: Instant,
    status: FleetStatus,
}

impl Fleet {
    /// Joins the fleet on the store at `url` (at this wirefeed's schema)
    /// as worker `owner` ([`worker_id`]) with leases of `lease`: a first
    /// heartbeat.
    pub fn join(url: &str, owner: String, lease: Duration) -> Result<Fleet, StoreError> {
        let started = Utc::now();
        let leases = Leases::open(url, &owner)?;
        leases.heartbeat(started, started, 0)?;
        tracing::info!(worker = %owner, lease = %humantime::format_duration(lease), "joined the fleet");
        let now = Instant::now();
        Ok(Fleet { leases, lease, started, held: HashMap::new(), next_renew: now, next_claim: now, status: FleetStatus::default() })
    }

    /// This worker's id, as the store's leases name it.
    pub fn id(&self) -> &str {
        self.leases.owner()
    }

    /// Renewal period: a quarter of the lease (so three renewals can fail
    /// before it lapses), between 1 and 15 seconds.
    fn renew_every(&self) -> Duration {
        (self.lease / 4).clamp(Duration::from_secs(1), Duration::from_secs(15))
    }

    /// Gives the store's new sources their hosts (see
    /// [`Leases::fill_hosts`]); after the config's sources have rows.
    pub fn fill_hosts(&self) -> Result<(), StoreError> {
        self.leases.fill_hosts().map(drop)
    }

    /// Claims up to `limit` due sources, unless the last claim found fewer
    /// than it asked for less than [`CLAIM_EVERY`] ago.
    pub fn claim(&mut self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Lease>, StoreError> {
        if limit == 0 || Instant::now() < self.next_claim {
            return Ok(Vec::new());
        }
        let claimed = self.leases.claim_due(now, self.lease, limit)?;
        // All it asked for: more may be due, look again at once.
        self.next_claim = if claimed.len() < limit { Instant::now() + CLAIM_EVERY } else { Instant::now() };
        self.held.extend(claimed.iter().map(|l| (l.name.clone(), l.pk)));
        Ok(claimed)
    }

    /// No claim before `wait` has passed (the store refused the last).
    pub fn back_off(&mut self, wait: Duration) {
        self.next_claim = Instant::now() + wait;
    }

    /// When to look for due sources next.
    pub fn next_claim(&self) -> Instant {
        self.next_claim
    }

    /// Whether the last claims found every due source (nothing more was
    /// due when it last looked).
    pub fn drained(&self) -> bool {
        Instant::now() < self.next_claim
    }

    /// Forgets `names`, whose turns are over. `stored`: their states are
    /// stored, which let go of their leases in the same statement (the
    /// store was opened with this worker's id); their hosts, if idle, are
    /// let go at the next claim. Otherwise (the store refused the results,
    /// or the sources left the config) the leases are let go here, so
    /// that whoever claims next fetches them.
    pub fn done(&mut self, names: &[String], stored: bool) -> Result<(), StoreError> {
        let pks: Vec<i64> = names.iter().filter_map(|n| self.held.remove(n)).collect();
        if !stored && !pks.is_empty() {
            self.leases.release_done(&pks, Utc::now())?;
        }
        Ok(())
    }

    /// Lets go of a claimed source this worker will not fetch (not in its
    /// config, or disabled there), due again at `next`.
    pub fn pass_over(&mut self, name: &str, next: DateTime<Utc>) -> Result<(), StoreError> {
        if let Some(pk) = self.held.remove(name) {
            self.leases.release(pk, next)?;
        }
        Ok(())
    }

    /// When [`Fleet::tick`] has work next.
    pub fn next_tick(&self) -> Instant {
        self.next_renew
    }

    /// Renews the leases and the heartbeat, and reads the fleet's status,
    /// once per renewal period; returns the status when read.
    pub fn tick(&mut self, in_flight: usize) -> Result<Option<&FleetStatus>, StoreError> {
        if Instant::now() < self.next_renew {
            return Ok(None);
        }
        self.next_renew = Instant::now() + self.renew_every();
        let now = Utc::now();
        let still = self.leases.renew_all(now, self.lease)?;
        if (still as usize) < self.held.len() {
            // Expired (the store was unreachable longer than a lease) and
            // perhaps claimed by another worker: both may fetch; the
            // later result is stored over the earlier.
            tracing::warn!(held = self.held.len(), renewed = still, "some leases expired before they could be renewed");
        }
        self.leases.heartbeat(now, self.started, in_flight)?;
        self.status = self.leases.status(now, ALIVE_WITHIN, OVERDUE_AFTER)?;
        Ok(Some(&self.status))
    }

    /// Leaves the fleet (see [`Leases::leave`]); logged, not returned, as
    /// it runs at shutdown: leases left behind expire anyway.
    pub fn leave(&mut self) {
        match self.leases.leave(Utc::now()) {
            Ok(()) => tracing::info!(worker = %self.id(), "left the fleet"),
            Err(e) => {
                tracing::warn!(worker = %self.id(), "could not let go of the leases (they expire in {}): {e}", humantime::format_duration(self.lease))
            }
        }
        self.held.clear();
    }
}
