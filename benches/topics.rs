//! Topic matching (issue 10 target: a query topic costs about what a
//! keyword topic costs): 100,000 news-sized stories matched against
//!
//! - `topics/keywords_100`: 100 topics of three keywords each (one a
//!   two-word phrase), the rule wirefeed always had;
//! - `topics/queries_100`: 100 topics of one query each,
//!   `title:(a OR "b c") OR d* -category:sport`: a field on a group, a
//!   phrase, a prefix and a negated category;
//! - `topics/queries_100_regex` (only with `TOPICS_BENCH_REGEX=1`, to
//!   keep the default run under a minute): the same with a regex term in
//!   every tenth query (`/a\d+/`), the one kind of term not in the shared
//!   automaton.
//!
//! One iteration is the whole 100k on one core (`TopicRules::matching`,
//! which prepares each story's text once and scans it once for every
//! topic). Stories are synthetic: words drawn from 4,000 common
//! pseudo-words, ~1.4 KB of HTML each; every other story also carries one
//! of 400 rarer words, which the topics' terms are drawn from, so about
//! one story in four joins a topic.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use wirefeed::Config;
use wirefeed::model::{Story, StoryDraft};
use wirefeed::topics::TopicRules;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const STORIES: usize = 100_000;
const TOPICS: usize = 100;
const VOCABULARY: usize = 4_000;
/// Rarer words, after the common ones: what topics look for.
const RARE: usize = 400;

fn rare(rng: &mut Lcg) -> String {
    word(VOCABULARY + rng.next(RARE))
}

/// A pronounceable pseudo-word for each number.
fn word(n: usize) -> String {
    const SYLLABLES: [&str; 20] =
        ["ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "ze", "po", "da", "fe", "gu", "hi", "jo", "be", "ci", "wa", "xu", "yo"];
    let (a, b, c) = (n % 20, (n / 20) % 20, (n / 400) % 20);
    format!("{}{}{}", SYLLABLES[a], SYLLABLES[b], SYLLABLES[c])
}

/// A small deterministic generator (no dependency for a benchmark).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n
    }

    fn words(&mut self, count: usize) -> String {
        (0..count).map(|_| word(self.next(VOCABULARY))).collect::<Vec<_>>().join(" ")
    }
}

fn stories() -> Vec<Story> {
    let mut rng = Lcg(7);
    let now = chrono::Utc::now();
    (0..STORIES)
        .map(|n| {
            let mut content: String =
                (0..8).map(|_| format!("<p>{} <em>{}</em> {}.</p>", rng.words(12), rng.words(2), rng.words(12))).collect();
            let mut title = rng.words(8);
            match n % 4 {
                0 => title = format!("{title} {}", rare(&mut rng)),
                2 => content = format!("{content}<p>On {}.</p>", rare(&mut rng)),
                _ => {}
            }
            StoryDraft {
                title,
                summary: Some(rng.words(20)),
                content,
                categories: vec![if n % 7 == 0 { "Sport".into() } else { "World".into() }],
                authors: vec!["Ana Ruiz".into()],
                link: Some(format!("https://news.example.org/{n}")),
                source: "Bench".into(),
                ..Default::default()
            }
            .normalize(now)
            .unwrap()
        })
        .collect()
}

/// `[[topics]]` entries: keyword rules, or queries (every tenth with a
/// regex when `regex`).
fn config(kind: &str) -> Config {
    let mut rng = Lcg(11);
    let mut text = String::from("[publish]\ntitle = \"B\"\nbase_url = \"https://x.org/\"\n");
    for i in 0..TOPICS {
        let [a, b, c, d] = [0; 4].map(|_| rare(&mut rng));
        text.push_str(&format!("[[topics]]\nslug = \"t{i}\"\ntitle = \"T{i}\"\n"));
        match kind {
            "keywords" => text.push_str(&format!("keywords = [\"{a}\", \"{b} {c}\", \"{d}\"]\n")),
            _ if kind == "regex" && i % 10 == 0 => {
                text.push_str(&format!("query = 'title:(/{a}\\d+/ OR \"{b} {c}\") OR {d}* -category:sport'\n"))
            }
            _ => text.push_str(&format!("query = 'title:({a} OR \"{b} {c}\") OR {d}* -category:sport'\n")),
        }
    }
    Config::from_toml(&text, std::path::Path::new("/tmp/bench.toml")).unwrap()
}

fn match_all(rules: &TopicRules, stories: &[Story]) -> usize {
    stories.iter().map(|s| rules.matching(s).len()).sum()
}

fn topics(c: &mut Criterion) {
    let stories = stories();
    let mut group = c.benchmark_group("topics");
    group.throughput(Throughput::Elements(STORIES as u64));
    group.sample_size(10);
    group.warm_up_time(std::time::Duration::from_millis(500));
    let mut kinds = vec![("keywords_100", "keywords"), ("queries_100", "queries")];
    if std::env::var_os("TOPICS_BENCH_REGEX").is_some() {
        kinds.push(("queries_100_regex", "regex"));
    }
    for (label, kind) in kinds {
        let rules = TopicRules::from_config(&config(kind));
        let joined = match_all(&rules, &stories);
        eprintln!("{label}: {joined} topic memberships over {STORIES} stories");
        assert!(joined > 0);
        group.bench_function(label, |b| b.iter(|| black_box(match_all(&rules, &stories))));
    }
    group.finish();
}

criterion_group!(benches, topics);
criterion_main!(benches);
