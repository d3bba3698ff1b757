//! Topic channels: which stories go where, and which entries a source
//! keeps.
//!
//! A story joins a topic when any rule matches — a keyword or phrase
//! (whole words, any case) in its title, summary or content; one of its
//! categories; its source (named by the topic, or naming the topic in its
//! `[[sources]] topics`); the topic's `query` — and the topic's `exclude`
//! does not. Topics named by the story itself (front matter) are kept
//! whatever the rules say.
//!
//! Every keyword and query of every topic and source filter is compiled
//! into one [`matcher::QuerySet`], so a story's text is prepared and
//! scanned once however many topics there are.

pub mod matcher;
pub mod query;

use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::fmt;

use crate::config::{Config, ParsedQueries, TopicConfig};
use crate::model::Story;
use matcher::{Hit, QueryId, QuerySet, QuerySetBuilder, Scan};

/// A compiled query and its text as configured (for messages).
#[derive(Debug)]
struct Rule {
    id: QueryId,
    text: String,
}

#[derive(Debug)]
struct CompiledTopic {
    slug: String,
    keywords: Option<QueryId>,
    categories: Vec<String>,
    sources: Vec<String>,
    query: Option<Rule>,
    exclude: Option<Rule>,
}

/// A `[[sources]]` entry's filters.
#[derive(Debug, Default)]
struct SourceFilter {
    include: Option<Rule>,
    exclude: Option<Rule>,
    max_age: Option<chrono::Duration>,
}

/// Why a source's entry was dropped before storing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// It does not match the source's `include`.
    NotIncluded(String),
    /// It matches the source's `exclude`.
    Excluded(String),
    /// Published before `max_age` ago.
    TooOld(std::time::Duration),
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::NotIncluded(q) => write!(f, "does not match include '{q}'"),
            Rejection::Excluded(q) => write!(f, "excluded by '{q}'"),
            Rejection::TooOld(d) => write!(f, "older than max_age ({})", humantime::format_duration(*d)),
        }
    }
}

/// Whether a story is in one topic, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// In it, for these reasons (`keyword "gaza" in content`).
    In(Vec<String>),
    /// Not in it: no rule matched, or (the text says) which exclude did.
    Out(String),
}

/// The compiled rules of every configured topic and source filter.
#[derive(Debug)]
pub struct TopicRules {
    set: QuerySet,
    topics: Vec<CompiledTopic>,
    /// By source name, lowercased.
    filters: HashMap<String, SourceFilter>,
    /// Language by source name (lowercased): `[[sources]]`/`[[stories]]`
    /// `language`.
    languages: HashMap<String, String>,
    default_language: String,
}

fn describe(hits: &[Hit]) -> String {
    hits.iter().map(|h| format!("{} in {}", h.term, h.field.name())).collect::<Vec<_>>().join(", ")
}

impl TopicRules {
    /// Rules for `topics` alone, with default matching options (no
    /// sources, no accent folding, language "en").
    pub fn new(topics: &[TopicConfig]) -> Result<TopicRules, regex::Error> {
        Ok(TopicRules::compile(topics, &[], false, HashMap::new(), "en"))
    }

    /// Every topic, source filter and language of `config`.
    pub fn from_config(config: &Config) -> TopicRules {
        let mut languages = HashMap::new();
        for s in &config.stories {
            if let Some(l) = &s.language {
                languages.insert(s.source.to_lowercase(), l.clone());
            }
        }
        for s in &config.sources {
            if let Some(l) = &s.language {
                languages.insert(s.name.to_lowercase(), l.clone());
            }
        }
        let mut topics = config.topics.clone();
        // A source naming a topic is one of that topic's sources.
        for s in &config.sources {
            for slug in &s.topics {
                if let Some(t) = topics.iter_mut().find(|t| &t.slug == slug) {
                    t.sources.push(s.name.clone());
                }
            }
        }
        let filters: Vec<_> =
            config.sources.iter().map(|s| (s.name.as_str(), &s.parsed, s.include.as_deref(), s.exclude.as_deref(), s.max_age)).collect();
        TopicRules::compile(&topics, &filters, config.matching.fold_accents, languages, &config.publish.language)
    }

    #[allow(clippy::type_complexity)]
    fn compile(
        topics: &[TopicConfig],
        filters: &[(&str, &ParsedQueries, Option<&str>, Option<&str>, Option<std::time::Duration>)],
        fold: bool,
        languages: HashMap<String, String>,
        default_language: &str,
    ) -> TopicRules {
        let mut set = QuerySetBuilder::new(fold);
        let mut rule = |q: &Option<query::Query>, text: Option<&str>| {
            let parsed = match (q, text) {
                (Some(q), _) => Some(q.clone()),
                // Built without loading a config (tests): parse here.
                (None, Some(t)) => query::parse(t).ok(),
                (None, None) => None,
            };
            parsed.map(|q| Rule { id: set.add(&q), text: text.map_or_else(|| q.to_string(), str::to_owned) })
        };
        let mut compiled = Vec::with_capacity(topics.len());
        for t in topics {
            let query = rule(&t.parsed.include, t.query.as_deref());
            let exclude = rule(&t.parsed.exclude, t.exclude.as_deref());
            compiled.push((t, query, exclude));
        }
        let mut source_filters = HashMap::new();
        for (name, parsed, include, exclude, max_age) in filters {
            let filter = SourceFilter {
                include: rule(&parsed.include, *include),
                exclude: rule(&parsed.exclude, *exclude),
                max_age: max_age.and_then(|d| chrono::Duration::from_std(d).ok()),
            };
            source_filters.insert(name.to_lowercase(), filter);
        }
        let topics = compiled
            .into_iter()
            .map(|(t, query, exclude)| CompiledTopic {
                slug: t.slug.clone(),
                keywords: (!t.keywords.is_empty()).then(|| set.add_any_words(&t.keywords)),
                categories: t.categories.iter().map(|c| c.trim().to_lowercase()).collect(),
                sources: t.sources.iter().map(|s| s.trim().to_lowercase()).collect(),
                query,
                exclude,
            })
            .collect();
        TopicRules { set: set.build(), topics, filters: source_filters, languages, default_language: default_language.to_owned() }
    }

    /// The language `lang:` sees for a story: its source's `language`, else
    /// the site's.
    pub fn language_of(&self, story: &Story) -> &str {
        self.languages.get(&story.source.to_lowercase()).map_or(&self.default_language, String::as_str)
    }

    fn scan<'a>(&'a self, story: &'a Story) -> Scan<'a> {
        self.set.scan(self.set.prepare(story, self.language_of(story)))
    }

    /// Adds the slug of every matching topic to `story.topics`.
    pub fn assign(&self, story: &mut Story) {
        let found = self.matching(story);
        story.topics.extend(found);
    }

    /// Slugs of the topics `story` matches and does not already have.
    pub fn matching(&self, story: &Story) -> Vec<String> {
        self.decide(story, &story.topics)
    }

    /// Slugs of every topic the rules put `story` in, whatever topics it
    /// has already.
    pub fn rule_topics(&self, story: &Story) -> Vec<String> {
        self.decide(story, &[])
    }

    fn decide(&self, story: &Story, already: &[String]) -> Vec<String> {
        let source = story.source.to_lowercase();
        let categories: Vec<String> = story.categories.iter().map(|c| c.to_lowercase()).collect();
        let mut scan: Option<Scan<'_>> = None;
        let mut found = Vec::new();
        for topic in &self.topics {
            if already.contains(&topic.slug) {
                continue;
            }
            let mut test = |id: QueryId| self.set.matches(id, scan.get_or_insert_with(|| self.scan(story)));
            let included = topic.sources.contains(&source)
                || categories.iter().any(|c| topic.categories.contains(c))
                || topic.keywords.is_some_and(&mut test)
                || topic.query.as_ref().is_some_and(|q| test(q.id));
            if included && !topic.exclude.as_ref().is_some_and(|q| test(q.id)) {
                found.push(topic.slug.clone());
            }
        }
        found
    }

    /// Whether a source keeps an entry (`include`, `exclude`, `max_age` of
    /// its `[[sources]]` entry); sources without filters keep everything.
    pub fn admit(&self, story: &Story, now: DateTime<Utc>) -> Result<(), Rejection> {
        let Some(filter) = self.filters.get(&story.source.to_lowercase()) else { return Ok(()) };
        if let Some(age) = filter.max_age
            && story.published < now - age
        {
            return Err(Rejection::TooOld(age.to_std().unwrap_or_default()));
        }
        if filter.include.is_none() && filter.exclude.is_none() {
            return Ok(());
        }
        let mut scan = self.scan(story);
        if let Some(q) = &filter.include
            && !self.set.matches(q.id, &mut scan)
        {
            return Err(Rejection::NotIncluded(q.text.clone()));
        }
        match &filter.exclude {
            Some(q) if self.set.matches(q.id, &mut scan) => Err(Rejection::Excluded(q.text.clone())),
            _ => Ok(()),
        }
    }

    /// For each topic (config order): whether `story` is in it and why.
    /// `story.topics` is what the store holds (front matter and rules at
    /// the time it was stored); the reasons are the rules' now.
    pub fn explain(&self, story: &Story) -> Vec<(String, Verdict)> {
        let source = story.source.to_lowercase();
        let mut scan = self.scan(story);
        let mut out = Vec::new();
        for topic in &self.topics {
            let mut reasons = Vec::new();
            if topic.sources.contains(&source) {
                reasons.push(format!("source {:?}", story.source));
            }
            if let Some(c) = story.categories.iter().find(|c| topic.categories.contains(&c.to_lowercase())) {
                reasons.push(format!("category {c:?}"));
            }
            if let Some(hits) = topic.keywords.and_then(|id| self.set.explain(id, &mut scan)) {
                reasons.push(format!("keyword {}", describe(&hits)));
            }
            if let Some(hits) = topic.query.as_ref().and_then(|q| self.set.explain(q.id, &mut scan)) {
                reasons.push(format!("query '{}': {}", topic.query.as_ref().map_or("", |q| &q.text), describe(&hits)));
            }
            let excluded = topic.exclude.as_ref().filter(|q| self.set.matches(q.id, &mut scan));
            let named = story.topics.contains(&topic.slug);
            let verdict = match (reasons.is_empty(), excluded) {
                (false, None) => Verdict::In(reasons),
                (_, Some(q)) if named => Verdict::In(vec![format!("named by the story itself (the rules say: excluded by '{}')", q.text)]),
                (_, Some(q)) => Verdict::Out(format!("excluded by '{}'", q.text)),
                (true, None) if named => Verdict::In(vec!["named by the story itself".into()]),
                (true, None) => Verdict::Out("no rule matches".into()),
            };
            out.push((topic.slug.clone(), verdict));
        }
        out
    }
}

#[cfg(test)]
mod tests;
