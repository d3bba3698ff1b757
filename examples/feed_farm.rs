//! A farm of feed servers on loopback, for `benches/fleet.sh`: `HOSTS`
//! ports on 127.0.0.1 from `BASE_PORT` on (each a host, as politeness
//! counts them), every path `/f{n}` a deterministic RSS feed of 10 items
//! (about 10 KB), answered after `DELAY_MS`. `GET /_count` on any port
//! answers how many feed requests the whole farm has had.
//!
//!   cargo run --release --example feed_farm -- BASE_PORT HOSTS DELAY_MS
//!
//! Prints `ready` once every port listens; runs until killed.

use axum::Router;
use axum::extract::{Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

struct Farm {
    delay: Duration,
    requests: AtomicU64,
}

/// Feed `n`: ten items with ~900 bytes of text each, the same every time.
fn feed(n: &str) -> String {
    let words = "The council met on Tuesday to weigh the budget, the new bus routes and a plan for the harbour front. ";
    let text = words.repeat(9);
    let items: String = (0..10)
        .map(|i| {
            format!(
                "<item><title>Story {i} of feed {n}</title><link>https://farm.example/{n}/{i}</link>\
                 <guid>https://farm.example/{n}/{i}</guid><pubDate>Mon, 30 Nov 2026 0{i}:00:00 GMT</pubDate>\
                 <description>{text}</description></item>"
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Feed {n}</title>\
         <link>https://farm.example/{n}</link><description>Bench feed</description>{items}</channel></rss>"
    )
}

async fn handle(State(farm): State<Arc<Farm>>, req: Request) -> Response {
    let path = req.uri().path();
    if path == "/_count" {
        return farm.requests.load(Ordering::Relaxed).to_string().into_response();
    }
    farm.requests.fetch_add(1, Ordering::Relaxed);
    let body = feed(path.trim_start_matches('/'));
    tokio::time::sleep(farm.delay).await;
    ([(header::CONTENT_TYPE, "application/rss+xml")], body).into_response()
}

fn main() {
    let args: Vec<u64> = std::env::args().skip(1).map(|a| a.parse().expect("BASE_PORT HOSTS DELAY_MS, as numbers")).collect();
    let [base, hosts, delay] = args[..] else { panic!("usage: feed_farm BASE_PORT HOSTS DELAY_MS") };
    let farm = Arc::new(Farm { delay: Duration::from_millis(delay), requests: AtomicU64::new(0) });
    let rt = tokio::runtime::Runtime::new().expect("a runtime");
    rt.block_on(async move {
        let mut servers = Vec::new();
        for port in base..base + hosts {
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port as u16)).await.unwrap_or_else(|e| panic!("port {port}: {e}"));
            let app = Router::new().fallback(handle).with_state(farm.clone());
            servers.push(tokio::spawn(async move { axum::serve(listener, app).await }));
        }
        println!("ready");
        for s in servers {
            let _ = s.await;
        }
    });
}
