//! Extension namespaces shared by RSS, RDF and Atom: Dublin Core,
//! `content:encoded`, Media RSS and iTunes. They mean the same wherever they
//! appear, so they parse into one struct per level (item, feed) that every
//! format embeds; each format's adapter decides what they stand in for.

use chrono::{DateTime, Utc};

use super::date::parse_date;
use super::hints::Syndication;
use super::item::children;
use super::limits::LIST_CEILING;
use super::model::{Enclosure, EntryImage, TextKind, resolve_link};
use super::text::{guess_kind, plain_text};
use super::xml::{Elem, Ev, Ns, XmlReader};
use crate::model::person::person_name;

/// Media RSS and iTunes elements nest (`media:group`, sub-categories);
/// past this depth a document is hostile, and recursing further could
/// exhaust the stack.
const MAX_NESTING: usize = 48;

/// Extension elements of one item or entry, as found.
#[derive(Debug, Default)]
pub struct ExtItem {
    /// `dc:title`.
    pub title: Option<String>,
    /// `media:title`.
    pub media_title: Option<String>,
    /// `dc:creator`, `dc:author`, `dc:contributor`, `itunes:author`, as
    /// names (addresses dropped).
    pub creators: Vec<String>,
    /// `dc:subject`, `itunes:category` (every level), iTunes and Media
    /// keywords, `media:category`.
    pub subjects: Vec<String>,
    /// `dc:date`, `dcterms:modified`.
    pub date: Option<DateTime<Utc>>,
    /// `dcterms:issued`.
    pub issued: Option<DateTime<Utc>>,
    /// `dc:description`, `itunes:summary`, `media:description`.
    pub description: Option<String>,
    /// Whether `description` is HTML: `dc:description` is (as RSS's own
    /// `description`); `media:description` says so with `type` (else it is
    /// guessed); `itunes:summary` is guessed, since Apple asks for text
    /// but allows a few tags.
    pub description_kind: TextKind,
    /// `itunes:duration`, seconds.
    pub duration: Option<u64>,
    /// `content:encoded`.
    pub encoded: Option<String>,
    /// Media RSS picture or `itunes:image`, with caption and credit. The
    /// URL is empty while only a caption or credit has been seen.
    pub image: EntryImage,
    /// Non-picture `media:content` and `enc:enclosure`, each with whether
    /// it is its `media:group`'s `isDefault`.
    media_files: Vec<(Enclosure, bool)>,
}

/// Feed-level extension elements.
#[derive(Debug, Default)]
pub struct ExtFeed {
    pub title: Option<String>,
    /// Channel-level `dc:creator` and `itunes:author`, as names.
    pub creators: Vec<String>,
    pub date: Option<DateTime<Utc>>,
    pub issued: Option<DateTime<Utc>>,
    /// `sy:updatePeriod` and `sy:updateFrequency`.
    pub sy: Syndication,
}

fn set_if_none(slot: &mut Option<String>, value: String) {
    if slot.is_none() && !value.trim().is_empty() {
        *slot = Some(value);
    }
}

fn push_trimmed(list: &mut Vec<String>, value: &str) {
    let v = value.trim();
    if !v.is_empty() && list.len() < LIST_CEILING && !list.iter().any(|x| x == v) {
        list.push(v.to_string());
    }
}

impl ExtItem {
    /// Reads one extension element. Returns false, consuming nothing, when
    /// the element is not one we know.
    pub fn read<'a>(&mut self, xr: &mut XmlReader<'a>, e: &Elem<'a>) -> bool {
        if xr.depth() > MAX_NESTING {
            return false;
        }
        match (e.ns, e.name()) {
            (Ns::Dc, b"title") => set_if_none(&mut self.title, xr.read_text().trim().to_string()),
            (Ns::Dc, b"creator" | b"author" | b"contributor") | (Ns::Itunes, b"author") => {
                if let Some(name) = person_name(&xr.read_text()) {
                    push_trimmed(&mut self.creators, &name);
                }
            }
            (Ns::Dc, b"subject") => push_trimmed(&mut self.subjects, &xr.read_text()),
            (Ns::Dc, b"date") | (Ns::DcTerms, b"modified") => self.date = parse_date(&xr.read_text()).or(self.date),
            (Ns::DcTerms, b"issued") => self.issued = parse_date(&xr.read_text()).or(self.issued),
            (Ns::Dc, b"description") => self.set_description(xr.read_markup(), TextKind::Html),
            (Ns::Itunes, b"summary") => {
                let text = xr.read_markup();
                let kind = guess_kind(&text);
                self.set_description(text, kind);
            }
            (Ns::Itunes, b"duration") => self.duration = parse_duration(&xr.read_text()).or(self.duration),
            (Ns::Content, b"encoded") => set_if_none(&mut self.encoded, xr.read_markup()),
            (Ns::Itunes, b"keywords") | (Ns::Media, b"keywords") => {
                for k in xr.read_text().split(',') {
                    push_trimmed(&mut self.subjects, k);
                }
            }
            (Ns::Itunes, b"category") => itunes_category(xr, e, &mut self.subjects),
            (Ns::Itunes, b"image") => {
                let href = xr.attr(e, Ns::None, b"href").or_else(|| xr.attr(e, Ns::None, b"url"));
                if let Some(h) = href.filter(|h| !h.trim().is_empty()) {
                    self.set_image_url(&h, xr);
                }
                xr.skip();
            }
            (Ns::Media, _) => self.media(xr, e),
            (Ns::Enclosure, b"enclosure") => {
                // mod_enclosure: <enc:enclosure rdf:resource="…" enc:type="…" enc:length="…"/>
                let url = xr.attr(e, Ns::Rdf, b"resource").or_else(|| xr.attr(e, Ns::Enclosure, b"url")).filter(|u| !u.trim().is_empty());
                if let Some(url) = url {
                    let enclosure = Enclosure {
                        url: resolve_link(&url, xr.base()),
                        mime: xr.attr(e, Ns::Enclosure, b"type").map(|t| t.trim().to_string()).filter(|t| !t.is_empty()),
                        length: xr.attr(e, Ns::Enclosure, b"length").and_then(|l| l.trim().parse().ok()),
                        extension: true,
                        ..Default::default()
                    };
                    self.push_media((enclosure, false));
                }
                xr.skip();
            }
            _ => return false,
        }
        true
    }

    fn set_image_url(&mut self, url: &str, xr: &XmlReader<'_>) {
        // A thumbnail or cover that is really the episode's audio is no
        // picture.
        if !self.image.url.is_empty() {
            return;
        }
        let av = crate::model::mime::from_url(url).is_some_and(|m| m.starts_with("audio/") || m.starts_with("video/"));
        if !av {
            self.image.url = resolve_link(url, xr.base());
        }
    }

    fn set_description(&mut self, text: String, kind: TextKind) {
        if self.description.is_none() && !text.trim().is_empty() {
            self.description = Some(text);
            self.description_kind = kind;
        }
    }

    /// The picture, if any URL was found for it.
    pub fn take_image(&mut self) -> Option<EntryImage> {
        (!self.image.url.is_empty()).then(|| std::mem::take(&mut self.image))
    }

    /// Media RSS: the lead image (`media:content`/`media:thumbnail`), its
    /// caption and credit (which may come first), `media:group` wrapping
    /// any of them, and every other `media:content` (audio, video, a
    /// document) as an enclosure.
    fn media<'a>(&mut self, xr: &mut XmlReader<'a>, e: &Elem<'a>) {
        match e.name() {
            b"group" => self.media_group(xr),
            b"thumbnail" => {
                // Only the first picture is kept: later thumbnails cost no lookup.
                if self.image.url.is_empty()
                    && let Some(url) = xr.attr(e, Ns::None, b"url").filter(|u| !u.trim().is_empty())
                {
                    self.set_image_url(&url, xr);
                }
                xr.skip();
            }
            b"content" => {
                let [url, medium, mime, size, duration, default] =
                    xr.attrs(e, Ns::None, [b"url", b"medium", b"type", b"fileSize", b"duration", b"isDefault"]);
                let url = url.filter(|u| !u.trim().is_empty());
                let mime = mime.map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
                let picture = is_picture(medium.as_deref().map(str::trim), mime.as_deref(), url.as_deref());
                match (url, picture) {
                    (Some(url), false) => {
                        let enclosure = Enclosure {
                            url: resolve_link(&url, xr.base()),
                            mime,
                            length: size.and_then(|l| l.trim().parse().ok()),
                            title: None,
                            duration: duration.and_then(|d| parse_duration(&d)),
                            extension: true,
                        };
                        let is_default = default.is_some_and(|d| d.trim() == "true");
                        self.media_file(xr, enclosure, is_default);
                    }
                    (Some(url), _) => {
                        // Typed as a picture: no need to guess from the file name.
                        if mime.as_deref().is_some_and(|m| m.get(..6).is_some_and(|p| p.eq_ignore_ascii_case("image/"))) {
                            if self.image.url.is_empty() {
                                self.image.url = resolve_link(&url, xr.base());
                            }
                        } else {
                            self.set_image_url(&url, xr);
                        }
                        // media:content may itself hold description/credit/thumbnail.
                        children(xr, |xr, child| self.read(xr, child));
                    }
                    (None, _) => children(xr, |xr, child| self.read(xr, child)),
                }
            }
            b"description" => {
                let text = xr.read_markup();
                let kind = media_text_kind(xr, e, &text);
                if let Some(caption) = plain_text(&text, kind) {
                    self.image.caption.get_or_insert(caption);
                }
                self.set_description(text, kind);
            }
            b"credit" => {
                let text = xr.read_text();
                self.image.credit.get_or_insert_with(|| text.trim().to_string());
            }
            b"title" => {
                let text = xr.read_text();
                let kind = media_text_kind(xr, e, &text);
                if let (None, Some(t)) = (&self.media_title, plain_text(&text, kind)) {
                    self.media_title = Some(t);
                }
            }
            b"category" => push_trimmed(&mut self.subjects, &xr.read_text()),
            _ => xr.skip(),
        }
    }

    /// A non-picture `media:content`: its own `media:title` names it; its
    /// description may stand in for the entry's, but is no image caption,
    /// and its credit is not the picture's. A thumbnail inside it is the
    /// picture (a video's poster frame).
    fn media_file<'a>(&mut self, xr: &mut XmlReader<'a>, mut enclosure: Enclosure, is_default: bool) {
        children(xr, |xr, child| {
            if child.ns != Ns::Media {
                return false;
            }
            match child.name() {
                b"title" => {
                    let text = xr.read_text();
                    let kind = media_text_kind(xr, child, &text);
                    if enclosure.title.is_none() {
                        enclosure.title = plain_text(&text, kind);
                    }
                }
                b"description" => {
                    let text = xr.read_markup();
                    let kind = media_text_kind(xr, child, &text);
                    self.set_description(text, kind);
                }
                b"thumbnail" => return self.read(xr, child),
                _ => return false,
            }
            true
        });
        self.push_media((enclosure, is_default));
    }

    /// `media:group` holds representations of one thing (bit rates,
    /// formats): one of its files is the attachment, the one marked
    /// `isDefault`, else the first; the group's `media:title` names it.
    fn media_group(&mut self, xr: &mut XmlReader<'_>) {
        let before = self.media_files.len();
        let title_before = self.media_title.is_some();
        children(xr, |xr, child| self.read(xr, child));
        let group: Vec<(Enclosure, bool)> = self.media_files.drain(before..).collect();
        let pick = group.iter().position(|(_, d)| *d).unwrap_or(0);
        if let Some((mut chosen, d)) = group.into_iter().nth(pick) {
            if chosen.title.is_none() && !title_before {
                chosen.title.clone_from(&self.media_title);
            }
            self.media_files.push((chosen, d));
        }
    }

    /// Keeps a file, up to the list ceiling.
    fn push_media(&mut self, file: (Enclosure, bool)) {
        if self.media_files.len() < LIST_CEILING {
            self.media_files.push(file);
        }
    }

    /// The Media RSS and mod_enclosure files, in document order; call once
    /// the item is read.
    pub fn take_enclosures(&mut self) -> Vec<Enclosure> {
        self.media_files.drain(..).map(|(e, _)| e).collect()
    }
}

/// Whether a `media:content` is a picture: `medium="image"` unless its type
/// says otherwise, an `image/` type, or, with neither, an image file name.
fn is_picture(medium: Option<&str>, mime: Option<&str>, url: Option<&str>) -> bool {
    let starts = |m: &str, prefix: &str| m.get(..prefix.len()).is_some_and(|p| p.eq_ignore_ascii_case(prefix));
    let image_medium = medium.is_some_and(|m| m.eq_ignore_ascii_case("image"));
    match (medium, mime) {
        (_, Some(m)) if starts(m, "image/") => true,
        (Some(_), Some(m)) if image_medium => !(starts(m, "audio/") || starts(m, "video/")),
        (Some(_), None) if image_medium => true,
        (Some(_), _) | (None, Some(_)) => false,
        (None, None) => url.and_then(crate::model::mime::from_url).is_some_and(|m| m.starts_with("image/")),
    }
}

/// `media:title` and `media:description` say `type="plain"` (the default
/// in the Media RSS spec) or `type="html"`. Without the attribute the
/// text is guessed, because publishers put HTML there unannounced.
fn media_text_kind<'a>(xr: &mut XmlReader<'a>, e: &Elem<'a>, text: &str) -> TextKind {
    match xr.attr(e, Ns::None, b"type") {
        Some(t) if t.trim().eq_ignore_ascii_case("html") => TextKind::Html,
        Some(t) if t.trim().eq_ignore_ascii_case("plain") => TextKind::Text,
        _ => guess_kind(text),
    }
}

/// `itunes:duration` and Media RSS `duration`, in whole seconds: `3156`,
/// `52:36`, `0:52:36`, each with an optional fraction (`3156.5`,
/// `52:36.4`), rounded. Minutes may exceed 59 in the two-part form
/// (`90:00`), as publishers write it. `None` for anything else, and for
/// zero, which is no duration.
pub fn parse_duration(s: &str) -> Option<u64> {
    let s = s.trim();
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() > 3 || parts.iter().any(|p| p.trim().is_empty()) {
        return None;
    }
    let (last, whole) = parts.split_last()?;
    let seconds: f64 = last.trim().parse().ok().filter(|v: &f64| v.is_finite() && *v >= 0.0)?;
    if parts.len() > 1 && seconds >= 60.0 {
        return None;
    }
    let mut total = 0u64;
    for p in whole {
        let p = p.trim();
        if !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        total = total.checked_mul(60)?.checked_add(p.parse::<u64>().ok()?)?;
    }
    if !whole.is_empty() {
        total = total.checked_mul(60)?;
    }
    let total = total as f64 + seconds;
    let rounded = total.round();
    (rounded >= 1.0 && rounded < u64::MAX as f64).then_some(rounded as u64)
}

/// `itunes:category` nests sub-categories; every level is a category.
fn itunes_category<'a>(xr: &mut XmlReader<'a>, e: &Elem<'a>, cats: &mut Vec<String>) {
    if let Some(t) = xr.attr(e, Ns::None, b"text") {
        push_trimmed(cats, &t);
    }
    let depth = xr.depth();
    loop {
        match xr.next() {
            Ev::Start(child) if child.ns == Ns::Itunes && child.name() == b"category" && xr.depth() <= MAX_NESTING => {
                itunes_category(xr, &child, cats)
            }
            Ev::Start(_) => xr.skip(),
            Ev::End(_) if xr.depth() < depth => return,
            Ev::Eof => return,
            _ => {}
        }
    }
}

impl ExtFeed {
    /// Reads one feed-level extension element; false when not handled.
    pub fn read<'a>(&mut self, xr: &mut XmlReader<'a>, e: &Elem<'a>) -> bool {
        match (e.ns, e.name()) {
            (Ns::Dc, b"title") => set_if_none(&mut self.title, xr.read_text().trim().to_string()),
            (Ns::Dc, b"creator" | b"author") | (Ns::Itunes, b"author") => {
                if let Some(name) = person_name(&xr.read_text()) {
                    push_trimmed(&mut self.creators, &name);
                }
            }
            (Ns::Dc, b"date") | (Ns::DcTerms, b"modified") => self.date = parse_date(&xr.read_text()).or(self.date),
            (Ns::DcTerms, b"issued") => self.issued = parse_date(&xr.read_text()).or(self.issued),
            (Ns::Syndication, _) => return self.sy.read(xr, e),
            _ => return false,
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_every_written_form() {
        let cases = [
            ("seconds", "3156", Some(3156)),
            ("seconds with spaces", " 45 ", Some(45)),
            ("fractional seconds round", "3156.4", Some(3156)),
            ("fraction rounds up", "59.5", Some(60)),
            ("MM:SS", "52:36", Some(3156)),
            ("MM:SS past an hour", "90:00", Some(5400)),
            ("H:MM:SS", "0:52:36", Some(3156)),
            ("HH:MM:SS", "01:02:03", Some(3723)),
            ("HH:MM:SS.f", "00:52:36.6", Some(3157)),
            ("MM:SS.f", "2:05.5", Some(126)),
            ("zero is no duration", "0", None),
            ("all zero", "00:00:00", None),
            ("empty", "", None),
            ("words", "52 minutes", None),
            ("four parts", "1:02:03:04", None),
            ("empty part", "1::02", None),
            ("seconds past 59 after minutes", "12:75", None),
            ("negative", "-5", None),
            ("signed part", "1:-2:03", None),
            ("not a number", "NaN", None),
            ("infinite", "inf", None),
        ];
        for (name, input, want) in cases {
            assert_eq!(parse_duration(input), want, "{name}: {input:?}");
        }
    }
}
