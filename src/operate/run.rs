//! `wirefeed run`: a long-running aggregator.
//!
//! Every source is fetched on its own schedule ([`super::schedule`]; due
//! times live in the store, so a restart does not refetch everything), as
//! its own task: a slow or hanging source holds up nothing but itself
//! (the fetcher bounds it by `[fetch] timeout`). The loop itself never
//! waits on a fetch: it takes each finished source's result into the
//! store as it comes, checks the story folders every `watch_interval`,
//! looks for `wirefeed fetch` requests and config changes
//! ([`super::control`]), and publishes.
//!
//! Publishing is debounced: a change is published [`SETTLE`] after it
//! arrives, together with whatever else arrived meanwhile, and never
//! sooner than [`PUBLISH_GAP`] after the previous publish; channels whose
//! items did not change are not rendered (their digests in the store say
//! so). A hub is told of every republished feed.
//!
//! Shutdown (SIGINT/SIGTERM): nothing new starts; fetches in flight get
//! [`SHUTDOWN_GRACE`] and are then abandoned; what finished is committed
//! and published before the process exits.

use chrono::{DateTime, Utc};
use futures_util::FutureExt;
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::time::Instant;

use super::fleet::Fleet;
use super::metrics::{Metrics, SourceHealth};
pub use super::mirror::{mirror_store, mirror_store_every};
use super::repeat::{RepeatedFailure, Say};
use super::schedule::{LastFetch, SchedulePolicy, jitter_seed, next_due};
pub use super::signals::shutdown_on_signals;
use crate::build::{BuildError, BuildReport, StoreSink, files_source_name, ingest_files, publish_with, retention, source_inputs};
use crate::config::Config;
use crate::ingest::fetch::Fetcher;
use crate::ingest::sources::{SourceInput, SourceReport, SourceResult, SourceStatus, source_turn};
use crate::store::sources::SourceKind;
use crate::store::{Location, Reader, RunRecord, Store, StoreError};
use crate::topics::TopicRules;

/// How long fetches in flight may go on after a shutdown request.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// A change waits this long before it is published, so that changes
/// arriving together are published together.
pub const SETTLE: Duration = Duration::from_millis(200);

/// Least time between the starts of two publishes.
pub const PUBLISH_GAP: Duration = Duration::from_secs(1);

/// How often a publish also refreshes `sources.html` and the stories
/// count of `/metrics`: both read every source (or story) of the store,
/// which at tens of thousands costs more than the rest of a publish, and
/// neither needs to be newer than a minute.
pub const SLOW_PARTS_EVERY: Duration = Duration::from_secs(60);

/// A source that keeps failing is warned about again after this long (in
/// between, its failures are logged at info level).
pub const WARN_AGAIN: Duration = Duration::from_secs(3600);

/// Longest sleep between checks, so a clock jump is noticed.
const MAX_SLEEP: Duration = Duration::from_secs(60);

/// After a publish that failed (a full disk, say), the next try.
pub const PUBLISH_RETRY: Duration = Duration::from_secs(5);

/// After the store refused a write (a full or read-only disk), the next
/// try of that write.
pub(super) const STORE_RETRY: Duration = PUBLISH_RETRY;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot start the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
    /// A fleet worker's lease renewals, on a thread of their own, could not
    /// start or have stopped.
    #[error("lease renewals: {0}")]
    Renewer(std::io::Error),
}

impl RunError {
    /// The store's error, if this is one (directly or from a build step).
    pub fn store_error(&self) -> Option<&StoreError> {
        match self {
            RunError::Store(e) | RunError::Build(BuildError::Store(e)) => Some(e),
            _ => None,
        }
    }

    /// The store refused a write ([`StoreError::is_refused_write`]): the
    /// loop logs it and tries again rather than stop.
    pub fn is_refused_write(&self) -> bool {
        self.store_error().is_some_and(StoreError::is_refused_write)
    }
}

/// A source's finished turn, sent by its task to the loop.
struct Turn {
    name: String,
    result: SourceResult,
}

/// The loop's state: the store (whose lock it holds for its lifetime),
/// the fetches in flight, what changed since the last publish, and the
/// figures it reports.
pub struct Runner {
    pub(super) config: Arc<Config>,
    pub(super) store: Store,
    reader: Arc<Reader>,
    pub(super) rules: Arc<TopicRules>,
    pub(super) metrics: Arc<Metrics>,
    pub(super) fetcher: Arc<Fetcher>,
    pub(super) slots: Arc<Semaphore>,
    /// Each story folder's fingerprint when last read (by config index).
    pub(super) folders: HashMap<usize, u64>,
    /// When a folder's held story falls due or a story expires (by config
    /// index): it is read again then, changed or not.
    pub(super) folders_due: HashMap<usize, DateTime<Utc>>,
    /// When each enabled source is next due (`None`: now).
    pub(super) schedule: HashMap<String, Option<DateTime<Utc>>>,
    /// Sources asked for by `wirefeed fetch`, fetched whether due or not.
    pub(super) forced: Vec<String>,
    pub(super) in_flight: HashMap<String, tokio::task::AbortHandle>,
    turns_tx: mpsc::UnboundedSender<Turn>,
    turns_rx: mpsc::UnboundedReceiver<Turn>,
    /// What happened since the last publish.
    pending: BuildReport,
    abandoned: bool,
    pub(super) dirty: bool,
    /// This run has published once: from then on a file missing from the
    /// output folder was deleted, not yet to be written.
    published: bool,
    /// The store's takedowns counter when last looked at: `wirefeed hide`
    /// and `unhide` from another process change it.
    takedowns: Option<String>,
    /// When each failing source was last warned about.
    warned: HashMap<String, std::time::Instant>,
    outcome: RunOutcome,
    pub(super) control: super::control::Control,
    /// The writes the store refused (a full or read-only disk) since it
    /// last took one, as logged: each is logged at error level once, its
    /// retries at debug, however the retries of different writes
    /// interleave (new stories every tick, new sources every 5 s).
    refused: Vec<String>,
    /// When the refusals were last logged above debug level: a reminder
    /// comes a minute after.
    refused_reminded: Option<std::time::Instant>,
    /// Sources could not be started (the store refused their new rows):
    /// none is started before this.
    spawn_retry: Option<Instant>,
    /// Publishing's failures in a row, so that one repeated every
    /// [`PUBLISH_RETRY`] is not logged at each try.
    publish_failures: RepeatedFailure,
    /// On a PostgreSQL store, this worker's leases: due sources are
    /// claimed from the store rather than read from `schedule`.
    pub(super) fleet: Option<Fleet>,
    /// Each configured source's index, by name (fleet workers map the
    /// claimed names back to their config).
    pub(super) index: HashMap<String, usize>,
    /// When a publish next refreshes the parts [`SLOW_PARTS_EVERY`] says.
    slow_parts_due: std::time::Instant,
    /// The last publish found another worker publishing.
    publish_busy: bool,
}

/// What a pass over the given sources did (see [`Runner::pass`]).
#[derive(Debug, Default)]
pub struct Pass {
    pub fetched: usize,
    pub report: BuildReport,
    pub abandoned: bool,
}

/// Failures over a runner's life: `run --once` exits 2 when there are any.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RunOutcome {
    /// Names of the sources whose fetch failed (once each).
    pub failed_sources: Vec<String>,
    /// Story files (or folders) that could not be read.
    pub failed_inputs: usize,
    /// Why the last publish failed (a full or read-only output folder), if
    /// no publish succeeded after it.
    pub publish_error: Option<String>,
    /// The store's last refused write (its disk full or read-only), if no
    /// write went through after it.
    pub store_error: Option<String>,
}

impl RunOutcome {
    pub fn failures(&self) -> usize {
        self.failed_sources.len() + self.failed_inputs
    }

    /// What the run could not write, and still had not when it ended:
    /// `run --once` exits 1 with it, as `build` does.
    pub fn write_error(&self) -> Option<&str> {
        self.store_error.as_deref().or(self.publish_error.as_deref())
    }
}

impl Runner {
    /// Opens the store (SQLite: waiting `[store] lock_timeout` for another
    /// process; PostgreSQL: joining the fleet of workers), drops sources
    /// no longer configured, and loads the due times.
    pub fn new(config: Config, metrics: Arc<Metrics>) -> Result<Runner, RunError> {
        // On PostgreSQL: the store first (it creates or migrates the
        // schema), told which worker this is, then the leases.
        let worker = matches!(Location::of(&config), Location::Postgres(_)).then(super::fleet::worker_id);
        let mut store = Store::open_worker(&config, worker.as_deref())?;
        let fleet = match (Location::of(&config), worker) {
            (Location::Postgres(url), Some(id)) => Some(Fleet::join(&url, id, config.store.lease)?),
            _ => None,
        };
        let rules = Arc::new(TopicRules::from_config(&config));
        crate::build::forget_logged(&config, &store)?;
        let takedowns = store.takedowns_version()?;
        crate::build::refresh_topics(&config, &rules, &mut store)?;
        metrics.set_stories_stored(store.story_count()?);
        metrics.set_degraded_after(config.serve.degraded_after);
        let reader = Arc::new(store.reader()?);
        let fetcher = Arc::new(Fetcher::new(&config.fetch)?);
        let slots = Arc::new(Semaphore::new(config.fetch.concurrency));
        let (turns_tx, turns_rx) = mpsc::unbounded_channel();
        let control = super::control::Control::new(&config);
        let mut runner = Runner {
            config: Arc::new(config),
            store,
            reader,
            rules,
            metrics,
            fetcher,
            slots,
            folders: HashMap::new(),
            folders_due: HashMap::new(),
            schedule: HashMap::new(),
            forced: Vec::new(),
            in_flight: HashMap::new(),
            turns_tx,
            turns_rx,
            pending: BuildReport::default(),
            abandoned: false,
            dirty: false,
            published: false,
            warned: HashMap::new(),
            outcome: RunOutcome::default(),
            control,
            takedowns,
            refused: Vec::new(),
            refused_reminded: None,
            spawn_retry: None,
            publish_failures: RepeatedFailure::default(),
            fleet,
            index: HashMap::new(),
            slow_parts_due: std::time::Instant::now(),
            publish_busy: false,
        };
        runner.load_schedule()?;
        runner.load_source_metrics()?;
        Ok(runner)
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Runs until `shutdown` turns true, or with `once` until the sources
    /// due at the start have been fetched and published.
    pub async fn run(&mut self, once: bool, mut shutdown: watch::Receiver<bool>) -> Result<RunOutcome, RunError> {
        let mut next_watch = Instant::now();
        let mut publish_at: Option<Instant> = None;
        let mut last_publish: Option<Instant> = None;
        let mut started = false;
        loop {
            if *shutdown.borrow() {
                break;
            }
            let now = Instant::now();
            if now >= next_watch {
                if !once {
                    self.check_config().await?;
                }
                self.check_folders()?;
                match self.store.takedowns_version() {
                    Ok(takedowns) if takedowns != self.takedowns => {
                        self.takedowns = takedowns;
                        self.dirty = true;
                    }
                    Ok(_) => {}
                    // A PostgreSQL store out of reach: looked at again next time.
                    Err(e) if e.is_refused_write() => self.refused_write("takedowns not read", &e),
                    Err(e) => return Err(e.into()),
                }
                // A fleet worker's folder holds only what it published
                // itself (the files' home is the store): not checked.
                if !self.dirty && self.published && self.fleet.is_none() && !crate::build::output_complete(&self.config) {
                    let out = self.config.publish.output_dir.display();
                    tracing::warn!("{out}: published files are missing (the folder was deleted?): publishing them again");
                    self.dirty = true;
                }
                next_watch = Instant::now() + self.config.run.watch_interval;
            }
            if !once {
                self.poll_requests()?;
            }
            self.fleet_tick()?;
            // A fleet worker's --once: the sources due at the start are
            // claimed over several tries (a share at a time), until none is left.
            let claiming = self.fleet.as_ref().is_some_and(|f| !f.drained());
            if !once || !started || claiming {
                self.start_due(Utc::now())?;
                started = true;
            }
            let drained = self.fleet.as_ref().is_none_or(|f| f.drained());
            if once && self.in_flight.is_empty() && drained {
                // Nothing changed, but the output folder was deleted (or
                // never written): publish it whole.
                if self.dirty || !crate::build::output_complete(&self.config) {
                    self.publish().await;
                }
                break;
            }
            if self.dirty && publish_at.is_none() && !once {
                let earliest = last_publish.map_or(now, |t| t + PUBLISH_GAP);
                publish_at = Some((now + SETTLE).max(earliest));
            }
            if let Some(at) = publish_at
                && now >= at
            {
                publish_at = None;
                last_publish = Some(now);
                if !self.publish().await {
                    publish_at = Some(Instant::now() + PUBLISH_RETRY);
                }
                continue;
            }
            // With --once nothing more starts: only the fetches in flight matter.
            let fleet_tick = self.fleet.as_ref().map(Fleet::next_tick);
            let due = self.next_due().filter(|_| !once || self.fleet.is_some());
            let wake = [Some(next_watch), (!once).then(|| self.control.next_poll()), publish_at, due, fleet_tick]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(now + MAX_SLEEP)
                .min(now + MAX_SLEEP);
            let reload = self.control.reload_signal();
            tokio::select! {
                Some(turn) = self.turns_rx.recv() => self.take(turn)?,
                _ = tokio::time::sleep_until(wake) => {}
                _ = stop_requested(&mut shutdown) => {}
                _ = reload => self.reload().await?,
            }
            // A reload may have shortened it.
            next_watch = next_watch.min(Instant::now() + self.config.run.watch_interval);
        }
        if !self.finish_in_flight().await? || self.dirty {
            self.publish().await;
        }
        // A fleet worker's last changes wait for another worker's publish
        // to end (`--once` and shutdown alike), up to `lock_timeout`.
        let deadline = Instant::now() + self.config.store.lock_timeout;
        while self.publish_busy && Instant::now() < deadline {
            tokio::time::sleep(SETTLE).await;
            self.publish().await;
        }
        if let Some(mut fleet) = self.fleet.take() {
            fleet.leave();
        }
        Ok(self.outcome.clone())
    }

    /// Waits up to [`SHUTDOWN_GRACE`] for the fetches in flight, taking
    /// their results, then abandons the rest; false if some were abandoned.
    async fn finish_in_flight(&mut self) -> Result<bool, RunError> {
        let deadline = Instant::now() + SHUTDOWN_GRACE;
        while !self.in_flight.is_empty() {
            tokio::select! {
                Some(turn) = self.turns_rx.recv() => self.take(turn)?,
                _ = tokio::time::sleep_until(deadline) => {
                    for (_, task) in self.in_flight.drain() {
                        task.abort();
                    }
                    tracing::warn!("shutting down: fetches still in flight were abandoned; what finished is kept");
                    self.abandoned = true;
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// Fetches the sources at `due` (indexes into the config) now, due or
    /// not, and waits for them (or, after a shutdown request, for
    /// [`SHUTDOWN_GRACE`]); what they bring is stored, not yet published.
    pub async fn pass(&mut self, due: Vec<usize>, mut shutdown: watch::Receiver<bool>) -> Result<Pass, RunError> {
        let names: Vec<String> = due.iter().map(|&i| self.config.sources[i].name.clone()).collect();
        let before = self.pending.sources.len();
        self.spawn(&due)?;
        let mut abandoned = false;
        while names.iter().any(|n| self.in_flight.contains_key(n)) {
            tokio::select! {
                Some(turn) = self.turns_rx.recv() => self.take(turn)?,
                _ = stop_requested(&mut shutdown) => {
                    abandoned = !self.finish_in_flight().await?;
                    break;
                }
            }
        }
        let sources: Vec<SourceReport> = self.pending.sources[before..].to_vec();
        Ok(Pass { fetched: sources.len(), report: BuildReport { sources, ..Default::default() }, abandoned })
    }

    /// Publishes what the store holds now (what [`Runner::pass`] fetched).
    pub async fn publish_now(&mut self) -> bool {
        self.publish().await
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

    /// Reads every enabled source's due time from the store. A source never
    /// fetched, or whose URL changed, is due now; one disabled (410) never.
    pub(super) fn load_schedule(&mut self) -> Result<(), StoreError> {
        self.index = self.config.sources.iter().enumerate().map(|(i, s)| (s.name.clone(), i)).collect();
        let saved = self.store.sources()?;
        if self.fleet.is_some() {
            // The store keeps the due times: each source needs a row to
            // be claimed by.
            for s in self.config.sources.iter().filter(|s| s.enabled && !saved.contains_key(&s.name)) {
                self.store.source_pk(&s.name, SourceKind::Feed, &s.url)?;
            }
            if let Some(fleet) = &self.fleet {
                fleet.fill_hosts()?;
            }
            self.schedule.clear();
            return Ok(());
        }
        self.schedule = self
            .config
            .sources
            .iter()
            .filter(|s| s.enabled)
            .filter_map(|s| match saved.get(&s.name) {
                None => Some((s.name.clone(), None)),
                Some((_, st)) if st.url != s.url && st.moved_to.as_deref() != Some(s.url.as_str()) => Some((s.name.clone(), None)),
                Some((_, st)) if st.disabled.is_some() => None,
                Some((_, st)) => Some((s.name.clone(), st.next_fetch)),
            })
            .collect();
        Ok(())
    }

    /// Every source's state as the store has it, into the metrics.
    pub(super) fn load_source_metrics(&self) -> Result<(), StoreError> {
        let sources = self.store.source_summaries()?.into_iter().map(|s| (s.name, source_health(s.kind, &s.state))).collect();
        self.metrics.replace_sources(sources);
        Ok(())
    }

    /// The earliest due time of a source not in flight.
    fn next_due(&self) -> Option<Instant> {
        if let Some(fleet) = &self.fleet {
            return (self.in_flight.len() < self.claim_capacity()).then(|| fleet.next_claim());
        }
        let now = Utc::now();
        let earliest = self.schedule.iter().filter(|(n, _)| !self.in_flight.contains_key(*n)).map(|(_, t)| t.unwrap_or(now)).min()?;
        Some(Instant::now() + (earliest - now).to_std().unwrap_or(Duration::ZERO))
    }

    /// Starts every source that is due (or asked for) and not in flight.
    ///
    /// Starting a source new to the store writes its row first; when the
    /// store refuses that write (a full or read-only disk) none of them
    /// starts: the refusal is logged and they are tried again after
    /// [`STORE_RETRY`], the loop going on meanwhile.
    fn start_due(&mut self, now: DateTime<Utc>) -> Result<(), RunError> {
        if self.spawn_retry.is_some_and(|at| Instant::now() < at) {
            return Ok(());
        }
        if self.fleet.is_some() {
            return self.start_claimed(now);
        }
        let due: Vec<usize> = (self.config.sources.iter().enumerate())
            .filter(|(_, s)| !self.in_flight.contains_key(&s.name))
            .filter(|(_, s)| self.forced.contains(&s.name) || self.schedule.get(&s.name).is_some_and(|t| t.is_none_or(|t| t <= now)))
            .map(|(i, _)| i)
            .collect();
        if due.is_empty() {
            return Ok(());
        }
        match self.spawn(&due) {
            Ok(()) => {
                // The write refused last time (the new sources' rows) went through.
                if self.spawn_retry.take().is_some() {
                    self.store_accepts();
                }
                Ok(())
            }
            Err(e) if e.is_refused_write() => {
                let retry = now + chrono::Duration::from_std(STORE_RETRY).unwrap_or_default();
                let names: Vec<&str> = due.iter().map(|&i| self.config.sources[i].name.as_str()).collect();
                for name in &names {
                    if let Some(at) = self.schedule.get_mut(*name) {
                        *at = Some(retry);
                    }
                }
                let what = format!("{} not started ({})", crate::model::text::count(names.len(), "source", "sources"), names.join(", "));
                self.spawn_retry = Some(Instant::now() + STORE_RETRY);
                self.refused_write(&what, &e);
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Starts the sources at `indexes`, each as its own task; a task waits
    /// for one of the `[fetch] concurrency` slots, then takes its turn.
    pub(super) fn spawn(&mut self, indexes: &[usize]) -> Result<(), StoreError> {
        let inputs = source_inputs(&self.store, indexes.iter().map(|&i| &self.config.sources[i]))?;
        self.spawn_inputs(indexes, inputs);
        Ok(())
    }

    /// [`Runner::spawn`] with the sources' saved states at hand.
    pub(super) fn spawn_inputs(&mut self, indexes: &[usize], inputs: Vec<SourceInput>) {
        let limit = turn_limit(&self.config);
        for (&index, input) in indexes.iter().zip(inputs) {
            let name = self.config.sources[index].name.clone();
            self.forced.retain(|n| n != &name);
            let (config, reader, rules) = (self.config.clone(), self.reader.clone(), self.rules.clone());
            let (fetcher, slots, tx) = (self.fetcher.clone(), self.slots.clone(), self.turns_tx.clone());
            let task_name = name.clone();
            let task = tokio::spawn(async move {
                let _slot = slots.acquire_owned().await;
                let now = Utc::now();
                let fallback = input.clone();
                let turn = AssertUnwindSafe(source_turn(&config, input, &reader, &rules, &fetcher, index, now)).catch_unwind();
                let result = match tokio::time::timeout(limit, turn).await {
                    Ok(Ok(result)) => result,
                    Ok(Err(_)) => failed_turn(&config, index, fallback, now, "internal error: the fetch panicked".into()),
                    Err(_) => {
                        let why = format!("gave up after {}", humantime::format_duration(limit));
                        failed_turn(&config, index, fallback, now, why)
                    }
                };
                let _ = tx.send(Turn { name: task_name, result });
            });
            self.in_flight.insert(name, task.abort_handle());
        }
    }

    /// Takes a finished source's result into the store, with every other
    /// one already waiting: sources that finish together (a burst of 304s
    /// at start) share transactions, as in `build`.
    fn take(&mut self, first: Turn) -> Result<(), RunError> {
        let mut turns = vec![first];
        while let Ok(turn) = self.turns_rx.try_recv() {
            turns.push(turn);
        }
        let mut results = Vec::with_capacity(turns.len());
        // Each source's errors in a row, for its log line: written once
        // its result is stored, when the report has its story counts.
        let mut errors = Vec::with_capacity(turns.len());
        let finished: Vec<String> = turns.iter().map(|t| t.name.clone()).collect();
        for turn in turns {
            self.in_flight.remove(&turn.name);
            // Removed from the config while in flight: its row is gone too.
            if !self.config.sources.iter().any(|s| s.name == turn.name) {
                continue;
            }
            let state = &turn.result.state;
            match (&state.disabled, state.next_fetch) {
                (None, Some(next)) if self.schedule.contains_key(&turn.name) => {
                    self.schedule.insert(turn.name.clone(), Some(next));
                }
                _ => {
                    self.schedule.remove(&turn.name);
                }
            }
            self.metrics.set_source(&turn.name, source_health(SourceKind::Feed, state));
            errors.push(state.consecutive_errors);
            results.push(turn.result);
        }
        if results.is_empty() {
            return self.let_go(&finished, false);
        }
        let retention = retention(&self.config);
        let metrics = &self.metrics;
        let names: Vec<String> = results.iter().map(|r| r.report.name.clone()).collect();
        let unstored: Vec<SourceReport> = results.iter().map(|r| r.report.clone()).collect();
        let on_source = |r: &SourceReport| metrics.record_fetch(metric_label(&r.status));
        let mut sink = StoreSink::new(&mut self.store, &retention, Utc::now(), results.len(), &on_source);
        for (i, result) in results.into_iter().enumerate() {
            sink.take(i, result);
        }
        let (reports, outcome) = match sink.finish() {
            Ok(done) => done,
            Err(e) if e.is_refused_write() => {
                for (report, errors) in unstored.iter().zip(&errors) {
                    self.log_turn(report, *errors);
                }
                // Not stored (the transaction rolled back): fetched again
                // soon, with the validators the store still holds.
                let retry = Utc::now() + chrono::Duration::from_std(PUBLISH_RETRY).unwrap_or_default();
                for name in &names {
                    if let Some(due) = self.schedule.get_mut(name) {
                        *due = Some(retry);
                    }
                }
                let what = crate::model::text::count(names.len(), "source", "sources");
                self.refused_write(&format!("{what} fetched but not stored"), &e);
                return self.let_go(&finished, false);
            }
            Err(e) => return Err(e.into()),
        };
        self.store_accepts();
        for (report, errors) in reports.iter().zip(errors) {
            self.log_turn(report, errors);
        }
        for report in &reports {
            if matches!(report.status, SourceStatus::Failed(_)) && !self.outcome.failed_sources.contains(&report.name) {
                self.outcome.failed_sources.push(report.name.clone());
            }
            self.control.source_done(report);
        }
        self.pending.add(&outcome);
        self.pending.sources.extend(reports);
        self.dirty = true;
        self.let_go(&finished, true)
    }

    /// One line per fetch; failures at WARN, but a source that keeps
    /// failing only once per [`WARN_AGAIN`] (info in between).
    fn log_turn(&mut self, report: &SourceReport, errors: u32) {
        let name = &report.name;
        match &report.status {
            SourceStatus::Failed(why) => {
                let now = std::time::Instant::now();
                let again = self.warned.get(name).is_none_or(|t| now.duration_since(*t) >= WARN_AGAIN);
                if !again {
                    tracing::info!(source = %name, errors, "fetch failed again: {why}");
                } else if errors > 1 {
                    tracing::warn!(source = %name, errors, "fetch failed ({errors} in a row): {why}");
                } else {
                    tracing::warn!(source = %name, "fetch failed: {why}");
                }
                if again {
                    self.warned.insert(name.clone(), now);
                }
            }
            status => {
                if self.warned.remove(name).is_some() {
                    tracing::warn!(source = %name, status = %status, "recovered");
                } else {
                    tracing::info!(source = %name, status = %status, "fetched");
                }
            }
        }
        for note in &report.notes {
            tracing::info!(source = %name, "{note}");
        }
    }

    /// Reads the story folders whose files changed since last time (all of
    /// them on the first call) into the store.
    fn check_folders(&mut self) -> Result<(), RunError> {
        let now = Utc::now();
        let retention = retention(&self.config);
        let config = self.config.clone();
        for (i, entry) in config.stories.iter().enumerate() {
            let fingerprint = crate::ingest::folder_fingerprint(&entry.path);
            // A held story falling due (or one expiring) changes no file:
            // the folder is read again once that time has passed.
            let due = self.folders_due.get(&i).is_some_and(|at| *at <= now);
            if self.folders.get(&i) == Some(&fingerprint) && !due {
                continue;
            }
            let mut report = BuildReport::default();
            match ingest_files(entry, &self.config, &self.rules, &mut self.store, &retention, now, &mut report) {
                Ok(()) => self.store_accepts(),
                // Rolled back whole: the folder is read again at the next
                // check (its fingerprint is not kept).
                Err(BuildError::Store(e)) if e.is_refused_write() => {
                    self.refused_write(&format!("{}: not stored", entry.path.display()), &e);
                    continue;
                }
                Err(e) => return Err(e.into()),
            }
            for failure in &report.failures {
                tracing::warn!("{failure}");
            }
            for note in &report.notes {
                tracing::info!("{note}");
            }
            match report.next_due {
                Some(at) => self.folders_due.insert(i, at),
                None => self.folders_due.remove(&i),
            };
            tracing::info!(folder = %entry.path.display(), files = report.files_read, new = report.new, updated = report.changed, "story folder read");
            let failed = !report.failures.is_empty();
            let health =
                SourceHealth { consecutive_errors: u64::from(failed), last_success: (!failed).then(|| now.timestamp()), files: true };
            self.metrics.set_source(&files_source_name(&self.config, entry), health);
            self.outcome.failed_inputs += report.failures.len();
            self.pending.files_read += report.files_read;
            self.pending.new += report.new;
            self.pending.changed += report.changed;
            self.pending.pruned += report.pruned;
            self.pending.failures.append(&mut report.failures);
            self.folders.insert(i, fingerprint);
            self.dirty = true;
        }
        Ok(())
    }

    /// The store refused a write (a full or read-only disk): logged (at
    /// error level once, not at every retry) and shown by `/healthz`; the
    /// loop goes on and the write is tried again.
    pub(super) fn refused_write(&mut self, what: &str, e: &StoreError) {
        let message = format!("{what}: {e}");
        let now = std::time::Instant::now();
        if self.refused.contains(&message) {
            // Retried every half second while the store is out of reach:
            // a reminder a minute, the rest at debug level.
            if self.refused_reminded.is_none_or(|t| now >= t + super::repeat::FIRST_REMINDER) {
                tracing::warn!("{message}; still trying");
                self.refused_reminded = Some(now);
            } else {
                tracing::debug!("{message} (again)");
            }
        } else {
            tracing::error!("{message}; trying again");
            self.refused_reminded.get_or_insert(now);
            // A handful of distinct writes at most (sources, stories,
            // requests); bounded all the same.
            if self.refused.len() == 64 {
                self.refused.remove(0);
            }
            self.refused.push(message.clone());
        }
        self.metrics.record_run(Utc::now(), false, message.clone());
        self.outcome.store_error = Some(message);
    }

    /// A write went through after the store refused some.
    pub(super) fn store_accepts(&mut self) {
        self.outcome.store_error = None;
        self.refused_reminded = None;
        if !std::mem::take(&mut self.refused).is_empty() {
            tracing::warn!(store = %self.store.path().display(), "the store takes writes again");
        }
    }

    /// Republishes what changed, tells the hub, records the run; false if
    /// publishing failed (it is logged and recorded, and tried again).
    async fn publish(&mut self) -> bool {
        let started = Utc::now();
        let mut report = std::mem::take(&mut self.pending);
        let abandoned = std::mem::take(&mut self.abandoned);
        self.dirty = false;
        let slow_parts = std::time::Instant::now() >= self.slow_parts_due;
        self.publish_busy = false;
        let (ok, summary, written) = match publish_with(&self.config, &self.store, slow_parts) {
            // Another worker of the fleet is publishing and may have read
            // the channels before this one's changes: kept, tried again
            // after PUBLISH_GAP (the loop sees `dirty`).
            Ok(published) if published.busy => {
                tracing::debug!("another worker is publishing: publishing again shortly");
                self.pending = report;
                self.abandoned = abandoned;
                self.dirty = true;
                self.publish_busy = true;
                return true;
            }
            Ok(published) => {
                self.published = true;
                report.publish = published.report;
                report.stories = published.stories;
                report.channels = published.channels;
                let ok = report.failures.is_empty() && report.failed_sources().next().is_none() && !abandoned;
                self.outcome.publish_error = None;
                (ok, format!("{} sources fetched: {}", report.sources.len(), report.summary()), std::mem::take(&mut report.publish.written))
            }
            Err(e) => {
                let message = format!("publishing failed: {e}");
                // Tried again every few seconds: said in full once, then
                // reminded of at growing intervals (see `repeat`).
                match self.publish_failures.failed(&message, std::time::Instant::now(), Utc::now()) {
                    Say::New => tracing::error!("{message}; trying again every {}", humantime::format_duration(PUBLISH_RETRY)),
                    Say::Still { times, since } => {
                        tracing::error!("{message}; still failing ({times} times since {})", since.format("%Y-%m-%d %H:%M:%S UTC"));
                    }
                    _ => tracing::debug!("{message} (again)"),
                }
                self.outcome.publish_error = Some(message.clone());
                self.dirty = true;
                (false, message, Vec::new())
            }
        };
        let failing = self.outcome.publish_error.is_some();
        if !failing && let Say::Recovered { times, since } = self.publish_failures.succeeded() {
            let out = self.config.publish.output_dir.display();
            tracing::warn!("{out}: publishing works again, after {times} failed tries since {}", since.format("%Y-%m-%d %H:%M:%S UTC"));
        }
        if !written.is_empty() {
            self.metrics.record_publish(Utc::now());
            self.notify_hub(&written).await;
        }
        if slow_parts && !failing {
            self.slow_parts_due = std::time::Instant::now() + SLOW_PARTS_EVERY;
            if let Ok(n) = self.store.story_count() {
                self.metrics.set_stories_stored(n);
            }
        }
        if !failing {
            tracing::info!(written = written.len(), "{summary}");
        }
        self.metrics.record_run(Utc::now(), ok, summary.clone());
        if let Err(e) = self.store.record_run(&RunRecord { started, finished: Utc::now(), ok, summary }) {
            tracing::error!("cannot record the run: {e}");
        }
        !self.dirty
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

    /// Sources in flight, by name.
    pub(super) fn in_flight(&self, name: &str) -> bool {
        self.in_flight.contains_key(name)
    }

    /// Stops (and forgets) the fetch of a source removed from the config.
    pub(super) fn abandon(&mut self, name: &str) {
        if let Some(task) = self.in_flight.remove(name) {
            task.abort();
        }
        self.warned.remove(name);
    }

    /// Fetches in flight go on with the reader they started with; new ones
    /// use a new fetcher when `[fetch]` changed.
    pub(super) fn set_fetch(&mut self, fetcher: Fetcher) {
        self.fetcher = Arc::new(fetcher);
        self.slots = Arc::new(Semaphore::new(self.config.fetch.concurrency));
    }
}

/// Resolves when `shutdown` turns true; never if its sender is gone.
pub(super) async fn stop_requested(shutdown: &mut watch::Receiver<bool>) {
    loop {
        if *shutdown.borrow_and_update() {
            return;
        }
        if shutdown.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// The longest a source's turn may take, as a last resort: the fetcher's
/// own timeout bounds each request (a feed found through a page takes two),
/// so this only catches what should never happen.
fn turn_limit(config: &Config) -> Duration {
    config.fetch.timeout.saturating_mul(3) + Duration::from_secs(30)
}

/// A turn that ended without the fetcher's say (it panicked or overran
/// [`turn_limit`]): a failure like any other, scheduled as one.
fn failed_turn(config: &Config, index: usize, input: SourceInput, now: DateTime<Utc>, why: String) -> SourceResult {
    let source = &config.sources[index];
    let mut state = input.state;
    state.last_fetch = Some(now);
    state.last_error = Some(why.clone());
    state.last_status = Some(SourceStatus::Failed(String::new()).label().to_owned());
    state.consecutive_errors += 1;
    let last = LastFetch { consecutive_errors: state.consecutive_errors, hints: state.hints, ..Default::default() };
    state.next_fetch = Some(next_due(now, &SchedulePolicy::for_source(&config.run, source), &last, jitter_seed(&source.name, now)));
    let report = SourceReport { name: source.name.clone(), status: SourceStatus::Failed(why), notes: vec![], left_out: vec![] };
    SourceResult { pk: input.pk, report, state, entries: vec![], seen: vec![], dropped: vec![] }
}

/// What the metrics keep of a source's saved state.
pub fn source_health(kind: SourceKind, state: &crate::store::SourceState) -> SourceHealth {
    SourceHealth {
        consecutive_errors: u64::from(state.consecutive_errors),
        last_success: state.last_success.map(|t| t.timestamp()),
        files: kind == SourceKind::Files,
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
