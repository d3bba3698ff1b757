//! Nothing a feed carries is lost or garbled on the way from the parser
//! into a story (issue 9): attachments and their durations, the lead image
//! beside the audio, feed ids and authors, names without e-mail addresses,
//! plain text kept as text, prefixed XHTML kept as markup, and `bozo` for
//! input that is not well-formed XML. Every table names its cases.

use chrono::{TimeZone, Utc};
use url::Url;
use wirefeed::Story;
use wirefeed::ingest::parse::{Enclosure, ParseContext, ParsedEntry, ParsedFeed, TextKind, parse_feed};

const NS: &str = r#"xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" xmlns:media="http://search.yahoo.com/mrss/" xmlns:dc="http://purl.org/dc/elements/1.1/""#;

fn parse(doc: &str) -> ParsedFeed {
    let ctx = ParseContext { base_url: Some(Url::parse("https://pod.example.org/feed.xml").unwrap()), content_type: None };
    parse_feed(doc.as_bytes(), &ctx).unwrap_or_else(|e| panic!("{e}: {doc}"))
}

fn rss_item(item: &str) -> String {
    format!(
        r#"<?xml version="1.0"?><rss version="2.0" {NS}><channel><title>Show</title><link>https://pod.example.org/</link><item><title>t</title><guid>g</guid>{item}</item></channel></rss>"#
    )
}

fn story(entry: ParsedEntry) -> Story {
    let base = Url::parse("https://pod.example.org/feed.xml").unwrap();
    entry.into_draft("Src", Some(&base)).normalize(Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap()).expect("story")
}

fn urls(e: &[Enclosure]) -> Vec<&str> {
    e.iter().map(|x| x.url.as_str()).collect()
}

/// (url, type, bytes, seconds, title) of every attachment of the story.
type Att = (String, String, Option<u64>, Option<u64>, Option<String>);

fn attachments(s: &Story) -> Vec<Att> {
    s.attachments.iter().map(|a| (a.url.clone(), a.mime_type.clone(), a.length, a.duration, a.title.clone())).collect()
}

fn att(url: &str, mime: &str, len: Option<u64>, secs: Option<u64>, title: Option<&str>) -> Att {
    (url.into(), mime.into(), len, secs, title.map(String::from))
}

#[test]
fn podcast_audio_is_an_attachment_and_cover_art_the_image() {
    const MP3: &str = "https://pod.example.org/iot/2024-01-04.mp3";
    const COVER: &str = "https://pod.example.org/cover.jpg";
    let cases: Vec<(&str, String, Option<&str>, Vec<Att>)> = vec![
        (
            "BBC In Our Time: one audio/mpeg enclosure, itunes:duration, channel and item itunes:image",
            format!(
                r#"<?xml version="1.0"?><rss version="2.0" {NS}><channel><title>In Our Time</title><itunes:image href="https://pod.example.org/show.jpg"/>
                <item><title>Ada Lovelace</title><guid isPermaLink="false">urn:bbc:p0h8w3b5</guid>
                <enclosure url="{MP3}" length="50496000" type="audio/mpeg"/><itunes:duration>3156</itunes:duration>
                <itunes:image href="{COVER}"/></item></channel></rss>"#
            ),
            Some(COVER),
            vec![att(MP3, "audio/mpeg", Some(50496000), Some(3156), None)],
        ),
        (
            "SPIEGEL: JPEG as media:content and as enclosure, then the MP3",
            rss_item(&format!(
                r#"<media:content url="{COVER}" medium="image" type="image/jpeg"/><enclosure url="{COVER}" type="image/jpeg" length="1200"/>
                <enclosure url="{MP3}" type="audio/mpeg" length="9000"/><itunes:duration>12:30</itunes:duration>"#
            )),
            Some(COVER),
            vec![att(MP3, "audio/mpeg", Some(9000), Some(750), None)],
        ),
        (
            "JPEG enclosure first, MP3 only as media:content with duration and title",
            rss_item(&format!(
                r#"<enclosure url="{COVER}" type="image/jpeg" length="1200"/>
                <media:content url="{MP3}" medium="audio" type="audio/mpeg" fileSize="4000" duration="61.6"><media:title type="plain">Part &lt;1&gt;</media:title></media:content>"#
            )),
            Some(COVER),
            vec![att(MP3, "audio/mpeg", Some(4000), Some(62), Some("Part <1>"))],
        ),
        (
            "the same MP3 as enclosure and media:content: one attachment, facts merged",
            rss_item(&format!(
                r#"<enclosure url="{MP3}" type="audio/mpeg" length="9000"/><media:content url="{MP3}" medium="audio" duration="3156"/>
                <media:thumbnail url="{COVER}"/>"#
            )),
            Some(COVER),
            vec![att(MP3, "audio/mpeg", Some(9000), Some(3156), None)],
        ),
        (
            "several enclosures, each kept; itunes:duration on the audio, not the first file",
            rss_item(
                r#"<enclosure url="https://pod.example.org/notes.pdf" type="application/pdf" length="100"/>
                <enclosure url="https://pod.example.org/a.mp3" type="audio/mpeg" length="200"/>
                <enclosure url="https://pod.example.org/b.m4a" type="audio/mp4" length="300"/><itunes:duration>1:00:00</itunes:duration>"#,
            ),
            None,
            vec![
                att("https://pod.example.org/notes.pdf", "application/pdf", Some(100), None, None),
                att("https://pod.example.org/a.mp3", "audio/mpeg", Some(200), Some(3600), None),
                att("https://pod.example.org/b.m4a", "audio/mp4", Some(300), None, None),
            ],
        ),
        (
            "untyped enclosure known as audio by its extension gets the duration",
            rss_item(r#"<enclosure url="/e/7.mp3" length="10"/><itunes:duration>00:02:05.5</itunes:duration>"#),
            None,
            vec![att("https://pod.example.org/e/7.mp3", "audio/mpeg", Some(10), Some(126), None)],
        ),
        (
            "itunes:duration on an enclosure whose kind nothing tells, not on the PDF",
            rss_item(
                r#"<enclosure url="https://pod.example.org/notes.pdf" type="application/pdf"/>
                <enclosure url="https://cdn.example.org/stream?id=5"/><itunes:duration>10:00</itunes:duration>"#,
            ),
            None,
            vec![
                att("https://pod.example.org/notes.pdf", "application/pdf", None, None, None),
                att("https://cdn.example.org/stream?id=5", "application/octet-stream", None, Some(600), None),
            ],
        ),
        (
            "itunes:duration with only a document goes nowhere",
            rss_item(
                r#"<enclosure url="https://pod.example.org/notes.pdf" type="application/pdf"/><itunes:duration>10:00</itunes:duration>"#,
            ),
            None,
            vec![att("https://pod.example.org/notes.pdf", "application/pdf", None, None, None)],
        ),
        (
            "RSS 1.0 mod_enclosure",
            r#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
            xmlns:enc="http://purl.oclc.org/net/rss_2.0/enc#"><channel rdf:about="https://pod.example.org/"><title>R</title></channel>
            <item rdf:about="https://pod.example.org/1"><title>One</title>
            <enc:enclosure rdf:resource="https://pod.example.org/1.mp3" enc:type="audio/mpeg" enc:length="321"/></item></rdf:RDF>"#
                .to_string(),
            None,
            vec![att("https://pod.example.org/1.mp3", "audio/mpeg", Some(321), None, None)],
        ),
        (
            "media:group: the isDefault rendition, titled by the group",
            rss_item(
                r#"<media:group><media:title>Episode 9</media:title>
                <media:content url="https://pod.example.org/9-low.mp3" type="audio/mpeg" fileSize="10"/>
                <media:content url="https://pod.example.org/9-high.mp3" type="audio/mpeg" fileSize="20" isDefault="true" duration="100"/>
                <media:thumbnail url="https://pod.example.org/9.jpg"/></media:group>"#,
            ),
            Some("https://pod.example.org/9.jpg"),
            vec![att("https://pod.example.org/9-high.mp3", "audio/mpeg", Some(20), Some(100), Some("Episode 9"))],
        ),
        (
            "media:group without isDefault: the first rendition; its picture stays the image",
            rss_item(
                r#"<media:group><media:content url="https://pod.example.org/v.mp4" medium="video"/>
                <media:content url="https://pod.example.org/v.webm" medium="video"/>
                <media:content url="https://pod.example.org/poster.png" medium="image"/></media:group>"#,
            ),
            Some("https://pod.example.org/poster.png"),
            vec![att("https://pod.example.org/v.mp4", "video/mp4", None, None, None)],
        ),
        (
            "a document as media:content; untyped picture by extension is the image",
            rss_item(
                r#"<media:content url="https://pod.example.org/report.pdf" medium="document" type="application/pdf" fileSize="5"/>
                <media:content url="https://pod.example.org/lead.webp"/>"#,
            ),
            Some("https://pod.example.org/lead.webp"),
            vec![att("https://pod.example.org/report.pdf", "application/pdf", Some(5), None, None)],
        ),
        (
            "a thumbnail that is audio is no picture",
            rss_item(
                r#"<media:thumbnail url="https://pod.example.org/x.mp3"/><enclosure url="https://pod.example.org/x.mp3" type="audio/mpeg"/>"#,
            ),
            None,
            vec![att("https://pod.example.org/x.mp3", "audio/mpeg", None, None, None)],
        ),
        (
            "medium=image contradicted by an audio type is audio",
            rss_item(r#"<media:content url="https://pod.example.org/y" medium="image" type="audio/ogg"/>"#),
            None,
            vec![att("https://pod.example.org/y", "audio/ogg", None, None, None)],
        ),
        (
            "Atom enclosure links with title and length",
            r#"<feed xmlns="http://www.w3.org/2005/Atom"><id>urn:f</id><title>F</title><entry><id>urn:e</id><title>e</title>
            <link rel="enclosure" href="https://pod.example.org/a.ogg" type="audio/ogg" length="77" title="Full &lt;interview&gt;"/>
            <link rel="enclosure" href="https://pod.example.org/cover.png" type="image/png"/></entry></feed>"#
                .to_string(),
            Some("https://pod.example.org/cover.png"),
            vec![att("https://pod.example.org/a.ogg", "audio/ogg", Some(77), None, Some("Full <interview>"))],
        ),
        (
            "JSON Feed attachments with title and duration",
            r#"{"version":"https://jsonfeed.org/version/1.1","title":"J","items":[{"id":"1","title":"t",
            "attachments":[{"url":"/ep1.mp3","mime_type":"audio/mpeg","size_in_bytes":5,"title":"Ep 1","duration_in_seconds":59.5}]}]}"#
                .to_string(),
            None,
            vec![att("https://pod.example.org/ep1.mp3", "audio/mpeg", Some(5), Some(60), Some("Ep 1"))],
        ),
    ];
    for (name, doc, image, want) in cases {
        let feed = parse(&doc);
        let s = story(feed.entries.into_iter().next().unwrap_or_else(|| panic!("{name}: no entry")));
        assert_eq!(s.image.as_ref().and_then(|i| i.url.as_deref()), image, "{name}: image");
        assert_eq!(attachments(&s), want, "{name}: attachments");
    }
}

#[test]
fn media_content_is_no_enclosure_for_feedparser_but_counts_as_attachment() {
    let doc = rss_item(
        r#"<enclosure url="https://pod.example.org/a.mp3" type="audio/mpeg"/><media:content url="https://pod.example.org/v.mp4" medium="video"/>"#,
    );
    let e = &parse(&doc).entries[0];
    assert_eq!(urls(&e.enclosures), ["https://pod.example.org/a.mp3", "https://pod.example.org/v.mp4"]);
    assert_eq!(e.enclosures.iter().map(|x| x.extension).collect::<Vec<_>>(), [false, true]);
    let report = wirefeed::ingest::parse::conformance_json(&Ok(parse(&doc)));
    assert_eq!(report["entries"][0]["enclosures"], serde_json::json!(["https://pod.example.org/a.mp3"]));
}

#[test]
fn non_picture_media_text_is_not_the_caption() {
    let doc = rss_item(
        r#"<media:content url="https://pod.example.org/v.mp4" medium="video"><media:title>Clip</media:title>
        <media:description>What the clip shows</media:description><media:credit>Clip Maker</media:credit>
        <media:thumbnail url="https://pod.example.org/poster.jpg"/></media:content>"#,
    );
    let e = parse(&doc).entries.remove(0);
    assert_eq!(e.summary.as_deref(), Some("What the clip shows"));
    let img = e.image.clone().expect("poster is the image");
    assert_eq!((img.url.as_str(), img.caption, img.credit), ("https://pod.example.org/poster.jpg", None, None));
    assert_eq!(e.enclosures[0].title.as_deref(), Some("Clip"));
}

#[test]
fn feed_ids_and_authors() {
    struct Case {
        name: &'static str,
        doc: &'static str,
        id: Option<&'static str>,
        feed_authors: &'static [&'static str],
        entry_authors: &'static [&'static str],
    }
    let cases = [
        Case {
            name: "Atom feed id and author; entry author with name and email",
            doc: r#"<feed xmlns="http://www.w3.org/2005/Atom"><id>urn:uuid:60a76c80-d399-11d9-b93C-0003939e0af6</id><title>A</title>
                <author><name>Feed Person</name><email>feed@example.org</email></author>
                <entry><id>e</id><title>t</title><author><name>Ann</name><email>ann@example.org</email></author></entry></feed>"#,
            id: Some("urn:uuid:60a76c80-d399-11d9-b93C-0003939e0af6"),
            feed_authors: &["Feed Person"],
            entry_authors: &["Ann"],
        },
        Case {
            name: "Atom: an author with only an email has no name",
            doc: r#"<feed xmlns="http://www.w3.org/2005/Atom"><id>tag:x,2024:f</id><author><email>desk@example.org</email></author>
                <entry><id>e</id><title>t</title><author><email>ann@example.org</email><uri>https://x/</uri></author></entry></feed>"#,
            id: Some("tag:x,2024:f"),
            feed_authors: &[],
            entry_authors: &[],
        },
        Case {
            name: "Atom 0.3 feed author",
            doc: r#"<feed version="0.3" xmlns="http://purl.org/atom/ns#"><id>urn:old</id><author><name>Old Timer</name></author>
                <entry><id>e</id><title>t</title></entry></feed>"#,
            id: Some("urn:old"),
            feed_authors: &["Old Timer"],
            entry_authors: &[],
        },
        Case {
            name: "RSS managingEditor, channel dc:creator and itunes:author; item author forms",
            doc: r#"<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"><channel>
                <managingEditor>desk@example.org (News Desk)</managingEditor><dc:creator>DC Person</dc:creator><itunes:author>Radio 4</itunes:author>
                <item><guid>1</guid><author>jane@example.org (Jane Doe)</author><author>John Roe &lt;john@example.org&gt;</author>
                <author>bare@example.org</author><dc:creator>mailto:x@example.org</dc:creator></item></channel></rss>"#,
            id: None,
            feed_authors: &["News Desk", "DC Person", "Radio 4"],
            entry_authors: &["Jane Doe", "John Roe"],
        },
        Case {
            name: "RSS bare e-mail managingEditor gives no feed author",
            doc: r#"<rss version="2.0"><channel><managingEditor>editor@example.org</managingEditor><item><guid>1</guid></item></channel></rss>"#,
            id: None,
            feed_authors: &[],
            entry_authors: &[],
        },
        Case {
            name: "JSON Feed 1.1 authors; item without authors",
            doc: r#"{"version":"https://jsonfeed.org/version/1.1","title":"J","authors":[{"name":"Feed Author"},{"url":"https://x/"}],
                "items":[{"id":"1","title":"t"}]}"#,
            id: None,
            feed_authors: &["Feed Author"],
            entry_authors: &[],
        },
        Case {
            name: "JSON Feed 1.0 author; item author",
            doc: r#"{"version":"https://jsonfeed.org/version/1","title":"J","author":{"name":"Old Author"},
                "items":[{"id":"1","title":"t","author":{"name":"desk@example.org (Desk)"}}]}"#,
            id: None,
            feed_authors: &["Old Author"],
            entry_authors: &["Desk"],
        },
        Case {
            name: "JSON Feed authors of the wrong type are ignored, not fatal",
            doc: r#"{"version":"https://jsonfeed.org/version/1.1","authors":{"name":"x"},"items":[{"id":"1","title":"t","authors":"me"}]}"#,
            id: None,
            feed_authors: &[],
            entry_authors: &[],
        },
    ];
    for c in cases {
        let f = parse(c.doc);
        assert_eq!(f.id.as_deref(), c.id, "{}: id", c.name);
        assert_eq!(f.authors, c.feed_authors, "{}: feed authors", c.name);
        assert_eq!(f.entries[0].authors, c.entry_authors, "{}: entry authors", c.name);
    }
}

/// (case, document, parsed title, parsed summary, summary kind, story title, story summary)
type TextCase = (&'static str, String, Option<&'static str>, Option<&'static str>, TextKind, &'static str, Option<&'static str>);

#[test]
fn plain_text_stays_text_and_html_becomes_its_text() {
    let atom = |entry: &str| format!(r#"<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>urn:e</id>{entry}</entry></feed>"#);
    let cases: Vec<TextCase> = vec![
        (
            "Atom text title and summary keep <T> and <col>",
            atom("<title>Vector&lt;T&gt; and &lt;col&gt; handling</title><summary>Wrap &lt;col&gt; in &lt;colgroup&gt; first</summary>"),
            Some("Vector<T> and <col> handling"),
            Some("Wrap <col> in <colgroup> first"),
            TextKind::Text,
            "Vector<T> and <col> handling",
            Some("Wrap <col> in <colgroup> first"),
        ),
        (
            "Atom type=text written out, entity-looking text kept",
            atom(r#"<title type="text">AT&amp;amp;T &amp;lt;3</title><summary type="text">&amp;nbsp; is an entity</summary>"#),
            Some("AT&amp;T &lt;3"),
            Some("&nbsp; is an entity"),
            TextKind::Text,
            "AT&amp;T &lt;3",
            Some("&nbsp; is an entity"),
        ),
        (
            "Atom html title and summary become their text",
            atom(
                r#"<title type="html">Vector&amp;lt;T&amp;gt; &lt;b&gt;now&lt;/b&gt;</title><summary type="html">&lt;p&gt;Big &lt;em&gt;news&lt;/em&gt;&lt;/p&gt;</summary>"#,
            ),
            Some("Vector<T> now"),
            Some("<p>Big <em>news</em></p>"),
            TextKind::Html,
            "Vector<T> now",
            Some("Big news"),
        ),
        (
            "Atom xhtml title is the text of its markup",
            atom(r#"<title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">Use &lt;T&gt; <b>well</b></div></title>"#),
            Some("Use <T> well"),
            None,
            TextKind::Html,
            "Use <T> well",
            None,
        ),
        (
            "Atom 0.3 escaped text/html summary is HTML; escaped without type is text",
            r#"<feed version="0.3" xmlns="http://purl.org/atom/ns#"><entry><id>e</id><title mode="escaped">&lt;b&gt;x&lt;/b&gt;</title>
            <summary type="text/html" mode="escaped">&lt;i&gt;y&lt;/i&gt;</summary></entry></feed>"#
                .into(),
            Some("<b>x</b>"),
            Some("<i>y</i>"),
            TextKind::Html,
            "<b>x</b>",
            Some("y"),
        ),
        (
            "naked markup in a text summary is markup, not flattened",
            r#"<feed version="0.3" xmlns="http://purl.org/atom/ns#"><entry><id>e</id><title>t</title>
            <summary>Example <b>Atom</b> &amp; co</summary></entry></feed>"#
                .into(),
            Some("t"),
            Some("Example <b>Atom</b> & co"),
            TextKind::Html,
            "t",
            Some("Example Atom & co"),
        ),
        (
            "Atom 0.3 base64 text/plain summary is text",
            r#"<feed version="0.3" xmlns="http://purl.org/atom/ns#"><entry><id>e</id><title>t</title>
            <summary type="text/plain" mode="base64">YSA8Yj4gYw==</summary></entry></feed>"#
                .into(),
            Some("t"),
            Some("a <b> c"),
            TextKind::Text,
            "t",
            Some("a <b> c"),
        ),
        (
            "JSON Feed summary is plain text",
            r#"{"version":"https://jsonfeed.org/version/1.1","items":[{"id":"1","title":"Vector<T>","summary":"Use <col> & <b>x</b>"}]}"#
                .into(),
            Some("Vector<T>"),
            Some("Use <col> & <b>x</b>"),
            TextKind::Text,
            "Vector<T>",
            Some("Use <col> & <b>x</b>"),
        ),
        (
            "RSS title that is not HTML keeps its brackets; description is HTML",
            rss_item("<title>Vector&lt;T&gt; and &lt;col&gt;</title><description>Wrap &lt;b&gt;this&lt;/b&gt;</description>")
                .replace("<title>t</title>", ""),
            Some("Vector<T> and <col>"),
            Some("Wrap <b>this</b>"),
            TextKind::Html,
            "Vector<T> and <col>",
            Some("Wrap this"),
        ),
        (
            "RSS title that is HTML becomes its text",
            rss_item("<title>&lt;b&gt;Bold&lt;/b&gt; &amp;amp; co</title>").replace("<title>t</title>", ""),
            Some("Bold & co"),
            None,
            TextKind::Html,
            "Bold & co",
            None,
        ),
        (
            "itunes:summary without markup is text",
            rss_item("<itunes:summary>Wrap &lt;col&gt; in it</itunes:summary>"),
            Some("t"),
            Some("Wrap <col> in it"),
            TextKind::Text,
            "t",
            Some("Wrap <col> in it"),
        ),
        (
            "itunes:summary with HTML is HTML",
            rss_item("<itunes:summary><![CDATA[<p>Guests: <a href=\"https://x/\">Ann</a></p>]]></itunes:summary>"),
            Some("t"),
            Some("<p>Guests: <a href=\"https://x/\">Ann</a></p>"),
            TextKind::Html,
            "t",
            Some("Guests: Ann"),
        ),
        (
            "media:description type=plain is text even when it looks like HTML",
            rss_item(r#"<media:description type="plain">Tags like &lt;b&gt;this&lt;/b&gt;</media:description>"#),
            Some("t"),
            Some("Tags like <b>this</b>"),
            TextKind::Text,
            "t",
            Some("Tags like <b>this</b>"),
        ),
        (
            "media:description type=html is HTML",
            rss_item(r#"<media:description type="html">&lt;b&gt;Bold&lt;/b&gt; caption</media:description>"#),
            Some("t"),
            Some("<b>Bold</b> caption"),
            TextKind::Html,
            "t",
            Some("Bold caption"),
        ),
    ];
    for (name, doc, title, summary, kind, story_title, story_summary) in cases {
        let e = parse(&doc).entries.remove(0);
        assert_eq!(e.title.as_deref(), title, "{name}: parsed title");
        assert_eq!(e.summary.as_deref(), summary, "{name}: parsed summary");
        if summary.is_some() {
            assert_eq!(e.summary_kind, kind, "{name}: summary kind");
        }
        let s = story(e);
        assert_eq!(s.title, story_title, "{name}: story title");
        if story_summary.is_some() {
            assert_eq!(s.summary.as_deref(), story_summary, "{name}: story summary");
        }
    }
}

#[test]
fn atom_feed_titles_keep_text() {
    let f = parse(r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>Generics &lt;T&gt; weekly</title></feed>"#);
    assert_eq!(f.title.as_deref(), Some("Generics <T> weekly"));
}

#[test]
fn plain_text_summary_is_the_content_when_there_is_none() {
    let doc =
        r#"{"version":"https://jsonfeed.org/version/1.1","items":[{"id":"1","title":"t","summary":"Wrap <col> in <colgroup> first"}]}"#;
    let s = story(parse(doc).entries.remove(0));
    assert_eq!(s.content, "<p>Wrap &lt;col&gt; in &lt;colgroup&gt; first</p>");
}

#[test]
fn prefixed_xhtml_keeps_its_markup() {
    const XHTML: &str = "http://www.w3.org/1999/xhtml";
    let cases = [
        (
            "prefixed wrapper and children (the issue's example)",
            format!(
                r#"<xhtml:div xmlns:xhtml="{XHTML}"><xhtml:p>Join the <xhtml:a href="/live/42">livestream</xhtml:a></xhtml:p></xhtml:div>"#
            ),
            r#"<p>Join the <a href="/live/42">livestream</a></p>"#,
        ),
        (
            "default namespace",
            format!(r#"<div xmlns="{XHTML}"><p>Join the <a href="/live/42">livestream</a></p></div>"#),
            r#"<p>Join the <a href="/live/42">livestream</a></p>"#,
        ),
        (
            "nested divs and escaped text",
            format!(r#"<h:div xmlns:h="{XHTML}"><h:div class="x"><h:p>a &lt; b &amp; <h:em>c</h:em></h:p></h:div></h:div>"#),
            r#"<div class="x"><p>a &lt; b &amp; <em>c</em></p></div>"#,
        ),
        (
            "mixed: prefixed wrapper, default-namespace children",
            format!(r#"<x:div xmlns:x="{XHTML}"><p xmlns="{XHTML}">one <x:strong>two</x:strong></p></x:div>"#),
            r#"<p>one <strong>two</strong></p>"#,
        ),
        (
            "no wrapper div: elements kept whole",
            format!(r#"<h:p xmlns:h="{XHTML}">first</h:p><h:p xmlns:h="{XHTML}">second</h:p>"#),
            r#"<p>first</p><p>second</p>"#,
        ),
        (
            "attribute quotes survive",
            format!(r#"<h:div xmlns:h="{XHTML}"><h:img src='/i.png' alt='say "hi"'/></h:div>"#),
            r#"<img src="/i.png" alt='say "hi"'></img>"#,
        ),
    ];
    for (name, body, want) in cases {
        let doc = format!(
            r#"<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>urn:e</id><title>t</title><content type="xhtml">{body}</content></entry></feed>"#
        );
        let e = parse(&doc).entries.remove(0);
        assert_eq!(e.content.as_deref(), Some(want), "{name}");
    }
    let doc = format!(
        r#"<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>urn:e</id><title>t</title><content type="xhtml"><xhtml:div xmlns:xhtml="{XHTML}"><xhtml:p>Join the <xhtml:a href="/live/42">livestream</xhtml:a></xhtml:p></xhtml:div></content></entry></feed>"#
    );
    let s = story(parse(&doc).entries.remove(0));
    assert!(s.content.contains(r#"<a href="https://pod.example.org/live/42""#), "story keeps the link: {}", s.content);
    assert!(s.content.contains(">livestream</a>"), "{}", s.content);
    let rss = format!(
        r#"<rss version="2.0"><channel><item><guid>1</guid><title>t</title><xhtml:body xmlns:xhtml="{XHTML}"><xhtml:p>Body <xhtml:b>bold</xhtml:b></xhtml:p></xhtml:body></item></channel></rss>"#
    );
    assert_eq!(parse(&rss).entries[0].content.as_deref(), Some("<p>Body <b>bold</b></p>"), "RSS xhtml:body");
}

#[test]
fn bozo_means_not_well_formed() {
    let feed = r#"<rss version="2.0"><channel><title>x</title></channel></rss>"#;
    let cases: Vec<(&str, Vec<u8>, bool)> = vec![
        ("well-formed with declaration", format!("<?xml version=\"1.0\"?>\n{feed}\n<!-- done -->\n").into_bytes(), false),
        ("byte order mark before the declaration", format!("\u{feff}<?xml version=\"1.0\"?>{feed}").into_bytes(), false),
        ("white space before a document without declaration", format!("\n\n{feed}").into_bytes(), false),
        ("white space before the declaration", format!("  <?xml version=\"1.0\"?>{feed}").into_bytes(), true),
        ("junk before the declaration", format!("junk<?xml version=\"1.0\"?>{feed}").into_bytes(), true),
        ("comment before the declaration", format!("<!-- c --><?xml version=\"1.0\"?>{feed}").into_bytes(), true),
        ("raw control character", feed.replace("<title>x", "<title>x\u{1}y").into_bytes(), true),
        ("raw form feed", feed.replace("<title>x", "<title>x\u{c}y").into_bytes(), true),
        ("U+FFFF", feed.replace("<title>x", "<title>x\u{ffff}").into_bytes(), true),
        ("reference to a control character", feed.replace("<title>x", "<title>x&#1;y").into_bytes(), true),
        ("reference to a control character, with markup beside it", feed.replace("<title>x", "<title><b>x</b>&#x1F;").into_bytes(), true),
        ("C1 control is allowed in XML 1.0", feed.replace("<title>x", "<title>x\u{85}").into_bytes(), false),
        ("text after the root element", format!("{feed}junk").into_bytes(), true),
        ("a second root element", format!("{feed}<rss/>").into_bytes(), true),
    ];
    for (name, doc, bozo) in cases {
        let f = parse_feed(&doc, &ParseContext::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(f.bozo, bozo, "{name}: {:?}", f.bozo_reason);
        assert_eq!(
            f.title.as_deref().map(|t| t.starts_with('x') || t.starts_with("<b>") || !t.is_empty()),
            Some(true),
            "{name}: still read"
        );
    }
}
