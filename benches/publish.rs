//! Writing one channel of 10,000 stories in each format, building the
//! output from the model included (issue target: ≥150k items/s for RSS and
//! Atom, ≥300k for JSON Feed on the 2-core reference machine).
//!
//! The stories are synthetic but shaped like real news: ~1.5 KB of HTML
//! content, a summary, two authors, categories, half with an image.

use chrono::{Duration, TimeZone, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use wirefeed::Config;
use wirefeed::model::{Image, Story, StoryDraft};
use wirefeed::publish::{self, Site};

const ITEMS: usize = 10_000;

// The same allocator as the `wirefeed` binary, so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn stories() -> Vec<Story> {
    let start = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    (0..ITEMS)
        .map(|i| {
            let paragraph = format!("<p>Paragraph about event {i} with <a href=\"https://example.org/{i}\">a link</a>, some <em>emphasis</em> &amp; detail that runs for a while as news copy does.</p>");
            StoryDraft {
                title: format!("Story number {i}: officials meet to discuss the budget"),
                content: paragraph.repeat(8),
                link: Some(format!("https://news.example.org/2024/story-{i}")),
                image: (i % 2 == 0).then(|| Image {
                    url: Some(format!("https://img.example.org/{i}.jpg")),
                    caption: Some(format!("Caption of picture {i}")),
                    credit: Some("Agency".into()),
                }),
                authors: vec!["Ana Ruiz".into(), "Bo Li".into()],
                categories: vec!["World".into(), "Politics".into()],
                published: Some(start + Duration::minutes(i as i64)),
                source: "Bench".into(),
                ..Default::default()
            }
            .normalize(start)
            .unwrap()
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let config = Config::from_toml(
        &format!("[publish]\ntitle = \"Bench\"\nbase_url = \"https://feeds.example.org/\"\nmax_items = {ITEMS}\n"),
        std::path::Path::new("wirefeed.toml"),
    )
    .unwrap();
    let stories = stories();
    let site = Site::from_config(&config);
    let channels = publish::channels(&config, &stories);
    let all = &channels[0];
    assert_eq!(all.stories.len(), ITEMS);
    let mut group = c.benchmark_group("publish_10k");
    group.throughput(Throughput::Elements(ITEMS as u64));
    group.sample_size(20);
    group.bench_function("rss", |b| b.iter(|| black_box(publish::rss::render(&site, all))));
    group.bench_function("atom", |b| b.iter(|| black_box(publish::atom::render(&site, all))));
    group.bench_function("jsonfeed", |b| b.iter(|| black_box(publish::jsonfeed::render(&site, all))));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
