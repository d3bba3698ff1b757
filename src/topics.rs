//! Topic channels: which stories go where.
//!
//! A story joins a topic when any rule matches: a keyword or phrase (whole
//! words, any case) in its title, summary or content; one of its
//! categories; or its source. Topics named by the story itself (front
//! matter) are kept as well.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::{Regex, RegexBuilder};

use crate::config::TopicConfig;
use crate::model::Story;
use crate::model::text::html_to_text;

#[derive(Debug)]
struct CompiledTopic {
    slug: String,
    keywords: Option<Regex>,
    categories: Vec<String>,
    sources: Vec<String>,
}

/// The compiled rules of every configured topic.
///
/// ASCII keywords of all topics share one Aho-Corasick automaton, so a
/// story's text is scanned once however many topics there are; keywords
/// with other letters (which need Unicode case folding) use a regex per
/// topic.
#[derive(Debug)]
pub struct TopicRules {
    topics: Vec<CompiledTopic>,
    ascii_keywords: Option<AhoCorasick>,
    /// Per automaton pattern: the topic it belongs to, and whether it starts
    /// and ends with a word character (so needs a word boundary there).
    patterns: Vec<(usize, bool, bool)>,
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn normalize_keyword(k: &str) -> String {
    k.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// One alternation per topic: `\b` only where the keyword itself starts or
/// ends with a word character, so "C++" and "#rust" still match.
fn keyword_pattern(keywords: &[&String]) -> Option<String> {
    let alternatives: Vec<String> = keywords
        .iter()
        .map(|k| k.split_whitespace().map(regex::escape).collect::<Vec<_>>().join(r"\s+"))
        .filter(|k| !k.is_empty())
        .map(|k| {
            let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
            let (pre, post) = (if word(k.chars().next()) { r"\b" } else { "" }, if word(k.chars().last()) { r"\b" } else { "" });
            format!("{pre}(?:{k}){post}")
        })
        .collect();
    (!alternatives.is_empty()).then(|| alternatives.join("|"))
}

impl TopicRules {
    pub fn new(topics: &[TopicConfig]) -> Result<TopicRules, regex::Error> {
        let mut literals = Vec::new();
        let mut patterns = Vec::new();
        let mut compiled = Vec::with_capacity(topics.len());
        for (i, t) in topics.iter().enumerate() {
            let (ascii, other): (Vec<&String>, Vec<&String>) = t.keywords.iter().partition(|k| k.is_ascii());
            for k in ascii {
                let k = normalize_keyword(k);
                let (first, last) = (k.chars().next(), k.chars().next_back());
                patterns.push((i, first.is_some_and(is_word), last.is_some_and(is_word)));
                literals.push(k);
            }
            let keywords = match keyword_pattern(&other) {
                Some(p) => Some(RegexBuilder::new(&p).case_insensitive(true).size_limit(50 << 20).build()?),
                None => None,
            };
            compiled.push(CompiledTopic {
                slug: t.slug.clone(),
                keywords,
                categories: t.categories.iter().map(|c| c.trim().to_lowercase()).collect(),
                sources: t.sources.iter().map(|s| s.trim().to_lowercase()).collect(),
            });
        }
        let ascii_keywords = (!literals.is_empty()).then(|| {
            AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::Standard)
                .build(&literals)
                .expect("literal keywords always compile")
        });
        Ok(TopicRules { topics: compiled, ascii_keywords, patterns })
    }

    /// Topics (by index) whose ASCII keywords occur in `text` as whole words.
    fn ascii_hits(&self, text: &str) -> Vec<bool> {
        let mut hit = vec![false; self.topics.len()];
        let Some(ac) = &self.ascii_keywords else { return hit };
        for m in ac.find_overlapping_iter(text) {
            let (topic, start_word, end_word) = self.patterns[m.pattern().as_usize()];
            if hit[topic] {
                continue;
            }
            let before_ok = !start_word || !text[..m.start()].chars().next_back().is_some_and(is_word);
            let after_ok = !end_word || !text[m.end()..].chars().next().is_some_and(is_word);
            hit[topic] = before_ok && after_ok;
        }
        hit
    }

    /// Adds the slug of every matching topic to `story.topics`.
    pub fn assign(&self, story: &mut Story) {
        let found = self.matching(story);
        story.topics.extend(found);
    }

    /// Slugs of the topics `story` matches and does not already have.
    pub fn matching(&self, story: &Story) -> Vec<String> {
        let source = story.source.to_lowercase();
        let mut text: Option<String> = None;
        let mut ascii: Option<Vec<bool>> = None;
        let mut found = Vec::new();
        for (i, topic) in self.topics.iter().enumerate() {
            if story.topics.contains(&topic.slug) {
                continue;
            }
            let by_source = topic.sources.contains(&source);
            let by_category = || story.categories.iter().any(|c| topic.categories.contains(&c.to_lowercase()));
            let mut by_keyword = || {
                let text = text.get_or_insert_with(|| searchable_text(story));
                ascii.get_or_insert_with(|| self.ascii_hits(text))[i] || topic.keywords.as_ref().is_some_and(|re| re.is_match(text))
            };
            if by_source || by_category() || by_keyword() {
                found.push(topic.slug.clone());
            }
        }
        found
    }
}

fn searchable_text(story: &Story) -> String {
    let mut text = String::with_capacity(story.title.len() + story.content.len() + 8);
    text.push_str(&story.title);
    text.push('\n');
    if let Some(s) = &story.summary {
        text.push_str(s);
        text.push('\n');
    }
    text.push_str(&html_to_text(&story.content));
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::StoryDraft;
    use chrono::Utc;

    fn topic(slug: &str, keywords: &[&str], categories: &[&str], sources: &[&str]) -> TopicConfig {
        let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect();
        TopicConfig {
            slug: slug.into(),
            title: slug.into(),
            description: String::new(),
            keywords: v(keywords),
            categories: v(categories),
            sources: v(sources),
            private: false,
        }
    }

    fn story(title: &str, content: &str, categories: &[&str], source: &str) -> Story {
        StoryDraft {
            title: title.into(),
            content: content.into(),
            categories: categories.iter().map(|s| s.to_string()).collect(),
            source: source.into(),
            ..Default::default()
        }
        .normalize(Utc::now())
        .unwrap()
    }

    fn topics_of(rules: &TopicRules, mut s: Story) -> Vec<String> {
        rules.assign(&mut s);
        s.topics
    }

    #[test]
    fn keywords_match_whole_words_in_any_case() {
        let rules = TopicRules::new(&[topic("gaza", &["Gaza"], &[], &[]), topic("iran", &["iran"], &[], &[])]).unwrap();
        assert_eq!(topics_of(&rules, story("News", "<p>The GAZA strip</p>", &[], "x")), vec!["gaza"]);
        // "Iranian" is not the word "Iran".
        assert!(topics_of(&rules, story("Iranian talks", "", &[], "x")).is_empty());
    }

    #[test]
    fn phrases_span_any_whitespace_and_markup() {
        let rules = TopicRules::new(&[topic("ee", &["Eurasian Economic Union"], &[], &[]), topic("cpp", &["C++"], &[], &[])]).unwrap();
        assert_eq!(topics_of(&rules, story("t", "<p>the Eurasian\n <b>Economic</b> Union</p>", &[], "x")), vec!["ee"]);
        assert_eq!(topics_of(&rules, story("Why C++ lasts", "", &[], "x")), vec!["cpp"]);
    }

    #[test]
    fn non_ascii_keywords_fold_case_and_respect_word_boundaries() {
        let rules = TopicRules::new(&[topic("tr", &["Türkiye"], &[], &[]), topic("ai", &["AI"], &[], &[])]).unwrap();
        assert_eq!(topics_of(&rules, story("TÜRKIYE votes", "", &[], "x")), vec!["tr"]);
        assert_eq!(topics_of(&rules, story("Said the AI, twice", "", &[], "x")), vec!["ai"]);
        assert!(topics_of(&rules, story("Maintain the PAID plan", "", &[], "x")).is_empty());
    }

    #[test]
    fn categories_and_sources_match_case_insensitively() {
        let rules = TopicRules::new(&[topic("world", &[], &["World"], &[]), topic("wire", &[], &[], &["AP Wire"])]).unwrap();
        assert_eq!(topics_of(&rules, story("t", "", &["world"], "ap wire")), vec!["world", "wire"]);
        assert!(topics_of(&rules, story("t", "", &["worldly"], "other")).is_empty());
    }
}
