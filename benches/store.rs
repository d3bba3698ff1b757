//! The store's two hot paths (issue 4 targets, 2-core reference machine):
//!
//! - `store_insert/100k`: 100,000 new stories stored in one-source-turn
//!   transactions of 1,000 through `Store::apply` (target ≥ 50,000/s);
//! - `store_channels/{10k,100k,1m}`: with that many stories stored, the 100
//!   topic channels of 50 items each read back with `Store::channel` and
//!   rendered in the three formats as `build::publish_from_store` does
//!   (target < 1 s at 1M, and flat across the sizes).
//!
//! Stories are synthetic but news-sized: ~1.5 KB of HTML, a summary, two
//! authors, one or two of 100 topics. Each database of the channel
//! benchmark is filled once (1M takes a while: the time is printed) in a
//! temporary folder and reused by every iteration.

use chrono::{DateTime, Duration, TimeZone, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::Path;
use std::time::Instant;
use wirefeed::Config;
use wirefeed::model::Story;
use wirefeed::model::id::{IdBasis, story_id};
use wirefeed::publish;
use wirefeed::store::sources::SourceKind;
use wirefeed::store::stories::{Batch, Retention};
use wirefeed::store::{Entry, SourceState, Store};

// The same allocator as the `wirefeed` binary, so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TOPICS: usize = 100;
const PER_CHANNEL: usize = 50;
const INSERT_TOTAL: usize = 100_000;
const INSERT_BATCH: usize = 1_000;

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap()
}

fn topic(i: usize) -> String {
    format!("t{i:02}")
}

/// Story number `n` (any n gives a distinct id and link).
fn story(n: usize) -> Story {
    let paragraph = format!(
        "<p>Paragraph about event {n} with <a href=\"https://example.org/{n}\">a link</a>, some <em>emphasis</em> &amp; detail that runs for a while as news copy does.</p>"
    );
    let link = format!("https://news.example.org/2024/story-{n}");
    let mut topics = vec![topic(n % TOPICS)];
    if n.is_multiple_of(3) {
        topics.push(topic((n / 7 + 1) % TOPICS));
        topics.dedup();
    }
    Story {
        id: story_id(IdBasis::Link(&link)),
        title: format!("Story number {n}: officials meet to discuss the budget"),
        summary: Some(format!("Officials met on day {n} to discuss the budget and little else.")),
        content: paragraph.repeat(8),
        image: None,
        authors: vec!["Ana Ruiz".into(), "Bo Li".into()],
        categories: vec!["World".into(), "Politics".into()],
        topics,
        published: start() + Duration::seconds(n as i64 * 30),
        updated: None,
        link: Some(link),
        source: "Bench".into(),
        attachments: vec![],
        origin: None,
        sanitized: None,
    }
}

fn entries(from: usize, count: usize) -> Vec<Entry> {
    (from..from + count).map(|n| Entry { hash: entry_hash(n), story: story(n), file: None }).collect()
}

/// Any stable per-entry number serves as the source's hash here.
fn entry_hash(n: usize) -> u64 {
    (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

fn retention() -> Retention {
    // Nothing is old enough to prune: the benchmark measures storing.
    Retention { keep_days: 365 * 100, max_items: PER_CHANNEL, topics: (0..TOPICS).map(topic).collect(), ..Default::default() }
}

/// Stores `batches`, each as one source's turn; returns the stories stored.
fn fill(store: &mut Store, batches: Vec<Vec<Entry>>) -> usize {
    batches.into_iter().enumerate().map(|(i, entries)| fill_one(store, i, entries)).sum()
}

fn open(dir: &Path) -> Store {
    Store::open_at(&dir.join("state.db"), std::time::Duration::from_secs(5)).unwrap()
}

fn insert(c: &mut Criterion) {
    let mut group = c.benchmark_group("store_insert");
    group.throughput(Throughput::Elements(INSERT_TOTAL as u64));
    group.sample_size(10);
    group.warm_up_time(std::time::Duration::from_secs(1));
    group.bench_function("100k", |b| {
        b.iter_custom(|iters| {
            let mut total = std::time::Duration::ZERO;
            for _ in 0..iters {
                let dir = tempfile::tempdir().unwrap();
                let mut store = open(dir.path());
                let batches: Vec<Vec<Entry>> = (0..INSERT_TOTAL / INSERT_BATCH).map(|i| entries(i * INSERT_BATCH, INSERT_BATCH)).collect();
                let t = Instant::now();
                let stored = fill(&mut store, batches);
                total += t.elapsed();
                assert_eq!(stored, INSERT_TOTAL);
            }
            total
        })
    });
    group.finish();
}

fn config(output: &Path) -> Config {
    let mut text = format!(
        "[publish]\ntitle = \"Bench\"\nbase_url = \"https://feeds.example.org/\"\nmax_items = {PER_CHANNEL}\noutput_dir = \"{}\"\n",
        output.display()
    );
    for i in 0..TOPICS {
        text.push_str(&format!("[[topics]]\nslug = \"{0}\"\ntitle = \"Topic {0}\"\nkeywords = [\"{0}\"]\n", topic(i)));
    }
    Config::from_toml(&text, &output.join("wirefeed.toml")).unwrap()
}

/// A store holding `size` stories, filled in turns of 10,000.
fn filled(dir: &Path, size: usize) -> Store {
    let mut store = open(dir);
    let t = Instant::now();
    let turn = 10_000.min(size);
    for first in (0..size).step_by(turn) {
        // One source per turn, handed over one at a time to bound memory.
        let stored = fill_one(&mut store, first / turn, entries(first, turn));
        assert_eq!(stored, turn);
    }
    let bytes = std::fs::metadata(dir.join("state.db")).map(|m| m.len()).unwrap_or(0);
    eprintln!("filled a store of {size} stories in {:.1} s ({} MB)", t.elapsed().as_secs_f64(), bytes >> 20);
    store
}

/// One source's turn: its state and `entries`, in one transaction.
fn fill_one(store: &mut Store, i: usize, entries: Vec<Entry>) -> usize {
    let retention = retention();
    let now = Utc::now();
    let url = format!("https://feeds.example.org/{i}.rss");
    let pk = store.source_pk(&format!("source-{i}"), SourceKind::Feed, &url).unwrap();
    let state = SourceState { url, last_fetch: Some(now), ..Default::default() };
    let seen: Vec<u64> = entries.iter().map(|e| e.hash).collect();
    store
        .apply(Batch { source_pk: pk, state: &state, entries, seen: &seen, retract_unseen: false, dropped: vec![] }, &retention, now)
        .unwrap()
        .new
}

/// Reads the 100 topic channels and renders them in every format.
fn regenerate(store: &Store, config: &Config) -> usize {
    let stored: Vec<_> = (0..TOPICS).map(|i| store.channel(Some(&topic(i)), PER_CHANNEL).unwrap()).collect();
    // `channel_list` wants the merged channel first: leave it empty.
    let mut lists: Vec<Vec<&Story>> = vec![Vec::new()];
    lists.extend(stored.iter().map(|list| list.iter().map(|s| &s.story).collect()));
    let channels = publish::channel_list(config, lists);
    let files = publish::render(config, &channels, |c| c.slug.is_none());
    files.iter().map(|(_, bytes)| bytes.len()).sum()
}

fn channels(c: &mut Criterion) {
    let sizes: &[(usize, &str)] = match std::env::var("STORE_BENCH_SIZES").ok().as_deref() {
        // For a quick look while developing: STORE_BENCH_SIZES=small.
        Some("small") => &[(10_000, "10k")],
        _ => &[(10_000, "10k"), (100_000, "100k"), (1_000_000, "1m")],
    };
    let mut group = c.benchmark_group("store_channels");
    group.throughput(Throughput::Elements((TOPICS * PER_CHANNEL) as u64));
    group.sample_size(20);
    group.warm_up_time(std::time::Duration::from_secs(1));
    for &(size, label) in sizes {
        let dir = tempfile::tempdir().unwrap();
        let store = filled(dir.path(), size);
        let config = config(dir.path());
        // Every channel is full: the figure is for 100 × 50 items.
        let first = regenerate(&store, &config);
        assert!(first > 0);
        for i in 0..TOPICS {
            assert_eq!(store.channel(Some(&topic(i)), PER_CHANNEL).unwrap().len(), PER_CHANNEL);
        }
        group.bench_function(label, |b| b.iter(|| black_box(regenerate(&store, &config))));
        drop(store);
    }
    group.finish();
}

criterion_group!(benches, insert, channels);
criterion_main!(benches);
