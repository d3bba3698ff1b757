//! OPML subscription lists: importing their feeds as `[[sources]]` (keeping
//! the config file's comments and layout) and exporting the sources.

use std::collections::{HashMap, HashSet};

use quick_xml::XmlVersion;
use quick_xml::events::Event;
use toml_edit::{Array, DocumentMut, Item, Value};

use crate::config::Config;
use crate::model::text::slugify;

#[derive(Debug, thiserror::Error)]
pub enum OpmlError {
    #[error("not well-formed OPML at byte {position}: {message}")]
    Xml { position: u64, message: String },
    #[error("config is not valid TOML: {0}")]
    Config(String),
}

/// One feed of an OPML file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpmlFeed {
    pub title: String,
    pub xml_url: String,
    /// From the `category` attribute and the enclosing folders.
    pub categories: Vec<String>,
}

/// How many enclosing folders name a feed's categories: the innermost
/// ones. Without a bound, a feed 50,000 folders deep would carry 50,000
/// categories, and every feed on the way its own copy of them.
pub const MAX_FOLDER_CATEGORIES: usize = 8;

/// Every outline with an `xmlUrl`, in document order; folders (outlines
/// without one) lend their text to the feeds inside as a category (the
/// [`MAX_FOLDER_CATEGORIES`] innermost). Linear in the file, however
/// many outlines or however deep.
pub fn parse(bytes: &[u8]) -> Result<Vec<OpmlFeed>, OpmlError> {
    let mut reader = quick_xml::Reader::from_reader(bytes);
    // For each open outline, whether it pushed a name onto `names`.
    let mut folders: Vec<bool> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let mut feeds = Vec::new();
    let mut buf = Vec::new();
    loop {
        let event =
            reader.read_event_into(&mut buf).map_err(|e| OpmlError::Xml { position: reader.buffer_position(), message: e.to_string() })?;
        let empty = matches!(event, Event::Empty(_));
        match event {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref().eq_ignore_ascii_case(b"outline") => {
                let attr = |name: &str| {
                    // Without checks: quick-xml's duplicate check compares
                    // every attribute with every earlier one.
                    e.attributes()
                        .with_checks(false)
                        .flatten()
                        .find(|a| a.key.local_name().as_ref().eq_ignore_ascii_case(name.as_bytes()))
                        .and_then(|a| a.decoded_and_normalized_value(XmlVersion::Implicit1_0, reader.decoder()).ok())
                        .map(|v| v.trim().to_owned())
                };
                let text = attr("title").filter(|t| !t.is_empty()).or_else(|| attr("text")).unwrap_or_default();
                match attr("xmlUrl").filter(|u| !u.is_empty()) {
                    Some(xml_url) => {
                        let mut categories: Vec<String> = names[names.len().saturating_sub(MAX_FOLDER_CATEGORIES)..].to_vec();
                        for c in attr("category").unwrap_or_default().split(',') {
                            let c = c.trim().trim_matches('/');
                            if let Some(last) = c.rsplit('/').next().filter(|l| !l.is_empty()) {
                                categories.push(last.to_owned());
                            }
                        }
                        categories.dedup();
                        feeds.push(OpmlFeed { title: if text.is_empty() { xml_url.clone() } else { text }, xml_url, categories });
                        if !empty {
                            folders.push(false);
                        }
                    }
                    None if !empty => {
                        folders.push(!text.is_empty());
                        if !text.is_empty() {
                            names.push(text);
                        }
                    }
                    None => {}
                }
            }
            // (The guard pops the closing outline whether or not it named a folder.)
            Event::End(e) if e.local_name().as_ref().eq_ignore_ascii_case(b"outline") && folders.pop() == Some(true) => {
                names.pop();
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(feeds)
}

/// What an import did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub added: Vec<String>,
    /// Feeds whose URL was already a source.
    pub skipped: Vec<String>,
    pub new_topics: Vec<String>,
}

/// Adds `feeds` to the config text as `[[sources]]` (and a `[[topics]]`
/// entry for each new category), leaving the text as written: the new
/// tables are appended at its end (TOML lets an array of tables go on
/// after other tables), each value written by toml_edit. Linear in the
/// config and the feeds: the config is parsed once, for the names, URLs
/// and slugs it has, and the new entries are text, not a document of
/// 100,000 tables to render. A config whose `sources` or `topics` is not
/// an array of tables (an inline array, a table) is refused.
pub fn import_into(config_text: &str, feeds: &[OpmlFeed]) -> Result<(String, ImportSummary), OpmlError> {
    let doc: DocumentMut = config_text.parse().map_err(|e: toml_edit::TomlError| OpmlError::Config(e.to_string()))?;
    for key in ["sources", "topics"] {
        if doc.get(key).is_some_and(|item| !item.is_array_of_tables()) {
            return Err(OpmlError::Config(format!("`{key}` is not a list of [[{key}]] tables: cannot add to it")));
        }
    }
    let mut summary = ImportSummary::default();
    let existing = |table: &str, key: &str| -> Vec<String> {
        doc.get(table)
            .and_then(Item::as_array_of_tables)
            .map(|a| a.iter().filter_map(|t| t.get(key).and_then(|v| v.as_str()).map(str::to_owned)).collect())
            .unwrap_or_default()
    };
    // Sets, not lists: an import of 100,000 outlines stays linear.
    let mut urls: HashSet<String> = existing("sources", "url").into_iter().collect();
    let mut names: HashSet<String> = existing("sources", "name").iter().map(|n| n.to_lowercase()).collect();
    let mut slugs: HashSet<String> = existing("topics", "slug").into_iter().collect();
    drop(doc);
    // The next number to try for a repeated title, so the 1,000th feed
    // called "News" does not try "News (2)" to "News (999)" first.
    let mut next_n: HashMap<String, usize> = HashMap::new();
    let (mut new_topics, mut new_sources) = (String::new(), String::new());
    for feed in feeds {
        if urls.contains(&feed.xml_url) {
            summary.skipped.push(feed.xml_url.clone());
            continue;
        }
        let mut name = feed.title.clone();
        let n = next_n.entry(feed.title.to_lowercase()).or_insert(2);
        while names.contains(&name.to_lowercase()) {
            name = format!("{} ({n})", feed.title);
            *n += 1;
        }
        let mut topics = Array::new();
        let mut feed_slugs = HashSet::new();
        for c in &feed.categories {
            let slug = topic_slug(c);
            if !crate::config::is_valid_slug(&slug) || slug == "all" {
                continue;
            }
            if !slugs.contains(&slug) {
                push_table(&mut new_topics, "topics", &[("slug", Value::from(slug.as_str())), ("title", Value::from(c.as_str()))]);
                slugs.insert(slug.clone());
                summary.new_topics.push(slug.clone());
            }
            if feed_slugs.insert(slug.clone()) {
                topics.push(slug);
            }
        }
        let mut entry = vec![("name", Value::from(name.as_str())), ("url", Value::from(feed.xml_url.as_str()))];
        if !topics.is_empty() {
            entry.push(("topics", Value::Array(topics)));
        }
        push_table(&mut new_sources, "sources", &entry);
        urls.insert(feed.xml_url.clone());
        names.insert(name.to_lowercase());
        summary.added.push(name);
    }
    let mut text = String::with_capacity(config_text.len() + new_topics.len() + new_sources.len() + 1);
    text.push_str(config_text);
    let adds = !(new_topics.is_empty() && new_sources.is_empty());
    if adds && !(text.is_empty() || text.ends_with('\n')) {
        text.push('\n');
    }
    text.push_str(&new_topics);
    text.push_str(&new_sources);
    Ok((text, summary))
}

/// Appends `[[key]]` with `entries` (a blank line before, as toml_edit
/// writes a new table).
fn push_table(out: &mut String, key: &str, entries: &[(&str, Value)]) {
    use std::fmt::Write;
    let _ = write!(out, "\n[[{key}]]\n");
    for (k, v) in entries {
        let _ = writeln!(out, "{k} = {}", v.to_string().trim());
    }
}

/// A folder's name as a topic slug the config accepts: slugified, and cut
/// at a word boundary to the 64 characters a slug may have.
fn topic_slug(name: &str) -> String {
    const MAX: usize = 64;
    let mut slug = slugify(name);
    if slug.len() > MAX {
        let cut = slug[..MAX].rfind('-').unwrap_or(MAX);
        slug.truncate(cut);
    }
    slug
}

/// The configured sources as OPML 2.0, grouped under their first topic.
pub fn export(config: &Config) -> String {
    let esc = |s: &str| quick_xml::escape::escape(s).into_owned();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\">\n<head>\n");
    out.push_str(&format!("<title>{} sources</title>\n</head>\n<body>\n", esc(&config.publish.title)));
    for s in &config.sources {
        let category = s.topics.iter().map(|t| format!("/{t}")).collect::<Vec<_>>().join(",");
        out.push_str(&format!("<outline type=\"rss\" text=\"{n}\" title=\"{n}\" xmlUrl=\"{u}\"", n = esc(&s.name), u = esc(&s.url)));
        if !category.is_empty() {
            out.push_str(&format!(" category=\"{}\"", esc(&category)));
        }
        out.push_str("/>\n");
    }
    out.push_str("</body>\n</opml>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPML: &str = r#"<?xml version="1.0"?>
<opml version="2.0"><head><title>Mine</title></head><body>
  <outline text="World News">
    <outline text="Wire A" xmlUrl="https://a.example/feed" category="/Politics"/>
    <outline title="Wire B" text="ignored" xmlUrl="https://b.example/rss"/>
  </outline>
  <outline type="rss" text="Loose" xmlUrl="https://c.example/atom"/>
</body></opml>"#;

    #[test]
    fn parses_nested_outlines_and_categories() {
        let feeds = parse(OPML.as_bytes()).unwrap();
        assert_eq!(feeds.len(), 3);
        assert_eq!(
            feeds[0],
            OpmlFeed {
                title: "Wire A".into(),
                xml_url: "https://a.example/feed".into(),
                categories: vec!["World News".into(), "Politics".into()]
            }
        );
        assert_eq!(feeds[1].title, "Wire B");
        assert!(feeds[2].categories.is_empty());
    }

    #[test]
    fn import_keeps_comments_and_skips_known_urls() {
        let config = "# my config\n[publish]\ntitle = \"T\" # inline\nbase_url = \"http://x/\"\n\n[[sources]]\nname = \"Wire A\"\nurl = \"https://a.example/feed\"\n";
        let (text, summary) = import_into(config, &parse(OPML.as_bytes()).unwrap()).unwrap();
        assert!(text.starts_with("# my config\n[publish]\ntitle = \"T\" # inline\n"), "{text}");
        assert_eq!(summary.skipped, vec!["https://a.example/feed"]);
        assert_eq!(summary.added, vec!["Wire B", "Loose"]);
        assert_eq!(summary.new_topics, vec!["world-news"]);
        let parsed = Config::from_toml(&text, std::path::Path::new("/x/wirefeed.toml")).unwrap();
        assert_eq!(parsed.sources.len(), 3);
        assert_eq!(parsed.sources[1].topics, vec!["world-news"]);
        assert!(export(&parsed).contains(r#"xmlUrl="https://b.example/rss" category="/world-news""#));
    }

    #[test]
    fn import_appends_to_arrays_defined_earlier_and_keeps_the_text_byte_for_byte() {
        // `[[topics]]` and `[[sources]]` before other tables, no newline at
        // the end, names TOML must escape.
        let config = "[publish]\ntitle = \"T\"\nbase_url = \"http://x/\"\n\n[[topics]]\nslug = \"politics\"\ntitle = \"Politics\"\n\n\
                      [[sources]]\nname = \"Old\"\nurl = \"https://o.example/\"\n[sources.headers]\nX-Key = \"k\"\n\n[limits]\nmax_entries = 5 # last";
        let opml = r#"<opml version="2.0"><body><outline text="Quo&quot;te \ back"><outline text="Tab&#9;A &quot;B&quot; é" xmlUrl="https://q.example/?a=1&amp;b=&quot;2&quot;" category="/Politics"/></outline></body></opml>"#;
        let (text, summary) = import_into(config, &parse(opml.as_bytes()).unwrap()).unwrap();
        assert!(text.starts_with(config), "{text}");
        assert_eq!(summary.new_topics, ["quo-te-back"]);
        let parsed = Config::from_toml(&text, std::path::Path::new("/x/wirefeed.toml")).unwrap();
        assert_eq!(parsed.sources.len(), 2);
        assert_eq!(parsed.sources[0].headers.get("X-Key").map(String::as_str), Some("k"), "the old source keeps its headers");
        let new = &parsed.sources[1];
        assert_eq!((new.name.as_str(), new.url.as_str()), ("Tab\tA \"B\" é", "https://q.example/?a=1&b=\"2\""));
        assert_eq!(new.topics, ["quo-te-back", "politics"]);
        assert_eq!(parsed.topics.iter().map(|t| t.title.as_str()).collect::<Vec<_>>(), ["Politics", "Quo\"te \\ back"]);
        assert_eq!(parsed.limits.max_entries, 5);
        // Nothing new: the text as it was.
        assert_eq!(import_into(&text, &parse(opml.as_bytes()).unwrap()).unwrap().0, text);
    }

    #[test]
    fn import_into_sources_that_are_not_tables_is_an_error() {
        let feeds = parse(OPML.as_bytes()).unwrap();
        for config in ["sources = []\n", "[sources]\nname = \"x\"\n", "topics = [1]\n"] {
            let err = import_into(config, &feeds).unwrap_err().to_string();
            assert!(err.contains("is not a list of [["), "{config}: {err}");
        }
    }

    #[test]
    fn a_deeply_nested_feed_takes_only_its_innermost_folders() {
        let depth = 20;
        let opml = format!(
            r#"<opml version="2.0"><body>{}<outline text="Deep" xmlUrl="https://d.example/feed"/>{}</body></opml>"#,
            (0..depth).map(|i| format!(r#"<outline text="f{i}">"#)).collect::<String>(),
            "</outline>".repeat(depth)
        );
        let feeds = parse(opml.as_bytes()).unwrap();
        let want: Vec<String> = (depth - MAX_FOLDER_CATEGORIES..depth).map(|i| format!("f{i}")).collect();
        assert_eq!(feeds[0].categories, want);
    }

    #[test]
    fn many_feeds_with_one_title_get_numbered_names() {
        let opml = format!(
            r#"<opml version="2.0"><body>{}</body></opml>"#,
            (0..50).map(|i| format!(r#"<outline text="News" xmlUrl="https://n.example/{i}"/>"#)).collect::<String>()
        );
        let config = "[publish]\ntitle = \"T\"\nbase_url = \"http://x/\"\n";
        let (_, summary) = import_into(config, &parse(opml.as_bytes()).unwrap()).unwrap();
        assert_eq!(summary.added[0], "News");
        assert_eq!(summary.added[1], "News (2)");
        assert_eq!(summary.added[49], "News (50)");
    }

    #[test]
    fn malformed_opml_is_an_error() {
        assert!(parse(b"<opml><body><outline text='a'></body>").is_err());
    }
}
