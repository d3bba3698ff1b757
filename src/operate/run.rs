//! `wirefeed run`: a long-running aggregator. Each source is fetched when
//! it is due ([`super::schedule`]; due times live in the store, so a
//! restart does not refetch everything), the channels it touched are
//! republished right after, the story folders are polled for changes,
//! and a hub is told of every republished feed.
//!
//! Shutdown (SIGINT/SIGTERM): no new pass starts; fetches in flight get a
//! short grace period and are then abandoned; what finished is committed
//! and published before the process exits.

use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

use super::metrics::Metrics;
use crate::build::{BuildError, BuildReport, StoreSink, ingest_files, publish_from_store, retention, source_inputs};
use crate::config::Config;
use crate::ingest::sources::{SourceReport, SourceStatus, aggregate};
use crate::store::{RunRecord, Store, StoreError};
use crate::topics::TopicRules;

/// How long fetches in flight may go on after a shutdown request.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// Longest sleep between checks, so a clock jump or an edited store is
/// noticed.
const MAX_SLEEP: Duration = Duration::from_secs(60);

/// The loop's state: the store (whose lock it holds for its lifetime),
/// the figures it reports, and what it last saw of the story folders.
pub struct Runner {
    config: Arc<Config>,
    store: Store,
    rules: Arc<TopicRules>,
    metrics: Arc<Metrics>,
    folders: HashMap<usize, u64>,
    /// The store's takedowns counter when last published.
    takedowns: Option<String>,
}

/// What one pass did.
#[derive(Debug, Default)]
pub struct Pass {
    pub fetched: usize,
    pub report: BuildReport,
    pub abandoned: bool,
}

impl Runner {
    pub fn new(config: Config, metrics: Arc<Metrics>) -> Result<Runner, BuildError> {
        let mut store = Store::open(&config)?;
        let rules = Arc::new(TopicRules::from_config(&config));
        crate::build::refresh_topics(&config, &rules, &mut store)?;
        metrics.set_stories_stored(store.story_count()?);
        let takedowns = store.takedowns_version()?;
        Ok(Runner { config: Arc::new(config), store, rules, metrics, folders: HashMap::new(), takedowns })
    }

    /// Runs until `shutdown` turns true (or after one pass with `once`).
    pub async fn run(&mut self, once: bool, mut shutdown: watch::Receiver<bool>) -> Result<(), BuildError> {
        let mut next_watch = tokio::time::Instant::now();
        loop {
            if *shutdown.borrow() {
                break;
            }
            let mut changed = false;
            if tokio::time::Instant::now() >= next_watch {
                changed |= self.check_folders()?;
                // `wirefeed hide`/`unhide` from another process.
                let takedowns = self.store.takedowns_version()?;
                changed |= takedowns != self.takedowns;
                self.takedowns = takedowns;
                next_watch = tokio::time::Instant::now() + self.config.run.watch_interval;
            }
            let due = self.due_sources(Utc::now())?;
            let pass = if due.is_empty() { None } else { Some(self.pass(due, shutdown.clone()).await?) };
            if changed || pass.is_some() {
                self.publish(pass.unwrap_or_default()).await?;
            }
            if once {
                break;
            }
            let wake = self.next_wake(next_watch)?;
            tokio::select! {
                _ = tokio::time::sleep_until(wake) => {}
                _ = shutdown.changed() => {}
            }
        }
        Ok(())
    }

    /// Indexes of the configured sources due at `now`: never fetched, or
    /// their due time has come. Disabled sources are never due.
    pub fn due_sources(&self, now: DateTime<Utc>) -> Result<Vec<usize>, StoreError> {
        let saved = self.store.sources()?;
        let due = self.config.sources.iter().enumerate().filter(|(_, s)| s.enabled).filter(|(_, s)| match saved.get(&s.name) {
            None => true,
            Some((_, state)) => state.disabled.is_none() && state.next_fetch.is_none_or(|t| t <= now),
        });
        Ok(due.map(|(i, _)| i).collect())
    }

    /// When to look again: the earliest due time, or the next folder check.
    fn next_wake(&self, next_watch: tokio::time::Instant) -> Result<tokio::time::Instant, StoreError> {
        let saved = self.store.sources()?;
        let now = Utc::now();
        let earliest = self
            .config
            .sources
            .iter()
            .filter(|s| s.enabled)
            .filter_map(|s| saved.get(&s.name).and_then(|(_, st)| st.disabled.is_none().then_some(st.next_fetch)).flatten())
            .min();
        let until_due = earliest.map_or(MAX_SLEEP, |t| (t - now).to_std().unwrap_or(Duration::ZERO));
        let wake = tokio::time::Instant::now() + until_due.min(MAX_SLEEP);
        Ok(wake.min(next_watch))
    }

    /// Reads the story folders whose files changed since last time (all of
    /// them on the first call) into the store.
    fn check_folders(&mut self) -> Result<bool, BuildError> {
        let mut changed = self.folders.is_empty() && !self.config.stories.is_empty();
        let now = Utc::now();
        let retention = retention(&self.config);
        for (i, entry) in self.config.stories.iter().enumerate() {
            let fingerprint = crate::ingest::folder_fingerprint(&entry.path);
            if self.folders.get(&i) == Some(&fingerprint) {
                continue;
            }
            let mut report = BuildReport::default();
            ingest_files(entry, &self.config, &self.rules, &mut self.store, &retention, now, &mut report)?;
            for failure in &report.failures {
                tracing::warn!("{failure}");
            }
            tracing::info!(folder = %entry.path.display(), files = report.files_read, new = report.new, updated = report.changed, "story folder read");
            self.folders.insert(i, fingerprint);
            changed = true;
        }
        Ok(changed)
    }

    /// Fetches the sources at `due` (indexes into the config) and stores
    /// what they bring.
    pub async fn pass(&mut self, due: Vec<usize>, mut shutdown: watch::Receiver<bool>) -> Result<Pass, BuildError> {
        let now = Utc::now();
        let inputs = source_inputs(&self.store, due.iter().map(|&i| &self.config.sources[i]))?;
        let subset = Arc::new(Config { sources: due.iter().map(|&i| self.config.sources[i].clone()).collect(), ..(*self.config).clone() });
        let reader = Arc::new(self.store.reader()?);
        let retention = retention(&self.config);
        let metrics = self.metrics.clone();
        let on_source = move |r: &SourceReport| {
            tracing::info!(source = %r.name, status = %r.status, "fetched");
            for note in &r.notes {
                tracing::info!(source = %r.name, "{note}");
            }
            metrics.record_fetch(metric_label(&r.status));
        };
        let mut sink = StoreSink::new(&mut self.store, &retention, now, due.len(), &on_source);
        let mut abandoned = false;
        {
            let mut take = |i, r| sink.take(i, r);
            let work = aggregate(subset, inputs, reader, self.rules.clone(), now, &mut take);
            let grace = async {
                while !*shutdown.borrow() {
                    if shutdown.changed().await.is_err() {
                        std::future::pending::<()>().await;
                    }
                }
                tokio::time::sleep(SHUTDOWN_GRACE).await;
            };
            tokio::select! {
                _ = work => {}
                _ = grace => abandoned = true,
            }
        }
        if abandoned {
            tracing::warn!("shutting down: fetches still in flight were abandoned; what finished is kept");
        }
        let (sources, outcome) = sink.finish()?;
        let mut report = BuildReport { sources, ..Default::default() };
        report.add(&outcome);
        let saved = self.store.sources()?;
        for &i in &due {
            let name = &self.config.sources[i].name;
            if let Some((_, state)) = saved.get(name) {
                self.metrics.set_source_errors(name, u64::from(state.consecutive_errors));
            }
        }
        Ok(Pass { fetched: report.sources.len(), report, abandoned })
    }

    /// Republishes what changed, tells the hub, records the run.
    async fn publish(&mut self, pass: Pass) -> Result<(), BuildError> {
        let started = Utc::now();
        let published = publish_from_store(&self.config, &self.store)?;
        let mut report = pass.report;
        report.publish = published.report;
        let written = &report.publish.written;
        if !written.is_empty() {
            self.metrics.record_publish(Utc::now());
            self.notify_hub(written).await;
        }
        self.metrics.set_stories_stored(self.store.story_count()?);
        let ok = report.failed_sources().next().is_none() && !pass.abandoned;
        let summary = format!("{} sources fetched: {}", pass.fetched, report.summary());
        tracing::info!(written = written.len(), "{summary}");
        self.metrics.record_run(Utc::now(), ok, summary.clone());
        self.store.record_run(&RunRecord { started, finished: Utc::now(), ok, summary })?;
        Ok(())
    }

    /// WebSub: every republished feed is announced to the hub. Failures
    /// are logged; the feeds are published either way.
    async fn notify_hub(&self, written: &[std::path::PathBuf]) {
        let Some(hub) = &self.config.publish.websub_hub else { return };
        let out = &self.config.publish.output_dir;
        let urls: Vec<url::Url> = written
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "rss" || e == "atom" || e == "json"))
            .filter_map(|p| p.strip_prefix(out).ok())
            .filter_map(|rel| self.config.publish.base_url.join(&rel.to_string_lossy().replace('\\', "/")).ok())
            .collect();
        let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build();
        let Ok(client) = client else { return };
        for (url, result) in super::websub::notify(&client, hub, &urls).await {
            match result {
                Ok(()) => tracing::info!(feed = %url, hub = %hub, "hub notified"),
                Err(e) => tracing::warn!(feed = %url, hub = %hub, "hub notification failed: {e}"),
            }
        }
    }
}

/// For `wirefeed serve` without an aggregator in the process: keeps
/// `/healthz` and `/metrics` up to date from the store that a separate
/// `run` (or cron `build`) writes, by reading it every few seconds.
pub async fn mirror_store(store: std::path::PathBuf, metrics: Arc<Metrics>) {
    let mut last_seen = None;
    loop {
        if let Ok(reader) = crate::store::Reader::open(&store) {
            if let Ok(Some(run)) = reader.last_run()
                && last_seen != Some(run.finished)
            {
                last_seen = Some(run.finished);
                metrics.record_run(run.finished, run.ok, run.summary);
            }
            if let Ok(n) = reader.story_count() {
                metrics.set_stories_stored(n);
            }
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}

/// The `status` label of `wirefeed_fetches_total`.
pub fn metric_label(status: &SourceStatus) -> &'static str {
    match status {
        SourceStatus::Updated { .. } => "ok",
        SourceStatus::NotModified { .. } => "not_modified",
        SourceStatus::Skipped(_) => "skipped",
        SourceStatus::Failed(_) => "error",
    }
}

/// A watch channel that turns true on SIGINT or SIGTERM.
pub fn shutdown_on_signals() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutdown requested: finishing what is in flight");
        let _ = tx.send(true);
    });
    rx
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}
