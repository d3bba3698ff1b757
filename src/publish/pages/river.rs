//! A channel's river: its stories newest first (the same list as its
//! feeds), `page_size` to a page, with `rel="prev"`/`rel="next"` links in
//! the head and at the foot of each page. Page 1 lives at the channel's
//! own path (`all.html`, `topics/<slug>.html`), later pages in a folder
//! beside it (`all/2.html`, `topics/<slug>/2.html`).

use std::fmt::Write as _;

use super::{Head, Pages, autodiscovery, close, esc, open, river_path, root_of, story_card, subscribe};
use crate::publish::Channel;

/// Pages a river of `stories` takes: at least one (an empty channel still
/// has its page, saying so).
pub fn page_count(stories: usize, page_size: usize) -> usize {
    stories.div_ceil(page_size.max(1)).max(1)
}

/// The heading a channel gets on pages that already name the site: "All
/// stories" for the merged one, the bare topic title for a topic (channel
/// titles are "Site: Topic", for feed readers that list many feeds).
pub fn heading<'c>(pages: &Pages<'_>, channel: &'c Channel<'_>) -> &'c str {
    match &channel.slug {
        None => "All stories",
        Some(_) => channel.title.strip_prefix(pages.site.title.as_str()).and_then(|t| t.strip_prefix(": ")).unwrap_or(&channel.title),
    }
}

/// Every page of the channel's river: (path, HTML).
pub fn render(pages: &Pages<'_>, channel: &Channel<'_>) -> Vec<(String, String)> {
    let count = page_count(channel.stories.len(), pages.page_size);
    let mut chunks: Vec<_> = channel.stories.chunks(pages.page_size).collect();
    if chunks.is_empty() {
        chunks.push(&[]);
    }
    chunks.into_iter().enumerate().map(|(i, stories)| render_page(pages, channel, i + 1, count, stories)).collect()
}

fn render_page(pages: &Pages<'_>, channel: &Channel<'_>, page: usize, count: usize, stories: &[&crate::model::Story]) -> (String, String) {
    let slug = channel.slug.as_deref();
    let path = river_path(slug, page);
    let root = root_of(&path);
    let link = |n: usize| format!("{root}{}", esc(&river_path(slug, n)));
    let heading = heading(pages, channel);
    let title = match page {
        1 => format!("{heading} — {}", pages.site.title),
        n => format!("{heading} (page {n}) — {}", pages.site.title),
    };
    let mut extra = String::new();
    autodiscovery(&mut extra, &pages.site, channel);
    if page > 1 {
        let _ = writeln!(extra, "<link rel=\"prev\" href=\"{}\">", link(page - 1));
    }
    if page < count {
        let _ = writeln!(extra, "<link rel=\"next\" href=\"{}\">", link(page + 1));
    }
    let description = Some(channel.description.as_str());
    let mut out = String::with_capacity(4096 + stories.len() * 1500);
    open(&mut out, pages, &Head { path: &path, title: &title, description, extra, current: Some(slug) });
    out.push_str("<header class=\"channel\">\n");
    let _ = writeln!(out, "<h1>{}</h1>", esc(heading));
    if !channel.description.is_empty() && channel.description != channel.title {
        let _ = writeln!(out, "<p class=\"lede\">{}</p>", esc(&channel.description));
    }
    subscribe(&mut out, &root, channel);
    out.push_str("</header>\n");
    if stories.is_empty() {
        out.push_str("<p class=\"empty\">No stories yet.</p>\n");
    }
    for story in stories {
        story_card(&mut out, pages, &root, story, 2);
    }
    if count > 1 {
        out.push_str("<nav class=\"pager\" aria-label=\"Pages\">\n");
        if page > 1 {
            let _ = writeln!(out, "<a rel=\"prev\" href=\"{}\">← Newer stories</a>", link(page - 1));
        } else {
            out.push_str("<span></span>\n");
        }
        let _ = writeln!(out, "<span>Page {page} of {count}</span>");
        if page < count {
            let _ = writeln!(out, "<a rel=\"next\" href=\"{}\">Older stories →</a>", link(page + 1));
        } else {
            out.push_str("<span></span>\n");
        }
        out.push_str("</nav>\n");
    }
    close(&mut out, &path);
    (path, out)
}
