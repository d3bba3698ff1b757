//! Keeping a newsroom story's id and link when it is edited.
//!
//! A published id must never move: readers de-duplicate by it, and a
//! story that changes id is a second story to them. External feeds give
//! their entries ids; the newsroom's own files often do not (the wire
//! format has none at all), so an id derived from the text would move with
//! every corrected headline. This module carries each story's published
//! identity over from what the store had for the same folder:
//!
//! 1. the same file (a Markdown file is one story);
//! 2. the same id as computed now, or as earlier wirefeeds computed it;
//! 3. the same canonical link;
//! 4. in a file of several stories (wire text), a story that disappeared
//!    while a new one with nearly the same body appeared is that story,
//!    edited: same file, body words at least [`SAME_BODY`] alike.
//!
//! Stories that match nothing are new and keep the id they were given.

use std::collections::{HashMap, HashSet};

use crate::model::Story;
use crate::model::id::canonical_link;
use crate::model::text::html_to_text;

/// Least Jaccard similarity of two bodies' word sets for a vanished and a
/// new story of one file to count as one story, edited. A corrected
/// headline leaves the body as it was (1.0); a rewritten paragraph of a
/// five-paragraph story still scores above 0.7; two different stories
/// on one topic rarely share half their words.
pub const SAME_BODY: f64 = 0.6;

/// A story the store holds for the folder being read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Previous {
    pub id: String,
    pub link: Option<String>,
    /// Path relative to the `[[stories]] path`; `None` for stories stored
    /// before wirefeed recorded it.
    pub file: Option<String>,
    /// Sanitized HTML body.
    pub content: String,
}

/// A story just read from a file, with what identity matching needs.
#[derive(Debug, Clone)]
pub struct Read {
    pub story: Story,
    /// Path relative to the `[[stories]] path`.
    pub file: String,
    /// Whether the file holds one story (Markdown) or several (wire text).
    pub one_per_file: bool,
    /// The id as wirefeed derived it before ids were kept (from the link,
    /// else source and title): matches stores written by those versions.
    pub legacy_id: String,
    /// The id came from the front matter: it is not replaced.
    pub explicit_id: bool,
    /// The link came from the front matter (`link` or `slug`): it is not
    /// replaced.
    pub explicit_link: bool,
    /// When the story is taken down (front matter `expires`).
    pub expires: Option<chrono::DateTime<chrono::Utc>>,
    /// What a link assigned to a new story is made from (slugified).
    pub wanted_slug: String,
}

fn words(html: &str) -> HashSet<String> {
    html_to_text(html).split_whitespace().map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase()).collect()
}

fn jaccard(a: &HashSet<String>, b: &HashSet<String>) -> f64 {
    let union = a.union(b).count();
    if union == 0 {
        return 0.0;
    }
    a.intersection(b).count() as f64 / union as f64
}

/// Gives every story in `read` the id and link it was published with, if
/// it was. `previous` is what the store holds for the same folder.
pub fn carry(read: &mut [Read], previous: &[Previous]) {
    let mut taken = vec![false; previous.len()];
    let by_id: HashMap<&str, usize> = previous.iter().enumerate().map(|(i, p)| (p.id.as_str(), i)).collect();
    let by_link: HashMap<String, usize> =
        previous.iter().enumerate().filter_map(|(i, p)| Some((canonical_link(p.link.as_deref()?), i))).collect();
    let by_file: HashMap<&str, usize> = previous.iter().enumerate().filter_map(|(i, p)| Some((p.file.as_deref()?, i))).collect();
    let mut matched: Vec<Option<usize>> = vec![None; read.len()];
    for (r, slot) in read.iter().zip(matched.iter_mut()) {
        let by_own_id = by_id.get(r.story.id.as_str()).copied();
        let candidates = [
            by_own_id.filter(|_| r.explicit_id),
            (!r.explicit_id && r.one_per_file).then(|| by_file.get(r.file.as_str()).copied()).flatten(),
            by_own_id,
            by_id.get(r.legacy_id.as_str()).copied(),
            r.story.link.as_deref().and_then(|l| by_link.get(&canonical_link(l)).copied()),
        ];
        if let Some(i) = candidates.into_iter().flatten().find(|&i| !taken[i]) {
            taken[i] = true;
            *slot = Some(i);
        }
    }
    // Edited wire stories: what vanished from a file against what appeared.
    for (ri, r) in read.iter().enumerate() {
        if matched[ri].is_some() || r.one_per_file || r.explicit_id {
            continue;
        }
        let body = words(&r.story.content);
        let best = previous
            .iter()
            .enumerate()
            .filter(|(i, p)| !taken[*i] && p.file.as_deref() == Some(r.file.as_str()))
            .map(|(i, p)| (i, jaccard(&body, &words(&p.content))))
            .filter(|(_, score)| *score >= SAME_BODY)
            .max_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((i, _)) = best {
            taken[i] = true;
            matched[ri] = Some(i);
        }
    }
    for (r, m) in read.iter_mut().zip(matched) {
        let Some(p) = m.map(|i| &previous[i]) else { continue };
        if !r.explicit_id {
            r.story.id.clone_from(&p.id);
        }
        if !r.explicit_link && p.link.is_some() {
            r.story.link.clone_from(&p.link);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn story(id: &str, title: &str, body: &str, link: Option<&str>) -> Story {
        Story {
            id: id.into(),
            title: title.into(),
            summary: None,
            content: format!("<p>{body}</p>"),
            image: None,
            authors: vec![],
            categories: vec![],
            topics: vec![],
            published: Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap(),
            updated: None,
            link: link.map(str::to_owned),
            source: "Newsroom".into(),
            attachments: vec![],
            origin: None,
            sanitized: None,
        }
    }

    fn read(story: Story, file: &str, one_per_file: bool) -> Read {
        let legacy_id = story.id.clone();
        Read {
            story,
            file: file.into(),
            one_per_file,
            legacy_id,
            explicit_id: false,
            explicit_link: false,
            wanted_slug: String::new(),
            expires: None,
        }
    }

    fn prev(id: &str, body: &str, file: Option<&str>, link: Option<&str>) -> Previous {
        Previous { id: id.into(), link: link.map(str::to_owned), file: file.map(str::to_owned), content: format!("<p>{body}</p>") }
    }

    const BODY: &str = "The council voted on Tuesday to close the harbour bridge for repairs lasting six weeks from March";

    #[test]
    fn markdown_story_keeps_id_and_link_by_file() {
        let mut r = vec![read(story("new", "Corrected", BODY, Some("http://n/s/corrected")), "a.md", true)];
        carry(&mut r, &[prev("old", BODY, Some("a.md"), Some("http://n/s/original"))]);
        assert_eq!((r[0].story.id.as_str(), r[0].story.link.as_deref()), ("old", Some("http://n/s/original")));
    }

    #[test]
    fn wire_story_with_a_corrected_headline_is_the_same_story() {
        let other = "Markets fell sharply after the central bank raised interest rates by half a point";
        let mut r = vec![
            read(story("id-x", "Bridge closes", BODY, None), "w.txt", false),
            read(story("id-m", "Markets", other, None), "w.txt", false),
        ];
        carry(&mut r, &[prev("id-brige", BODY, Some("w.txt"), Some("http://n/brige")), prev("id-m", other, Some("w.txt"), None)]);
        assert_eq!(r[0].story.id, "id-brige");
        assert_eq!(r[0].story.link.as_deref(), Some("http://n/brige"));
        assert_eq!(r[1].story.id, "id-m");
    }

    #[test]
    fn cases_that_stay_new() {
        let different = "A completely different story about football results in the northern league this weekend";
        let cases: Vec<(&str, Read, Previous)> = vec![
            ("different body", read(story("n", "T", different, None), "w.txt", false), prev("p", BODY, Some("w.txt"), None)),
            ("same body, other file", read(story("n", "T", BODY, None), "x.txt", false), prev("p", BODY, Some("w.txt"), None)),
            (
                "explicit id",
                Read { explicit_id: true, ..read(story("n", "T", BODY, None), "a.md", true) },
                prev("p", BODY, Some("a.md"), None),
            ),
        ];
        for (name, r, p) in cases {
            let mut list = vec![r];
            carry(&mut list, &[p]);
            assert_eq!(list[0].story.id, "n", "{name}");
        }
    }

    #[test]
    fn legacy_ids_and_links_match_stores_without_files() {
        let mut by_legacy = read(story("path-id", "T", BODY, None), "a.md", true);
        by_legacy.legacy_id = "title-id".into();
        let mut by_link = read(story("path-id2", "T", "x", Some("https://n/s/t?utm_source=a")), "b.md", true);
        by_link.legacy_id = "whatever".into();
        let mut list = vec![by_legacy, by_link];
        carry(&mut list, &[prev("title-id", BODY, None, None), prev("link-id", "y", None, Some("http://n/s/t"))]);
        assert_eq!(list[0].story.id, "title-id");
        assert_eq!(list[1].story.id, "link-id");
    }

    #[test]
    fn one_previous_story_is_carried_once() {
        let mut list = vec![read(story("a", "A", BODY, None), "w.txt", false), read(story("b", "B", BODY, None), "w.txt", false)];
        carry(&mut list, &[prev("p", BODY, Some("w.txt"), None)]);
        let carried = list.iter().filter(|r| r.story.id == "p").count();
        assert_eq!(carried, 1);
    }
}
