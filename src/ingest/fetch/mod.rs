//! Fetching external feeds over HTTP, politely.
//!
//! One shared client (connection reuse), a cap on requests in flight per
//! host, conditional GETs with the validators of the last 200, redirects
//! followed by hand so that permanent moves and loops are seen, and a body
//! cap enforced on the decompressed stream (a gzip bomb stops at the cap).

pub mod discover;
pub mod retry;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use url::Url;

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

fn classify(e: reqwest::Error, timeout: Duration) -> FetchError {
    if e.is_timeout() {
        FetchError::Timeout(timeout)
    } else if e.is_connect() {
        FetchError::Connect(root_cause(&e))
    } else {
        FetchError::Request(root_cause(&e))
    }
}

pub struct Fetcher {
    client: reqwest::Client,
    config: FetchConfig,
    hosts: std::sync::Mutex<HashMap<String, Arc<Semaphore>>>,
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

    fn host_permits(&self, url: &Url) -> Arc<Semaphore> {
        let key = format!("{}:{}", url.host_str().unwrap_or(""), url.port_or_known_default().unwrap_or(0));
        let mut hosts = self.hosts.lock().expect("host map poisoned");
        hosts.entry(key).or_insert_with(|| Arc::new(Semaphore::new(self.config.per_host))).clone()
    }

    /// Fetches one feed, waiting for a free slot on its host first.
    pub async fn fetch(&self, req: &FetchRequest) -> Result<FetchOutcome, FetchError> {
        let permits = self.host_permits(&req.url);
        let _permit = permits.acquire().await.expect("semaphore never closed");
        let total = self.config.timeout;
        match tokio::time::timeout(total, self.fetch_following(req)).await {
            Ok(result) => result,
            Err(_) => Err(FetchError::Timeout(total)),
        }
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

    async fn fetch_following(&self, req: &FetchRequest) -> Result<FetchOutcome, FetchError> {
        let headers = self.request_headers(req);
        let mut url = req.url.clone();
        let mut visited = vec![url.clone()];
        let mut all_permanent = true;
        for _ in 0..=self.config.max_redirects {
            let resp = self.client.get(url.clone()).headers(headers.clone()).send().await.map_err(|e| classify(e, self.config.timeout))?;
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
            return self.finish(resp, url, moved).await;
        }
        Err(FetchError::TooManyRedirects(self.config.max_redirects))
    }

    async fn finish(&self, mut resp: reqwest::Response, url: Url, moved: Option<Url>) -> Result<FetchOutcome, FetchError> {
        let status = resp.status();
        let header = |name: header::HeaderName| resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        match status.as_u16() {
            304 => return Ok(FetchOutcome::NotModified { moved_permanently: moved }),
            410 => return Ok(FetchOutcome::Gone),
            429 | 503 => {
                if let Some(until) = header(header::RETRY_AFTER).and_then(|v| retry::parse_retry_after(&v, Utc::now())) {
                    return Ok(FetchOutcome::RetryAfter { status: status.as_u16(), until });
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
        while let Some(chunk) = resp.chunk().await.map_err(|e| classify(e, self.config.timeout))? {
            if (body.len() + chunk.len()) as u64 > cap {
                return Err(FetchError::TooLarge(cap));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(FetchOutcome::Fetched(Fetched { body, content_type, final_url: url, validators, moved_permanently: moved }))
    }
}
