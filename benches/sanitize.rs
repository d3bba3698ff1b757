//! HTML sanitizing on its own (MB/s of input HTML): the cost paid once per
//! new or changed story. The input mixes ordinary article markup with the
//! hostile bits real feeds carry (scripts, handlers, javascript: links,
//! relative URLs to resolve).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use url::Url;
use wirefeed::model::sanitize::sanitize_html;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn article(i: usize) -> String {
    let mut html = String::new();
    for p in 0..8 {
        html.push_str(&format!(
            "<p class=\"lead\" onclick=\"track({i})\">Paragraph {p} of story {i}, with <a href=\"/news/{i}/{p}\">a relative link</a>, \
             <em>emphasis</em>, <strong>strong words</strong> &amp; an entity, and <a href=\"javascript:alert(1)\">a trap</a>.</p>\n"
        ));
    }
    html.push_str(&format!(
        "<figure><img src=\"img/{i}.jpg\" alt=\"photo\" onerror=\"x()\"><figcaption>Caption {i}</figcaption></figure>\n"
    ));
    html.push_str("<script>document.write('ad')</script><iframe src=\"https://ads.example/\"></iframe><ul><li>one</li><li>two</li></ul>\n");
    html
}

fn bench(c: &mut Criterion) {
    let docs: Vec<String> = (0..200).map(article).collect();
    let bytes: usize = docs.iter().map(String::len).sum();
    let base = Url::parse("https://news.example.org/section/story").unwrap();
    let mut g = c.benchmark_group("sanitize");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("200_articles", |b| b.iter(|| docs.iter().map(|d| black_box(sanitize_html(d, Some(&base))).len()).sum::<usize>()));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
