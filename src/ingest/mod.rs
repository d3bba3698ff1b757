//! Reading stories in: the newsroom's own files (wire text, Markdown).
//!
//! Each importer turns its format into [`StoryDraft`]s; normalization is the
//! model's job. A file that cannot be read or parsed becomes an
//! [`InputFailure`] naming it, and every other file still goes through.

pub mod fetch;
pub mod markdown;
pub mod opml;
pub mod parse;
pub mod sources;
pub mod wire;

use chrono::{DateTime, Utc};
use std::fmt;
use std::path::{Path, PathBuf};
use url::Url;

use crate::config::StoriesConfig;
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
    pub stories: Vec<Story>,
    pub failures: Vec<InputFailure>,
    pub files: usize,
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

pub fn load_stories(entry: &StoriesConfig, site_base: &Url) -> Ingested {
    let mut result = Ingested::default();
    let files = match story_files(&entry.path) {
        Ok(files) => files,
        Err(e) => {
            result.failures.push(InputFailure { path: entry.path.clone(), line: None, message: format!("cannot read: {e}") });
            return result;
        }
    };
    for path in files {
        result.files += 1;
        match load_file(&path, entry, site_base) {
            Ok(mut stories) => result.stories.append(&mut stories),
            Err(failure) => result.failures.push(failure),
        }
    }
    result
}

/// Reads one file. Every story in it must import, or the file fails as a
/// whole: publishing half of a file would hide the problem.
pub fn load_file(path: &Path, entry: &StoriesConfig, site_base: &Url) -> Result<Vec<Story>, InputFailure> {
    let fail = |line: Option<usize>, message: String| InputFailure { path: path.to_owned(), line, message };
    let format = format_of(path).ok_or_else(|| fail(None, "unknown story format (expected .txt or .md)".into()))?;
    let bytes = std::fs::read(path).map_err(|e| fail(None, format!("cannot read: {e}")))?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
        fail(Some(line), format!("not valid UTF-8 (byte {})", e.valid_up_to()))
    })?;
    if text.trim().is_empty() {
        return Err(fail(None, "empty file".into()));
    }
    // Until a store records first-seen dates, the file's modification time
    // is the stable stand-in for a missing date.
    let file_time: DateTime<Utc> = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .map(DateTime::from)
        .map_err(|e| fail(None, format!("cannot read modification time: {e}")))?;
    let drafts: Vec<(usize, StoryDraft)> = match format {
        Format::Wire => wire::parse(text).into_iter().map(|w| (w.line, wire_draft(w, entry, site_base))).collect(),
        Format::Markdown => {
            let md = markdown::parse(text).map_err(|e| fail(None, e.to_string()))?;
            if md.draft {
                return Ok(Vec::new());
            }
            if !md.ignored_keys.is_empty() {
                tracing::warn!(path = %path.display(), keys = ?md.ignored_keys, "front matter keys ignored");
            }
            vec![(1, markdown_draft(md, entry, site_base))]
        }
    };
    drafts.into_iter().map(|(line, d)| d.normalize(file_time).map_err(|e| fail(Some(line), e.to_string()))).collect()
}

/// `link_base` + slug; without a `link_base`, the story's own page that
/// `publish::pages` writes: `base_url` + `stories/<slug>.html`.
fn story_link(entry: &StoriesConfig, site_base: &Url, title: &str) -> Option<String> {
    let slug = slugify(title);
    let link = match &entry.link_base {
        _ if slug.is_empty() => return None,
        Some(base) => base.join(&slug),
        None => site_base.join(&format!("stories/{slug}.html")),
    };
    link.map(String::from).ok()
}

fn escape_html(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}

fn wire_draft(w: wire::WireStory, entry: &StoriesConfig, site_base: &Url) -> StoryDraft {
    let mut content = String::with_capacity(w.paragraphs.iter().map(|p| p.len() + 8).sum());
    for p in &w.paragraphs {
        content.push_str("<p>");
        content.push_str(&escape_html(p));
        content.push_str("</p>\n");
    }
    StoryDraft {
        link: story_link(entry, site_base, &w.headline),
        title: w.headline,
        summary: w.paragraphs.into_iter().next(),
        content,
        image: (w.caption.is_some() || w.credit.is_some()).then_some(Image { url: None, caption: w.caption, credit: w.credit }),
        base_url: Some(entry.link_base.clone().unwrap_or_else(|| site_base.clone())),
        source: entry.source.clone(),
        ..Default::default()
    }
}

fn markdown_draft(md: markdown::MarkdownStory, entry: &StoriesConfig, site_base: &Url) -> StoryDraft {
    let has_image = md.image.is_some() || md.caption.is_some() || md.credit.is_some();
    StoryDraft {
        link: md.link.or_else(|| story_link(entry, site_base, &md.title)),
        title: md.title,
        summary: md.summary,
        content: md.html,
        image: has_image.then_some(Image { url: md.image, caption: md.caption, credit: md.credit }),
        authors: md.authors,
        categories: md.categories,
        topics: md.topics,
        published: md.date,
        updated: md.updated,
        base_url: Some(entry.link_base.clone().unwrap_or_else(|| site_base.clone())),
        source: entry.source.clone(),
        ..Default::default()
    }
}
