//! Publishing: the merged channel and one channel per topic, each as RSS
//! 2.0, Atom 1.0 and JSON Feed 1.1, plus an HTML index and an OPML list.
//!
//! Every output is a pure function of the stories and the config (channel
//! dates come from the newest story, never the clock), so an unchanged
//! channel is byte-identical on the next build and [`write`] leaves its
//! file alone.

pub mod atom;
pub mod html;
pub mod jsonfeed;
pub mod opml;
pub mod pages;
pub mod rss;
pub mod write;

use chrono::{DateTime, Utc};
use std::borrow::Cow;
use std::path::PathBuf;
use url::Url;

use crate::config::Config;
use crate::model::Story;

pub const GENERATOR: &str = "wirefeed";
pub const GENERATOR_URI: &str = "https://github.com/wirefeed/wirefeed";
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What every output says about the publisher.
#[derive(Debug, Clone)]
pub struct Site {
    pub title: String,
    pub description: String,
    /// Where the output folder is served; ends with `/`.
    pub base_url: Url,
    pub language: String,
    pub author: Option<String>,
    /// WebSub hub every feed advertises (`rel="hub"`).
    pub websub_hub: Option<Url>,
}

impl Site {
    pub fn from_config(config: &Config) -> Site {
        let p = &config.publish;
        Site {
            title: p.title.clone(),
            description: p.description.clone(),
            base_url: p.base_url.clone(),
            language: p.language.clone(),
            author: p.author.clone(),
            websub_hub: p.websub_hub.clone(),
        }
    }

    /// The index page: what channel `link`s point at.
    pub fn home_url(&self) -> String {
        self.base_url.to_string()
    }
}

/// The three feed formats of every channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Rss,
    Atom,
    Json,
}

impl Format {
    pub const ALL: [Format; 3] = [Format::Rss, Format::Atom, Format::Json];

    pub fn extension(self) -> &'static str {
        match self {
            Format::Rss => "rss",
            Format::Atom => "atom",
            Format::Json => "json",
        }
    }

    pub fn mime_type(self) -> &'static str {
        match self {
            Format::Rss => "application/rss+xml",
            Format::Atom => "application/atom+xml",
            Format::Json => "application/feed+json",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Format::Rss => "RSS",
            Format::Atom => "Atom",
            Format::Json => "JSON Feed",
        }
    }
}

/// One channel: the merged `all` or a topic, its stories newest first.
#[derive(Debug, Clone)]
pub struct Channel<'a> {
    /// `None` for the merged channel.
    pub slug: Option<String>,
    pub title: String,
    pub description: String,
    pub stories: Vec<&'a Story>,
    /// Newest change among the stories (or among all stories, for an empty
    /// channel): the channel's date, stable across builds.
    pub updated: DateTime<Utc>,
}

impl Channel<'_> {
    /// Path of the channel's file in `format`, relative to the output folder.
    pub fn path(&self, format: Format) -> String {
        match &self.slug {
            None => format!("all.{}", format.extension()),
            Some(slug) => format!("topics/{slug}.{}", format.extension()),
        }
    }

    pub fn url(&self, site: &Site, format: Format) -> String {
        format!("{}{}", site.base_url, self.path(format))
    }
}

fn newest(stories: &[&Story]) -> Option<DateTime<Utc>> {
    stories.iter().map(|s| s.last_modified()).max()
}

/// Sorts newest first (stable: equal dates keep their input order) and
/// builds the merged channel followed by one channel per configured topic.
pub fn channels<'a>(config: &Config, stories: &'a [Story]) -> Vec<Channel<'a>> {
    let mut sorted: Vec<&Story> = stories.iter().collect();
    sorted.sort_by_key(|s| std::cmp::Reverse(s.published));
    let max = config.publish.max_items;
    let mut lists = vec![sorted.iter().take(max).copied().collect()];
    for t in &config.topics {
        lists.push(sorted.iter().filter(|s| s.topics.contains(&t.slug)).take(max).copied().collect());
    }
    channel_list(config, lists)
}

/// The channels, from each one's stories newest first: `lists[0]` is the
/// merged channel, then one list per configured topic in config order.
pub fn channel_list<'a>(config: &Config, lists: Vec<Vec<&'a Story>>) -> Vec<Channel<'a>> {
    let site_updated = lists.first().and_then(|all| newest(all)).unwrap_or(DateTime::UNIX_EPOCH);
    let p = &config.publish;
    let mut lists = lists.into_iter();
    let make = |slug: Option<String>, title: String, description: String, items: Vec<&'a Story>| {
        let updated = newest(&items).unwrap_or(site_updated);
        Channel { slug, title, description, stories: items, updated }
    };
    let mut out = vec![make(None, p.title.clone(), p.description.clone(), lists.next().unwrap_or_default())];
    for t in &config.topics {
        let description = if t.description.is_empty() { format!("{}: {}", p.title, t.title) } else { t.description.clone() };
        out.push(make(Some(t.slug.clone()), format!("{}: {}", p.title, t.title), description, lists.next().unwrap_or_default()));
    }
    out
}

/// A story's HTML as published: the image (or, without a URL, just its
/// caption and credit) as a figure, then the sanitized content. Caption
/// and credit were normalized as plain text, so they are escaped here.
pub fn content_html(story: &Story) -> Cow<'_, str> {
    let Some(image) = &story.image else {
        return Cow::Borrowed(&story.content);
    };
    let esc = |s: &str| quick_xml::escape::escape(s).into_owned();
    let mut html = String::with_capacity(story.content.len() + 256);
    html.push_str("<figure>");
    if let Some(url) = &image.url {
        // The figcaption labels the image; repeating the caption as alt
        // text would read it out twice.
        html.push_str(&format!(r#"<img src="{}" alt="">"#, esc(url)));
    }
    if image.caption.is_some() || image.credit.is_some() {
        html.push_str("<figcaption>");
        if let Some(caption) = &image.caption {
            html.push_str(&esc(caption));
        }
        if let Some(credit) = &image.credit {
            if image.caption.is_some() {
                html.push(' ');
            }
            html.push_str(&format!("<small>({})</small>", esc(credit)));
        }
        html.push_str("</figcaption>");
    }
    html.push_str("</figure>\n");
    html.push_str(&story.content);
    Cow::Owned(html)
}

/// MIME type of an image URL, guessed from its extension (JPEG when
/// the extension names no image type).
pub fn image_mime(url: &str) -> &'static str {
    crate::model::mime::from_url(url).filter(|m| m.starts_with("image/")).unwrap_or("image/jpeg")
}

/// What a publish run did to the output folder.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PublishReport {
    pub written: Vec<PathBuf>,
    pub unchanged: Vec<PathBuf>,
}

/// Renders every channel in every format, the pages, the index and the
/// OPML list, and writes each file that changed. (`sources.html` reads the
/// store: `build::publish_from_store` adds it.)
pub fn publish(config: &Config, stories: &[Story]) -> Result<PublishReport, write::WriteError> {
    let channels = channels(config, stories);
    write_all(config, &render(config, &channels, |_| false))
}

/// Every output file's path (relative to the output folder) and bytes:
/// feeds, pages (see [`pages`]), the index and the OPML list; the feeds
/// and river pages of a channel for which `unchanged` says so are left out.
pub fn render(config: &Config, channels: &[Channel<'_>], unchanged: impl Fn(&Channel<'_>) -> bool) -> Vec<(String, Vec<u8>)> {
    let site = Site::from_config(config);
    let mut files: Vec<(String, Vec<u8>)> = Vec::with_capacity(channels.len() * 3 + 2);
    for channel in channels.iter().filter(|c| !unchanged(c)) {
        files.push((channel.path(Format::Rss), rss::render(&site, channel)));
        files.push((channel.path(Format::Atom), atom::render(&site, channel)));
        files.push((channel.path(Format::Json), jsonfeed::render(&site, channel)));
    }
    files.extend(pages::render(config, channels, &unchanged));
    // Private channels are served only with credentials: never listed.
    let private = |c: &&Channel<'_>| c.slug.as_ref().is_some_and(|s| config.topics.iter().any(|t| &t.slug == s && t.private));
    let listed: Vec<Channel<'_>> = channels.iter().filter(|c| !private(c)).cloned().collect();
    files.push(("index.html".into(), html::render(&pages::Pages::new(config), &listed).into_bytes()));
    files.push(("channels.opml".into(), opml::render(&site, &listed).into_bytes()));
    files
}

/// Writes each file whose bytes changed, as one set: every changed file is
/// staged (written and flushed beside its target) before any is renamed
/// into place, so a failure (a full disk, a read-only folder) leaves every
/// published file as it was (see [`write::Staged`]).
pub fn write_all(config: &Config, files: &[(String, Vec<u8>)]) -> Result<PublishReport, write::WriteError> {
    let mut report = PublishReport::default();
    let mut staged = write::Staged::default();
    for (rel, bytes) in files {
        let path = config.publish.output_dir.join(rel);
        if write::unchanged(&path, bytes)? {
            report.unchanged.push(path);
        } else {
            staged.add(&path, bytes)?;
            report.written.push(path);
        }
    }
    staged.commit()?;
    Ok(report)
}
