//! Finding a document's character set and turning it into UTF-8.
//!
//! Precedence follows RFC 3023 as feed readers apply it: a byte order mark
//! wins, then the HTTP `charset`, then the XML declaration. Because real
//! servers mislabel constantly, each candidate is only accepted if the bytes
//! actually decode; otherwise the next one is tried and the feed is marked
//! bozo. A UTF-8 body labelled windows-1252/latin-1 is recognised as UTF-8,
//! since valid multi-byte UTF-8 is almost never meaningful latin-1.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};

/// The document as UTF-8, and what the detection learned on the way.
#[derive(Debug)]
pub struct Decoded<'a> {
    pub text: Cow<'a, [u8]>,
    /// Encoding actually used (WHATWG label).
    pub encoding: &'static str,
    /// Set when the declared charset was wrong or missing for a non-XML type.
    pub bozo: Option<String>,
}

/// Media type and charset of a Content-Type header, both lower-cased.
pub fn parse_content_type(ct: &str) -> (String, Option<String>) {
    let mut parts = ct.split(';');
    let mime = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let charset = parts.find_map(|p| {
        let (k, v) = p.split_once('=')?;
        (k.trim().eq_ignore_ascii_case("charset")).then(|| v.trim().trim_matches(['"', '\'']).to_ascii_lowercase())
    });
    (mime, charset.filter(|c| !c.is_empty()))
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Utf32 {
    Le,
    Be,
}

/// Encoding signalled by a byte order mark, or by the byte pattern of
/// `<?` in a UTF-16/32 document without one. Returns the BOM length.
fn sniff_bom(b: &[u8]) -> Option<(Result<&'static Encoding, Utf32>, usize)> {
    let head = b.get(..4).unwrap_or(b);
    Some(match head {
        [0xff, 0xfe, 0, 0] => (Err(Utf32::Le), 4),
        [0, 0, 0xfe, 0xff] => (Err(Utf32::Be), 4),
        [0xef, 0xbb, 0xbf, ..] => (Ok(UTF_8), 3),
        [0xfe, 0xff, ..] => (Ok(encoding_rs::UTF_16BE), 2),
        [0xff, 0xfe, ..] => (Ok(encoding_rs::UTF_16LE), 2),
        [0, 0, 0, b'<'] => (Err(Utf32::Be), 0),
        [b'<', 0, 0, 0] => (Err(Utf32::Le), 0),
        [0, b'<', 0, b'?'] => (Ok(encoding_rs::UTF_16BE), 0),
        [b'<', 0, b'?', 0] => (Ok(encoding_rs::UTF_16LE), 0),
        _ => return None,
    })
}

fn decode_utf32(b: &[u8], order: Utf32) -> Option<String> {
    let mut out = String::with_capacity(b.len() / 4);
    for chunk in b.chunks(4) {
        let arr: [u8; 4] = chunk.try_into().ok()?;
        let code = match order {
            Utf32::Le => u32::from_le_bytes(arr),
            Utf32::Be => u32::from_be_bytes(arr),
        };
        out.push(char::from_u32(code)?);
    }
    Some(out)
}

/// The `encoding="..."` of an XML declaration, from ASCII-compatible bytes.
pub fn xml_declared_encoding(b: &[u8]) -> Option<String> {
    let head = &b[..b.len().min(512)];
    let head = head.trim_ascii_start();
    if !head.starts_with(b"<?xml") {
        return None;
    }
    let end = memchr::memmem::find(head, b"?>")?;
    let decl = &head[..end];
    let pos = memchr::memmem::find(decl, b"encoding")?;
    let rest = decl[pos + 8..].trim_ascii_start().strip_prefix(b"=")?.trim_ascii_start();
    let quote = *rest.first()?;
    let rest = &rest[1..];
    let close = rest.iter().position(|c| *c == quote)?;
    Some(String::from_utf8_lossy(&rest[..close]).trim().to_ascii_lowercase())
}

fn lookup(label: &str) -> Option<&'static Encoding> {
    let label = match label {
        "utf_8" | "utf8" => "utf-8",
        "latin1" | "latin-1" | "iso_8859_1" | "us-ascii" | "ascii" => "windows-1252",
        "gb2312" => "gb18030",
        "u16" | "utf16" | "utf_16" | "utf-16" => "utf-16le",
        other => other,
    };
    Encoding::for_label(label.as_bytes())
}

/// Strict decode: `None` if any byte sequence is malformed.
fn try_decode<'a>(enc: &'static Encoding, b: &'a [u8]) -> Option<Cow<'a, [u8]>> {
    if enc == UTF_8 {
        return std::str::from_utf8(b).ok().map(|_| Cow::Borrowed(b));
    }
    let s = enc.decode_without_bom_handling_and_without_replacement(b)?;
    Some(match s {
        Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
        Cow::Owned(s) => Cow::Owned(s.into_bytes()),
    })
}

/// True for bytes that contain multi-byte UTF-8 and decode cleanly as it.
fn looks_like_utf8(b: &[u8]) -> bool {
    !b.is_ascii() && std::str::from_utf8(b).is_ok()
}

/// Decodes `bytes` using the BOM, the HTTP Content-Type and the XML
/// declaration, in that order, with fallbacks. Never fails: the last
/// resort is windows-1252, which maps every byte.
pub fn to_utf8<'a>(bytes: &'a [u8], content_type: Option<&str>) -> Decoded<'a> {
    if let Some((enc, bom_len)) = sniff_bom(bytes) {
        let body = &bytes[bom_len..];
        let decoded = match enc {
            Ok(e) => try_decode(e, body).map(|t| (t, e.name())),
            Err(order) => decode_utf32(body, order).map(|s| (Cow::Owned(s.into_bytes()), "UTF-32")),
        };
        if let Some((text, name)) = decoded {
            return Decoded { text, encoding: name, bozo: None };
        }
        let mut d = by_label(body, content_type);
        d.bozo = Some("bytes do not match the byte order mark".into());
        return d;
    }
    by_label(bytes, content_type)
}

/// The charset from HTTP and the XML declaration, tried in RFC 3023 order.
fn by_label<'a>(bytes: &'a [u8], content_type: Option<&str>) -> Decoded<'a> {
    let declared = xml_declared_encoding(bytes);
    let (mime, http_charset) = content_type.map(parse_content_type).unwrap_or_default();
    let mut bozo = None;
    let is_xml_type = |m: &str| {
        matches!(
            m,
            "application/xml"
                | "application/xml-dtd"
                | "application/xml-external-parsed-entity"
                | "text/xml"
                | "text/xml-external-parsed-entity"
        ) || (m.starts_with("application/") || m.starts_with("text/")) && m.ends_with("+xml")
    };
    let primary = match content_type {
        None => declared.clone().unwrap_or_else(|| "utf-8".into()),
        Some(_) => {
            // A JSON Feed served as JSON is labelled right.
            let json = matches!(mime.as_str(), "application/json" | "application/feed+json")
                && bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
            if !is_xml_type(&mime) && !json {
                bozo = Some(format!("{mime} is not an XML media type"));
            }
            if mime.starts_with("text/") {
                http_charset.clone().unwrap_or_else(|| "us-ascii".into())
            } else {
                http_charset.clone().or_else(|| declared.clone()).unwrap_or_else(|| "utf-8".into())
            }
        }
    };
    let candidates = [Some(primary.as_str()), declared.as_deref(), Some("utf-8"), Some("windows-1252")];
    for (i, label) in candidates.into_iter().enumerate() {
        let Some(label) = label else { continue };
        let enc = if label == "us-ascii" || label == "ascii" {
            if !bytes.is_ascii() {
                continue;
            }
            UTF_8
        } else {
            match lookup(label) {
                // Without a BOM or the zero-byte pattern sniffed above, a
                // readable declaration proves the bytes are not UTF-16.
                Some(e) if e == encoding_rs::UTF_16LE || e == encoding_rs::UTF_16BE => continue,
                Some(e) => e,
                None => continue,
            }
        };
        // A UTF-8 body behind a Western label: trust the bytes.
        let enc = if (enc == WINDOWS_1252 || label.starts_with("iso-8859-1")) && looks_like_utf8(bytes) { UTF_8 } else { enc };
        if let Some(text) = try_decode(enc, bytes) {
            if i > 0 {
                bozo.get_or_insert_with(|| format!("document declared as {primary}, but parsed as {}", enc.name()));
            }
            return Decoded { text, encoding: enc.name(), bozo };
        }
    }
    let (text, _) = WINDOWS_1252.decode_without_bom_handling(bytes);
    Decoded { text: Cow::Owned(text.into_owned().into_bytes()), encoding: "windows-1252", bozo: Some("undecodable bytes".into()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(d: &Decoded) -> String {
        String::from_utf8(d.text.to_vec()).unwrap()
    }

    #[test]
    fn bom_beats_everything() {
        let mut b = vec![0xff, 0xfe];
        for c in "<?xml version='1.0' encoding='iso-8859-1'?><a>é</a>".encode_utf16() {
            b.extend_from_slice(&c.to_le_bytes());
        }
        let d = to_utf8(&b, Some("application/xml; charset=koi8-r"));
        assert!(text(&d).ends_with("<a>é</a>"));
        assert_eq!(d.encoding, "UTF-16LE");
    }

    #[test]
    fn utf32_without_bom_is_sniffed() {
        let b: Vec<u8> = "<?xml version='1.0'?><a>ü</a>".chars().flat_map(|c| (c as u32).to_be_bytes()).collect();
        let d = to_utf8(&b, None);
        assert_eq!(text(&d), "<?xml version='1.0'?><a>ü</a>");
    }

    #[test]
    fn http_charset_overrides_declaration() {
        let b = b"<?xml version='1.0' encoding='utf-8'?><a>\xe9</a>";
        let d = to_utf8(b, Some("application/rss+xml; charset=ISO-8859-1"));
        assert_eq!(text(&d), "<?xml version='1.0' encoding='utf-8'?><a>é</a>");
        assert!(d.bozo.is_none());
    }

    #[test]
    fn declaration_used_without_http() {
        let d = to_utf8(b"<?xml version=\"1.0\" encoding=\"koi8-r\"?><a>\xc1</a>", None);
        assert!(text(&d).ends_with("<a>а</a>"));
        assert_eq!(d.encoding, "KOI8-R");
    }

    #[test]
    fn utf8_mislabelled_as_latin1_is_detected() {
        let d = to_utf8("<?xml version='1.0' encoding='iso-8859-1'?><a>café</a>".as_bytes(), None);
        assert!(text(&d).ends_with("<a>café</a>"));
        assert_eq!(d.encoding, "UTF-8");
    }

    #[test]
    fn invalid_utf8_falls_back_to_windows_1252_and_is_bozo() {
        let d = to_utf8(b"<a>\x93quoted\x94</a>", None);
        assert_eq!(text(&d), "<a>\u{201c}quoted\u{201d}</a>");
        assert!(d.bozo.is_some());
    }

    #[test]
    fn utf16_declaration_on_ascii_bytes_is_ignored() {
        let d = to_utf8(b"<?xml version='1.0' encoding='utf-16'?><a>x</a>", None);
        assert_eq!(text(&d), "<?xml version='1.0' encoding='utf-16'?><a>x</a>");
        assert!(d.bozo.is_some());
    }

    #[test]
    fn text_plain_is_bozo() {
        let d = to_utf8(b"<a/>", Some("text/plain"));
        assert!(d.bozo.unwrap().contains("not an XML media type"));
        assert_eq!(parse_content_type("Text/XML; Charset=\"UTF-8\""), ("text/xml".into(), Some("utf-8".into())));
    }
}
