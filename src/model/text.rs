//! Plain-text cleanup shared by every origin.

use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

/// True for characters XML 1.0 forbids (C0 controls but tab/LF/CR, the
/// non-characters U+FFFE/U+FFFF) and for C1 controls, which no reader shows.
fn is_forbidden(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}' | '\u{7F}'..='\u{9F}' | '\u{FFFE}' | '\u{FFFF}')
}

/// Removes XML-forbidden characters and normalizes to Unicode NFC, leaving
/// everything else (markup, typographic quotes, line breaks) untouched.
pub fn xml_safe_nfc(s: &str) -> String {
    // ASCII is already NFC: only control characters can be wrong.
    if s.is_ascii() {
        if !s.bytes().any(|b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b == 0x7F) {
            return s.to_owned();
        }
        return s.chars().filter(|c| !is_forbidden(*c)).collect();
    }
    let clean = !s.chars().any(is_forbidden);
    if clean && is_nfc_quick(s.chars()) == IsNormalized::Yes {
        return s.to_owned();
    }
    s.chars().filter(|c| !is_forbidden(*c)).nfc().collect()
}

/// [`xml_safe_nfc`], then every run of whitespace becomes one space and the
/// ends are trimmed: the form of titles, names and summaries.
pub fn clean_text(s: &str) -> String {
    collapse_whitespace(&xml_safe_nfc(s))
}

/// Every run of whitespace becomes one space; the ends are trimmed.
fn collapse_whitespace(s: &str) -> String {
    if s.is_ascii() {
        // The common case, byte by byte (split_whitespace decodes chars).
        let mut out = String::with_capacity(s.len());
        for word in s.split_ascii_whitespace() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(word);
        }
        return out;
    }
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Text of an HTML fragment that has been through the sanitizer (so its
/// markup is well-formed and its only entities are the few the serializer
/// emits). Block-level tags become word breaks; deleted text (`<del>`,
/// `<s>`, `<strike>`) is left out, as it is no longer part of the story.
/// Not for raw HTML. White space is left as it is: topic matching
/// normalizes it anyway, and [`html_to_text`] collapses it.
pub fn html_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    // Depth inside deleted text; counted so nesting cannot end it early.
    let mut deleted = 0usize;
    while let Some(lt) = rest.find('<') {
        if deleted == 0 {
            decode_entities_into(&rest[..lt], &mut out);
        }
        let Some(gt) = rest[lt..].find('>') else {
            rest = "";
            break;
        };
        let tag = &rest[lt + 1..lt + gt];
        match tag_name(tag) {
            (name, closing) if is_deletion(name) => match closing {
                false => deleted += 1,
                true => deleted = deleted.saturating_sub(1),
            },
            _ if is_block_tag(tag) => out.push(' '),
            _ => {}
        }
        rest = &rest[lt + gt + 1..];
    }
    if deleted == 0 {
        decode_entities_into(rest, &mut out);
    }
    out
}

/// [`html_text`] with white space collapsed and the ends trimmed: the form
/// of a summary.
pub fn html_to_text(html: &str) -> String {
    let out = html_text(html);
    // Sanitized HTML is already NFC and free of forbidden characters, but
    // an entity may decode to a control character.
    if out.is_ascii() && !out.bytes().any(|b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) {
        collapse_whitespace(&out)
    } else {
        clean_text(&out)
    }
}

/// A tag's lowercase-insensitive name and whether it is a closing tag.
fn tag_name(tag: &str) -> (&str, bool) {
    let closing = tag.starts_with('/');
    let name = tag.trim_start_matches('/');
    (name.split(|c: char| c.is_whitespace() || c == '/').next().unwrap_or(""), closing)
}

fn is_deletion(name: &str) -> bool {
    ["del", "s", "strike"].iter().any(|d| d.eq_ignore_ascii_case(name))
}

fn is_block_tag(tag: &str) -> bool {
    let name = tag.trim_start_matches('/');
    let name = name.split(|c: char| c.is_whitespace() || c == '/').next().unwrap_or("");
    matches!(
        name.to_ascii_lowercase().as_str(),
        "p" | "br"
            | "div"
            | "li"
            | "ul"
            | "ol"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "blockquote"
            | "pre"
            | "tr"
            | "td"
            | "th"
            | "table"
            | "figure"
            | "figcaption"
            | "hr"
            | "dd"
            | "dt"
            | "section"
            | "article"
    )
}

fn decode_entities_into(s: &str, out: &mut String) {
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        match after.find(';').filter(|&semi| semi <= 10).and_then(|semi| decode_entity(&after[..semi]).map(|c| (c, semi))) {
            Some((c, semi)) => {
                out.push(c);
                rest = &after[semi + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
}

fn decode_entity(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        "nbsp" => Some('\u{A0}'),
        _ => {
            let num = name.strip_prefix('#')?;
            let code = match num.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => num.parse().ok()?,
            };
            char::from_u32(code)
        }
    }
}

/// "1 story", "2 stories": a count with its noun in the right number.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Cuts `text` to at most `max` characters at a word boundary, adding "…".
pub fn truncate_words(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max).collect();
    let cut = match cut.rfind(' ') {
        Some(space) if space > max / 2 => &cut[..space],
        _ => cut.as_str(),
    };
    format!("{}…", cut.trim_end_matches([',', ';', ':', ' ']))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_text_collapses_whitespace_and_drops_controls() {
        assert_eq!(clean_text("  a\u{1}b \n\t c\u{FFFF} "), "ab c");
    }

    #[test]
    fn clean_text_composes_to_nfc_and_keeps_typographic_quotes() {
        // "e" + combining acute accent becomes the single code point é.
        assert_eq!(clean_text("“Caf\u{65}\u{301}”"), "“Café”");
    }

    #[test]
    fn html_to_text_breaks_blocks_and_decodes_entities() {
        assert_eq!(html_to_text("<p>Fish &amp; chips</p><p>A&nbsp;<b>b</b>old &#8220;x&#x201D;</p>"), "Fish & chips A bold “x”");
        assert_eq!(html_to_text("AT&T &bogus; &"), "AT&T &bogus; &");
    }

    #[test]
    fn html_to_text_leaves_out_deleted_text() {
        let cases = [
            ("del", "<p>Due <del>2026</del> 2027</p>", "Due 2027"),
            ("s", "<p><s>Old</s> New</p>", "New"),
            ("strike upper", "<p><STRIKE>x</STRIKE>y</p>", "y"),
            ("nested", "<p>a <del>b <del>c</del> d</del> e</p>", "a e"),
            ("not span or sub", "<p><span>kept</span> <sub>2</sub> <small>x</small></p>", "kept 2 x"),
            ("unclosed", "<p>a <del>gone", "a"),
        ];
        for (name, html, want) in cases {
            assert_eq!(html_to_text(html), want, "{name}");
        }
    }

    #[test]
    fn truncate_words_cuts_at_a_space() {
        assert_eq!(truncate_words("one two three four", 9), "one two…");
        assert_eq!(truncate_words("short", 9), "short");
    }
}

/// A URL- and file-safe slug: lowercase ASCII letters and digits joined by
/// single hyphens; accented Latin letters lose their accents.
pub fn slugify(text: &str) -> String {
    use unicode_normalization::char::is_combining_mark;
    let mut slug = String::with_capacity(text.len());
    let mut pending_dash = false;
    for c in text.nfd().filter(|c| !is_combining_mark(*c)) {
        if c.is_ascii_alphanumeric() {
            if pending_dash && !slug.is_empty() {
                slug.push('-');
            }
            pending_dash = false;
            slug.push(c.to_ascii_lowercase());
        } else if c != '\'' && c != '’' {
            pending_dash = true;
        }
    }
    if slug.len() > 80 {
        let cut = slug[..80].rfind('-').unwrap_or(80);
        slug.truncate(cut);
    }
    slug
}

#[cfg(test)]
mod slug_tests {
    use super::slugify;

    #[test]
    fn slugify_keeps_words_and_drops_punctuation() {
        assert_eq!(slugify("Putin and Raisi Seek “Harmonizing” Ties!"), "putin-and-raisi-seek-harmonizing-ties");
        assert_eq!(slugify("Israel's Café — 20%"), "israels-cafe-20");
    }
}
