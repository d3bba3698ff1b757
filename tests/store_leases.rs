//! Leases on a PostgreSQL store (`store::pg::leases`, feature
//! `postgres-tests`): workers claiming at the same time never claim the
//! same due source, each due source is claimed once per due time, and a
//! dead worker's sources are claimed by another once its lease expires.
#![cfg(feature = "postgres-tests")]

mod common;

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::backend::Backend;
use std::collections::BTreeMap;
use std::time::Duration as StdDuration;
use wirefeed::store::pg::leases::Leases;
use wirefeed::store::sources::SourceKind;
use wirefeed::store::{Location, Store};

const LEASE: StdDuration = StdDuration::from_secs(120);

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

/// A fresh store with `n` due feed sources (never fetched), one disabled
/// source and one due only tomorrow; returns its URL.
fn store_with_sources(n: usize) -> String {
    let Location::Postgres(url) = Backend::Postgres.fresh().location else { unreachable!() };
    let mut store = Store::open_location(&Location::Postgres(url.clone()), StdDuration::from_secs(5)).unwrap();
    for i in 0..n {
        store.source_pk(&format!("s{i:03}"), SourceKind::Feed, &format!("https://h{}.test/feed", i % 7)).unwrap();
    }
    let off = store.source_pk("off", SourceKind::Feed, "https://off.test/feed").unwrap();
    let later = store.source_pk("later", SourceKind::Feed, "https://later.test/feed").unwrap();
    let disabled = wirefeed::store::SourceState { disabled: Some("410 Gone".into()), ..Default::default() };
    let tomorrow = wirefeed::store::SourceState { next_fetch: Some(now() + Duration::days(1)), ..Default::default() };
    store.save_states(&[(off, &disabled), (later, &tomorrow)]).unwrap();
    url
}

#[test]
fn two_workers_claiming_at_once_never_claim_the_same_due_source() {
    let url = store_with_sources(300);
    // Each worker claims a few at a time, "fetches" and releases with the
    // next due time an hour on, until nothing is due.
    // Both connected before either claims, so they do claim at once.
    let start = std::sync::Arc::new(std::sync::Barrier::new(2));
    let worker = |owner: &'static str| {
        let (url, start) = (url.clone(), start.clone());
        std::thread::spawn(move || {
            let leases = Leases::open(&url, owner).unwrap();
            start.wait();
            let mut claimed = Vec::new();
            loop {
                let got = leases.claim_due(now(), LEASE, 7).unwrap();
                if got.is_empty() {
                    break claimed;
                }
                for lease in got {
                    assert!(leases.release(lease.pk, now() + Duration::hours(1)).unwrap(), "{owner} still held {}", lease.name);
                    claimed.push(lease.name);
                }
            }
        })
    };
    let (a, b) = (worker("a"), worker("b"));
    let (a, b) = (a.join().unwrap(), b.join().unwrap());
    let mut times: BTreeMap<&str, usize> = BTreeMap::new();
    for name in a.iter().chain(&b) {
        *times.entry(name.as_str()).or_default() += 1;
    }
    assert_eq!(times.len(), 300, "every due source was claimed; none disabled or not yet due");
    assert!(times.values().all(|n| *n == 1), "claimed twice: {:?}", times.iter().filter(|(_, n)| **n > 1).collect::<Vec<_>>());
    assert!(!a.is_empty() && !b.is_empty(), "both workers took a share: {} and {}", a.len(), b.len());
    assert!(!times.contains_key("off") && !times.contains_key("later"));
}

#[test]
fn a_dead_workers_sources_are_claimed_by_another_once_its_lease_expires() {
    let url = store_with_sources(10);
    let dead = Leases::open(&url, "dead").unwrap();
    let held = dead.claim_due(now(), LEASE, 4).unwrap();
    assert_eq!(held.len(), 4);
    drop(dead); // killed: never releases
    let alive = Leases::open(&url, "alive").unwrap();
    let rest = alive.claim_due(now(), LEASE, 100).unwrap();
    assert_eq!(rest.len(), 6, "the dead worker's live leases are skipped");
    for lease in &rest {
        assert!(alive.release(lease.pk, now() + Duration::hours(1)).unwrap());
    }
    assert!(alive.claim_due(now() + Duration::seconds(119), LEASE, 100).unwrap().is_empty(), "not before the lease ends");
    let after = alive.claim_due(now() + Duration::seconds(120), LEASE, 100).unwrap();
    let mut names: Vec<String> = after.iter().map(|l| l.name.clone()).collect();
    let mut want: Vec<String> = held.iter().map(|l| l.name.clone()).collect();
    names.sort();
    want.sort();
    assert_eq!(names, want, "exactly the dead worker's sources, once its lease expired");
    // A renewal keeps a lease; the dead worker's handle could not renew
    // what is now another's.
    let pks: Vec<i64> = after.iter().map(|l| l.pk).collect();
    assert_eq!(alive.renew(&pks, now() + Duration::seconds(200), LEASE).unwrap().len(), 4);
    let ghost = Leases::open(&url, "dead").unwrap();
    assert!(ghost.renew(&pks, now() + Duration::seconds(200), LEASE).unwrap().is_empty());
    assert!(!ghost.release(pks[0], now()).unwrap(), "a lost lease is not released by its old owner");
    assert!(alive.claim_due(now() + Duration::seconds(300), LEASE, 100).unwrap().is_empty(), "renewed to 320 s");
}
