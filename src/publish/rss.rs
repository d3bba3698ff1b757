//! RSS 2.0, written with the `rss` crate.
//!
//! Namespaces: `atom` (self link), `content` (full HTML), `dc` (authors:
//! RSS `<author>` must be an e-mail address, `dc:creator` takes a name) and
//! `media` (Media RSS, for image caption and credit).

use rss::extension::dublincore::DublinCoreExtension;
use rss::extension::{Extension, ExtensionMap};
use rss::{Category, Enclosure, Guid, Item, Source};
use std::collections::BTreeMap;

use super::{Channel, Format, GENERATOR, GENERATOR_URI, Site, VERSION, content_html, image_mime};
use crate::model::{Attachment, Story};

const ATOM_NS: &str = "http://www.w3.org/2005/Atom";
const CONTENT_NS: &str = "http://purl.org/rss/1.0/modules/content/";
const DC_NS: &str = "http://purl.org/dc/elements/1.1/";
const MEDIA_NS: &str = "http://search.yahoo.com/mrss/";

pub fn render(site: &Site, channel: &Channel<'_>) -> Vec<u8> {
    let namespaces: BTreeMap<String, String> = [("atom", ATOM_NS), ("content", CONTENT_NS), ("dc", DC_NS), ("media", MEDIA_NS)]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let self_link = rss::extension::atom::Link {
        href: channel.url(site, Format::Rss),
        rel: "self".into(),
        mime_type: Some(Format::Rss.mime_type().into()),
        ..Default::default()
    };
    // WebSub: the hub sits beside the self link (the topic URL subscribers use).
    let hub_link =
        site.websub_hub.as_ref().map(|hub| rss::extension::atom::Link { href: hub.to_string(), rel: "hub".into(), ..Default::default() });
    let out = rss::Channel {
        title: channel.title.clone(),
        link: site.home_url(),
        description: if channel.description.is_empty() { channel.title.clone() } else { channel.description.clone() },
        language: Some(site.language.clone()),
        last_build_date: Some(channel.updated.to_rfc2822()),
        generator: Some(format!("{GENERATOR} {VERSION} ({GENERATOR_URI})")),
        docs: Some("https://www.rssboard.org/rss-specification".into()),
        atom_ext: Some(rss::extension::atom::AtomExtension { links: std::iter::once(self_link).chain(hub_link).collect() }),
        namespaces,
        items: channel.stories.iter().map(|s| item(s)).collect(),
        ..Default::default()
    };
    let buf = Vec::with_capacity(1024 + channel.stories.iter().map(|s| 2 * s.content.len() + 1024).sum::<usize>());
    // Writing into a Vec cannot fail.
    let mut buf = out.write_to(buf).expect("writing RSS to memory");
    buf.push(b'\n');
    buf
}

fn item(story: &Story) -> Item {
    let mut item = Item {
        title: Some(story.title.clone()),
        link: story.link.clone(),
        // Readers treat <description> as HTML: the plain-text summary is
        // escaped so `<col>` reads as text, not as a tag.
        description: story.summary.as_deref().map(|s| quick_xml::escape::escape(s).into_owned()),
        content: Some(content_html(story).into_owned()),
        guid: Some(Guid { value: story.id.clone(), permalink: false }),
        pub_date: Some(story.published.to_rfc2822()),
        categories: story.categories.iter().map(|c| Category { name: c.clone(), domain: None }).collect(),
        ..Default::default()
    };
    if !story.authors.is_empty() {
        // One dc:creator naming everyone: readers (newsboat among them)
        // show only the last of several.
        item.dublin_core_ext = Some(DublinCoreExtension { creators: vec![join_names(&story.authors)], ..Default::default() });
    }
    // RSS 2.0 allows one enclosure: the first audio or video; without
    // one, the lead image (so readers still show a picture).
    let image_url = story.image.as_ref().and_then(|i| i.url.as_deref());
    item.enclosure = match story.attachments.iter().find(|a| a.is_media()) {
        Some(a) => Some(Enclosure { url: a.url.clone(), length: a.length.unwrap_or(0).to_string(), mime_type: a.mime_type.clone() }),
        // The size is unknown without fetching the image; 0 is the
        // customary "unknown" that readers and validators accept.
        None => image_url.map(|url| Enclosure { url: url.into(), length: "0".into(), mime_type: image_mime(url).into() }),
    };
    let mut media = Vec::with_capacity(story.attachments.len() + 1);
    if let (Some(image), Some(url)) = (&story.image, image_url) {
        media.push(image_content(url, image.caption.as_deref(), image.credit.as_deref()));
    }
    media.extend(story.attachments.iter().map(attachment_content));
    if !media.is_empty() {
        let mut map = ExtensionMap::new();
        map.insert("media".to_owned(), BTreeMap::from([("content".to_owned(), media)]));
        item.extensions = map;
    }
    if let Some(origin) = &story.origin
        && let Some(url) = &origin.feed_url
    {
        let title = (!origin.title.is_empty()).then(|| origin.title.clone());
        item.source = Some(Source { url: url.clone(), title: title.or_else(|| Some(story.source.clone())) });
    }
    item
}

/// "A", "A and B", "A, B and C".
fn join_names(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn element(name: &str, value: Option<String>, attrs: &[(&str, &str)]) -> Extension {
    Extension {
        name: name.into(),
        value,
        attrs: attrs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        children: BTreeMap::new(),
    }
}

/// The lead image: `<media:content url type medium="image">` with the
/// caption as `media:description` and the credit as `media:credit`.
fn image_content(url: &str, caption: Option<&str>, credit: Option<&str>) -> Extension {
    let mut content = element("media:content", None, &[("url", url), ("type", image_mime(url)), ("medium", "image")]);
    if let Some(caption) = caption {
        content.children.insert("description".into(), vec![element("media:description", Some(caption.into()), &[("type", "plain")])]);
    }
    if let Some(credit) = credit {
        content.children.insert("credit".into(), vec![element("media:credit", Some(credit.into()), &[])]);
    }
    content
}

/// An attachment as Media RSS `media:content` (url, type, fileSize,
/// duration, medium; the title as `media:title`).
fn attachment_content(a: &Attachment) -> Extension {
    let (length, duration) = (a.length.map(|n| n.to_string()), a.duration.map(|d| d.to_string()));
    let medium = ["audio", "video", "image"].into_iter().find(|m| a.mime_type.starts_with(&format!("{m}/"))).unwrap_or("document");
    let mut attrs = vec![("url", a.url.as_str()), ("type", a.mime_type.as_str()), ("medium", medium)];
    if let Some(n) = &length {
        attrs.push(("fileSize", n));
    }
    if let Some(d) = &duration {
        attrs.push(("duration", d));
    }
    let mut content = element("media:content", None, &attrs);
    if let Some(title) = &a.title {
        content.children.insert("title".into(), vec![element("media:title", Some(title.clone()), &[("type", "plain")])]);
    }
    content
}
