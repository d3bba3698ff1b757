//! Atom 1.0 (RFC 4287), written with `atom_syndication`.
//!
//! Structs are built directly (not through the builders, which clone every
//! field a second time), and the output buffer is sized up front: that is
//! where the crate's time goes on large channels.

use atom_syndication::{Category, Content, Entry, Feed, Generator, Link, Person, Source, Text};
use chrono::{DateTime, FixedOffset, Utc};

use super::{Channel, Format, GENERATOR, GENERATOR_URI, Site, VERSION, content_html, image_mime};
use crate::model::{Origin, Story};

fn fixed(t: DateTime<Utc>) -> DateTime<FixedOffset> {
    t.fixed_offset()
}

fn link(href: String, rel: &str, mime: &str) -> Link {
    Link { href, rel: rel.into(), mime_type: Some(mime.into()), ..Default::default() }
}

pub fn render(site: &Site, channel: &Channel<'_>) -> Vec<u8> {
    let self_url = channel.url(site, Format::Atom);
    let mut links = vec![link(self_url.clone(), "self", Format::Atom.mime_type()), link(site.home_url(), "alternate", "text/html")];
    if let Some(hub) = &site.websub_hub {
        links.push(Link { href: hub.to_string(), rel: "hub".into(), ..Default::default() });
    }
    let feed = Feed {
        title: Text::plain(channel.title.clone()),
        id: self_url.clone(),
        updated: fixed(channel.updated),
        authors: vec![Person { name: site.author.clone().unwrap_or_else(|| site.title.clone()), ..Default::default() }],
        generator: Some(Generator { value: GENERATOR.into(), uri: Some(GENERATOR_URI.into()), version: Some(VERSION.into()) }),
        links,
        subtitle: (!channel.description.is_empty()).then(|| Text::plain(channel.description.clone())),
        lang: Some(site.language.clone()),
        entries: channel.stories.iter().map(|s| entry(s)).collect(),
        ..Default::default()
    };
    let buf = Vec::with_capacity(1024 + channel.stories.iter().map(|s| 2 * s.content.len() + 1024).sum::<usize>());
    let mut buf = feed.write_to(buf).expect("writing Atom to memory");
    buf.push(b'\n');
    buf
}

fn entry(story: &Story) -> Entry {
    let mut links = Vec::with_capacity(2 + story.attachments.len());
    if let Some(href) = &story.link {
        links.push(link(href.clone(), "alternate", "text/html"));
    }
    for a in &story.attachments {
        links.push(Link {
            href: a.url.clone(),
            rel: "enclosure".into(),
            mime_type: Some(a.mime_type.clone()),
            length: a.length.map(|n| n.to_string()),
            title: a.title.clone(),
            ..Default::default()
        });
    }
    // The lead image as an enclosure too, unless the story has audio or
    // video: readers take the first enclosure as the one to play.
    if !story.attachments.iter().any(|a| a.is_media())
        && let Some(url) = story.image.as_ref().and_then(|i| i.url.as_ref())
    {
        links.push(link(url.clone(), "enclosure", image_mime(url)));
    }
    Entry {
        title: Text::plain(story.title.clone()),
        id: story.id.clone(),
        updated: fixed(story.last_modified()),
        published: Some(fixed(story.published)),
        authors: story.authors.iter().map(|a| Person { name: a.clone(), ..Default::default() }).collect(),
        categories: story.categories.iter().map(|c| Category { term: c.clone(), ..Default::default() }).collect(),
        links,
        summary: story.summary.as_ref().map(|s| Text::plain(s.clone())),
        content: Some(Content { value: Some(content_html(story).into_owned()), content_type: Some("html".into()), ..Default::default() }),
        source: story.origin.as_ref().and_then(|o| source(o, story)),
        ..Default::default()
    }
}

/// RFC 4287 §4.2.11 `<source>`: the feed the entry was copied from. Its
/// id must be an IRI, so a feed id that is not one gives way to the feed
/// URL; without either there is nothing to name and no `<source>`.
/// `updated` is required by the writer: without the feed's own, the
/// entry's date is a true lower bound (the feed carried it).
fn source(origin: &Origin, story: &Story) -> Option<Source> {
    let iri = |s: &str| url::Url::parse(s).is_ok();
    let id = Some(origin.id.as_str()).filter(|i| iri(i)).or(origin.feed_url.as_deref())?.to_owned();
    let mut links = Vec::with_capacity(2);
    if let Some(feed) = &origin.feed_url {
        links.push(Link { href: feed.clone(), rel: "self".into(), ..Default::default() });
    }
    if let Some(site) = &origin.site_url {
        links.push(link(site.clone(), "alternate", "text/html"));
    }
    let title = if origin.title.is_empty() { story.source.clone() } else { origin.title.clone() };
    Some(Source {
        id,
        title: Text::plain(title),
        updated: fixed(origin.updated.unwrap_or_else(|| story.last_modified())),
        links,
        ..Default::default()
    })
}
