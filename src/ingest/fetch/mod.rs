//! Fetching external feeds over HTTP, politely.
//!
//! One shared client (connection reuse), a cap on requests in flight per
//! host (every hop of a redirect counts on its own host) and an optional
//! least gap between request starts to one host, conditional GETs with the validators of the last 200, redirects
//! followed by hand so that permanent moves and loops are seen, and a body
//! cap enforced on the decompressed stream (a gzip bomb stops at the cap).

pub mod cache;
pub mod discover;
pub mod retry;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use url::Url;

pub use cache::CacheHints;

use crate::config::FetchConfig;

pub fn default_user_agent() -> String {
    format!("wirefeed/{} (+{})", env!("CARGO_PKG_VERSION"), crate::publish::GENERATOR_URI)
}

/// The HTTP validators of a source's last good response, sent back as is.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// What to fetch.
#[derive(Debug, Clone)]
pub struct FetchRequest {
    pub url: Url,
    pub validators: Validators,
    pub headers: BTreeMap<String, String>,
}

/// A feed body and what the response said about it.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub body: Vec<u8>,
    pub content_type: Option<String>,
    /// Where the body came from, after redirects (the base for relative links).
    pub final_url: Url,
    pub validators: Validators,
    /// Set when every redirect on the way was permanent (301/308).
    pub moved_permanently: Option<Url>,
    /// How long the response says it stays fresh.
    pub cache: CacheHints,
}

#[derive(Debug)]
pub enum FetchOutcome {
    Fetched(Fetched),
    /// 304: the body is what we had.
    NotModified {
        moved_permanently: Option<Url>,
    },
    /// 410: the feed is gone for good.
    Gone,
    /// 429/503 with Retry-After: do not ask again before `until`.
    RetryAfter {
        status: u16,
        until: DateTime<Utc>,
    },
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FetchError {
    #[error("HTTP {0}")]
    Status(String),
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("cannot connect: {0}")]
    Connect(String),
    /// The TLS handshake failed (the server speaks no TLS, or its
    /// certificate is refused).
    #[error("TLS handshake failed: {0}")]
    Tls(String),
    /// The body broke off or could not be read after the headers: a reset
    /// connection, broken chunked encoding, fewer bytes than
    /// `Content-Length` promised, a truncated or corrupt gzip, deflate or
    /// brotli stream. (reqwest reports all of these as decode errors once
    /// decompression is on, so the cause says which.)
    #[error("body broken off after the headers: {0}")]
    Body(String),
    #[error("request failed: {0}")]
    Request(String),
    #[error("redirect loop at {0}")]
    RedirectLoop(String),
    #[error("more than {0} redirects")]
    TooManyRedirects(usize),
    #[error("redirect without a usable Location header")]
    BadRedirect,
    #[error("body larger than the {0}-byte cap")]
    TooLarge(u64),
    /// RFC 9110 §15.4.5: 304 answers a conditional request only. Without
    /// validators there is nothing "not modified" could refer to, so the
    /// answer is a server fault, not "no new stories".
    #[error("answered 304 to an unconditional request (Not Modified, but no If-None-Match or If-Modified-Since was sent)")]
    UnconditionalNotModified,
}

/// The innermost cause of an error: reqwest's own message ("error sending
/// request") says nothing; the root ("dns error: …", "connection refused")
/// does.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// Whether a connect error on an https URL came from TLS: rustls's
/// failures reach us as an I/O error of kind `InvalidData` (wrapped in
/// others), the socket's own (refused, unreachable) with their own kinds.
fn is_tls(e: &reqwest::Error) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    let mut invalid_data = false;
    while let Some(err) = cur {
        // An I/O error's `source()` skips the error it wraps: look inside.
        cur = match err.downcast_ref::<std::io::Error>() {
            Some(io) => {
                invalid_data |= io.kind() == std::io::ErrorKind::InvalidData;
                io.get_ref().map(|inner| inner as &(dyn std::error::Error + 'static))
            }
            None => err.source(),
        };
    }
    invalid_data && e.url().is_some_and(|u| u.scheme() == "https")
}

fn classify(e: reqwest::Error, timeout: Duration) -> FetchError {
    if e.is_timeout() {
        FetchError::Timeout(timeout)
    } else if e.is_connect() && is_tls(&e) {
        FetchError::Tls(root_cause(&e))
    } else if e.is_connect() {
        FetchError::Connect(root_cause(&e))
    } else if e.is_body() || e.is_decode() {
        FetchError::Body(root_cause(&e))
    } else {
        FetchError::Request(root_cause(&e))
    }
}

pub struct Fetcher {
    client: reqwest::Client,
    config: FetchConfig,
    hosts: std::sync::Mutex<HashMap<String, Arc<Host>>>,
}

/// One host's share of the fetcher: its request slots, and the earliest
/// time the next request to it may start (`per_host_gap`).
struct Host {
    slots: Arc<Semaphore>,
    next_start: std::sync::Mutex<Instant>,
}

/// A fetch's outcome with the freshness the server announced.
#[derive(Debug)]
pub struct FetchResponse {
    pub outcome: FetchOutcome,
    /// From a 200 or a 304; empty for every other answer.
    pub cache: CacheHints,
}

impl Fetcher {
    pub fn new(config: &FetchConfig) -> Result<Fetcher, reqwest::Error> {
        let client = reqwest::Client::builder()
            .user_agent(config.user_agent.clone().unwrap_or_else(default_user_agent))
            .connect_timeout(config.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(config.per_host.max(2))
            .build()?;
        Ok(Fetcher { client, config: config.clone(), hosts: Default::default() })
    }

    fn host(&self, url: &Url) -> Arc<Host> {
        let key = crate::model::host::politeness_key(url);
        let mut hosts = self.hosts.lock().expect("host map poisoned");
        let new =
            || Arc::new(Host { slots: Arc::new(Semaphore::new(self.config.per_host)), next_start: std::sync::Mutex::new(Instant::now()) });
        hosts.entry(key).or_insert_with(new).clone()
    }

    /// No request to the host of `url` starts before `at` (a fleet worker
    /// taking over a host from another: the gap counts from the other's
    /// last start).
    pub fn hold_off(&self, url: &Url, at: Instant) {
        let host = self.host(url);
        let mut next = host.next_start.lock().expect("host clock poisoned");
        *next = (*next).max(at);
    }

    /// Waits for a free slot on the host of `url`, then for its turn after
    /// the previous start plus `per_host_gap`. Returns the slot and how long
    /// the wait took (which does not count against the timeout). Each hop
    /// of a redirect takes its own slot, so a host is never over its limit
    /// however its requests reach it.
    async fn slot(&self, url: &Url) -> (OwnedSemaphorePermit, Duration) {
        let asked = Instant::now();
        let host = self.host(url);
        let permit = host.slots.clone().acquire_owned().await.expect("semaphore never closed");
        let gap = self.config.per_host_gap;
        if !gap.is_zero() {
            let at = {
                let mut next = host.next_start.lock().expect("host clock poisoned");
                let at = (*next).max(Instant::now());
                *next = at + gap;
                at
            };
            tokio::time::sleep_until(at).await;
        }
        (permit, asked.elapsed())
    }

    /// Fetches one feed, following redirects, politely (see [`Fetcher::fetch_with_cache`]).
    pub async fn fetch(&self, req: &FetchRequest) -> Result<FetchOutcome, FetchError> {
        self.fetch_with_cache(req).await.map(|r| r.outcome)
    }

    /// Fetches one feed and reports the freshness the server announced on
    /// a 200 or 304. `timeout` covers the network (every hop and the body),
    /// not the waits for a slot on a busy host.
    pub async fn fetch_with_cache(&self, req: &FetchRequest) -> Result<FetchResponse, FetchError> {
        let headers = self.request_headers(req);
        // Validators may also come from the source's own headers.
        let conditional = headers.contains_key(header::IF_NONE_MATCH) || headers.contains_key(header::IF_MODIFIED_SINCE);
        let mut deadline = Instant::now() + self.config.timeout;
        let mut url = req.url.clone();
        let mut visited = vec![url.clone()];
        let mut all_permanent = true;
        for _ in 0..=self.config.max_redirects {
            let (_slot, waited) = self.slot(&url).await;
            deadline += waited;
            let send = self.client.get(url.clone()).headers(headers.clone()).send();
            let resp = self.within(deadline, send).await?.map_err(|e| classify(e, self.config.timeout))?;
            let status = resp.status();
            if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
                let next = resp
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .and_then(|l| url.join(l).ok())
                    .ok_or(FetchError::BadRedirect)?;
                all_permanent &= matches!(status, StatusCode::MOVED_PERMANENTLY | StatusCode::PERMANENT_REDIRECT);
                if visited.contains(&next) {
                    return Err(FetchError::RedirectLoop(next.to_string()));
                }
                visited.push(next.clone());
                url = next;
                continue;
            }
            let moved = (all_permanent && visited.len() > 1).then(|| url.clone());
            return self.finish(resp, url, moved, deadline, conditional).await;
        }
        Err(FetchError::TooManyRedirects(self.config.max_redirects))
    }

    async fn within<T>(&self, deadline: Instant, fut: impl Future<Output = T>) -> Result<T, FetchError> {
        tokio::time::timeout_at(deadline, fut).await.map_err(|_| FetchError::Timeout(self.config.timeout))
    }

    fn request_headers(&self, req: &FetchRequest) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static(
                "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8",
            ),
        );
        for (k, v) in &req.headers {
            if let (Ok(k), Ok(v)) = (HeaderName::from_bytes(k.as_bytes()), HeaderValue::from_str(v)) {
                h.insert(k, v);
            }
        }
        if let Some(etag) = req.validators.etag.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
            h.insert(header::IF_NONE_MATCH, etag);
        }
        if let Some(lm) = req.validators.last_modified.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
            h.insert(header::IF_MODIFIED_SINCE, lm);
        }
        h
    }

    async fn finish(
        &self,
        mut resp: reqwest::Response,
        url: Url,
        moved: Option<Url>,
        deadline: Instant,
        conditional: bool,
    ) -> Result<FetchResponse, FetchError> {
        let status = resp.status();
        let header = |name: header::HeaderName| resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let cache = CacheHints::from_headers(resp.headers(), Utc::now());
        let bare = |outcome| Ok(FetchResponse { outcome, cache: CacheHints::default() });
        match status.as_u16() {
            304 if !conditional => return Err(FetchError::UnconditionalNotModified),
            304 => return Ok(FetchResponse { outcome: FetchOutcome::NotModified { moved_permanently: moved }, cache }),
            410 => return bare(FetchOutcome::Gone),
            429 | 503 => {
                if let Some(until) = header(header::RETRY_AFTER).and_then(|v| retry::parse_retry_after(&v, Utc::now())) {
                    return bare(FetchOutcome::RetryAfter { status: status.as_u16(), until });
                }
                return Err(FetchError::Status(status.to_string()));
            }
            s if !(200..300).contains(&s) => return Err(FetchError::Status(status.to_string())),
            _ => {}
        }
        let cap = self.config.max_body_bytes;
        if resp.content_length().is_some_and(|len| len > cap) {
            return Err(FetchError::TooLarge(cap));
        }
        let content_type = header(header::CONTENT_TYPE);
        let validators = Validators { etag: header(header::ETAG), last_modified: header(header::LAST_MODIFIED) };
        let mut body = Vec::with_capacity(resp.content_length().unwrap_or(64 * 1024).min(cap) as usize);
        // reqwest decompresses as it streams, so this counts decoded bytes.
        while let Some(chunk) = self.within(deadline, resp.chunk()).await?.map_err(|e| classify(e, self.config.timeout))? {
            if (body.len() + chunk.len()) as u64 > cap {
                return Err(FetchError::TooLarge(cap));
            }
            body.extend_from_slice(&chunk);
        }
        let fetched = Fetched { body, content_type, final_url: url, validators, moved_permanently: moved, cache };
        Ok(FetchResponse { outcome: FetchOutcome::Fetched(fetched), cache })
    }
}
