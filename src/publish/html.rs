//! `index.html`: every channel with its subscribe links, and autodiscovery
//! `<link rel="alternate">` tags for every channel (the merged one first,
//! since readers that take one feed take the first), so a reader given the
//! site URL finds them. Links within the page are relative, so the folder
//! works wherever it is served (or opened from disk). No script and no
//! external resource: the page is one request, and works in any browser.

use super::{Channel, Format, GENERATOR, Site, VERSION};

fn esc(s: &str) -> std::borrow::Cow<'_, str> {
    quick_xml::escape::escape(s)
}

// `overflow-wrap:anywhere` keeps long titles and URLs from widening the
// page past a phone's screen.
const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;margin:0 auto;max-width:46rem;padding:1rem;color:#222;overflow-wrap:anywhere}\
h1{font-size:1.6rem;margin:.5rem 0}ul{list-style:none;padding:0}\
li.channel{border-top:1px solid #ddd;padding:.75rem 0}\
.meta{color:#666;font-size:.9rem}.links a{display:inline-block;margin:.25rem .75rem .25rem 0;padding:.1rem .5rem;border:1px solid #ccc;border-radius:4px;text-decoration:none}\
footer{color:#888;font-size:.8rem;margin-top:2rem}";

pub fn render(site: &Site, channels: &[Channel<'_>]) -> String {
    let mut html = String::with_capacity(4096 + channels.len() * 800);
    html.push_str("<!DOCTYPE html>\n");
    html.push_str(&format!("<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n", esc(&site.language)));
    html.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    html.push_str(&format!("<title>{}</title>\n", esc(&site.title)));
    // An empty icon: browsers otherwise ask for /favicon.ico, which the
    // output folder does not have (a 404 in every server log).
    html.push_str("<link rel=\"icon\" href=\"data:,\">\n");
    for channel in channels {
        for format in Format::ALL {
            html.push_str(&format!(
                "<link rel=\"alternate\" type=\"{}\" title=\"{} ({})\" href=\"{}\">\n",
                format.mime_type(),
                esc(&channel.title),
                format.label(),
                esc(&channel.url(site, format))
            ));
        }
    }
    html.push_str(&format!("<style>{STYLE}</style>\n</head>\n<body>\n<header>\n<h1>{}</h1>\n", esc(&site.title)));
    if !site.description.is_empty() {
        html.push_str(&format!("<p>{}</p>\n", esc(&site.description)));
    }
    html.push_str("<p class=\"meta\">Subscribe to any channel in your feed reader, or import <a href=\"channels.opml\">all channels (OPML)</a>.</p>\n</header>\n<main>\n<ul>\n");
    for channel in channels {
        channel_item(&mut html, site, channel);
    }
    html.push_str("</ul>\n</main>\n");
    html.push_str(&format!("<footer>Published by {GENERATOR} {VERSION}.</footer>\n</body>\n</html>\n"));
    html
}

/// The heading the page gives a channel: the page already names the
/// site, so "All stories" for the merged one and the bare topic title
/// (channel titles are "Site: Topic", for readers that list many feeds).
fn heading<'a>(site: &Site, channel: &'a Channel<'_>) -> &'a str {
    match &channel.slug {
        None => "All stories",
        Some(_) => channel.title.strip_prefix(site.title.as_str()).and_then(|t| t.strip_prefix(": ")).unwrap_or(&channel.title),
    }
}

fn channel_item(html: &mut String, site: &Site, channel: &Channel<'_>) {
    let class = if channel.slug.is_none() { "channel all" } else { "channel" };
    html.push_str(&format!("<li class=\"{class}\">\n<h2>{}</h2>\n", esc(heading(site, channel))));
    // The merged channel's description is the site's, shown above.
    if channel.slug.is_some() && !channel.description.is_empty() && channel.description != channel.title {
        html.push_str(&format!("<p>{}</p>\n", esc(&channel.description)));
    }
    let latest = match channel.stories.first() {
        Some(s) => format!(
            "{} {} · latest <time datetime=\"{}\">{}</time>: {}",
            channel.stories.len(),
            if channel.stories.len() == 1 { "story" } else { "stories" },
            s.published.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            s.published.format("%Y-%m-%d %H:%M UTC"),
            esc(&s.title)
        ),
        None => "No stories yet.".to_owned(),
    };
    html.push_str(&format!("<p class=\"meta\">{latest}</p>\n<p class=\"links\">"));
    for format in Format::ALL {
        html.push_str(&format!(
            "<a href=\"{}\" type=\"{}\" title=\"{} ({})\">{}</a>",
            esc(&channel.path(format)),
            format.mime_type(),
            esc(&channel.title),
            format.label(),
            format.label()
        ));
    }
    html.push_str("</p>\n</li>\n");
}
