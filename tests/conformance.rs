//! Differential conformance against Python feedparser, without Python.
//!
//! `fixtures/conformance/expected.jsonl` holds feedparser 6.0.14's output
//! for every fixture (made by `feedparser_dump.py --jsonl --fixture-http`),
//! so this test compares field by field the way `compare.py` does and holds
//! the parser to its targets: no crash on any file, at least 98% of fields
//! and 90% of files in agreement. Files where feedparser is known to be wrong
//! are listed, with the reason, in `known-disagreements.txt` and skipped.

use std::collections::{BTreeMap, BTreeSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use serde_json::Value;
use wirefeed::ingest::parse::{ParseContext, conformance_json, fixture_context, parse_feed, unescape_html};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/conformance");
const ENTRY_FIELDS: [&str; 8] = ["id", "title", "link", "published", "updated", "has_summary", "categories", "enclosures"];

fn corpus() -> PathBuf {
    Path::new(ROOT).join("feedparser")
}

/// The HTTP context compare.py gives a fixture.
fn context(rel: &str, data: &[u8]) -> ParseContext {
    if rel.contains("http") { fixture_context(data, rel) } else { ParseContext::default() }
}

/// Parses one file, turning a panic into `None`.
fn run(rel: &str) -> Option<Value> {
    let data = std::fs::read(corpus().join(rel)).expect("fixture readable");
    let ctx = context(rel, &data);
    catch_unwind(AssertUnwindSafe(|| conformance_json(&parse_feed(&data, &ctx)))).ok()
}

/// compare.py's `text()`: entities decoded, tags dropped, spaces collapsed.
fn text(v: &Value) -> Value {
    let Some(s) = v.as_str() else { return Value::Null };
    let stripped = strip_closed_tags(&unescape_html(s));
    let out = unescape_html(&stripped).split_whitespace().collect::<Vec<_>>().join(" ");
    if out.is_empty() { Value::Null } else { Value::String(out) }
}

fn strip_closed_tags(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(lt) = rest.find('<') {
        match rest[lt..].find('>') {
            Some(gt) => {
                out.push_str(&rest[..lt]);
                rest = &rest[lt + gt + 1..];
            }
            None => break,
        }
    }
    out.push_str(rest);
    out
}

fn trimmed(v: &Value) -> Value {
    match v.as_str().map(str::trim) {
        Some(s) if !s.is_empty() => Value::String(s.into()),
        _ => Value::Null,
    }
}

fn norm_entry(e: &Value) -> BTreeMap<&'static str, Value> {
    let cats: BTreeSet<String> =
        e["categories"].as_array().into_iter().flatten().filter_map(|c| text(c).as_str().map(String::from)).collect();
    let encl: Vec<Value> =
        e["enclosures"].as_array().into_iter().flatten().map(|u| Value::String(u.as_str().unwrap_or("").trim().into())).collect();
    let has_summary = !matches!(e["summary_len"].as_u64(), None | Some(0));
    BTreeMap::from([
        ("id", trimmed(&e["id"])),
        ("title", text(&e["title"])),
        ("link", trimmed(&e["link"])),
        ("published", e["published"].clone()),
        ("updated", e["updated"].clone()),
        ("has_summary", Value::Bool(has_summary)),
        ("categories", Value::Array(cats.into_iter().map(Value::String).collect())),
        ("enclosures", Value::Array(encl)),
    ])
}

/// (field, same) for every compared field of one file, as compare.py.
fn compare(a: &Value, b: &Value) -> Vec<(String, bool)> {
    let mut out = vec![("ok".to_string(), a["ok"].as_bool().unwrap_or(false) == b["ok"].as_bool().unwrap_or(false))];
    out.push(("feed.title".into(), text(&a["feed"]["title"]) == text(&b["feed"]["title"])));
    out.push(("feed.link".into(), trimmed(&a["feed"]["link"]) == trimmed(&b["feed"]["link"])));
    out.push(("feed.updated".into(), a["feed"]["updated"] == b["feed"]["updated"]));
    let empty = Vec::new();
    let ea = a["entries"].as_array().unwrap_or(&empty);
    let eb = b["entries"].as_array().unwrap_or(&empty);
    out.push(("entries.count".into(), ea.len() == eb.len()));
    for i in 0..ea.len().max(eb.len()) {
        let x = ea.get(i).map(norm_entry);
        let y = eb.get(i).map(norm_entry);
        for f in ENTRY_FIELDS {
            let same = matches!((&x, &y), (Some(x), Some(y)) if x[f] == y[f]);
            out.push((format!("entry.{f}"), same));
        }
    }
    out
}

fn known_disagreements() -> BTreeSet<String> {
    let list = std::fs::read_to_string(Path::new(ROOT).join("known-disagreements.txt")).unwrap_or_default();
    list.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(String::from).collect()
}

fn all_fixtures(dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("corpus folder") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            all_fixtures(&path, out);
        } else if path.extension().is_some_and(|e| e == "xml" || e == "json") {
            out.push(path.strip_prefix(corpus()).unwrap().to_string_lossy().into_owned());
        }
    }
}

#[test]
fn no_fixture_crashes_the_parser() {
    let mut files = Vec::new();
    all_fixtures(&corpus(), &mut files);
    assert!(files.len() > 2000, "corpus incomplete: {} files", files.len());
    let crashed: Vec<&String> = files.iter().filter(|f| run(f).is_none()).collect();
    assert!(crashed.is_empty(), "parser panicked on {crashed:?}");
}

#[test]
fn agrees_with_feedparser() {
    let expected = std::fs::read_to_string(Path::new(ROOT).join("expected.jsonl")).expect("expected.jsonl");
    let known = known_disagreements();
    let (mut fields, mut same, mut files, mut exact) = (0usize, 0usize, 0usize, 0usize);
    let mut per_field: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut worst = Vec::new();
    for line in expected.lines() {
        let want: Value = serde_json::from_str(line).expect("valid JSON line");
        let rel = want["path"].as_str().expect("path").to_string();
        if known.contains(&rel) {
            continue;
        }
        files += 1;
        let got = run(&rel).unwrap_or_else(|| panic!("parser panicked on {rel}"));
        let result = compare(&want, &got);
        let all_same = result.iter().all(|(_, s)| *s);
        exact += usize::from(all_same);
        if !all_same {
            worst.push(rel.clone());
        }
        for (field, s) in result {
            fields += 1;
            same += usize::from(s);
            let t = per_field.entry(field).or_default();
            t.0 += usize::from(s);
            t.1 += 1;
        }
    }
    let field_pct = 100.0 * same as f64 / fields as f64;
    let file_pct = 100.0 * exact as f64 / files as f64;
    for (f, (s, n)) in &per_field {
        eprintln!("{f:<18} {:>6.1}% of {n}", 100.0 * *s as f64 / *n as f64);
    }
    eprintln!("agreement: {field_pct:.1}% of fields, {file_pct:.1}% of files exact ({files} files)");
    eprintln!("disagreeing: {worst:?}");
    assert!(files > 1200, "too few files compared: {files}");
    assert!(field_pct >= 98.0, "field agreement {field_pct:.2}% < 98%");
    assert!(file_pct >= 90.0, "file agreement {file_pct:.2}% < 90%");
}
