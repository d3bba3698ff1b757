//! Leases for a fleet of `run` workers on one PostgreSQL store (schema
//! V2): a due source is claimed by one worker at a time, for `[store]
//! lease` (default 2 min), with `SELECT … FOR UPDATE SKIP LOCKED` so
//! workers claiming at the same instant take disjoint sources without
//! waiting on each other. A worker that dies (even `kill -9`) holds its
//! sources only until the lease expires; then any worker may claim them.
//!
//! This is the primitive only: `wirefeed run` does not use it yet (it
//! still holds the store's writer lock alone); see README, "State".

use chrono::{DateTime, Utc};
use std::sync::Mutex;
use std::time::Duration;

use super::{Conn, Shared};
use crate::store::Result;

/// A worker's handle for claiming due sources (no writer's lock).
pub struct Leases {
    db: Shared,
    /// Who holds the leases taken through this handle (a worker id).
    owner: String,
}

/// A source claimed until `until`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub pk: i64,
    pub name: String,
    pub until: DateTime<Utc>,
}

impl Leases {
    /// Connects to the store at `url` (it must be at this wirefeed's
    /// schema) as worker `owner`.
    pub fn open(url: &str, owner: &str) -> Result<Leases> {
        let conn: Conn = super::open_latest(url)?;
        Ok(Leases { db: Shared(Mutex::new(conn)), owner: owner.to_owned() })
    }

    /// Claims up to `limit` enabled feed sources due at `now` (next fetch
    /// unset or past) that no live lease holds, oldest due first, for
    /// `lease`.
    pub fn claim_due(&self, now: DateTime<Utc>, lease: Duration, limit: usize) -> Result<Vec<Lease>> {
        let (now, until, limit) = (now.timestamp(), now.timestamp() + lease.as_secs() as i64, limit as i64);
        let owner = self.owner.clone();
        self.db.run(move |c| {
            let rows = c.query(
                "WITH due AS ( \
                   SELECT pk FROM sources \
                   WHERE kind = 'feed' AND disabled IS NULL AND (next_fetch IS NULL OR next_fetch <= $1) \
                     AND (lease_until IS NULL OR lease_until <= $1) \
                   ORDER BY next_fetch NULLS FIRST, pk LIMIT $4 FOR UPDATE SKIP LOCKED) \
                 UPDATE sources s SET lease_owner = $2, lease_until = $3 FROM due WHERE s.pk = due.pk \
                 RETURNING s.pk, s.name",
                &[&now, &owner, &until, &limit],
            )?;
            Ok(rows.iter().map(|r| Lease { pk: r.get(0), name: r.get(1), until: crate::store::stories::time(until) }).collect())
        })
    }

    /// Extends this worker's leases on `pks` to `now + lease` (a fetch
    /// that takes longer); returns the sources whose lease it still held.
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
            let n = c.execute(
                "UPDATE sources SET lease_owner = NULL, lease_until = NULL, next_fetch = $3 WHERE pk = $1 AND lease_owner = $2",
                &[&pk, &owner, &next_fetch.timestamp()],
            )?;
            Ok(n == 1)
        })
    }
}
