//! The fetcher's manners towards the hosts it reads, against in-process
//! servers on 127.0.0.1 (each port is a host): requests in flight per host,
//! counted on every redirect hop; the least gap between request starts;
//! and the freshness a 200 or 304 announces.

mod common;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use url::Url;
use wirefeed::config::FetchConfig;
use wirefeed::ingest::fetch::{CacheHints, FetchOutcome, FetchRequest, Fetcher, Validators};

/// How long a `/slow/…` request stays in the handler: long enough for
/// concurrent requests to overlap.
const SLOW: Duration = Duration::from_millis(150);

/// What one server saw.
#[derive(Default)]
struct Seen {
    arrivals: Mutex<Vec<Instant>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

#[derive(Clone)]
struct Server {
    base: String,
    seen: Arc<Seen>,
}

#[derive(Clone)]
struct Ctx {
    seen: Arc<Seen>,
    /// In flight on all servers of a test together.
    all: Arc<Seen>,
    /// Where `/hop/…` redirects to.
    target: Option<String>,
}

fn enter(s: &Seen) {
    let now = s.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    s.max_in_flight.fetch_max(now, Ordering::SeqCst);
}

async fn handler(State(ctx): State<Ctx>, req: Request) -> Response {
    ctx.seen.arrivals.lock().unwrap().push(Instant::now());
    enter(&ctx.seen);
    enter(&ctx.all);
    let path = req.uri().path().to_owned();
    let resp = match path.split('/').nth(1).unwrap_or("") {
        "slow" => {
            tokio::time::sleep(SLOW).await;
            feed()
        }
        "fast" => feed(),
        "hop" => {
            let to = format!("{}/slow{}", ctx.target.as_deref().unwrap(), &path[4..]);
            (StatusCode::FOUND, [(header::LOCATION, to)]).into_response()
        }
        "cached" if req.headers().get(header::IF_NONE_MATCH).is_some_and(|v| v == "\"c1\"") => (
            StatusCode::NOT_MODIFIED,
            [(header::DATE, "Tue, 26 Nov 2024 10:00:00 GMT"), (header::EXPIRES, "Tue, 26 Nov 2024 10:30:00 GMT")],
        )
            .into_response(),
        "cached" => ([(header::ETAG, "\"c1\""), (header::CACHE_CONTROL, "public, no-cache, max-age=600")], feed_body()).into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    };
    ctx.seen.in_flight.fetch_sub(1, Ordering::SeqCst);
    ctx.all.in_flight.fetch_sub(1, Ordering::SeqCst);
    resp
}

fn feed_body() -> &'static str {
    "<rss version=\"2.0\"><channel><title>t</title></channel></rss>"
}

fn feed() -> Response {
    ([(header::CONTENT_TYPE, "application/rss+xml")], feed_body()).into_response()
}

/// Starts a server on its own thread and runtime.
fn start(all: &Arc<Seen>, target: Option<&Server>) -> Server {
    let seen = Arc::new(Seen::default());
    let ctx = Ctx { seen: seen.clone(), all: all.clone(), target: target.map(|t| t.base.clone()) };
    let addr = common::serve_in_background(Router::new().fallback(handler).with_state(ctx));
    Server { base: format!("http://{addr}"), seen }
}

fn request(url: &str) -> FetchRequest {
    FetchRequest { url: Url::parse(url).unwrap(), validators: Validators::default(), headers: Default::default() }
}

/// Fetches every URL at once; each must answer with a feed.
async fn fetch_all(fetcher: &Arc<Fetcher>, urls: Vec<String>) {
    let tasks: Vec<_> = urls
        .into_iter()
        .map(|u| {
            let f = fetcher.clone();
            tokio::spawn(async move { (f.fetch(&request(&u)).await, u) })
        })
        .collect();
    for t in tasks {
        let (outcome, url) = t.await.unwrap();
        assert!(matches!(outcome, Ok(FetchOutcome::Fetched(_))), "{url}: {outcome:?}");
    }
}

fn max_in_flight(s: &Seen) -> usize {
    s.max_in_flight.load(Ordering::SeqCst)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_host_limit_holds_and_hosts_run_side_by_side() {
    let all = Arc::new(Seen::default());
    let (a, b) = (start(&all, None), start(&all, None));
    let fetcher = Arc::new(Fetcher::new(&FetchConfig { per_host: 2, ..FetchConfig::default() }).unwrap());
    let urls = (0..6).flat_map(|i| [format!("{}/slow/{i}", a.base), format!("{}/slow/{i}", b.base)]).collect();
    fetch_all(&fetcher, urls).await;
    assert_eq!(a.seen.arrivals.lock().unwrap().len(), 6);
    assert_eq!(max_in_flight(&a.seen), 2, "host a: at most per_host, and that many used");
    assert_eq!(max_in_flight(&b.seen), 2, "host b: at most per_host, and that many used");
    assert!(max_in_flight(&all) > 2, "the two hosts were never fetched side by side");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_hops_count_against_the_host_they_reach() {
    let all = Arc::new(Seen::default());
    let target = start(&all, None);
    let (r1, r2) = (start(&all, Some(&target)), start(&all, Some(&target)));
    let fetcher = Arc::new(Fetcher::new(&FetchConfig { per_host: 1, ..FetchConfig::default() }).unwrap());
    // Six sources on two other hosts, and two on the target itself, all
    // ending on the target.
    let mut urls: Vec<String> = (0..3).flat_map(|i| [format!("{}/hop/{i}", r1.base), format!("{}/hop/{i}", r2.base)]).collect();
    urls.extend((0..2).map(|i| format!("{}/slow/direct{i}", target.base)));
    fetch_all(&fetcher, urls).await;
    assert_eq!(target.seen.arrivals.lock().unwrap().len(), 8);
    assert_eq!(max_in_flight(&target.seen), 1, "the target host got more than per_host requests at once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_to_one_host_start_a_gap_apart() {
    const GAP: Duration = Duration::from_millis(120);
    // Timer and scheduling slack on a busy machine.
    const TOLERANCE: Duration = Duration::from_millis(25);
    let all = Arc::new(Seen::default());
    let (a, b) = (start(&all, None), start(&all, None));
    let fetcher = Arc::new(Fetcher::new(&FetchConfig { per_host: 4, per_host_gap: GAP, ..FetchConfig::default() }).unwrap());
    let urls = (0..5).flat_map(|i| [format!("{}/fast/{i}", a.base), format!("{}/fast/{i}", b.base)]).collect();
    fetch_all(&fetcher, urls).await;
    let mut firsts = Vec::new();
    for (name, s) in [("a", &a.seen), ("b", &b.seen)] {
        let mut t = s.arrivals.lock().unwrap().clone();
        t.sort();
        assert_eq!(t.len(), 5);
        for w in t.windows(2) {
            assert!(w[1] - w[0] + TOLERANCE >= GAP, "host {name}: requests {:?} apart, gap is {GAP:?}", w[1] - w[0]);
        }
        firsts.push(t[0]);
    }
    // The gap is per host: the two hosts' first requests do not wait for
    // each other.
    let apart = firsts[0].max(firsts[1]) - firsts[0].min(firsts[1]);
    assert!(apart < GAP, "the hosts' first requests were {apart:?} apart");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn freshness_comes_with_200_and_304() {
    let all = Arc::new(Seen::default());
    let server = start(&all, None);
    let fetcher = Fetcher::new(&FetchConfig::default()).unwrap();
    let mut req = request(&format!("{}/cached", server.base));
    let first = fetcher.fetch_with_cache(&req).await.unwrap();
    let fetched = match first.outcome {
        FetchOutcome::Fetched(f) => f,
        other => panic!("expected a body, got {other:?}"),
    };
    let ten_minutes = CacheHints { max_age: Some(Duration::from_secs(600)) };
    assert_eq!((fetched.cache, first.cache), (ten_minutes, ten_minutes), "max-age despite no-cache");

    req.validators = fetched.validators;
    let second = fetcher.fetch_with_cache(&req).await.unwrap();
    assert!(matches!(second.outcome, FetchOutcome::NotModified { moved_permanently: None }), "{:?}", second.outcome);
    assert_eq!(second.cache.max_age, Some(Duration::from_secs(1800)), "Expires against the server's Date");

    let missing = fetcher.fetch_with_cache(&request(&format!("{}/none", server.base))).await;
    assert!(missing.is_err());
}
