//! `/healthz` and `/metrics` of a `wirefeed serve` without an aggregator
//! in the process: read from the store a separate `run` or `build` writes.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::metrics::Metrics;
use super::run::source_health;
use crate::store::{Location, Reader};

/// For `wirefeed serve` without an aggregator in the process: keeps
/// `/healthz` and `/metrics` up to date from the store that a separate
/// `run` (or cron `build`) writes, by reading it every few seconds: the
/// last run, the story count, and every source's error count and last
/// success.
pub async fn mirror_store(store: impl Into<Location>, metrics: Arc<Metrics>) {
    mirror_store_every(store, metrics, Duration::from_secs(5)).await
}

/// [`mirror_store`], reading the store every `every`.
pub async fn mirror_store_every(store: impl Into<Location>, metrics: Arc<Metrics>, every: Duration) {
    let store = store.into();
    let mut last_seen = None;
    loop {
        if let Ok(reader) = Reader::open_location(&store) {
            if let Ok(sources) = reader.source_summaries() {
                let map: BTreeMap<_, _> = sources.into_iter().map(|s| (s.name, source_health(s.kind, &s.state))).collect();
                metrics.replace_sources(map);
            }
            // Times are whole seconds: two runs within one differ elsewhere.
            if let Ok(Some(run)) = reader.last_run()
                && last_seen.as_ref() != Some(&run)
            {
                last_seen = Some(run.clone());
                metrics.record_run(run.finished, run.ok, run.summary);
            }
            if let Ok(n) = reader.story_count() {
                metrics.set_stories_stored(n);
            }
            if let Ok(Some(fleet)) = reader.fleet_status(super::fleet::OVERDUE_AFTER) {
                metrics.set_fleet(fleet);
            }
        }
        tokio::time::sleep(every).await;
    }
}
