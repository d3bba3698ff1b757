//! `index.html`: every channel (its name linking to its river page, its
//! latest story linking to the story, its subscribe links), then the
//! newest stories across the site. The head carries autodiscovery
//! `<link rel="alternate">` tags for every channel, the merged one first
//! (readers that take one feed take the first), so a reader given the
//! site's address finds them. Same header, footer and stylesheet as the
//! other pages (`pages`); no script and nothing from another site but the
//! stories' images.

use std::fmt::Write as _;

use super::Channel;
use super::pages::{self, Head, Pages, esc, river, river_path, story_href, subscribe};

/// How many of the newest stories the index shows (fewer when a river
/// page holds fewer).
pub const LATEST: usize = 10;

pub fn render(pages: &Pages<'_>, channels: &[Channel<'_>]) -> String {
    let site = &pages.site;
    let mut html = String::with_capacity(8192 + channels.len() * 900);
    let mut extra = String::new();
    for channel in channels {
        pages::autodiscovery(&mut extra, site, channel);
    }
    let head = Head { path: "index.html", title: &site.title, description: Some(&site.description), extra, current: None };
    pages::open(&mut html, pages, &head);
    let _ = writeln!(html, "<h1>{}</h1>", esc(&site.title));
    if !site.description.is_empty() {
        let _ = writeln!(html, "<p class=\"lede\">{}</p>", esc(&site.description));
    }
    html.push_str("<section aria-labelledby=\"channels\">\n<h2 id=\"channels\">Channels</h2>\n");
    html.push_str("<p class=\"meta\">Read a channel here, or subscribe to it in your feed reader; import <a href=\"channels.opml\">all channels (OPML)</a> at once.</p>\n");
    html.push_str("<ul class=\"channels-list\">\n");
    for channel in channels {
        channel_item(&mut html, pages, channel);
    }
    html.push_str("</ul>\n</section>\n");
    let latest: Vec<_> = channels.first().map(|all| all.stories.iter().take(LATEST.min(pages.page_size)).collect()).unwrap_or_default();
    if !latest.is_empty() {
        html.push_str("<section aria-labelledby=\"latest\">\n<h2 id=\"latest\">Latest stories</h2>\n");
        for story in latest {
            pages::story_card(&mut html, pages, "", story, 3);
        }
        html.push_str("<p><a href=\"all.html\">All stories →</a></p>\n</section>\n");
    }
    pages::close(&mut html, "index.html");
    html
}

fn channel_item(html: &mut String, pages: &Pages<'_>, channel: &Channel<'_>) {
    let class = if channel.slug.is_none() { "channel all" } else { "channel" };
    let river = esc(&river_path(channel.slug.as_deref(), 1)).into_owned();
    let _ = writeln!(html, "<li class=\"{class}\">\n<h3><a href=\"{river}\">{}</a></h3>", esc(river::heading(pages, channel)));
    // The merged channel's description is the site's, shown above.
    if channel.slug.is_some() && !channel.description.is_empty() && channel.description != channel.title {
        let _ = writeln!(html, "<p>{}</p>", esc(&channel.description));
    }
    let latest = match channel.stories.first() {
        Some(s) => {
            let title = match story_href(pages, "", s) {
                Some(href) => format!("<a href=\"{href}\" dir=\"auto\">{}</a>", esc(&s.title)),
                None => format!("<span dir=\"auto\">{}</span>", esc(&s.title)),
            };
            format!(
                "{} {} · latest <time datetime=\"{}\">{}</time>: {title}",
                channel.stories.len(),
                if channel.stories.len() == 1 { "story" } else { "stories" },
                pages::iso(s.published),
                pages::readable(&pages.site, s.published),
            )
        }
        None => "No stories yet.".to_owned(),
    };
    let _ = writeln!(html, "<p class=\"meta\">{latest}</p>");
    subscribe(html, "", channel);
    html.push_str("</li>\n");
}
