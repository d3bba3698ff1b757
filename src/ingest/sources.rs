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
use super::fetch::{CacheHints, FetchOutcome, FetchRequest, Fetched, Fetcher, Validators};
use super::parse::{FeedHints, ParseContext, ParsedFeed, clamp_future, parse_feed_with};
use crate::config::{Config, SourceConfig, SourceLocation};
use crate::model::text::count;
use crate::model::{Origin, Story, StoryDraft};
use crate::operate::schedule::{LastFetch, SchedulePolicy, jitter_seed, next_due};
use crate::store::{Entry, Reader, SourceState};
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
    /// Entries this turn left out (filtered, duplicates, too old) and why:
    /// `build -v` lists them.
    pub left_out: Vec<crate::store::decisions::Decision>,
}

impl SourceStatus {
    /// A short word for logs, metrics and `wirefeed sources`.
    pub fn label(&self) -> &'static str {
        match self {
            SourceStatus::Updated { .. } => "ok",
            SourceStatus::NotModified { .. } => "not modified",
            SourceStatus::Skipped(_) => "skipped",
            SourceStatus::Failed(_) => "error",
        }
    }
}

impl fmt::Display for SourceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceStatus::Updated { new, changed, total } => {
                write!(f, "ok: {new} new, {changed} updated, {}", count(*total, "story", "stories"))
            }
            SourceStatus::NotModified { total } => write!(f, "not modified: {}", count(*total, "story", "stories")),
            SourceStatus::Skipped(why) => write!(f, "skipped: {why}"),
            SourceStatus::Failed(why) => write!(f, "error: {why}"),
        }
    }
}

/// One source's contribution to a build, for the store to apply.
#[derive(Debug)]
pub struct SourceResult {
    /// The source's row in the store.
    pub pk: i64,
    pub report: SourceReport,
    /// The source's new state to save.
    pub state: SourceState,
    /// New or changed entries, with their topics (the source's and the rules').
    pub entries: Vec<Entry>,
    /// Hashes of every entry the feed carries now (unchanged ones included).
    pub seen: Vec<u64>,
    /// Entries the source's filters left out, and why.
    pub dropped: Vec<crate::store::decisions::Decision>,
}

/// A source about to take its turn: its row and saved state.
#[derive(Debug, Clone)]
pub struct SourceInput {
    pub pk: i64,
    pub state: SourceState,
    /// What the source's ids are scoped by (see [`crate::store::Store::source_scope`]).
    pub scope: String,
}

impl SourceResult {
    fn failed(input: SourceInput, name: &str, why: String) -> SourceResult {
        SourceResult {
            pk: input.pk,
            report: SourceReport { name: name.to_owned(), status: SourceStatus::Failed(why), notes: vec![], left_out: vec![] },
            state: input.state,
            entries: vec![],
            seen: vec![],
            dropped: vec![],
        }
    }
}

/// Runs every source, `concurrency` at a time, each as its own task (so
/// parsing and sanitizing use every core), starting from its saved state;
/// hands each result to `sink` as it comes (in any order, with the
/// source's index). `reader` tells which entries are already stored.
pub async fn aggregate(
    config: Arc<Config>,
    inputs: Vec<SourceInput>,
    reader: Arc<Reader>,
    rules: Arc<TopicRules>,
    now: DateTime<Utc>,
    sink: &mut dyn FnMut(usize, SourceResult),
) {
    let fetcher = match Fetcher::new(&config.fetch) {
        Ok(f) => Arc::new(f),
        Err(e) => {
            for (i, input) in inputs.into_iter().enumerate() {
                sink(i, SourceResult::failed(input, &config.sources[i].name, format!("cannot start the HTTP client: {e}")));
            }
            return;
        }
    };
    let jobs = inputs.into_iter().enumerate().map(|(i, input)| {
        let (config, reader, rules, fetcher) = (config.clone(), reader.clone(), rules.clone(), fetcher.clone());
        let fallback = input.clone();
        let task = tokio::spawn(async move { source_turn(&config, input, &reader, &rules, &fetcher, i, now).await });
        async move { (i, fallback, task.await) }
    });
    let mut results = stream::iter(jobs).buffer_unordered(config.fetch.concurrency);
    while let Some((i, fallback, joined)) = results.next().await {
        let result = joined.unwrap_or_else(|e| SourceResult::failed(fallback, &config.sources[i].name, format!("internal error: {e}")));
        sink(i, result);
    }
}

/// One source's turn (fetch and parse, normalize what changed, assign
/// topics), with a shared fetcher: `wirefeed run` runs each source as its
/// own task through this, so a slow one holds up nothing else.
pub async fn source_turn(
    config: &Config,
    input: SourceInput,
    reader: &Reader,
    rules: &TopicRules,
    fetcher: &Fetcher,
    index: usize,
    now: DateTime<Utc>,
) -> SourceResult {
    let source = &config.sources[index];
    let pk = input.pk;
    let (state, report, parsed) = run_source(config, fetcher, source, input.state, &input.scope, reader, pk, now).await;
    let (entries, seen) = parsed.unwrap_or_default();
    // The source's include/exclude/max_age, before anything is stored;
    // what they leave out is recorded for `wirefeed explain`.
    let mut dropped = Vec::new();
    let entries: Vec<Entry> = entries
        .into_iter()
        .filter(|e| match rules.admit(&e.story, now) {
            Ok(()) => true,
            Err(why) => {
                tracing::debug!(source = %source.name, entry = %e.story.id, title = %e.story.title, "dropped: {why}");
                let (id, link, title) = (e.story.id.clone(), e.story.link.clone(), e.story.title.clone());
                dropped.push(crate::store::decisions::Decision { id, link, title, reason: format!("source filter: {why}") });
                false
            }
        })
        .map(|e| Entry { hash: e.hash, story: with_topics(e.story, rules), file: None })
        .collect();
    if !dropped.is_empty() {
        tracing::info!(source = %source.name, dropped = dropped.len(), "entries left out by the source's filters");
    }
    SourceResult { pk, report, state, entries, seen, dropped }
}

/// The rules' matches (the source's own `topics` among them), added to
/// the story's.
pub fn with_topics(mut story: Story, rules: &TopicRules) -> Story {
    rules.assign(&mut story);
    story
}

/// New or changed entries, and the hashes of all the feed carries.
type Parsed = (Vec<Entry>, Vec<u64>);

#[allow(clippy::too_many_arguments)]
async fn run_source(
    config: &Config,
    fetcher: &Fetcher,
    source: &SourceConfig,
    mut state: SourceState,
    scope: &str,
    reader: &Reader,
    pk: i64,
    now: DateTime<Utc>,
) -> (SourceState, SourceReport, Option<Parsed>) {
    let mut report =
        SourceReport { name: source.name.clone(), status: SourceStatus::Skipped(String::new()), notes: Vec::new(), left_out: Vec::new() };
    // A config updated to the URL the feed moved to is still the same
    // source; another URL starts the HTTP state afresh (stories stay).
    if state.url != source.url && state.moved_to.as_deref() != Some(source.url.as_str()) {
        state = SourceState { url: source.url.clone(), ..Default::default() };
    }
    if let Some(why) = skip_reason(source, &state, now) {
        // Waiting out Retry-After: due when it ends; disabled: never.
        state.next_fetch = state.retry_until.filter(|_| state.disabled.is_none() && source.enabled);
        report.status = SourceStatus::Skipped(why);
        return (state, report, None);
    }
    state.retry_until = None;
    state.last_fetch = Some(now);
    let mut cache = CacheHints::default();
    let body = match source.location(config.root()) {
        Some(SourceLocation::File(path)) => match read_capped(&path, config.fetch.max_body_bytes).await {
            Ok(body) => Ok(Some(Body { body, content_type: None, base: Url::from_file_path(&path).ok(), validators: Default::default() })),
            Err(e) => Err(format!("{}: {e}", path.display())),
        },
        Some(SourceLocation::Http(url)) => fetch_http(fetcher, source, &mut state, url, &mut report, &mut cache).await,
        None => Err(format!("{:?} is neither a URL nor a path", source.url)),
    };
    let body = body.map(|b| b.map(|b| (body_fingerprint(config, source, scope, &b), b)));
    let mut parsed = None;
    let notes_before = report.notes.len();
    report.status = match body {
        Ok(None) => SourceStatus::NotModified { total: 0 },
        Ok(Some((fingerprint, fetched))) if read_lately(&state, fingerprint, now) => {
            // The validators may be new even though the bytes are not.
            state.validators = fetched.validators;
            SourceStatus::NotModified { total: 0 }
        }
        Ok(Some((fingerprint, fetched))) => {
            let known = known_or_none(reader, pk, &source.name);
            match ingest_body(config, source, scope, &known, &fetched.body, fetched.content_type, fetched.base.clone(), now, &mut report.notes)
            {
                Ok((p, hints)) => {
                    state.hints = hints;
                    state.body_hash = Some(fingerprint);
                    state.body_read = Some(now);
                    let notes = &report.notes[notes_before..];
                    state.last_notes = (!notes.is_empty()).then(|| notes.join("; "));
                    // Only a body that parsed earns validators: otherwise a 304
                    // would keep serving what we failed to read.
                    state.validators = fetched.validators;
                    parsed = Some(p);
                    SourceStatus::Updated { new: 0, changed: 0, total: 0 }
                }
                Err(e) => SourceStatus::Failed(e),
            }
        }
        Err(e) => SourceStatus::Failed(e),
    };
    if let SourceStatus::Failed(e) = &report.status {
        state.last_error = Some(e.clone());
        state.consecutive_errors += 1;
    } else {
        state.last_error = None;
        state.consecutive_errors = 0;
        state.last_success = Some(now);
    }
    state.last_status = Some(report.status.label().to_owned());
    let policy = SchedulePolicy::for_source(&config.run, source);
    let last = LastFetch { consecutive_errors: state.consecutive_errors, hints: state.hints, cache, retry_until: state.retry_until };
    state.next_fetch = Some(next_due(now, &policy, &last, jitter_seed(&source.name, now)));
    (state, report, parsed)
}

/// The hashes of the entries the store has for the source (stories and
/// tombstones), so that only new or changed entries are normalized. An
/// optimization only: the store tells stored entries apart itself. So a
/// store out of reach (a PostgreSQL outage) costs normalizing every entry,
/// not a failure charged to the source, which did nothing wrong; storing
/// the result then waits for the store like any write.
fn known_or_none(reader: &Reader, pk: i64, name: &str) -> HashSet<u64> {
    reader.known_hashes(pk).unwrap_or_else(|e| {
        tracing::debug!(source = %name, "stored entries not read, all entries normalized: {e}");
        HashSet::new()
    })
}

/// How long a body identical to the last one read in full counts as not
/// modified. Once this old, an identical body is read again, which
/// refreshes what only a full read does: the stories' `last_seen`, the
/// tombstones of entries the feed still lists (they last 30 days past
/// that), and the reasons recorded for entries left out.
pub const BODY_RECHECK: chrono::TimeDelta = chrono::TimeDelta::hours(1);

/// Whether `fingerprint` is the body last read in full, within
/// [`BODY_RECHECK`]: then it is not read again, as after a 304. Many feeds
/// send no validators, or ones that change on every request; a fleet
/// polling them spent most of its time storing what it already had.
fn read_lately(state: &SourceState, fingerprint: u64, now: DateTime<Utc>) -> bool {
    state.body_hash == Some(fingerprint) && state.body_read.is_some_and(|at| at <= now && now - at < BODY_RECHECK)
}

/// The xxh3-64 of a body and of everything its reading depends on besides
/// the bytes: the Content-Type and base URL it came with, the source's
/// config (filters, topics, scope), what the filters' queries read
/// (`[matching]`, the default language and the story folders'), the
/// parser's caps, the future-date tolerance and this wirefeed's version.
/// Any of them changing makes the next body read in full.
fn body_fingerprint(config: &Config, source: &SourceConfig, scope: &str, body: &Body) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(&body.body);
    let languages: Vec<_> = config.stories.iter().map(|s| (&s.source, &s.language)).collect();
    let context = format!(
        "\u{0}{:?}\u{0}{:?}\u{0}{source:?}\u{0}{scope}\u{0}{:?}|{}|{languages:?}\u{0}{:?}\u{0}{:?}\u{0}{}",
        body.content_type,
        body.base.as_ref().map(Url::as_str),
        config.matching,
        config.publish.language,
        config.limits,
        config.fetch.future_tolerance,
        env!("CARGO_PKG_VERSION"),
    );
    h.update(context.as_bytes());
    h.digest()
}

/// A local feed file, under the same cap as an HTTP body (`[fetch]
/// max_body_bytes`): a bigger one fails with the HTTP side's error. Read
/// through a bounded reader, not by its size alone, so that a file that
/// grows, or a device that never ends, costs at most the cap.
async fn read_capped(path: &std::path::Path, cap: u64) -> Result<Vec<u8>, String> {
    use tokio::io::AsyncReadExt;
    let too_large = || crate::ingest::fetch::FetchError::TooLarge(cap).to_string();
    let file = tokio::fs::File::open(path).await.map_err(|e| e.to_string())?;
    let len = file.metadata().await.map_err(|e| e.to_string())?.len();
    if len > cap {
        return Err(too_large());
    }
    let mut body = Vec::with_capacity(len as usize);
    file.take(cap.saturating_add(1)).read_to_end(&mut body).await.map_err(|e| e.to_string())?;
    if body.len() as u64 > cap {
        return Err(too_large());
    }
    Ok(body)
}

/// Why a source is not fetched this time, if it is not.
fn skip_reason(source: &SourceConfig, state: &SourceState, now: DateTime<Utc>) -> Option<String> {
    if !source.enabled {
        return Some("disabled in config".into());
    }
    if let Some(why) = &state.disabled {
        return Some(format!("disabled: {why} (remove it from the config, or run `wirefeed sources --reset NAME` to retry)"));
    }
    state.retry_until.filter(|u| *u > now).map(|until| format!("server asked to wait until {}", until.to_rfc3339()))
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
    cache: &mut CacheHints,
) -> Result<Option<Body>, String> {
    // A feed found through a page, or a permanent move, is fetched directly.
    let url =
        [&state.discovered, &state.moved_to].into_iter().flatten().find_map(|u| Url::parse(u).ok()).unwrap_or_else(|| configured.clone());
    let req = FetchRequest { url: url.clone(), validators: state.validators.clone(), headers: headers_for(source, &configured, &url) };
    let response = fetcher.fetch_with_cache(&req).await.map(|r| {
        *cache = r.cache;
        r.outcome
    });
    let fetched = match response {
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
    // The scope, not the display name: renaming a source edits nothing.
    put(draft.id_scope.as_deref().unwrap_or(&draft.source));
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
    // Only when present, so entries without attachments keep the hash
    // stores made before attachments were read.
    for a in &draft.attachments {
        put(&a.url);
        put(&a.mime_type);
        put(&format!("{:?}\u{0}{:?}\u{0}{:?}", a.length, a.title, a.duration));
    }
    h.digest()
}

/// What every entry of `feed` says about where it came from: the feed's
/// own id, title and site, and the URL wirefeed reads it at.
fn feed_origin(source: &SourceConfig, feed: &ParsedFeed) -> Origin {
    let feed_url = Url::parse(&source.url).ok().filter(|u| matches!(u.scheme(), "http" | "https")).map(String::from);
    Origin {
        id: feed.id.clone().unwrap_or_default(),
        title: feed.title.clone().filter(|t| !t.trim().is_empty()).unwrap_or_else(|| source.name.clone()),
        feed_url,
        site_url: feed.link.clone(),
        updated: feed.updated,
    }
}

/// Parses a body and replaces the source's stories with its entries,
/// reusing the normalized form of every entry that did not change.
#[allow(clippy::too_many_arguments)]
fn ingest_body(
    config: &Config,
    source: &SourceConfig,
    scope: &str,
    known: &HashSet<u64>,
    body: &[u8],
    content_type: Option<String>,
    base: Option<Url>,
    now: DateTime<Utc>,
    notes: &mut Vec<String>,
) -> Result<(Parsed, FeedHints), String> {
    let ctx = ParseContext { base_url: base.clone(), content_type };
    let mut feed = parse_feed_with(body, &ctx, &config.limits).map_err(|e| format!("not a usable feed: {e}"))?;
    // What the parser's caps cut: the build prints it under the source.
    notes.append(&mut feed.notes);
    if feed.bozo {
        tracing::info!(source = %source.name, reason = feed.bozo_reason.as_deref().unwrap_or(""), "feed is not well-formed; recovered what could be read");
    }
    let tolerance = chrono::Duration::from_std(config.fetch.future_tolerance).unwrap_or(chrono::Duration::hours(1));
    let mut entries = Vec::new();
    let mut seen = Vec::with_capacity(feed.entries.len());
    let mut ids = HashSet::new();
    let origin = feed_origin(source, &feed);
    for entry in feed.entries {
        let mut draft = entry.into_draft(&source.name, base.as_ref());
        draft.id_scope = Some(scope.to_owned());
        if draft.authors.is_empty() {
            draft.authors.clone_from(&feed.authors);
        }
        if draft.origin_id.is_none() && draft.link.is_none() {
            // Neither an id nor a link: the entry is what it says.
            let key = format!("{}\u{0}{}", draft.title, draft.content);
            draft.origin_id = Some(format!("content:{:016x}", xxhash_rust::xxh3::xxh3_64(key.as_bytes())));
        }
        // Hashed as the feed says it, before clamping: a far-future date
        // clamped to "now" would otherwise look like a new entry every run.
        let hash = draft_hash(&draft);
        seen.push(hash);
        if known.contains(&hash) {
            continue;
        }
        // An entry with only an update date was published no later than that.
        draft.published = draft.published.or(draft.updated).map(|d| clamp_future(d, now, tolerance));
        draft.updated = draft.updated.map(|d| clamp_future(d, now, tolerance));
        // Not hashed: the feed's `updated` moves on every change of any entry.
        draft.origin = Some(origin.clone());
        // Undated entries get `now`; the store keeps the first-seen date.
        let Ok(story) = draft.normalize(now) else { continue };
        if ids.insert(story.id.clone()) {
            entries.push(Entry { hash, story, file: None });
        }
    }
    Ok(((entries, seen), feed.hints))
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
            include: None,
            exclude: None,
            max_age: None,
            in_all: true,
            all_limit: None,
            language: None,
            parsed: Default::default(),
        };
        let configured = Url::parse("https://feeds.example.org/a").unwrap();
        let same = Url::parse("https://feeds.example.org/other").unwrap();
        assert_eq!(headers_for(&source, &configured, &same).len(), 1);
        for elsewhere in ["https://cdn.example.net/a", "http://feeds.example.org/a", "https://feeds.example.org:8443/a"] {
            assert!(headers_for(&source, &configured, &Url::parse(elsewhere).unwrap()).is_empty(), "{elsewhere}");
        }
    }
}
