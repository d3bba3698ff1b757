//! Leases for a fleet of `run` workers on one PostgreSQL store (schema
//! V2 and V3). A due source is claimed by one worker at a time, for
//! `[store] lease` (default 2 min, renewed while its fetch goes on), with
//! `SELECT … FOR UPDATE SKIP LOCKED`, so workers claiming at the same
//! instant take disjoint sources without waiting on each other. A worker
//! that dies (even `kill -9`) holds its sources only until the lease
//! expires; then any worker may claim them.
//!
//! Politeness across the fleet: sources are claimed by host
//! ([`crate::model::host::politeness_key`]). A worker takes a host's
//! lease before any of its sources, and no other worker claims a source
//! of that host while the lease lives, so the one worker's fetcher keeps
//! `[fetch] per_host` and `per_host_gap` for the whole fleet. The host is
//! let go when the worker holds none of its sources any more; the next
//! holder is told when the last request there started, and waits out the
//! gap from it.
//!
//! Each worker also keeps a heartbeat row (`workers`), from which
//! [`fleet_status`] counts the live workers for `/healthz` and `/metrics`.

use chrono::{DateTime, Utc};
use postgres::GenericClient;
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use super::queries::{SOURCE_COLUMNS, source_at};
use super::{Conn, Shared};
use crate::model::host::politeness_key_of;
use crate::store::stories::time;
use crate::store::{Result, SourceState};

/// A worker's handle for claiming due sources (its own connection; no
/// writer's lock).
pub struct Leases {
    db: Shared,
    /// Who holds the leases taken through this handle (a worker id).
    owner: String,
}

/// A source claimed until `until`.
#[derive(Debug, Clone, PartialEq)]
pub struct Lease {
    pub pk: i64,
    pub name: String,
    /// Its saved state as claimed (validators, errors in a row, hints).
    pub state: SourceState,
    /// The name its ids are scoped by (see `Store::source_scope`).
    pub scope: String,
    pub until: DateTime<Utc>,
    /// Its host's politeness key.
    pub host: String,
    /// When another worker last started a request to this host, if the
    /// host was just taken over from one (the gap counts from it).
    pub host_last_start: Option<DateTime<Utc>>,
}

/// The fleet as the store sees it (`/healthz`, `/metrics`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct FleetStatus {
    /// Workers whose heartbeat is recent.
    pub workers_alive: u64,
    /// Source leases not yet expired.
    pub leases_held: u64,
    /// Enabled feed sources due for longer than the grace given, that no
    /// worker has claimed.
    pub sources_overdue: u64,
}

/// A worker is counted alive while its last heartbeat is at most this old
/// (workers beat every quarter lease, at most every 15 s).
pub const ALIVE_WITHIN: Duration = Duration::from_secs(60);

/// A worker's row is deleted once its heartbeat is this old (a worker
/// killed, or a `wirefeed fetch` that joined for one pass).
const FORGET_AFTER: i64 = 600;

/// Due sources looked at per claim, per source wanted. Sources of hosts
/// another worker holds are left out by the query itself (by each
/// source's `host`, kept when claimed); a few more are read for those
/// whose host is not known yet or just changed, and for hosts another
/// claim is taking at this instant.
const LOOK_AHEAD: i64 = 2;

impl Leases {
    /// Connects to the store at `url` (it must be at this wirefeed's
    /// schema) as worker `owner`.
    pub fn open(url: &str, owner: &str) -> Result<Leases> {
        let conn: Conn = super::open_latest(url)?;
        Ok(Leases { db: Shared::new(conn), owner: owner.to_owned() })
    }

    /// This handle's worker id.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Claims up to `limit` enabled feed sources due at `now` (next fetch
    /// unset or past) that no live lease holds, oldest due first, for
    /// `lease`, together with the leases of their hosts: a source whose
    /// host another worker holds is passed over.
    pub fn claim_due(&self, now: DateTime<Utc>, lease: Duration, limit: usize) -> Result<Vec<Lease>> {
        let owner = self.owner.clone();
        self.db.run(move |c| {
            let mut tx = c.transaction()?;
            let claimed = claim(&mut tx, &owner, now.timestamp(), now.timestamp() + lease.as_secs() as i64, limit as i64)?;
            tx.commit()?;
            Ok(claimed)
        })
    }

    /// Extends every lease this worker holds (sources and hosts) to `now +
    /// lease`, and its heartbeat with `in_flight` fetches (an existing row
    /// only: a worker that left is not brought back); returns how many source leases it renewed
    /// (one that expired and went to another worker is not taken back).
    ///
    /// Rows another transaction has locked are skipped, not waited for:
    /// the worker's own store writes lock its sources' rows one by one in
    /// their own order (storing a state lets go of the lease anyway), and
    /// a claim locks host rows; waiting could deadlock with either. What
    /// is skipped is renewed at the next round, well inside the lease.
    pub fn renew_all(&self, now: DateTime<Utc>, lease: Duration, in_flight: usize) -> Result<u64> {
        let (owner, in_flight) = (self.owner.clone(), in_flight as i64);
        let (now, until) = (now.timestamp(), now.timestamp() + lease.as_secs() as i64);
        self.db.run(move |c| {
            let mut tx = c.transaction()?;
            let n = tx.execute(
                "UPDATE sources SET lease_until = $3 WHERE pk IN \
                 (SELECT pk FROM sources WHERE lease_owner = $1 AND lease_until > $2 FOR UPDATE SKIP LOCKED)",
                &[&owner, &now, &until],
            )?;
            tx.execute(
                "UPDATE host_leases SET until = $3 WHERE host IN \
                 (SELECT host FROM host_leases WHERE owner = $1 AND until > $2 FOR UPDATE SKIP LOCKED)",
                &[&owner, &now, &until],
            )?;
            tx.execute("UPDATE workers SET heartbeat = $2, in_flight = $3 WHERE id = $1", &[&owner, &now, &in_flight])?;
            tx.commit()?;
            Ok(n)
        })
    }

    /// Extends this worker's leases on `pks` to `now + lease`; returns the
    /// sources whose lease it still held.
    pub fn renew(&self, pks: &[i64], now: DateTime<Utc>, lease: Duration) -> Result<Vec<i64>> {
        let (owner, pks) = (self.owner.clone(), pks.to_vec());
        let (now, until) = (now.timestamp(), now.timestamp() + lease.as_secs() as i64);
        self.db.run(move |c| {
            let rows = c.query(
                "UPDATE sources SET lease_until = $4 WHERE pk = ANY($1) AND lease_owner = $2 AND lease_until > $3 RETURNING pk",
                &[&pks, &owner, &now, &until],
            )?;
            Ok(rows.iter().map(|r| r.get(0)).collect())
        })
    }

    /// Lets go of a source after its fetch, setting when it is due next;
    /// false when the lease was no longer this worker's (it expired and
    /// another worker claimed the source: its result wins).
    pub fn release(&self, pk: i64, next_fetch: DateTime<Utc>) -> Result<bool> {
        let owner = self.owner.clone();
        self.db.run(move |c| {
            let mut tx = c.transaction()?;
            let n = tx.execute(
                "UPDATE sources SET lease_owner = NULL, lease_until = NULL, lease_host = NULL, next_fetch = $3 \
                 WHERE pk = $1 AND lease_owner = $2",
                &[&pk, &owner, &next_fetch.timestamp()],
            )?;
            release_idle_hosts(&mut tx, &owner, Utc::now().timestamp())?;
            tx.commit()?;
            Ok(n == 1)
        })
    }

    /// Lets go of sources whose fetch is over and whose result (with its
    /// next due time) is stored, and of the hosts this worker now holds
    /// no source of, marking `now` as the hosts' last start. Returns how
    /// many leases were still this worker's.
    pub fn release_done(&self, pks: &[i64], now: DateTime<Utc>) -> Result<u64> {
        let (owner, pks) = (self.owner.clone(), pks.to_vec());
        self.db.run(move |c| {
            let mut tx = c.transaction()?;
            let n = tx.execute(
                "UPDATE sources SET lease_owner = NULL, lease_until = NULL, lease_host = NULL WHERE pk = ANY($1) AND lease_owner = $2",
                &[&pks, &owner],
            )?;
            release_idle_hosts(&mut tx, &owner, now.timestamp())?;
            tx.commit()?;
            Ok(n)
        })
    }

    /// Gives every feed source without one its host's politeness key
    /// (sources new to the store), so that claims can leave out the
    /// sources of hosts other workers hold; returns how many it set. A
    /// claim keeps the key current when a source's URL changes.
    pub fn fill_hosts(&self) -> Result<u64> {
        self.db.run(|c| {
            let rows = c.query("SELECT pk, coalesce(moved_to, url) FROM sources WHERE host IS NULL AND kind = 'feed'", &[])?;
            let pks: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
            let hosts: Vec<String> = rows.iter().map(|r| politeness_key_of(r.get::<_, &str>(1))).collect();
            c.execute(
                "UPDATE sources s SET host = t.host FROM unnest($1::BIGINT[], $2::TEXT[]) AS t(pk, host) WHERE s.pk = t.pk",
                &[&pks, &hosts],
            )
        })
    }

    /// Records this worker's heartbeat (joining the fleet on first call):
    /// its machine, process, start and fetches in flight.
    pub fn heartbeat(&self, now: DateTime<Utc>, started: DateTime<Utc>, in_flight: usize) -> Result<()> {
        let owner = self.owner.clone();
        let machine = machine_name();
        let (now, started, in_flight, pid) = (now.timestamp(), started.timestamp(), in_flight as i64, i64::from(std::process::id()));
        self.db.run(move |c| {
            c.execute(
                "INSERT INTO workers(id, machine, pid, started, heartbeat, in_flight) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (id) DO UPDATE SET heartbeat = EXCLUDED.heartbeat, in_flight = EXCLUDED.in_flight",
                &[&owner, &machine, &pid, &started, &now, &in_flight],
            )
            .map(drop)
        })
    }

    /// Leaves the fleet: every lease this worker holds is let go at once
    /// (its sources keep their due times, so another worker claims them
    /// without waiting for the leases to expire), and its heartbeat row
    /// is deleted.
    pub fn leave(&self, now: DateTime<Utc>) -> Result<()> {
        let owner = self.owner.clone();
        self.db.run(move |c| {
            let mut tx = c.transaction()?;
            tx.execute("UPDATE sources SET lease_owner = NULL, lease_until = NULL, lease_host = NULL WHERE lease_owner = $1", &[&owner])?;
            tx.execute("UPDATE host_leases SET until = 0, last_start = $2 WHERE owner = $1", &[&owner, &now.timestamp()])?;
            tx.execute("DELETE FROM workers WHERE id = $1", &[&owner])?;
            // Workers silent for long (killed, never left) are forgotten.
            tx.execute("DELETE FROM workers WHERE heartbeat < $1", &[&(now.timestamp() - FORGET_AFTER)])?;
            tx.commit()
        })
    }

    /// [`fleet_status`] through this handle's connection; workers silent
    /// for ten minutes are forgotten first.
    pub fn status(&self, now: DateTime<Utc>, alive_within: Duration, overdue_after: Duration) -> Result<FleetStatus> {
        self.db.run(move |c| {
            c.execute("DELETE FROM workers WHERE heartbeat < $1", &[&(now.timestamp() - FORGET_AFTER)])?;
            fleet_status(c, now, alive_within, overdue_after)
        })
    }
}

/// The claim of [`Leases::claim_due`], in the caller's transaction.
fn claim(tx: &mut impl GenericClient, owner: &str, now: i64, until: i64, limit: i64) -> Result<Vec<Lease>, postgres::Error> {
    // Hosts whose sources were all stored (which let go of their leases)
    // since the last claim are let go first.
    release_idle_hosts(tx, owner, now)?;
    let rows = tx.query(
        &format!(
            "SELECT pk, coalesce(scope, name), {SOURCE_COLUMNS} FROM sources s \
             WHERE kind = 'feed' AND disabled IS NULL AND (next_fetch IS NULL OR next_fetch <= $1) \
               AND (lease_until IS NULL OR lease_until <= $1) \
               AND NOT EXISTS (SELECT 1 FROM host_leases h WHERE h.host = s.host AND h.until > $1 AND h.owner <> $3) \
             ORDER BY next_fetch NULLS FIRST, pk LIMIT $2 FOR UPDATE SKIP LOCKED"
        ),
        &[&now, &(limit * LOOK_AHEAD), &owner],
    )?;
    let due: Vec<(i64, String, SourceState, String)> = rows
        .iter()
        .map(|r| {
            let (name, state) = source_at(r, 2);
            (r.get(0), name, state, r.get(1))
        })
        .collect();
    let host_of =
        |(_, _, state, _): &(i64, String, SourceState, String)| politeness_key_of(state.moved_to.as_deref().unwrap_or(&state.url));
    let due: Vec<_> = due
        .into_iter()
        .map(|d| {
            let h = host_of(&d);
            (d, h)
        })
        .collect();
    // Hosts in the order their first source fell due, as many as the
    // first `limit` sources of free hosts need.
    let mut wanted: Vec<&str> = Vec::new();
    for (_, host) in &due {
        if !wanted.contains(&host.as_str()) {
            wanted.push(host);
        }
    }
    // Rows first (in one order for every worker, so two claims never
    // deadlock), then locked without waiting: a host another claim is
    // taking right now is passed over like a held one.
    let mut sorted: Vec<&str> = wanted.clone();
    sorted.sort_unstable();
    tx.execute(
        "INSERT INTO host_leases(host, owner, until) SELECT h, '', 0 FROM unnest($1::TEXT[]) AS h ORDER BY h ON CONFLICT (host) DO NOTHING",
        &[&sorted],
    )?;
    let free: BTreeMap<String, Option<i64>> = tx
        .query(
            "SELECT host, last_start, owner FROM host_leases WHERE host = ANY($1) AND (until <= $2 OR owner = $3) \
             ORDER BY host FOR UPDATE SKIP LOCKED",
            &[&sorted, &now, &owner],
        )?
        .iter()
        .map(|r| {
            let mine = r.get::<_, &str>(2) == owner;
            // Taken over from another worker: its last start matters.
            (r.get(0), if mine { None } else { r.get(1) })
        })
        .collect();
    let mut taken: Vec<Lease> = Vec::new();
    let mut hosts: HashSet<&str> = HashSet::new();
    for ((pk, name, state, scope), host) in &due {
        if taken.len() as i64 >= limit {
            break;
        }
        let Some(last_start) = free.get(host) else { continue };
        hosts.insert(host);
        taken.push(Lease {
            pk: *pk,
            name: name.clone(),
            state: state.clone(),
            scope: scope.clone(),
            until: time(until),
            host: host.clone(),
            host_last_start: last_start.map(time),
        });
    }
    let hosts: Vec<&str> = hosts.into_iter().collect();
    tx.execute("UPDATE host_leases SET owner = $2, until = $3 WHERE host = ANY($1)", &[&hosts, &owner, &until])?;
    let pks: Vec<i64> = taken.iter().map(|l| l.pk).collect();
    let host_of: Vec<&str> = taken.iter().map(|l| l.host.as_str()).collect();
    tx.execute(
        "UPDATE sources s SET lease_owner = $3, lease_until = $4, lease_host = t.host, host = t.host, scope = coalesce(s.scope, s.name) \
         FROM unnest($1::BIGINT[], $2::TEXT[]) AS t(pk, host) WHERE s.pk = t.pk",
        &[&pks, &host_of, &owner, &until],
    )?;
    Ok(taken)
}

/// Lets go of the hosts `owner` holds no source of any more, marking
/// `now` as their last start (a request may have started just before).
fn release_idle_hosts(tx: &mut impl GenericClient, owner: &str, now: i64) -> Result<(), postgres::Error> {
    tx.execute(
        "UPDATE host_leases h SET until = 0, last_start = $2 WHERE h.owner = $1 AND h.until > 0 \
         AND NOT EXISTS (SELECT 1 FROM sources s WHERE s.lease_owner = $1 AND s.lease_host = h.host)",
        &[&owner, &now],
    )
    .map(drop)
}

/// The fleet at `now`: workers with a heartbeat within `alive_within`,
/// live source leases, and enabled feed sources due more than
/// `overdue_after` ago that no live lease holds.
pub fn fleet_status(
    c: &mut impl GenericClient,
    now: DateTime<Utc>,
    alive_within: Duration,
    overdue_after: Duration,
) -> Result<FleetStatus, postgres::Error> {
    let now_s = now.timestamp();
    let row = c.query_one(
        "SELECT (SELECT count(*) FROM workers WHERE heartbeat >= $2), \
                (SELECT count(*) FROM sources WHERE lease_until > $1), \
                (SELECT count(*) FROM sources WHERE kind = 'feed' AND disabled IS NULL AND next_fetch < $3 \
                   AND (lease_until IS NULL OR lease_until <= $1))",
        &[&now_s, &(now_s - alive_within.as_secs() as i64), &(now_s - overdue_after.as_secs() as i64)],
    )?;
    Ok(FleetStatus {
        workers_alive: row.get::<_, i64>(0) as u64,
        leases_held: row.get::<_, i64>(1) as u64,
        sources_overdue: row.get::<_, i64>(2) as u64,
    })
}

/// This machine's name, for the workers table (`/etc/hostname`, else
/// `$HOSTNAME`, else "unknown").
pub fn machine_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".to_owned())
}
