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

thread_local! {
    /// The base URL of the fragment being cleaned on this thread. ammonia's
    /// relative-URL hook sees only the URL, and building a new `Builder`
    /// per story (dozens of hash sets) cost more than the cleaning itself,
    /// so one builder per thread reads the base from here.
    static BASE: RefCell<Option<Url>> = const { RefCell::new(None) };
    static BUILDER: Builder<'static> = builder();
}

/// Resolves a relative URL against the current base; without a base it is
/// dropped, since a reader would resolve it against the feed's own URL.
fn resolve(relative: &str) -> Option<Cow<'_, str>> {
    BASE.with_borrow(|base| base.as_ref().and_then(|b| b.join(relative).ok()).map(|u| Cow::Owned(u.into())))
}

fn builder() -> Builder<'static> {
    let mut b = Builder::default();
    b.link_rel(Some("noopener noreferrer"));
    b.url_relative(UrlRelative::Custom(Box::new(resolve)));
    b
}

/// Sanitizes an HTML fragment, resolving relative URLs against `base`.
/// The result is NFC, free of XML-forbidden characters, and trimmed.
pub fn sanitize_html(html: &str, base: Option<&Url>) -> String {
    if html.trim().is_empty() {
        return String::new();
    }
    let input = xml_safe_nfc(html);
    BASE.with_borrow_mut(|b| b.clone_from(&base.cloned()));
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
    fn keeps_typographic_quotes_and_figure_markup() {
        let out = sanitize_html("<figure><figcaption>“Quoted” — credit</figcaption></figure>", None);
        assert_eq!(out, "<figure><figcaption>“Quoted” — credit</figcaption></figure>");
    }
}
