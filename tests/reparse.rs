//! Generated RSS and Atom re-read by a namespace-aware XML parser and by
//! the rss / atom_syndication readers, with awkward content on purpose.

use chrono::{TimeZone, Utc};
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;
use wirefeed::Config;
use wirefeed::model::{Image, Story, StoryDraft};
use wirefeed::publish::{self, Format, Site};

fn config() -> Config {
    Config::from_toml(
        "[publish]\ntitle = \"Desk & Co <test>\"\nbase_url = \"https://feeds.example.org/news\"\n[[topics]]\nslug = \"t\"\ntitle = \"T\"\nkeywords = [\"alpha\"]\n",
        std::path::Path::new("/tmp/x/wirefeed.toml"),
    )
    .unwrap()
}

fn stories() -> Vec<Story> {
    let tricky = StoryDraft {
        title: "Alpha & “Omega” <b>not a tag</b>".into(),
        content: "<p>CDATA end ]]> inside &amp; more</p><p>Ünïcödé\u{1}</p>".into(),
        link: Some("https://newsroom.example/a?x=1&y=2".into()),
        image: Some(Image {
            url: Some("https://img.example/p.png".into()),
            caption: Some("A <caption> & more".into()),
            credit: Some("AP".into()),
        }),
        authors: vec!["Ana Ruiz".into(), "Bo Li".into()],
        categories: vec!["World".into(), "R&D".into()],
        topics: vec!["t".into()],
        published: Some(Utc.with_ymd_and_hms(2024, 6, 1, 8, 30, 0).unwrap()),
        updated: Some(Utc.with_ymd_and_hms(2024, 6, 2, 9, 0, 0).unwrap()),
        source: "Newsroom".into(),
        ..Default::default()
    };
    let plain = StoryDraft {
        title: "Plain story".into(),
        content: "<p>Just text.</p>".into(),
        published: Some(Utc.with_ymd_and_hms(2024, 5, 1, 0, 0, 0).unwrap()),
        source: "Newsroom".into(),
        ..Default::default()
    };
    [tricky, plain].into_iter().map(|d| d.normalize(Utc::now()).unwrap()).collect()
}

/// Every element and attribute prefix must resolve to a declared namespace.
fn assert_namespaces_declared(xml: &[u8]) -> Vec<String> {
    let mut reader = NsReader::from_reader(xml);
    let mut buf = Vec::new();
    let mut seen = Vec::new();
    loop {
        match reader.read_resolved_event_into(&mut buf).expect("well-formed XML") {
            (ns, Event::Start(e) | Event::Empty(e)) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                if let ResolveResult::Unknown(p) = ns {
                    panic!("undeclared prefix {:?} on <{name}>", String::from_utf8_lossy(&p));
                }
                if let ResolveResult::Bound(ns) = ns {
                    seen.push(format!("{}|{}", String::from_utf8_lossy(ns.as_ref()), String::from_utf8_lossy(e.local_name().as_ref())));
                }
            }
            (_, Event::Eof) => break,
            _ => {}
        }
        buf.clear();
    }
    seen
}

#[test]
fn rss_reparses_with_every_field() {
    let (config, stories) = (config(), stories());
    let site = Site::from_config(&config);
    let channels = publish::channels(&config, &stories);
    let xml = publish::rss::render(&site, &channels[0]);
    let seen = assert_namespaces_declared(&xml);
    for el in [
        "http://search.yahoo.com/mrss/|content",
        "http://search.yahoo.com/mrss/|credit",
        "http://purl.org/dc/elements/1.1/|creator",
        "http://www.w3.org/2005/Atom|link",
        "http://purl.org/rss/1.0/modules/content/|encoded",
    ] {
        assert!(seen.iter().any(|s| s == el), "{el} not found in {seen:?}");
    }
    let ch = rss::Channel::read_from(&xml[..]).unwrap();
    assert_eq!(ch.title, "Desk & Co <test>");
    assert_eq!(ch.link, "https://feeds.example.org/news/");
    assert_eq!(ch.last_build_date.as_deref(), Some("Sun, 2 Jun 2024 09:00:00 +0000"));
    assert_eq!(ch.items.len(), 2);
    let it = &ch.items[0];
    assert_eq!(it.title.as_deref(), Some(stories[0].title.as_str()));
    assert_eq!(it.link.as_deref(), Some("https://newsroom.example/a?x=1&y=2"));
    assert_eq!(it.guid.as_ref().map(|g| (g.value.as_str(), g.permalink)), Some((stories[0].id.as_str(), false)));
    assert_eq!(it.pub_date.as_deref(), Some("Sat, 1 Jun 2024 08:30:00 +0000"));
    let content = it.content.as_deref().unwrap();
    assert!(content.contains("CDATA end ]]&gt; inside"), "{content}");
    assert!(content.contains("<figcaption>A &lt;caption&gt; &amp; more <small>(AP)</small></figcaption>"), "{content}");
    assert!(content.contains(r#"alt="""#), "the figcaption labels the image, alt does not repeat it: {content}");
    assert!(!content.contains('\u{1}'));
    // One dc:creator naming both: readers show only the last of several.
    assert_eq!(it.dublin_core_ext.as_ref().unwrap().creators, vec!["Ana Ruiz and Bo Li"]);
    assert_eq!(it.categories.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), vec!["World", "R&D"]);
    let enc = it.enclosure.as_ref().unwrap();
    assert_eq!((enc.url.as_str(), enc.mime_type.as_str()), ("https://img.example/p.png", "image/png"));
    let media = &it.extensions["media"]["content"][0];
    assert_eq!(media.attrs["url"], "https://img.example/p.png");
    assert_eq!(media.children["credit"][0].value.as_deref(), Some("AP"));
    assert_eq!(media.children["description"][0].value.as_deref(), Some("A <caption> & more"));
    assert!(ch.items[1].enclosure.is_none());
}

#[test]
fn atom_reparses_with_every_field() {
    let (config, stories) = (config(), stories());
    let site = Site::from_config(&config);
    let channels = publish::channels(&config, &stories);
    let xml = publish::atom::render(&site, &channels[1]);
    assert_namespaces_declared(&xml);
    let feed = atom_syndication::Feed::read_from(&xml[..]).unwrap();
    assert_eq!(feed.id, "https://feeds.example.org/news/topics/t.atom");
    assert_eq!(feed.updated.to_rfc3339(), "2024-06-02T09:00:00+00:00");
    let self_link = feed.links.iter().find(|l| l.rel == "self").unwrap();
    assert_eq!(self_link.href, channels[1].url(&site, Format::Atom));
    assert_eq!(feed.entries.len(), 1);
    let e = &feed.entries[0];
    assert_eq!(e.id, stories[0].id);
    assert_eq!(e.title.value, stories[0].title);
    assert_eq!(e.published.unwrap().to_rfc3339(), "2024-06-01T08:30:00+00:00");
    assert_eq!(e.updated.to_rfc3339(), "2024-06-02T09:00:00+00:00");
    assert_eq!(e.authors.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), vec!["Ana Ruiz", "Bo Li"]);
    assert_eq!(e.categories.iter().map(|c| c.term.as_str()).collect::<Vec<_>>(), vec!["World", "R&D"]);
    let enclosure = e.links.iter().find(|l| l.rel == "enclosure").unwrap();
    assert_eq!((enclosure.href.as_str(), enclosure.mime_type.as_deref()), ("https://img.example/p.png", Some("image/png")));
    let content = e.content.as_ref().unwrap();
    assert_eq!(content.content_type.as_deref(), Some("html"));
    assert!(content.value.as_deref().unwrap().contains("]]&gt;"));
    assert_eq!(e.summary.as_ref().unwrap().value, stories[0].summary.clone().unwrap());
}

#[test]
fn json_feed_has_the_1_1_fields() {
    let (config, stories) = (config(), stories());
    let site = Site::from_config(&config);
    let channels = publish::channels(&config, &stories);
    let v: serde_json::Value = serde_json::from_slice(&publish::jsonfeed::render(&site, &channels[0])).unwrap();
    assert_eq!(v["version"], "https://jsonfeed.org/version/1.1");
    assert_eq!(v["feed_url"], "https://feeds.example.org/news/all.json");
    let item = &v["items"][0];
    assert_eq!(item["id"], stories[0].id.as_str());
    assert_eq!(item["image"], "https://img.example/p.png");
    assert_eq!(item["date_published"], "2024-06-01T08:30:00Z");
    assert_eq!(item["date_modified"], "2024-06-02T09:00:00Z");
    assert_eq!(item["authors"][1]["name"], "Bo Li");
    assert_eq!(item["tags"][1], "R&D");
    assert!(v["items"][1].get("image").is_none());
}
