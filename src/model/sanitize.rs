//! HTML sanitizing: the one place untrusted markup is made safe.
//!
//! ammonia (html5ever underneath) parses like a browser, so tricks that
//! fool regex-based cleaners (broken tags, entity-encoded schemes, nested
//! comments) are parsed the way a reader would and then dropped. Its
//! defaults already remove `<script>`, `<style>`, `<iframe>`, `<object>`,
//! event-handler attributes and every URL scheme outside a whitelist
//! (so no `javascript:`/`vbscript:`/`data:`).

use ammonia::{Builder, UrlRelative};
use std::sync::OnceLock;
use url::Url;

use super::text::xml_safe_nfc;

fn builder(base: Option<&Url>) -> Builder<'static> {
    let mut b = Builder::default();
    b.link_rel(Some("noopener noreferrer"));
    b.url_relative(match base {
        Some(base) => UrlRelative::RewriteWithBase(base.clone()),
        // Without a base a relative URL cannot be made absolute, and a
        // reader would resolve it against the feed's own URL: drop it.
        None => UrlRelative::Deny,
    });
    b
}

/// Sanitizes an HTML fragment, resolving relative URLs against `base`.
/// The result is NFC, free of XML-forbidden characters, and trimmed.
pub fn sanitize_html(html: &str, base: Option<&Url>) -> String {
    if html.trim().is_empty() {
        return String::new();
    }
    static NO_BASE: OnceLock<Builder<'static>> = OnceLock::new();
    let input = xml_safe_nfc(html);
    let cleaned = match base {
        None => NO_BASE.get_or_init(|| builder(None)).clean(&input).to_string(),
        Some(base) => builder(Some(base)).clean(&input).to_string(),
    };
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
