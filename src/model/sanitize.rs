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
}

thread_local! {
    static FRAGMENT: RefCell<Fragment> = RefCell::new(Fragment::default());
    static BUILDER: Builder<'static> = builder();
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

/// Sanitizes an HTML fragment, resolving relative URLs against `base`.
/// The result is NFC, free of XML-forbidden characters, and trimmed.
pub fn sanitize_html(html: &str, base: Option<&Url>) -> String {
    if html.trim().is_empty() {
        return String::new();
    }
    let input = xml_safe_nfc(html);
    let ids = if input.contains("id=") || input.contains("ID=") { ids_in(&input) } else { Vec::new() };
    FRAGMENT.with_borrow_mut(|f| *f = Fragment { base: base.cloned(), ids });
    let cleaned = BUILDER.with(|builder| builder.clean(&input).to_string());
    cleaned.trim().to_owned()
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
}
