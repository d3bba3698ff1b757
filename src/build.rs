//! `wirefeed build`: ingest → normalize → topics → publish, once.

use std::sync::Arc;

use crate::config::Config;
use crate::ingest::sources::with_topics;
use crate::ingest::sources::{SourceReport, SourceStatus, aggregate};
use crate::ingest::{self, InputFailure};
use crate::model::Story;
use crate::publish::{self, PublishReport};
use crate::select::Selector;
use crate::state::{StateError, StateReader, StateWriter, state_path};
use crate::topics::TopicRules;

/// What a build did; `failures` non-empty means some input was skipped.
#[derive(Debug, Default)]
pub struct BuildReport {
    pub files_read: usize,
    pub stories: usize,
    /// Stories dropped because an earlier input had the same id or the
    /// same canonical link.
    pub duplicates: usize,
    pub failures: Vec<InputFailure>,
    /// One per configured source, in config order.
    pub sources: Vec<SourceReport>,
    /// (channel path, number of stories) for each channel, `all` first.
    pub channels: Vec<(String, usize)>,
    pub publish: PublishReport,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("topic keywords: {0}")]
    Topics(#[from] regex::Error),
    #[error("writing feeds: {0}")]
    Publish(#[from] std::io::Error),
    #[error(transparent)]
    State(#[from] StateError),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}

impl BuildReport {
    /// Sources whose fetch or parse failed this run.
    pub fn failed_sources(&self) -> impl Iterator<Item = &SourceReport> {
        self.sources.iter().filter(|s| matches!(s.status, SourceStatus::Failed(_)))
    }
}

/// Reads every configured input. The order is the config's, then file
/// name, then position in the file: ties between equal dates keep it, and
/// of two copies of a story the first is kept (by the [`Selector`]).
fn collect_stories(config: &Config) -> (Vec<Story>, BuildReport) {
    let mut report = BuildReport::default();
    let mut stories = Vec::new();
    for entry in &config.stories {
        let ingested = ingest::load_stories(entry, &config.publish.base_url);
        report.files_read += ingested.files;
        report.failures.extend(ingested.failures);
        stories.extend(ingested.stories);
    }
    (stories, report)
}

pub fn build(config: &Config) -> Result<BuildReport, BuildError> {
    build_with_progress(config, &|_| {})
}

/// [`build`], calling `on_source` as each external source finishes.
pub fn build_with_progress(config: &Config, on_source: &(dyn Fn(&SourceReport) + Sync)) -> Result<BuildReport, BuildError> {
    let rules = Arc::new(TopicRules::new(&config.topics)?);
    let (mut local, mut report) = collect_stories(config);
    assign_topics(&rules, &mut local);
    let mut selector = Selector::new(config.publish.max_items, 1 + config.topics.len());
    selector.add(0, local);
    let stories = if config.sources.is_empty() {
        // The newsroom's own stories are never let go, so none is read back.
        let selection = selector.finish(|_, _| Vec::new());
        report.duplicates += selection.duplicates;
        selection.stories
    } else {
        aggregate_sources(config, rules, selector, &mut report, on_source)?
    };
    report.stories = stories.len();
    report.channels = publish::channels(config, &stories)
        .iter()
        .map(|c| (c.path(publish::Format::Rss).trim_end_matches(".rss").to_owned(), c.stories.len()))
        .collect();
    report.publish = publish::publish(config, &stories)?;
    Ok(report)
}

/// Fetches every source and chooses, with the newsroom's own stories,
/// what the channels show. Each source's new state is streamed into the
/// next state file as it finishes, which replaces the old one at the end.
fn aggregate_sources(
    config: &Config,
    rules: Arc<TopicRules>,
    mut selector: Selector,
    report: &mut BuildReport,
    on_source: &(dyn Fn(&SourceReport) + Sync),
) -> Result<Vec<Story>, BuildError> {
    let path = state_path(config);
    // An unreadable state is reported and left as it is: the sources start
    // afresh for this run, and the next state is not written over it.
    let (saved, mut next) = match StateReader::open(&path) {
        Ok(saved) => (saved, Some(StateWriter::create(&path)?)),
        Err(e) => {
            report.failures.push(InputFailure { path: path.clone(), line: None, message: format!("{e}; sources start afresh this run") });
            (StateReader::empty(&path), None)
        }
    };
    let saved = Arc::new(saved);
    let mut write_error: Option<StateError> = None;
    let mut reports: Vec<Option<SourceReport>> = vec![None; config.sources.len()];
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(BuildError::Runtime)?;
    let shared_config = Arc::new(config.clone());
    runtime.block_on(aggregate(shared_config, saved.clone(), rules.clone(), chrono::Utc::now(), on_source, &mut |i, result| {
        let name = &config.sources[i].name;
        let written = match (&mut next, &result.state) {
            (None, _) => Ok(()),
            (Some(next), Some(state)) => next.write(name, state),
            (Some(next), None) => next.copy_from(&saved, name),
        };
        if let Err(e) = written {
            write_error.get_or_insert(e);
        }
        selector.add(i + 1, result.stories);
        reports[i] = Some(result.report);
    }));
    drop(runtime);
    if let Some(e) = write_error {
        return Err(e.into());
    }
    if let Some(next) = next {
        next.commit()?;
    }
    report.sources = reports.into_iter().flatten().collect();
    // Stories let go while choosing are read back from the new state.
    let reread = std::cell::OnceCell::new();
    let selection = selector.finish(|origin, ids| {
        let source = &config.sources[origin - 1];
        let state = reread
            .get_or_init(|| StateReader::open(&path))
            .as_ref()
            .map_err(|e| e.to_string())
            .and_then(|r| r.load(&source.name).map_err(|e| e.to_string()));
        match state {
            Ok(state) => {
                state.stories.into_iter().filter(|k| ids.contains(&k.story.id)).map(|k| with_topics(k.story, source, &rules)).collect()
            }
            Err(e) => {
                tracing::warn!(source = %source.name, "cannot read back stories: {e}");
                Vec::new()
            }
        }
    });
    report.duplicates += selection.duplicates;
    Ok(selection.stories)
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
