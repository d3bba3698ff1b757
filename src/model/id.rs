//! Stable story ids and canonical links.
//!
//! An id must come out the same every time the same story is seen, on any
//! machine, so it is a pure function of the story: a name-based UUIDv5
//! (RFC 9562) under a wirefeed namespace, written as a `urn:uuid:` URI so
//! it is valid as an Atom id and an RSS guid alike.

use url::Url;
use uuid::Uuid;

use super::text::clean_text;

/// wirefeed's UUIDv5 namespace: UUIDv5(URL namespace, "https://wirefeed.dev/story").
/// Fixed forever: changing it changes every id ever published.
pub const NAMESPACE: Uuid = Uuid::from_u128(0x67779adb_46d5_5efe_b6c8_7afdea2163f7);

/// What a story's id is derived from, strongest first.
pub enum IdBasis<'a> {
    /// The id the origin gave the story (feed guid / Atom id), scoped to
    /// its source, because two feeds may both call an entry "1".
    Origin { source: &'a str, id: &'a str },
    /// The canonical link (see [`canonical_link`]).
    Link(&'a str),
    /// Neither: source plus normalized title.
    Title { source: &'a str, title: &'a str },
}

pub fn story_id(basis: IdBasis<'_>) -> String {
    let name = match basis {
        IdBasis::Origin { source, id } => format!("origin\u{0}{}\u{0}{}", source.to_lowercase(), id.trim()),
        IdBasis::Link(link) => format!("link\u{0}{}", canonical_link(link)),
        IdBasis::Title { source, title } => {
            format!("title\u{0}{}\u{0}{}", source.to_lowercase(), clean_text(title).to_lowercase())
        }
    };
    format!("urn:uuid:{}", Uuid::new_v5(&NAMESPACE, name.as_bytes()))
}

/// Query parameters that only track the click, never select the content.
fn is_tracking_param(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.starts_with("utm_")
        || matches!(
            n.as_str(),
            "fbclid" | "gclid" | "dclid" | "msclkid" | "mc_cid" | "mc_eid" | "igshid" | "yclid" | "_hsenc" | "_hsmi" | "ref_src"
        )
}

/// A link with tracking parameters removed; otherwise as given (the url
/// crate already lowercases the host and drops a default port).
pub fn clean_link(url: &Url) -> Url {
    let mut url = url.clone();
    if url.query().is_some() {
        let kept: Vec<(String, String)> =
            url.query_pairs().filter(|(k, _)| !is_tracking_param(k)).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        if kept.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(kept);
        }
    }
    url
}

/// The key under which two links count as the same story: scheme and host
/// case, default port, tracking parameters, fragment and a trailing slash
/// do not matter. Unparseable links are compared as trimmed text.
pub fn canonical_link(link: &str) -> String {
    let Ok(url) = Url::parse(link.trim()) else {
        return link.trim().to_owned();
    };
    let mut url = clean_link(&url);
    url.set_fragment(None);
    if url.scheme() == "https" {
        // http and https of one page are one story.
        let _ = url.set_scheme("http");
    }
    let mut s = url.to_string();
    if s.ends_with('/') && url.query().is_none() {
        s.pop();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_is_the_documented_one() {
        let derived = Uuid::new_v5(&Uuid::NAMESPACE_URL, b"https://wirefeed.dev/story");
        assert_eq!(NAMESPACE, derived, "{derived:x}");
    }

    #[test]
    fn canonical_link_ignores_noise() {
        let a = canonical_link("HTTPS://News.Example.org:443/a/b/?utm_source=x&id=3&fbclid=y#top");
        let b = canonical_link("http://news.example.org/a/b/?id=3");
        assert_eq!(a, b);
        assert_eq!(canonical_link("http://x.org/a/"), canonical_link("http://x.org/a"));
        assert_ne!(canonical_link("http://x.org/a?id=1"), canonical_link("http://x.org/a?id=2"));
    }

    #[test]
    fn ids_are_stable_and_distinct() {
        let a = story_id(IdBasis::Link("http://x.org/a?utm_medium=rss"));
        assert_eq!(a, story_id(IdBasis::Link("https://X.org/a")));
        assert!(a.starts_with("urn:uuid:"));
        let t1 = story_id(IdBasis::Title { source: "Newsroom", title: "A  Title" });
        assert_eq!(t1, story_id(IdBasis::Title { source: "newsroom", title: "a title" }));
        assert_ne!(t1, story_id(IdBasis::Title { source: "Other", title: "a title" }));
        assert_ne!(story_id(IdBasis::Origin { source: "A", id: "1" }), story_id(IdBasis::Origin { source: "B", id: "1" }));
    }
}
