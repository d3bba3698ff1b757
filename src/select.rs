//! Choosing the stories that reach the channels without holding every
//! story in memory.
//!
//! Channels show their `max_items` newest stories, after de-duplication
//! (by id and canonical link, first in config order wins). Sources finish
//! in any order, so the [`Selector`] keeps a small key for every story
//! (id, link, date, topics, position) but the full story only while it can
//! still be chosen; the final choice is computed exactly from the keys, and
//! the rare chosen story that was let go is read back from its source's
//! saved state.

use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};

use crate::model::Story;
use crate::model::id::canonical_link;

/// What the choice needs to know of a story.
#[derive(Debug, Clone)]
struct StoryKey {
    id: String,
    link: Option<String>,
    published: DateTime<Utc>,
    topics: Vec<String>,
    /// Input order: origin (0 = the newsroom's files, then sources in config
    /// order) and position within it.
    origin: usize,
    pos: usize,
}

pub struct Selector {
    max_items: usize,
    keys: Vec<StoryKey>,
    /// Full stories by (origin, id), only while they may still be chosen.
    pool: HashMap<(usize, String), Story>,
    prune_at: usize,
}

/// The outcome: chosen stories in input order, and how many duplicates
/// were dropped.
pub struct Selection {
    pub stories: Vec<Story>,
    pub duplicates: usize,
}

impl Selector {
    pub fn new(max_items: usize, channels: usize) -> Selector {
        let capacity = max_items * channels.max(1);
        // Pruning sorts every key, so it runs only when the pool is well past
        // what the channels can show.
        Selector { max_items, keys: Vec::new(), pool: HashMap::new(), prune_at: 16 * capacity.max(64) }
    }

    /// Prunes whenever the pool holds more than `n` stories (tests use a
    /// small `n` to exercise letting go and reading back).
    pub fn prune_above(mut self, n: usize) -> Selector {
        self.prune_at = n;
        self
    }

    /// Adds the stories of one origin (with their topics assigned), in
    /// order. Origin 0 (the newsroom's own files) is never let go: it has
    /// no saved state to read it back from.
    pub fn add(&mut self, origin: usize, stories: Vec<Story>) {
        for (pos, story) in stories.into_iter().enumerate() {
            self.keys.push(StoryKey {
                id: story.id.clone(),
                link: story.link.as_deref().map(canonical_link),
                published: story.published,
                topics: story.topics.clone(),
                origin,
                pos,
            });
            self.pool.insert((origin, story.id.clone()), story);
        }
        if self.pool.len() > self.prune_at {
            let (chosen, _) = self.choose();
            self.pool.retain(|k, _| k.0 == 0 || chosen.contains(k));
            self.prune_at = self.prune_at.max(2 * self.pool.len());
        }
    }

    /// The exact choice over every key: (origin, id) of chosen stories, and
    /// the number of duplicates.
    fn choose(&self) -> (HashSet<(usize, String)>, usize) {
        let mut order: Vec<&StoryKey> = self.keys.iter().collect();
        order.sort_by_key(|k| (k.origin, k.pos));
        let (mut ids, mut links) = (HashSet::new(), HashSet::new());
        let mut unique: Vec<&StoryKey> = Vec::with_capacity(order.len());
        let mut duplicates = 0;
        for k in order {
            if ids.contains(k.id.as_str()) || k.link.as_deref().is_some_and(|l| links.contains(l)) {
                duplicates += 1;
                continue;
            }
            ids.insert(k.id.as_str());
            links.extend(k.link.as_deref());
            unique.push(k);
        }
        // Newest first; stable, so equal dates keep input order.
        unique.sort_by(|a, b| b.published.cmp(&a.published));
        let mut shown: HashMap<&str, usize> = HashMap::new();
        let mut chosen = HashSet::new();
        for k in unique {
            let mut wanted = false;
            for channel in std::iter::once("").chain(k.topics.iter().map(String::as_str)) {
                let n = shown.entry(channel).or_default();
                wanted |= *n < self.max_items;
                *n += 1;
            }
            if wanted {
                chosen.insert((k.origin, k.id.clone()));
            }
        }
        (chosen, duplicates)
    }

    /// The chosen stories in input order. `reload(origin, ids)` reads back
    /// stories that were let go from the pool (from their saved state);
    /// it is never asked for origin 0.
    pub fn finish(mut self, reload: impl Fn(usize, &HashSet<String>) -> Vec<Story>) -> Selection {
        let (chosen, duplicates) = self.choose();
        let mut missing: HashMap<usize, HashSet<String>> = HashMap::new();
        for (origin, id) in &chosen {
            if !self.pool.contains_key(&(*origin, id.clone())) {
                missing.entry(*origin).or_default().insert(id.clone());
            }
        }
        for (origin, ids) in missing {
            for story in reload(origin, &ids) {
                self.pool.insert((origin, story.id.clone()), story);
            }
        }
        let mut order: Vec<&StoryKey> = self.keys.iter().filter(|k| chosen.contains(&(k.origin, k.id.clone()))).collect();
        order.sort_by_key(|k| (k.origin, k.pos));
        let stories = order.into_iter().filter_map(|k| self.pool.remove(&(k.origin, k.id.clone()))).collect();
        Selection { stories, duplicates }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::model::StoryDraft;
    use crate::publish::channels;
    use chrono::TimeZone;

    fn config() -> Config {
        let topics: String = ["a", "b", "c"].iter().map(|t| format!("[[topics]]\nslug = \"{t}\"\ntitle = \"{t}\"\n")).collect();
        Config::from_toml(
            &format!("[publish]\ntitle = \"T\"\nbase_url = \"http://x/\"\nmax_items = 9\n{topics}"),
            std::path::Path::new("/x/w.toml"),
        )
        .unwrap()
    }

    fn origin_stories(origin: usize) -> Vec<Story> {
        let start = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        (0..120)
            .map(|i| {
                let mut s = StoryDraft {
                    title: format!("o{origin} s{i}"),
                    // Every 10th story shares its link with the same story of other origins.
                    link: Some(if i % 10 == 0 { format!("http://shared.example/{i}") } else { format!("http://o{origin}.example/{i}") }),
                    content: "<p>x</p>".into(),
                    // Shared stories are newest in later origins, so an earlier
                    // origin arriving late turns chosen copies into duplicates
                    // and frees their places for stories already let go.
                    published: Some(
                        start + chrono::Duration::minutes(if i % 10 == 0 { origin * 100 + i } else { (i * 13 + origin * 29) % 97 } as i64),
                    ),
                    source: format!("o{origin}"),
                    ..Default::default()
                }
                .normalize(start)
                .unwrap();
                s.topics =
                    ["a", "b", "c"].iter().filter(|_| (i + origin) % 3 == 0 || i % 7 == 0).take(1 + i % 3).map(|t| t.to_string()).collect();
                s
            })
            .collect()
    }

    /// With pruning, out-of-order arrival and read-back, the channels are
    /// exactly those of holding every story in config order.
    #[test]
    fn selection_equals_publishing_everything() {
        let config = config();
        let all: Vec<Vec<Story>> = (0..6).map(origin_stories).collect();
        let mut everything = Vec::new();
        let (mut ids, mut links) = (HashSet::new(), HashSet::new());
        for s in all.iter().flatten() {
            let link = canonical_link(s.link.as_deref().unwrap());
            if ids.insert(s.id.clone()) && links.insert(link) {
                everything.push(s.clone());
            }
        }
        let mut selector = Selector::new(config.publish.max_items, 4).prune_above(40);
        for origin in [3, 0, 5, 1, 4, 2] {
            selector.add(origin, all[origin].clone());
        }
        let reloaded = std::cell::Cell::new(0);
        let selection = selector.finish(|origin, wanted| {
            assert_ne!(origin, 0, "the newsroom's own stories have no saved state to read back");
            reloaded.set(reloaded.get() + wanted.len());
            all[origin].iter().filter(|s| wanted.contains(&s.id)).cloned().collect()
        });
        let channel_ids = |stories: &[Story]| -> Vec<Vec<String>> {
            channels(&config, stories).iter().map(|c| c.stories.iter().map(|s| s.id.clone()).collect()).collect()
        };
        assert_eq!(channel_ids(&selection.stories), channel_ids(&everything));
        assert_eq!(selection.duplicates, 6 * 120 - everything.len());
        assert!(selection.stories.len() <= 9 * 4);
        assert!(reloaded.get() > 0, "the test should exercise reading back let-go stories");
    }
}
