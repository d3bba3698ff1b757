//! RSS 2.0, written with the `rss` crate.
//!
//! Namespaces: `atom` (self link), `content` (full HTML), `dc` (authors:
//! RSS `<author>` must be an e-mail address, `dc:creator` takes a name) and
//! `media` (Media RSS, for image caption and credit).

use rss::extension::dublincore::DublinCoreExtension;
use rss::extension::{Extension, ExtensionMap};
use rss::{Category, Enclosure, Guid, Item};
use std::collections::BTreeMap;

use super::{Channel, Format, GENERATOR, GENERATOR_URI, Site, VERSION, content_html, image_mime};
use crate::model::Story;

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
        description: story.summary.clone(),
        content: Some(content_html(story).into_owned()),
        guid: Some(Guid { value: story.id.clone(), permalink: false }),
        pub_date: Some(story.published.to_rfc2822()),
        categories: story.categories.iter().map(|c| Category { name: c.clone(), domain: None }).collect(),
        ..Default::default()
    };
    if !story.authors.is_empty() {
        item.dublin_core_ext = Some(DublinCoreExtension { creators: story.authors.clone(), ..Default::default() });
    }
    if let Some(image) = &story.image
        && let Some(url) = &image.url
    {
        let mime = image_mime(url);
        // The size is unknown without fetching the image; 0 is the
        // customary "unknown" that readers and validators accept.
        item.enclosure = Some(Enclosure { url: url.clone(), length: "0".into(), mime_type: mime.into() });
        item.extensions = media_extension(url, mime, image.caption.as_deref(), image.credit.as_deref());
    }
    item
}

fn element(name: &str, value: Option<String>, attrs: &[(&str, &str)]) -> Extension {
    Extension {
        name: name.into(),
        value,
        attrs: attrs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        children: BTreeMap::new(),
    }
}

/// `<media:content url type medium="image">` with the caption as
/// `media:description` and the credit as `media:credit`.
fn media_extension(url: &str, mime: &str, caption: Option<&str>, credit: Option<&str>) -> ExtensionMap {
    let mut content = element("media:content", None, &[("url", url), ("type", mime), ("medium", "image")]);
    if let Some(caption) = caption {
        content.children.insert("description".into(), vec![element("media:description", Some(caption.into()), &[("type", "plain")])]);
    }
    if let Some(credit) = credit {
        content.children.insert("credit".into(), vec![element("media:credit", Some(credit.into()), &[])]);
    }
    let mut media = BTreeMap::new();
    media.insert("content".to_owned(), vec![content]);
    let mut map = ExtensionMap::new();
    map.insert("media".to_owned(), media);
    map
}
