//! `wirefeed build`: ingest → normalize → topics → publish, once.

use std::collections::HashSet;

use crate::config::Config;
use crate::ingest::{self, InputFailure};
use crate::model::Story;
use crate::publish::{self, PublishReport};
use crate::topics::TopicRules;

/// What a build did; `failures` non-empty means some input was skipped.
#[derive(Debug, Default)]
pub struct BuildReport {
    pub files_read: usize,
    pub stories: usize,
    /// Stories dropped because an earlier input had the same id.
    pub duplicates: usize,
    pub failures: Vec<InputFailure>,
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
}

/// Reads every configured input. The order is the config's, then file
/// name, then position in the file: ties between equal dates keep it.
pub fn collect_stories(config: &Config) -> (Vec<Story>, BuildReport) {
    let mut report = BuildReport::default();
    let mut stories = Vec::new();
    let mut seen = HashSet::new();
    for entry in &config.stories {
        let ingested = ingest::load_stories(entry, &config.publish.base_url);
        report.files_read += ingested.files;
        report.failures.extend(ingested.failures);
        for story in ingested.stories {
            if seen.insert(story.id.clone()) {
                stories.push(story);
            } else {
                report.duplicates += 1;
            }
        }
    }
    (stories, report)
}

pub fn build(config: &Config) -> Result<BuildReport, BuildError> {
    let rules = TopicRules::new(&config.topics)?;
    let (mut stories, mut report) = collect_stories(config);
    for story in &mut stories {
        rules.assign(story);
    }
    report.stories = stories.len();
    report.channels = publish::channels(config, &stories)
        .iter()
        .map(|c| (c.path(publish::Format::Rss).trim_end_matches(".rss").to_owned(), c.stories.len()))
        .collect();
    report.publish = publish::publish(config, &stories)?;
    Ok(report)
}
