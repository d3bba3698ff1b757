//! Several sources' turns applied in one transaction (`Store::apply_all`,
//! what `build` and `run` do to commit a few dozen times rather than once
//! per source) end exactly as applying them one at a time would. On each
//! backend (`common::backend`).

mod common;

use chrono::{DateTime, Duration, Utc};
use common::backend::Backend;
use wirefeed::model::{Story, StoryDraft};
use wirefeed::store::sources::SourceKind;
use wirefeed::store::stories::{Batch, Retention};
use wirefeed::store::{BatchOutcome, Entry, Location, SourceState, Store};

fn story(source: &str, guid: &str, link: &str, published: DateTime<Utc>, topics: &[&str]) -> Story {
    let mut s = StoryDraft {
        origin_id: Some(guid.into()),
        title: format!("{source} {guid}"),
        content: format!("<p>Body of {guid}.</p>"),
        link: Some(link.into()),
        published: Some(published),
        source: source.into(),
        ..Default::default()
    }
    .normalize(published)
    .expect("a valid story");
    s.topics = topics.iter().map(|t| t.to_string()).collect();
    s
}

/// One source's turn: (source name, [(guid, link, age in days, topics)]).
type Turn<'a> = (&'a str, Vec<(&'a str, &'a str, i64, Vec<&'a str>)>);

fn turns() -> Vec<Turn<'static>> {
    vec![
        (
            "alpha",
            vec![
                ("a1", "https://a.test/1", 0, vec!["world"]),
                ("a2", "https://a.test/2", 1, vec![]),
                ("a3", "https://a.test/3", 40, vec![]),
            ],
        ),
        // b2 has alpha's a1 link: a duplicate of a story stored by an
        // earlier batch of the same transaction.
        ("beta", vec![("b1", "https://b.test/1", 0, vec!["world"]), ("b2", "https://a.test/1", 0, vec![])]),
        ("gamma", vec![("g1", "https://g.test/1", 2, vec!["world"]), ("g2", "https://g.test/2", 50, vec!["world"])]),
    ]
}

fn retention() -> Retention {
    Retention { keep_days: 30, max_items: 3, topics: vec!["world".into()], ..Default::default() }
}

/// Applies the turns, grouped or one per transaction; returns the
/// outcomes and every stored (source, id) pair.
fn run(grouped: bool, location: &Location, now: DateTime<Utc>) -> (Vec<BatchOutcome>, Vec<(String, String)>) {
    let mut store = Store::open_location(location, std::time::Duration::from_secs(1)).expect("store opens");
    let state = SourceState::default();
    let turns = turns();
    let pks: Vec<i64> =
        turns.iter().map(|(name, _)| store.source_pk(name, SourceKind::Feed, &format!("https://{name}.test/feed")).unwrap()).collect();
    let entries = |(name, items): &Turn<'_>| -> Vec<Entry> {
        items
            .iter()
            .enumerate()
            .map(|(i, (guid, link, age, topics))| Entry {
                hash: (name.len() * 100 + i) as u64,
                story: story(name, guid, link, now - Duration::days(*age), topics),
                file: None,
            })
            .collect()
    };
    let all: Vec<Vec<Entry>> = turns.iter().map(entries).collect();
    let seen: Vec<Vec<u64>> = all.iter().map(|es| es.iter().map(|e| e.hash).collect()).collect();
    let batch = |i: usize, es: Vec<Entry>| Batch {
        source_pk: pks[i],
        state: &state,
        entries: es,
        seen: &seen[i],
        retract_unseen: false,
        dropped: vec![],
    };
    let outcomes = if grouped {
        let batches = all.into_iter().enumerate().map(|(i, es)| batch(i, es)).collect();
        store.apply_all(batches, &retention(), now).expect("the group applies")
    } else {
        all.into_iter().enumerate().map(|(i, es)| store.apply(batch(i, es), &retention(), now).expect("the batch applies")).collect()
    };
    let stored =
        store.merged_channel(100, &Default::default()).unwrap().into_iter().map(|s| (s.story.source.clone(), s.story.id.clone())).collect();
    (outcomes, stored)
}

fn counts(o: &BatchOutcome) -> [usize; 5] {
    [o.new, o.changed, o.duplicates, o.pruned, o.total]
}

on_each_backend!(
    a_group_of_batches_stores_what_one_batch_at_a_time_stores,
    a_duplicate_of_a_story_stored_earlier_in_the_same_group_is_caught,
    a_too_old_entry_is_kept_only_while_a_channel_has_room_for_it,
);

fn a_group_of_batches_stores_what_one_batch_at_a_time_stores(backend: Backend) {
    let now = Utc::now();
    let (one, many) = (backend.fresh(), backend.fresh());
    let (seq_outcomes, seq_stored) = run(false, &one.location, now);
    let (grp_outcomes, grp_stored) = run(true, &many.location, now);
    assert_eq!(grp_stored, seq_stored, "the same stories are stored");
    assert_eq!(grp_outcomes.len(), 3, "one outcome per batch");
    for (i, (g, s)) in grp_outcomes.iter().zip(&seq_outcomes).enumerate() {
        assert_eq!(counts(g), counts(s), "batch {i}: new, changed, duplicates, pruned, total");
        let reasons = |o: &BatchOutcome| o.decisions.iter().map(|d| (d.id.clone(), d.reason.clone())).collect::<Vec<_>>();
        assert_eq!(reasons(g), reasons(s), "batch {i}: decisions");
    }
}

fn a_duplicate_of_a_story_stored_earlier_in_the_same_group_is_caught(backend: Backend) {
    let now = Utc::now();
    let fresh = backend.fresh();
    let (outcomes, stored) = run(true, &fresh.location, now);
    assert_eq!(outcomes[1].duplicates, 1, "beta's b2 has alpha's a1 link");
    assert!(
        outcomes[1].decisions.iter().any(|d| d.reason.contains("same canonical link") && d.reason.contains("alpha")),
        "the decision names alpha: {:?}",
        outcomes[1].decisions
    );
    assert!(!stored.iter().any(|(_, id)| outcomes[1].decisions.iter().any(|d| &d.id == id)), "b2 is not stored");
}

fn a_too_old_entry_is_kept_only_while_a_channel_has_room_for_it(backend: Backend) {
    let now = Utc::now();
    let fresh = backend.fresh();
    let (outcomes, stored) = run(true, &fresh.location, now);
    let titles: Vec<&str> = stored.iter().map(|(s, _)| s.as_str()).collect();
    // a3 (40 days) came when the merged channel (3 items) had room: kept.
    // g2 (50 days) came when it and "world" were full of younger
    // stories: let go at once, its tombstone its record.
    assert_eq!(stored.len(), 5, "a1 a2 a3 b1 g1: {stored:?}");
    assert_eq!(titles.iter().filter(|s| **s == "gamma").count(), 1, "only g1 of gamma: {stored:?}");
    assert_eq!(outcomes[2].new, 1, "gamma stored one");
    assert_eq!(outcomes[2].pruned, 1, "g2 let go as it came (its tombstone is its decision record)");
}
