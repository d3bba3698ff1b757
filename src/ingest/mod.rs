//! Reading stories in: the newsroom's own files (wire text, Markdown).
//!
//! Each importer turns its format into [`StoryDraft`]s; normalization is the
//! model's job. A file that cannot be read or parsed becomes an
//! [`InputFailure`] naming it, and every other file still goes through.

pub mod fetch;
pub mod identity;
pub mod markdown;
pub mod opml;
pub mod parse;
pub mod sources;
pub mod wire;

use chrono::{DateTime, Utc};
use std::fmt;
use std::path::{Path, PathBuf};
use url::Url;

use std::collections::HashSet;

use crate::config::StoriesConfig;
use crate::model::id::{IdBasis, canonical_link, story_id};
use crate::model::text::slugify;
use crate::model::{Image, Story, StoryDraft};

/// One input that could not be used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFailure {
    pub path: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for InputFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.path.display(), line, self.message),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

/// Stories read from one `[[stories]]` entry, in file order.
#[derive(Debug, Default)]
pub struct Ingested {
    pub stories: Vec<FileStory>,
    pub failures: Vec<InputFailure>,
    pub files: usize,
    /// Files skipped because an earlier `[[stories]]` entry covers them.
    pub covered: Vec<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Format {
    Wire,
    Markdown,
}

fn format_of(path: &Path) -> Option<Format> {
    match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
        "txt" | "wire" => Some(Format::Wire),
        "md" | "markdown" => Some(Format::Markdown),
        _ => None,
    }
}

/// A hash of the story files under `path` (names, sizes, modification
/// times): when it changes, the folder needs reading again.
pub fn folder_fingerprint(path: &Path) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    match story_files(path) {
        Ok(files) => {
            for f in files {
                h.update(f.as_os_str().as_encoded_bytes());
                if let Ok(m) = std::fs::metadata(&f) {
                    h.update(&m.len().to_le_bytes());
                    let mtime = m.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).unwrap_or_default();
                    h.update(&mtime.as_nanos().to_le_bytes());
                }
            }
        }
        Err(e) => h.update(e.to_string().as_bytes()),
    }
    h.digest()
}

/// The story files under `path`, sorted by name so the order (and thus tie
/// order between equal dates) is the same on every machine.
fn story_files(path: &Path) -> Result<Vec<PathBuf>, std::io::Error> {
    if !path.is_dir() {
        std::fs::metadata(path)?;
        return Ok(vec![path.to_owned()]);
    }
    let mut out = Vec::new();
    let mut dirs = vec![path.to_owned()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let p = entry?.path();
            let hidden = p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.'));
            if hidden {
                continue;
            } else if p.is_dir() {
                dirs.push(p);
            } else if format_of(&p).is_some() {
                out.push(p);
            } else {
                tracing::debug!(path = %p.display(), "not a story file (extension is not .txt or .md); skipped");
            }
        }
    }
    out.sort();
    Ok(out)
}

/// A newsroom story as read, with the file it came from.
#[derive(Debug, Clone)]
pub struct FileStory {
    pub story: Story,
    /// Path relative to the `[[stories]] path` (the file's name when the
    /// path is a single file), with `/` separators.
    pub file: String,
    /// When the story is taken down (front matter `expires`).
    pub expires: Option<DateTime<Utc>>,
}

/// Reads every story file of one `[[stories]]` entry. `previous` is what
/// the store holds for it: stories found there keep their published id
/// and link (see [`identity`]). `scope` is the stable name ids are scoped
/// by (the `source` name the folder was first published under).
///
/// Files under one of `earlier` (the paths of `[[stories]]` entries
/// before this one) were read for that entry: they are listed in
/// [`Ingested::covered`] and not read again.
pub fn load_stories(entry: &StoriesConfig, site_base: &Url, scope: &str, previous: &[identity::Previous], earlier: &[&Path]) -> Ingested {
    let mut result = Ingested::default();
    let files = match story_files(&entry.path) {
        Ok(files) => files,
        Err(e) => {
            let why = match e.kind() {
                std::io::ErrorKind::NotFound => "does not exist (check `[[stories]] path`)".to_owned(),
                _ => format!("cannot read: {}", io_message(&e)),
            };
            result.failures.push(InputFailure { path: entry.path.clone(), line: None, message: why });
            return result;
        }
    };
    let mut read = Vec::new();
    let earlier: Vec<PathBuf> = earlier.iter().map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())).collect();
    for path in files {
        let real = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        if earlier.iter().any(|e| real.starts_with(e)) {
            result.covered.push(path);
            continue;
        }
        result.files += 1;
        let rel = relative_name(&entry.path, &path);
        match load_file(&path, &rel, entry, site_base, scope) {
            Ok(mut stories) => read.append(&mut stories),
            Err(failure) => result.failures.push(failure),
        }
    }
    identity::carry(&mut read, previous);
    assign_links(&mut read, entry, site_base, previous);
    result.stories = read.into_iter().map(|r| FileStory { story: r.story, file: r.file, expires: r.expires }).collect();
    result
}

/// An OS error's own words, without Rust's " (os error N)" suffix read
/// twice when a caller adds its own context.
fn io_message(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

fn relative_name(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).ok().filter(|r| !r.as_os_str().is_empty());
    let rel = rel.unwrap_or_else(|| Path::new(path.file_name().unwrap_or(path.as_os_str())));
    rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

/// Gives each story without a link one: `link_base` + slug when the folder
/// has one, else the story's own page, `base_url` + `stories/<slug>.html`.
/// The slug is the front matter's, else the title's; a slug another story
/// of the folder already uses gets `-2`, `-3`…, so no two stories share a
/// link (and thus a page).
fn assign_links(read: &mut [identity::Read], entry: &StoriesConfig, site_base: &Url, previous: &[identity::Previous]) {
    let mut used: HashSet<String> = previous
        .iter()
        .filter_map(|p| p.link.as_deref())
        .chain(read.iter().filter_map(|r| r.story.link.as_deref()))
        .map(canonical_link)
        .collect();
    // A previous story's link is free again once that story is the one
    // carrying it here (it stays taken for everyone else).
    for r in read.iter_mut().filter(|r| r.story.link.is_none()) {
        let base = slugify(&r.wanted_slug);
        let base = if base.is_empty() { "story".to_owned() } else { base };
        let make = |slug: &str| match &entry.link_base {
            Some(link_base) => link_base.join(slug).ok(),
            None => site_base.join(&format!("stories/{slug}.html")).ok(),
        };
        let mut n = 1;
        let link = loop {
            let slug = if n == 1 { base.clone() } else { format!("{base}-{n}") };
            match make(&slug) {
                Some(url) if !used.contains(&canonical_link(url.as_str())) => break Some(String::from(url)),
                Some(_) => n += 1,
                None => break None,
            }
        };
        if let Some(link) = &link {
            used.insert(canonical_link(link));
        }
        r.story.link = link;
    }
}

/// Reads one file (`rel`: its name relative to the `[[stories]] path`).
/// Every story in it must import, or the file fails as a whole:
/// publishing half of a file would hide the problem.
pub fn load_file(path: &Path, rel: &str, entry: &StoriesConfig, site_base: &Url, scope: &str) -> Result<Vec<identity::Read>, InputFailure> {
    let fail = |line: Option<usize>, message: String| InputFailure { path: path.to_owned(), line, message };
    let format = format_of(path).ok_or_else(|| fail(None, "unknown story format (expected .txt or .md)".into()))?;
    let bytes = std::fs::read(path).map_err(|e| fail(None, format!("cannot read: {}", io_message(&e))))?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
        fail(Some(line), format!("not valid UTF-8 (byte {})", e.valid_up_to()))
    })?;
    if text.trim().is_empty() {
        return Err(fail(None, "empty file".into()));
    }
    // The file's modification time is the stable stand-in for a missing
    // date (the store keeps the first one it saw).
    let file_time: DateTime<Utc> = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .map(DateTime::from)
        .map_err(|e| fail(None, format!("cannot read modification time: {}", io_message(&e))))?;
    let base = story_base(entry, site_base);
    let drafts: Vec<(usize, Pending)> = match format {
        Format::Wire => wire::parse(text).into_iter().map(|w| (w.line, wire_draft(w, rel, &base, entry, scope))).collect(),
        Format::Markdown => {
            let key = slugify(rel.trim_end_matches(".md").trim_end_matches(".markdown"));
            let md = markdown::parse(text, &key, entry.timezone()).map_err(|e| fail(None, e.to_string()))?;
            if md.draft {
                return Ok(Vec::new());
            }
            if !md.ignored_keys.is_empty() {
                tracing::warn!(path = %path.display(), keys = ?md.ignored_keys, "front matter keys ignored");
            }
            vec![(1, markdown_draft(md, rel, &base, entry, scope))]
        }
    };
    drafts
        .into_iter()
        .map(|(line, p)| {
            let story = p.draft.normalize(file_time).map_err(|e| fail(Some(line), e.to_string()))?;
            // Markdown may carry raw HTML: what the sanitizer takes out of
            // it is the newsroom's to know (wire text is escaped whole).
            if let Some(removed) = story.sanitized.as_deref().filter(|_| format == Format::Markdown) {
                tracing::warn!(path = %path.display(), "sanitizer removed {removed}");
            }
            let legacy_id = match &p.legacy_link {
                Some(link) => story_id(IdBasis::Link(link)),
                None => story_id(IdBasis::Title { source: &entry.source, title: &story.title }),
            };
            Ok(identity::Read {
                story,
                file: rel.to_owned(),
                one_per_file: format == Format::Markdown,
                legacy_id,
                explicit_id: p.explicit_id,
                explicit_link: p.explicit_link,
                wanted_slug: p.slug,
                expires: p.expires,
            })
        })
        .collect()
}

/// A draft and what the loader must remember about it.
struct Pending {
    draft: StoryDraft,
    /// The link earlier wirefeeds gave the story (for [`identity`]).
    legacy_link: Option<String>,
    explicit_id: bool,
    explicit_link: bool,
    /// Slug for a link to be assigned: the front matter's or the title.
    slug: String,
    expires: Option<DateTime<Utc>>,
}

/// The link earlier wirefeeds derived: `link_base` + slug of the title.
fn legacy_link(entry: &StoriesConfig, title: &str) -> Option<String> {
    let base = entry.link_base.as_ref()?;
    let slug = slugify(title);
    (!slug.is_empty()).then(|| base.join(&slug).map(String::from).ok()).flatten()
}

fn escape_html(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}

fn wire_draft(w: wire::WireStory, rel: &str, base: &Url, entry: &StoriesConfig, scope: &str) -> Pending {
    let mut content = String::with_capacity(w.paragraphs.iter().map(|p| p.len() + 8).sum());
    for p in &w.paragraphs {
        content.push_str("<p>");
        content.push_str(&escape_html(p));
        content.push_str("</p>\n");
    }
    // A new wire story's id: its file and headline (the format has no
    // ids); identity::carry keeps it when the headline is corrected.
    let origin_id = format!("wire:{rel}#{}", crate::model::text::clean_text(&w.headline).to_lowercase());
    Pending {
        legacy_link: legacy_link(entry, &w.headline),
        explicit_id: false,
        explicit_link: false,
        expires: None,
        slug: w.headline.clone(),
        draft: StoryDraft {
            origin_id: Some(origin_id),
            id_scope: Some(scope.to_owned()),
            title: w.headline,
            summary: w.paragraphs.into_iter().next(),
            content,
            image: (w.caption.is_some() || w.credit.is_some()).then_some(Image { url: None, caption: w.caption, credit: w.credit }),
            base_url: Some(base.clone()),
            source: entry.source.clone(),
            ..Default::default()
        },
    }
}

/// The draft the loader makes of a Markdown story: `md` as read from the
/// file `rel` (its path inside the folder) of the `[[stories]]` entry
/// `entry`, its id scoped by `scope` (the folder's source), its links
/// resolved against the entry's `link_base`, else `site_base` (`[publish]
/// base_url`). Public so that the `markdown` fuzz target normalizes
/// exactly what `build` would.
pub fn markdown_story_draft(md: markdown::MarkdownStory, rel: &str, entry: &StoriesConfig, site_base: &Url, scope: &str) -> StoryDraft {
    markdown_draft(md, rel, &story_base(entry, site_base), entry, scope).draft
}

/// What a folder's story links resolve against: its `link_base`, else the site's.
fn story_base(entry: &StoriesConfig, site_base: &Url) -> Url {
    entry.link_base.clone().unwrap_or_else(|| site_base.clone())
}

fn markdown_draft(md: markdown::MarkdownStory, rel: &str, base: &Url, entry: &StoriesConfig, scope: &str) -> Pending {
    let has_image = md.image.is_some() || md.caption.is_some() || md.credit.is_some();
    let explicit_id = md.id.is_some();
    let origin_id = match &md.id {
        Some(id) => format!("id:{id}"),
        None => format!("file:{rel}"),
    };
    let legacy = md.link.clone().or_else(|| legacy_link(entry, &md.title));
    let link = md.link.or_else(|| {
        let slug = md.slug.as_deref()?;
        let url = match &entry.link_base {
            Some(link_base) => link_base.join(slug).ok()?,
            None => base.join(&format!("stories/{slug}.html")).ok()?,
        };
        Some(url.into())
    });
    Pending {
        legacy_link: legacy,
        explicit_id,
        explicit_link: link.is_some(),
        expires: md.expires,
        slug: md.slug.clone().unwrap_or_else(|| md.title.clone()),
        draft: StoryDraft {
            origin_id: Some(origin_id),
            id_scope: Some(scope.to_owned()),
            link,
            title: md.title,
            summary: md.summary.or_else(|| (!md.lead.is_empty()).then_some(md.lead)),
            content: md.html,
            image: has_image.then_some(Image { url: md.image, caption: md.caption, credit: md.credit }),
            authors: md.authors,
            categories: md.categories,
            topics: md.topics,
            embed_hosts: entry.allow_embeds.clone(),
            published: md.date,
            updated: md.updated,
            base_url: Some(base.clone()),
            source: entry.source.clone(),
            ..Default::default()
        },
    }
}
