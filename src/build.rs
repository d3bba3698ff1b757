//! `wirefeed build`: ingest → normalize → topics → publish, once.

use std::collections::HashSet;

use crate::config::Config;
use crate::ingest::sources::{SourceReport, SourceStatus, aggregate};
use crate::ingest::{self, InputFailure};
use crate::model::Story;
use crate::model::id::canonical_link;
use crate::publish::{self, PublishReport};
use crate::state::{forget_other_sources, source_state_path, state_dir};
use crate::topics::TopicRules;

/// What a build did; `failures` non-empty means some input was skipped.
#[derive(Debug, Default)]
pub struct BuildReport {
    pub files_read: usize,
    pub stories: usize,
    /// Stories dropped because an earlier input had the same id.
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
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}

impl BuildReport {
    /// Sources whose fetch or parse failed this run.
    pub fn failed_sources(&self) -> impl Iterator<Item = &SourceReport> {
        self.sources.iter().filter(|s| matches!(s.status, SourceStatus::Failed(_)))
    }
}

/// Adds `incoming` to `stories` unless an earlier story has the same id or,
/// across sources, the same canonical link.
struct Merger {
    ids: HashSet<String>,
    links: HashSet<String>,
}

impl Merger {
    fn add(&mut self, stories: &mut Vec<Story>, story: Story) -> bool {
        let link = story.link.as_deref().map(canonical_link);
        if self.ids.contains(&story.id) || link.as_ref().is_some_and(|l| self.links.contains(l)) {
            return false;
        }
        self.ids.insert(story.id.clone());
        self.links.extend(link);
        stories.push(story);
        true
    }
}

/// Reads every configured input. The order is the config's, then file
/// name, then position in the file: ties between equal dates keep it.
fn collect_stories(config: &Config) -> (Vec<Story>, BuildReport, Merger) {
    let mut report = BuildReport::default();
    let mut stories = Vec::new();
    let mut merger = Merger { ids: HashSet::new(), links: HashSet::new() };
    for entry in &config.stories {
        let ingested = ingest::load_stories(entry, &config.publish.base_url);
        report.files_read += ingested.files;
        report.failures.extend(ingested.failures);
        for story in ingested.stories {
            if !merger.add(&mut stories, story) {
                report.duplicates += 1;
            }
        }
    }
    (stories, report, merger)
}

pub fn build(config: &Config) -> Result<BuildReport, BuildError> {
    build_with_progress(config, &|_| {})
}

/// [`build`], calling `on_source` as each external source finishes.
pub fn build_with_progress(config: &Config, on_source: &(dyn Fn(&SourceReport) + Sync)) -> Result<BuildReport, BuildError> {
    let rules = TopicRules::new(&config.topics)?;
    let (mut stories, mut report, mut merger) = collect_stories(config);
    if !config.sources.is_empty() {
        aggregate_sources(config, &rules, &mut stories, &mut report, &mut merger, on_source)?;
    }
    assign_topics(&rules, &mut stories);
    report.stories = stories.len();
    report.channels = publish::channels(config, &stories)
        .iter()
        .map(|c| (c.path(publish::Format::Rss).trim_end_matches(".rss").to_owned(), c.stories.len()))
        .collect();
    report.publish = publish::publish(config, &stories)?;
    Ok(report)
}

/// Fetches every source (each saves its own state as it finishes) and
/// merges the stories that can reach a channel after the newsroom's own,
/// in config order.
fn aggregate_sources(
    config: &Config,
    rules: &TopicRules,
    stories: &mut Vec<Story>,
    report: &mut BuildReport,
    merger: &mut Merger,
    on_source: &(dyn Fn(&SourceReport) + Sync),
) -> Result<(), BuildError> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(BuildError::Runtime)?;
    let results = runtime.block_on(aggregate(config, rules, chrono::Utc::now(), on_source));
    let dir = state_dir(config);
    forget_other_sources(&dir, &config.sources.iter().map(|s| source_state_path(&dir, &s.name)).collect::<Vec<_>>());
    for result in results {
        for story in result.candidates {
            if !merger.add(stories, story) {
                report.duplicates += 1;
            }
        }
        // Stories of this source that are not candidates still shadow
        // later sources' copies of them.
        for (id, link) in result.keys {
            merger.ids.insert(id);
            merger.links.extend(link);
        }
        report.sources.push(result.report);
    }
    Ok(())
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
