//! MIME types guessed from a URL's file extension, for attachments and
//! images whose origin named no type. Only types feed readers act on.

/// The MIME type for the extension of `url`'s path, if it is a known one.
/// Query and fragment are ignored; case does not matter.
pub fn from_url(url: &str) -> Option<&'static str> {
    // Byte searches: this runs for every image and enclosure URL.
    let path = &url[..memchr::memchr2(b'?', b'#', url.as_bytes()).unwrap_or(url.len())];
    let name = &path[memchr::memrchr(b'/', path.as_bytes()).map_or(0, |i| i + 1)..];
    let ext = &name[memchr::memrchr(b'.', name.as_bytes())? + 1..];
    // No extension here is longer than 4 letters: most names are no
    // file type at all, and are not copied to find out.
    if ext.len() > 4 {
        return None;
    }
    let mut lower = [0u8; 4];
    lower[..ext.len()].copy_from_slice(ext.as_bytes());
    lower.make_ascii_lowercase();
    Some(match std::str::from_utf8(&lower[..ext.len()]).unwrap_or("") {
        "mp3" => "audio/mpeg",
        "m4a" => "audio/mp4",
        "aac" => "audio/aac",
        "ogg" | "oga" => "audio/ogg",
        "opus" => "audio/opus",
        "flac" => "audio/flac",
        "wav" => "audio/wav",
        "mp4" | "m4v" => "video/mp4",
        "webm" => "video/webm",
        "mov" => "video/quicktime",
        "mkv" => "video/x-matroska",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "svg" => "image/svg+xml",
        "pdf" => "application/pdf",
        "epub" => "application/epub+zip",
        "zip" => "application/zip",
        _ => return None,
    })
}

/// A MIME type as written in a feed, cleaned: lowercased, parameters kept
/// as given, `None` when blank or not of the `type/subtype` shape.
pub fn clean(raw: &str) -> Option<String> {
    let t = raw.trim().to_ascii_lowercase();
    let essence = t.split(';').next().unwrap_or("").trim();
    let (ty, sub) = essence.split_once('/')?;
    let token = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b));
    (token(ty) && token(sub)).then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guesses_from_the_path_only() {
        let cases = [
            ("http://x/a.MP3", Some("audio/mpeg")),
            ("http://x/a.mp4?x=1.png", Some("video/mp4")),
            ("http://x/a.jpg#f.mp3", Some("image/jpeg")),
            ("http://x/dir.mp3/file", None),
            ("http://x/noext", None),
            ("http://x/a.JPEG", Some("image/jpeg")),
            ("http://x/a.mp3html", None),
            ("http://x/a.mé", None),
            ("http://x/a.", None),
        ];
        for (url, want) in cases {
            assert_eq!(from_url(url), want, "{url}");
        }
    }

    #[test]
    fn cleans_declared_types() {
        let cases = [
            (" Audio/MPEG ", Some("audio/mpeg")),
            ("audio/mp4; codecs=\"mp4a\"", Some("audio/mp4; codecs=\"mp4a\"")),
            ("", None),
            ("mpeg", None),
            ("audio/", None),
            ("a b/c", None),
        ];
        for (raw, want) in cases {
            assert_eq!(clean(raw).as_deref(), want, "{raw:?}");
        }
    }
}
