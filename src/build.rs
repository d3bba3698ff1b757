//! `wirefeed build`: ingest → normalize → topics → store → publish, once.
//!
//! Every input goes into the store first, one transaction per source; the
//! channels are then read back from the store and only those whose items
//! changed are rendered again.

use chrono::{DateTime, Utc};
use std::collections::HashSet;
use std::sync::Arc;

use crate::config::{Config, SourceConfig, StoriesConfig};
use crate::ingest::sources::{SourceInput, SourceReport, SourceResult, SourceStatus, aggregate};
use crate::ingest::{self, InputFailure};
use crate::model::Story;
use crate::model::text::count;
use crate::publish::write::WriteError;
use crate::publish::{self, PublishReport};
use crate::store::decisions::Decision;
use crate::store::sources::SourceKind;
use crate::store::stories::{Batch, MergedRules, Retention};
use crate::store::{Entry, RunRecord, SourceState, Store, StoreError};
use crate::topics::TopicRules;

mod fleet;
pub use fleet::{Mirrored, export_from, mirror};

/// What a build did; `failures` non-empty means some input was skipped.
#[derive(Debug, Default)]
pub struct BuildReport {
    pub files_read: usize,
    /// Stories the channels show (each counted once).
    pub stories: usize,
    /// New and edited stories stored by this run.
    pub new: usize,
    pub changed: usize,
    /// Entries dropped because another source had the same id or link.
    pub duplicates: usize,
    /// Stories let go by retention in this run.
    pub pruned: usize,
    /// Sources no longer configured, dropped from the store with their stories.
    pub forgotten: Vec<(String, u64)>,
    /// Sources whose config entry was renamed: (old name, new name). Their
    /// stories and ids stay.
    pub renamed: Vec<(String, String)>,
    /// Things the user should know that are not failures (a file read
    /// for two `[[stories]]` entries, a removed topic's files deleted).
    pub notes: Vec<String>,
    pub failures: Vec<InputFailure>,
    /// One per configured source, in config order.
    pub sources: Vec<SourceReport>,
    /// The newsroom's stories left out (held, expired, duplicates), by
    /// `[[stories]] source` name; external sources' are in `sources`.
    pub left_out: Vec<(String, Decision)>,
    /// The earliest time a held story of the newsroom falls due or a
    /// published one expires: `run` reads its folder again then.
    pub next_due: Option<DateTime<Utc>>,
    /// (channel path, number of stories) for each channel, `all` first.
    pub channels: Vec<(String, usize)>,
    pub publish: PublishReport,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    // The causes are in the messages and not also `#[source]`: a chain
    // printed with `{:#}` would name each one twice.
    #[error("topic keywords: {0}")]
    Topics(regex::Error),
    /// A file of the output folder could not be written (or removed); the
    /// error names it.
    #[error("writing feeds: {0}")]
    Publish(crate::publish::write::WriteError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}

impl From<regex::Error> for BuildError {
    fn from(e: regex::Error) -> Self {
        BuildError::Topics(e)
    }
}

impl From<WriteError> for BuildError {
    fn from(e: WriteError) -> Self {
        BuildError::Publish(e)
    }
}

impl BuildReport {
    /// Sources whose fetch or parse failed this run.
    pub fn failed_sources(&self) -> impl Iterator<Item = &SourceReport> {
        self.sources.iter().filter(|s| matches!(s.status, SourceStatus::Failed(_)))
    }

    pub fn add(&mut self, outcome: &crate::store::BatchOutcome) {
        self.new += outcome.new;
        self.changed += outcome.changed;
        self.duplicates += outcome.duplicates;
        self.pruned += outcome.pruned;
    }

    /// One line for the run log and `/healthz`.
    pub fn summary(&self) -> String {
        let failed = self.failures.len() + self.failed_sources().count();
        format!(
            "{} new, {} updated, {} pruned; {} written; {} failed",
            self.new,
            self.changed,
            self.pruned,
            count(self.publish.written.len(), "file", "files"),
            count(failed, "input", "inputs")
        )
    }
}

pub fn build(config: &Config) -> Result<BuildReport, BuildError> {
    build_with_progress(config, &|_| {})
}

/// [`build`], calling `on_source` as each external source finishes.
pub fn build_with_progress(config: &Config, on_source: &(dyn Fn(&SourceReport) + Sync)) -> Result<BuildReport, BuildError> {
    let mut store = Store::open(config)?;
    let started = Utc::now();
    let result = build_in(config, &mut store, started, on_source);
    // A store found damaged is left exactly as it is: no run record goes
    // into it (its other pages may still take writes).
    if let Err(BuildError::Store(StoreError::Corrupt { .. })) = &result {
        return result;
    }
    let (ok, summary) = match &result {
        Ok(r) => (r.failures.is_empty() && r.failed_sources().next().is_none(), r.summary()),
        Err(e) => (false, e.to_string()),
    };
    // The record is history for `/healthz`, not the build's outcome: a
    // store that cannot take it (its disk is full) does not turn a build
    // that published into a failure, nor hide why a failed one failed.
    if let Err(e) = store.record_run(&RunRecord { started, finished: Utc::now(), ok, summary }) {
        tracing::warn!("cannot record the run: {e}");
    }
    result
}

/// One pass over every input with the store already open.
pub fn build_in(
    config: &Config,
    store: &mut Store,
    now: DateTime<Utc>,
    on_source: &(dyn Fn(&SourceReport) + Sync),
) -> Result<BuildReport, BuildError> {
    let rules = Arc::new(TopicRules::from_config(config));
    let retention = retention(config);
    let mut report = BuildReport::default();
    forget_unconfigured(config, store, &mut report)?;
    refresh_topics(config, &rules, store)?;
    for entry in &config.stories {
        ingest_files(entry, config, &rules, store, &retention, now, &mut report)?;
    }
    if !config.sources.is_empty() {
        aggregate_sources(config, rules, store, &retention, now, &mut report, on_source)?;
    }
    let published = publish_waiting(config, store)?;
    if published.busy {
        report.notes.push(format!(
            "another worker kept publishing for {}: this build's changes are published by the next publish",
            humantime::format_duration(config.store.lock_timeout)
        ));
    }
    report.stories = published.stories;
    report.channels = published.channels;
    report.publish = published.report;
    if !published.removed.is_empty() {
        let names: Vec<String> = published.removed.iter().map(|p| p.display().to_string()).collect();
        report.notes.push(format!("no longer published: deleted {}", names.join(", ")));
    }
    Ok(report)
}

/// [`publish_from_store`], once: when a worker of a PostgreSQL fleet is
/// publishing, `build` does not wait for it. The build holds the store's
/// writer lock, which that worker's publish needs to go on: waiting would
/// stall both, and every worker with them, until `lock_timeout`. The
/// fleet publishes the build's changes with its next publish.
fn publish_waiting(config: &Config, store: &Store) -> Result<Published, BuildError> {
    let start = std::time::Instant::now();
    loop {
        let published = publish_from_store(config, store)?;
        let fleet = matches!(store, Store::Postgres(_));
        if !published.busy || fleet || start.elapsed() >= config.store.lock_timeout {
            return Ok(published);
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

pub fn retention(config: &Config) -> Retention {
    Retention {
        keep_days: config.store.keep_days,
        max_items: config.publish.max_items,
        topics: config.topics.iter().map(|t| t.slug.clone()).collect(),
        topic_limits: config.topics.iter().filter_map(|t| Some((t.slug.clone(), t.max_items?))).collect(),
        merged: MergedRules {
            left_out: config.sources.iter().filter(|s| !s.in_all).map(|s| s.name.clone()).collect(),
            caps: config.sources.iter().filter_map(|s| Some((s.name.clone(), s.all_limit?))).collect(),
        },
    }
}

/// When the topics (or the sources' topics) changed since the last run,
/// stored stories join the channels they now match, so a new topic starts
/// with the stories already in the store; feed stories also leave the
/// ones they no longer match.
pub fn refresh_topics(config: &Config, rules: &TopicRules, store: &mut Store) -> Result<(), BuildError> {
    let sources: Vec<_> = config.sources.iter().map(|s| (&s.name, &s.topics, &s.language)).collect();
    let languages: Vec<_> = config.stories.iter().map(|s| (&s.source, &s.language)).collect();
    let rules_text = format!("{:?}|{sources:?}|{languages:?}|{:?}|{}", config.topics, config.matching, config.publish.language);
    let fingerprint = format!("{:016x}", xxhash_rust::xxh3::xxh3_64(rules_text.as_bytes()));
    if store.meta("topics")?.as_deref() == Some(fingerprint.as_str()) {
        return Ok(());
    }
    let changed = store.retopic(|story| match story.origin {
        // A feed's story has no topics of its own: the rules decide alone,
        // so a new exclude (or a narrower query) takes it out.
        Some(_) => rules.rule_topics(story),
        // The newsroom's own may name topics in front matter, which the
        // store does not tell apart from the rules': only added to.
        None => story.topics.iter().cloned().chain(rules.matching(story)).collect(),
    })?;
    if changed > 0 {
        tracing::info!(stories = changed, "topic rules changed: stored stories moved to the channels they now match");
    }
    store.set_meta("topics", &fingerprint)?;
    Ok(())
}

/// The store's name for a `[[stories]]` folder: its path as configured
/// (relative to the config's folder).
pub fn files_source_name(config: &Config, entry: &StoriesConfig) -> String {
    format!("files:{}", entry.path.strip_prefix(config.root()).unwrap_or(&entry.path).display())
}

/// Renamed sources keep their rows; sources no longer configured leave the
/// store with their stories. Folders of the newsroom's own stories stay
/// while any `[[stories]] path` cannot be read: a typo in a folder name
/// must not unpublish the newsroom.
pub fn forget_unconfigured(config: &Config, store: &Store, report: &mut BuildReport) -> Result<(), StoreError> {
    let feeds: Vec<(&str, &str)> = config.sources.iter().map(|s| (s.name.as_str(), s.url.as_str())).collect();
    report.renamed = store.adopt_renamed_sources(&feeds)?;
    for (old, new) in &report.renamed {
        report.notes.push(format!("source {old:?} is now called {new:?}: its stories and ids are kept"));
    }
    let unreadable = config.stories.iter().any(|e| std::fs::metadata(&e.path).is_err());
    report.forgotten = store.forget_sources_except(&configured_names(config), unreadable)?;
    Ok(())
}

/// [`forget_unconfigured`] for `run`, which has no build report: what it
/// did goes to the log. Returns the forgotten sources (name, stories).
pub fn forget_logged(config: &Config, store: &Store) -> Result<Vec<(String, u64)>, StoreError> {
    let mut report = BuildReport::default();
    forget_unconfigured(config, store, &mut report)?;
    for note in &report.notes {
        tracing::info!("{note}");
    }
    for (name, stories) in &report.forgotten {
        tracing::info!(source = %name, stories, "no longer configured: dropped with its stories");
    }
    Ok(report.forgotten)
}

/// Every name the store keeps for this config: `[[sources]]` names and
/// the `files:` names of `[[stories]]` entries.
pub fn configured_names(config: &Config) -> HashSet<String> {
    let files = config.stories.iter().map(|e| files_source_name(config, e));
    files.chain(config.sources.iter().map(|s| s.name.clone())).collect()
}

/// A hash of a newsroom story as read, leaving out `published` (a wire
/// file's date is its modification time: touching it is not an edit) and
/// the display name of its source (`scope` stands in, so renaming the
/// source is not an edit of every story).
fn local_hash(story: &Story, scope: &str) -> u64 {
    let mut s = story.clone();
    s.published = DateTime::UNIX_EPOCH;
    s.topics.clear();
    s.source = scope.to_owned();
    xxhash_rust::xxh3::xxh3_64(&serde_json::to_vec(&s).unwrap_or_default())
}

/// The `[[stories]]` paths configured before `entry`: a file under one of
/// them was read for that entry already.
fn earlier_paths<'a>(config: &'a Config, entry: &StoriesConfig) -> Vec<&'a std::path::Path> {
    config.stories.iter().take_while(|e| !std::ptr::eq(*e, entry)).map(|e| e.path.as_path()).collect()
}

/// Reads one `[[stories]]` entry into the store. Stories whose file is
/// gone are retracted, but only when every file was read cleanly (a file
/// that failed may hold them).
pub fn ingest_files(
    entry: &StoriesConfig,
    config: &Config,
    rules: &TopicRules,
    store: &mut Store,
    retention: &Retention,
    now: DateTime<Utc>,
    report: &mut BuildReport,
) -> Result<(), BuildError> {
    let name = files_source_name(config, entry);
    let earlier = earlier_paths(config, entry);
    if earlier.contains(&entry.path.as_path()) {
        // The same folder twice: one store row, read once, for the first.
        report.notes.push(format!("{}: listed by an earlier [[stories]] entry too; published once, for that entry", entry.path.display()));
        return Ok(());
    }
    let pk = store.source_pk(&name, SourceKind::Files, &entry.path.display().to_string())?;
    let scope = store.source_scope(pk, &entry.source)?;
    let previous: Vec<ingest::identity::Previous> = store
        .file_stories(pk)?
        .into_iter()
        .map(|r| ingest::identity::Previous { id: r.id, link: r.link, file: r.file, content: r.content })
        .collect();
    let ingested = ingest::load_stories(entry, &config.publish.base_url, &scope, &previous, &earlier);
    report.files_read += ingested.files;
    if !ingested.covered.is_empty() {
        let n = ingested.covered.len();
        report.notes.push(format!(
            "{}: {n} {} also under an earlier [[stories]] path; published once, for that entry",
            entry.path.display(),
            if n == 1 { "file is" } else { "files are" }
        ));
    }
    let clean = ingested.failures.is_empty();
    let mut held = Vec::new();
    let mut stories = hold_and_expire(ingested.stories, &entry.path, now, report, &mut held);
    // The same story in two files (or twice in one: an export saved
    // twice) is stored once: same id, same link, or same headline and body.
    let (mut ids, mut links, mut texts) = (HashSet::new(), HashSet::new(), HashSet::new());
    let before = stories.len();
    stories.retain(|s| {
        let link = s.story.link.as_deref().map(crate::model::id::canonical_link);
        let text = xxhash_rust::xxh3::xxh3_64(format!("{}\u{0}{}", s.story.title, s.story.content).as_bytes());
        let fresh = !ids.contains(&s.story.id) && link.as_ref().is_none_or(|l| !links.contains(l)) && !texts.contains(&text);
        if fresh {
            ids.insert(s.story.id.clone());
            links.extend(link);
            texts.insert(text);
        } else {
            let reason = format!("duplicate of a story read before it ({}: same id, link, or headline and body)", s.file);
            held.push(Decision { id: s.story.id.clone(), link: s.story.link.clone(), title: s.story.title.clone(), reason });
        }
        fresh
    });
    report.duplicates += before - stories.len();
    let (files, mut stories): (Vec<String>, Vec<Story>) = stories.into_iter().map(|s| (s.file, s.story)).unzip();
    assign_topics(rules, &mut stories);
    let entries: Vec<Entry> =
        stories.into_iter().zip(files).map(|(story, file)| Entry { hash: local_hash(&story, &scope), story, file: Some(file) }).collect();
    let seen: Vec<u64> = entries.iter().map(|e| e.hash).collect();
    let state = SourceState {
        url: entry.path.display().to_string(),
        last_fetch: Some(now),
        last_success: clean.then_some(now),
        last_status: Some(if clean { "ok" } else { "error" }.into()),
        last_error: ingested.failures.first().map(|f| f.to_string()),
        consecutive_errors: u32::from(!clean),
        ..Default::default()
    };
    report.failures.extend(ingested.failures);
    let batch = Batch { source_pk: pk, state: &state, entries, seen: &seen, retract_unseen: clean, dropped: std::mem::take(&mut held) };
    let outcome = store.apply(batch, retention, now)?;
    report.add(&outcome);
    report.left_out.extend(outcome.decisions.into_iter().map(|d| (entry.source.clone(), d)));
    Ok(())
}

/// Leaves out the newsroom's stories that are not due yet (their `date` is
/// in the future: an embargo) or have expired (front matter `expires` has
/// passed). Neither is stored, so a held story is stored when due with the
/// id and date it has now, and an expired one is retracted like a deleted
/// file (no tombstone: removing `expires` brings it back). The earliest
/// pending time goes into `report.next_due`.
fn hold_and_expire(
    stories: Vec<ingest::FileStory>,
    folder: &std::path::Path,
    now: DateTime<Utc>,
    report: &mut BuildReport,
    held: &mut Vec<Decision>,
) -> Vec<ingest::FileStory> {
    let mut due = |at: DateTime<Utc>| report.next_due = Some(report.next_due.map_or(at, |d| d.min(at)));
    let mut kept = Vec::with_capacity(stories.len());
    let mut notes = Vec::new();
    for s in stories {
        let at = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let mut leave_out = |reason: String| {
            held.push(Decision { id: s.story.id.clone(), link: s.story.link.clone(), title: s.story.title.clone(), reason })
        };
        if s.story.published > now {
            leave_out(format!("held until {} ({}: its date is in the future)", at(s.story.published), s.file));
            due(s.story.published);
            notes.push(format!("{}: {:?} held until {}", folder.join(&s.file).display(), s.story.title, at(s.story.published)));
            continue;
        }
        match s.expires {
            Some(expires) if expires <= now => {
                leave_out(format!("expired at {} ({}: front matter `expires`)", at(expires), s.file));
                tracing::debug!(file = %folder.join(&s.file).display(), expired = %at(expires), "expired: not published");
                continue;
            }
            Some(expires) => due(expires),
            None => {}
        }
        kept.push(s);
    }
    report.notes.extend(notes);
    kept
}

/// Fetches every source; each one's result goes into the store as it
/// finishes.
fn aggregate_sources(
    config: &Config,
    rules: Arc<TopicRules>,
    store: &mut Store,
    retention: &Retention,
    now: DateTime<Utc>,
    report: &mut BuildReport,
    on_source: &(dyn Fn(&SourceReport) + Sync),
) -> Result<(), BuildError> {
    let inputs = source_inputs(store, config.sources.iter())?;
    let reader = Arc::new(store.reader()?);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(BuildError::Runtime)?;
    let shared_config = Arc::new(config.clone());
    let mut sink = StoreSink::new(store, retention, now, config.sources.len(), on_source);
    runtime.block_on(aggregate(shared_config, inputs, reader, rules, now, &mut |i, result| sink.take(i, result)));
    drop(runtime);
    let (reports, outcome) = sink.finish()?;
    report.add(&outcome);
    report.sources = reports;
    Ok(())
}

/// Each source's row and saved state (a row is made on first sight), in
/// the order given.
pub fn source_inputs<'a>(store: &Store, sources: impl Iterator<Item = &'a SourceConfig>) -> Result<Vec<SourceInput>, StoreError> {
    let mut saved = store.sources()?;
    let mut inputs = Vec::new();
    for source in sources {
        let (pk, state) = match saved.remove(&source.name) {
            Some(found) => found,
            None => (store.source_pk(&source.name, SourceKind::Feed, &source.url)?, SourceState::default()),
        };
        let scope = store.source_scope(pk, &source.name)?;
        inputs.push(SourceInput { pk, state, scope });
    }
    Ok(inputs)
}

/// Puts sources' results into the store as they finish, a group at a
/// time: sources with entries up to [`ENTRY_GROUP`] sources or
/// [`ENTRY_GROUP_ENTRIES`] entries to a transaction, the many that only
/// change their state (304, skipped, failed) a few hundred to one, since
/// a commit per source would cost more than the fetch. A crash loses at
/// most the uncommitted group, whose sources (validators included) are
/// fetched again next time.
pub struct StoreSink<'a> {
    store: &'a mut Store,
    retention: &'a Retention,
    now: DateTime<Utc>,
    on_source: &'a (dyn Fn(&SourceReport) + Sync),
    reports: Vec<Option<SourceReport>>,
    pending: Vec<(usize, SourceResult)>,
    pending_entries: Vec<(usize, SourceResult)>,
    entry_count: usize,
    outcome: crate::store::BatchOutcome,
    error: Option<StoreError>,
}

const STATE_BATCH: usize = 256;
/// Sources with entries per transaction (see [`StoreSink`]).
pub const ENTRY_GROUP: usize = 16;
/// Entries per transaction, at most (a group ends at the source that
/// reaches it).
pub const ENTRY_GROUP_ENTRIES: usize = 2_000;

impl<'a> StoreSink<'a> {
    pub fn new(
        store: &'a mut Store,
        retention: &'a Retention,
        now: DateTime<Utc>,
        sources: usize,
        on_source: &'a (dyn Fn(&SourceReport) + Sync),
    ) -> StoreSink<'a> {
        let outcome = Default::default();
        StoreSink {
            store,
            retention,
            now,
            on_source,
            reports: vec![None; sources],
            pending: Vec::new(),
            pending_entries: Vec::new(),
            entry_count: 0,
            outcome,
            error: None,
        }
    }

    pub fn take(&mut self, i: usize, result: SourceResult) {
        if self.error.is_some() {
            return;
        }
        if result.entries.is_empty() && result.seen.is_empty() && result.dropped.is_empty() {
            self.pending.push((i, result));
            if self.pending.len() >= STATE_BATCH {
                self.flush_states();
            }
            return;
        }
        self.entry_count += result.entries.len();
        self.pending_entries.push((i, result));
        if self.pending_entries.len() >= ENTRY_GROUP || self.entry_count >= ENTRY_GROUP_ENTRIES {
            self.flush_entries();
        }
    }

    fn flush_entries(&mut self) {
        let mut pending = std::mem::take(&mut self.pending_entries);
        self.entry_count = 0;
        if pending.is_empty() || self.error.is_some() {
            return;
        }
        let batches = pending
            .iter_mut()
            .map(|(_, result)| Batch {
                source_pk: result.pk,
                state: &result.state,
                entries: std::mem::take(&mut result.entries),
                seen: &result.seen,
                retract_unseen: false,
                dropped: std::mem::take(&mut result.dropped),
            })
            .collect();
        match self.store.apply_all(batches, self.retention, self.now) {
            Ok(outcomes) => {
                for ((i, result), outcome) in pending.into_iter().zip(outcomes) {
                    let mut report = result.report;
                    report.status = with_counts(report.status, outcome.new, outcome.changed, outcome.total);
                    report.left_out = outcome.decisions.clone();
                    self.outcome += &outcome;
                    self.done(i, report);
                }
            }
            Err(e) => self.error = Some(e),
        }
    }

    fn flush_states(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        if pending.is_empty() || self.error.is_some() {
            return;
        }
        let states: Vec<(i64, &SourceState)> = pending.iter().map(|(_, r)| (r.pk, &r.state)).collect();
        match self.store.save_states(&states) {
            Ok(totals) => {
                drop(states);
                for ((i, result), total) in pending.into_iter().zip(totals) {
                    let mut report = result.report;
                    report.status = with_counts(report.status, 0, 0, total);
                    self.done(i, report);
                }
            }
            Err(e) => self.error = Some(e),
        }
    }

    fn done(&mut self, i: usize, report: SourceReport) {
        (self.on_source)(&report);
        self.reports[i] = Some(report);
    }

    /// Flushes what is pending; the reports in config order.
    pub fn finish(mut self) -> Result<(Vec<SourceReport>, crate::store::BatchOutcome), StoreError> {
        self.flush_entries();
        self.flush_states();
        match self.error {
            Some(e) => Err(e),
            None => Ok((self.reports.into_iter().flatten().collect(), self.outcome)),
        }
    }
}

fn with_counts(status: SourceStatus, new: usize, changed: usize, total: usize) -> SourceStatus {
    match status {
        SourceStatus::Updated { .. } => SourceStatus::Updated { new, changed, total },
        SourceStatus::NotModified { .. } => SourceStatus::NotModified { total },
        other => other,
    }
}

/// What publishing from the store did.
pub struct Published {
    pub stories: usize,
    pub channels: Vec<(String, usize)>,
    pub report: PublishReport,
    /// Files of topics no longer configured, deleted.
    pub removed: Vec<std::path::PathBuf>,
    /// On a PostgreSQL store: another worker was publishing, so this one
    /// rendered nothing (publish again later: that worker may have read
    /// the channels before this one's last changes).
    pub busy: bool,
}

/// Reads every channel's newest stories from the store and renders the
/// channels whose items (or settings) changed since they were last
/// written; the index and OPML list are rendered every time (they are
/// small, and list every channel).
///
/// On a PostgreSQL store the files go into the database instead (see
/// `fleet`), and are mirrored into the output folder.
pub fn publish_from_store(config: &Config, store: &Store) -> Result<Published, BuildError> {
    publish_with(config, store, true)
}

/// [`publish_from_store`], rendering `sources.html` only when
/// `sources_page` is true or the page is missing: `run` refreshes it once
/// a minute rather than on every publish, as listing every source with
/// its story count is the most expensive page to read for once a
/// thousand sources are stored.
pub fn publish_with(config: &Config, store: &Store, sources_page: bool) -> Result<Published, BuildError> {
    if let Store::Postgres(pg) = store {
        return fleet::publish_to_db(config, store, pg, sources_page);
    }
    remove_stale_temp_files(&config.publish.output_dir);
    let (stored, digests) = read_channels(config, store)?;
    let lists = stored.iter().map(|list| list.iter().map(|s| &s.story).collect()).collect();
    let channels = publish::channel_list(config, lists);
    let mut unchanged = HashSet::new();
    for (channel, digest) in channels.iter().zip(&digests) {
        let path = channel.path(publish::Format::Rss);
        let files_there = publish::Format::ALL.iter().all(|f| config.publish.output_dir.join(channel.path(*f)).is_file())
            && config.publish.output_dir.join(publish::pages::river_path(channel.slug.as_deref(), 1)).is_file();
        if files_there && store.channel_digest(&path)? == Some(*digest) {
            unchanged.insert(path);
        }
    }
    let mut files = publish::render(config, &channels, |c| unchanged.contains(&c.path(publish::Format::Rss)));
    if sources_page || !config.publish.output_dir.join(publish::pages::SOURCES_PATH).is_file() {
        files.push(sources_page_file(config, store, &channels)?);
    }
    let mut report = publish::write_all(config, &files)?;
    // Only once the new files are in: a publish that failed deletes nothing.
    let mut removed = remove_dropped_topics(config, store)?;
    remove_stale_pages(config, &channels, &unchanged);
    for (channel, digest) in channels.iter().zip(&digests) {
        let path = channel.path(publish::Format::Rss);
        if unchanged.contains(&path) {
            report.unchanged.extend(publish::Format::ALL.iter().map(|f| config.publish.output_dir.join(channel.path(*f))));
        } else {
            store.set_channel_digest(&path, *digest)?;
        }
    }
    let ids: HashSet<&str> = stored.iter().flatten().map(|s| s.story.id.as_str()).collect();
    let counts = channels.iter().map(|c| (c.path(publish::Format::Rss).trim_end_matches(".rss").to_owned(), c.stories.len())).collect();
    removed.extend(remove_unpublished_story_pages(config, store)?);
    Ok(Published { stories: ids.len(), channels: counts, report, removed, busy: false })
}

/// Every channel's newest stories (the merged one first, then one per
/// topic in config order) and the digest of each.
fn read_channels(config: &Config, store: &Store) -> Result<(Vec<Vec<crate::store::StoredStory>>, Vec<u64>), BuildError> {
    let limits = retention(config);
    let mut stored = vec![store.merged_channel(limits.limit(None), &limits.merged)?];
    for t in &config.topics {
        stored.push(store.channel(Some(&t.slug), limits.limit(Some(&t.slug)))?);
    }
    let settings = settings_fingerprint(config);
    let digests: Vec<u64> = stored.iter().map(|list| channel_digest(settings, list)).collect();
    Ok((stored, digests))
}

/// Whether the output folder holds the index, the OPML list, and every
/// channel's feeds and first river page: `run` publishes again when one
/// went missing (the folder deleted under it), whether or not a story
/// changed. A few `stat`s.
pub fn output_complete(config: &Config) -> bool {
    let out = &config.publish.output_dir;
    let slugs = std::iter::once(None).chain(config.topics.iter().map(|t| Some(t.slug.as_str())));
    let channel_files = |slug: Option<&str>| {
        let stem = slug.map_or_else(|| "all".to_owned(), |s| format!("topics/{s}"));
        let feeds = publish::Format::ALL.iter().map(move |f| format!("{stem}.{}", f.extension()));
        feeds.chain([publish::pages::river_path(slug, 1)]).collect::<Vec<_>>()
    };
    ["index.html", "channels.opml"].iter().all(|f| out.join(f).is_file())
        && slugs.flat_map(channel_files).all(|rel| out.join(rel).is_file())
}

/// Deletes the pages of newsroom stories no longer published (their file
/// was deleted, or an editor took them down): a takedown leaves no trace.
/// Pages of stories that only dropped out of the channels stay, so links
/// in old copies of the feeds keep working.
fn remove_unpublished_story_pages(config: &Config, store: &Store) -> Result<Vec<std::path::PathBuf>, BuildError> {
    let dir = config.publish.output_dir.join("stories");
    let Ok(entries) = std::fs::read_dir(&dir) else { return Ok(Vec::new()) };
    let site = publish::Site::from_config(config);
    let keep: HashSet<String> = store.own_story_links()?.iter().filter_map(|l| publish::pages::page_of_link(&site, l)).collect();
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".html") && !keep.contains(&format!("stories/{name}")) {
            std::fs::remove_file(entry.path()).map_err(WriteError::remove(&entry.path()))?;
            removed.push(entry.path());
        }
    }
    Ok(removed)
}

/// Deletes the files of topics no longer in the config (the store knows
/// which channels were published); returns the files deleted. A topic's
/// files are its feeds and its pages: `<slug>.<ext>` and `<slug>-<n>.html`.
fn remove_dropped_topics(config: &Config, store: &Store) -> Result<Vec<std::path::PathBuf>, BuildError> {
    let configured: HashSet<&str> = config.topics.iter().map(|t| t.slug.as_str()).collect();
    let topics_dir = config.publish.output_dir.join("topics");
    let mut removed = Vec::new();
    for path in store.channel_paths()? {
        let Some(slug) = path.strip_prefix("topics/").and_then(|p| p.strip_suffix(".rss")) else { continue };
        if configured.contains(slug) {
            continue;
        }
        let Ok(entries) = std::fs::read_dir(&topics_dir) else {
            store.forget_channel(&path)?;
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some((stem, ext)) = name.rsplit_once('.') else { continue };
            let page = stem
                .strip_prefix(slug)
                .and_then(|r| r.strip_prefix('-'))
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            let ours =
                (stem == slug && matches!(ext, "rss" | "atom" | "json" | "html")) || (page && ext == "html" && !configured.contains(stem));
            if ours {
                std::fs::remove_file(entry.path()).map_err(WriteError::remove(&entry.path()))?;
                removed.push(entry.path());
            }
        }
        store.forget_channel(&path)?;
    }
    Ok(removed)
}

/// `sources.html`, from the store's view of every source; a source's site
/// is the one its stories in the channels name.
fn sources_page_file(config: &Config, store: &Store, channels: &[publish::Channel<'_>]) -> Result<(String, Vec<u8>), BuildError> {
    let summaries = store.source_summaries()?;
    let mut sites = std::collections::HashMap::new();
    for story in channels.iter().flat_map(|c| c.stories.iter()) {
        if let Some(site) = story.origin.as_ref().and_then(|o| o.site_url.as_deref()) {
            sites.entry(story.source.as_str()).or_insert(site);
        }
    }
    let html = publish::pages::sources::render(&publish::pages::Pages::new(config), config, &summaries, &sites);
    Ok((publish::pages::SOURCES_PATH.to_owned(), html.into_bytes()))
}

/// River pages past a channel's last page (it had more stories before).
fn remove_stale_pages(config: &Config, channels: &[publish::Channel<'_>], unchanged: &HashSet<String>) {
    let out = &config.publish.output_dir;
    for channel in channels.iter().filter(|c| !unchanged.contains(&c.path(publish::Format::Rss))) {
        for rel in publish::pages::stale_river_pages(out, channel, config.publish.page_size) {
            match std::fs::remove_file(out.join(&rel)) {
                Ok(()) => tracing::debug!(page = rel, "removed a river page past the channel's last"),
                Err(e) => tracing::warn!(page = rel, "cannot remove a stale river page: {e}"),
            }
        }
    }
}

/// Everything besides the items that shapes a channel's files.
fn settings_fingerprint(config: &Config) -> u64 {
    let topics: Vec<_> = config.topics.iter().map(|t| (&t.slug, &t.title, &t.description)).collect();
    let text = format!("{}|{:?}|{:?}", publish::VERSION, config.publish, topics);
    xxhash_rust::xxh3::xxh3_64(text.as_bytes())
}

fn channel_digest(settings: u64, stories: &[crate::store::StoredStory]) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(&settings.to_le_bytes());
    for s in stories {
        h.update(s.story.id.as_bytes());
        h.update(&s.hash.to_le_bytes());
        h.update(&s.story.published.timestamp().to_le_bytes());
        h.update(&s.story.updated.map_or(0, |u| u.timestamp()).to_le_bytes());
        h.update(s.story.topics.join(",").as_bytes());
        // A renamed source, or an origin filled in for an old story, shows.
        h.update(s.story.source.as_bytes());
        h.update(&[u8::from(s.story.origin.is_some())]);
    }
    h.digest()
}

/// A build killed while writing leaves its temporary file behind; the
/// next one (holding the store's lock) clears them.
fn remove_stale_temp_files(output: &std::path::Path) {
    let mut dirs = vec![output.to_owned(), output.join("topics"), output.join("all"), output.join("stories")];
    // Later river pages of topics: topics/<slug>/2.html.
    if let Ok(entries) = std::fs::read_dir(output.join("topics")) {
        dirs.extend(entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()));
    }
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(".wirefeed-") && name.ends_with(".tmp") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// Topic matching reads every story's whole text: spread it over the cores.
fn assign_topics(rules: &TopicRules, stories: &mut [Story]) {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = stories.len().div_ceil(threads).max(256);
    std::thread::scope(|scope| {
        for part in stories.chunks_mut(chunk) {
            scope.spawn(move || part.iter_mut().for_each(|s| rules.assign(s)));
        }
    });
}
