//! JSON Feed 1.1 (https://jsonfeed.org/version/1.1), serialized straight
//! from borrowed story fields.

use serde::Serialize;
use std::borrow::Cow;

use super::{Channel, Format, Site, content_html};
use crate::model::Story;

pub const VERSION_URL: &str = "https://jsonfeed.org/version/1.1";

#[derive(Serialize)]
struct JsonFeed<'a> {
    version: &'static str,
    title: &'a str,
    home_page_url: String,
    feed_url: String,
    #[serde(skip_serializing_if = "str::is_empty")]
    description: &'a str,
    language: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    authors: Vec<Author<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hubs: Vec<Hub<'a>>,
    items: Vec<Item<'a>>,
}

/// JSON Feed's real-time notification endpoint (WebSub).
#[derive(Serialize)]
struct Hub<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    url: &'a str,
}

#[derive(Serialize)]
struct Author<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct Item<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    title: &'a str,
    content_html: Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<&'a str>,
    date_published: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    date_modified: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    authors: Vec<Author<'a>>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    tags: &'a [String],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    attachments: Vec<JsonAttachment<'a>>,
    /// wirefeed's extension (JSON Feed 1.1 allows `_`-prefixed keys): the
    /// feed an external item was taken from.
    #[serde(rename = "_source", skip_serializing_if = "Option::is_none")]
    source: Option<JsonSource<'a>>,
}

#[derive(Serialize)]
struct JsonAttachment<'a> {
    url: &'a str,
    mime_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    size_in_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    duration_in_seconds: Option<u64>,
}

#[derive(Serialize)]
struct JsonSource<'a> {
    title: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    feed_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    home_page_url: Option<&'a str>,
}

fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn item(story: &Story) -> Item<'_> {
    Item {
        id: &story.id,
        url: story.link.as_deref(),
        title: &story.title,
        content_html: content_html(story),
        summary: story.summary.as_deref(),
        image: story.image.as_ref().and_then(|i| i.url.as_deref()),
        date_published: rfc3339(story.published),
        date_modified: story.updated.map(rfc3339),
        authors: story.authors.iter().map(|a| Author { name: a }).collect(),
        tags: &story.categories,
        attachments: story
            .attachments
            .iter()
            .map(|a| JsonAttachment {
                url: &a.url,
                mime_type: &a.mime_type,
                title: a.title.as_deref(),
                size_in_bytes: a.length,
                duration_in_seconds: a.duration,
            })
            .collect(),
        source: story.origin.as_ref().map(|o| JsonSource {
            title: if o.title.is_empty() { &story.source } else { &o.title },
            feed_url: o.feed_url.as_deref(),
            home_page_url: o.site_url.as_deref(),
        }),
    }
}

pub fn render(site: &Site, channel: &Channel<'_>) -> Vec<u8> {
    let feed = JsonFeed {
        version: VERSION_URL,
        title: &channel.title,
        home_page_url: site.home_url(),
        feed_url: channel.url(site, Format::Json),
        description: &channel.description,
        language: &site.language,
        authors: site.author.as_deref().map(|name| Author { name }).into_iter().collect(),
        hubs: site.websub_hub.as_ref().map(|hub| Hub { kind: "WebSub", url: hub.as_str() }).into_iter().collect(),
        items: channel.stories.iter().map(|s| item(s)).collect(),
    };
    let mut buf = Vec::with_capacity(1024 + channel.stories.iter().map(|s| 2 * s.content.len() + 512).sum::<usize>());
    serde_json::to_writer(&mut buf, &feed).expect("serializing JSON Feed to memory");
    buf.push(b'\n');
    buf
}
