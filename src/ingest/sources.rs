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
use super::fetch::{FetchOutcome, FetchRequest, Fetched, Fetcher};
use super::parse::{ParseContext, clamp_future, parse_feed};
use crate::config::{Config, SourceConfig, SourceLocation};
use crate::model::id::canonical_link;
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
    /// The stories that could appear in some channel (see [`candidates`]),
    /// with their topics (the source's and the rules'), in source order.
    pub candidates: Vec<Story>,
    /// Id and canonical link of the source's other stories, for
    /// de-duplication against later sources.
    pub others: Vec<(String, Option<String>)>,
    /// The source's new state to save; `None` when its saved state could
    /// not be read (it must then be kept as it was).
    pub state: Option<SourceState>,
}

/// Runs every source, `concurrency` at a time, starting from its saved
/// state in `saved`; hands each result to `sink` as it comes (in any order,
/// with the source's index).
pub async fn aggregate(
    config: &Config,
    saved: &StateReader,
    rules: &TopicRules,
    now: DateTime<Utc>,
    on_done: &(dyn Fn(&SourceReport) + Sync),
    sink: &mut dyn FnMut(usize, SourceResult),
) {
    let fetcher = match Fetcher::new(&config.fetch) {
        Ok(f) => Arc::new(f),
        Err(e) => {
            let msg = format!("cannot start the HTTP client: {e}");
            for (i, s) in config.sources.iter().enumerate() {
                let report = SourceReport { name: s.name.clone(), status: SourceStatus::Failed(msg.clone()), notes: vec![] };
                sink(i, SourceResult { report, candidates: vec![], others: vec![], state: None });
            }
            return;
        }
    };
    let jobs = config.sources.iter().enumerate().map(|(i, source)| {
        let fetcher = fetcher.clone();
        async move {
            let result = source_turn(config, saved, rules, &fetcher, source, now).await;
            on_done(&result.report);
            (i, result)
        }
    });
    let mut results = stream::iter(jobs).buffer_unordered(config.fetch.concurrency);
    while let Some((i, result)) = results.next().await {
        sink(i, result);
    }
}

/// Load state, fetch and parse, pick candidates.
async fn source_turn(config: &Config, saved: &StateReader, rules: &TopicRules, fetcher: &Fetcher, source: &SourceConfig, now: DateTime<Utc>) -> SourceResult {
    let state = match saved.load(&source.name) {
        Ok(s) => s,
        Err(e) => {
            let report = SourceReport { name: source.name.clone(), status: SourceStatus::Failed(e.to_string()), notes: vec![] };
            return SourceResult { report, candidates: vec![], others: vec![], state: None };
        }
    };
    let (state, report) = run_source(config, fetcher, source, state, now).await;
    let stories: Vec<Story> = state.stories.iter().map(|k| k.story.clone()).collect();
    let (candidates, others) = candidates(stories, source, rules, config.publish.max_items);
    let others = others.into_iter().map(|s| (s.id, s.link.as_deref().map(canonical_link))).collect();
    SourceResult { report, candidates, others, state: Some(state) }
}

/// The stories of one source that could reach some channel: a channel
/// shows its `max_items` newest, so a story that is not among its own
/// source's `max_items` newest in any of its channels never shows. Keeping
/// only these bounds memory by channels, not by sources × stories.
/// Returns (candidates, the others), both in source order, topics assigned.
pub fn candidates(stories: Vec<Story>, source: &SourceConfig, rules: &TopicRules, max_items: usize) -> (Vec<Story>, Vec<Story>) {
    let stories: Vec<Story> = stories.into_iter().map(|s| with_topics(s, source, rules)).collect();
    let mut order: Vec<usize> = (0..stories.len()).collect();
    // Stable: equal dates keep source order, as the channels do.
    order.sort_by(|&a, &b| stories[b].published.cmp(&stories[a].published));
    let mut keep = vec![false; stories.len()];
    let mut per_channel: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for &i in &order {
        let all = per_channel.entry("").or_default();
        let mut wanted = *all < max_items;
        *all += 1;
        for t in &stories[i].topics {
            let n = per_channel.entry(t.as_str()).or_default();
            wanted |= *n < max_items;
            *n += 1;
        }
        keep[i] = wanted;
    }
    let (chosen, others): (Vec<(usize, Story)>, Vec<(usize, Story)>) = stories.into_iter().enumerate().partition(|(i, _)| keep[*i]);
    (chosen.into_iter().map(|(_, s)| s).collect(), others.into_iter().map(|(_, s)| s).collect())
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

async fn run_source(config: &Config, fetcher: &Fetcher, source: &SourceConfig, mut state: SourceState, now: DateTime<Utc>) -> (SourceState, SourceReport) {
    let mut report = SourceReport { name: source.name.clone(), status: SourceStatus::Skipped(String::new()), notes: Vec::new() };
    if state.url != source.url {
        state = SourceState { url: source.url.clone(), ..Default::default() };
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
            Ok(body) => {
                let base = Url::from_file_path(&path).ok();
                Ok(Some((body, None, base)))
            }
            Err(e) => Err(format!("{}: {e}", path.display())),
        },
        Some(SourceLocation::Http(url)) => fetch_http(fetcher, source, &mut state, url, &mut report).await,
        None => Err(format!("{:?} is neither a URL nor a path", source.url)),
    };
    report.status = match body {
        Ok(None) => SourceStatus::NotModified { total },
        Ok(Some((body, content_type, base))) => match ingest_body(config, source, &mut state, &body, content_type, base, now) {
            Ok(status) => status,
            Err(e) => SourceStatus::Failed(e),
        },
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

type Body = Option<(Vec<u8>, Option<String>, Option<Url>)>;

/// Fetches a source; `Ok(None)` is 304. Updates validators, moves, Retry-After.
async fn fetch_http(fetcher: &Fetcher, source: &SourceConfig, state: &mut SourceState, url: Url, report: &mut SourceReport) -> Result<Body, String> {
    let url = state.moved_to.as_deref().and_then(|m| Url::parse(m).ok()).unwrap_or(url);
    let req = FetchRequest { url: url.clone(), validators: state.validators.clone(), headers: source.headers.clone() };
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
        return follow_discovered(fetcher, source, state, fetched, report).await;
    }
    state.validators = fetched.validators.clone();
    Ok(Some((fetched.body, fetched.content_type, Some(fetched.final_url))))
}

fn note_move(state: &mut SourceState, report: &mut SourceReport, moved: Option<Url>) {
    if let Some(to) = moved {
        report.notes.push(format!("moved permanently to {to}: fetching that from now on (update the config)"));
        state.moved_to = Some(to.to_string());
    }
}

async fn follow_discovered(fetcher: &Fetcher, source: &SourceConfig, state: &mut SourceState, page: Fetched, report: &mut SourceReport) -> Result<Body, String> {
    let links = feed_links(&page.body, &page.final_url);
    let list = links.iter().map(Url::as_str).collect::<Vec<_>>().join(", ");
    if links.is_empty() {
        return Err(format!("{} is an HTML page, not a feed, and advertises no feed", page.final_url));
    }
    if !source.discover {
        return Err(format!("{} is an HTML page, not a feed; it advertises: {list} (set url to one, or discover = true)", page.final_url));
    }
    report.notes.push(format!("{} is an HTML page; following its feed {}", page.final_url, links[0]));
    let req = FetchRequest { url: links[0].clone(), validators: state.validators.clone(), headers: source.headers.clone() };
    match fetcher.fetch(&req).await {
        Ok(FetchOutcome::Fetched(f)) if !looks_like_html(f.content_type.as_deref(), &f.body) => {
            state.validators = f.validators.clone();
            Ok(Some((f.body, f.content_type, Some(f.final_url))))
        }
        Ok(FetchOutcome::NotModified { .. }) => Ok(None),
        Ok(FetchOutcome::Fetched(_)) => Err(format!("discovered feed {} is HTML too", links[0])),
        Ok(other) => Err(format!("discovered feed {}: {other:?}", links[0])),
        Err(e) => Err(format!("discovered feed {}: {e}", links[0])),
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
        // An entry with only an update date was published no later than that.
        draft.published = draft.published.or(draft.updated).map(|d| clamp_future(d, now, tolerance));
        draft.updated = draft.updated.map(|d| clamp_future(d, now, tolerance));
        let hash = draft_hash(&draft);
        let story = match old.get(&hash) {
            Some(k) => k.story.clone(),
            None => {
                let dated = draft.published.is_some();
                let Ok(mut story) = draft.normalize(now) else { continue };
                if !dated {
                    story.published = *state.first_seen.get(&story.id).unwrap_or(&story.published);
                }
                if old_ids.contains(story.id.as_str()) { changed += 1 } else { new += 1 }
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
    use crate::publish::channels;
    use chrono::TimeZone;

    /// Publishing from the candidates of each source gives exactly the
    /// channels that publishing from every story gives.
    #[test]
    fn candidates_lose_nothing_a_channel_shows() {
        let config = Config::from_toml(
            "[publish]\ntitle = \"T\"\nbase_url = \"http://x/\"\nmax_items = 7\n[[topics]]\nslug = \"odd\"\ntitle = \"Odd\"\nkeywords = [\"odd\"]\n[[topics]]\nslug = \"rare\"\ntitle = \"Rare\"\nkeywords = [\"rare\"]\n[[topics]]\nslug = \"src\"\ntitle = \"Src\"\n",
            std::path::Path::new("/x/wirefeed.toml"),
        )
        .unwrap();
        let rules = TopicRules::new(&config.topics).unwrap();
        let start = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        let mut everything = Vec::new();
        let mut picked = Vec::new();
        for src in 0..3 {
            let source = SourceConfig {
                name: format!("s{src}"),
                url: "http://x/".into(),
                topics: if src == 2 { vec!["src".into()] } else { vec![] },
                interval: None,
                headers: Default::default(),
                enabled: true,
                discover: false,
            };
            let stories: Vec<Story> = (0..60)
                .map(|i| {
                    let words = format!("{} {}", if i % 2 == 1 { "odd" } else { "even" }, if (i * 7 + src) % 23 == 0 { "rare" } else { "" });
                    StoryDraft {
                        title: format!("s{src} story {i} {words}"),
                        content: format!("<p>{words}</p>"),
                        // Dates interleave across sources, with ties.
                        published: Some(start + chrono::Duration::hours(((i * 37 + src * 11) % 50) as i64)),
                        source: source.name.clone(),
                        ..Default::default()
                    }
                    .normalize(start)
                    .unwrap()
                })
                .collect();
            let mut all = stories.clone();
            for s in &mut all {
                s.topics.extend(source.topics.clone());
                rules.assign(s);
            }
            everything.extend(all);
            picked.extend(candidates(stories, &source, &rules, config.publish.max_items).0);
        }
        assert!(picked.len() < everything.len() / 2, "{} of {}", picked.len(), everything.len());
        let ids = |stories: &[Story]| -> Vec<Vec<String>> {
            channels(&config, stories).iter().map(|c| c.stories.iter().map(|s| s.id.clone()).collect()).collect()
        };
        assert_eq!(ids(&picked), ids(&everything));
    }
}
