//! What hostile and oversized inputs cost: time and peak memory.
//!
//! `cargo bench --bench limits` runs every case in a child process of its
//! own (this binary again, with `WIREFEED_LIMITS_CASE` set), so each
//! case's peak resident memory (`VmHWM`) is its own; the input, generated
//! in memory, counts towards it, as a fetched body would. A plain harness
//! rather than criterion: one run of a multi-second case is the figure,
//! and criterion cannot report memory.
//!
//! Two tables: the hostile 16 MiB feeds of issue 14 (parse, then
//! normalize and sanitize every entry, as `build` does), and each path
//! that must stay linear at 1×, 10× and 100× its input. The README's
//! Limits section holds the figures.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use chrono::Utc;
use wirefeed::ingest::parse::{ParseContext, parse_feed};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const MIB16: usize = 16 << 20;

fn pad(mut s: String, unit: &str, close: &str) -> String {
    while s.len() + unit.len() + close.len() < MIB16 {
        s.push_str(unit);
    }
    s + close
}

fn rss(items: &str) -> String {
    format!(r#"<rss version="2.0"><channel><title>Feed</title>{items}</channel></rss>"#)
}

fn hostile(name: &str) -> String {
    match name {
        "deep nesting" => {
            let n = (MIB16 - 200) / 7;
            rss(&format!("<item><title>t</title><guid>a</guid>{}{}</item>", "<a>".repeat(n), "</a>".repeat(n)))
        }
        "15 MB title" => rss(&format!("<item><guid>a</guid><title>{}</title></item>", "é".repeat(7_500_000))),
        "a million tiny entries" => pad(String::from(r#"<rss version="2.0"><channel>"#), "<item/>", "</channel></rss>"),
        "thousands of attributes" => pad(
            String::from(r#"<rss version="2.0"><channel><item><guid>a</guid><title>t</title><enclosure url="http://e.com/a.mp3""#),
            r#" x="1""#,
            "/></item></channel></rss>",
        ),
        "billion laughs" => {
            let mut d = String::from(r#"<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY lol "lol">"#);
            for i in 1..10 {
                let prev = if i == 1 { "&lol;".to_owned() } else { format!("&lol{};", i - 1) };
                d.push_str(&format!(r#"<!ENTITY lol{i} "{}">"#, prev.repeat(10)));
            }
            d.push_str(r#"]><rss version="2.0"><channel><item><title>&lol9;</title><guid>a</guid></item>"#);
            let item = "<item><title>&lol9;&lol9;&lol9;</title></item>";
            pad(d, item, "</channel></rss>")
        }
        "escaped HTML 16 MiB deep" => {
            let n = (MIB16 - 200) / 23;
            rss(&format!(
                "<item><title>t</title><guid>a</guid><description>{}x{}</description></item>",
                "&lt;div&gt;".repeat(n),
                "&lt;/div&gt;".repeat(n)
            ))
        }
        "deep JSON nesting" => {
            let n = (MIB16 - 200) / 2;
            format!(
                r#"{{"version":"https://jsonfeed.org/version/1.1","items":[{{"id":"a","title":"t","_x":{}{}}}]}}"#,
                "[".repeat(n),
                "]".repeat(n)
            )
        }
        _ => unreachable!("{name}"),
    }
}

const HOSTILE: [&str; 7] = [
    "deep nesting",
    "15 MB title",
    "a million tiny entries",
    "thousands of attributes",
    "billion laughs",
    "escaped HTML 16 MiB deep",
    "deep JSON nesting",
];

/// Parses and normalizes a feed as `build` does for a new source.
fn ingest(doc: &[u8]) -> usize {
    let feed = parse_feed(doc, &ParseContext::default()).expect("parses");
    let now = Utc::now();
    feed.entries.into_iter().filter_map(|e| e.into_draft("bench", None).normalize(now).ok()).count()
}

/// The linear paths, each at three sizes.
const LINEAR: [(&str, [usize; 3]); 6] = [
    ("escaped HTML nested N deep (parse + sanitize)", [1_000, 10_000, 100_000]),
    ("Atom xhtml nested N deep (parse + sanitize)", [1_000, 10_000, 100_000]),
    ("build from a feed of N tiny entries", [10_000, 100_000, 1_000_000]),
    ("OPML import of N outlines", [1_000, 10_000, 100_000]),
    ("OPML import of N nested folders", [500, 5_000, 50_000]),
    ("build with a Markdown story of N tags", [1_000, 10_000, 100_000]),
];

fn build_site(dir: &Path, extra: &str) -> usize {
    let config = format!("[publish]\ntitle = \"t\"\nbase_url = \"https://e.example/\"\n{extra}");
    std::fs::write(dir.join("wirefeed.toml"), config).unwrap();
    let config = wirefeed::Config::load(&dir.join("wirefeed.toml")).unwrap();
    let report = wirefeed::build(&config).expect("builds");
    report.sources.len()
}

/// CPU seconds (user + system) this process has used so far, from
/// `/proc/self/stat` (1/100 s ticks). On a machine shared with other
/// work, wall time grows with the load; CPU time much less.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<f64> =
        stat.rsplit_once(')').map_or("", |(_, rest)| rest).split_whitespace().map(|f| f.parse().unwrap_or(0.0)).collect();
    // utime and stime: fields 14 and 15 of the line, 12 and 13 after `)`.
    (fields.get(11).unwrap_or(&0.0) + fields.get(12).unwrap_or(&0.0)) / 100.0
}

/// Runs one linear case at size `n`; returns the seconds of the work
/// alone (input generation excluded): wall, then CPU.
fn linear(case: &str, n: usize) -> (f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    type Run = Box<dyn Fn(&[u8])>;
    let (doc, run): (Vec<u8>, Run) = match case {
        c if c.starts_with("escaped HTML") => (
            rss(&format!("<item><title>t</title><guid>a</guid><description>{}x{}</description></item>", "&lt;div&gt;".repeat(n), "&lt;/div&gt;".repeat(n)))
                .into_bytes(),
            Box::new(|d| assert_eq!(ingest(d), 1)),
        ),
        c if c.starts_with("Atom xhtml") => (
            format!(
                r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>f</title><entry><id>a</id><title>t</title><content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">{}x{}</div></content></entry></feed>"#,
                "<div>".repeat(n),
                "</div>".repeat(n)
            )
            .into_bytes(),
            Box::new(|d| assert_eq!(ingest(d), 1)),
        ),
        c if c.starts_with("build from a feed") => {
            let items: String = (0..n).map(|i| format!("<item><title>t{i}</title><guid>g{i}</guid></item>")).collect();
            std::fs::write(dir.path().join("feed.xml"), rss(&items)).unwrap();
            let path = dir.path().to_owned();
            (Vec::new(), Box::new(move |_| assert_eq!(build_site(&path, "[[sources]]\nname = \"s\"\nurl = \"feed.xml\"\n"), 1)))
        }
        c if c.starts_with("OPML import of N outlines") => (
            format!(
                r#"<opml version="2.0"><body>{}</body></opml>"#,
                (0..n).map(|i| format!(r#"<outline text="Feed" xmlUrl="http://e.example/{i}.xml"/>"#)).collect::<String>()
            )
            .into_bytes(),
            Box::new(opml_import),
        ),
        c if c.starts_with("OPML import of N nested") => (
            format!(
                r#"<opml version="2.0"><body>{}{}</body></opml>"#,
                (0..n).map(|i| format!(r#"<outline text="d{i}"><outline text="f{i}" xmlUrl="http://e.example/{i}.xml"/>"#)).collect::<String>(),
                "</outline>".repeat(n)
            )
            .into_bytes(),
            Box::new(opml_import),
        ),
        c if c.starts_with("build with a Markdown") => {
            let tags = (0..n).map(|i| format!("\"tag{i}\"")).collect::<Vec<_>>().join(", ");
            std::fs::create_dir(dir.path().join("stories")).unwrap();
            std::fs::write(dir.path().join("stories/a.md"), format!("+++\ntitle = \"Hi\"\ndate = 2024-01-01\ntags = [{tags}]\n+++\n\nBody.\n"))
                .unwrap();
            let path = dir.path().to_owned();
            (
                Vec::new(),
                Box::new(move |_| {
                    build_site(&path, "[[stories]]\npath = \"stories\"\nsource = \"News\"\n[[topics]]\nslug = \"x\"\ntitle = \"X\"\nquery = \"category:tag5\"\n");
                }),
            )
        }
        _ => unreachable!("{case}"),
    };
    let (start, cpu) = (Instant::now(), cpu_seconds());
    run(&doc);
    (start.elapsed().as_secs_f64(), cpu_seconds() - cpu)
}

fn opml_import(doc: &[u8]) {
    let feeds = wirefeed::ingest::opml::parse(doc).expect("OPML parses");
    let base = "[publish]\ntitle = \"t\"\nbase_url = \"https://e.example/\"\n";
    let (text, _) = wirefeed::ingest::opml::import_into(base, &feeds).expect("imports");
    wirefeed::Config::from_toml(&text, Path::new("/tmp/wirefeed.toml")).expect("a config that loads");
}

/// Peak resident memory of this process so far, MB.
fn peak_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 =
        status.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.split_whitespace().next()?.parse().ok()).unwrap_or(0.0);
    kb / 1024.0
}

/// In the child: runs the case named by the environment, prints
/// "seconds cpu_seconds peak_mb".
fn child(case: &str) {
    let (name, n) = case.split_once('|').unwrap();
    let (secs, cpu) = match n.parse::<usize>() {
        Ok(n) => linear(name, n),
        Err(_) => {
            let doc = hostile(name);
            assert!(doc.len() <= MIB16);
            let (start, cpu) = (Instant::now(), cpu_seconds());
            std::hint::black_box(ingest(doc.as_bytes()));
            (start.elapsed().as_secs_f64(), cpu_seconds() - cpu)
        }
    };
    println!("{secs} {cpu} {}", peak_mb());
}

/// One case in a child process: (wall s, CPU s, peak MB).
fn run_child(case: &str) -> (f64, f64, f64) {
    let out = Command::new(std::env::current_exe().unwrap()).env("WIREFEED_LIMITS_CASE", case).output().expect("child runs");
    assert!(out.status.success(), "{case}: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let mut it = text.split_whitespace().map(|x| x.parse::<f64>().unwrap());
    (it.next().unwrap(), it.next().unwrap(), it.next().unwrap())
}

fn main() {
    if let Ok(case) = std::env::var("WIREFEED_LIMITS_CASE") {
        return child(&case);
    }
    // `cargo bench` passes `--bench`; a filter word picks cases.
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with("--"));
    let wanted = |name: &str| filter.as_deref().is_none_or(|f| name.contains(f));
    println!("hostile 16 MiB feeds: parse + normalize every entry");
    println!("| input | time | CPU | peak RSS |\n|---|---:|---:|---:|");
    for name in HOSTILE.into_iter().filter(|n| wanted(n)) {
        let (secs, cpu, mb) = run_child(&format!("{name}|-"));
        println!("| {name} | {secs:.3} s | {cpu:.2} s | {mb:.0} MB |");
    }
    println!("\nlinear paths at 1x, 10x, 100x");
    println!("| path | N | time | CPU | peak RSS |\n|---|---:|---:|---:|---:|");
    for (name, sizes) in LINEAR.into_iter().filter(|(n, _)| wanted(n)) {
        for n in sizes {
            let (secs, cpu, mb) = run_child(&format!("{name}|{n}"));
            println!("| {name} | {n} | {secs:.3} s | {cpu:.2} s | {mb:.0} MB |");
        }
    }
}
