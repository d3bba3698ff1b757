//! Publishing on a PostgreSQL store, for a fleet of workers: the files
//! go into the store's `published_files` table (`store::pg::files`), in
//! one transaction per publish, under the publish lock, so a changed
//! channel is rendered by one worker and every `serve` answers the same
//! bytes. The worker that publishes also mirrors the table into its own
//! `[publish] output_dir` (always: the setting has a default, and a
//! worker's folder is then whole, which `run` checks).
//!
//! What decides is the table, never the folder: whether a channel's
//! files are there, which river pages are past a channel's last, which
//! story pages are no longer published.

use chrono::Utc;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::{BuildError, Published};
use crate::config::Config;
use crate::publish::write::{Staged, WriteError};
use crate::publish::{self, Format, PublishReport};
use crate::store::Store;
use crate::store::pg::PgStore;
use crate::store::pg::files::{PgFiles, etag_of};

/// Bodies read from the database per query when mirroring.
const READ_CHUNK: usize = 200;

pub(super) fn publish_to_db(config: &Config, store: &Store, pg: &PgStore, sources_page: bool) -> Result<Published, BuildError> {
    let mut db = pg.files()?;
    if !db.try_lock()? {
        return Ok(Published { stories: 0, channels: Vec::new(), report: PublishReport::default(), removed: Vec::new(), busy: true });
    }
    let index = db.index()?;
    let (stored, digests) = super::read_channels(config, store)?;
    let lists = stored.iter().map(|list| list.iter().map(|s| &s.story).collect()).collect();
    let channels = publish::channel_list(config, lists);
    let mut unchanged = HashSet::new();
    for (channel, digest) in channels.iter().zip(&digests) {
        let path = channel.path(Format::Rss);
        let files_there = Format::ALL.iter().all(|f| index.contains_key(&channel.path(*f)))
            && index.contains_key(&publish::pages::river_path(channel.slug.as_deref(), 1));
        if files_there && store.channel_digest(&path)? == Some(*digest) {
            unchanged.insert(path);
        }
    }
    let mut files = publish::render(config, &channels, |c| unchanged.contains(&c.path(Format::Rss)));
    if sources_page || !index.contains_key(publish::pages::SOURCES_PATH) {
        files.push(super::sources_page_file(config, store, &channels)?);
    }

    let (dropped, mut removes) = dropped_topics(config, store, &index)?;
    removes.extend(stale_pages(config, &channels, &unchanged, &index));
    removes.extend(unpublished_story_pages(config, store, &index)?);
    let rendered: HashSet<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
    removes.retain(|p| !rendered.contains(p.as_str()));
    removes.sort();
    removes.dedup();

    let out = &config.publish.output_dir;
    let mut report = PublishReport::default();
    for (rel, bytes) in &files {
        let same = index.get(rel).is_some_and(|etag| *etag == etag_of(bytes));
        if same { &mut report.unchanged } else { &mut report.written }.push(out.join(rel));
    }
    db.commit(&files, &removes, Utc::now().timestamp())?;
    // Only once the files are in: a publish that failed forgets nothing.
    for path in dropped {
        store.forget_channel(&path)?;
    }
    for (channel, digest) in channels.iter().zip(&digests) {
        let path = channel.path(Format::Rss);
        if unchanged.contains(&path) {
            report.unchanged.extend(Format::ALL.iter().map(|f| out.join(channel.path(*f))));
        } else {
            store.set_channel_digest(&path, *digest)?;
        }
    }
    super::remove_stale_temp_files(out);
    mirror(&mut db, out, &removes)?;
    let ids: HashSet<&str> = stored.iter().flatten().map(|s| s.story.id.as_str()).collect();
    let counts = channels.iter().map(|c| (c.path(Format::Rss).trim_end_matches(".rss").to_owned(), c.stories.len())).collect();
    let removed = removes.iter().map(|r| out.join(r)).collect();
    Ok(Published { stories: ids.len(), channels: counts, report, removed, busy: false })
}

/// The channel paths of topics no longer configured, and their stored
/// files: `topics/<slug>.{rss,atom,json,html}` and the later river pages
/// `topics/<slug>/<n>.html`.
fn dropped_topics(config: &Config, store: &Store, index: &HashMap<String, String>) -> Result<(Vec<String>, Vec<String>), BuildError> {
    let configured: HashSet<&str> = config.topics.iter().map(|t| t.slug.as_str()).collect();
    let mut dropped = Vec::new();
    let mut files = Vec::new();
    for path in store.channel_paths()? {
        let Some(slug) = path.strip_prefix("topics/").and_then(|p| p.strip_suffix(".rss")) else { continue };
        if configured.contains(slug) {
            continue;
        }
        let feed = |p: &str| {
            p.strip_prefix("topics/")
                .and_then(|p| p.strip_prefix(slug))
                .and_then(|p| p.strip_prefix('.'))
                .is_some_and(|ext| matches!(ext, "rss" | "atom" | "json" | "html"))
        };
        let page = |p: &str| {
            p.strip_prefix(&format!("topics/{slug}/"))
                .and_then(|p| p.strip_suffix(".html"))
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        };
        files.extend(index.keys().filter(|p| feed(p) || page(p)).cloned());
        dropped.push(path);
    }
    Ok((dropped, files))
}

/// River pages past the last of a channel that changed.
fn stale_pages(
    config: &Config,
    channels: &[publish::Channel<'_>],
    unchanged: &HashSet<String>,
    index: &HashMap<String, String>,
) -> Vec<String> {
    let mut stale = Vec::new();
    for channel in channels.iter().filter(|c| !unchanged.contains(&c.path(Format::Rss))) {
        let pages = publish::pages::river::page_count(channel.stories.len(), config.publish.page_size);
        let first = publish::pages::river_path(channel.slug.as_deref(), 1);
        let dir = format!("{}/", first.trim_end_matches(".html"));
        stale.extend(
            index
                .keys()
                .filter(|p| {
                    let n = p.strip_prefix(&dir).and_then(|n| n.strip_suffix(".html")).and_then(|n| n.parse::<usize>().ok());
                    n.is_some_and(|n| n > pages && n >= 2)
                })
                .cloned(),
        );
    }
    stale
}

/// Pages of newsroom stories no longer published (as the SQLite path's
/// `remove_unpublished_story_pages`, on the table).
fn unpublished_story_pages(config: &Config, store: &Store, index: &HashMap<String, String>) -> Result<Vec<String>, BuildError> {
    let site = publish::Site::from_config(config);
    let keep: HashSet<String> = store.own_story_links()?.iter().filter_map(|l| publish::pages::page_of_link(&site, l)).collect();
    Ok(index.keys().filter(|p| p.starts_with("stories/") && p.ends_with(".html") && !keep.contains(*p)).cloned().collect())
}

/// What [`mirror`] did to a folder.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Mirrored {
    /// Files written (new, or their bytes differed).
    pub written: Vec<PathBuf>,
    /// Files already holding the stored bytes.
    pub unchanged: Vec<PathBuf>,
    /// Files of `removes` deleted.
    pub removed: Vec<PathBuf>,
}

/// Makes `dir` hold the store's published files: each file whose bytes
/// differ from the stored ones is written (staged, then renamed into
/// place, as a publish does), and each of `removes` (relative paths)
/// deleted. Other files in `dir` are left alone. Bodies are read only
/// for the files that differ; if a publish lands meanwhile, the files it
/// changed are brought over too, so `dir` ends as one version.
pub fn mirror(db: &mut PgFiles, dir: &Path, removes: &[String]) -> Result<Mirrored, BuildError> {
    let mut done = Mirrored::default();
    let mut written: HashSet<String> = HashSet::new();
    // A publish between reading the index and the bodies: once more.
    for _ in 0..3 {
        let before = db.version()?;
        let index = db.index()?;
        let mut need = Vec::new();
        for (rel, etag) in &index {
            if !safe_relative(rel) {
                tracing::warn!(path = rel, "a stored file's path would leave the folder: not written");
                continue;
            }
            let path = dir.join(rel);
            match std::fs::read(&path) {
                Ok(bytes) if etag_of(&bytes) == *etag => {
                    if !written.contains(rel) {
                        done.unchanged.push(path);
                    }
                }
                _ => need.push(rel.clone()),
            }
        }
        let mut staged = Staged::default();
        for chunk in need.chunks(READ_CHUNK) {
            for file in db.read(chunk)? {
                staged.add(&dir.join(&file.path), &file.body)?;
                written.insert(file.path);
            }
        }
        staged.commit()?;
        if db.version()? == before {
            break;
        }
        done.unchanged.clear();
    }
    let mut written: Vec<PathBuf> = written.into_iter().map(|r| dir.join(r)).collect();
    written.sort();
    done.written = written;
    done.unchanged.sort();
    for rel in removes.iter().filter(|r| safe_relative(r)) {
        let path = dir.join(rel);
        match std::fs::remove_file(&path) {
            Ok(()) => done.removed.push(path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(WriteError::remove(&path)(e).into()),
        }
    }
    Ok(done)
}

/// `wirefeed export DIR`: the published files of the PostgreSQL store at
/// `url` written into `dir` (see [`mirror`]; nothing is deleted).
pub fn export_from(url: &str, dir: &Path) -> Result<Mirrored, BuildError> {
    let mut db = PgFiles::open(url)?;
    mirror(&mut db, dir, &[])
}

/// A path that stays inside the folder: relative, `/`-separated segments
/// none of which is empty, hidden (`.`, `..`, `.wirefeed-*.tmp`) or holds
/// `\` or NUL.
fn safe_relative(path: &str) -> bool {
    path.split('/').all(|s| !s.is_empty() && !s.starts_with('.') && !s.contains(['\\', '\0']))
}

#[cfg(test)]
mod tests {
    #[test]
    fn stored_paths_that_would_leave_the_folder_are_refused() {
        for good in ["all.rss", "topics/x.atom", "topics/x/2.html", "stories/a b.html"] {
            assert!(super::safe_relative(good), "{good}");
        }
        for bad in ["", "/etc/passwd", "../x", "topics/../../x", "a//b", ".wirefeed-1.tmp", "a\\b", "a\0b", "topics/"] {
            assert!(!super::safe_relative(bad), "{bad:?}");
        }
    }
}
