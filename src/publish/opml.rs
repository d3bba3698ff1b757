//! `channels.opml` (OPML 2.0): every channel, for one-step import into a
//! feed reader. Each channel is listed once, as its RSS feed, the format
//! every reader understands.

use super::{Channel, Format, GENERATOR, Site};

fn esc(s: &str) -> std::borrow::Cow<'_, str> {
    quick_xml::escape::escape(s)
}

pub fn render(site: &Site, channels: &[Channel<'_>]) -> String {
    let mut out = String::with_capacity(512 + channels.len() * 300);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\">\n<head>\n");
    out.push_str(&format!("<title>{}</title>\n", esc(&site.title)));
    if let Some(updated) = channels.iter().map(|c| c.updated).max() {
        out.push_str(&format!("<dateModified>{}</dateModified>\n", updated.to_rfc2822()));
    }
    out.push_str(&format!("<docs>http://opml.org/spec2.opml</docs>\n<generator>{GENERATOR}</generator>\n</head>\n<body>\n"));
    for c in channels {
        out.push_str(&format!(
            "<outline type=\"rss\" text=\"{t}\" title=\"{t}\" description=\"{d}\" xmlUrl=\"{x}\" htmlUrl=\"{h}\" language=\"{l}\"/>\n",
            t = esc(&c.title),
            d = esc(&c.description),
            x = esc(&c.url(site, Format::Rss)),
            h = esc(&site.home_url()),
            l = esc(&site.language),
        ));
    }
    out.push_str("</body>\n</opml>\n");
    out
}
