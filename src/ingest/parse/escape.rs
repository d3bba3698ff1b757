//! Character references, decoded the way a forgiving browser does: numeric
//! and XML references, HTML5 named entities, and a bare `&` kept as text.

use std::borrow::Cow;

use quick_xml::escape::resolve_predefined_entity;

use super::entities::html5_entity as resolve_html5_entity;

/// Appends `s` with references decoded; returns true if it met an
/// undefined entity or a bare `&` (kept literally).
pub fn unescape_into(out: &mut String, s: &str) -> bool {
    let mut undefined = false;
    let mut rest = s;
    while let Some(i) = memchr::memchr(b'&', rest.as_bytes()) {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let name_end = rest[1..].bytes().position(|c| !(c.is_ascii_alphanumeric() || c == b'#')).map(|e| e + 1);
        let resolved = name_end.filter(|e| *e > 1 && rest.as_bytes()[*e] == b';').and_then(|e| {
            let name = &rest[1..e];
            if let Some(c) = char_ref(name) {
                // A reference to a character XML forbids is not well-formed.
                undefined |= super::xml::is_xml_forbidden(c);
                out.push(c);
            } else if let Some(t) = resolve_predefined_entity(name) {
                out.push_str(t);
            } else {
                undefined = true;
                out.push_str(resolve_html5_entity(name)?);
            }
            Some(e + 1)
        });
        match resolved {
            Some(used) => rest = &rest[used..],
            None => {
                undefined = true;
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    undefined
}

pub fn char_ref(name: &str) -> Option<char> {
    let num = name.strip_prefix('#')?;
    let code = match num.strip_prefix(['x', 'X']) {
        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
        None => num.parse().ok()?,
    };
    // Windows-1252 code points in numeric references are a classic feed
    // mistake; browsers map them, and so do we.
    let code = match code {
        0x80..=0x9f => cp1252_c1(code as u8),
        c => c,
    };
    char::from_u32(code).filter(|c| *c != '\0')
}

fn cp1252_c1(b: u8) -> u32 {
    let bytes = [b];
    let (s, _, _) = encoding_rs::WINDOWS_1252.decode(&bytes);
    s.chars().next().map_or(0xfffd, |c| c as u32)
}

/// Decodes entities in `s` the way a forgiving browser would: numeric and
/// XML references, HTML5 named entities, and a bare `&` kept as is.
pub fn unescape_lenient(s: Cow<'_, str>) -> Cow<'_, str> {
    if !s.contains('&') {
        return s;
    }
    let mut out = String::with_capacity(s.len());
    let mut rest: &str = &s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let end = rest[1..].find(|c: char| !(c.is_ascii_alphanumeric() || c == '#')).map(|e| e + 1);
        let resolved = end.filter(|e| rest[*e..].starts_with(';')).and_then(|e| {
            let name = &rest[1..e];
            let text = char_ref(name)
                .map(String::from)
                .or_else(|| resolve_predefined_entity(name).or_else(|| resolve_html5_entity(name)).map(String::from))?;
            Some((text, e + 1))
        });
        match resolved {
            Some((text, used)) => {
                out.push_str(&text);
                rest = &rest[used..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

pub fn escape_into(out: &mut String, text: &str) {
    let mut last = 0;
    for (i, b) in text.bytes().enumerate() {
        let rep = match b {
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'&' => "&amp;",
            _ => continue,
        };
        out.push_str(&text[last..i]);
        out.push_str(rep);
        last = i + 1;
    }
    out.push_str(&text[last..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_decode_leniently() {
        assert_eq!(unescape_lenient("a &amp; b &#233; &#x41; &eacute; AT&T &bogus; &#150;".into()), "a & b é A é AT&T &bogus; \u{2013}");
        let mut out = String::new();
        assert!(unescape_into(&mut out, "x &nbsp;y"));
        assert_eq!(out, "x \u{a0}y");
        out.clear();
        assert!(!unescape_into(&mut out, "&lt;p&gt;"));
        assert_eq!(out, "<p>");
        assert_eq!(char_ref("#0"), None);
        assert_eq!(char_ref("#xD800"), None);
    }

    #[test]
    fn escaping_round_trips() {
        let mut out = String::new();
        escape_into(&mut out, "a<b>&c");
        assert_eq!(out, "a&lt;b&gt;&amp;c");
    }
}
