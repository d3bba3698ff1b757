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
    /// A set: a fragment with thousands of ids and links stays linear.
    ids: std::collections::HashSet<String>,
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
            && f.ids.contains(name)
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

/// Deepest nesting of elements handed to the HTML parser. html5ever
/// walks the open elements for many start and end tags (is a `<p>` in
/// scope?), so markup nested 100,000 deep cost it minutes; browsers cap
/// their trees at 512 for the same reason. Tags deeper than this are left
/// out (their text stays, flattened into the element at the cap).
pub const MAX_HTML_DEPTH: usize = 256;

/// Elements without content: they never nest.
const VOID: &[&str] = &[
    "area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "image", "img", "input", "keygen", "link", "meta", "param",
    "source", "track", "wbr",
];

/// Elements whose end tag is optional (the next one closes them): counted
/// as not nesting, so a page of unclosed `<p>`s is not "deep".
const OPTIONAL_END: &[&str] =
    &["p", "li", "dt", "dd", "option", "optgroup", "tr", "td", "th", "thead", "tbody", "tfoot", "colgroup", "rb", "rt", "rtc", "rp"];

/// `html` with start and end tags past `max` levels of nesting removed,
/// by a scan of its tags (not a parse: it only has to bound the depth).
/// Borrowed, after one count of `<`, when there are too few tags to nest
/// that deep: every ordinary story.
fn flatten_deep(html: &str, max: usize) -> Cow<'_, str> {
    let bytes = html.as_bytes();
    if memchr::memchr_iter(b'<', bytes).nth(max).is_none() {
        return Cow::Borrowed(html);
    }
    let (mut depth, mut over) = (0usize, 0usize);
    let mut out = String::new();
    let (mut kept, mut pos) = (0usize, 0usize);
    while let Some(lt) = memchr::memchr(b'<', &bytes[pos..]).map(|i| pos + i) {
        let closing = bytes.get(lt + 1) == Some(&b'/');
        let name_at = lt + 1 + usize::from(closing);
        let name_len = bytes[name_at..].iter().take_while(|b| b.is_ascii_alphanumeric()).count();
        if name_len == 0 || !bytes[name_at].is_ascii_alphabetic() {
            // A comment is skipped whole (it may hold `<`); anything else
            // (`<!DOCTYPE`, a stray `<`) is text to this scan.
            pos = match bytes[lt + 1..].starts_with(b"!--") {
                true => memchr::memmem::find(&bytes[lt + 4..], b"-->").map_or(bytes.len(), |i| lt + 4 + i + 3),
                false => lt + 1,
            };
            continue;
        }
        let name = &html[name_at..name_at + name_len];
        let end = memchr::memchr(b'>', &bytes[name_at + name_len..]).map_or(bytes.len(), |i| name_at + name_len + i + 1);
        pos = end;
        let nests = !VOID.iter().chain(OPTIONAL_END).any(|v| v.eq_ignore_ascii_case(name)) && (closing || !bytes[..end].ends_with(b"/>"));
        if !nests {
            continue;
        }
        let drop = match closing {
            true if over > 0 => {
                over -= 1;
                true
            }
            true => {
                depth = depth.saturating_sub(1);
                false
            }
            false if depth >= max => {
                over += 1;
                true
            }
            false => {
                depth += 1;
                false
            }
        };
        if drop {
            out.push_str(&html[kept..lt]);
            kept = end;
        }
    }
    if kept == 0 {
        return Cow::Borrowed(html);
    }
    out.push_str(&html[kept..]);
    Cow::Owned(out)
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
    let input = flatten_deep(&input, MAX_HTML_DEPTH);
    let ids = if input.contains("id=") || input.contains("ID=") { ids_in(&input).into_iter().collect() } else { Default::default() };
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

/// The start tags of `html`, by a cheap scan, not a parse: `<` followed
/// by a letter, then letters or digits up to white space, `/` or `>` (so
/// text such as `a < b` is no element). Names as written (any case).
fn start_tags(html: &str) -> impl Iterator<Item = &str> {
    let bytes = html.as_bytes();
    memchr::memchr_iter(b'<', bytes).filter_map(move |i| {
        let rest = &bytes[i + 1..];
        if !rest.first().is_some_and(u8::is_ascii_alphabetic) {
            return None;
        }
        let len = rest.iter().take_while(|b| b.is_ascii_alphanumeric()).count();
        matches!(rest.get(len), None | Some(b' ' | b'\t' | b'\n' | b'\r' | b'/' | b'>')).then(|| &html[i + 1..i + 1 + len])
    })
}

/// How many of each element `html` has, lowercased (see [`start_tags`]).
pub fn element_counts(html: &str) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for name in start_tags(html) {
        *counts.entry(name.to_ascii_lowercase()).or_insert(0) += 1;
    }
    counts
}

/// What sanitizing removed, as "1 <iframe>, 1 <script>" (elements in
/// `before` that `after` has fewer of, by name, in alphabetical order),
/// or `None` when nothing was. Runs on every story normalized, so it
/// allocates nothing unless something was removed.
pub fn removed_elements(before: &str, after: &str) -> Option<String> {
    if before == after {
        return None;
    }
    // (name as first written, count in before minus count in after):
    // a story has a handful of distinct elements, so a short list beats a
    // map.
    let mut balance: Vec<(&str, isize)> = Vec::new();
    for name in start_tags(before) {
        match balance.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            Some((_, n)) => *n += 1,
            None => balance.push((name, 1)),
        }
    }
    for name in start_tags(after) {
        if let Some((_, n)) = balance.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            *n -= 1;
        }
    }
    if balance.iter().all(|(_, n)| *n <= 0) {
        return None;
    }
    let mut removed: Vec<(String, isize)> =
        balance.into_iter().filter(|(_, n)| *n > 0).map(|(name, n)| (name.to_ascii_lowercase(), n)).collect();
    removed.sort();
    Some(removed.iter().map(|(name, n)| format!("{n} <{name}>")).collect::<Vec<_>>().join(", "))
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
    fn markup_past_the_depth_cap_loses_its_tags_not_its_text() {
        let deep = |n: usize| format!("{}x{}", "<div>".repeat(n), "</div>".repeat(n));
        let cases: [(&str, String, usize, String); 8] = [
            ("shallow markup is untouched", "<div><p>x</p></div>".into(), 2, "<div><p>x</p></div>".into()),
            ("deeper tags are dropped", deep(5), 2, deep(2)),
            ("inner text stays", "<b><i><u>t</u></i></b>u".into(), 1, "<b>t</b>u".into()),
            ("void elements do not nest", "<br>".repeat(10), 2, "<br>".repeat(10)),
            ("unclosed paragraphs do not nest", "<p>a<p>b<p>c<p>d".into(), 1, "<p>a<p>b<p>c<p>d".into()),
            ("self-closing tags do not nest", "<x/><y/><z/><w/>".into(), 1, "<x/><y/><z/><w/>".into()),
            ("a comment is skipped whole", "<!--<a><b><c><d>--><e>t</e>".into(), 1, "<!--<a><b><c><d>--><e>t</e>".into()),
            ("upper case names count", "<DIV><DIV><DIV>x</DIV></DIV></DIV>".into(), 1, "<DIV>x</DIV>".into()),
        ];
        for (name, input, max, want) in cases {
            assert_eq!(flatten_deep(&input, max), want, "{name}");
        }
    }

    #[test]
    fn content_nested_deeper_than_the_cap_is_sanitized_flat() {
        let n = 50_000;
        let html = format!("{}deep text{}", "<div>".repeat(n), "</div>".repeat(n));
        let out = sanitize_html(&html, None);
        assert!(out.contains("deep text"));
        assert_eq!(out.matches("<div>").count(), MAX_HTML_DEPTH);
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
