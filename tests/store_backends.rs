//! The store's rules, written once and run on each backend (SQLite, and
//! PostgreSQL under `postgres-tests`): source HTTP state, ids and dates
//! that never move, edits, tombstones, takedowns, decisions, requests,
//! channel digests, runs, the writer's lock, and `store copy`.

mod common;

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::backend::Backend;
use std::collections::BTreeMap;
use std::time::Duration as StdDuration;
use wirefeed::ingest::fetch::Validators;
use wirefeed::model::{Story, StoryDraft};
use wirefeed::store::decisions::Decision;
use wirefeed::store::requests::{FetchAnswer, RequestState, Requester};
use wirefeed::store::sources::SourceKind;
use wirefeed::store::stories::{Batch, Retention};
use wirefeed::store::takedowns::Editor;
use wirefeed::store::{Entry, Location, Reader, RunRecord, SourceState, Store, StoreError};

on_each_backend!(
    a_source_state_reads_back_as_it_was_saved,
    ids_published_dates_and_first_seen_never_move_and_an_edit_moves_updated,
    retention_prunes_leaves_a_tombstone_and_never_brings_the_story_back,
    a_duplicate_by_link_from_another_source_is_recorded_and_explained,
    a_takedown_hides_a_story_from_every_channel_until_lifted,
    a_fetch_request_is_taken_once_and_answered,
    channel_digests_meta_and_runs_are_kept,
    a_second_writer_waits_and_then_fails,
    explain_finds_stories_by_id_link_and_title_words_with_their_rank,
    a_copy_to_an_empty_store_keeps_everything_and_refuses_a_full_one,
    a_turn_with_nothing_to_store_saves_the_state_and_counts_the_stories,
);

const WAIT: StdDuration = StdDuration::from_secs(2);

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, day, hour, 0, 0).unwrap()
}

fn story(source: &str, guid: &str, title: &str, body: &str, published: DateTime<Utc>, topics: &[&str]) -> Story {
    let mut s = StoryDraft {
        origin_id: Some(guid.into()),
        title: title.into(),
        content: format!("<p>{body}</p>"),
        link: Some(format!("https://{source}.test/{guid}")),
        published: Some(published),
        source: source.into(),
        ..Default::default()
    }
    .normalize(published)
    .expect("a valid story");
    s.topics = topics.iter().map(|t| t.to_string()).collect();
    s
}

fn entry(story: Story) -> Entry {
    let hash = xxhash_rust::xxh3::xxh3_64(format!("{}{}{}", story.id, story.title, story.content).as_bytes());
    Entry { hash, story, file: None }
}

fn retention() -> Retention {
    Retention { keep_days: 30, max_items: 2, topics: vec!["world".into()], ..Default::default() }
}

/// Applies `entries` as source `pk`'s turn at `now`.
fn apply(store: &mut Store, pk: i64, entries: Vec<Entry>, now: DateTime<Utc>) -> wirefeed::store::BatchOutcome {
    let state = SourceState::default();
    let seen: Vec<u64> = entries.iter().map(|e| e.hash).collect();
    let batch = Batch { source_pk: pk, state: &state, entries, seen: &seen, retract_unseen: false, dropped: vec![] };
    store.apply(batch, &retention(), now).expect("the batch applies")
}

/// A 304 or an unchanged body: no entries, nothing seen or dropped, so
/// only the state is saved (`save_states`, as `build` and `run` do for
/// such turns), whole, with the source's story count; an empty turn
/// through `apply` counts the same. A source gone meanwhile counts 0.
fn a_turn_with_nothing_to_store_saves_the_state_and_counts_the_stories(backend: Backend) {
    let fresh = backend.fresh();
    let now = at(3, 12);
    let mut store = open(&fresh.location);
    let wire = store.source_pk("wire", SourceKind::Feed, "https://wire.test/feed").unwrap();
    let other = store.source_pk("other", SourceKind::Feed, "https://other.test/feed").unwrap();
    let first = store.apply(empty(&SourceState::default(), other), &retention(), now).unwrap();
    assert_eq!(first.total, 0, "an empty turn through apply");
    let stories = ["a", "b"].map(|g| entry(story("wire", g, &format!("Story {g}"), "Text.", at(3, 9), &[])));
    assert_eq!(apply(&mut store, wire, stories.to_vec(), now).new, 2);
    for (turn, when) in [("an hour later", at(3, 13)), ("a day later", at(4, 13))] {
        let state = SourceState {
            url: "https://wire.test/feed".into(),
            last_fetch: Some(when),
            last_status: Some("not modified".into()),
            next_fetch: Some(when + Duration::minutes(30)),
            body_hash: Some(42),
            body_read: Some(at(3, 12)),
            ..Default::default()
        };
        let gone = wire + other + 1000;
        let totals = store.save_states(&[(wire, &state), (gone, &state)]).unwrap();
        assert_eq!(totals, vec![2, 0], "{turn}: the source's stories; none for a source gone");
        assert_eq!(store.sources().unwrap()["wire"], (wire, state.clone()), "{turn}: the state, whole");
        let out = store.apply(empty(&state, wire), &retention(), when).unwrap();
        assert_eq!((out.new, out.changed, out.pruned, out.total), (0, 0, 0, 2), "{turn}, through apply");
    }
    assert_eq!(store.channel(None, 10).unwrap().len(), 2, "nothing stored went");
}

fn empty(state: &SourceState, pk: i64) -> Batch<'_> {
    Batch { source_pk: pk, state, entries: vec![], seen: &[], retract_unseen: false, dropped: vec![] }
}

fn ids(stories: &[wirefeed::store::StoredStory]) -> Vec<String> {
    stories.iter().map(|s| s.story.id.clone()).collect()
}

fn open(location: &Location) -> Store {
    Store::open_location(location, WAIT).expect("the store opens")
}

fn a_source_state_reads_back_as_it_was_saved(backend: Backend) {
    let fresh = backend.fresh();
    let mut store = open(&fresh.location);
    let pk = store.source_pk("wire", SourceKind::Feed, "https://wire.test/feed").unwrap();
    assert_eq!(store.source_pk("wire", SourceKind::Feed, "https://wire.test/feed").unwrap(), pk, "one row per name");
    let mut state = SourceState {
        url: "https://wire.test/feed".into(),
        validators: Validators { etag: Some("\"abc\"".into()), last_modified: Some("Tue, 03 Mar 2026 10:00:00 GMT".into()) },
        retry_until: Some(at(3, 12)),
        moved_to: Some("https://wire.test/new".into()),
        disabled: None,
        last_fetch: Some(at(3, 10)),
        last_success: Some(at(3, 9)),
        last_status: Some("304".into()),
        last_error: Some("timed out".into()),
        last_notes: Some("cut 3 entries".into()),
        consecutive_errors: 4,
        next_fetch: Some(at(3, 11)),
        body_hash: Some(u64::MAX - 7),
        body_read: Some(at(3, 10)),
        ..Default::default()
    };
    state.hints.ttl = Some(StdDuration::from_secs(3600));
    state.hints.skip_hours = 0b1010;
    state.hints.skip_days = 0b11;
    store.save_states(&[(pk, &state)]).unwrap();
    let all = store.sources().unwrap();
    assert_eq!(all["wire"], (pk, state.clone()), "every field, to the second");
    assert_eq!(store.source_scope(pk, "wire").unwrap(), "wire");
    assert_eq!(store.source_scope(pk, "renamed").unwrap(), "wire", "the scope is kept once set");
    drop(store);
    let reader = Reader::open_location(&fresh.location).unwrap();
    let summaries = reader.source_summaries().unwrap();
    assert_eq!(summaries.len(), 1);
    assert_eq!(summaries[0].state, state);
    assert_eq!(summaries[0].kind, SourceKind::Feed);
}

fn ids_published_dates_and_first_seen_never_move_and_an_edit_moves_updated(backend: Backend) {
    let fresh = backend.fresh();
    let mut store = open(&fresh.location);
    let pk = store.source_pk("wire", SourceKind::Feed, "https://wire.test/feed").unwrap();
    let first = story("wire", "a", "Alpha", "first text", at(3, 8), &["world"]);
    let out = apply(&mut store, pk, vec![entry(first.clone())], at(3, 9));
    assert_eq!((out.new, out.changed, out.total), (1, 0, 1));
    let before = store.channel(None, 10).unwrap();
    assert_eq!(before[0].story.id, first.id);
    assert_eq!(before[0].first_seen, at(3, 9));

    // The same entry again: nothing changes.
    let out = apply(&mut store, pk, vec![entry(first.clone())], at(3, 10));
    assert_eq!((out.new, out.changed), (0, 0));

    // An edit with a different date in the feed: id, published and
    // first-seen stay; updated moves to now; the content is the new one.
    let mut edited = story("wire", "a", "Alpha", "corrected text", at(3, 7), &["world"]);
    edited.id = first.id.clone();
    let out = apply(&mut store, pk, vec![entry(edited)], at(3, 11));
    assert_eq!((out.new, out.changed), (0, 1));
    let after = store.channel(Some("world"), 10).unwrap();
    assert_eq!(after.len(), 1);
    let s = &after[0];
    assert_eq!(s.story.id, first.id);
    assert_eq!(s.story.published, at(3, 8), "published never moves");
    assert_eq!(s.first_seen, at(3, 9), "first seen never moves");
    assert_eq!(s.story.updated, Some(at(3, 11)), "updated moves to the time of the edit");
    assert!(s.story.content.contains("corrected"), "{}", s.story.content);
    assert_eq!(store.story_count().unwrap(), 1);
}

fn retention_prunes_leaves_a_tombstone_and_never_brings_the_story_back(backend: Backend) {
    let fresh = backend.fresh();
    let mut store = open(&fresh.location);
    let pk = store.source_pk("wire", SourceKind::Feed, "https://wire.test/feed").unwrap();
    let now = at(20, 12);
    // Three old stories (past keep_days); channels keep max_items = 2.
    let old: Vec<Story> =
        (0..3).map(|i| story("wire", &format!("o{i}"), &format!("Old {i}"), "old", now - Duration::days(40 + i), &[])).collect();
    apply(&mut store, pk, old.iter().cloned().map(entry).collect(), now);
    // Two new ones push the old ones out of every channel: pruned.
    let young: Vec<Story> =
        (0..2).map(|i| story("wire", &format!("y{i}"), &format!("Young {i}"), "young", now - Duration::hours(i + 1), &[])).collect();
    let mut all: Vec<Entry> = old.iter().cloned().map(entry).collect();
    all.extend(young.iter().cloned().map(entry));
    let out = apply(&mut store, pk, all.clone(), now + Duration::hours(1));
    assert_eq!(out.new, 2);
    let kept = ids(&store.channel(None, 10).unwrap());
    assert_eq!(kept, vec![young[0].id.clone(), young[1].id.clone()], "only the young stay");
    // The feed still carries the old entries: they stay out.
    let out = apply(&mut store, pk, all, now + Duration::hours(2));
    assert_eq!(out.new, 0, "a pruned story is never new again");
    assert_eq!(store.story_count().unwrap(), 2);
    let reader = store.reader().unwrap();
    let known = reader.known_hashes(pk).unwrap();
    assert_eq!(known.len(), 5, "stored and tombstoned hashes are known");
    let told = reader.find_decisions(&old[0].id, 5).unwrap();
    assert!(told.iter().any(|r| r.decision.reason.contains("retention")), "{told:?}");
}

fn a_duplicate_by_link_from_another_source_is_recorded_and_explained(backend: Backend) {
    let fresh = backend.fresh();
    let mut store = open(&fresh.location);
    let a = store.source_pk("alpha", SourceKind::Feed, "https://alpha.test/feed").unwrap();
    let b = store.source_pk("beta", SourceKind::Feed, "https://beta.test/feed").unwrap();
    let original = story("alpha", "x", "Harbour reopens", "text", at(4, 8), &[]);
    apply(&mut store, a, vec![entry(original.clone())], at(4, 9));
    let mut copy = story("beta", "y", "Harbour reopens today", "text", at(4, 8), &[]);
    copy.link = original.link.clone();
    let out = apply(&mut store, b, vec![entry(copy.clone())], at(4, 10));
    assert_eq!((out.new, out.duplicates), (0, 1));
    let reader = store.reader().unwrap();
    let found = reader.find_decisions("harbour TODAY", 5).unwrap();
    assert_eq!(found.len(), 1, "found by title words, any case: {found:?}");
    assert_eq!(found[0].source, "beta");
    assert!(found[0].decision.reason.contains(&original.id) && found[0].decision.reason.contains("alpha"), "{found:?}");
    let absorbed = reader.absorbed(&original.id, 5).unwrap();
    assert_eq!(absorbed.len(), 1);
    let by_link = reader.find_decisions(original.link.as_deref().unwrap(), 5).unwrap();
    assert_eq!(by_link.len(), 1, "found by link");
}

fn a_takedown_hides_a_story_from_every_channel_until_lifted(backend: Backend) {
    let fresh = backend.fresh();
    let mut store = open(&fresh.location);
    let pk = store.source_pk("wire", SourceKind::Feed, "https://wire.test/feed").unwrap();
    let s1 = story("wire", "1", "One", "one", at(5, 8), &["world"]);
    let s2 = story("wire", "2", "Two", "two", at(5, 9), &["world"]);
    apply(&mut store, pk, vec![entry(s1.clone()), entry(s2.clone())], at(5, 10));
    let version = store.takedowns_version().unwrap();
    // The editor works beside the writer, as `hide` beside `run`.
    let mut editor = Editor::open_location(&fresh.location).unwrap();
    let t = editor.hide(&s2.id, Some("legal"), at(5, 11)).unwrap();
    assert_eq!(t.id.as_deref(), Some(s2.id.as_str()));
    assert_eq!(t.title.as_deref(), Some("Two"));
    assert_ne!(store.takedowns_version().unwrap(), version, "a running run sees the change");
    assert_eq!(ids(&store.channel(None, 10).unwrap()), vec![s1.id.clone()]);
    assert_eq!(ids(&store.channel(Some("world"), 10).unwrap()), vec![s1.id.clone()]);
    let by_url = editor.hide("https://later.test/story", None, at(5, 12)).unwrap();
    assert_eq!(by_url.id, None, "a URL not stored yet is taken down before it arrives");
    assert_eq!(store.takedowns().unwrap().len(), 2);
    assert!(matches!(editor.hide("no such id", None, at(5, 12)), Err(wirefeed::store::takedowns::TakedownError::NotFound(_))));
    let lifted = editor.unhide(&s2.id).unwrap();
    assert_eq!(lifted.len(), 1);
    assert!(matches!(editor.unhide(&s2.id), Err(wirefeed::store::takedowns::TakedownError::NotHidden(_))));
    assert_eq!(ids(&store.channel(None, 10).unwrap()), vec![s2.id.clone(), s1.id.clone()], "back, newest first");
    assert_eq!(editor.list().unwrap().len(), 1);
}

fn a_fetch_request_is_taken_once_and_answered(backend: Backend) {
    let fresh = backend.fresh();
    let store = open(&fresh.location);
    let requester = Requester::open_location(&fresh.location).unwrap();
    let pk = requester.ask(&["wire".into()], at(6, 8)).unwrap();
    assert_eq!(requester.state(pk).unwrap(), RequestState::Waiting);
    let taken = store.take_requests(at(6, 9)).unwrap();
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].sources, vec!["wire".to_owned()]);
    assert!(store.take_requests(at(6, 9)).unwrap().is_empty(), "taken once");
    assert_eq!(requester.state(pk).unwrap(), RequestState::Taken);
    assert!(!requester.withdraw(pk).unwrap(), "a taken request is not withdrawn");
    let answer = vec![FetchAnswer { source: "wire".into(), ok: true, status: "ok: 1 new".into() }];
    store.answer_request(pk, &answer, at(6, 10)).unwrap();
    assert_eq!(requester.state(pk).unwrap(), RequestState::Answered(answer));
    let other = requester.ask(&[], at(6, 11)).unwrap();
    assert!(requester.withdraw(other).unwrap());
    assert_eq!(requester.state(other).unwrap(), RequestState::Gone);
}

fn channel_digests_meta_and_runs_are_kept(backend: Backend) {
    let fresh = backend.fresh();
    let store = open(&fresh.location);
    store.set_channel_digest("all.rss", u64::MAX - 5).unwrap();
    store.set_channel_digest("all.rss", u64::MAX - 6).unwrap();
    store.set_channel_digest("topics/world.rss", 7).unwrap();
    assert_eq!(store.channel_digest("all.rss").unwrap(), Some(u64::MAX - 6), "all 64 bits, replaced");
    let mut paths = store.channel_paths().unwrap();
    paths.sort();
    assert_eq!(paths, vec!["all.rss".to_owned(), "topics/world.rss".to_owned()]);
    store.forget_channel("all.rss").unwrap();
    assert_eq!(store.channel_digest("all.rss").unwrap(), None);
    store.set_meta("k", "v1").unwrap();
    store.set_meta("k", "v2").unwrap();
    assert_eq!(store.meta("k").unwrap().as_deref(), Some("v2"));
    assert_eq!(store.last_run().unwrap(), None);
    let run = RunRecord { started: at(7, 8), finished: at(7, 9), ok: false, summary: "1 new".into() };
    store.record_run(&run).unwrap();
    assert_eq!(store.last_run().unwrap(), Some(run.clone()));
    assert_eq!(Reader::open_location(&fresh.location).unwrap().last_run().unwrap(), Some(run));
}

fn a_second_writer_waits_and_then_fails(backend: Backend) {
    let fresh = backend.fresh();
    let _first = open(&fresh.location);
    let start = std::time::Instant::now();
    let second = Store::open_location(&fresh.location, StdDuration::from_millis(300));
    assert!(
        matches!(second, Err(StoreError::Locked { .. } | StoreError::PostgresLocked { .. })),
        "{:?}",
        second.err().map(|e| e.to_string())
    );
    assert!(start.elapsed() >= StdDuration::from_millis(300), "it waited");
}

fn explain_finds_stories_by_id_link_and_title_words_with_their_rank(backend: Backend) {
    let fresh = backend.fresh();
    let mut store = open(&fresh.location);
    let pk = store.source_pk("wire", SourceKind::Feed, "https://wire.test/feed").unwrap();
    let s1 = story("wire", "1", "Storm hits coast", "one", at(8, 8), &["world"]);
    let s2 = story("wire", "2", "Calm returns", "two", at(8, 9), &["world"]);
    apply(&mut store, pk, vec![entry(s1.clone()), entry(s2.clone())], at(8, 10));
    let reader = store.reader().unwrap();
    let by_id = reader.find_stories(&s1.id, 5).unwrap();
    assert_eq!(by_id.len(), 1);
    assert_eq!(reader.find_stories(s1.link.as_deref().unwrap(), 5).unwrap()[0].stored.story.id, s1.id);
    let words = reader.find_stories("storm COAST", 5).unwrap();
    assert_eq!(words.len(), 1);
    let pk1 = words[0].pk;
    assert_eq!(reader.rank(pk1, None, &Default::default()).unwrap(), Some(2), "second newest");
    assert_eq!(reader.rank(pk1, Some("world"), &Default::default()).unwrap(), Some(2));
    assert_eq!(reader.rank(pk1, Some("sport"), &Default::default()).unwrap(), None);
    assert!(reader.takedown_for(&s1.id, None).unwrap().is_none());
}

/// Fills a store with some of everything: sources with state, stories,
/// a tombstone, a decision, a takedown, a digest, a run, a request.
fn fill(location: &Location) -> BTreeMap<String, (DateTime<Utc>, DateTime<Utc>)> {
    let mut store = open(location);
    let pk = store.source_pk("wire", SourceKind::Feed, "https://wire.test/feed").unwrap();
    let state = SourceState {
        url: "https://wire.test/feed".into(),
        validators: Validators { etag: Some("\"e1\"".into()), last_modified: None },
        next_fetch: Some(at(9, 12)),
        ..Default::default()
    };
    let now = at(20, 12);
    let old = story("wire", "old", "Old", "old", now - Duration::days(50), &[]);
    let a = story("wire", "a", "A", "a", now - Duration::hours(3), &["world"]);
    let b = story("wire", "b", "B", "b", now - Duration::hours(2), &[]);
    let c = story("wire", "c", "C", "c", now - Duration::hours(1), &[]);
    apply(&mut store, pk, vec![entry(a), entry(b), entry(c), entry(old)], now);
    let other = store.source_pk("other", SourceKind::Files, "stories").unwrap();
    let dup = story("other", "d", "Dup", "d", now, &[]);
    let mut dup = entry(dup);
    dup.story.link = Some("https://wire.test/a".into());
    let seen = [dup.hash];
    let st = SourceState::default();
    let dropped = vec![Decision { id: "x".into(), link: None, title: "Filtered".into(), reason: "source filter: sport".into() }];
    store
        .apply(Batch { source_pk: other, state: &st, entries: vec![dup], seen: &seen, retract_unseen: false, dropped }, &retention(), now)
        .unwrap();
    // After the turns, which save their own (default) state.
    store.save_states(&[(pk, &state)]).unwrap();
    store.set_channel_digest("all.rss", 42).unwrap();
    store.record_run(&RunRecord { started: now, finished: now, ok: true, summary: "3 new".into() }).unwrap();
    drop(store);
    Requester::open_location(location).unwrap().ask(&["wire".into()], now).unwrap();
    Editor::open_location(location).unwrap().hide("https://gone.test/x", Some("legal"), now).unwrap();
    dates(location)
}

/// id → (published, first seen) of every stored story.
fn dates(location: &Location) -> BTreeMap<String, (DateTime<Utc>, DateTime<Utc>)> {
    let store = open(location);
    store.channel(None, 100).unwrap().into_iter().map(|s| (s.story.id, (s.story.published, s.first_seen))).collect()
}

fn a_copy_to_an_empty_store_keeps_everything_and_refuses_a_full_one(backend: Backend) {
    let from = backend.fresh();
    let before = fill(&from.location);
    assert_eq!(before.len(), 3, "{before:?}");
    let to = Backend::Sqlite.fresh();
    let report = wirefeed::store::copy::copy(&from.location, &to.location, false, WAIT).expect("the copy");
    let counts: BTreeMap<&str, u64> = report.tables.iter().map(|(t, n)| (t.as_str(), *n)).collect();
    assert_eq!(counts["stories"], 3);
    assert_eq!(counts["tombstones"], 1);
    assert_eq!(counts["decisions"], 2, "the duplicate and the filtered entry");
    assert_eq!(counts["takedowns"], 1);
    assert_eq!(dates(&to.location), before, "ids, dates, first-seen");
    let copied = open(&to.location);
    assert_eq!(copied.sources().unwrap()["wire"].1.validators.etag.as_deref(), Some("\"e1\""));
    assert_eq!(copied.channel_digest("all.rss").unwrap(), Some(42));
    assert_eq!(copied.takedowns().unwrap()[0].reason.as_deref(), Some("legal"));
    drop(copied);
    let refused = wirefeed::store::copy::copy(&from.location, &to.location, false, WAIT).unwrap_err();
    assert!(refused.to_string().contains("--replace"), "{refused}");
    let replaced = wirefeed::store::copy::copy(&from.location, &to.location, true, WAIT).expect("--replace");
    assert_eq!(replaced, report, "the same rows and digest again");
}

/// Not a check: stories stored per second on each backend, printed
/// (`cargo test [--release] --features postgres-tests --test
/// store_backends -- --ignored --nocapture stored_per_second`). 2,000
/// stories of 100 sources, applied 25 sources per transaction as `build`
/// does.
fn stored_per_second(backend: Backend) {
    let fresh = backend.fresh();
    let mut store = open(&fresh.location);
    let now = at(20, 12);
    let pks: Vec<i64> =
        (0..100).map(|i| store.source_pk(&format!("s{i}"), SourceKind::Feed, &format!("https://s{i}.test/feed")).unwrap()).collect();
    let entries: Vec<Vec<Entry>> = pks
        .iter()
        .enumerate()
        .map(|(i, _)| {
            (0..20)
                .map(|j| {
                    let body = "Paragraph of ordinary news text. ".repeat(30);
                    entry(story(
                        &format!("s{i}"),
                        &format!("g{j}"),
                        &format!("Story {j} of {i}"),
                        &body,
                        now - Duration::minutes(j),
                        &["world"],
                    ))
                })
                .collect()
        })
        .collect();
    let state = SourceState::default();
    let seen: Vec<Vec<u64>> = entries.iter().map(|es| es.iter().map(|e| e.hash).collect()).collect();
    let retention = Retention { keep_days: 30, max_items: 50, topics: vec!["world".into()], ..Default::default() };
    let start = std::time::Instant::now();
    let mut stored = 0;
    let mut all: Vec<(usize, Vec<Entry>)> = entries.into_iter().enumerate().collect();
    while !all.is_empty() {
        let group: Vec<(usize, Vec<Entry>)> = all.drain(..all.len().min(25)).collect();
        let batches = group
            .into_iter()
            .map(|(i, es)| Batch { source_pk: pks[i], state: &state, entries: es, seen: &seen[i], retract_unseen: false, dropped: vec![] })
            .collect();
        stored += store.apply_all(batches, &retention, now).unwrap().iter().map(|o| o.new).sum::<usize>();
    }
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(stored, 2000);
    eprintln!("{backend:?}: {stored} stories in {secs:.2} s = {:.0} stories/s", stored as f64 / secs);
}

mod measure {
    #[test]
    #[ignore = "a measurement, not a check: run with --ignored --nocapture"]
    fn stored_per_second_sqlite() {
        super::stored_per_second(super::Backend::Sqlite)
    }

    #[cfg(feature = "postgres-tests")]
    #[test]
    #[ignore = "a measurement, not a check: run with --ignored --nocapture"]
    fn stored_per_second_postgres() {
        super::stored_per_second(super::Backend::Postgres)
    }
}
