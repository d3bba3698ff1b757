//! The lenient feed parser: RSS 0.9x/1.0/2.0, Atom 0.3/1.0 and JSON Feed.
//!
//! One file per concern. Each format reads its own structs (`rss`'s
//! `RssChannel`/`RssItem`, `atom`'s `AtomFeed`/`AtomItem`, `json`'s
//! serde structs, and `ext`'s `ExtItem` for the namespaces all of them
//! share); the format's adapter maps those onto [`ParsedFeed`] and
//! [`ParsedEntry`], and [`ParsedEntry::into_draft`] onto the story model.
//! Broken input is recovered where a browser would recover, and the problem
//! is reported as `bozo` instead of an error, because a feed with a stray
//! `&nbsp;` is still a feed its readers want.

mod atom;
mod attrs;
mod date;
mod encoding;
mod entities;
mod escape;
mod ext;
mod hints;
mod item;
mod json;
mod limits;
mod model;
mod ns;
mod report;
mod rss;
mod text;
mod xml;

use url::Url;

pub use date::{clamp_future, parse_date};
pub use encoding::{Decoded, parse_content_type, to_utf8};
pub use hints::FeedHints;
pub use limits::{LIST_CEILING, Limits, truncate_utf8};
pub use model::{Enclosure, EntryImage, FeedFormat, ParseContext, ParseError, ParsedEntry, ParsedFeed, TextKind};
pub use report::{FIXTURE_URL_ROOT, conformance_json, fixture_context, run_parse_command};
pub use text::strip_html;

/// Decodes HTML/XML character references (named HTML5, numeric), keeping
/// anything that is not one as literal text.
pub fn unescape_html(s: &str) -> String {
    xml::unescape_lenient(std::borrow::Cow::Borrowed(s)).into_owned()
}

use xml::{Ev, XmlReader};

/// Parses a feed document of any supported format, within the default
/// [`Limits`].
pub fn parse_feed(bytes: &[u8], ctx: &ParseContext) -> Result<ParsedFeed, ParseError> {
    parse_feed_with(bytes, ctx, &Limits::default())
}

/// Parses a feed document of any supported format, within `limits`: what
/// is over a cap is cut or dropped, and [`ParsedFeed::notes`] says so.
pub fn parse_feed_with(bytes: &[u8], ctx: &ParseContext, limits: &Limits) -> Result<ParsedFeed, ParseError> {
    let decoded = to_utf8(bytes, ctx.content_type.as_deref());
    let text: &[u8] = &decoded.text;
    let start = text.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(text.len());
    let (mut feed, capped) = match text.get(start) {
        None => return Err(ParseError::Empty),
        Some(b'{') => json::parse(&text[start..], ctx.base_url.as_ref(), limits.max_entries, limits.max_depth)?,
        Some(_) => parse_xml(text, ctx.base_url.clone(), limits)?,
    };
    limits.apply(&mut feed, capped);
    feed.dedup_entries();
    feed.entries.shrink_to_fit();
    if let Some(reason) = decoded.bozo {
        feed.bozo = true;
        feed.bozo_reason.get_or_insert(reason);
    }
    Ok(feed)
}

/// Finds the root element and hands the document to the matching format.
fn parse_xml(text: &[u8], base: Option<Url>, limits: &Limits) -> Result<(ParsedFeed, limits::XmlCapped), ParseError> {
    let mut xr = XmlReader::with_limits(text, base, *limits);
    let root = loop {
        match xr.next() {
            Ev::Start(e) => break e,
            Ev::Eof => return Err(ParseError::NotAFeed("no root element".into())),
            _ => {}
        }
    };
    let mut feed = match root.name() {
        b"rss" | b"channel" => rss::parse(&mut xr, root),
        b"rdf" => rss::parse_rdf(&mut xr),
        b"feed" => atom::parse(&mut xr, root),
        other => return Err(ParseError::NotAFeed(format!("unknown root element <{}>", String::from_utf8_lossy(other)))),
    };
    xr.finish();
    if xml::has_forbidden_chars(text) {
        xr.set_bozo(|| "a control character XML forbids".into());
    }
    if let Some(reason) = xr.bozo.take() {
        feed.bozo = true;
        feed.bozo_reason = Some(reason);
    }
    Ok((feed, xr.capped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_formats_and_rejects_non_feeds() {
        let ctx = ParseContext::default();
        assert_eq!(parse_feed(b"  \n", &ctx), Err(ParseError::Empty));
        assert!(matches!(parse_feed(b"<html><body/></html>", &ctx), Err(ParseError::NotAFeed(_))));
        let json = br#"{"version":"https://jsonfeed.org/version/1","title":"J","items":[]}"#;
        assert_eq!(parse_feed(json, &ctx).unwrap().format, FeedFormat::JsonFeed10);
        let f = parse_feed("\u{feff}<rss version=\"0.91\"><channel/></rss>".as_bytes(), &ctx).unwrap();
        assert_eq!(f.format, FeedFormat::Rss091);
    }

    #[test]
    fn mislabelled_charset_marks_bozo() {
        let ctx = ParseContext { base_url: None, content_type: Some("text/plain".into()) };
        let f = parse_feed(b"<rss version=\"2.0\"><channel><title>x</title></channel></rss>", &ctx).unwrap();
        assert!(f.bozo);
        assert_eq!(f.title.as_deref(), Some("x"));
    }
}
