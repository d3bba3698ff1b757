//! The pages people read, checked against the channels: each river shows
//! its channel's stories in the feed's order, paged with rel=prev/next;
//! newsroom stories without a `link_base` get a page that every feed
//! links to; every link inside the site resolves to a file; text that
//! strangers wrote never becomes markup; the sources page tells status
//! without credentials; an unchanged build writes no page.

mod common;
mod pages_site;

use regex::Regex;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use url::Url;

const BASE: &str = "http://127.0.0.1:8080/";

struct Built {
    dir: tempfile::TempDir,
    config: wirefeed::Config,
    report: wirefeed::build::BuildReport,
}

impl Built {
    fn out(&self) -> PathBuf {
        self.dir.path().join("out")
    }
    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.out().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }
    fn json(&self, rel: &str) -> serde_json::Value {
        serde_json::from_str(&self.read(rel)).unwrap()
    }
    /// Every page, relative to the output folder, sorted.
    fn pages(&self) -> Vec<String> {
        let mut out = Vec::new();
        walk(&self.out(), &self.out(), &mut out);
        out.retain(|p| p.ends_with(".html"));
        out.sort();
        out
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(root, &path, out);
        } else {
            out.push(path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/"));
        }
    }
}

fn build_site(page_size: usize) -> Built {
    let dir = tempfile::tempdir().unwrap();
    pages_site::write(dir.path(), BASE, page_size);
    let config = wirefeed::Config::load(&dir.path().join("wirefeed.toml")).unwrap();
    let report = wirefeed::build(&config).unwrap();
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    // Only the source with credentials (nothing listens there) fails.
    let failed: Vec<_> = report.failed_sources().map(|s| s.name.clone()).collect();
    assert_eq!(failed, vec!["Private feed".to_owned()]);
    Built { dir, config, report }
}

fn unescape(s: &str) -> String {
    quick_xml::escape::unescape(s).unwrap_or_else(|e| panic!("{s}: {e}")).into_owned()
}

/// (href, title) of each story card's heading on a river page.
fn cards(html: &str) -> Vec<(Option<String>, String)> {
    let re = Regex::new(r#"<article class="story">\n<h2 dir="auto">(?:<a href="([^"]*)">(.*?)</a>|(.*?))</h2>"#).unwrap();
    re.captures_iter(html)
        .map(|c| {
            let title = c.get(2).or(c.get(3)).unwrap().as_str();
            (c.get(1).map(|h| unescape(h.as_str())), unescape(title))
        })
        .collect()
}

fn head_link(html: &str, rel: &str) -> Option<String> {
    let re = Regex::new(&format!(r#"<link rel="{rel}" href="([^"]*)">"#)).unwrap();
    re.captures(html).map(|c| unescape(&c[1]))
}

fn channels(config: &wirefeed::Config) -> Vec<(Option<String>, String)> {
    std::iter::once((None, "all".to_owned()))
        .chain(config.topics.iter().map(|t| (Some(t.slug.clone()), format!("topics/{}", t.slug))))
        .collect()
}

#[test]
fn each_river_shows_its_channels_stories_in_order_across_linked_pages() {
    let site = build_site(3);
    for (slug, path) in channels(&site.config) {
        let feed = site.json(&format!("{path}.json"));
        let items = feed["items"].as_array().unwrap();
        let want: Vec<(String, String)> =
            items.iter().map(|i| (i["title"].as_str().unwrap().to_owned(), i["url"].as_str().unwrap_or("").to_owned())).collect();
        let pages = want.len().div_ceil(3).max(1);
        let mut got = Vec::new();
        let mut page_path = format!("{path}.html");
        for n in 1..=pages {
            let html = site.read(&page_path);
            let page_url = Url::parse(BASE).unwrap().join(&page_path).unwrap();
            let on_page = cards(&html);
            assert!(on_page.len() <= 3 && (n == pages || on_page.len() == 3), "{page_path}: {} stories", on_page.len());
            for (href, title) in on_page {
                // A story's page is linked relatively; it must be the URL its feed item names.
                let url = href.map(|h| page_url.join(&h).unwrap().to_string()).unwrap_or_default();
                got.push((title, url));
            }
            let prev = head_link(&html, "prev");
            let next = head_link(&html, "next");
            let expect = |k: usize| {
                let target = match (&slug, k) {
                    (None, 1) => "all.html".to_owned(),
                    (None, k) => format!("all/{k}.html"),
                    (Some(s), 1) => format!("topics/{s}.html"),
                    (Some(s), k) => format!("topics/{s}/{k}.html"),
                };
                Url::parse(BASE).unwrap().join(&target).unwrap()
            };
            let resolve = |l: &Option<String>| l.as_ref().map(|l| page_url.join(l).unwrap());
            assert_eq!(resolve(&prev), (n > 1).then(|| expect(n - 1)), "{page_path} rel=prev");
            assert_eq!(resolve(&next), (n < pages).then(|| expect(n + 1)), "{page_path} rel=next");
            // The same links in the page's pager, for people.
            if let Some(next) = &next {
                assert!(html.contains(&format!("<a rel=\"next\" href=\"{next}\">")), "{page_path}");
            }
            if pages == 1 {
                assert!(!html.contains("class=\"pager\""), "{page_path}: one page needs no pager");
            }
            // Subscribe links and autodiscovery for this channel.
            for (ext, mime) in [("rss", "application/rss+xml"), ("atom", "application/atom+xml"), ("json", "application/feed+json")] {
                let link = Regex::new(&format!(
                    r#"<link rel="alternate" type="{}" title="[^"]*" href="{}">"#,
                    regex::escape(mime),
                    regex::escape(&format!("{BASE}{path}.{ext}"))
                ))
                .unwrap();
                assert!(link.is_match(&html), "{page_path}: autodiscovery {ext}");
                assert!(
                    html.contains(&format!("<a href=\"{}{path}.{ext}\" type=\"{mime}\"", "../".repeat(page_path.matches('/').count()))),
                    "{page_path}: subscribe {ext}"
                );
            }
            page_path = expect(n + 1).path().trim_start_matches('/').to_owned();
        }
        assert_eq!(got, want, "{path}: river against its feed");
        let beyond = match &slug {
            None => format!("all/{}.html", pages + 1),
            Some(s) => format!("topics/{s}/{}.html", pages + 1),
        };
        assert!(!site.out().join(&beyond).exists(), "{beyond}");
    }
    // The channels are not trivial: paging really happened.
    assert!(site.json("all.json")["items"].as_array().unwrap().len() > 9);
    assert!(site.read("topics/empty.html").contains("No stories yet."));
    // A topic whose slug ends like a page number keeps its own page.
    assert!(site.read("topics/port-2.html").contains("<h1>Second port desk</h1>"));
}

#[test]
fn every_link_and_source_inside_the_site_resolves_to_a_file() {
    let site = build_site(4);
    let base = Url::parse(BASE).unwrap();
    let attr = Regex::new(r#"\s(href|src|content)="([^"]*)""#).unwrap();
    let mut checked = 0;
    for page in site.pages() {
        let html = site.read(&page);
        let page_url = base.join(&page).unwrap();
        for c in attr.captures_iter(&html) {
            let (name, value) = (&c[1], unescape(&c[2]));
            if name == "content" && !value.starts_with(BASE) {
                continue; // meta content that is not a URL of this site
            }
            if value == "data:," {
                continue; // the empty icon
            }
            let url = page_url.join(&value).unwrap_or_else(|e| panic!("{page}: {name}={value:?}: {e}"));
            assert!(matches!(url.scheme(), "http" | "https"), "{page}: {name}={value:?}");
            let Some(rel) = url.as_str().strip_prefix(BASE) else { continue };
            let rel = rel.split(['#', '?']).next().unwrap();
            let rel = percent_encoding::percent_decode_str(rel).decode_utf8().unwrap();
            let file = if rel.is_empty() || rel.ends_with('/') { format!("{rel}index.html") } else { rel.into_owned() };
            assert!(site.out().join(&file).is_file(), "{page}: {name}={value:?} -> {file} does not exist");
            checked += 1;
        }
    }
    assert!(checked > 200, "only {checked} internal links");
    // The newsroom's stories link to their pages from every feed too.
    let feed = site.json("all.json");
    let own: Vec<&str> =
        feed["items"].as_array().unwrap().iter().filter_map(|i| i["url"].as_str()).filter(|url| !url.contains(".example/")).collect();
    assert!(own.len() >= 9, "{own:?}");
    for url in own {
        let rel = url.strip_prefix(BASE).unwrap_or_else(|| panic!("{url}"));
        assert!(rel.starts_with("stories/") && rel.ends_with(".html"), "{url}");
        assert!(site.out().join(rel).is_file(), "{url}: no page");
    }
}

#[test]
fn a_newsroom_story_page_has_its_content_card_meta_and_news_article() {
    let site = build_site(25);
    let html = site.read("stories/gulf-port-reopens-after-storm-repairs.html");
    for want in [
        "<html lang=\"en\">",
        "<h1 dir=\"auto\">Gulf Port Reopens After Storm Repairs</h1>",
        "By <span class=\"author\">Layla Haddad</span> and <span class=\"author\">Tom Reyes</span>",
        "<time datetime=\"2024-11-26T09:30:00Z\">26 November 2024, 09:30 UTC</time>",
        "updated <time datetime=\"2024-11-26T15:00:00Z\">",
        "<img src=\"http://127.0.0.1:8080/media/port.svg\" alt=\"Cranes at the reopened container terminal on Tuesday\" decoding=\"async\">",
        "<figcaption dir=\"auto\">Cranes at the reopened container terminal on Tuesday <small>(Newsroom/Staff)</small></figcaption>",
        "<strong>reopened on Tuesday</strong>",
        "<blockquote>",
        "<div class=\"content\" dir=\"auto\">",
        "<a href=\"../topics/port.html\">Port &amp; Shipping</a>",
        "<li dir=\"auto\">Shipping</li>",
        "<meta property=\"og:type\" content=\"article\">",
        "<meta property=\"og:title\" content=\"Gulf Port Reopens After Storm Repairs\">",
        "<meta property=\"og:url\" content=\"http://127.0.0.1:8080/stories/gulf-port-reopens-after-storm-repairs.html\">",
        "<meta property=\"og:image\" content=\"http://127.0.0.1:8080/media/port.svg\">",
        "<meta name=\"twitter:card\" content=\"summary_large_image\">",
        "<link rel=\"canonical\" href=\"http://127.0.0.1:8080/stories/gulf-port-reopens-after-storm-repairs.html\">",
        "<link rel=\"stylesheet\" href=\"../style.css\">",
    ] {
        assert!(html.contains(want), "{want}\nnot in\n{html}");
    }
    let ld = json_ld(&html);
    assert_eq!(ld["@type"], "NewsArticle");
    assert_eq!(ld["headline"], "Gulf Port Reopens After Storm Repairs");
    assert_eq!(ld["datePublished"], "2024-11-26T09:30:00Z");
    assert_eq!(ld["dateModified"], "2024-11-26T15:00:00Z");
    assert_eq!(ld["image"][0], "http://127.0.0.1:8080/media/port.svg");
    assert_eq!(ld["author"][1]["name"], "Tom Reyes");
    assert_eq!(ld["publisher"]["name"], "Harbour Desk");
    // The story's link in every feed is that page.
    let url = "http://127.0.0.1:8080/stories/gulf-port-reopens-after-storm-repairs.html";
    assert!(site.read("all.rss").contains(&format!("<link>{url}</link>")));
    assert!(site.read("all.atom").contains(&format!("href=\"{url}\"")));
    // External stories get no page here; their titles link out.
    assert!(!site.pages().iter().any(|p| p.contains("episode")), "{:?}", site.pages());
    let all = site.read("all.html");
    assert!(all.contains("<a href=\"https://radio.example/episodes/12\">Episode 12: The Night Shift at Berth 9</a>"));
    assert!(all.contains("<a class=\"source\" href=\"https://radio.example/\" dir=\"auto\">Harbour Radio</a>"));
    assert!(all.contains("<audio controls preload=\"none\" src=\"http://127.0.0.1:8080/media/episode-12.mp3\"></audio>"), "{all}");
    assert!(all.contains("Download audio</a> <small>(MP3, 24.5 MB"), "{all}");
    assert!(all.contains("<video controls preload=\"none\" src=\"http://127.0.0.1:8080/media/tanker.mp4\"></video>"));
    assert!(all.contains("loading=\"lazy\""));
    // Right-to-left text is marked for the browser to find its direction.
    let arabic = site.read("stories/2024-11-25-arabic.html".replace("2024-11-25-arabic", &arabic_slug(&site)).as_str());
    assert!(arabic.contains("<h1 dir=\"auto\">الميناء يستأنف العمل بعد إصلاحات العاصفة</h1>"));
    assert!(arabic.contains("<html lang=\"en\">"), "the page keeps the site's language and direction");
}

/// The Arabic story's page name (its title has no ASCII to slug).
fn arabic_slug(site: &Built) -> String {
    let feed = site.json("all.json");
    let item = feed["items"].as_array().unwrap().iter().find(|i| i["title"].as_str().unwrap().starts_with("الميناء")).unwrap();
    let url = item["url"].as_str().unwrap();
    let name = url.strip_prefix(&format!("{BASE}stories/")).and_then(|n| n.strip_suffix(".html")).unwrap();
    percent_encoding::percent_decode_str(name).decode_utf8().unwrap().into_owned()
}

fn json_ld(html: &str) -> serde_json::Value {
    let start = html.find("<script type=\"application/ld+json\">").expect("JSON-LD block") + 35;
    let end = start + html[start..].find("</script>").unwrap();
    serde_json::from_str(&html[start..end]).unwrap()
}

#[test]
fn text_strangers_wrote_never_becomes_markup_on_any_page() {
    let site = build_site(25);
    for page in site.pages() {
        check_markup(&page, &site.read(&page));
    }
    // The hostile stories are there, as text.
    let all = site.read("all.html");
    assert!(all.contains("&lt;/script&gt;&lt;script&gt;alert(&apos;title&apos;)&lt;/script&gt;"), "{all}");
    // An RSS title that only looks like markup is text (the parser's
    // feedparser-style guess): shown literally, never as a tag.
    assert!(all.contains("<h2 dir=\"auto\">&quot;&gt;&lt;img src=x onerror=alert(&apos;item&apos;)&gt;</h2>"), "{all}");
    assert!(all.contains("&lt;script&gt;alert(&apos;creator&apos;)&lt;/script&gt;"), "{all}");
    let hostile = site.pages().into_iter().find(|p| p.starts_with("stories/script")).expect("the hostile story's page");
    let ld = json_ld(&site.read(&hostile));
    assert!(ld["headline"].as_str().unwrap().starts_with("</script><script>alert('title')"), "{ld}");
}

/// Walks every tag of a page: each `<` opens a well-formed tag (quoted
/// attributes), no element or attribute that runs code or loads a frame,
/// every URL attribute a web URL or a relative path, tags nested
/// properly. The JSON-LD block is the only script, and must parse.
fn check_markup(page: &str, html: &str) {
    const VOID: [&str; 9] = ["meta", "link", "img", "br", "hr", "source", "input", "wbr", "track"];
    const CODE: [&str; 15] = [
        "script", "iframe", "object", "embed", "svg", "math", "form", "base", "frame", "frameset", "applet", "style", "template",
        "noscript", "portal",
    ];
    const URL_ATTRS: [&str; 8] = ["href", "src", "poster", "action", "cite", "srcset", "data", "background"];
    let start_tag = Regex::new(r#"^<([a-zA-Z][a-zA-Z0-9]*)((?:\s+[a-zA-Z_:][-a-zA-Z0-9_:.]*(?:="[^"]*")?)*)\s*/?>"#).unwrap();
    let end_tag = Regex::new(r"^</([a-zA-Z][a-zA-Z0-9]*)\s*>").unwrap();
    let attr = Regex::new(r#"\s+([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:="([^"]*)")?"#).unwrap();
    let body_at = html.find("<body>").expect("a body");
    let mut stack: Vec<String> = Vec::new();
    let mut at = html.find("<html").expect("an html element");
    let context = |i: usize| html[i.saturating_sub(80)..(i + 160).min(html.len())].to_owned();
    while let Some(offset) = html[at..].find('<') {
        let i = at + offset;
        let rest = &html[i..];
        if let Some(c) = end_tag.captures(rest) {
            let name = c[1].to_ascii_lowercase();
            let open = stack.pop();
            assert_eq!(open.as_deref(), Some(name.as_str()), "{page}: </{name}> closes {open:?}: …{}…", context(i));
            at = i + c[0].len();
            continue;
        }
        let c = start_tag.captures(rest).unwrap_or_else(|| panic!("{page}: a stray '<': …{}…", context(i)));
        let name = c[1].to_ascii_lowercase();
        let attrs: Vec<(String, String)> =
            attr.captures_iter(&c[2]).map(|a| (a[1].to_ascii_lowercase(), unescape(a.get(2).map_or("", |v| v.as_str())))).collect();
        let ld_json = name == "script" && i < body_at && attrs.iter().any(|(k, v)| k == "type" && v == "application/ld+json");
        let head_only = ["meta", "link", "title"].contains(&name.as_str());
        assert!(ld_json || !CODE.contains(&name.as_str()), "{page}: <{name}>: …{}…", context(i));
        assert!(!head_only || i < body_at, "{page}: <{name}> in the body: …{}…", context(i));
        for (key, value) in &attrs {
            assert!(
                !key.starts_with("on") && !["autofocus", "srcdoc", "formaction", "style"].contains(&key.as_str()),
                "{page}: {key}= on <{name}>: …{}…",
                context(i)
            );
            if URL_ATTRS.contains(&key.as_str()) {
                let v = value.trim().to_ascii_lowercase();
                let icon = name == "link" && v == "data:,";
                assert!(icon || !["javascript:", "vbscript:", "data:"].iter().any(|s| v.starts_with(s)), "{page}: {key}={value:?}");
            }
        }
        at = i + c[0].len();
        if ld_json {
            let end = html[at..].find("</script>").expect("a closed JSON-LD block");
            let ld: serde_json::Value = serde_json::from_str(&html[at..at + end]).unwrap_or_else(|e| panic!("{page}: JSON-LD: {e}"));
            assert!(ld.is_object(), "{page}");
            at += end + "</script>".len();
        } else if !VOID.contains(&name.as_str()) && !c[0].ends_with("/>") {
            stack.push(name);
        }
    }
    assert!(stack.is_empty(), "{page}: unclosed {stack:?}");
}

#[test]
fn sources_page_tells_each_sources_state_and_no_secret() {
    let site = build_site(25);
    let html = site.read("sources.html");
    for secret in pages_site::SECRETS {
        for page in site.pages() {
            assert!(!site.read(&page).contains(secret), "{page} shows {secret}");
        }
    }
    assert!(!html.contains("reader:") && !html.contains("Authorization") && !html.contains("Bearer"), "{html}");
    let card = |name: &str| {
        let start = html.find(&format!("<h2 dir=\"auto\">{name}</h2>")).unwrap_or_else(|| panic!("{name} in {html}"));
        html[start..start + html[start..].find("</article>").unwrap()].to_owned()
    };
    let radio = card("Harbour Radio");
    assert!(radio.contains("<dd class=\"status status-ok\">ok</dd>"), "{radio}");
    assert!(radio.contains("<dt>Site</dt><dd><a href=\"https://radio.example/\">https://radio.example/</a></dd>"), "{radio}");
    assert!(radio.contains("local file radio.rss"), "{radio}");
    assert!(radio.contains("<dt>Stories kept</dt><dd>2</dd>"), "{radio}");
    assert!(!radio.contains("Last fetch") && !radio.contains("Next fetch"), "no fetch times: {radio}");
    let private = card("Private feed");
    assert!(private.contains("<dd class=\"status status-bad\">error</dd>"), "{private}");
    assert!(!private.contains("Errors in a row"), "the count moves at every fetch: {private}");
    assert!(private.contains("<dt>Last success</dt><dd>never</dd>"), "a failing source says since when: {private}");
    assert!(private.contains("<dt>Last error</dt>"), "{private}");
    assert!(private.contains("http://127.0.0.1:9/private.rss?token=redacted&amp;page=1"), "{private}");
    // The source's name is text, not markup; the newsroom's folder is no external source.
    assert!(html.contains("<h2 dir=\"auto\">Hostile &lt;b&gt;Feed&lt;/b&gt;</h2>"));
    assert!(!html.contains("files:"), "{html}");
    let index = site.read("index.html");
    assert!(index.contains("<a href=\"sources.html\">Sources</a>"));
}

#[test]
fn an_unchanged_build_writes_no_page_and_a_shorter_channel_loses_its_last_pages() {
    let site = build_site(3);
    assert!(site.report.publish.written.iter().any(|p| p.ends_with("all/2.html")));
    let again = wirefeed::build(&site.config).unwrap();
    // Fetching moved the sources' fetch times, which no page shows.
    let written: BTreeSet<String> =
        again.publish.written.iter().map(|p| p.strip_prefix(site.out()).unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(written, BTreeSet::new(), "an unchanged build writes no page");
    // Without external sources, nothing at all is written.
    let text = std::fs::read_to_string(site.dir.path().join("wirefeed.toml")).unwrap();
    let cut = text.find("[[sources]]").unwrap();
    let text = text[..cut].replace("sources = [\"Harbour Radio\"]", "");
    std::fs::write(site.dir.path().join("wirefeed.toml"), text).unwrap();
    let config = wirefeed::Config::load(&site.dir.path().join("wirefeed.toml")).unwrap();
    wirefeed::build(&config).unwrap();
    let third = wirefeed::build(&config).unwrap();
    assert_eq!(third.publish.written, Vec::<PathBuf>::new());
    // Fewer pages (more stories to a page): the pages past the new last one go.
    let before: Vec<String> = site.pages().into_iter().filter(|p| p.starts_with("all/")).collect();
    assert_eq!(before, vec!["all/2.html", "all/3.html"]);
    let text = std::fs::read_to_string(site.dir.path().join("wirefeed.toml")).unwrap().replace("page_size = 3", "page_size = 5");
    std::fs::write(site.dir.path().join("wirefeed.toml"), text).unwrap();
    let config = wirefeed::Config::load(&site.dir.path().join("wirefeed.toml")).unwrap();
    wirefeed::build(&config).unwrap();
    let after: Vec<String> = site.pages().into_iter().filter(|p| p.starts_with("all/")).collect();
    assert_eq!(after, vec!["all/2.html"]);
    assert!(!site.read("all/2.html").contains("rel=\"next\""));
}

#[test]
fn index_links_channels_their_latest_stories_and_the_newest_across_the_site() {
    let site = build_site(25);
    let index = site.read("index.html");
    for (slug, path) in channels(&site.config) {
        let title = match &slug {
            None => "All stories".to_owned(),
            Some(s) => site.config.topics.iter().find(|t| &t.slug == s).unwrap().title.replace('&', "&amp;"),
        };
        assert!(index.contains(&format!("<h3><a href=\"{path}.html\">{title}</a></h3>")), "{title}");
        let feed = site.json(&format!("{path}.json"));
        if let Some(first) = feed["items"].as_array().unwrap().first() {
            let url = first["url"].as_str().unwrap();
            let href = url.strip_prefix(BASE).unwrap_or(url);
            assert!(index.contains(&format!("latest <time datetime=\"{}\"", first["date_published"].as_str().unwrap())), "{path}");
            assert!(index.contains(&format!("<a href=\"{}\" dir=\"auto\">", href.replace('&', "&amp;"))), "{path}: {href}");
        }
    }
    // The newest stories across the site, newest first, as in `all`.
    let latest = &index[index.find("<h2 id=\"latest\">").unwrap()..];
    let titles: Vec<String> = Regex::new(r#"<h3 dir="auto">(?:<a href="[^"]*">)?(.*?)(?:</a>)?</h3>"#)
        .unwrap()
        .captures_iter(latest)
        .map(|c| unescape(&c[1]))
        .collect();
    let feed = site.json("all.json");
    let want: Vec<&str> = feed["items"].as_array().unwrap().iter().take(10).map(|i| i["title"].as_str().unwrap()).collect();
    assert_eq!(titles, want);
}

#[test]
fn serve_sends_a_content_security_policy_with_pages() {
    use wirefeed::operate::serve::{self, ServeOptions};
    let site = build_site(25);
    let router = serve::router(ServeOptions::from_config(&site.config), std::sync::Arc::new(wirefeed::operate::metrics::Metrics::new()));
    let addr = common::serve_in_background(router);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    for (path, html) in [
        ("/", true),
        ("/all.html", true),
        ("/stories/gulf-port-reopens-after-storm-repairs.html", true),
        ("/sources.html", true),
        ("/media/port.svg", true),
        ("/all.rss", false),
        ("/style.css", false),
    ] {
        let response = rt.block_on(client.get(format!("http://{addr}{path}")).send()).unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let csp = response.headers().get("content-security-policy").map(|v| v.to_str().unwrap().to_owned());
        match (html, csp) {
            (true, Some(csp)) => {
                let directives: Vec<&str> = csp.split(';').map(str::trim).collect();
                for want in [
                    "default-src 'none'",
                    "script-src 'none'",
                    "style-src 'self'",
                    "font-src 'self'",
                    "frame-src 'none'",
                    "base-uri 'none'",
                    "form-action 'none'",
                ] {
                    assert!(directives.contains(&want), "{path}: {want} not in {csp}");
                }
                assert!(directives.iter().any(|d| d.starts_with("img-src *")), "{csp}");
                assert!(directives.contains(&"media-src *"), "{csp}");
            }
            (false, None) => {}
            (html, csp) => panic!("{path}: page {html}, policy {csp:?}"),
        }
    }
    // The stylesheet is served as CSS, so `style-src 'self'` takes it.
    let css = rt.block_on(client.get(format!("http://{addr}/style.css")).send()).unwrap();
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    assert!(rt.block_on(css.text()).unwrap().contains("prefers-color-scheme:dark"));
}
