//! Titles as plain text. RSS never says whether a title is HTML, and many
//! publishers put markup or escaped entities in it, so markup-looking titles
//! are reduced to their text; Atom says so explicitly with `type="html"`.

use std::borrow::Cow;

use super::xml::unescape_lenient;

/// True when `s` contains something a browser would treat as a tag or an
/// entity reference.
fn looks_like_html(s: &str) -> bool {
    let b = s.as_bytes();
    let tag = memchr::memchr_iter(b'<', b).any(|i| b.get(i + 1).is_some_and(|c| c.is_ascii_alphabetic() || *c == b'/' || *c == b'!'))
        && s.contains('>');
    let entity = memchr::memchr_iter(b'&', b).any(|i| {
        let rest = &s[i + 1..];
        rest.find(';').is_some_and(|end| end > 0 && end <= 32 && rest[..end].bytes().all(|c| c.is_ascii_alphanumeric() || c == b'#'))
    });
    tag || entity
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

/// A title as plain, trimmed text; `None` when empty.
pub fn plain_title(raw: &str, is_html: bool) -> Option<String> {
    let text = if is_html || looks_like_html(raw) { strip_html(raw) } else { raw.to_string() };
    let t = text.trim();
    (!t.is_empty()).then(|| t.to_string())
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
    fn titles_lose_markup_only_when_it_is_markup() {
        assert_eq!(plain_title("  a < b  ", false).unwrap(), "a < b");
        assert_eq!(plain_title("<b>Bold</b> &amp; co", false).unwrap(), "Bold & co");
        assert_eq!(plain_title("AT&T", false).unwrap(), "AT&T");
        assert_eq!(plain_title("Caf&eacute;", true).unwrap(), "Café");
        assert_eq!(plain_title(" <br/> ", true), None);
    }

    #[test]
    fn base64_decodes_and_keeps_garbage() {
        assert_eq!(decode_base64("RXhhbXBsZSA8Yj5BdG9tPC9iPg=="), "Example <b>Atom</b>");
        assert_eq!(decode_base64("not base64!"), "not base64!");
    }
}
