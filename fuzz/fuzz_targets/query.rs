//! The topic query language. Input: the query, then after a NUL a story's
//! title and after another its content (HTML). Any text parses or gives a
//! typed error naming a column inside the query, never a panic. A parsed
//! query prints in its own syntax and that text parses back to the same
//! print; matched against a story, `NOT q` matches exactly when `q` does
//! not, and `explain` finds hits exactly when `q` matches.
#![no_main]

use wirefeed::model::StoryDraft;
use wirefeed::topics::matcher::{Prepared, QuerySetBuilder};
use wirefeed::topics::query::{self, Query};
use wirefeed_fuzz::{fields, fixed_time};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let f = fields(data, 3);
    let text = &f[0];
    let q = match query::parse(text) {
        Ok(q) => q,
        Err(e) => {
            let columns = text.chars().count() + 1;
            assert!(e.column >= 1 && e.column <= columns, "error column {} outside 1..={columns}: {e}", e.column);
            return;
        }
    };
    let printed = q.to_string();
    // A phrase holding `"` or a regex holding `/` (written escaped) prints
    // them bare, as the tests of the query language document: only the
    // other queries are promised to print back to themselves.
    let escaped = text.contains('\\');
    if !escaped {
        let reparsed = query::parse(&printed).unwrap_or_else(|e| panic!("{text:?} prints as {printed:?}, which does not parse: {e}"));
        assert_eq!(reparsed.to_string(), printed, "{text:?} prints as {printed:?}, which prints differently");
    }
    let story = StoryDraft {
        title: if f[1].is_empty() { "Ceasefire talks resume in Doha".into() } else { f[1].clone() },
        content: f[2].clone(),
        source: "Wire".into(),
        link: Some("https://news.example.org/world/ceasefire?id=7".into()),
        categories: vec!["World".into(), "Middle East".into()],
        authors: vec!["Desk".into()],
        ..Default::default()
    }
    .normalize(fixed_time());
    let Ok(story) = story else { return };
    for fold in [false, true] {
        let mut b = QuerySetBuilder::new(fold);
        let id = b.add(&q);
        let not = b.add(&Query::Not(Box::new(q.clone())));
        let set = b.build();
        let mut scan = set.scan(Prepared::new(&story, "en", fold));
        let hit = set.matches(id, &mut scan);
        assert_eq!(set.matches(not, &mut scan), !hit, "NOT ({printed}) agrees with it");
        assert_eq!(set.explain(id, &mut scan).is_some(), hit, "explain disagrees with matches for {printed}");
    }
});
