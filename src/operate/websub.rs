//! WebSub publisher pings: after a republish, tell the hub which feeds
//! changed, so it fetches them once and pushes them to its subscribers
//! (instead of every subscriber polling us).
//!
//! The feeds name the hub themselves (`rel="hub"`, JSON Feed `hubs`; see
//! `publish`); this module only sends the ping of the WebSub spec's
//! publishing section: `hub.mode=publish&hub.url=<feed>`, form-encoded.

use futures_util::future::join_all;
use url::Url;

/// POSTs one publish ping per feed to `hub`, all at once. Each feed gets
/// `Ok(())` for a 2xx answer and an error message otherwise; nothing
/// panics and nothing is retried (the next republish pings again).
/// Timeouts are the client's.
pub async fn notify(client: &reqwest::Client, hub: &Url, feed_urls: &[Url]) -> Vec<(Url, Result<(), String>)> {
    let pings = feed_urls.iter().map(|feed| async move { (feed.clone(), ping(client, hub, feed).await) });
    join_all(pings).await
}

async fn ping(client: &reqwest::Client, hub: &Url, feed: &Url) -> Result<(), String> {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("hub.mode", "publish")
        .append_pair("hub.url", feed.as_str())
        .finish();
    let response = client
        .post(hub.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .map_err(|e| format!("hub {hub}: {}", error_chain(&e)))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    // The hub's own words help more than the bare status; keep them short.
    let text = response.text().await.unwrap_or_default();
    let text: String = text.trim().chars().take(200).collect();
    Err(if text.is_empty() { format!("hub {hub}: HTTP {status}") } else { format!("hub {hub}: HTTP {status}: {text}") })
}

/// reqwest's top-level message is vague ("error sending request"); the
/// cause says what went wrong.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        source = cause.source();
    }
    s
}
