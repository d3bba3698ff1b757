//! Checks that drive programs outside Rust: the W3C Feed Validator (its
//! code ships in `../shared/tools/feedvalidator`) and Python feedparser
//! read every generated feed. Behind the `external-tests` feature;
//! `.ci/run` installs their Python dependencies first. A missing program
//! fails the test: it never skips.
#![cfg(feature = "external-tests")]

mod common;

use common::{SEED, Site};
use std::path::{Path, PathBuf};
use std::process::Command;

fn shared() -> PathBuf {
    std::env::var_os("WIREFEED_SHARED").map(PathBuf::from).unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"))
}

/// Every fixture story, built with the default topics.
fn built_site() -> (Site, Vec<PathBuf>) {
    let fixtures: Vec<String> = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/stories"))
        .unwrap()
        .map(|e| format!("fixtures/stories/{}", e.unwrap().file_name().to_str().unwrap()))
        .collect();
    assert!(fixtures.iter().any(|f| f == SEED));
    let refs: Vec<&str> = fixtures.iter().map(String::as_str).collect();
    let site = Site::new(&refs);
    // The bundled external feeds too, served over HTTP so that items carry
    // their origin's feed URL (RSS and Atom `<source>`).
    let feeds_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/feeds");
    let mut router = axum::Router::new();
    let mut names = Vec::new();
    for e in std::fs::read_dir(&feeds_dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_str().unwrap().to_owned();
        let body = std::fs::read(&p).unwrap();
        router = router.route(&format!("/{name}"), axum::routing::get(move || async move { body }));
        names.push(name);
    }
    let addr = common::serve_in_background(router);
    let mut sources = String::new();
    for name in names {
        let stem = name.rsplit_once('.').unwrap().0;
        sources.push_str(&format!("[[sources]]\nname = \"{stem}\"\nurl = \"http://{addr}/{name}\"\n"));
    }
    site.write_config(&sources);
    let out = site.build();
    assert!(out.status.success(), "{}", common::stderr(&out));
    let mut feeds = Vec::new();
    for dir in ["feeds", "feeds/topics"] {
        for e in std::fs::read_dir(site.path(dir)).unwrap() {
            let p = e.unwrap().path();
            if matches!(p.extension().and_then(|x| x.to_str()), Some("rss" | "atom")) {
                feeds.push(p);
            }
        }
    }
    feeds.sort();
    assert!(feeds.len() >= 8, "{feeds:?}");
    (site, feeds)
}

#[test]
fn w3c_validator_finds_no_errors() {
    let (site, feeds) = built_site();
    let rss = std::fs::read_to_string(site.path("feeds/all.rss")).unwrap();
    assert!(rss.contains("<source url=") && rss.contains(r#"type="audio/mpeg""#), "the feeds under test carry origins and enclosures");
    let script = shared().join("tools/conformance/validate_feed.sh");
    for feed in feeds {
        let rel = feed.strip_prefix(site.path("feeds")).unwrap().to_str().unwrap().to_owned();
        let out = Command::new("bash")
            .arg(&script)
            .args(["-b", &format!("http://127.0.0.1:8080/{rel}")])
            .arg(&feed)
            .output()
            .expect("running validate_feed.sh");
        let text = String::from_utf8_lossy(&out.stdout);
        let verdict = text.lines().next().unwrap_or("");
        assert!(out.status.success() && verdict.starts_with("VALID") && verdict.contains(" 0 errors"), "{rel}:\n{text}");
    }
}

#[test]
fn python_feedparser_reads_every_item_without_bozo() {
    let (site, feeds) = built_site();
    let script = r#"
import json, sys, feedparser
for path in sys.argv[1:]:
    d = feedparser.parse(path)
    print(json.dumps({"path": path, "bozo": bool(d.bozo), "why": str(d.get("bozo_exception")), "version": d.version,
                      "titles": [e.get("title") for e in d.entries]}))
"#;
    let out = Command::new("python3").arg("-c").arg(script).args(&feeds).output().expect("running python3");
    assert!(out.status.success(), "feedparser failed: {}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let mut checked = 0;
    for line in stdout.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let path = PathBuf::from(v["path"].as_str().unwrap());
        assert_eq!(v["bozo"], false, "{}: {}", path.display(), v["why"]);
        let json_twin = path.with_extension("json");
        let expected: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json_twin).unwrap()).unwrap();
        let want: Vec<&str> = expected["items"].as_array().unwrap().iter().map(|i| i["title"].as_str().unwrap()).collect();
        let got: Vec<&str> = v["titles"].as_array().unwrap().iter().map(|t| t.as_str().unwrap_or("")).collect();
        assert_eq!(got, want, "{}", path.display());
        checked += 1;
    }
    assert_eq!(checked, feeds.len());
    drop(site);
}
