//! One `wirefeed run` worker's part in a fleet on a PostgreSQL store:
//! instead of keeping every source's due time in memory, the worker
//! claims due sources from the store with leases
//! ([`crate::store::pg::leases`]), fetches them, and lets go of them once
//! their results (with their next due times) are stored. Leases are
//! renewed while fetches go on, with a heartbeat, by a thread of their own
//! ([`super::renewer`]); a worker that stops
//! cleanly lets go of everything at once, one that dies is waited for
//! only until its leases expire.
//!
//! [`Fleet`] is the worker's handle on the store's leases; the `impl
//! Runner` block below is the `run` loop's fleet branch (claiming and
//! starting, letting go, renewing), kept here so `run.rs` is the loop.

use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::time::Duration;
use tokio::time::Instant;

use super::renewer::Renewer;
pub use super::renewer::OVERDUE_AFTER;
use super::run::{RunError, Runner, STORE_RETRY};
use crate::store::StoreError;
use crate::store::pg::leases::{FleetStatus, Lease, Leases};

/// How often a worker with free fetch slots looks for due sources.
pub const CLAIM_EVERY: Duration = Duration::from_secs(1);

/// Renewal period: a quarter of the lease (so three renewals can fail
/// before it lapses), between 1 and 15 seconds.
fn renew_every(lease: Duration) -> Duration {
    (lease / 4).clamp(Duration::from_secs(1), Duration::from_secs(15))
}

/// A worker id unique to this process: machine, PID and start time in
/// microseconds (hex), e.g. `news-1:4242:61a2c3d4e5f60`.
pub fn worker_id() -> String {
    let machine = crate::store::pg::leases::machine_name();
    format!("{machine}:{}:{:x}", std::process::id(), Utc::now().timestamp_micros())
}

/// This worker's leases and heartbeat.
pub struct Fleet {
    /// For claims and letting go, from the loop.
    leases: Leases,
    /// Renewals, heartbeat and status, on a connection of its own.
    renewer: Renewer,
    lease: Duration,
    /// The sources this worker holds, by name, with their row keys.
    held: HashMap<String, i64>,
    /// When [`Fleet::tick`] looks for a new fleet status next.
    next_tick: Instant,
    next_claim: Instant,
    status: FleetStatus,
}

impl Fleet {
    /// Joins the fleet on the store at `url` (at this wirefeed's schema)
    /// as worker `owner` ([`worker_id`]) with leases of `lease`: a first
    /// heartbeat.
    pub fn join(url: &str, owner: String, lease: Duration) -> Result<Fleet, RunError> {
        let started = Utc::now();
        let leases = Leases::open(url, &owner)?;
        leases.heartbeat(started, started, 0)?;
        let renewer = match Leases::open(url, &owner).map_err(RunError::from) {
            Ok(own) => Renewer::start(own, lease, renew_every(lease))
                .map_err(|e| RunError::Renewer(std::io::Error::other(format!("cannot start their thread: {e}")))),
            Err(e) => Err(e),
        };
        let renewer = renewer.inspect_err(|_| {
            // Not left behind as a live worker.
            let _ = leases.leave(Utc::now());
        })?;
        tracing::info!(worker = %owner, lease = %humantime::format_duration(lease), "joined the fleet");
        let now = Instant::now();
        Ok(Fleet { leases, renewer, lease, held: HashMap::new(), next_tick: now, next_claim: now, status: FleetStatus::default() })
    }

    /// This worker's id, as the store's leases name it.
    pub fn id(&self) -> &str {
        self.leases.owner()
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
        self.next_tick
    }

    /// At every turn of the loop: tells the renewer that the loop moves
    /// and how many fetches are in flight (for the heartbeat), and returns
    /// the fleet's status it read since, if any. The renewing itself is
    /// the renewer's, off the loop. An error when the renewer died.
    pub fn tick(&mut self, in_flight: usize) -> Result<Option<&FleetStatus>, RunError> {
        self.next_tick = Instant::now() + renew_every(self.lease);
        match self.renewer.report(in_flight).map_err(RunError::Renewer)? {
            Some(status) => {
                self.status = status;
                Ok(Some(&self.status))
            }
            None => Ok(None),
        }
    }

    /// Leaves the fleet (see [`Leases::leave`]), once the renewals have
    /// stopped; logged, not returned, as it runs at shutdown: leases left
    /// behind expire anyway.
    pub fn leave(&mut self) {
        self.renewer.stop();
        match self.leases.leave(Utc::now()) {
            Ok(()) => tracing::info!(worker = %self.id(), "left the fleet"),
            Err(e) => {
                tracing::warn!(worker = %self.id(), "could not let go of the leases (they expire in {}): {e}", humantime::format_duration(self.lease))
            }
        }
        self.held.clear();
    }
}

/// The fleet side of the `run` loop: claiming, letting go, renewing.
impl Runner {
    /// Sources a fleet worker holds at most: twice its fetch slots, so
    /// that a slot freed finds the next source already claimed, and no
    /// worker hoards what another could fetch sooner.
    pub(super) fn claim_capacity(&self) -> usize {
        self.config.fetch.concurrency * 2
    }

    /// A fleet worker's [`Runner::start_due`]: claims due sources from the
    /// store up to [`Runner::claim_capacity`] and starts them, plus those
    /// asked for by `wirefeed fetch`. A host taken over from another
    /// worker is not asked again before the other's last start plus
    /// `per_host_gap`.
    pub(super) fn start_claimed(&mut self, now: DateTime<Utc>) -> Result<(), RunError> {
        let forced: Vec<usize> =
            self.forced.iter().filter(|n| !self.in_flight.contains_key(*n)).filter_map(|n| self.index.get(n).copied()).collect();
        if !forced.is_empty() {
            self.spawn(&forced)?;
        }
        let free = self.claim_capacity().saturating_sub(self.in_flight.len());
        let Some(fleet) = self.fleet.as_mut() else { return Ok(()) };
        let claimed = match fleet.claim(now, free) {
            Ok(claimed) => claimed,
            Err(e) if e.is_refused_write() => {
                fleet.back_off(STORE_RETRY);
                self.refused_write("due sources not claimed", &e);
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        };
        let (mut indexes, mut inputs) = (Vec::new(), Vec::new());
        for lease in claimed {
            let index = self.index.get(&lease.name).copied().filter(|&i| self.config.sources[i].enabled);
            let Some(index) = index.filter(|_| !self.in_flight.contains_key(&lease.name)) else {
                // Not this worker's to fetch (its config differs): due
                // again in an hour, for a worker whose config has it.
                fleet.pass_over(&lease.name, now + chrono::Duration::hours(1))?;
                continue;
            };
            if let Some(last) = lease.host_last_start {
                let url = self.config.sources[index].url.parse::<url::Url>();
                let wait = (last - Utc::now()).to_std().unwrap_or_default() + self.config.fetch.per_host_gap;
                if let Ok(url) = url {
                    self.fetcher.hold_off(&url, Instant::now() + wait);
                }
            }
            indexes.push(index);
            inputs.push(crate::ingest::sources::SourceInput { pk: lease.pk, state: lease.state, scope: lease.scope });
        }
        self.spawn_inputs(&indexes, inputs);
        Ok(())
    }

    /// A fleet worker lets go of the leases of sources whose turn is over:
    /// `stored`, storing their states let go of them already; else (the
    /// store refused them, or they left the config) here, so another
    /// worker may take them at once.
    pub(super) fn let_go(&mut self, names: &[String], stored: bool) -> Result<(), RunError> {
        let Some(fleet) = self.fleet.as_mut() else { return Ok(()) };
        match fleet.done(names, stored) {
            Ok(()) => Ok(()),
            // The leases expire by themselves: a worker that cannot reach
            // the store fetches nothing meanwhile (its claims fail too).
            Err(e) if e.is_refused_write() => {
                self.refused_write("leases not let go (they expire)", &e);
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A fleet worker's renewals and heartbeat, when due; the fleet's
    /// status into the metrics.
    pub(super) fn fleet_tick(&mut self) -> Result<(), RunError> {
        let in_flight = self.in_flight.len();
        let Some(fleet) = self.fleet.as_mut() else { return Ok(()) };
        if let Some(status) = fleet.tick(in_flight)? {
            self.metrics.set_fleet(status.clone());
        }
        Ok(())
    }
}

impl Drop for Runner {
    /// A worker that ends any other way than through [`Runner::run`]'s
    /// end (a `wirefeed fetch` pass, an error) leaves the fleet too.
    fn drop(&mut self) {
        if let Some(mut fleet) = self.fleet.take() {
            fleet.leave();
        }
    }
}
