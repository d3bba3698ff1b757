//! `wirefeed.toml`: what to read, which topics to publish, where to write.
//!
//! Parsed strictly: an unknown key or a bad value is an error naming the
//! key and the file, because a silently ignored typo (`max_item = 10`) is
//! worse than a refusal. Relative paths resolve against the config file's
//! folder, so a build gives the same result from any working directory.

use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;
use url::Url;

pub const DEFAULT_FILE: &str = "wirefeed.toml";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    // `cause`, not `source`: the message names it, and a chain printed
    // with `{:#}` would name it a second time.
    #[error("{path}: cannot read config: {cause}")]
    Read { path: PathBuf, cause: std::io::Error },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: `{key}`: {message}")]
    Invalid { path: PathBuf, key: String, message: String },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub publish: PublishConfig,
    #[serde(default)]
    pub stories: Vec<StoriesConfig>,
    #[serde(default)]
    pub topics: Vec<TopicConfig>,
    #[serde(default)]
    pub sources: Vec<SourceConfig>,
    #[serde(default)]
    pub fetch: FetchConfig,
    #[serde(default)]
    pub store: StoreConfig,
    #[serde(default)]
    pub run: RunConfig,
    #[serde(default)]
    pub serve: ServeConfig,
    /// How topic and source queries match text.
    #[serde(default, rename = "match")]
    pub matching: MatchConfig,
    /// Caps on what one feed may cost (`[limits]`; see the README's Limits).
    #[serde(default)]
    pub limits: crate::ingest::parse::Limits,
    /// The config file this was read from (not a key).
    #[serde(skip)]
    pub path: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishConfig {
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// Where `output_dir` is served; always ends with `/` after loading.
    pub base_url: Url,
    #[serde(default = "default_output_dir")]
    pub output_dir: PathBuf,
    #[serde(default = "default_max_items")]
    pub max_items: usize,
    /// Stories per river page (`all.html`, `topics/<slug>.html`).
    #[serde(default = "default_page_size")]
    pub page_size: usize,
    #[serde(default = "default_language")]
    pub language: String,
    /// Feed-level author (Atom requires one when entries lack authors).
    #[serde(default)]
    pub author: Option<String>,
    /// A WebSub hub: every feed names it, and it is pinged after a
    /// republish, so subscribers get pushes instead of polling.
    #[serde(default)]
    pub websub_hub: Option<Url>,
}

/// A file or folder of the newsroom's own stories.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoriesConfig {
    pub path: PathBuf,
    pub source: String,
    /// Story links are `link_base` + a slug of the title.
    #[serde(default)]
    pub link_base: Option<Url>,
    /// IANA zone (`Europe/Berlin`) of front-matter dates written without
    /// one; UTC when unset.
    #[serde(default)]
    pub timezone: Option<String>,
    /// Language of these stories (BCP 47, e.g. `de`), for `lang:` in
    /// queries; default: `[publish] language`.
    #[serde(default)]
    pub language: Option<String>,
    /// Hosts (`www.youtube.com`) whose `<iframe>`/`<video>` with an https
    /// `src` these stories may keep; `serve` lets frames load from them.
    #[serde(default)]
    pub allow_embeds: Vec<String>,
}

impl StoriesConfig {
    /// The folder's time zone (validated when the config is loaded).
    pub fn timezone(&self) -> Option<chrono_tz::Tz> {
        self.timezone.as_deref().and_then(|z| z.parse().ok())
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicConfig {
    pub slug: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub keywords: Vec<String>,
    #[serde(default)]
    pub categories: Vec<String>,
    #[serde(default)]
    pub sources: Vec<String>,
    /// A query (see [`crate::topics::query`]): matching stories join.
    #[serde(default)]
    pub query: Option<String>,
    /// A query: matching stories stay out, whatever the other rules say
    /// (front-matter `topics` still add).
    #[serde(default)]
    pub exclude: Option<String>,
    /// Overrides `[publish] max_items` for this channel.
    #[serde(default)]
    pub max_items: Option<usize>,
    /// Served only to `[serve] users` and `tokens`; never listed in
    /// `index.html` or `channels.opml`.
    #[serde(default)]
    pub private: bool,
    /// `query` and `exclude` as parsed at load (not keys).
    #[serde(skip)]
    pub parsed: ParsedQueries,
}

/// The queries of a `[[topics]]` (query, exclude) or `[[sources]]`
/// (include, exclude) entry, parsed when the config is loaded.
#[derive(Debug, Clone, Default)]
pub struct ParsedQueries {
    pub include: Option<crate::topics::query::Query>,
    pub exclude: Option<crate::topics::query::Query>,
}

/// An external feed to aggregate.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    pub name: String,
    /// An http(s) URL, or a path to a local feed file.
    pub url: String,
    /// Every story of this source joins these topics.
    #[serde(default)]
    pub topics: Vec<String>,
    /// How often `wirefeed run` fetches it (the scheduler's concern).
    #[serde(default, with = "humantime_serde")]
    pub interval: Option<Duration>,
    /// Extra request headers (e.g. an API key).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// When the URL is a web page, follow its advertised feed.
    #[serde(default)]
    pub discover: bool,
    /// A query: only entries that match are stored.
    #[serde(default)]
    pub include: Option<String>,
    /// A query: entries that match are dropped before storing.
    #[serde(default)]
    pub exclude: Option<String>,
    /// Entries published longer ago than this are dropped before storing.
    #[serde(default, with = "humantime_serde")]
    pub max_age: Option<Duration>,
    /// `false` keeps this source's stories out of the merged channel
    /// (topic channels still get them).
    #[serde(default = "yes")]
    pub in_all: bool,
    /// At most this many of this source's stories in the merged channel.
    #[serde(default)]
    pub all_limit: Option<usize>,
    /// Language of the feed's stories (BCP 47), for `lang:` in queries;
    /// default: `[publish] language`.
    #[serde(default)]
    pub language: Option<String>,
    /// `include` and `exclude` as parsed at load (not a key).
    #[serde(skip)]
    pub parsed: ParsedQueries,
}

/// Where a source's feed comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceLocation {
    Http(Url),
    File(PathBuf),
}

impl SourceConfig {
    /// `url` as an http(s) URL, or as a path relative to the config folder.
    pub fn location(&self, root: &Path) -> Option<SourceLocation> {
        match Url::parse(&self.url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => Some(SourceLocation::Http(u)),
            Ok(u) if u.scheme() == "file" => u.to_file_path().ok().map(SourceLocation::File),
            Ok(_) if self.url.len() > 2 && self.url.as_bytes()[1] == b':' => Some(SourceLocation::File(root.join(&self.url))),
            Ok(_) => None,
            Err(_) => Some(SourceLocation::File(root.join(&self.url))),
        }
    }
}

/// How the fetcher behaves towards the sites it reads.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FetchConfig {
    /// Requests in flight across all hosts.
    pub concurrency: usize,
    /// Requests in flight to one host.
    pub per_host: usize,
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// Whole request, redirects and body included.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    pub max_redirects: usize,
    /// Largest body accepted, after decompression.
    pub max_body_bytes: u64,
    /// Dates further than this in the future are clamped to the fetch time.
    #[serde(with = "humantime_serde")]
    pub future_tolerance: Duration,
    /// Overrides the default `wirefeed/VERSION (+URL)`.
    pub user_agent: Option<String>,
    /// Least time between the starts of two requests to one host (0: none).
    #[serde(with = "humantime_serde")]
    pub per_host_gap: Duration,
}

impl Default for FetchConfig {
    fn default() -> Self {
        FetchConfig {
            concurrency: 16,
            per_host: 2,
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            max_redirects: 5,
            max_body_bytes: 16 << 20,
            future_tolerance: Duration::from_secs(3600),
            user_agent: None,
            per_host_gap: Duration::ZERO,
        }
    }
}

/// When `wirefeed run` fetches sources and looks at story folders; the
/// rules are in `operate::schedule`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunConfig {
    /// A source's interval when its `[[sources]]` entry sets none.
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    /// Longest interval feed and HTTP cache hints may stretch a source's
    /// own to, so that a month-long `ttl` does not silence it.
    #[serde(with = "humantime_serde")]
    pub max_interval: Duration,
    /// Longest wait after repeated errors.
    #[serde(with = "humantime_serde")]
    pub max_backoff: Duration,
    /// Up to this fraction of the interval is added at random (0 to 1), so
    /// sources set alike do not fire together.
    pub jitter: f64,
    /// How often the story folders are checked for changes.
    #[serde(with = "humantime_serde")]
    pub watch_interval: Duration,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            interval: Duration::from_secs(30 * 60),
            max_interval: Duration::from_secs(24 * 3600),
            max_backoff: Duration::from_secs(24 * 3600),
            jitter: 0.1,
            watch_interval: Duration::from_secs(5),
        }
    }
}

/// Where and for how long wirefeed remembers stories and sources.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// The SQLite database; relative to the config's folder. Unused when
    /// `url` (or `WIREFEED_STORE_URL`) names a PostgreSQL store.
    pub path: PathBuf,
    /// A PostgreSQL store, `postgres://user:password@host:5432/db`
    /// (libpq's URL form); the environment variable `WIREFEED_STORE_URL`
    /// overrides it. `None`: SQLite at `path`.
    pub url: Option<String>,
    /// Stories older than this many days are pruned (each channel still
    /// keeps its `max_items` newest).
    pub keep_days: u32,
    /// How long a second `build`/`run` waits for the one holding the store.
    #[serde(with = "humantime_serde")]
    pub lock_timeout: Duration,
    /// PostgreSQL only: how long a worker's claim on a due source lasts
    /// unless renewed (`store::pg::leases`); a dead worker's sources are
    /// fetched by others after it.
    #[serde(with = "humantime_serde")]
    pub lease: Duration,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            path: PathBuf::from(".wirefeed/state.db"),
            url: None,
            keep_days: 30,
            lock_timeout: Duration::from_secs(10),
            lease: Duration::from_secs(120),
        }
    }
}

/// `[match]`: how queries and keywords compare text.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MatchConfig {
    /// `Koln` matches `Köln`: accents of Latin, Greek and Cyrillic letters
    /// are ignored on both sides.
    pub fold_accents: bool,
}

/// How `wirefeed serve` (and `wirefeed run --serve`) serves the output.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServeConfig {
    /// Listening address; the `--addr` flag overrides it.
    pub addr: std::net::SocketAddr,
    /// `Cache-Control: max-age` of every file: how long readers and caches
    /// may reuse a feed without asking again.
    #[serde(with = "humantime_serde")]
    pub max_age: Duration,
    /// Who may read private channels with HTTP Basic auth.
    pub users: Vec<ServeUser>,
    /// Bearer tokens that may read private channels (`Authorization:
    /// Bearer TOKEN`); write them as `${VAR}` to keep them out of the file.
    pub tokens: Vec<String>,
    /// `/healthz` says "degraded" when a source failed this many fetches
    /// in a row.
    pub degraded_after: u32,
}

/// One `[[serve.users]]` entry, as `wirefeed passwd NAME` prints it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeUser {
    pub name: String,
    /// A PHC string (`$argon2id$v=19$…`).
    pub password_hash: String,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            addr: std::net::SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_age: Duration::from_secs(300),
            users: Vec::new(),
            tokens: Vec::new(),
            degraded_after: 3,
        }
    }
}

fn yes() -> bool {
    true
}

fn default_output_dir() -> PathBuf {
    PathBuf::from("feeds")
}
fn default_max_items() -> usize {
    50
}
fn default_page_size() -> usize {
    25
}

fn default_language() -> String {
    "en".to_owned()
}

/// Completes a base URL that lacks its trailing slash, and says so: URL
/// resolution (RFC 3986 §5.2.3) would otherwise drop its last segment
/// (`http://host/news` + `all.rss` is `http://host/all.rss`).
fn with_trailing_slash(config: &Path, key: &str, url: &mut Url) {
    if url.path().ends_with('/') || url.cannot_be_a_base() {
        return;
    }
    let given = url.to_string();
    let fixed = format!("{}/", url.path());
    url.set_path(&fixed);
    tracing::warn!("{}: `{key}` {given} has no trailing slash; using {url} (add the slash to silence this)", config.display());
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|cause| ConfigError::Read { path: path.to_owned(), cause })?;
        // Absolute, so paths derived from it (file sources, which key their
        // saved state) are the same whichever way the config was named.
        let path = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
        Config::from_toml(&text, &path)
    }

    /// Parses and validates `text` as if read from `path`.
    pub fn from_toml(text: &str, path: &Path) -> Result<Config, ConfigError> {
        Config::from_toml_with_env(text, path, &|name| std::env::var(name).ok())
    }

    /// [`Config::from_toml`], with `${NAME}` in strings taken from `env`
    /// rather than the process environment.
    pub fn from_toml_with_env(text: &str, path: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let text = substitute_env(text, path, env)?;
        let text = text.as_ref();
        let mut config: Config =
            toml::from_str(text).map_err(|e| ConfigError::Parse { path: path.to_owned(), message: e.to_string().trim_end().to_owned() })?;
        config.path = path.to_owned();
        config.resolve_paths();
        config.validate()?;
        Ok(config)
    }

    /// The folder relative paths resolve against.
    pub fn root(&self) -> &Path {
        match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        }
    }

    fn resolve_paths(&mut self) {
        let root = self.root().to_owned();
        self.publish.output_dir = root.join(&self.publish.output_dir);
        self.store.path = root.join(&self.store.path);
        for s in &mut self.stories {
            s.path = root.join(&s.path);
        }
        for s in &mut self.sources {
            if let Some(SourceLocation::File(p)) = s.location(&root) {
                s.url = p.to_string_lossy().into_owned();
            }
        }
    }

    fn invalid(&self, key: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid { path: self.path.clone(), key: key.into(), message: message.into() }
    }

    fn validate(&mut self) -> Result<(), ConfigError> {
        let p = &self.publish;
        if p.title.trim().is_empty() {
            return Err(self.invalid("publish.title", "must not be empty"));
        }
        if !matches!(p.base_url.scheme(), "http" | "https") {
            return Err(self.invalid("publish.base_url", "must be an http or https URL"));
        }
        if p.max_items == 0 {
            return Err(self.invalid("publish.max_items", "must be at least 1"));
        }
        let path = self.path.clone();
        with_trailing_slash(&path, "publish.base_url", &mut self.publish.base_url);
        for (i, s) in self.stories.iter_mut().enumerate() {
            if let Some(base) = &mut s.link_base {
                with_trailing_slash(&path, &format!("stories[{i}].link_base"), base);
            }
        }
        let p = &self.publish;
        for (i, s) in self.stories.iter().enumerate() {
            if let Some(zone) = &s.timezone
                && zone.parse::<chrono_tz::Tz>().is_err()
            {
                return Err(self.invalid(
                    format!("stories[{i}].timezone"),
                    format!("{zone:?} is not an IANA time zone name (e.g. \"Europe/Berlin\")"),
                ));
            }
            for host in &s.allow_embeds {
                let bare = !host.is_empty() && host.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
                if !bare {
                    return Err(self.invalid(
                        format!("stories[{i}].allow_embeds"),
                        format!("{host:?} is not a host name (write it without scheme or path, e.g. \"www.youtube.com\")"),
                    ));
                }
            }
        }
        if p.page_size == 0 {
            return Err(self.invalid("publish.page_size", "must be at least 1"));
        }
        if let Some(hub) = &p.websub_hub
            && !matches!(hub.scheme(), "http" | "https")
        {
            return Err(self.invalid("publish.websub_hub", "must be an http or https URL"));
        }
        for (i, s) in self.stories.iter().enumerate() {
            if s.source.trim().is_empty() {
                return Err(self.invalid(format!("stories[{i}].source"), "must not be empty"));
            }
            if let Some(base) = &s.link_base
                && !matches!(base.scheme(), "http" | "https")
            {
                return Err(self.invalid(format!("stories[{i}].link_base"), "must be an http or https URL"));
            }
        }
        let mut slugs = HashSet::new();
        for (i, t) in self.topics.iter().enumerate() {
            if !is_valid_slug(&t.slug) || t.slug == "all" {
                return Err(self.invalid(
                    format!("topics[{i}].slug"),
                    format!("{:?} is not a valid slug (lowercase letters, digits and '-', not \"all\")", t.slug),
                ));
            }
            if !slugs.insert(t.slug.as_str()) {
                return Err(self.invalid(format!("topics[{i}].slug"), format!("{:?} is used twice", t.slug)));
            }
            if t.title.trim().is_empty() {
                return Err(self.invalid(format!("topics[{i}].title"), "must not be empty"));
            }
            if t.keywords.iter().chain(&t.categories).chain(&t.sources).any(|k| k.trim().is_empty()) {
                return Err(self.invalid(format!("topics[{i}]"), "keywords, categories and sources must not be empty strings"));
            }
        }
        self.validate_text()?;
        self.parse_queries()?;
        self.validate_run()?;
        self.validate_serve()?;
        self.validate_sources()
    }

    /// Text every feed, page and OPML list carries as written: XML has no
    /// way to write a control character (but tab, line feed and carriage
    /// return) or U+FFFE/U+FFFF, so a file holding one is not well-formed.
    fn validate_text(&self) -> Result<(), ConfigError> {
        let forbidden =
            |s: &str| s.contains(|c: char| (c.is_control() && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{FFFE}' | '\u{FFFF}'));
        let p = &self.publish;
        let mut fields: Vec<(String, &str)> = vec![
            ("publish.title".into(), &p.title),
            ("publish.description".into(), &p.description),
            ("publish.language".into(), &p.language),
            ("publish.author".into(), p.author.as_deref().unwrap_or("")),
        ];
        for (i, t) in self.topics.iter().enumerate() {
            fields.push((format!("topics[{i}].title"), &t.title));
            fields.push((format!("topics[{i}].description"), &t.description));
        }
        for (i, s) in self.sources.iter().enumerate() {
            fields.push((format!("sources[{i}].name"), &s.name));
        }
        match fields.into_iter().find(|(_, value)| forbidden(value)) {
            Some((key, value)) => Err(self.invalid(key, format!("{value:?} holds a control character, which no feed can carry"))),
            None => Ok(()),
        }
    }

    fn validate_serve(&self) -> Result<(), ConfigError> {
        let mut names = HashSet::new();
        for (i, u) in self.serve.users.iter().enumerate() {
            if u.name.is_empty() || u.name.contains(':') || u.name.chars().any(char::is_control) {
                return Err(self.invalid(format!("serve.users[{i}].name"), "must be non-empty, without ':' or control characters"));
            }
            if !names.insert(u.name.as_str()) {
                return Err(self.invalid(format!("serve.users[{i}].name"), format!("{:?} is used twice", u.name)));
            }
            let argon2 = password_hash::PasswordHash::new(&u.password_hash).is_ok_and(|h| h.algorithm.as_str().starts_with("argon2"));
            if !argon2 {
                return Err(self.invalid(
                    format!("serve.users[{i}].password_hash"),
                    format!("not an argon2 hash (make an entry with `wirefeed passwd {}`)", u.name),
                ));
            }
        }
        if let Some(i) = self.serve.tokens.iter().position(|t| t.trim().is_empty()) {
            return Err(self.invalid(format!("serve.tokens[{i}]"), "must not be empty"));
        }
        if self.serve.degraded_after == 0 {
            return Err(self.invalid("serve.degraded_after", "must be at least 1"));
        }
        Ok(())
    }

    fn validate_run(&self) -> Result<(), ConfigError> {
        let r = &self.run;
        for (key, d) in [
            ("interval", r.interval),
            ("max_interval", r.max_interval),
            ("max_backoff", r.max_backoff),
            ("watch_interval", r.watch_interval),
        ] {
            if d.is_zero() {
                return Err(self.invalid(format!("run.{key}"), "must be longer than zero"));
            }
        }
        if !(0.0..=1.0).contains(&r.jitter) {
            return Err(self.invalid("run.jitter", format!("{} is not a fraction between 0 and 1", r.jitter)));
        }
        Ok(())
    }

    fn validate_sources(&self) -> Result<(), ConfigError> {
        let f = &self.fetch;
        if f.concurrency == 0 || f.per_host == 0 {
            return Err(self.invalid("fetch.concurrency/per_host", "must be at least 1"));
        }
        if f.max_body_bytes == 0 {
            return Err(self.invalid("fetch.max_body_bytes", "must be at least 1"));
        }
        if let Some(key) = self.limits.zero_field() {
            return Err(self.invalid(format!("limits.{key}"), "must be at least 1"));
        }
        let mut names = HashSet::new();
        // A set: a config of 100,000 sources and topics checks linearly.
        let slugs: HashSet<&str> = self.topics.iter().map(|c| c.slug.as_str()).collect();
        for (i, s) in self.sources.iter().enumerate() {
            if s.name.trim().is_empty() {
                return Err(self.invalid(format!("sources[{i}].name"), "must not be empty"));
            }
            if !names.insert(s.name.to_lowercase()) {
                return Err(self.invalid(format!("sources[{i}].name"), format!("{:?} is used twice", s.name)));
            }
            if s.interval.is_some_and(|d| d.is_zero()) {
                return Err(self.invalid(format!("sources[{i}].interval"), "must be longer than zero"));
            }
            if s.location(self.root()).is_none() {
                return Err(self.invalid(format!("sources[{i}].url"), format!("{:?} is neither an http(s) URL nor a file path", s.url)));
            }
            for t in &s.topics {
                if !slugs.contains(t.as_str()) {
                    return Err(self.invalid(format!("sources[{i}].topics"), format!("no [[topics]] entry has slug {t:?}")));
                }
            }
        }
        Ok(())
    }
}

impl Config {
    /// Parses every topic's and source's queries (once, here), and checks
    /// the other editorial keys.
    fn parse_queries(&mut self) -> Result<(), ConfigError> {
        let parse = |key: String, owner: String, text: &Option<String>| match text {
            None => Ok(None),
            Some(q) => crate::topics::query::parse(q).map(Some).map_err(|e| ConfigError::Invalid {
                path: self.path.clone(),
                key,
                message: format!("{owner}: {e}"),
            }),
        };
        let mut topics = Vec::with_capacity(self.topics.len());
        for (i, t) in self.topics.iter().enumerate() {
            let owner = format!("topic {:?}", t.slug);
            if t.max_items == Some(0) {
                return Err(self.invalid(format!("topics[{i}].max_items"), "must be at least 1"));
            }
            topics.push(ParsedQueries {
                include: parse(format!("topics[{i}].query"), owner.clone(), &t.query)?,
                exclude: parse(format!("topics[{i}].exclude"), owner, &t.exclude)?,
            });
        }
        let mut sources = Vec::with_capacity(self.sources.len());
        for (i, s) in self.sources.iter().enumerate() {
            let owner = format!("source {:?}", s.name);
            if s.max_age.is_some_and(|d| d.is_zero()) {
                return Err(self.invalid(format!("sources[{i}].max_age"), "must be longer than zero"));
            }
            if s.all_limit == Some(0) {
                return Err(self.invalid(format!("sources[{i}].all_limit"), "must be at least 1 (in_all = false keeps a source out)"));
            }
            sources.push(ParsedQueries {
                include: parse(format!("sources[{i}].include"), owner.clone(), &s.include)?,
                exclude: parse(format!("sources[{i}].exclude"), owner, &s.exclude)?,
            });
        }
        for (t, parsed) in self.topics.iter_mut().zip(topics) {
            t.parsed = parsed;
        }
        for (s, parsed) in self.sources.iter_mut().zip(sources) {
            s.parsed = parsed;
        }
        Ok(())
    }
}

/// Replaces `${NAME}` in every string value of the document with the
/// environment variable `NAME` (`$${` stands for a literal `${`), so
/// secrets (API keys in headers, `[serve] tokens`) can stay out of the
/// file, e.g. in a systemd `EnvironmentFile=`. Only values are touched,
/// never keys or the TOML around them, so a variable cannot inject
/// config. A missing variable is an error naming it and the key. Text
/// that does not parse is returned as it is, for the parser to report.
fn substitute_env<'a>(text: &'a str, path: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<std::borrow::Cow<'a, str>, ConfigError> {
    if !text.contains("${") {
        return Ok(std::borrow::Cow::Borrowed(text));
    }
    let Ok(mut doc) = text.parse::<toml_edit::DocumentMut>() else {
        return Ok(std::borrow::Cow::Borrowed(text));
    };
    let mut subst = Substitution { path, env };
    for (key, item) in doc.as_table_mut().iter_mut() {
        subst.item(item, key.get())?;
    }
    Ok(std::borrow::Cow::Owned(doc.to_string()))
}

struct Substitution<'a> {
    path: &'a Path,
    env: &'a dyn Fn(&str) -> Option<String>,
}

impl Substitution<'_> {
    fn item(&mut self, item: &mut toml_edit::Item, key: &str) -> Result<(), ConfigError> {
        match item {
            toml_edit::Item::Value(v) => self.value(v, key),
            toml_edit::Item::Table(t) => t.iter_mut().try_for_each(|(k, it)| self.item(it, &format!("{key}.{}", k.get()))),
            toml_edit::Item::ArrayOfTables(a) => a
                .iter_mut()
                .enumerate()
                .try_for_each(|(i, t)| t.iter_mut().try_for_each(|(k, it)| self.item(it, &format!("{key}[{i}].{}", k.get())))),
            toml_edit::Item::None => Ok(()),
        }
    }

    fn value(&mut self, value: &mut toml_edit::Value, key: &str) -> Result<(), ConfigError> {
        match value {
            toml_edit::Value::String(s) if s.value().contains("${") => {
                let expanded = self.expand(s.value(), key)?;
                let decor = s.decor().clone();
                *value = toml_edit::Value::from(expanded);
                *value.decor_mut() = decor;
                Ok(())
            }
            toml_edit::Value::Array(a) => a.iter_mut().enumerate().try_for_each(|(i, v)| self.value(v, &format!("{key}[{i}]"))),
            toml_edit::Value::InlineTable(t) => t.iter_mut().try_for_each(|(k, v)| self.value(v, &format!("{key}.{}", k.get()))),
            _ => Ok(()),
        }
    }

    fn expand(&self, s: &str, key: &str) -> Result<String, ConfigError> {
        let invalid = |message: String| ConfigError::Invalid { path: self.path.to_owned(), key: key.to_owned(), message };
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(at) = rest.find("${") {
            if rest[..at].ends_with('$') {
                out.push_str(&rest[..at - 1]);
                out.push_str("${");
                rest = &rest[at + 2..];
                continue;
            }
            out.push_str(&rest[..at]);
            let Some(end) = rest[at..].find('}') else {
                return Err(invalid("`${` without a closing `}` (write `$${` for a literal `${`)".into()));
            };
            let name = &rest[at + 2..at + end];
            let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(invalid(format!("`${{{name}}}` is not an environment variable name (letters, digits and _)")));
            }
            match (self.env)(name) {
                Some(v) => out.push_str(&v),
                None => return Err(invalid(format!("environment variable {name} is not set"))),
            }
            rest = &rest[at + end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// Slugs name files and URL paths, so they are kept to a portable alphabet.
pub fn is_valid_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= 64
        && slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
        && !slug.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "[publish]\ntitle = \"T\"\nbase_url = \"https://x.org/feeds\"\n";

    fn load(text: &str) -> Result<Config, ConfigError> {
        Config::from_toml(text, Path::new("/etc/wf/wirefeed.toml"))
    }

    #[test]
    fn defaults_and_relative_paths() {
        let c = load(&format!("{MINIMAL}[[stories]]\npath = \"stories\"\nsource = \"N\"\n")).unwrap();
        assert_eq!(c.publish.output_dir, Path::new("/etc/wf/feeds"));
        assert_eq!(c.publish.max_items, 50);
        assert_eq!(c.publish.page_size, 25);
        assert_eq!(c.publish.language, "en");
        assert_eq!(c.publish.base_url.as_str(), "https://x.org/feeds/");
        assert_eq!(c.stories[0].path, Path::new("/etc/wf/stories"));
    }

    #[test]
    fn unknown_key_is_named_with_the_file() {
        let err = load(&format!("{MINIMAL}max_item = 3\n")).unwrap_err().to_string();
        assert!(err.contains("/etc/wf/wirefeed.toml"), "{err}");
        assert!(err.contains("max_item"), "{err}");
    }

    #[test]
    fn bad_values_are_named() {
        let err = load(&format!("{MINIMAL}max_items = 0\n")).unwrap_err().to_string();
        assert!(err.contains("publish.max_items"), "{err}");
        let err = load(&format!("{MINIMAL}page_size = 0\n")).unwrap_err().to_string();
        assert!(err.contains("publish.page_size"), "{err}");
        let err = load(&format!("{MINIMAL}[[topics]]\nslug = \"Bad Slug\"\ntitle = \"x\"\n")).unwrap_err().to_string();
        assert!(err.contains("topics[0].slug"), "{err}");
        let err = load("[publish]\ntitle = \"T\"\nbase_url = \"not a url\"\n").unwrap_err().to_string();
        assert!(err.contains("base_url"), "{err}");
    }

    #[test]
    fn run_section_defaults_and_human_durations() {
        let c = load(MINIMAL).unwrap();
        assert_eq!(c.run.interval, Duration::from_secs(1800));
        assert_eq!((c.run.max_interval, c.run.max_backoff), (Duration::from_secs(86400), Duration::from_secs(86400)));
        assert_eq!((c.run.jitter, c.run.watch_interval), (0.1, Duration::from_secs(5)));
        assert_eq!(c.fetch.per_host_gap, Duration::ZERO);
        let c = load(&format!(
            "{MINIMAL}[run]\ninterval = \"1h 30m\"\nmax_interval = \"2days\"\nmax_backoff = \"6h\"\njitter = 0\nwatch_interval = \"4s\"\n\
             [fetch]\nper_host_gap = \"250ms\"\n[[sources]]\nname = \"s\"\nurl = \"http://e.com/f\"\ninterval = \"1h 30m\"\n"
        ))
        .unwrap();
        assert_eq!(c.run.interval, Duration::from_secs(5400));
        assert_eq!(c.sources[0].interval, Some(Duration::from_secs(5400)));
        assert_eq!((c.run.max_interval, c.run.max_backoff), (Duration::from_secs(2 * 86400), Duration::from_secs(6 * 3600)));
        assert_eq!((c.run.jitter, c.run.watch_interval), (0.0, Duration::from_secs(4)));
        assert_eq!(c.fetch.per_host_gap, Duration::from_millis(250));
    }

    #[test]
    fn run_section_bad_values_are_named() {
        for (text, key) in [
            ("[run]\njitter = 1.5\n", "run.jitter"),
            ("[run]\ninterval = \"0s\"\n", "run.interval"),
            ("[run]\nwatch_interval = \"0s\"\n", "run.watch_interval"),
            ("[run]\ninterval = \"often\"\n", "interval"),
            ("[run]\nintervl = \"1m\"\n", "intervl"),
            ("[[sources]]\nname = \"s\"\nurl = \"http://e.com/f\"\ninterval = \"0m\"\n", "sources[0].interval"),
        ] {
            let err = load(&format!("{MINIMAL}{text}")).unwrap_err().to_string();
            assert!(err.contains(key), "{text}: {err}");
        }
    }

    #[test]
    fn serve_section_and_websub_hub() {
        let c = load(MINIMAL).unwrap();
        assert_eq!(c.serve.addr.to_string(), "127.0.0.1:8080");
        assert_eq!(c.serve.max_age, Duration::from_secs(300));
        assert!(c.publish.websub_hub.is_none());
        let c = load(&format!("{MINIMAL}websub_hub = \"https://hub.example/\"\n[serve]\naddr = \"0.0.0.0:9000\"\nmax_age = \"1h 30m\"\n"))
            .unwrap();
        assert_eq!(c.serve.addr.port(), 9000);
        assert_eq!(c.serve.max_age, Duration::from_secs(5400));
        assert_eq!(c.publish.websub_hub.unwrap().as_str(), "https://hub.example/");
        let err = load(&format!("{MINIMAL}[serve]\nmaxage = \"5m\"\n")).unwrap_err().to_string();
        assert!(err.contains("maxage"), "{err}");
        let err = load(&format!("{MINIMAL}[serve]\nmax_age = \"soon\"\n")).unwrap_err().to_string();
        assert!(err.contains("max_age"), "{err}");
        let err = load(&format!("{MINIMAL}websub_hub = \"ftp://hub.example/\"\n")).unwrap_err().to_string();
        assert!(err.contains("publish.websub_hub"), "{err}");
    }

    #[test]
    fn environment_variables_fill_strings_anywhere() {
        let env = |name: &str| match name {
            "TOKEN" => Some("s3cret \"quoted\"\nline".to_owned()),
            "HOST" => Some("feeds.example.org".to_owned()),
            "EMPTY" => Some(String::new()),
            _ => None,
        };
        let text = format!(
            "{MINIMAL}author = \"${{EMPTY}}Desk\" # kept comment\n\
             [serve]\ntokens = [\"${{TOKEN}}\", \"plain\", \"$${{NOT_A_VAR}}\"]\n\
             [[sources]]\nname = \"s\"\nurl = \"https://${{HOST}}/feed?k=${{TOKEN}}\"\n\
             headers = {{ Authorization = \"Bearer ${{TOKEN}}\" }}\n"
        );
        let c = Config::from_toml_with_env(&text, Path::new("/etc/wf/wirefeed.toml"), &env).unwrap();
        assert_eq!(c.serve.tokens, ["s3cret \"quoted\"\nline", "plain", "${NOT_A_VAR}"]);
        assert_eq!(c.sources[0].url, "https://feeds.example.org/feed?k=s3cret \"quoted\"\nline");
        assert_eq!(c.sources[0].headers["Authorization"], "Bearer s3cret \"quoted\"\nline");
        assert_eq!(c.publish.author.as_deref(), Some("Desk"));
    }

    #[test]
    fn a_missing_or_malformed_variable_names_itself_and_the_key() {
        let env = |_: &str| None;
        for (extra, key, says) in [
            (
                "[[sources]]\nname = \"s\"\nurl = \"http://e.com/\"\nheaders = { X-Key = \"${API_KEY}\" }\n",
                "sources[0].headers.X-Key",
                "API_KEY",
            ),
            ("[serve]\ntokens = [\"ok\", \"${FEED_TOKEN}\"]\n", "serve.tokens[1]", "FEED_TOKEN"),
            ("[serve]\ntokens = [\"${FEED_TOKEN\"]\n", "serve.tokens[0]", "closing"),
            ("[serve]\ntokens = [\"${BAD-NAME}\"]\n", "serve.tokens[0]", "BAD-NAME"),
        ] {
            let err = Config::from_toml_with_env(&format!("{MINIMAL}{extra}"), Path::new("/etc/wf/wirefeed.toml"), &env).unwrap_err();
            let text = err.to_string();
            assert!(text.contains(key) && text.contains(says) && text.contains("/etc/wf/wirefeed.toml"), "{extra}: {text}");
        }
    }

    #[test]
    fn duplicate_topic_slug_is_refused() {
        let t = "[[topics]]\nslug = \"a\"\ntitle = \"A\"\n";
        let err = load(&format!("{MINIMAL}{t}{t}")).unwrap_err().to_string();
        assert!(err.contains("used twice"), "{err}");
    }
}
