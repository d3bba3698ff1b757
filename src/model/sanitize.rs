//! HTML sanitizing: the one place untrusted markup is made safe.
//!
//! ammonia (html5ever underneath) parses like a browser, so tricks that
//! fool regex-based cleaners (broken tags, entity-encoded schemes, nested
//! comments) are parsed the way a reader would and then dropped. Its
//! defaults already remove `<script>`, `<style>`, `<iframe>`, `<object>`,
//! event-handler attributes and every URL scheme outside a whitelist
//! (so no `javascript:`/`vbscript:`/`data:`).

use ammonia::{Builder, UrlRelative};
use std::borrow::Cow;
use std::cell::RefCell;
use url::Url;

use super::text::xml_safe_nfc;

/// Prefix of every `id` kept in content, so a story's ids cannot clash
/// with a page's own (`id="main"`) wherever the content is shown.
pub const ID_PREFIX: &str = "wf-";

/// What the relative-URL hook needs to know about the fragment being
/// cleaned on this thread. ammonia's hook sees only the URL, and building
/// a new `Builder` per story (dozens of hash sets) cost more than the
/// cleaning itself, so one builder per thread reads this.
#[derive(Default)]
struct Fragment {
    base: Option<Url>,
    /// The `id`s the fragment defines: in-page links to them stay in-page.
    ids: Vec<String>,
    /// Hosts whose `<iframe>`/`<video>` may stay (the newsroom's
    /// `allow_embeds`); read only by the embed builder.
    embed_hosts: Vec<String>,
}

thread_local! {
    static FRAGMENT: RefCell<Fragment> = RefCell::new(Fragment::default());
    static BUILDER: Builder<'static> = builder();
    static EMBED_BUILDER: Builder<'static> = embed_builder();
}

/// Resolves a relative URL. `#name` pointing at an id of the same fragment
/// (footnotes, a table of contents) stays in-page, prefixed like the id;
/// anything else resolves against the base, and without a base it is
/// dropped, since a reader would resolve it against the feed's own URL.
fn resolve(relative: &str) -> Option<Cow<'_, str>> {
    FRAGMENT.with_borrow(|f| {
        if let Some(name) = relative.strip_prefix('#')
            && f.ids.iter().any(|id| id == name)
        {
            return Some(Cow::Owned(format!("#{ID_PREFIX}{name}")));
        }
        f.base.as_ref().and_then(|b| b.join(relative).ok()).map(|u| Cow::Owned(u.into()))
    })
}

/// The values of `id` attributes in raw HTML: a cheap scan, not a parse;
/// an id it misses only loses its in-page link.
fn ids_in(html: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let lower = html.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find("id=") {
        let at = from + i;
        from = at + 3;
        let before = lower[..at].chars().next_back();
        if !before.is_some_and(|c| c.is_whitespace()) {
            continue;
        }
        let rest = &html[from..];
        let value = match rest.chars().next() {
            Some(q @ ('"' | '\'')) => rest[1..].split(q).next(),
            _ => rest.split(|c: char| c.is_whitespace() || c == '>').next(),
        };
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            ids.push(v.to_owned());
        }
    }
    ids
}

fn builder() -> Builder<'static> {
    let mut b = Builder::default();
    b.link_rel(Some("noopener noreferrer"));
    b.url_relative(UrlRelative::Custom(Box::new(resolve)));
    b.add_generic_attributes(["id"]);
    b.id_prefix(Some(ID_PREFIX));
    b
}

/// The builder for the newsroom's own stories with `allow_embeds`: the
/// default one plus `<iframe>`, `<video>` and `<source>` whose `src` is an
/// https URL on one of the fragment's embed hosts. Any other `src` is
/// dropped, and an `<iframe>` left without one is removed after cleaning.
fn embed_builder() -> Builder<'static> {
    let mut b = builder();
    b.add_tags(["iframe", "video", "source"]);
    b.add_tag_attributes("iframe", ["src", "width", "height", "title", "allow", "allowfullscreen", "loading", "referrerpolicy"]);
    b.add_tag_attributes("video", ["src", "poster", "controls", "width", "height", "preload", "muted", "loop", "playsinline"]);
    b.add_tag_attributes("source", ["src", "type"]);
    b.attribute_filter(|element, attribute, value| match (element, attribute) {
        ("iframe" | "video" | "source", "src") => embed_src(value).map(Cow::Owned),
        _ => Some(Cow::Borrowed(value)),
    });
    b
}

/// `src` of an embed, if it is https on an allowed host (a
/// protocol-relative `//host/…` is read as https).
fn embed_src(value: &str) -> Option<String> {
    let value = value.trim();
    let absolute = if value.starts_with("//") { format!("https:{value}") } else { value.to_owned() };
    let url = Url::parse(&absolute).ok().filter(|u| u.scheme() == "https")?;
    let host = url.host_str()?.to_ascii_lowercase();
    FRAGMENT.with_borrow(|f| f.embed_hosts.iter().any(|h| h.eq_ignore_ascii_case(&host))).then(|| url.into())
}

/// Sanitizes an HTML fragment, resolving relative URLs against `base`.
/// The result is NFC, free of XML-forbidden characters, and trimmed.
pub fn sanitize_html(html: &str, base: Option<&Url>) -> String {
    sanitize_with_embeds(html, base, &[])
}

/// [`sanitize_html`] keeping `<iframe>`/`<video>` whose https `src` is on
/// one of `embed_hosts` (host names, e.g. `www.youtube.com`); with none
/// it is `sanitize_html`. For the newsroom's own stories only: external
/// sources never get embeds.
pub fn sanitize_with_embeds(html: &str, base: Option<&Url>, embed_hosts: &[String]) -> String {
    if html.trim().is_empty() {
        return String::new();
    }
    let input = xml_safe_nfc(html);
    let ids = if input.contains("id=") || input.contains("ID=") { ids_in(&input) } else { Vec::new() };
    FRAGMENT.with_borrow_mut(|f| *f = Fragment { base: base.cloned(), ids, embed_hosts: embed_hosts.to_vec() });
    if embed_hosts.is_empty() {
        return xml_safe(BUILDER.with(|builder| builder.clean(&input).to_string()).trim());
    }
    let cleaned = EMBED_BUILDER.with(|builder| builder.clean(&input).to_string());
    // ammonia's output is regular (attributes double-quoted with `"`
    // escaped inside, tags lower case), so an iframe is found by its
    // serialization. One whose src was refused goes; one kept loses what
    // it holds: raw text no browser shows, and markup (`<div onclick>`)
    // to any reader that drops the frame but keeps its text.
    static IFRAME: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(r#"(?s)(<iframe(?:\s(?:[^>"]|"[^"]*")*)?>).*?</iframe>"#).expect("valid regex"));
    let cleaned = IFRAME.replace_all(&cleaned, |c: &regex::Captures<'_>| {
        let tag = &c[1];
        if tag.contains(" src=\"") { format!("{tag}</iframe>") } else { String::new() }
    });
    xml_safe(cleaned.trim())
}

/// The sanitizer decodes character references, so `&#19;` comes out as
/// a control character XML forbids: those are dropped again.
fn xml_safe(cleaned: &str) -> String {
    let forbidden = |c: char| (c.is_control() && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{FFFE}' | '\u{FFFF}');
    if cleaned.contains(forbidden) { cleaned.chars().filter(|&c| !forbidden(c)).collect() } else { cleaned.to_owned() }
}

/// How many of each element `html` has (start tags, by a cheap scan, not
/// a parse): comparing a story's HTML before and after sanitizing names
/// what the sanitizer removed.
pub fn element_counts(html: &str) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    let bytes = html.as_bytes();
    for (i, _) in html.match_indices('<') {
        let name: String =
            bytes[i + 1..].iter().take_while(|b| b.is_ascii_alphanumeric()).map(|b| b.to_ascii_lowercase() as char).collect();
        let next = bytes.get(i + 1 + name.len()).copied();
        if !name.is_empty() && bytes[i + 1].is_ascii_alphabetic() && matches!(next, None | Some(b' ' | b'\t' | b'\n' | b'\r' | b'/' | b'>'))
        {
            *counts.entry(name).or_insert(0) += 1;
        }
    }
    counts
}

/// What sanitizing removed, as "1 <iframe>, 1 <script>" (elements in
/// `before` that `after` has fewer of), or `None` when nothing was.
pub fn removed_elements(before: &str, after: &str) -> Option<String> {
    let after = element_counts(after);
    let removed: Vec<String> = element_counts(before)
        .into_iter()
        .filter_map(|(name, n)| {
            let gone = n.saturating_sub(after.get(&name).copied().unwrap_or(0));
            (gone > 0).then(|| format!("{gone} <{name}>"))
        })
        .collect();
    (!removed.is_empty()).then(|| removed.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://news.example.org/a/story").unwrap()
    }

    #[test]
    fn removes_scripts_handlers_and_javascript_urls() {
        let out = sanitize_html(
            r#"<p onclick="x()">Hi<script>alert(1)</script></p><a href="javascript:alert(1)">j</a><a href="JaVaScRiPt&#58;alert(1)">k</a><iframe src="//evil"></iframe>"#,
            Some(&base()),
        );
        assert!(!out.contains("script"), "{out}");
        assert!(!out.contains("onclick"), "{out}");
        assert!(!out.to_lowercase().contains("javascript"), "{out}");
        assert!(!out.contains("iframe"), "{out}");
        assert!(out.contains("<p>Hi</p>"), "{out}");
    }

    #[test]
    fn makes_relative_urls_absolute() {
        let out = sanitize_html(r#"<a href="../b">b</a> <img src="/i.jpg" alt="x">"#, Some(&base()));
        assert!(out.contains(r#"href="https://news.example.org/b""#), "{out}");
        assert!(out.contains(r#"src="https://news.example.org/i.jpg""#), "{out}");
    }

    #[test]
    fn in_page_links_keep_pointing_at_ids_that_exist() {
        let html = r##"<p>Claim<sup><a href="#fn1" id="ref1">1</a></sup> <a href="#elsewhere">x</a></p><div id='fn1'>Source <a href="#ref1">↩</a></div>"##;
        let out = sanitize_html(html, Some(&base()));
        for (what, needle) in [
            ("reference link", r##"href="#wf-fn1""##),
            ("reference id", r#"id="wf-ref1""#),
            ("definition id", r#"id="wf-fn1""#),
            ("back link", r##"href="#wf-ref1""##),
            ("link to the origin page's anchor", r##"href="https://news.example.org/a/story#elsewhere""##),
        ] {
            assert!(out.contains(needle), "{what}: {out}");
        }
    }

    #[test]
    fn ids_are_found_only_as_attributes() {
        assert_eq!(ids_in(r#"<a id="a" data-id="no" href='x?id=no'><b ID=b>"#), vec!["a", "b"]);
    }

    #[test]
    fn keeps_typographic_quotes_and_figure_markup() {
        let out = sanitize_html("<figure><figcaption>“Quoted” — credit</figcaption></figure>", None);
        assert_eq!(out, "<figure><figcaption>“Quoted” — credit</figcaption></figure>");
    }

    #[test]
    fn embeds_stay_only_with_https_on_an_allowed_host() {
        let hosts = vec!["www.youtube.com".to_owned(), "player.vimeo.com".to_owned()];
        let yt = r#"<iframe src="https://www.youtube.com/embed/abc" width="560" height="315" allowfullscreen onload="x()"></iframe>"#;
        let cases: [(&str, &str, bool); 9] = [
            ("allowed iframe", yt, true),
            ("other allowed host", r#"<iframe src="https://player.vimeo.com/video/1"></iframe>"#, true),
            ("protocol-relative is https", r#"<iframe src="//www.youtube.com/embed/abc"></iframe>"#, true),
            ("host case", r#"<iframe src="https://WWW.YouTube.com/embed/abc"></iframe>"#, true),
            ("http refused", r#"<iframe src="http://www.youtube.com/embed/abc"></iframe>"#, false),
            ("other host", r#"<iframe src="https://evil.example/embed"></iframe>"#, false),
            ("look-alike host", r#"<iframe src="https://www.youtube.com.evil.example/x"></iframe>"#, false),
            ("javascript", r#"<iframe src="javascript:alert(1)"></iframe>"#, false),
            ("no src", "<iframe srcdoc=\"<script>alert(1)</script>\"></iframe>", false),
        ];
        for (name, html, kept) in cases {
            let out = sanitize_with_embeds(&format!("<p>a</p>{html}"), Some(&base()), &hosts);
            assert_eq!(out.contains("<iframe"), kept, "{name}: {out}");
            assert!(!out.contains("onload") && !out.contains("srcdoc") && !out.contains("script"), "{name}: {out}");
            assert!(out.starts_with("<p>a</p>"), "{name}: {out}");
        }
        // Without hosts (every external source) no embed stays.
        assert!(!sanitize_html(yt, Some(&base())).contains("iframe"));
        let video = r#"<video controls src="https://player.vimeo.com/v.mp4"></video><video src="https://evil.example/v.mp4"></video>"#;
        let out = sanitize_with_embeds(video, None, &hosts);
        assert!(out.contains(r#"src="https://player.vimeo.com/v.mp4""#) && !out.contains("evil"), "{out}");
    }

    #[test]
    fn removed_elements_are_named_and_counted() {
        let before = r#"<p>a</p><iframe src="https://x.example/"></iframe><script>1</script><SCRIPT>2</SCRIPT><p>b</p>"#;
        let after = sanitize_html(before, None);
        assert_eq!(removed_elements(before, &after).as_deref(), Some("1 <iframe>, 2 <script>"));
        assert_eq!(removed_elements("<p>fine</p>", "<p>fine</p>"), None);
        assert_eq!(element_counts("<p>a < b <br/><b>x</b></p>").get("b"), Some(&1), "text `< b` is no element");
    }
}
