//! Text constructs: which fields are plain text and which are HTML, and
//! plain text out of either.
//!
//! One rule: a field that is plain text is never parsed as markup. Atom and
//! JSON Feed say what a field is (`type="text"`, `summary`), and that is
//! believed. RSS never says whether a title is HTML; feedparser guesses,
//! conservatively (see [`looks_like_html`]), and so do we, so that
//! `Vector<T>` stays `Vector<T>` while `<b>Bold</b> &amp; co` is HTML.

use std::borrow::Cow;

use super::entities::html5_entity;
use super::model::TextKind;
use super::xml::unescape_lenient;

/// HTML elements a publisher plausibly puts in a title or a summary; a
/// "tag" with any other name (`<T>`, `<col1>`) means the text is not HTML.
const HTML_ELEMENTS: &[&str] = &[
    "a",
    "abbr",
    "acronym",
    "address",
    "area",
    "article",
    "aside",
    "audio",
    "b",
    "bdi",
    "bdo",
    "big",
    "blockquote",
    "br",
    "button",
    "canvas",
    "caption",
    "center",
    "cite",
    "code",
    "col",
    "colgroup",
    "data",
    "datalist",
    "dd",
    "del",
    "details",
    "dfn",
    "dialog",
    "dir",
    "div",
    "dl",
    "dt",
    "em",
    "fieldset",
    "figcaption",
    "figure",
    "font",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "i",
    "img",
    "input",
    "ins",
    "kbd",
    "label",
    "legend",
    "li",
    "main",
    "map",
    "mark",
    "menu",
    "meter",
    "nav",
    "noscript",
    "ol",
    "optgroup",
    "option",
    "output",
    "p",
    "picture",
    "pre",
    "progress",
    "q",
    "rp",
    "rt",
    "ruby",
    "s",
    "samp",
    "section",
    "select",
    "small",
    "source",
    "span",
    "strike",
    "strong",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "textarea",
    "tfoot",
    "th",
    "thead",
    "time",
    "tr",
    "track",
    "tt",
    "u",
    "ul",
    "var",
    "video",
    "wbr",
];

/// Whether text of unknown kind (an RSS title, `itunes:summary`) is HTML.
/// feedparser's rule (`looks_like_html`), which errs towards text because
/// a false positive silently loses words: the text must hold an end tag
/// (`</b>`) or a character reference (`&amp;`, `&#233;`), every tag must
/// name an HTML element, and every named reference must be a defined one.
pub fn looks_like_html(s: &str) -> bool {
    let b = s.as_bytes();
    let word = |from: usize| b[from..].iter().take_while(|c| c.is_ascii_alphanumeric() || **c == b'_').count();
    let mut end_tag = false;
    for i in memchr::memchr_iter(b'<', b) {
        let slash = b.get(i + 1) == Some(&b'/');
        let start = i + 1 + usize::from(slash);
        let len = word(start);
        if len == 0 {
            continue;
        }
        let name = s[start..start + len].to_ascii_lowercase();
        if !HTML_ELEMENTS.contains(&name.as_str()) {
            return false;
        }
        end_tag |= slash && b.get(start + len) == Some(&b'>');
    }
    let mut reference = false;
    for i in memchr::memchr_iter(b'&', b) {
        let hash = b.get(i + 1) == Some(&b'#');
        let start = i + 1 + usize::from(hash);
        let len = word(start);
        if len == 0 || b.get(start + len) != Some(&b';') {
            continue;
        }
        if !hash
            && html5_entity(&s[start..start + len]).is_none()
            && !matches!(&s[start..start + len], "amp" | "lt" | "gt" | "quot" | "apos")
        {
            return false;
        }
        reference = true;
    }
    end_tag || reference
}

/// The kind of text whose kind the format does not say.
pub fn guess_kind(s: &str) -> TextKind {
    if looks_like_html(s) { TextKind::Html } else { TextKind::Text }
}

/// Text of an HTML fragment: tags dropped, entities decoded.
pub fn strip_html(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        match rest[lt..].find('>') {
            Some(gt) => rest = &rest[lt + gt + 1..],
            None => {
                rest = "";
                break;
            }
        }
    }
    out.push_str(rest);
    unescape_lenient(Cow::Owned(out)).into_owned()
}

/// A title (or a name) as plain, trimmed text; `None` when empty. HTML is
/// reduced to its text; plain text is kept as it is, `<` and all.
pub fn plain_text(raw: &str, kind: TextKind) -> Option<String> {
    let text = match kind {
        TextKind::Html => Cow::Owned(strip_html(raw)),
        TextKind::Text => Cow::Borrowed(raw),
    };
    let t = text.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// An RSS-style title, whose kind is guessed.
pub fn guessed_title(raw: &str) -> Option<String> {
    plain_text(raw, guess_kind(raw))
}

/// Decodes base64 (Atom 0.3 `mode="base64"`), skipping whitespace;
/// undecodable input is returned as is rather than lost.
pub fn decode_base64(s: &str) -> String {
    fn val(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        } as u32)
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes().filter(|c| !c.is_ascii_whitespace() && *c != b'=') {
        let Some(v) = val(c) else { return s.to_string() };
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_told_from_text_like_feedparser() {
        let cases = [
            ("generic type", "Vector<T> and <col> handling", false),
            ("void elements without end tags", "Wrap <col> in <colgroup> first", false),
            ("comparison", "a < b > c", false),
            ("end tag", "<b>Bold</b> move", true),
            ("entity", "Caf&eacute; &amp; bar", true),
            ("numeric reference", "Caf&#233;", true),
            ("end tag but an unknown element too", "List<T> in <b>Java</b>", false),
            ("undefined entity", "&bogus; <b>x</b>", false),
            ("bare ampersand", "AT&T", false),
            ("upper-case tags", "<B>x</B>", true),
            ("empty", "", false),
        ];
        for (name, input, html) in cases {
            assert_eq!(looks_like_html(input), html, "{name}: {input}");
        }
    }

    #[test]
    fn plain_text_keeps_angle_brackets_and_html_loses_tags() {
        let cases = [
            ("text kept", "  Vector<T> and <col>  ", TextKind::Text, Some("Vector<T> and <col>")),
            ("text entity-looking kept", "AT&amp;T", TextKind::Text, Some("AT&amp;T")),
            ("html reduced", "<b>Bold</b> &amp; co", TextKind::Html, Some("Bold & co")),
            ("html escaped brackets", "Vector&lt;T&gt;", TextKind::Html, Some("Vector<T>")),
            ("html entity", "Caf&eacute;", TextKind::Html, Some("Café")),
            ("html empty", " <br/> ", TextKind::Html, None),
            ("text empty", "   ", TextKind::Text, None),
        ];
        for (name, input, kind, want) in cases {
            assert_eq!(plain_text(input, kind).as_deref(), want, "{name}");
        }
        assert_eq!(guessed_title("Vector<T> and <col> handling").as_deref(), Some("Vector<T> and <col> handling"));
        assert_eq!(guessed_title("<b>Bold</b> &amp; co").as_deref(), Some("Bold & co"));
        assert_eq!(guessed_title("AT&T").as_deref(), Some("AT&T"));
    }

    #[test]
    fn base64_decodes_and_keeps_garbage() {
        assert_eq!(decode_base64("RXhhbXBsZSA8Yj5BdG9tPC9iPg=="), "Example <b>Atom</b>");
        assert_eq!(decode_base64("not base64!"), "not base64!");
    }
}
