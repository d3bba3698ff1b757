//! A site for the page tests: newsroom stories without a `link_base`
//! (so each gets its own page), one of them in Arabic, one hostile; a
//! podcast feed with audio and video; a hostile feed; and a source
//! whose URL and headers carry credentials. Shared by `tests/pages.rs`
//! and `tests/external_pages.rs`.
#![allow(dead_code)]

use std::path::Path;

/// Secrets that must never reach a page.
pub const SECRETS: [&str; 3] = ["s3cr3t-pass", "tok-abc123", "hunter2-bearer"];

/// Writes the site into `dir`: `wirefeed.toml` (output in `dir/feeds`),
/// `stories/`, `feeds/` inputs and `media/` files for the stories'
/// images. `base` is the URL the output is served at (ends with `/`).
pub fn write(dir: &Path, base: &str, page_size: usize) {
    let w = |rel: &str, text: String| {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    let secret_url = format!("http://reader:{}@127.0.0.1:9/private.rss?token={}&page=1", SECRETS[0], SECRETS[1]);
    w(
        "wirefeed.toml",
        format!(
            r#"[publish]
title = "Harbour Desk"
description = "News from the harbour and the region."
base_url = "{base}"
output_dir = "out"
max_items = 50
page_size = {page_size}
language = "en"

[[stories]]
path = "stories"
source = "Newsroom"

[[topics]]
slug = "port"
title = "Port & Shipping"
description = "The port, ferries and shipping."
keywords = ["port", "ferry", "terminal"]

[[topics]]
slug = "port-2"
title = "Second port desk"
keywords = ["berth"]

[[topics]]
slug = "podcasts"
title = "Podcasts"
sources = ["Harbour Radio"]

[[topics]]
slug = "empty"
title = "Nothing here"
keywords = ["xyzzy"]

[[sources]]
name = "Harbour Radio"
url = "inputs/radio.rss"

[[sources]]
name = "Hostile <b>Feed</b>"
url = "inputs/hostile.rss"

[[sources]]
name = "Private feed"
url = "{secret_url}"
headers = {{ Authorization = "Bearer {}" }}
"#,
            SECRETS[2]
        ),
    );
    w(
        "stories/2024-11-26-port.md",
        format!(
            r#"+++
title = "Gulf Port Reopens After Storm Repairs"
date = 2024-11-26T09:30:00Z
updated = 2024-11-26T15:00:00Z
authors = ["Layla Haddad", "Tom Reyes"]
categories = ["Economy", "Shipping"]
image = "{base}media/port.svg"
caption = "Cranes at the reopened container terminal on Tuesday"
credit = "Newsroom/Staff"
+++

The container and tanker terminals of the port **reopened on Tuesday** after three weeks of repairs
to berths damaged in the storm, the port authority said.

Shipping agents said the backlog of about 40 vessels waiting offshore would take "at least ten days"
to clear, and that energy shipments would have priority.

- Berths 4 to 9 are back in service.
- Berth 10 remains closed until January.

> "We are open for business," the harbour master said.
"#
        ),
    );
    w(
        "stories/2024-11-25-arabic.md",
        format!(
            r#"+++
title = "الميناء يستأنف العمل بعد إصلاحات العاصفة"
link = "{base}stories/port-reopens-arabic.html"
date = 2024-11-25T18:00:00Z
author = "ليلى حداد"
categories = ["اقتصاد"]
image = "{base}media/harbour.svg"
caption = "رافعات في محطة الحاويات بعد إعادة فتحها"
credit = "غرفة الأخبار"
+++

أعيد فتح محطات الحاويات والناقلات في الميناء يوم الثلاثاء بعد ثلاثة أسابيع من إصلاح الأرصفة التي تضررت في العاصفة.

وقال وكلاء الشحن إن تراكم السفن سيستغرق عشرة أيام على الأقل.
"#
        ),
    );
    w(
        "stories/2024-11-24-hostile.md",
        r#"+++
title = "</script><script>alert('title')</script> \"><img src=x onerror=alert(1)>"
date = 2024-11-24T12:00:00Z
authors = ["<script>alert('author')</script>", "\" onmouseover=\"alert(2)"]
categories = ["javascript:alert(3)", "<img src=x onerror=alert(4)>"]
image = "javascript:alert(5)"
caption = "\"><svg onload=alert(6)>"
credit = "</figcaption><script>alert(7)</script>"
summary = "<iframe src=javascript:alert(8)></iframe>"
+++

Body with [a bad link](javascript:alert(9)) and <img src="https://img.example/x.png" onerror=alert(10)> and a <script>alert(11)</script>.
"#
        .to_owned(),
    );
    for day in 10..16 {
        w(
            &format!("stories/2024-11-{day}-ferry.md"),
            format!(
                "+++\ntitle = \"Ferry Notice {day}: Berth Changes\"\ndate = 2024-11-{day}T08:00:00Z\n+++\n\nThe ferry leaves from berth {day} on November {day}.\n"
            ),
        );
    }
    w("inputs/radio.rss", radio(base));
    w("inputs/hostile.rss", HOSTILE_FEED.to_owned());
    w("out/media/port.svg", PORT_SVG.to_owned());
    // Stand-ins for the podcast's files: the players never load them
    // (preload="none"), but their download links must resolve.
    w("out/media/episode-12.mp3", "ID3".to_owned());
    w("out/media/tanker.mp4", "mp4".to_owned());
    w("out/media/harbour.svg", PORT_SVG.replace("#f2a65a", "#7fb3d5").replace("#ffd59e", "#d6eaf8"));
}

fn radio(base: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" xmlns:media="http://search.yahoo.com/mrss/">
<channel>
<title>Harbour Radio</title>
<link>https://radio.example/</link>
<description>The harbour's own radio</description>
<item>
<title>Episode 12: The Night Shift at Berth 9</title>
<link>https://radio.example/episodes/12</link>
<guid>radio-12</guid>
<pubDate>Mon, 25 Nov 2024 20:00:00 GMT</pubDate>
<dc:creator>Ana Costa</dc:creator>
<category>Podcast</category>
<description>Dockers, pilots and the harbour master on the longest night of the storm.</description>
<enclosure url="{base}media/episode-12.mp3" length="24500000" type="audio/mpeg"/>
<itunes:duration>41:05</itunes:duration>
<media:content url="{base}media/harbour.svg" medium="image"><media:description>Berth 9 at night</media:description><media:credit>Harbour Radio</media:credit></media:content>
</item>
<item>
<title>Video: Tugboats Bring the First Tanker In</title>
<link>https://radio.example/video/tanker</link>
<guid>radio-v1</guid>
<pubDate>Sun, 24 Nov 2024 16:00:00 GMT</pubDate>
<description>Three tugboats guide the first tanker since the storm.</description>
<enclosure url="{base}media/tanker.mp4" length="88000000" type="video/mp4"/>
</item>
</channel>
</rss>
"#
    )
}

/// Titles, names, captions, categories and links that try to break out.
const HOSTILE_FEED: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:media="http://search.yahoo.com/mrss/">
<channel>
<title>&lt;script&gt;alert('feed')&lt;/script&gt;</title>
<link>javascript:alert('site')</link>
<description>x</description>
<item>
<title>"&gt;&lt;img src=x onerror=alert('item')&gt;</title>
<link>javascript:alert('link')</link>
<guid isPermaLink="false">hostile-1</guid>
<pubDate>Sat, 23 Nov 2024 10:00:00 GMT</pubDate>
<dc:creator>&lt;script&gt;alert('creator')&lt;/script&gt;</dc:creator>
<category>&lt;img src=x onerror=alert('category')&gt;</category>
<description>&lt;script&gt;alert('summary')&lt;/script&gt;</description>
<media:content url="javascript:alert('image')" medium="image"><media:description>"&gt;&lt;script&gt;alert('caption')&lt;/script&gt;</media:description><media:credit>' onerror='alert(1)</media:credit></media:content>
<enclosure url="javascript:alert('enclosure')" length="1" type="audio/mpeg"/>
</item>
<item>
<title>' onfocus='alert(1)' autofocus x='</title>
<link>https://hostile.example/a?x="&gt;&lt;script&gt;alert('url')&lt;/script&gt;</link>
<guid isPermaLink="false">hostile-2</guid>
<pubDate>Sat, 23 Nov 2024 09:00:00 GMT</pubDate>
<dc:creator>"&gt;&lt;iframe src="javascript:alert('iframe')"&gt;</dc:creator>
<description>Plain.</description>
<enclosure url="data:audio/mpeg;base64,AAAA" length="4" type="audio/mpeg"/>
</item>
</channel>
</rss>
"#;

/// A small drawing of a harbour at dusk for the stories' images.
const PORT_SVG: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1200 675" width="1200" height="675">
<defs><linearGradient id="sky" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#2c3e67"/><stop offset=".6" stop-color="#f2a65a"/><stop offset="1" stop-color="#ffd59e"/></linearGradient>
<linearGradient id="sea" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#274b6d"/><stop offset="1" stop-color="#0f2238"/></linearGradient></defs>
<rect width="1200" height="675" fill="url(#sky)"/>
<circle cx="930" cy="380" r="70" fill="#ffe8b0" opacity=".9"/>
<rect y="430" width="1200" height="245" fill="url(#sea)"/>
<g fill="#1b2233">
<rect x="80" y="330" width="520" height="100"/>
<rect x="140" y="150" width="16" height="180"/><rect x="140" y="150" width="260" height="14"/><rect x="370" y="164" width="6" height="90"/>
<rect x="330" y="120" width="16" height="210"/><rect x="300" y="120" width="230" height="14"/><rect x="500" y="134" width="6" height="110"/>
<rect x="620" y="380" width="420" height="50" rx="8"/><rect x="700" y="340" width="120" height="40"/><rect x="860" y="320" width="40" height="60"/>
</g>
<g fill="#c0392b"><rect x="110" y="300" width="70" height="30"/><rect x="190" y="300" width="70" height="30"/></g>
<g fill="#2e86c1"><rect x="270" y="300" width="70" height="30"/><rect x="350" y="300" width="70" height="30"/></g>
<g fill="#f4d03f"><rect x="430" y="300" width="70" height="30"/><rect x="150" y="270" width="70" height="30"/></g>
<g stroke="#ffd59e" stroke-width="3" opacity=".5"><line x1="640" y1="470" x2="760" y2="470"/><line x1="820" y1="500" x2="980" y2="500"/><line x1="200" y1="530" x2="360" y2="530"/></g>
</svg>
"##;
