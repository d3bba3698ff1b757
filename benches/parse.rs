//! Parse throughput of wirefeed against feed-rs on the same files, in the
//! same run (numbers move 15-30% between sessions on a shared machine).
//!
//! Inputs come from the shared generator; create them once with
//!     python3 ../shared/tools/bench/gen_feeds.py --standard /tmp/benchdata
//! and point `WIREFEED_BENCH_DATA` elsewhere if you put them elsewhere.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use wirefeed::ingest::parse::{Limits, ParseContext, parse_feed_with};

const FILES: [&str; 4] = ["typical_rss.xml", "typical_atom.xml", "big_rss.xml", "big_atom.xml"];

fn data_dir() -> PathBuf {
    let dir = PathBuf::from(std::env::var("WIREFEED_BENCH_DATA").unwrap_or_else(|_| "/tmp/benchdata".into()));
    if !dir.join(FILES[0]).exists() {
        eprintln!(
            "benchmark data missing in {}: create it with\n    python3 ../shared/tools/bench/gen_feeds.py --standard {}\n(or set WIREFEED_BENCH_DATA to a folder holding {:?})",
            dir.display(),
            dir.display(),
            FILES
        );
        std::process::exit(2);
    }
    dir
}

fn bench(c: &mut Criterion) {
    let dir = data_dir();
    let ctx = ParseContext::default();
    // Every entry of the big files (25,000), not the 10,000 a feed is
    // capped at: the figure is the parser's throughput, comparable with
    // the figures from before the cap.
    let limits = Limits { max_entries: usize::MAX, ..Limits::default() };
    for name in FILES {
        let data = std::fs::read(dir.join(name)).expect("bench file readable");
        let big = data.len() > 10_000_000;
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Bytes(data.len() as u64));
        if big {
            g.sample_size(10).measurement_time(Duration::from_secs(8)).warm_up_time(Duration::from_secs(1));
        } else {
            g.measurement_time(Duration::from_secs(4));
        }
        g.bench_function("wirefeed", |b| {
            b.iter(|| {
                let feed = parse_feed_with(black_box(&data), &ctx, &limits).expect("parses");
                black_box(feed.entries.len())
            })
        });
        g.bench_function("feed-rs", |b| {
            b.iter(|| {
                let feed = feed_rs::parser::parse(black_box(&data[..])).expect("parses");
                black_box(feed.entries.len())
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
