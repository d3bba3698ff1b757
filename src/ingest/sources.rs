//! Aggregating the configured external feeds: fetch (or read) each source,
//! parse it leniently, normalize its entries, and remember what is needed
//! to be polite next time. One failing source never stops the others; its
//! stories from the last good fetch are still published.

use chrono::{DateTime, Utc};
use futures_util::stream::{self, StreamExt};
use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;
use url::Url;

use super::fetch::discover::{feed_links, looks_like_html};
use super::fetch::{FetchOutcome, FetchRequest, Fetched, Fetcher, Validators};
use super::parse::{ParseContext, clamp_future, parse_feed};
use crate::config::{Config, SourceConfig, SourceLocation};
use crate::model::{Story, StoryDraft};
use crate::state::{KeptStory, SourceState, StateReader};
use crate::topics::TopicRules;

/// How one source's turn went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceStatus {
    /// Fetched and parsed: stories new and changed since the last fetch.
    Updated { new: usize, changed: usize, total: usize },
    /// 304 Not Modified: the last good stories stand.
    NotModified { total: usize },
    /// Not fetched this time (disabled, waiting out Retry-After).
    Skipped(String),
    /// Failed; the last good stories (if any) still publish.
    Failed(String),
}

#[derive(Debug, Clone)]
pub struct SourceReport {
    pub name: String,
    pub status: SourceStatus,
    /// Things the user should know that are not failures (moves, bozo input).
    pub notes: Vec<String>,
}

impl fmt::Display for SourceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceStatus::Updated { new, changed, total } => write!(f, "ok: {new} new, {changed} updated, {total} stories"),
            SourceStatus::NotModified { total } => write!(f, "not modified: {total} stories"),
            SourceStatus::Skipped(why) => write!(f, "skipped: {why}"),
            SourceStatus::Failed(why) => write!(f, "error: {why}"),
        }
    }
}

/// One source's contribution to a build.
#[derive(Debug)]
pub struct SourceResult {
    pub report: SourceReport,
    /// The source's stories with their topics (the source's and the
    /// rules'), in source order; none for a source disabled in the config.
    pub stories: Vec<Story>,
    /// The source's new state to save; `None` when its saved state could
    /// not be read (it must then be kept as it was).
    pub state: Option<SourceState>,
}

impl SourceResult {
    fn failed(name: &str, why: String) -> SourceResult {
        SourceResult {
            report: SourceReport { name: name.to_owned(), status: SourceStatus::Failed(why), notes: vec![] },
            stories: vec![],
            state: None,
        }
    }
}

/// Runs every source, `concurrency` at a time, each as its own task (so
/// parsing and sanitizing use every core), starting from its saved state
/// in `saved`; hands each result to `sink` as it comes (in any order, with
/// the source's index).
pub async fn aggregate(
    config: Arc<Config>,
    saved: Arc<StateReader>,
    rules: Arc<TopicRules>,
    now: DateTime<Utc>,
    on_done: &(dyn Fn(&SourceReport) + Sync),
    sink: &mut dyn FnMut(usize, SourceResult),
) {
    let fetcher = match Fetcher::new(&config.fetch) {
        Ok(f) => Arc::new(f),
        Err(e) => {
            for (i, s) in config.sources.iter().enumerate() {
                sink(i, SourceResult::failed(&s.name, format!("cannot start the HTTP client: {e}")));
            }
            return;
        }
    };
    let jobs = (0..config.sources.len()).map(|i| {
        let (config, saved, rules, fetcher) = (config.clone(), saved.clone(), rules.clone(), fetcher.clone());
        let task = tokio::spawn(async move { source_turn(&config, &saved, &rules, &fetcher, &config.sources[i], now).await });
        async move { (i, task.await) }
    });
    let mut results = stream::iter(jobs).buffer_unordered(config.fetch.concurrency);
    while let Some((i, joined)) = results.next().await {
        let result = joined.unwrap_or_else(|e| SourceResult::failed(&config.sources[i].name, format!("internal error: {e}")));
        on_done(&result.report);
        sink(i, result);
    }
}

/// Load state, fetch and parse, assign topics.
async fn source_turn(
    config: &Config,
    saved: &StateReader,
    rules: &TopicRules,
    fetcher: &Fetcher,
    source: &SourceConfig,
    now: DateTime<Utc>,
) -> SourceResult {
    let state = match saved.load(&source.name) {
        Ok(s) => s,
        Err(e) => return SourceResult::failed(&source.name, e.to_string()),
    };
    let (state, report) = run_source(config, fetcher, source, state, now).await;
    let stories = match source.enabled {
        true => state.stories.iter().map(|k| with_topics(k.story.clone(), source, rules)).collect(),
        false => Vec::new(),
    };
    SourceResult { report, stories, state: Some(state) }
}

/// The source's own topics and the rules' matches, added to the story's.
pub fn with_topics(mut story: Story, source: &SourceConfig, rules: &TopicRules) -> Story {
    for t in &source.topics {
        if !story.topics.contains(t) {
            story.topics.push(t.clone());
        }
    }
    let found = rules.matching(&story);
    story.topics.extend(found);
    story
}

async fn run_source(
    config: &Config,
    fetcher: &Fetcher,
    source: &SourceConfig,
    mut state: SourceState,
    now: DateTime<Utc>,
) -> (SourceState, SourceReport) {
    let mut report = SourceReport { name: source.name.clone(), status: SourceStatus::Skipped(String::new()), notes: Vec::new() };
    // A config updated to the URL the feed moved to is still the same source.
    if state.url != source.url && state.moved_to.as_deref() != Some(source.url.as_str()) {
        state = SourceState { version: crate::state::STATE_VERSION, url: source.url.clone(), ..Default::default() };
    }
    let total = state.stories.len();
    if !source.enabled {
        report.status = SourceStatus::Skipped("disabled in config".into());
        return (state, report);
    }
    if let Some(why) = &state.disabled {
        report.status = SourceStatus::Skipped(format!("disabled: {why} (remove it from the config, or delete its state to retry)"));
        return (state, report);
    }
    if let Some(until) = state.retry_until.filter(|u| *u > now) {
        report.status = SourceStatus::Skipped(format!("server asked to wait until {}", until.to_rfc3339()));
        return (state, report);
    }
    state.retry_until = None;
    state.last_fetch = Some(now);
    let body = match source.location(config.root()) {
        Some(SourceLocation::File(path)) => match tokio::fs::read(&path).await {
            Ok(body) => Ok(Some(Body { body, content_type: None, base: Url::from_file_path(&path).ok(), validators: Default::default() })),
            Err(e) => Err(format!("{}: {e}", path.display())),
        },
        Some(SourceLocation::Http(url)) => fetch_http(fetcher, source, &mut state, url, &mut report).await,
        None => Err(format!("{:?} is neither a URL nor a path", source.url)),
    };
    report.status = match body {
        Ok(None) => SourceStatus::NotModified { total },
        Ok(Some(fetched)) => {
            match ingest_body(config, source, &mut state, &fetched.body, fetched.content_type, fetched.base.clone(), now) {
                Ok(status) => {
                    // Only a body that parsed earns validators: otherwise a 304
                    // would keep serving what we failed to read.
                    state.validators = fetched.validators;
                    status
                }
                Err(e) => SourceStatus::Failed(e),
            }
        }
        Err(e) => SourceStatus::Failed(e),
    };
    if let SourceStatus::Failed(e) = &report.status {
        state.last_error = Some(e.clone());
    } else {
        state.last_error = None;
    }
    state.last_status = Some(report.status.to_string());
    (state, report)
}

/// A feed document and its HTTP context.
struct Body {
    body: Vec<u8>,
    content_type: Option<String>,
    base: Option<Url>,
    /// Saved only once the body has parsed.
    validators: Validators,
}

/// Custom headers (credentials, often) go only to the configured origin.
fn headers_for(source: &SourceConfig, configured: &Url, target: &Url) -> std::collections::BTreeMap<String, String> {
    match configured.origin() == target.origin() {
        true => source.headers.clone(),
        false => Default::default(),
    }
}

/// Fetches a source; `Ok(None)` is 304. Records moves, Retry-After, 410.
async fn fetch_http(
    fetcher: &Fetcher,
    source: &SourceConfig,
    state: &mut SourceState,
    configured: Url,
    report: &mut SourceReport,
) -> Result<Option<Body>, String> {
    // A feed found through a page, or a permanent move, is fetched directly.
    let url =
        [&state.discovered, &state.moved_to].into_iter().flatten().find_map(|u| Url::parse(u).ok()).unwrap_or_else(|| configured.clone());
    let req = FetchRequest { url: url.clone(), validators: state.validators.clone(), headers: headers_for(source, &configured, &url) };
    let fetched = match fetcher.fetch(&req).await {
        Ok(FetchOutcome::Fetched(f)) => f,
        Ok(FetchOutcome::NotModified { moved_permanently }) => {
            note_move(state, report, moved_permanently);
            return Ok(None);
        }
        Ok(FetchOutcome::Gone) => {
            let why = format!("{url} answered 410 Gone");
            state.disabled = Some(why.clone());
            return Err(format!("{why}; the source is disabled"));
        }
        Ok(FetchOutcome::RetryAfter { status, until }) => {
            state.retry_until = Some(until);
            return Err(format!("HTTP {status}; retrying after {}", until.to_rfc3339()));
        }
        Err(e) => return Err(format!("{url}: {e}")),
    };
    note_move(state, report, fetched.moved_permanently.clone());
    if looks_like_html(fetched.content_type.as_deref(), &fetched.body) {
        return follow_discovered(fetcher, source, state, &configured, fetched, report).await;
    }
    Ok(Some(Body { body: fetched.body, content_type: fetched.content_type, base: Some(fetched.final_url), validators: fetched.validators }))
}

fn note_move(state: &mut SourceState, report: &mut SourceReport, moved: Option<Url>) {
    if let Some(to) = moved {
        report.notes.push(format!("moved permanently to {to}: fetching that from now on (update the config)"));
        state.moved_to = Some(to.to_string());
    }
}

/// How many advertised feeds a page may list in a message.
const MAX_LISTED_FEEDS: usize = 10;

async fn follow_discovered(
    fetcher: &Fetcher,
    source: &SourceConfig,
    state: &mut SourceState,
    configured: &Url,
    page: Fetched,
    report: &mut SourceReport,
) -> Result<Option<Body>, String> {
    let links = feed_links(&page.body, &page.final_url, MAX_LISTED_FEEDS);
    let list = links.iter().map(Url::as_str).collect::<Vec<_>>().join(", ");
    if links.is_empty() {
        return Err(format!("{} is an HTML page, not a feed, and advertises no feed", page.final_url));
    }
    if !source.discover {
        return Err(format!("{} is an HTML page, not a feed; it advertises: {list} (set url to one, or discover = true)", page.final_url));
    }
    let feed = links[0].clone();
    report.notes.push(format!("{} is an HTML page; following its feed {feed}", page.final_url));
    // The page's validators are not the feed's.
    let req = FetchRequest { url: feed.clone(), validators: Validators::default(), headers: headers_for(source, configured, &feed) };
    match fetcher.fetch(&req).await {
        Ok(FetchOutcome::Fetched(f)) if !looks_like_html(f.content_type.as_deref(), &f.body) => {
            state.discovered = Some(feed.to_string());
            Ok(Some(Body { body: f.body, content_type: f.content_type, base: Some(f.final_url), validators: f.validators }))
        }
        Ok(FetchOutcome::Fetched(_)) => Err(format!("discovered feed {feed} is HTML too")),
        Ok(FetchOutcome::NotModified { .. }) => Err(format!("discovered feed {feed} answered 304 to an unconditional request")),
        Ok(FetchOutcome::Gone) => Err(format!("discovered feed {feed} answered 410 Gone")),
        Ok(FetchOutcome::RetryAfter { status, .. }) => Err(format!("discovered feed {feed}: HTTP {status}")),
        Err(e) => Err(format!("discovered feed {feed}: {e}")),
    }
}

/// A stable hash of an entry as parsed: equal means unchanged. Every
/// field that normalization reads goes in, each followed by a separator.
fn draft_hash(draft: &StoryDraft) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    let mut put = |s: &str| {
        h.update(s.as_bytes());
        h.update(&[0xFF]);
    };
    fn opt(o: Option<&str>) -> &str {
        o.unwrap_or("\u{0}none")
    }
    put(opt(draft.origin_id.as_deref()));
    put(&draft.title);
    put(opt(draft.summary.as_deref()));
    put(&draft.content);
    put(opt(draft.link.as_deref()));
    put(opt(draft.base_url.as_ref().map(|u| u.as_str())));
    put(&draft.source);
    if let Some(i) = &draft.image {
        put(opt(i.url.as_deref()));
        put(opt(i.caption.as_deref()));
        put(opt(i.credit.as_deref()));
    }
    for list in [&draft.authors, &draft.categories, &draft.topics] {
        put(&list.len().to_string());
        list.iter().for_each(|x| put(x));
    }
    for date in [draft.published, draft.updated] {
        put(&date.map_or(i64::MIN, |d| d.timestamp()).to_string());
    }
    h.digest()
}

/// Parses a body and replaces the source's stories with its entries,
/// reusing the normalized form of every entry that did not change.
fn ingest_body(
    config: &Config,
    source: &SourceConfig,
    state: &mut SourceState,
    body: &[u8],
    content_type: Option<String>,
    base: Option<Url>,
    now: DateTime<Utc>,
) -> Result<SourceStatus, String> {
    let ctx = ParseContext { base_url: base.clone(), content_type };
    let feed = parse_feed(body, &ctx).map_err(|e| format!("not a usable feed: {e}"))?;
    if feed.entries.is_empty() && !state.stories.is_empty() {
        // More often a broken export than a newsroom that deleted everything.
        return Err(format!("the feed came back with no entries; keeping the {} stories of the last good fetch", state.stories.len()));
    }
    if feed.bozo {
        tracing::info!(source = %source.name, reason = feed.bozo_reason.as_deref().unwrap_or(""), "feed is not well-formed; recovered what could be read");
    }
    let tolerance = chrono::Duration::from_std(config.fetch.future_tolerance).unwrap_or(chrono::Duration::hours(1));
    let old: std::collections::HashMap<u64, &KeptStory> = state.stories.iter().map(|k| (k.hash, k)).collect();
    let old_ids: HashSet<&str> = state.stories.iter().map(|k| k.story.id.as_str()).collect();
    let (mut new, mut changed) = (0, 0);
    let mut kept = Vec::with_capacity(feed.entries.len());
    let mut seen = HashSet::new();
    for entry in feed.entries {
        let mut draft = entry.into_draft(&source.name, base.as_ref());
        if draft.origin_id.is_none() && draft.link.is_none() {
            // Neither an id nor a link: the entry is what it says.
            let key = format!("{}\u{0}{}", draft.title, draft.content);
            draft.origin_id = Some(format!("content:{:016x}", xxhash_rust::xxh3::xxh3_64(key.as_bytes())));
        }
        // Hashed as the feed says it, before clamping: a far-future date
        // clamped to "now" would otherwise look like a new entry every run.
        let hash = draft_hash(&draft);
        // An entry with only an update date was published no later than that.
        draft.published = draft.published.or(draft.updated).map(|d| clamp_future(d, now, tolerance));
        draft.updated = draft.updated.map(|d| clamp_future(d, now, tolerance));
        let story = match old.get(&hash) {
            Some(k) => k.story.clone(),
            None => {
                let dated = draft.published.is_some();
                let Ok(mut story) = draft.normalize(now) else { continue };
                if !dated {
                    story.published = *state.first_seen.get(&story.id).unwrap_or(&story.published);
                }
                if old_ids.contains(story.id.as_str()) {
                    changed += 1
                } else {
                    new += 1
                }
                story
            }
        };
        state.first_seen.entry(story.id.clone()).or_insert(now);
        if seen.insert(story.id.clone()) {
            kept.push(KeptStory { hash, story });
        }
    }
    // first_seen only needs the ids the feed still carries.
    state.first_seen.retain(|id, _| seen.contains(id));
    state.stories = kept;
    Ok(SourceStatus::Updated { new, changed, total: state.stories.len() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_headers_stay_with_the_configured_origin() {
        let source = SourceConfig {
            name: "s".into(),
            url: "https://feeds.example.org/a".into(),
            topics: vec![],
            interval: None,
            headers: [("Authorization".to_owned(), "Bearer x".to_owned())].into(),
            enabled: true,
            discover: false,
        };
        let configured = Url::parse("https://feeds.example.org/a").unwrap();
        let same = Url::parse("https://feeds.example.org/other").unwrap();
        assert_eq!(headers_for(&source, &configured, &same).len(), 1);
        for elsewhere in ["https://cdn.example.net/a", "http://feeds.example.org/a", "https://feeds.example.org:8443/a"] {
            assert!(headers_for(&source, &configured, &Url::parse(elsewhere).unwrap()).is_empty(), "{elsewhere}");
        }
    }
}
