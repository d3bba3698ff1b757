//! One version of a served file: its body, validators and compressed
//! variants, computed once per version (see the module above).

use axum::http::HeaderValue;
use bytes::Bytes;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::Encoding;
use crate::store::pg::files::etag_of;

/// Identity of one version of a file: a rename brings a new inode, an
/// in-place rewrite a new mtime or length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Stamp {
    pub(super) dev: u64,
    pub(super) ino: u64,
    pub(super) len: u64,
    pub(super) mtime: SystemTime,
}

impl Stamp {
    pub(super) fn of(meta: &std::fs::Metadata) -> Stamp {
        #[cfg(unix)]
        let (dev, ino) = {
            use std::os::unix::fs::MetadataExt;
            (meta.dev(), meta.ino())
        };
        #[cfg(not(unix))]
        let (dev, ino) = (0, 0);
        Stamp { dev, ino, len: meta.len(), mtime: meta.modified().unwrap_or(UNIX_EPOCH) }
    }
}

/// One version of a file, ready to send.
pub(super) struct Entry {
    pub(super) stamp: Stamp,
    pub(super) content_type: HeaderValue,
    pub(super) last_modified: HeaderValue,
    /// Whole seconds, as `Last-Modified` says it.
    pub(super) modified_secs: u64,
    pub(super) identity: Variant,
    pub(super) gzip: Option<Variant>,
    pub(super) br: Option<Variant>,
}

pub(super) struct Variant {
    pub(super) body: Bytes,
    /// Quoted, as sent.
    pub(super) etag: HeaderValue,
    pub(super) encoding: Option<HeaderValue>,
}

impl Entry {
    pub(super) fn variant(&self, encoding: Encoding) -> Option<&Variant> {
        match encoding {
            Encoding::Identity => Some(&self.identity),
            Encoding::Gzip => self.gzip.as_ref(),
            Encoding::Br => self.br.as_ref(),
        }
    }
}

/// Smaller than this, compression saves less than its headers cost.
const MIN_COMPRESS: usize = 256;

/// The entry of `body`, its ETag computed from the bytes.
pub(super) fn entry(path: &Path, body: Bytes, stamp: Stamp) -> Entry {
    let hash = etag_of(&body);
    entry_tagged(path, body, stamp, &hash)
}

/// The entry of `body` with `hash` (unquoted hex, as
/// [`etag_of`] makes it) as its ETag: a file from the store keeps the
/// tag stored with it, whichever process serves it.
pub(super) fn entry_tagged(path: &Path, body: Bytes, stamp: Stamp, hash: &str) -> Entry {
    let (content_type, compressible) = content_type(path);
    let etag = |suffix: &str| HeaderValue::from_str(&format!("\"{hash}{suffix}\"")).expect("hex ETag");
    let compressible = compressible && body.len() >= MIN_COMPRESS;
    // Each encoding has its own ETag: a cache must not answer a gzip
    // request with a stored brotli body on a 304.
    let variant = |suffix: &str, name: &'static str, compressed: Vec<u8>| {
        (compressed.len() < body.len()).then(|| Variant {
            body: Bytes::from(compressed),
            etag: etag(suffix),
            encoding: Some(HeaderValue::from_static(name)),
        })
    };
    let gzip = if compressible { variant("-gz", "gzip", gzip(&body)) } else { None };
    let br = if compressible { variant("-br", "br", brotli(&body)) } else { None };
    let modified_secs = stamp.mtime.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    Entry {
        stamp,
        content_type: HeaderValue::from_static(content_type),
        last_modified: HeaderValue::from_str(&httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(modified_secs)))
            .expect("ASCII date"),
        modified_secs,
        identity: Variant { etag: etag(""), body, encoding: None },
        gzip,
        br,
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::with_capacity(bytes.len() / 3), flate2::Compression::best());
    encoder.write_all(bytes).expect("compressing to memory");
    encoder.finish().expect("compressing to memory")
}

/// Brotli quality. Measured on the 96.5 KB typical RSS feed: quality 5
/// takes 2.5 ms for 18.5 KB (gzip -9: 1.7 ms, 19.5 KB); quality 11 saves
/// 11% more but takes 110 ms, which the first reader after every
/// republish would wait for (loads are one at a time).
const BROTLI_QUALITY: u32 = 5;

fn brotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() / 3);
    let params = brotli::enc::BrotliEncoderParams { quality: BROTLI_QUALITY as i32, lgwin: 22, ..Default::default() };
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &params).expect("compressing to memory");
    out
}

/// Content type by extension, and whether it is text worth compressing.
pub(super) fn content_type(path: &Path) -> (&'static str, bool) {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "rss" => ("application/rss+xml; charset=utf-8", true),
        "atom" => ("application/atom+xml; charset=utf-8", true),
        "json" => ("application/feed+json; charset=utf-8", true),
        "html" | "htm" => ("text/html; charset=utf-8", true),
        "opml" => ("text/x-opml; charset=utf-8", true),
        "xml" | "xsl" => ("application/xml", true),
        "css" => ("text/css; charset=utf-8", true),
        "txt" => ("text/plain; charset=utf-8", true),
        "svg" => ("image/svg+xml", true),
        "png" => ("image/png", false),
        "jpg" | "jpeg" => ("image/jpeg", false),
        "gif" => ("image/gif", false),
        "webp" => ("image/webp", false),
        "ico" => ("image/x-icon", false),
        _ => ("application/octet-stream", false),
    }
}
