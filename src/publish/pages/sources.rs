//! `sources.html`: every external source with its status, last and next
//! fetch, errors in a row and the last error, stories kept, and links to
//! its feed and site — what `wirefeed sources` prints, for the editor who
//! wonders why a channel looks stale.
//!
//! It shows no request header, and no credential that a URL carries:
//! user names and passwords are cut from every URL (in error messages
//! too), and the values of query parameters named like secrets
//! (`token`, `key`, `password`, `sig`…) are replaced by `redacted`.

use chrono::{DateTime, Utc};
use regex::Regex;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::LazyLock;

use super::{Head, Pages, SOURCES_PATH, close, esc, open, time};
use crate::config::{Config, SourceLocation};
use crate::store::sources::SourceSummary;

/// The page. `summaries` come from the store; `site_urls` maps a source's
/// name to its site (the `origin.site_url` of one of its stories).
pub fn render(pages: &Pages<'_>, config: &Config, summaries: &[SourceSummary], site_urls: &HashMap<&str, &str>) -> String {
    let title = format!("Sources — {}", pages.site.title);
    let description = "Every feed this site follows, and how its last fetch went.";
    let mut out = String::with_capacity(2048 + config.sources.len() * 900);
    open(&mut out, pages, &Head { path: SOURCES_PATH, title: &title, description: Some(description), extra: String::new(), current: None });
    out.push_str("<h1>Sources</h1>\n");
    let failing = config
        .sources
        .iter()
        .filter(|s| summaries.iter().any(|x| x.name == s.name && (x.state.consecutive_errors > 0 || x.state.disabled.is_some())))
        .count();
    let _ = writeln!(
        out,
        "<p class=\"lede\">{} {} followed; {failing} failing or disabled.</p>",
        config.sources.len(),
        if config.sources.len() == 1 { "feed" } else { "feeds" }
    );
    if config.sources.is_empty() {
        out.push_str("<p class=\"empty\">This site follows no external feeds.</p>\n");
    } else {
        out.push_str("<div class=\"sources\">\n");
        for source in &config.sources {
            let summary = summaries.iter().find(|s| s.name == source.name);
            card(&mut out, pages, config, source, summary, site_urls.get(source.name.as_str()).copied());
        }
        out.push_str("</div>\n");
    }
    close(&mut out, SOURCES_PATH);
    out
}

fn card(
    out: &mut String,
    pages: &Pages<'_>,
    config: &Config,
    source: &crate::config::SourceConfig,
    summary: Option<&SourceSummary>,
    site: Option<&str>,
) {
    out.push_str("<article class=\"source-card\">\n");
    let _ = writeln!(out, "<h2 dir=\"auto\">{}</h2>\n<dl>", esc(&source.name));
    let (label, class) = status(source.enabled, summary);
    let _ = writeln!(out, "<dt>Status</dt><dd class=\"status {class}\">{}</dd>", esc(&label));
    let state = summary.map(|s| &s.state);
    let fetched_from = state.and_then(|s| s.moved_to.as_deref().or(s.discovered.as_deref()));
    let feed = match fetched_from {
        Some(url) => link(url),
        None => match source.location(config.root()) {
            Some(SourceLocation::Http(url)) => link(url.as_str()),
            Some(SourceLocation::File(path)) => {
                // A path on the server says nothing to a reader: its name only.
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                format!("local file {}", esc(&name))
            }
            None => "-".to_owned(),
        },
    };
    let _ = writeln!(out, "<dt>Feed</dt><dd>{feed}</dd>");
    if let Some(site) = site {
        let _ = writeln!(out, "<dt>Site</dt><dd>{}</dd>", link(site));
    }
    // Only what changes when the source's health changes: fetch times
    // and the count of errors in a row move at every fetch and would
    // rewrite the page at every build (`wirefeed sources` and `/metrics`
    // have them). While it fails, the last success says since when.
    let when = |t: Option<DateTime<Utc>>| t.map_or_else(|| "never".to_owned(), |t| time(&pages.site, t));
    let errors = state.map_or(0, |s| s.consecutive_errors);
    if errors > 0 {
        let _ = writeln!(out, "<dt>Last success</dt><dd>{}</dd>", when(state.and_then(|s| s.last_success)));
    }
    if !source.enabled || state.is_some_and(|s| s.disabled.is_some()) {
        let _ = writeln!(out, "<dt>Fetched</dt><dd>never (not fetched)</dd>");
    }

    if let Some(error) = state.and_then(|s| s.disabled.as_deref().or(s.last_error.as_deref())).filter(|e| !e.is_empty()) {
        let _ = writeln!(out, "<dt>Last error</dt><dd dir=\"auto\">{}</dd>", esc(&redact_text(error)));
    }
    let _ = writeln!(out, "<dt>Stories kept</dt><dd>{}</dd>", summary.map_or(0, |s| s.stories));
    out.push_str("</dl>\n</article>\n");
}

/// The status as a word and its CSS class.
fn status(enabled: bool, summary: Option<&SourceSummary>) -> (String, &'static str) {
    let Some(s) = summary else {
        return (if enabled { "not fetched yet" } else { "paused" }.to_owned(), "status-warn");
    };
    if s.state.disabled.is_some() {
        return ("disabled".to_owned(), "status-bad");
    }
    if !enabled {
        return ("paused (enabled = false)".to_owned(), "status-warn");
    }
    match s.state.last_status.as_deref() {
        // One word for both: a refetch that finds nothing new must not
        // change the page.
        Some("ok" | "not modified") => ("ok".to_owned(), "status-ok"),
        Some("error") => ("error".to_owned(), "status-bad"),
        Some(other) => (other.to_owned(), "status-warn"),
        None => ("not fetched yet".to_owned(), "status-warn"),
    }
}

/// A link to `url` with credentials removed, or its redacted text when it
/// is not a web URL.
fn link(url: &str) -> String {
    match public_url(url) {
        Some(clean) => format!("<a href=\"{0}\">{0}</a>", esc(&clean)),
        None => esc(&redact_text(url)).into_owned(),
    }
}

/// Query parameter names whose values are secrets.
static SECRET_PARAM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(^|[_-])(key|apikey|token|secret|password|passwd|pass|pwd|auth|authorization|sig|signature|session|sid|credential|credentials|access)([_-]|$)")
        .expect("valid regex")
});

/// `url` as an http(s) URL without user name, password, or the values of
/// query parameters that look like credentials.
pub fn public_url(url: &str) -> Option<String> {
    let mut parsed = url::Url::parse(url.trim()).ok()?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return None;
    }
    let _ = parsed.set_username("");
    let _ = parsed.set_password(None);
    if parsed.query().is_some() {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(k, v)| {
                let v = if SECRET_PARAM.is_match(&k) { "redacted".to_owned() } else { v.into_owned() };
                (k.into_owned(), v)
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    Some(parsed.into())
}

static URL_IN_TEXT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"(?i)\b[a-z][a-z0-9+.-]*://[^\s<>"'()]+"#).expect("valid regex"));

/// Free text (an error message) with every URL in it made public.
pub fn redact_text(text: &str) -> String {
    URL_IN_TEXT
        .replace_all(text, |c: &regex::Captures<'_>| {
            // "…/feed.rss: cannot connect": the punctuation after a URL is the sentence's.
            let found = c[0].trim_end_matches(['.', ',', ':', ';', '!', '?']);
            let tail = &c[0][found.len()..];
            let public = public_url(found).unwrap_or_else(|| match found.find('@') {
                // Not http(s): cut anything that looks like userinfo.
                Some(at) => format!("{}//{}", &found[..found.find("//").unwrap_or(0)], &found[at + 1..]),
                None => found.to_owned(),
            });
            format!("{public}{tail}")
        })
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_show() {
        let cases = [
            ("https://user:pw@feeds.example/a.rss", "https://feeds.example/a.rss"),
            ("https://feeds.example/a.rss?api_key=k1&page=2", "https://feeds.example/a.rss?api_key=redacted&page=2"),
            ("https://feeds.example/a?access_token=t&sig=s&q=x", "https://feeds.example/a?access_token=redacted&sig=redacted&q=x"),
            ("https://feeds.example/a?monkey=1", "https://feeds.example/a?monkey=1"),
        ];
        for (url, want) in cases {
            assert_eq!(public_url(url).as_deref(), Some(want), "{url}");
        }
        let text = redact_text("fetching https://u:p@x.example/f?token=abc: 401; see ftp://a:b@y.example/z.");
        assert_eq!(text, "fetching https://x.example/f?token=redacted: 401; see ftp://y.example/z.");
        assert_eq!(public_url("javascript:alert(1)"), None);
    }
}
