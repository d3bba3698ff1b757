//! `wirefeed serve`: the output folder over HTTP, with the validators and
//! compression feed readers rely on, plus `/healthz` and `/metrics`.
//!
//! Feed readers poll: most requests are conditional and most answers are
//! 304. So every file is held in memory with its ETag, Last-Modified and
//! compressed variants, computed once per version of the file; a request
//! costs one `stat` to see whether the publisher has replaced the file
//! (it renames a new one into place, so a new version has a new inode),
//! and never a read or a compression.
//!
//! On a PostgreSQL store the files come from the store instead (`db.rs`),
//! with the same entries and headers.
//!
//! tower-http's `ServeDir` was not used: it sends no ETag, and its
//! compression layer compresses every response again.

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, UNIX_EPOCH};

mod db;
mod entry;

use entry::{Entry, Stamp, entry};

use super::auth::{self, Access};
use super::metrics::Metrics;
use crate::config::Config;

/// What to serve and how long clients may cache it.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The output folder. It may not exist yet (a first run is still
    /// building it); requests get 404 until it does.
    pub root: PathBuf,
    /// Sent as `Cache-Control: max-age`.
    pub max_age: Duration,
    /// Private channels and who may read them ([`super::auth`]).
    pub access: Arc<Access>,
    /// Hosts frames may load from (every `[[stories]] allow_embeds`).
    pub embed_hosts: Vec<String>,
    /// A PostgreSQL store's URL: its published files are served (see
    /// `serve/db.rs`), kept current within half a second, and `root` is not read.
    pub store: Option<String>,
}

impl ServeOptions {
    pub fn from_config(config: &Config) -> ServeOptions {
        ServeOptions {
            root: config.publish.output_dir.clone(),
            max_age: config.serve.max_age,
            access: Arc::new(Access::from_config(config)),
            embed_hosts: config.stories.iter().flat_map(|s| s.allow_embeds.iter().cloned()).collect(),
            store: match crate::store::Location::of(config) {
                crate::store::Location::Postgres(url) => Some(url),
                crate::store::Location::Sqlite(_) => None,
            },
        }
    }
}

/// A message when `base_url` names this machine's loopback (`localhost`,
/// `127.x.y.z`, `::1`) with another port, or another loopback address,
/// than the one `serve` listens on: the feeds' self links and the index
/// would point where nothing answers. `None` when they agree, or when
/// `base_url` names another host (a proxy's public name).
pub fn address_mismatch(base_url: &url::Url, listening: std::net::SocketAddr) -> Option<String> {
    use std::net::IpAddr;
    let ip: Option<IpAddr> = match base_url.host()? {
        url::Host::Domain(d) if d.eq_ignore_ascii_case("localhost") => None,
        url::Host::Domain(_) => return None,
        url::Host::Ipv4(a) if a.is_loopback() => Some(a.into()),
        url::Host::Ipv6(a) if a.is_loopback() => Some(a.into()),
        _ => return None,
    };
    let port = base_url.port_or_known_default()?;
    let bound = listening.ip();
    let host_differs = match ip {
        _ if bound.is_unspecified() => false,
        Some(ip) => ip != bound,
        None => !bound.is_loopback(),
    };
    (port != listening.port() || host_differs).then(|| {
        format!(
            "[publish] base_url {base_url} names this machine on port {port}, but serve listens on {listening}: \
             the feeds' self links and the index point where nothing answers (make them agree, or put a proxy there)"
        )
    })
}

/// The server: `/healthz`, `/metrics`, and every other GET or HEAD is a
/// file of the output folder (or of the PostgreSQL store, with
/// `options.store`: then this waits up to a few seconds for the first
/// set of files).
pub fn router(options: ServeOptions, metrics: Arc<Metrics>) -> Router {
    let cache_control = HeaderValue::from_str(&format!("max-age={}", options.max_age.as_secs())).expect("ASCII header");
    let csp = HeaderValue::from_str(&content_security_policy(&options.embed_hosts)).expect("ASCII policy");
    // Shared caches must not keep what only some readers may see.
    let private_cache_control = HeaderValue::from_str(&format!("private, max-age={}", options.max_age.as_secs())).expect("ASCII header");
    let state = Arc::new(Files {
        root: options.root,
        cache_control,
        csp,
        private_cache_control,
        access: options.access,
        cache: RwLock::default(),
        loading: tokio::sync::Mutex::new(()),
        db: options.store.map(db::DbFiles::start),
    });
    let m = metrics.clone();
    Router::new()
        .route("/healthz", get(move || healthz(m.clone())))
        .route("/metrics", get(move || prometheus(metrics.clone())))
        .fallback(file)
        .with_state(state)
}

/// Serves `router` on `listener` until `shutdown` completes, then lets
/// requests in flight finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    use axum::serve::ListenerExt;
    // Small responses on kept-alive connections: never wait for Nagle.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, router).with_graceful_shutdown(shutdown).await
}

async fn healthz(metrics: Arc<Metrics>) -> Response {
    // 200 whatever the last run said: the files on disk are still served,
    // so a load balancer must not take the server out; the body tells.
    let body = serde_json::to_vec(&metrics.health()).expect("health serializes");
    ([(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "no-store")], body).into_response()
}

async fn prometheus(metrics: Arc<Metrics>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8"), (header::CACHE_CONTROL, "no-store")], metrics.render_prometheus())
        .into_response()
}

struct Files {
    root: PathBuf,
    cache_control: HeaderValue,
    /// Sent with documents a browser renders (HTML, SVG).
    csp: HeaderValue,
    private_cache_control: HeaderValue,
    access: Arc<Access>,
    /// Keyed by the decoded path relative to the root.
    cache: RwLock<HashMap<Box<str>, Arc<Entry>>>,
    /// One load at a time: a file replaced under heavy traffic is read and
    /// compressed once, not once per waiting request.
    loading: tokio::sync::Mutex<()>,
    /// On a PostgreSQL store, where the files come from instead.
    db: Option<Arc<db::DbFiles>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Identity,
    Gzip,
    Br,
}

async fn file(State(files): State<Arc<Files>>, req: Request) -> Response {
    // HEAD gets the GET answer: hyper leaves the body out and keeps its length.
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return (StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, "GET, HEAD")]).into_response();
    }
    let Some(key) = request_key(req.uri().path()) else {
        return not_found();
    };
    let private = files.access.is_private(&key);
    if private && !files.access.allows(req.headers()).await {
        return unauthorized(&files.access);
    }
    let Some(entry) = files.lookup(&key).await else {
        return not_found();
    };
    let mut response = files.respond(&entry, req.headers());
    if private {
        response.headers_mut().insert(header::CACHE_CONTROL, files.private_cache_control.clone());
    }
    response
}

/// 401 with a challenge per accepted scheme (RFC 9110 §11.6.1); the same
/// answer for missing and for wrong credentials.
fn unauthorized(access: &Access) -> Response {
    let mut response =
        (StatusCode::UNAUTHORIZED, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "authentication required\n").into_response();
    for challenge in auth::challenges(access) {
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            response.headers_mut().append(header::WWW_AUTHENTICATE, value);
        }
    }
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The `Content-Security-Policy` of the pages (CSP Level 3): no script
/// at all, styles and fonts from the site only (the shared stylesheet),
/// images and media from anywhere (stories show them from where their
/// source serves them), frames only from `embed_hosts` (else none), and
/// no `<base>` or form that could send a reader elsewhere. A story's
/// text that slipped past every escape still could not run.
pub fn content_security_policy(embed_hosts: &[String]) -> String {
    // Host sources only: nothing that could end the directive or the header.
    let hosts: Vec<&str> = embed_hosts
        .iter()
        .map(String::as_str)
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_alphanumeric() || ".-:*/".contains(c)))
        .collect();
    let frames = if hosts.is_empty() { "'none'".to_owned() } else { hosts.join(" ") };
    format!(
        "default-src 'none'; script-src 'none'; style-src 'self'; font-src 'self'; img-src * data:; media-src *; \
         frame-src {frames}; base-uri 'none'; form-action 'none'"
    )
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "not found\n").into_response()
}

/// The file a request path names, relative to the root, or `None` when
/// the path could step outside it or names a hidden file.
///
/// Each `/`-separated segment is percent-decoded on its own, so an
/// encoded `/` or `\` cannot make new segments; a segment that is empty,
/// starts with `.` (`.`, `..`, dotfiles, the publisher's `.wirefeed-*.tmp`)
/// or holds NUL, `/` or `\` refuses the whole path. A path ending in `/`
/// names that folder's `index.html`.
pub fn request_key(path: &str) -> Option<String> {
    let rest = path.strip_prefix('/')?;
    let mut key = String::with_capacity(rest.len() + 10);
    let mut segments = rest.split('/').peekable();
    while let Some(raw) = segments.next() {
        let last = segments.peek().is_none();
        if raw.is_empty() {
            if last {
                key.push_str("index.html");
                break;
            }
            return None;
        }
        let segment = percent_encoding::percent_decode_str(raw).decode_utf8().ok()?;
        if segment.starts_with('.') || segment.contains(['/', '\\', '\0']) {
            return None;
        }
        key.push_str(&segment);
        if !last {
            key.push('/');
        }
    }
    Some(key)
}

impl Files {
    /// The cached entry for `key` if the file on disk is still the one
    /// cached; else loads it again (or forgets it, when gone).
    async fn lookup(&self, key: &str) -> Option<Arc<Entry>> {
        if let Some(db) = &self.db {
            return db.get(key);
        }
        let path = self.root.join(key);
        // A stat is microseconds on a local disk: done in place rather than
        // through the blocking pool, whose hand-off costs more.
        let stamp = std::fs::metadata(&path).ok().filter(|m| m.is_file()).map(|m| Stamp::of(&m));
        let cached = self.cache.read().unwrap_or_else(|e| e.into_inner()).get(key).cloned();
        match (stamp, cached) {
            (Some(s), Some(entry)) if entry.stamp == s => Some(entry),
            (None, cached) => {
                if cached.is_some() {
                    self.cache.write().unwrap_or_else(|e| e.into_inner()).remove(key);
                }
                None
            }
            (Some(_), _) => self.reload(key, path).await,
        }
    }

    async fn reload(&self, key: &str, path: PathBuf) -> Option<Arc<Entry>> {
        let _one_at_a_time = self.loading.lock().await;
        // Another request may have loaded this version while we waited.
        let stamp = std::fs::metadata(&path).ok().map(|m| Stamp::of(&m));
        if let Some(entry) = self.cache.read().unwrap_or_else(|e| e.into_inner()).get(key)
            && Some(entry.stamp) == stamp
        {
            return Some(entry.clone());
        }
        let root = self.root.clone();
        let loaded = tokio::task::spawn_blocking(move || load(&root, &path)).await.ok()?;
        let mut cache = self.cache.write().unwrap_or_else(|e| e.into_inner());
        match loaded {
            Ok(Some(entry)) => {
                let entry = Arc::new(entry);
                cache.insert(key.into(), entry.clone());
                Some(entry)
            }
            Ok(None) => {
                cache.remove(key);
                None
            }
            Err(e) => {
                tracing::warn!("{}: {e}", self.root.join(key).display());
                cache.remove(key);
                None
            }
        }
    }

    fn respond(&self, entry: &Entry, request: &HeaderMap) -> Response {
        let [first, second] = accepted_encoding(request);
        let variant = entry.variant(first).or_else(|| entry.variant(second)).unwrap_or(&entry.identity);
        let compressible = entry.gzip.is_some() || entry.br.is_some();
        let mut response = if not_modified(entry, &variant.etag, request) {
            Response::builder().status(StatusCode::NOT_MODIFIED).body(Body::empty())
        } else {
            let mut builder = Response::builder()
                .header(header::CONTENT_TYPE, entry.content_type.clone())
                .header(header::CONTENT_LENGTH, variant.body.len())
                .header(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
            if let Some(encoding) = &variant.encoding {
                builder = builder.header(header::CONTENT_ENCODING, encoding.clone());
            }
            builder.body(Body::from(variant.body.clone()))
        }
        .expect("valid response");
        let h = response.headers_mut();
        h.insert(header::ETAG, variant.etag.clone());
        h.insert(header::LAST_MODIFIED, entry.last_modified.clone());
        h.insert(header::CACHE_CONTROL, self.cache_control.clone());
        if entry.content_type.as_bytes().starts_with(b"text/html") || entry.content_type.as_bytes().starts_with(b"image/svg") {
            h.insert(header::CONTENT_SECURITY_POLICY, self.csp.clone());
        }
        if compressible {
            h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        }
        response
    }
}

/// RFC 9110 §13.2.2: If-None-Match (weak comparison, `*` matches any
/// current file) decides when present; otherwise If-Modified-Since.
fn not_modified(entry: &Entry, etag: &HeaderValue, request: &HeaderMap) -> bool {
    let mut if_none_match = request.get_all(header::IF_NONE_MATCH).iter().peekable();
    if if_none_match.peek().is_some() {
        let ours = etag.as_bytes();
        return if_none_match.filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(|tag| {
            let tag = tag.trim();
            tag == "*" || tag.strip_prefix("W/").unwrap_or(tag).as_bytes() == ours
        });
    }
    let since = request.get(header::IF_MODIFIED_SINCE).and_then(|v| v.to_str().ok()).and_then(|v| httpdate::parse_http_date(v).ok());
    match since {
        Some(since) => since.duration_since(UNIX_EPOCH).map(|d| entry.modified_secs <= d.as_secs()).unwrap_or(false),
        None => false,
    }
}

/// The two encodings to try, best first, from `Accept-Encoding` with its
/// q-values (`*` stands for any encoding not named; brotli wins ties, as
/// it is smaller). Identity is always the last resort.
fn accepted_encoding(request: &HeaderMap) -> [Encoding; 2] {
    let (mut br, mut gzip, mut any) = (None, None, None);
    for value in request.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()) {
        for item in value.split(',') {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q=").or_else(|| p.trim().strip_prefix("Q=")))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if coding.eq_ignore_ascii_case("br") {
                br = Some(q);
            } else if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
                gzip = Some(q);
            } else if coding == "*" {
                any = Some(q);
            }
        }
    }
    let br = br.or(any).unwrap_or(0.0);
    let gzip = gzip.or(any).unwrap_or(0.0);
    match (br > 0.0, gzip > 0.0) {
        (true, true) if br >= gzip => [Encoding::Br, Encoding::Gzip],
        (true, true) => [Encoding::Gzip, Encoding::Br],
        (true, false) => [Encoding::Br, Encoding::Identity],
        (false, true) => [Encoding::Gzip, Encoding::Identity],
        (false, false) => [Encoding::Identity, Encoding::Identity],
    }
}

/// Reads one file into an entry. `Ok(None)`: not a file, or a symlink to
/// somewhere outside the root.
fn load(root: &Path, path: &Path) -> io::Result<Option<Entry>> {
    let root = match std::fs::canonicalize(root) {
        Ok(r) => r,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let real = match std::fs::canonicalize(path) {
        Ok(r) => r,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    if !real.starts_with(&root) {
        return Ok(None);
    }
    let mut file = std::fs::File::open(&real)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Ok(None);
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    io::Read::read_to_end(&mut file, &mut bytes)?;
    // The stamp is of the file read: a rename after the open shows up as a
    // new inode at the next request.
    let stamp = Stamp::of(&meta);
    Ok(Some(entry(&real, Bytes::from(bytes), stamp)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_lets_no_script_run_and_frames_only_from_embed_hosts() {
        let none = content_security_policy(&[]);
        assert!(none.contains("script-src 'none'") && none.contains("frame-src 'none'") && none.contains("style-src 'self'"), "{none}");
        let some = content_security_policy(&["https://www.youtube-nocookie.com".into(), "evil; script-src *".into()]);
        assert!(some.contains("frame-src https://www.youtube-nocookie.com;"), "{some}");
        assert!(!some.contains("evil") && some.matches("script-src").count() == 1, "{some}");
    }

    #[test]
    fn request_paths_that_leave_the_root_or_hide_are_refused() {
        assert_eq!(request_key("/").as_deref(), Some("index.html"));
        assert_eq!(request_key("/all.rss").as_deref(), Some("all.rss"));
        assert_eq!(request_key("/topics/gaza.atom").as_deref(), Some("topics/gaza.atom"));
        assert_eq!(request_key("/topics/").as_deref(), Some("topics/index.html"));
        assert_eq!(request_key("/a%20b.rss").as_deref(), Some("a b.rss"));
        for bad in [
            "/../etc/passwd",
            "/topics/../../etc/passwd",
            "/%2e%2e/etc/passwd",
            "/%2E%2e%2fetc%2fpasswd",
            "/..%2fetc/passwd",
            "/topics%2f..%2f..%2fetc",
            "/..%5c..%5cetc",
            "/a%5cb",
            "/all.rss%00.html",
            "//etc/passwd",
            "/./all.rss",
            "/.wirefeed-abc.tmp",
            "/topics/.hidden",
            "/%ff%fe",
            "relative",
        ] {
            assert_eq!(request_key(bad), None, "{bad}");
        }
    }

    #[test]
    fn base_url_and_listening_address_disagreeing_on_loopback_are_named() {
        // (base_url, listening address, warned?)
        for (base, addr, warned) in [
            ("http://127.0.0.1:8080/", "127.0.0.1:8080", false),
            ("http://localhost:8080/feeds/", "127.0.0.1:8080", false),
            ("http://localhost:8080/", "[::1]:8080", false),
            ("http://127.0.0.1:8080/", "0.0.0.0:8080", false),
            ("https://news.example/", "127.0.0.1:8080", false),
            ("http://10.0.0.5:9000/", "127.0.0.1:8080", false),
            ("http://127.0.0.1:8080/", "127.0.0.1:9090", true),
            ("http://localhost/", "127.0.0.1:8080", true),
            ("http://127.0.0.1:8080/", "127.0.0.2:8080", true),
            ("http://localhost:8080/", "192.168.1.4:8080", true),
            ("http://[::1]:8080/", "127.0.0.1:8080", true),
        ] {
            let got = address_mismatch(&url::Url::parse(base).unwrap(), addr.parse().unwrap());
            assert_eq!(got.is_some(), warned, "{base} vs {addr}: {got:?}");
            if let Some(message) = got {
                assert!(message.contains(base) && message.contains(addr), "{message}");
            }
        }
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn accept_encoding_respects_q_values() {
        use Encoding::*;
        let choose = |v: &'static str| accepted_encoding(&headers(&[("accept-encoding", v)]))[0];
        assert_eq!(accepted_encoding(&HeaderMap::new())[0], Identity);
        assert_eq!(choose("gzip, deflate, br"), Br);
        assert_eq!(choose("gzip"), Gzip);
        assert_eq!(choose("br;q=0.5, gzip;q=0.8"), Gzip);
        assert_eq!(choose("br;q=0, gzip"), Gzip);
        assert_eq!(choose("gzip;q=0, br;q=0"), Identity);
        assert_eq!(choose("*"), Br);
        assert_eq!(choose("*;q=0.1, br;q=0"), Gzip);
        assert_eq!(choose("identity"), Identity);
        assert_eq!(choose("deflate"), Identity);
    }

    #[test]
    fn validators_follow_rfc_9110() {
        let body = Bytes::from(vec![b'x'; 1000]);
        let mtime = UNIX_EPOCH + Duration::from_secs(1_732_615_200);
        let e = entry(Path::new("all.rss"), body, Stamp { dev: 1, ino: 2, len: 1000, mtime });
        let tag = e.identity.etag.to_str().unwrap().to_owned();
        assert!(tag.starts_with('"') && tag.ends_with('"') && tag.len() == 18, "{tag}");
        assert_ne!(e.gzip.as_ref().unwrap().etag, e.identity.etag);
        assert_ne!(e.br.as_ref().unwrap().etag, e.gzip.as_ref().unwrap().etag);
        let check = |pairs: &[(&'static str, &'static str)]| not_modified(&e, &e.identity.etag, &headers(pairs));
        let leaked: &'static str = Box::leak(tag.clone().into_boxed_str());
        let weak: &'static str = Box::leak(format!("\"nope\", W/{tag}").into_boxed_str());
        assert!(check(&[("if-none-match", leaked)]));
        assert!(check(&[("if-none-match", weak)]));
        assert!(check(&[("if-none-match", "*")]));
        assert!(!check(&[("if-none-match", "\"other\"")]));
        assert_eq!(e.last_modified, "Tue, 26 Nov 2024 10:00:00 GMT");
        assert!(check(&[("if-modified-since", "Tue, 26 Nov 2024 10:00:00 GMT")]));
        assert!(check(&[("if-modified-since", "Wed, 27 Nov 2024 10:00:00 GMT")]));
        assert!(!check(&[("if-modified-since", "Tue, 26 Nov 2024 09:59:59 GMT")]));
        assert!(!check(&[("if-modified-since", "garbage")]));
        // If-None-Match decides alone when present.
        assert!(!check(&[("if-none-match", "\"other\""), ("if-modified-since", "Wed, 27 Nov 2024 10:00:00 GMT")]));
    }

    #[test]
    fn small_and_binary_files_are_not_compressed() {
        let stamp = Stamp { dev: 0, ino: 0, len: 0, mtime: UNIX_EPOCH };
        let e = entry(Path::new("a.rss"), Bytes::from_static(b"<rss/>"), stamp);
        assert!(e.gzip.is_none() && e.br.is_none());
        let e = entry(Path::new("a.png"), Bytes::from(vec![0u8; 4096]), stamp);
        assert!(e.gzip.is_none() && e.br.is_none());
        assert_eq!(e.content_type, "image/png");
    }
}
