//! Steering a running `wirefeed run`: config reload (SIGHUP, or the file
//! changed) and `wirefeed fetch` requests (through the store, see
//! [`crate::store::requests`]).
//!
//! A reloaded config is validated exactly as at start; an invalid one is
//! reported with the same message and the running config stays. A valid
//! one is applied at once: new sources are due now, removed ones are
//! dropped with their stories (as `build` drops them) and their fetches in
//! flight abandoned, changed intervals and rules take effect and the due
//! times of the sources whose schedule changed are recomputed from their
//! last fetch.

use chrono::Utc;
use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

use super::run::{RunError, Runner, STORE_RETRY};
use super::schedule::{LastFetch, SchedulePolicy, jitter_seed, next_due};
use crate::build::refresh_topics;
use crate::config::Config;
use crate::ingest::fetch::Fetcher;
use crate::ingest::sources::{SourceReport, SourceStatus};
use crate::store::requests::{FetchAnswer, FetchRequest};
use crate::topics::TopicRules;

/// How often a run looks for `wirefeed fetch` requests: a request is
/// started on within about this long.
pub const REQUEST_POLL: Duration = Duration::from_millis(500);

/// The run's side of reloads and requests.
pub struct Control {
    /// xxh3 of the config file as last read (applied or refused), so a
    /// refused file is reported once, not at every check.
    config_hash: Option<u64>,
    reload: Option<watch::Receiver<u64>>,
    next_poll: Instant,
    active: Vec<Active>,
    /// The store refused to mark requests taken at the last poll.
    take_refused: bool,
    /// The store refused an answer: answers wait until then.
    answer_retry: Option<Instant>,
}

/// A request being worked on: the sources still to finish, and the
/// outcomes of those done.
struct Active {
    pk: i64,
    waiting: Vec<String>,
    answers: Vec<FetchAnswer>,
}

impl Control {
    pub fn new(config: &Config) -> Control {
        Control {
            config_hash: file_hash(&config.path),
            reload: None,
            next_poll: Instant::now(),
            active: Vec::new(),
            take_refused: false,
            answer_retry: None,
        }
    }

    pub fn next_poll(&self) -> Instant {
        self.next_poll
    }

    /// Resolves when a reload is asked for (never without a signal).
    pub async fn reload_signal(&mut self) {
        match &mut self.reload {
            Some(rx) => {
                if rx.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
            None => std::future::pending::<()>().await,
        }
    }

    /// A source's turn ended: it answers the requests waiting for it.
    pub fn source_done(&mut self, report: &SourceReport) {
        for active in &mut self.active {
            if let Some(i) = active.waiting.iter().position(|n| n == &report.name) {
                active.waiting.remove(i);
                active.answers.push(answer(report));
            }
        }
    }
}

/// A source's outcome as `wirefeed fetch` prints it.
pub fn answer(report: &SourceReport) -> FetchAnswer {
    FetchAnswer { source: report.name.clone(), ok: !matches!(report.status, SourceStatus::Failed(_)), status: report.status.to_string() }
}

fn file_hash(path: &Path) -> Option<u64> {
    std::fs::read(path).ok().map(|b| xxhash_rust::xxh3::xxh3_64(&b))
}

/// A watch channel that ticks on each SIGHUP (never elsewhere).
pub fn reload_on_sighup() -> watch::Receiver<u64> {
    let (tx, rx) = watch::channel(0u64);
    #[cfg(unix)]
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hup) = signal(SignalKind::hangup()) else { return };
        let mut n = 0;
        while hup.recv().await.is_some() {
            n += 1;
            if tx.send(n).is_err() {
                return;
            }
        }
    });
    #[cfg(not(unix))]
    drop(tx);
    rx
}

impl Runner {
    /// Reloads the config whenever `signal` ticks (see [`reload_on_sighup`]).
    pub fn reload_on(&mut self, signal: watch::Receiver<u64>) {
        self.control.reload = Some(signal);
    }

    /// Reloads the config if its file changed since it was last read.
    pub(super) async fn check_config(&mut self) -> Result<(), RunError> {
        let hash = file_hash(&self.config.path);
        if hash != self.control.config_hash {
            self.control.config_hash = hash;
            tracing::info!(config = %self.config.path.display(), "the config file changed: reloading it");
            self.reload_config()?;
        }
        Ok(())
    }

    /// SIGHUP: reads the config again, changed or not.
    pub(super) async fn reload(&mut self) -> Result<(), RunError> {
        tracing::info!(config = %self.config.path.display(), "SIGHUP: reloading the config");
        self.control.config_hash = file_hash(&self.config.path);
        self.reload_config().map(drop)
    }

    /// Reads, validates and applies the config file; true if applied.
    pub fn reload_config(&mut self) -> Result<bool, RunError> {
        let new = match Config::load(&self.config.path) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!("{e}; the running config stays");
                return Ok(false);
            }
        };
        // Queries were parsed (and checked) when the config loaded.
        let rules = TopicRules::from_config(&new);
        match self.apply_config(new, rules) {
            Ok(()) => Ok(true),
            // The store refused a write (a full or read-only disk): the
            // running config stays, and the file is read and applied again
            // at the next check (each step is idempotent).
            Err(e) if e.is_refused_write() => {
                self.control.config_hash = None;
                self.refused_write(
                    &format!("{}: changes not applied", self.config.path.display()),
                    e.store_error().expect("a store error"),
                );
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    fn apply_config(&mut self, mut new: Config, rules: TopicRules) -> Result<(), RunError> {
        let old = self.config.clone();
        if new.store.path != old.store.path || new.store.url != old.store.url {
            tracing::warn!("[store] path or url changed: the running wirefeed keeps its store until restarted");
            new.store = old.store.clone();
        }
        if new.serve.addr != old.serve.addr {
            tracing::warn!("[serve] addr changed: takes effect at the next start");
        }
        // Dropped as `build` drops them: the row and its stories. The
        // store's writes come first, so that a refused one (see
        // `reload_config`) leaves the running config as it was.
        for (name, _) in crate::build::forget_logged(&new, &self.store)? {
            self.abandon(&name);
            self.metrics.forget_source(&name);
        }
        refresh_topics(&new, &rules, &mut self.store)?;
        self.reschedule(&new, &old)?;
        let names: HashSet<&str> = new.sources.iter().map(|s| s.name.as_str()).collect();
        for active in &mut self.control.active {
            active.waiting.retain(|n| {
                let kept = names.contains(n.as_str());
                if !kept {
                    let status = "removed from the config before its fetch ended".to_owned();
                    active.answers.push(FetchAnswer { source: n.clone(), ok: false, status });
                }
                kept
            });
        }
        self.forced.retain(|n| names.contains(n.as_str()));
        let fetch_changed = format!("{:?}", new.fetch) != format!("{:?}", old.fetch);
        if format!("{:?}", new.stories) != format!("{:?}", old.stories) {
            self.folders.clear();
            self.folders_due.clear();
        }
        let added = new.sources.iter().filter(|s| !old.sources.iter().any(|o| o.name == s.name)).count();
        let removed = old.sources.iter().filter(|o| !names.contains(o.name.as_str())).count();
        self.config = Arc::new(new);
        self.rules = Arc::new(rules);
        if fetch_changed {
            self.set_fetch(Fetcher::new(&self.config.fetch)?);
        }
        self.load_schedule()?;
        self.load_source_metrics()?;
        self.metrics.set_degraded_after(self.config.serve.degraded_after);
        self.dirty = true;
        tracing::info!(sources = self.config.sources.len(), added, removed, "config reloaded");
        Ok(())
    }

    /// Recomputes, from its last fetch, the due time of every source whose
    /// schedule settings changed.
    fn reschedule(&mut self, new: &Config, old: &Config) -> Result<(), RunError> {
        let saved = self.store.sources()?;
        let mut changed = Vec::new();
        for source in &new.sources {
            let policy = SchedulePolicy::for_source(&new.run, source);
            let before = old.sources.iter().find(|o| o.name == source.name).map(|o| SchedulePolicy::for_source(&old.run, o));
            let Some((pk, state)) = saved.get(&source.name) else { continue };
            let (Some(before), Some(last_fetch)) = (before, state.last_fetch) else { continue };
            if before == policy || state.disabled.is_some() {
                continue;
            }
            let last = LastFetch {
                consecutive_errors: state.consecutive_errors,
                hints: state.hints,
                retry_until: state.retry_until,
                ..Default::default()
            };
            let mut state = state.clone();
            state.next_fetch = Some(next_due(last_fetch, &policy, &last, jitter_seed(&source.name, last_fetch)));
            tracing::info!(source = %source.name, next = %state.next_fetch.map(|t| t.to_rfc3339()).unwrap_or_default(), "schedule changed");
            changed.push((*pk, state));
        }
        let states: Vec<(i64, &crate::store::SourceState)> = changed.iter().map(|(pk, s)| (*pk, s)).collect();
        if !states.is_empty() {
            self.store.save_states(&states)?;
        }
        Ok(())
    }

    /// Takes new `wirefeed fetch` requests (every [`REQUEST_POLL`]) and
    /// answers those whose sources have all finished.
    ///
    /// Both mark the request in the store. A write the store refuses (a
    /// full or read-only disk) is logged and tried again: a request not
    /// taken stays waiting for the next poll, an answer not written stays
    /// to be written after [`STORE_RETRY`].
    pub(super) fn poll_requests(&mut self) -> Result<(), RunError> {
        if Instant::now() >= self.control.next_poll {
            self.control.next_poll = Instant::now() + REQUEST_POLL;
            match self.store.take_requests(Utc::now()) {
                Ok(requests) => {
                    if !requests.is_empty() && self.control.take_refused {
                        self.store_accepts();
                    }
                    self.control.take_refused = false;
                    for request in requests {
                        self.start_request(request);
                    }
                }
                Err(e) if e.is_refused_write() => {
                    self.control.take_refused = true;
                    self.refused_write("`wirefeed fetch` requests not taken", &e);
                }
                Err(e) => return Err(e.into()),
            }
        }
        if self.control.answer_retry.is_some_and(|at| Instant::now() < at) {
            return Ok(());
        }
        let (done, active): (Vec<_>, Vec<_>) = std::mem::take(&mut self.control.active).into_iter().partition(|a| a.waiting.is_empty());
        self.control.active = active;
        let mut done = done.into_iter();
        while let Some(request) = done.next() {
            match self.store.answer_request(request.pk, &request.answers, Utc::now()) {
                Ok(()) => {
                    if self.control.answer_retry.take().is_some() {
                        self.store_accepts();
                    }
                }
                Err(e) if e.is_refused_write() => {
                    let what = format!("the answer to `wirefeed fetch` request {} not written", request.pk);
                    self.control.active.push(request);
                    self.control.active.extend(done);
                    self.control.answer_retry = Some(Instant::now() + STORE_RETRY);
                    self.refused_write(&what, &e);
                    break;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    fn start_request(&mut self, request: FetchRequest) {
        let mut active = Active { pk: request.pk, waiting: Vec::new(), answers: Vec::new() };
        let wanted: Vec<String> = match request.sources.is_empty() {
            true => self.config.sources.iter().filter(|s| s.enabled).map(|s| s.name.clone()).collect(),
            false => request.sources,
        };
        let (found, unknown) = resolve(&self.config, &wanted);
        active.answers.extend(unknown);
        for index in found {
            let name = self.config.sources[index].name.clone();
            // One in flight already answers for it.
            if !self.in_flight(&name) && !self.forced.contains(&name) {
                self.forced.push(name.clone());
            }
            if !active.waiting.contains(&name) {
                active.waiting.push(name);
            }
        }
        tracing::info!(request = active.pk, sources = active.waiting.len(), "`wirefeed fetch` asked for sources now");
        self.control.active.push(active);
    }
}

/// The configured sources `asked` names (exactly, else ignoring case; names
/// are unique ignoring case), and a failed answer for each name none has.
pub fn resolve(config: &Config, asked: &[String]) -> (Vec<usize>, Vec<FetchAnswer>) {
    let (mut found, mut unknown) = (Vec::new(), Vec::new());
    for name in asked {
        let index = (config.sources.iter().position(|s| &s.name == name))
            .or_else(|| config.sources.iter().position(|s| s.name.eq_ignore_ascii_case(name)));
        match index {
            Some(i) if !found.contains(&i) => found.push(i),
            Some(_) => {}
            None => {
                let status = format!("error: no source named {name:?} in {}", config.path.display());
                unknown.push(FetchAnswer { source: name.clone(), ok: false, status });
            }
        }
    }
    (found, unknown)
}

/// How long a request may wait for a run to take it before `wirefeed
/// fetch` concludes the store's holder takes none (a `build`).
const PICKUP: Duration = Duration::from_secs(5);

/// `wirefeed fetch`: fetches the named sources (all enabled ones with
/// `names` empty) now and publishes. When a `run` holds the store, it asks
/// that run and waits for its answer; otherwise it fetches itself. One
/// answer per source, in the order asked.
pub async fn fetch_now(config: Config, names: &[String], metrics: Arc<super::metrics::Metrics>) -> Result<Vec<FetchAnswer>, RunError> {
    use crate::store::StoreError;
    let mut probe = config.clone();
    probe.store.lock_timeout = Duration::ZERO;
    match Runner::new(probe, metrics.clone()) {
        Ok(runner) => fetch_here(runner, names).await,
        Err(RunError::Store(StoreError::Locked { .. } | StoreError::PostgresLocked { .. })) => match ask_run(&config, names).await? {
            Some(answers) => Ok(answers),
            // The holder takes no requests, or went away: wait our turn.
            None => fetch_here(Runner::new(config, metrics)?, names).await,
        },
        Err(e) => Err(e),
    }
}

async fn fetch_here(mut runner: Runner, names: &[String]) -> Result<Vec<FetchAnswer>, RunError> {
    let wanted: Vec<String> = match names.is_empty() {
        true => runner.config.sources.iter().filter(|s| s.enabled).map(|s| s.name.clone()).collect(),
        false => names.to_vec(),
    };
    let (found, mut answers) = resolve(&runner.config, &wanted);
    let (_keep, never) = watch::channel(false);
    let pass = runner.pass(found, never).await?;
    if pass.fetched > 0 {
        runner.publish_now().await;
    }
    answers.extend(pass.report.sources.iter().map(answer));
    Ok(answers)
}

/// Asks the `run` holding the store; `None` when nothing took the request
/// within [`PICKUP`], or the holder went away before answering.
async fn ask_run(config: &Config, names: &[String]) -> Result<Option<Vec<FetchAnswer>>, RunError> {
    use crate::store::lock::StoreLock;
    use crate::store::requests::{RequestState, Requester};
    let location = crate::store::Location::of(config);
    let requester = Requester::open_location(&location)?;
    let pk = requester.ask(names, Utc::now())?;
    let asked = Instant::now();
    let mut next_lock_check = Instant::now();
    loop {
        match requester.state(pk)? {
            RequestState::Answered(answers) => return Ok(Some(answers)),
            RequestState::Gone => return Ok(None),
            RequestState::Waiting if asked.elapsed() > PICKUP && requester.withdraw(pk)? => {
                tracing::warn!("the store is held by a wirefeed that takes no requests (a `build`?): waiting for it to finish");
                return Ok(None);
            }
            _ => {}
        }
        // (PostgreSQL: a holder gone away is seen by the pickup timeout.)
        if matches!(location, crate::store::Location::Sqlite(_)) && Instant::now() >= next_lock_check {
            next_lock_check = Instant::now() + Duration::from_secs(1);
            if let Ok(lock) = StoreLock::acquire(&config.store.path, Duration::ZERO) {
                drop(lock);
                // Answered just before it exited?
                if let RequestState::Answered(answers) = requester.state(pk)? {
                    return Ok(Some(answers));
                }
                let _ = requester.withdraw(pk);
                tracing::warn!("the running wirefeed exited before answering: fetching here");
                return Ok(None);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
