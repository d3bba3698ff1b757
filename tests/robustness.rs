//! The parser must never panic or overflow its stack, whatever the bytes:
//! feeds come from strangers. Every fixture is also parsed after
//! deterministic damage (truncation, flipped bytes, stray markup), and a few
//! hostile documents check that no input costs unbounded time or memory.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use wirefeed::ingest::parse::{ParseContext, parse_feed};

fn fixtures(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("fixture folder") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            fixtures(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Small deterministic PRNG (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self, below: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % below.max(1) as u64) as usize
    }
}

fn damaged(data: &[u8], rng: &mut Rng) -> Vec<Vec<u8>> {
    let n = data.len();
    let mut out = vec![data[..n / 3].to_vec(), data[..2 * n / 3].to_vec()];
    let mut flipped = data.to_vec();
    for _ in 0..8 {
        if n > 0 {
            let i = rng.next(n);
            flipped[i] ^= 1 << rng.next(8);
        }
    }
    out.push(flipped);
    let mut stray = data.to_vec();
    for junk in [&b"<"[..], b"&", b"</x>", b"<![CDATA[", b"&#xD800;", b"\xff\xfe"] {
        let i = rng.next(stray.len() + 1);
        stray.splice(i..i, junk.iter().copied());
    }
    out.push(stray);
    out
}

#[test]
fn damaged_fixtures_never_panic() {
    damage_rounds(1);
}

/// A longer search: `WIREFEED_FUZZ_ROUNDS=50 cargo test --release --test
/// robustness -- --ignored`.
#[test]
#[ignore = "long fuzz (minutes): run with `cargo test --release --test robustness -- --ignored`"]
fn damaged_fixtures_many_rounds() {
    let rounds = std::env::var("WIREFEED_FUZZ_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(20);
    damage_rounds(rounds);
}

fn damage_rounds(rounds: u64) {
    let mut files = Vec::new();
    fixtures(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/conformance/feedparser"), &mut files);
    let data: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).expect("readable")).collect();
    for round in 0..rounds {
        damage_once(&files, &data, 0x9E37_79B9_7F4A_7C15 ^ round.wrapping_mul(0x2545_F491_4F6C_DD1D));
    }
}

fn damage_once(files: &[PathBuf], data: &[Vec<u8>], seed: u64) {
    let mut rng = Rng(seed | 1);
    let ctx = ParseContext { base_url: None, content_type: Some("text/xml".into()) };
    let mut panics = Vec::new();
    for (f, data) in files.iter().zip(data) {
        for (i, doc) in damaged(data, &mut rng).iter().enumerate() {
            if catch_unwind(AssertUnwindSafe(|| parse_feed(doc, &ctx))).is_err() {
                panics.push(format!("{} (seed {seed}, damage {i})", f.display()));
            }
        }
    }
    assert!(panics.is_empty(), "panicked on {panics:?}");
}

fn parse_quickly(doc: &[u8]) -> Result<wirefeed::ingest::parse::ParsedFeed, wirefeed::ingest::parse::ParseError> {
    let start = Instant::now();
    let r = parse_feed(doc, &ParseContext::default());
    assert!(start.elapsed() < Duration::from_secs(5), "took {:?}", start.elapsed());
    r
}

#[test]
fn entity_bombs_are_inert() {
    let mut doc = String::from("<?xml version=\"1.0\"?><!DOCTYPE rss [<!ENTITY a0 \"lol\">");
    for i in 1..10 {
        let prev = format!("&a{};", i - 1);
        doc.push_str(&format!("<!ENTITY a{i} \"{}\">", prev.repeat(10)));
    }
    doc.push_str("]><rss version=\"2.0\"><channel><title>&a9;</title></channel></rss>");
    let f = parse_quickly(doc.as_bytes()).unwrap();
    assert_eq!(f.title.as_deref(), Some("&a9;"), "entity kept literally, not expanded");
}

#[test]
fn deep_nesting_does_not_overflow_the_stack() {
    let n = 200_000;
    let nest = |open: &str, close: &str| format!("{}{}", open.repeat(n), close.repeat(n));
    let media = r#"xmlns:media="http://search.yahoo.com/mrss/""#;
    let itunes = r#"xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd""#;
    let docs = [
        format!("<rss><channel><item><title>t</title>{}</item></channel></rss>", nest("<a>", "</a>")),
        format!("<rss {media}><channel><item>{}</item></channel></rss>", nest("<media:group>", "</media:group>")),
        format!("<rss {itunes}><channel><item>{}</item></channel></rss>", nest("<itunes:category text=\"x\">", "</itunes:category>")),
        format!(
            "<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry><content type=\"xhtml\">{}</content></entry></feed>",
            nest("<div>", "</div>")
        ),
        "<rss><channel><item>".repeat(50_000),
    ];
    for doc in &docs {
        let f = parse_quickly(doc.as_bytes()).unwrap();
        assert!(!f.entries.is_empty());
    }
}

#[test]
fn stray_end_tags_and_namespace_floods_are_linear() {
    let n = 100_000;
    let doc = format!("<rss><channel><item><title>t</title>{}{}</item></channel></rss>", "<a>".repeat(n), "</b>".repeat(n));
    let f = parse_quickly(doc.as_bytes()).unwrap();
    assert!(f.bozo);
    let decls: String = (0..n).map(|i| format!("<x xmlns:p{i}=\"urn:{i}\">")).collect();
    let doc = format!("<rss><channel><item><title>t</title>{decls}<p1:y/><z/></item></channel></rss>");
    assert!(parse_quickly(doc.as_bytes()).unwrap().bozo);
}

#[test]
fn many_attributes_and_long_names_are_linear() {
    let attrs: String = (0..100_000).map(|i| format!(" a{i}=\"{i}\"")).collect();
    // Attributes past `max_attributes` are not read (a note says so);
    // the ones before still are.
    let doc = format!("<rss><channel><item><enclosure url=\"http://e.com/x\"{attrs}/></item></channel></rss>");
    let f = parse_quickly(doc.as_bytes()).unwrap();
    assert_eq!(f.entries[0].enclosures[0].url, "http://e.com/x");
    assert!(f.notes.iter().any(|n| n.contains("max_attributes")), "{:?}", f.notes);
    let long = "x".repeat(1 << 20);
    let _ = parse_quickly(format!("<{long}><{long}/></{long}>").as_bytes());
}
