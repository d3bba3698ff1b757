use super::*;
use crate::model::StoryDraft;
use chrono::Utc;

fn topic(slug: &str, keywords: &[&str], categories: &[&str], sources: &[&str]) -> TopicConfig {
    let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect();
    TopicConfig {
        slug: slug.into(),
        title: slug.into(),
        description: String::new(),
        keywords: v(keywords),
        categories: v(categories),
        sources: v(sources),
        query: None,
        exclude: None,
        max_items: None,
        private: false,
        parsed: Default::default(),
    }
}

fn story(title: &str, content: &str, categories: &[&str], source: &str) -> Story {
    StoryDraft {
        title: title.into(),
        content: content.into(),
        categories: categories.iter().map(|s| s.to_string()).collect(),
        source: source.into(),
        ..Default::default()
    }
    .normalize(Utc::now())
    .unwrap()
}

fn topics_of(rules: &TopicRules, mut s: Story) -> Vec<String> {
    rules.assign(&mut s);
    s.topics
}

#[test]
fn keywords_match_whole_words_in_any_case() {
    let rules = TopicRules::new(&[topic("gaza", &["Gaza"], &[], &[]), topic("iran", &["iran"], &[], &[])]).unwrap();
    assert_eq!(topics_of(&rules, story("News", "<p>The GAZA strip</p>", &[], "x")), vec!["gaza"]);
    // "Iranian" is not the word "Iran".
    assert!(topics_of(&rules, story("Iranian talks", "", &[], "x")).is_empty());
}

#[test]
fn phrases_span_any_whitespace_and_markup() {
    let rules = TopicRules::new(&[topic("ee", &["Eurasian Economic Union"], &[], &[]), topic("cpp", &["C++"], &[], &[])]).unwrap();
    assert_eq!(topics_of(&rules, story("t", "<p>the Eurasian\n <b>Economic</b> Union</p>", &[], "x")), vec!["ee"]);
    assert_eq!(topics_of(&rules, story("Why C++ lasts", "", &[], "x")), vec!["cpp"]);
}

#[test]
fn non_ascii_keywords_fold_case_and_respect_word_boundaries() {
    let rules = TopicRules::new(&[topic("tr", &["Türkiye"], &[], &[]), topic("ai", &["AI"], &[], &[])]).unwrap();
    assert_eq!(topics_of(&rules, story("TÜRKIYE votes", "", &[], "x")), vec!["tr"]);
    assert_eq!(topics_of(&rules, story("Said the AI, twice", "", &[], "x")), vec!["ai"]);
    assert!(topics_of(&rules, story("Maintain the PAID plan", "", &[], "x")).is_empty());
}

#[test]
fn categories_and_sources_match_case_insensitively() {
    let rules = TopicRules::new(&[topic("world", &[], &["World"], &[]), topic("wire", &[], &[], &["AP Wire"])]).unwrap();
    assert_eq!(topics_of(&rules, story("t", "", &["world"], "ap wire")), vec!["world", "wire"]);
    assert!(topics_of(&rules, story("t", "", &["worldly"], "other")).is_empty());
}

mod query_language {
    use super::*;
    use crate::topics::matcher::{Prepared, QuerySetBuilder};
    use crate::topics::query::parse;

    #[test]
    fn parser_reads_structure_and_precedence() {
        // (case, query, the query as the parser understood it)
        let cases = [
            ("word", "gaza", "gaza"),
            ("adjacent terms are AND", "gaza ceasefire", "gaza AND ceasefire"),
            ("explicit AND", "gaza AND ceasefire", "gaza AND ceasefire"),
            ("AND binds tighter than OR", "a OR b c", "a OR (b AND c)"),
            ("AND binds tighter than OR, left", "a b OR c", "(a AND b) OR c"),
            ("NOT binds tighter than AND", "NOT a b", "NOT a AND b"),
            ("minus is NOT", "-a OR b", "NOT a OR b"),
            ("NOT of a group", "NOT (a OR b)", "NOT (a OR b)"),
            ("minus of a group", "x -(a OR b)", "x AND NOT (a OR b)"),
            ("double negation", "NOT -a", "NOT NOT a"),
            ("parentheses override precedence", "(a OR b) c", "(a OR b) AND c"),
            ("phrase", "\"west bank\"", "\"west bank\""),
            ("phrase with an escaped quote", r#""say \"no\"""#, "\"say \"no\"\""),
            ("prefix", "cease*", "cease*"),
            ("regex", "/gaz[ae]/", "/gaz[ae]/"),
            ("regex with an escaped slash", r"/a\/b/", "/a/b/"),
            ("field on a term", "title:gaza", "title:gaza"),
            ("field names in any case", "TITLE:gaza", "title:gaza"),
            ("field on a group", "title:(gaza OR \"west bank\")", "title:gaza OR title:\"west bank\""),
            ("inner field overrides", "title:(a OR content:b)", "title:a OR content:b"),
            ("field then space", "title: gaza", "title:gaza"),
            ("field on a phrase", "source:\"Aggregator Mirror\"", "source:\"Aggregator Mirror\""),
            ("link value keeps its colon", "link:https://x.org/a", "link:https://x.org/a"),
            ("operators are capitals only", "a or b", "a AND or AND b"),
            ("operator word as a field value", "title:AND", "title:AND"),
            ("times are words", "10:30", "10:30"),
            (
                "every field",
                "summary:a content:b author:c category:d lang:de",
                "summary:a AND content:b AND author:c AND category:d AND lang:de",
            ),
            ("issue example", "title:(gaza OR lebanon) OR \"ceasefire talks\"", "(title:gaza OR title:lebanon) OR \"ceasefire talks\""),
            ("hyphen inside a word", "covid-19", "covid-19"),
            ("CJK", "東京 OR 大阪", "東京 OR 大阪"),
        ];
        for (case, text, expected) in cases {
            match parse(text) {
                Ok(q) => assert_eq!(q.to_string(), expected, "case {case:?}: {text}"),
                Err(e) => panic!("case {case:?}: {text}: {e}"),
            }
        }
    }

    #[test]
    fn nesting_up_to_the_cap_parses() {
        use super::super::query::MAX_DEPTH;
        let groups = format!("{}a{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert_eq!(parse(&groups).unwrap().to_string(), "a", "{MAX_DEPTH} groups");
        let nots = format!("{}a", "NOT ".repeat(MAX_DEPTH));
        assert!(parse(&nots).is_ok(), "{MAX_DEPTH} NOTs");
    }

    #[test]
    fn parser_errors_name_the_column_and_what_was_expected() {
        let (groups, nots) = (format!("{}a", "(".repeat(100)), format!("{}a", "NOT ".repeat(100)));
        let (many, mixed) = ("(".repeat(100_000), format!("{}a", "(NOT ".repeat(40)));
        // (case, query, column, part of the message)
        let cases = [
            ("empty", "", 1, "empty query"),
            ("blank", "   ", 1, "empty query"),
            ("OR at the end", "a OR", 5, "expected a term"),
            ("OR at the start", "OR a", 1, "found 'OR'"),
            ("AND twice", "a AND AND b", 7, "found 'AND'"),
            ("unclosed group", "(a OR b", 8, "expected ')' to close the '(' at column 1"),
            ("stray close", "a)", 2, "unexpected ')'"),
            ("empty group", "()", 2, "empty group"),
            ("unknown field", "titel:x", 1, "unknown field 'titel'"),
            ("field without a term", "title:", 7, "after 'title:'"),
            ("field before an operator", "title: OR x", 8, "after 'title:'"),
            ("unterminated phrase", "a \"open", 8, "unterminated phrase: expected a closing '\"' for the one at column 3"),
            ("empty phrase", "\"\"", 1, "empty phrase"),
            ("unterminated regex", "/abc", 5, "unterminated regex"),
            ("invalid regex", "x /(/", 3, "invalid regex /(/"),
            ("lone minus", "a - b", 4, "after '-'"),
            ("lone star", "*", 1, "before '*'"),
            ("columns count characters", "東京 OR", 6, "expected a term"),
            ("groups past the cap", groups.as_str(), 65, "nested too deeply"),
            ("NOTs past the cap", nots.as_str(), 257, "nested too deeply"),
            ("a config's worth of groups", many.as_str(), 65, "nested too deeply"),
            ("groups and NOTs together", mixed.as_str(), 161, "nested too deeply"),
        ];
        for (case, text, column, message) in cases {
            match parse(text) {
                Ok(q) => panic!("case {case:?}: {text:?} parsed as {q}"),
                Err(e) => {
                    assert_eq!(e.column, column, "case {case:?}: {text:?}: {e}");
                    assert!(e.message.contains(message), "case {case:?}: {text:?}: {e}");
                }
            }
        }
    }

    struct Fields<'a> {
        title: &'a str,
        summary: &'a str,
        content: &'a str,
        authors: &'a [&'a str],
        categories: &'a [&'a str],
        source: &'a str,
        link: &'a str,
        lang: &'a str,
    }

    const BLANK: Fields<'static> =
        Fields { title: "t", summary: "", content: "", authors: &[], categories: &[], source: "Wire", link: "", lang: "en" };

    fn matches(query: &str, f: &Fields<'_>, fold: bool) -> bool {
        let mut set = QuerySetBuilder::new(fold);
        let id = set.add(&parse(query).unwrap_or_else(|e| panic!("{query}: {e}")));
        let set = set.build();
        let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect();
        let story = StoryDraft {
            title: f.title.into(),
            summary: (!f.summary.is_empty()).then(|| f.summary.into()),
            content: f.content.into(),
            authors: v(f.authors),
            categories: v(f.categories),
            source: f.source.into(),
            link: (!f.link.is_empty()).then(|| f.link.into()),
            ..Default::default()
        }
        .normalize(Utc::now())
        .unwrap();
        let mut scan = set.scan(Prepared::new(&story, f.lang, fold));
        let verdict = set.matches(id, &mut scan);
        // Explaining must agree with matching.
        assert_eq!(set.explain(id, &mut scan).is_some(), verdict, "{query}");
        // Preparing only the fields the query looks at changes nothing.
        let mut only_used = set.scan(set.prepare(&story, f.lang));
        assert_eq!(set.matches(id, &mut only_used), verdict, "{query}: only the fields the query uses");
        verdict
    }

    #[test]
    fn matcher_table() {
        let t = |title| Fields { title, ..BLANK };
        let c = |content| Fields { content, ..BLANK };
        // (case, query, story, fold_accents, expected)
        let cases: Vec<(&str, &str, Fields<'_>, bool, bool)> = vec![
            ("whole word", "gaza", t("The Gaza Strip"), false, true),
            ("not part of a word", "gaza", t("Gazans protest"), false, false),
            ("any case", "GAZA", t("in gaza today"), false, true),
            ("phrase", "\"west bank\"", t("the West  Bank settlements"), false, true),
            ("phrase words in order", "\"west bank\"", t("west of the bank"), false, false),
            ("phrase across markup", "\"west bank\"", c("<p>the west <b>bank</b></p>"), false, true),
            ("phrase across paragraphs", "\"west bank\"", c("<p>go west</p><p>bank on it</p>"), false, true),
            ("prefix", "cease*", t("Ceasefire holds"), false, true),
            ("prefix starts a word", "fire*", t("Ceasefire holds"), false, false),
            ("regex", "/gaz[ae]/", t("GAZE"), false, true),
            ("regex no match", "/^gaza$/", t("Gaza Strip"), false, false),
            ("regex sees text as written", "/^Breaking:/", t("Breaking: news"), false, true),
            ("AND needs both", "gaza talks", t("Gaza news"), false, false),
            ("AND", "gaza talks", t("talks on Gaza"), false, true),
            ("OR", "gaza OR lebanon", t("Lebanon border"), false, true),
            ("NOT", "gaza NOT sport", t("Gaza sport day"), false, false),
            ("minus", "gaza -sport", t("Gaza news"), false, true),
            ("precedence a OR (b c): a", "a OR b c", t("a"), false, true),
            ("precedence a OR (b c): b alone", "a OR b c", t("b"), false, false),
            ("precedence (NOT a) b", "NOT a b", t("b"), false, true),
            ("precedence (NOT a) b: a b", "NOT a b", t("a b"), false, false),
            ("title field", "title:gaza", Fields { title: "News", content: "<p>Gaza</p>", ..BLANK }, false, false),
            ("summary field", "summary:gaza", Fields { summary: "On Gaza", ..BLANK }, false, true),
            ("content field", "content:gaza", c("<p>Gaza</p>"), false, true),
            ("content is text, not tags", "content:strong", c("<p><strong>x</strong></p>"), false, false),
            ("text is the default", "gaza", Fields { summary: "in Gaza", ..BLANK }, false, true),
            ("text field", "text:gaza", c("<p>Gaza</p>"), false, true),
            ("field on a group", "title:(gaza OR \"west bank\")", t("West Bank raid"), false, true),
            ("field on a group, elsewhere", "title:(gaza OR \"west bank\")", c("<p>West Bank raid</p>"), false, false),
            ("author", "author:smith", Fields { authors: &["Jane Smith"], ..BLANK }, false, true),
            (
                "author phrase does not span authors",
                "author:\"smith jane\"",
                Fields { authors: &["A Smith", "Jane B"], ..BLANK },
                false,
                false,
            ),
            ("category", "category:sport", Fields { categories: &["Sport"], ..BLANK }, false, true),
            ("category whole word", "category:sport", Fields { categories: &["Sports"], ..BLANK }, false, false),
            ("source", "source:\"aggregator mirror\"", Fields { source: "Aggregator Mirror", ..BLANK }, false, true),
            ("link substring", "link:example.com/sport", Fields { link: "https://example.com/sport/1", ..BLANK }, false, true),
            ("link substring inside a word", "link:sport", Fields { link: "https://example.com/sports/1", ..BLANK }, false, true),
            ("link absent", "link:sport", BLANK, false, false),
            ("lang", "lang:de", Fields { lang: "de-AT", ..BLANK }, false, true),
            ("lang other", "lang:de", BLANK, false, false),
            ("CJK substring", "東京", t("東京で大雨"), false, true),
            ("CJK inside content", "大雨", c("<p>東京で大雨が降った</p>"), false, true),
            ("CJK phrase", "\"東京で\"", t("昨日東京で大雨"), false, true),
            ("Thai substring", "กรุงเทพ", t("ฝนตกที่กรุงเทพวันนี้"), false, true),
            ("Latin next to ideographs", "tokyo", t("東京tokyo駅"), false, true),
            ("Cyrillic whole word", "путин", t("Визит Путина"), false, false),
            ("Cyrillic prefix", "путин*", t("Визит Путина"), false, true),
            ("Unicode case", "türkiye", t("TÜRKIYE votes"), false, true),
            ("no folding by default", "koln", t("Köln"), false, false),
            ("folding", "koln", t("Köln"), true, true),
            ("folding both ways", "köln", t("KOLN"), true, true),
            ("folding sharp s", "strasse", t("Straße"), true, true),
            ("folding keeps kana voicing", "かす", t("ガス"), true, false),
            ("non-word edges", "c++", t("Why C++ lasts"), false, true),
            ("apostrophes separate words", "europe", t("l'Europe"), false, true),
            ("hyphens separate words", "covid", t("covid-19 cases"), false, true),
        ];
        for (case, query, story, fold, expected) in &cases {
            assert_eq!(matches(query, story, *fold), *expected, "case {case:?}: {query}");
        }
    }

    #[test]
    fn explain_names_term_and_field() {
        let mut set = QuerySetBuilder::new(false);
        let id = set.add(&parse("title:(gaza OR lebanon) OR content:\"ceasefire talks\"").unwrap());
        let set = set.build();
        for (title, content, term, field) in [
            ("Lebanon border", "", "title:lebanon", "title"),
            ("Talks", "<p>Intro.</p><p>The ceasefire talks resume</p>", "content:\"ceasefire talks\"", "content"),
        ] {
            let s = story(title, content, &[], "x");
            let mut scan = set.scan(Prepared::new(&s, "en", false));
            let hits = set.explain(id, &mut scan).unwrap();
            assert_eq!(hits.len(), 1, "{title}");
            assert_eq!((hits[0].term.as_str(), hits[0].field.name()), (term, field), "{title}");
        }
    }
}

mod rules {
    use super::*;

    fn config(extra: &str) -> crate::config::Config {
        let text = format!("[publish]\ntitle = \"T\"\nbase_url = \"https://x.org/\"\n{extra}");
        crate::config::Config::from_toml(&text, std::path::Path::new("/tmp/wirefeed.toml")).unwrap()
    }

    #[test]
    fn query_and_exclude_decide_with_the_other_rules() {
        let c = config(
            "[[topics]]\nslug = \"mideast\"\ntitle = \"M\"\nkeywords = [\"Gaza\"]\nquery = 'title:(lebanon OR \"west bank\")'\nexclude = 'category:sport OR source:\"Aggregator Mirror\"'\n",
        );
        let rules = TopicRules::from_config(&c);
        for (case, s, expected) in [
            ("keyword", story("Gaza update", "", &[], "Wire"), true),
            ("query", story("Lebanon border", "", &[], "Wire"), true),
            ("neither", story("Weather", "", &[], "Wire"), false),
            ("excluded by category", story("Gaza match", "", &["Sport"], "Wire"), false),
            ("excluded by source", story("Gaza", "", &[], "Aggregator Mirror"), false),
        ] {
            assert_eq!(topics_of(&rules, s) == vec!["mideast"], expected, "case {case}");
        }
        // Front matter still adds, whatever exclude says.
        let mut named = story("Gaza match", "", &["Sport"], "Wire");
        named.topics.push("mideast".into());
        assert_eq!(topics_of(&rules, named), vec!["mideast"]);
    }

    #[test]
    fn source_topics_and_languages_and_folding_come_from_the_config() {
        let c = config(
            "[match]\nfold_accents = true\n[[topics]]\nslug = \"de\"\ntitle = \"D\"\nquery = 'lang:de koln'\nexclude = 'sport'\n\
             [[topics]]\nslug = \"eco\"\ntitle = \"E\"\n\
             [[sources]]\nname = \"Rheinpost\"\nurl = \"https://r.example/feed\"\nlanguage = \"de\"\ntopics = [\"eco\"]\n",
        );
        let rules = TopicRules::from_config(&c);
        assert_eq!(topics_of(&rules, story("Köln heute", "", &[], "Rheinpost")), vec!["de", "eco"]);
        assert_eq!(topics_of(&rules, story("Köln heute", "", &[], "Other")), Vec::<String>::new());
        // A source's topics obey the topic's exclude like any rule.
        let c = config(
            "[[topics]]\nslug = \"eco\"\ntitle = \"E\"\nexclude = 'sport'\n[[sources]]\nname = \"S\"\nurl = \"https://s.example/\"\ntopics = [\"eco\"]\n",
        );
        let rules = TopicRules::from_config(&c);
        assert_eq!(topics_of(&rules, story("Markets", "", &[], "S")), vec!["eco"]);
        assert!(topics_of(&rules, story("Sport results", "", &[], "S")).is_empty());
    }

    #[test]
    fn source_filters_admit_and_reject_with_reasons() {
        let c = config(
            "[[sources]]\nname = \"S\"\nurl = \"https://s.example/\"\ninclude = 'economy OR markets'\nexclude = 'title:crypto*'\nmax_age = \"7d\"\n",
        );
        let rules = TopicRules::from_config(&c);
        let now = Utc::now();
        let ok = story("Markets rally", "", &[], "S");
        assert_eq!(rules.admit(&ok, now), Ok(()));
        let r = rules.admit(&story("Weather", "", &[], "S"), now).unwrap_err();
        assert_eq!(r.to_string(), "does not match include 'economy OR markets'");
        let r = rules.admit(&story("Cryptocurrency markets", "", &[], "S"), now).unwrap_err();
        assert_eq!(r.to_string(), "excluded by 'title:crypto*'");
        let mut old = ok.clone();
        old.published = now - chrono::Duration::days(8);
        assert!(matches!(rules.admit(&old, now), Err(Rejection::TooOld(_))));
        // Other sources are not filtered.
        assert_eq!(rules.admit(&story("Weather", "", &[], "T"), now), Ok(()));
    }

    #[test]
    fn query_syntax_errors_are_config_errors_naming_the_topic() {
        let text = "[publish]\ntitle = \"T\"\nbase_url = \"https://x.org/\"\n[[topics]]\nslug = \"gaza\"\ntitle = \"G\"\nquery = 'title:(gaza OR'\n";
        let e = crate::config::Config::from_toml(text, std::path::Path::new("/tmp/w.toml")).unwrap_err().to_string();
        assert!(e.contains("topics[0].query") && e.contains("topic \"gaza\"") && e.contains("column 15"), "{e}");
        let text = "[publish]\ntitle = \"T\"\nbase_url = \"https://x.org/\"\n[[sources]]\nname = \"S\"\nurl = \"https://s.example/\"\nexclude = 'x OR'\n";
        let e = crate::config::Config::from_toml(text, std::path::Path::new("/tmp/w.toml")).unwrap_err().to_string();
        assert!(e.contains("sources[0].exclude") && e.contains("source \"S\"") && e.contains("column 5"), "{e}");
    }
}
