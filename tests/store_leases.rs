//! Leases on a PostgreSQL store (`store::pg::leases`, feature
//! `postgres-tests`): workers claiming at the same time never claim the
//! same due source, each due source is claimed once per due time, and a
//! dead worker's sources are claimed by another once its lease expires;
//! a host's sources go to one worker at a time (politeness across the
//! fleet), and the fleet's status counts workers, leases and overdue
//! sources.
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

/// A fresh store with `n` due feed sources (never fetched) spread over
/// `hosts` hosts, one disabled source and one due only tomorrow; returns
/// its URL.
fn store_with_sources(n: usize, hosts: usize) -> String {
    let Location::Postgres(url) = Backend::Postgres.fresh().location else { unreachable!() };
    let mut store = Store::open_location(&Location::Postgres(url.clone()), StdDuration::from_secs(5)).unwrap();
    for i in 0..n {
        store.source_pk(&format!("s{i:03}"), SourceKind::Feed, &format!("https://h{}.test/feed{i}", i % hosts)).unwrap();
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
    let url = store_with_sources(300, 7);
    // Each worker claims a few at a time, "fetches" and releases with the
    // next due time an hour on, until nothing is due.
    // Both connected before either claims, so they do claim at once.
    let start = std::sync::Arc::new(std::sync::Barrier::new(2));
    // An empty claim does not mean nothing is due (the other worker may
    // hold the hosts of what is): both go on until every source is taken.
    let taken = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let worker = |owner: &'static str| {
        let (url, start, taken) = (url.clone(), start.clone(), taken.clone());
        std::thread::spawn(move || {
            let leases = Leases::open(&url, owner).unwrap();
            start.wait();
            let mut claimed = Vec::new();
            let deadline = std::time::Instant::now() + StdDuration::from_secs(60);
            while taken.load(std::sync::atomic::Ordering::SeqCst) < 300 && std::time::Instant::now() < deadline {
                let got = leases.claim_due(now(), LEASE, 7).unwrap();
                if got.is_empty() {
                    std::thread::sleep(StdDuration::from_millis(2));
                }
                for lease in got {
                    assert!(leases.release(lease.pk, now() + Duration::hours(1)).unwrap(), "{owner} still held {}", lease.name);
                    taken.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    claimed.push(lease.name);
                }
            }
            claimed
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
    // One host per source: the dead worker's hosts hold back nothing else.
    let url = store_with_sources(10, 10);
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

#[test]
fn a_hosts_sources_go_to_the_worker_holding_the_host() {
    // Two hosts, 6 sources each; the first worker takes 3 of host 0's.
    let url = store_with_sources(12, 2);
    let a = Leases::open(&url, "a").unwrap();
    let b = Leases::open(&url, "b").unwrap();
    let first = a.claim_due(now(), LEASE, 1).unwrap();
    assert_eq!(first.len(), 1);
    let host = first[0].host.clone();
    let got_b = b.claim_due(now(), LEASE, 100).unwrap();
    assert!(!got_b.is_empty() && got_b.iter().all(|l| l.host != host), "b took none of a's host: {got_b:?}");
    let more_a = a.claim_due(now(), LEASE, 100).unwrap();
    assert_eq!(more_a.len(), 5, "a claims the rest of its own host's sources");
    assert!(more_a.iter().all(|l| l.host == host));
    assert!(b.claim_due(now(), LEASE, 100).unwrap().is_empty(), "nothing b may take is left");
}

#[test]
fn a_host_is_let_go_with_its_last_source_and_the_next_holder_learns_its_last_start() {
    let url = store_with_sources(2, 1);
    let a = Leases::open(&url, "a").unwrap();
    let b = Leases::open(&url, "b").unwrap();
    let held = a.claim_due(now(), LEASE, 1).unwrap();
    assert_eq!(held[0].host_last_start, None, "a host nobody had");
    assert!(b.claim_due(now(), LEASE, 10).unwrap().is_empty(), "the host is a's while it holds one of its sources");
    let released_at = now() + Duration::seconds(5);
    assert_eq!(a.release_done(&[held[0].pk], released_at).unwrap(), 1);
    // Its result set no new due time here: both sources are due again.
    let next = b.claim_due(now() + Duration::seconds(6), LEASE, 10).unwrap();
    assert_eq!(next.len(), 2, "the host was let go with its last source");
    assert_eq!(next[0].host_last_start, Some(released_at), "b waits out the gap from a's last start");
}

#[test]
fn a_worker_that_leaves_lets_go_of_everything_at_once() {
    let url = store_with_sources(4, 2);
    let a = Leases::open(&url, "a").unwrap();
    a.heartbeat(now(), now(), 0).unwrap();
    assert_eq!(a.claim_due(now(), LEASE, 100).unwrap().len(), 4);
    a.leave(now()).unwrap();
    let b = Leases::open(&url, "b").unwrap();
    assert_eq!(b.claim_due(now(), LEASE, 100).unwrap().len(), 4, "claimable before the leases would have expired");
}

#[test]
fn the_fleet_status_counts_live_workers_held_leases_and_overdue_sources() {
    let url = store_with_sources(6, 3);
    let a = Leases::open(&url, "a").unwrap();
    let b = Leases::open(&url, "b").unwrap();
    let alive = StdDuration::from_secs(30);
    let overdue = StdDuration::from_secs(60);
    a.heartbeat(now(), now(), 0).unwrap();
    b.heartbeat(now() - Duration::seconds(31), now() - Duration::hours(1), 0).unwrap();
    // Never fetched (no due time yet) is not overdue: it is new.
    let status = a.status(now(), alive, overdue).unwrap();
    assert_eq!((status.workers_alive, status.leases_held, status.sources_overdue), (1, 0, 0), "{status:?}");
    let held = a.claim_due(now(), LEASE, 2).unwrap();
    for l in &held {
        assert!(a.release(l.pk, now() - Duration::seconds(61)).unwrap());
    }
    a.claim_due(now(), LEASE, 1).unwrap();
    let status = a.status(now(), alive, overdue).unwrap();
    assert_eq!(status.leases_held, 1, "{status:?}");
    // The two released with a due time 61 s ago (never-fetched sources
    // are claimed first, so they wait).
    assert_eq!(status.sources_overdue, 2, "{status:?}");
}

#[test]
fn a_claim_passes_over_a_held_hosts_many_sources_to_reach_a_free_host() {
    // 100 sources of one host come first in due order, then 5 of another.
    let Location::Postgres(url) = Backend::Postgres.fresh().location else { unreachable!() };
    let store = Store::open_location(&Location::Postgres(url.clone()), StdDuration::from_secs(5)).unwrap();
    for i in 0..100 {
        store.source_pk(&format!("big{i:03}"), SourceKind::Feed, &format!("https://big.test/feed{i}")).unwrap();
    }
    for i in 0..5 {
        store.source_pk(&format!("small{i}"), SourceKind::Feed, &format!("https://small.test/feed{i}")).unwrap();
    }
    drop(store);
    let a = Leases::open(&url, "a").unwrap();
    assert_eq!(a.fill_hosts().unwrap(), 105);
    assert_eq!(a.claim_due(now(), LEASE, 1).unwrap()[0].host, "big.test:443");
    let b = Leases::open(&url, "b").unwrap();
    let got = b.claim_due(now(), LEASE, 5).unwrap();
    let hosts: Vec<&str> = got.iter().map(|l| l.host.as_str()).collect();
    assert_eq!(hosts, ["small.test:443"; 5], "the held host's 99 due sources are left out by the query, not read and passed over");
}

#[test]
fn storing_a_sources_state_lets_go_of_this_workers_lease_and_no_other() {
    let url = store_with_sources(2, 2);
    let a = Leases::open(&url, "a").unwrap();
    let b = Leases::open(&url, "b").unwrap();
    let mine = a.claim_due(now(), LEASE, 1).unwrap().remove(0);
    let theirs = b.claim_due(now(), LEASE, 1).unwrap().remove(0);
    let mut store = wirefeed::store::pg::PgStore::open_shared(&url, Some("a")).unwrap();
    let next = wirefeed::store::SourceState { next_fetch: Some(now() + Duration::hours(1)), ..mine.state.clone() };
    store.save_states(&[(mine.pk, &next), (theirs.pk, &theirs.state)]).unwrap();
    let mut db = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let owner = |db: &mut postgres::Client, pk: i64| -> Option<String> {
        db.query_one("SELECT lease_owner FROM sources WHERE pk = $1", &[&pk]).unwrap().get(0)
    };
    assert_eq!(owner(&mut db, mine.pk), None, "a's lease went with the state a stored");
    assert_eq!(owner(&mut db, theirs.pk).as_deref(), Some("b"), "b's lease stays whoever writes the state");
    // Stored, let go, due in an hour: not claimed again now.
    assert!(a.claim_due(now(), LEASE, 10).unwrap().iter().all(|l| l.pk != mine.pk));
}

/// Source leases of `owner` still live now (wall clock).
fn live_leases(url: &str, owner: &str) -> i64 {
    let mut db = postgres::Client::connect(url, postgres::NoTls).unwrap();
    let now = Utc::now().timestamp();
    db.query_one("SELECT count(*) FROM sources WHERE lease_owner = $1 AND lease_until > $2", &[&owner, &now]).unwrap().get(0)
}

/// The renewal thread (`operate::renewer`) keeps a worker's leases alive
/// while its loop reports, however long between store writes; lets them
/// lapse once the loop has been silent for the stuck limit; and stops at
/// once when told.
#[test]
fn renewals_go_on_while_the_loop_reports_and_stop_when_it_is_stuck() {
    use wirefeed::operate::renewer::Renewer;
    let url = store_with_sources(3, 1);
    let lease = StdDuration::from_secs(2);
    let leases = Leases::open(&url, "w").unwrap();
    let start = Utc::now();
    leases.heartbeat(start, start, 0).unwrap();
    assert_eq!(leases.claim_due(start, lease, 3).unwrap().len(), 3);
    let own = Leases::open(&url, "w").unwrap();
    let mut renewer = Renewer::start_with(own, lease, StdDuration::from_millis(200), StdDuration::from_secs(3)).unwrap();
    // Reporting for two leases: never lapsed.
    let reporting = std::time::Instant::now();
    while reporting.elapsed() < 2 * lease {
        renewer.report(3).expect("the thread runs");
        assert_eq!(live_leases(&url, "w"), 3, "{:?} into the reports", reporting.elapsed());
        std::thread::sleep(StdDuration::from_millis(100));
    }
    // Silent: renewed until the stuck limit (3 s), then left to lapse.
    let silent = std::time::Instant::now();
    std::thread::sleep(StdDuration::from_millis(2500));
    assert_eq!(live_leases(&url, "w"), 3, "still renewed 2.5 s into the silence");
    while live_leases(&url, "w") > 0 {
        assert!(silent.elapsed() < StdDuration::from_secs(8), "leases still live {:?} into the silence", silent.elapsed());
        std::thread::sleep(StdDuration::from_millis(100));
    }
    assert!(silent.elapsed() >= StdDuration::from_secs(3), "lapsed before the stuck limit: {:?}", silent.elapsed());
    let stopping = std::time::Instant::now();
    renewer.stop();
    assert!(stopping.elapsed() < StdDuration::from_secs(2), "stop took {:?}", stopping.elapsed());
}
