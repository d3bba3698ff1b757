//! A fleet of `wirefeed run` workers on one PostgreSQL store (feature
//! `postgres-tests`), against feeds served on 127.0.0.1 by this process:
//! three workers fetch every source once per due time, never more than
//! `[fetch] per_host` at once to one host across the fleet, nor two starts
//! closer than `per_host_gap`; a worker killed with SIGKILL holds its
//! sources only until its leases expire, and nothing it committed is lost;
//! a `build` gets the store between the workers' writes (they take its
//! lock shared) and holds them off while it has it.
#![cfg(feature = "postgres-tests")]

mod common;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use common::Site;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use wirefeed::operate::metrics::Metrics;
use wirefeed::operate::run::Runner;

/// One request as a feed server saw it.
#[derive(Debug, Clone)]
struct Hit {
    path: String,
    /// The worker, told by its User-Agent.
    agent: String,
    /// Unix time, fractional seconds.
    start: f64,
}

/// A feed server standing for one host: every path is a feed of three
/// items, answered after `delay` (a path with "fast" in it at once); it records each request and the most
/// requests it had in flight at once.
#[derive(Default)]
struct Host {
    delay: Duration,
    hits: Vec<Hit>,
    in_flight: usize,
    max_in_flight: usize,
    /// Requests in flight per path, and paths ever asked for twice at once.
    paths_in_flight: HashMap<String, usize>,
    overlapping: Vec<String>,
}

type Shared = Arc<Mutex<Host>>;

fn unix_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64()
}

fn feed(path: &str) -> String {
    let items: String = (0..3)
        .map(|i| format!("<item><title>{path} {i}</title><link>http://example.org{path}/{i}</link><guid>{path}/{i}</guid></item>"))
        .collect();
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>{path}</title><link>http://example.org/</link>{items}</channel></rss>"
    )
}

async fn handler(State(host): State<Shared>, req: Request) -> Response {
    let path = req.uri().path().to_owned();
    let agent = req.headers().get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let delay = {
        let mut h = host.lock().unwrap();
        let delay = if path.contains("fast") { Duration::from_millis(20) } else { h.delay };
        h.hits.push(Hit { path: path.clone(), agent, start: unix_now() });
        h.in_flight += 1;
        h.max_in_flight = h.max_in_flight.max(h.in_flight);
        let n = h.paths_in_flight.entry(path.clone()).or_default();
        *n += 1;
        if *n > 1 {
            h.overlapping.push(path.clone());
        }
        delay
    };
    tokio::time::sleep(delay).await;
    let mut h = host.lock().unwrap();
    h.in_flight -= 1;
    *h.paths_in_flight.get_mut(&path).unwrap() -= 1;
    drop(h);
    ([(header::CONTENT_TYPE, "application/rss+xml")], feed(&path)).into_response()
}

/// `n` hosts (servers on their own ports), each answering after `delay`.
fn hosts(n: usize, delay: Duration) -> Vec<(String, Shared)> {
    (0..n)
        .map(|_| {
            let host: Shared = Arc::new(Mutex::new(Host { delay, ..Default::default() }));
            let addr = common::serve_in_background(Router::new().fallback(handler).with_state(host.clone()));
            (format!("http://{addr}"), host)
        })
        .collect()
}

/// A site on a fresh PostgreSQL store with `per_host` sources on each host.
fn fleet_site(hosts: &[(String, Shared)], per_host: usize, extra: &str) -> (Site, String) {
    let url = common::pg::Server::get().fresh_database();
    let site = Site::new(&[]);
    let sources: String = hosts
        .iter()
        .enumerate()
        .flat_map(|(h, (base, _))| (0..per_host).map(move |i| format!("[[sources]]\nname = \"h{h}s{i}\"\nurl = \"{base}/h{h}s{i}\"\n")))
        .collect();
    site.write_config(&format!("[store]\nurl = {url:?}\n{extra}\n{sources}"));
    (site, url)
}

/// The site's config as worker `name` (its User-Agent names it).
fn worker_config(site: &Site, name: &str) -> wirefeed::Config {
    let mut config = site.config();
    config.fetch.user_agent = Some(format!("worker-{name}"));
    config
}

#[test]
fn three_workers_fetch_each_source_once_per_due_time_and_keep_per_host_limits() {
    let hosts = hosts(3, Duration::from_millis(250));
    let extra = "[run]\ninterval = \"3s\"\njitter = 0\n[fetch]\nconcurrency = 3\nper_host = 2\nper_host_gap = \"300ms\"\n";
    let (site, _url) = fleet_site(&hosts, 6, extra);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let started = unix_now();
    // Each worker on its own thread and runtime, as in its own process.
    let workers: Vec<_> = ["a", "b", "c"]
        .iter()
        .map(|w| {
            let (config, stopped) = (worker_config(&site, w), stopped.clone());
            std::thread::spawn(move || {
                let mut runner = Runner::new(config, Arc::new(Metrics::new())).unwrap();
                // As `wirefeed run` has it: fetches on the runtime's threads,
                // the loop (and its store calls) on this one.
                let rt = tokio::runtime::Runtime::new().unwrap();
                rt.block_on(runner.run(false, stopped)).map(drop).map_err(|e| e.to_string())
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(9));
    stop.send(true).unwrap();
    for worker in workers {
        worker.join().unwrap().unwrap();
    }
    let mut by_source: HashMap<String, Vec<f64>> = HashMap::new();
    let mut agents: HashMap<String, usize> = HashMap::new();
    for (i, (_, host)) in hosts.iter().enumerate() {
        let host = host.lock().unwrap();
        assert!(host.max_in_flight <= 2, "host {i}: {} requests at once, over per_host = 2", host.max_in_flight);
        assert!(host.overlapping.is_empty(), "host {i}: fetched by two workers at once: {:?}", host.overlapping);
        let mut starts: Vec<f64> = host.hits.iter().map(|h| h.start).collect();
        starts.sort_by(f64::total_cmp);
        let closest = starts.windows(2).map(|w| w[1] - w[0]).fold(f64::INFINITY, f64::min);
        // Arrival times, not send times: slack for a new connection's
        // setup and for scheduling under load.
        let mut hits = host.hits.clone();
        hits.sort_by(|a, b| a.start.total_cmp(&b.start));
        let seen: Vec<String> = hits.iter().map(|h| format!("{:.3} {} {}", h.start - started, h.agent, h.path)).collect();
        assert!(closest >= 0.2, "host {i}: two starts {closest:.3} s apart, under per_host_gap = 300 ms: {seen:#?}");
        for hit in &host.hits {
            by_source.entry(hit.path.clone()).or_default().push(hit.start);
            *agents.entry(hit.agent.clone()).or_default() += 1;
        }
    }
    assert_eq!(by_source.len(), 18, "every source fetched");
    for (path, mut times) in by_source {
        times.sort_by(f64::total_cmp);
        assert!(times[0] - started < 5.0, "{path}: first fetch {:.1} s after the start", times[0] - started);
        assert!(times.len() >= 2, "{path}: fetched {} times in 9 s at a 3 s interval", times.len());
        // Once per due time: each turn sets the next due time 3 s after
        // it started (kept in whole seconds, so up to a second sooner),
        // so there are at most 1 + 9 / 2 due times in the run; a due time
        // taken by two workers would be two fetches more.
        assert!(times.len() <= 5, "{path}: fetched {} times in 9 s, more than it fell due: {times:?}", times.len());
    }
    assert!(agents.len() >= 2, "the work was shared: {agents:?}");
}

/// Waits up to `limit` for `check`, every 50 ms.
fn wait_for(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + limit;
    while !check() {
        assert!(std::time::Instant::now() < deadline, "gave up waiting {limit:?} for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `wirefeed run` with the config at `config`, as its own process.
fn spawn_run(config: &std::path::Path) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_wirefeed"))
        .args(["--quiet", "run", "--config"])
        .arg(config)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

fn hits_by(host: &Shared, agent: &str) -> Vec<Hit> {
    host.lock().unwrap().hits.iter().filter(|h| h.agent == agent).cloned().collect()
}

#[test]
fn a_worker_killed_mid_fetch_holds_its_sources_only_until_its_leases_expire_and_loses_nothing_committed() {
    let hosts = hosts(1, Duration::from_secs(3));
    let (base, host) = &hosts[0];
    let url = common::pg::Server::get().fresh_database();
    let site = Site::new(&[]);
    let sources: String =
        ["fast", "slow1", "slow2", "slow3"].iter().map(|n| format!("[[sources]]\nname = \"{n}\"\nurl = \"{base}/{n}\"\n")).collect();
    let config =
        |agent: &str| format!("[store]\nurl = {url:?}\nlease = \"3s\"\n[fetch]\nper_host = 4\nuser_agent = \"{agent}\"\n{sources}");
    site.write_config(&config("victim"));
    let victim_config = site.path("wirefeed.toml");
    let survivor_config = site.path("survivor.toml");
    std::fs::write(&survivor_config, std::fs::read_to_string(&victim_config).unwrap().replace("\"victim\"", "\"survivor\"")).unwrap();

    let mut db = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let mut victim = spawn_run(&victim_config);
    // Killed once every source is in flight and the fast one is stored.
    wait_for(Duration::from_secs(30), "the victim's fetches", || hits_by(host, "victim").len() == 4);
    // Its result stored, its lease let go (a moment later).
    wait_for(Duration::from_secs(10), "the fast source's stories and release", || {
        let mut count = |sql: &str| db.query_one(sql, &[]).unwrap().get::<_, i64>(0);
        count("SELECT count(*) FROM stories") == 3 && count("SELECT count(*) FROM sources WHERE lease_owner IS NOT NULL") == 3
    });
    let leases: HashMap<String, i64> = db
        .query("SELECT name, lease_until FROM sources WHERE lease_owner IS NOT NULL", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(leases.len(), 3, "the victim holds the three slow sources: {leases:?}");
    victim.kill().unwrap();
    victim.wait().unwrap();

    let mut survivor = spawn_run(&survivor_config);
    wait_for(Duration::from_secs(30), "the survivor's fetches", || hits_by(host, "survivor").len() >= 3);
    wait_for(Duration::from_secs(15), "every story", || db.query_one("SELECT count(*) FROM stories", &[]).unwrap().get::<_, i64>(0) == 12);
    let _ = std::process::Command::new("kill").args(["-TERM", &survivor.id().to_string()]).status();
    survivor.wait().unwrap();

    let taken_over = hits_by(host, "survivor");
    for name in ["slow1", "slow2", "slow3"] {
        let hit = taken_over.iter().find(|h| h.path == format!("/{name}")).unwrap_or_else(|| panic!("{name} never fetched again"));
        let until = leases[name] as f64;
        assert!(hit.start >= until, "{name}: fetched again {:.1} s before the dead worker's lease ended", until - hit.start);
    }
    assert!(!taken_over.iter().any(|h| h.path == "/fast"), "the fast source's committed fetch stands (due again only in 30 min)");
    let fast: i64 =
        db.query_one("SELECT count(*) FROM stories s JOIN sources src ON s.source = src.pk WHERE src.name = 'fast'", &[]).unwrap().get(0);
    assert_eq!(fast, 3, "what the killed worker committed is kept");
}

#[test]
fn a_build_gets_the_store_between_workers_writes_and_holds_them_off_while_it_has_it() {
    use wirefeed::store::{Location, Store};
    let url = common::pg::Server::get().fresh_database();
    let site = Site::new(&[]);
    site.write_config(&format!("[store]\nurl = {url:?}\n"));
    let config = site.config();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writes = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    // Two workers writing as fast as they can (each write takes the lock
    // shared for its length).
    let workers: Vec<_> = (0..2)
        .map(|w| {
            let (config, stop, writes) = (config.clone(), stop.clone(), writes.clone());
            std::thread::spawn(move || {
                let store = Store::open_worker(&config, Some(&format!("worker{w}"))).unwrap();
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    store.set_meta(&format!("worker{w}"), &unix_now().to_string()).unwrap();
                    writes.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
            })
        })
        .collect();
    wait_for(Duration::from_secs(10), "the workers' first writes", || writes.load(std::sync::atomic::Ordering::SeqCst) > 20);
    let build =
        Store::open_location(&Location::Postgres(url.clone()), Duration::from_secs(5)).expect("not starved by the workers' shared locks");
    let during = writes.load(std::sync::atomic::Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(500));
    // A write or two may have been under way when the lock was granted.
    assert!(writes.load(std::sync::atomic::Ordering::SeqCst) <= during + 2, "workers wrote while the build held the store");
    drop(build);
    let after = writes.load(std::sync::atomic::Ordering::SeqCst);
    wait_for(Duration::from_secs(10), "the workers' writes to go on", || writes.load(std::sync::atomic::Ordering::SeqCst) > after + 20);
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for w in workers {
        w.join().unwrap();
    }
}

/// A `build` holds the store for three leases while a worker has fetches
/// in flight and stories to publish: the worker's loop waits, but its
/// leases are renewed all along (on their own connection and thread),
/// so no other worker could take its sources.
#[test]
fn a_long_build_never_lets_a_workers_leases_lapse() {
    use wirefeed::store::{Location, Store};
    let hosts = hosts(1, Duration::from_secs(12));
    let (base, host) = &hosts[0];
    let url = common::pg::Server::get().fresh_database();
    let site = Site::new(&[]);
    let sources: String =
        ["fast", "slow1", "slow2"].iter().map(|n| format!("[[sources]]\nname = \"{n}\"\nurl = \"{base}/{n}\"\n")).collect();
    site.write_config(&format!(
        "[store]\nurl = {url:?}\nlease = \"3s\"\n[run]\ninterval = \"1s\"\njitter = 0\n[fetch]\nper_host = 4\nuser_agent = \"worker\"\n{sources}"
    ));
    let mut db = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let mut worker = spawn_run(&site.path("wirefeed.toml"));
    wait_for(Duration::from_secs(30), "the slow fetches under way and the fast one stored", || {
        let slow = hits_by(host, "worker").iter().filter(|h| h.path.starts_with("/slow")).count();
        // The table exists once the worker has made the store.
        let stored: i64 = db.query_one("SELECT count(*) FROM stories", &[]).map(|r| r.get(0)).unwrap_or(0);
        slow == 2 && stored >= 3
    });
    let build = Store::open_location(&Location::Postgres(url.clone()), Duration::from_secs(10)).expect("the build gets the store");
    let held_from = unix_now();
    // Three leases long. The worker's loop waits for the store (its
    // publish of the fast source's stories, then the fast source's next
    // result), and with it anything else it would do.
    while unix_now() < held_from + 9.0 {
        let now = unix_now() as i64;
        for row in db.query("SELECT name, lease_owner, lease_until FROM sources WHERE name LIKE 'slow%'", &[]).unwrap() {
            let (name, owner, until): (String, Option<String>, Option<i64>) = (row.get(0), row.get(1), row.get(2));
            assert!(owner.is_some(), "{name}: let go while its fetch is in flight");
            let until = until.unwrap();
            assert!(until > now, "{name}: lease lapsed {} s into the build (until {until}, now {now})", now as f64 - held_from);
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    drop(build);
    wait_for(Duration::from_secs(20), "the slow sources' stories", || {
        db.query_one("SELECT count(*) FROM stories", &[]).unwrap().get::<_, i64>(0) == 9
    });
    let _ = std::process::Command::new("kill").args(["-TERM", &worker.id().to_string()]).status();
    worker.wait().unwrap();
    let slow_hits = hits_by(host, "worker").iter().filter(|h| h.path.starts_with("/slow")).count();
    assert_eq!(slow_hits, 2, "each slow source fetched once");
}
