//! The store's schema and its forward migrations.
//!
//! The schema version is SQLite's `user_version`; `application_id` marks
//! the file as a wirefeed store, so another program's database is refused
//! instead of being "migrated". Migrations only ever go forward, each in
//! the same transaction as the version bump, so a crash mid-migration
//! leaves the previous version whole.

use rusqlite::{Connection, TransactionBehavior};

/// "wfd1" as a big-endian integer: `PRAGMA application_id` of every store.
pub const APPLICATION_ID: i32 = 0x7766_6431;

/// Each entry takes the schema from version `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[V1, V2, V3, V4, V5, V6, V7, V8, V9];

/// The schema version this wirefeed writes.
pub const LATEST: u32 = MIGRATIONS.len() as u32;

/// Version 1: sources, stories, topics and tombstones.
const V1: &str = "
CREATE TABLE sources (
    pk INTEGER PRIMARY KEY,
    -- The config's name: [[sources]] name, or files:<path> for [[stories]].
    name TEXT NOT NULL UNIQUE,
    -- 'feed' or 'files'.
    kind TEXT NOT NULL,
    url TEXT NOT NULL,
    etag TEXT,
    last_modified TEXT,
    last_fetch INTEGER,
    last_status TEXT,
    last_error TEXT,
    retry_until INTEGER,
    consecutive_errors INTEGER NOT NULL DEFAULT 0,
    moved_to TEXT,
    discovered TEXT,
    disabled TEXT
);

CREATE TABLE stories (
    pk INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    source INTEGER NOT NULL REFERENCES sources(pk) ON DELETE CASCADE,
    -- xxh3 of the entry as the source gave it: equal means unchanged.
    hash INTEGER NOT NULL,
    -- Canonical link: one story per link across sources.
    canonical TEXT,
    title TEXT NOT NULL,
    summary TEXT,
    content TEXT NOT NULL,
    image_url TEXT,
    image_caption TEXT,
    image_credit TEXT,
    authors TEXT NOT NULL,
    categories TEXT NOT NULL,
    topics TEXT NOT NULL,
    published INTEGER NOT NULL,
    updated INTEGER,
    link TEXT,
    source_name TEXT NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL
);
CREATE UNIQUE INDEX stories_by_link ON stories(canonical) WHERE canonical IS NOT NULL;
CREATE INDEX stories_by_date ON stories(published DESC, pk);
CREATE INDEX stories_by_source ON stories(source, hash);

-- Topic channels read through this table: newest first per topic.
CREATE TABLE story_topics (
    topic TEXT NOT NULL,
    published INTEGER NOT NULL,
    story INTEGER NOT NULL REFERENCES stories(pk) ON DELETE CASCADE,
    PRIMARY KEY (topic, published DESC, story)
) WITHOUT ROWID;
CREATE INDEX story_topics_by_story ON story_topics(story);

-- Ids let go by retention: a story that comes back is not new again.
-- `removed` is refreshed while the source still carries the entry, and
-- (source, hash) lets the fetch skip such entries without normalizing.
CREATE TABLE tombstones (
    id TEXT PRIMARY KEY,
    source INTEGER,
    hash INTEGER,
    removed INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX tombstones_by_source ON tombstones(source, hash);

-- What each channel last published, to skip rendering unchanged ones.
CREATE TABLE channels (
    path TEXT PRIMARY KEY,
    digest INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
";

/// Version 2: scheduling (`wirefeed run`) and the record of runs.
const V2: &str = "
ALTER TABLE sources ADD COLUMN next_fetch INTEGER;
ALTER TABLE sources ADD COLUMN last_success INTEGER;
-- The feed's own scheduling hints from its last body (a 304 has none):
-- ttl and update period in seconds, skipHours and skipDays as bit sets.
ALTER TABLE sources ADD COLUMN hint_ttl INTEGER;
ALTER TABLE sources ADD COLUMN hint_period INTEGER;
ALTER TABLE sources ADD COLUMN skip_hours INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sources ADD COLUMN skip_days INTEGER NOT NULL DEFAULT 0;
CREATE TABLE runs (
    pk INTEGER PRIMARY KEY,
    started INTEGER NOT NULL,
    finished INTEGER NOT NULL,
    ok INTEGER NOT NULL,
    summary TEXT NOT NULL
);
";

/// Version 3: what a story carries besides its text: attachments
/// (enclosures) and, for external stories, the feed it came from, both as
/// JSON in the model's serde shape; the file a newsroom story was read
/// from (its identity across edits); and each source's id scope, the name
/// its ids were first derived under, kept when the source is renamed.
const V3: &str = "
ALTER TABLE stories ADD COLUMN attachments TEXT NOT NULL DEFAULT '[]';
ALTER TABLE stories ADD COLUMN origin TEXT;
ALTER TABLE stories ADD COLUMN file TEXT;
ALTER TABLE sources ADD COLUMN scope TEXT;
";

/// Version 6: why entries were not stored (filtered, duplicate, too
/// old, held, expired), for `wirefeed explain`; one row per source and
/// entry, replaced when decided again, pruned after `keep_days`.
const V6: &str = "
CREATE TABLE decisions (
    source INTEGER NOT NULL,
    id TEXT NOT NULL,
    link TEXT,
    title TEXT NOT NULL,
    reason TEXT NOT NULL,
    decided INTEGER NOT NULL,
    PRIMARY KEY (source, id)
) WITHOUT ROWID;
CREATE INDEX decisions_by_id ON decisions(id);
CREATE INDEX decisions_by_link ON decisions(link);
CREATE INDEX decisions_by_time ON decisions(decided);
-- What retention let go as it arrived is explained from its tombstone
-- (one row per entry, written anyway), found by id or by the xxh3 of its
-- canonical link (8 bytes, not the link: a cold build writes tens of
-- thousands of tombstones).
ALTER TABLE tombstones ADD COLUMN link_hash INTEGER;
";

/// Version 7: what the sanitizer took out of each story's HTML ("1
/// <iframe>, 2 <script>"; NULL when nothing), for `wirefeed explain`.
const V7: &str = "
ALTER TABLE stories ADD COLUMN sanitized TEXT;
";

/// Version 8: what the parser's caps cut from a source's last body
/// (`wirefeed sources` shows it).
const V8: &str = "
ALTER TABLE sources ADD COLUMN last_notes TEXT;
";

/// Version 9: the fingerprint of a source's last body read in full, and
/// when (`SourceState::body_hash`): an identical body is not read again
/// within the hour.
const V9: &str = "
ALTER TABLE sources ADD COLUMN body_hash INTEGER;
ALTER TABLE sources ADD COLUMN body_read INTEGER;
";

/// Version 5: stories an editor took down (`wirefeed hide`).
/// `key` is the story's id, or the canonical link asked for when no
/// stored story had it; `id` and `link` (canonical) are what channels
/// are filtered by.
const V5: &str = "
CREATE TABLE takedowns (
    key TEXT PRIMARY KEY,
    id TEXT,
    link TEXT,
    title TEXT,
    reason TEXT,
    hidden_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX takedowns_by_id ON takedowns(id);
CREATE INDEX takedowns_by_link ON takedowns(link);
";

/// Version 4: `wirefeed fetch` asking a running `wirefeed run` to fetch
/// sources now (see `store::requests`).
const V4: &str = "
CREATE TABLE requests (
    pk INTEGER PRIMARY KEY,
    -- JSON array of source names; [] asks for every enabled source.
    sources TEXT NOT NULL,
    asked INTEGER NOT NULL,
    -- Set by the run when it starts on the request, then when it is done.
    taken INTEGER,
    answered INTEGER,
    -- JSON array of {source, ok, status}.
    answer TEXT
);
CREATE INDEX requests_waiting ON requests(pk) WHERE taken IS NULL;
";

#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("written by a newer wirefeed (schema version {found}; this one knows up to {LATEST}): upgrade wirefeed")]
    TooNew { found: u32 },
    #[error("made by an older wirefeed (schema version {found}; this one reads {LATEST}): run `wirefeed build` once to migrate it")]
    Old { found: u32 },
    #[error("not a wirefeed store (application id {0:#x})")]
    Foreign(i32),
    /// A PostgreSQL database with no wirefeed tables yet.
    #[error("is empty: `wirefeed run` or `wirefeed build` creates the store")]
    Empty,
    /// A PostgreSQL store at an older version of its own schema.
    #[error(
        "made by an older wirefeed (PostgreSQL schema version {found}; this one reads {}): run `wirefeed build` or `run` once to migrate it",
        crate::store::pg::schema::LATEST
    )]
    OldPostgres { found: u32 },
    /// A PostgreSQL store at a newer version of its own schema.
    #[error(
        "written by a newer wirefeed (PostgreSQL schema version {found}; this one knows up to {}): upgrade wirefeed",
        crate::store::pg::schema::LATEST
    )]
    TooNewPostgres { found: u32 },
    /// A PostgreSQL database with tables but no `wirefeed_schema` record.
    #[error("not a wirefeed store (the database has tables, but no wirefeed_schema table)")]
    ForeignDatabase,
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

/// For processes that open a store another one holds (`wirefeed fetch`,
/// `hide`): they never migrate, so the store must be at this wirefeed's
/// schema exactly.
pub fn require_latest(conn: &Connection) -> Result<(), SchemaError> {
    let version: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    match version {
        LATEST => Ok(()),
        v if v > LATEST => Err(SchemaError::TooNew { found: v }),
        v => Err(SchemaError::Old { found: v }),
    }
}

/// Brings the schema to `target` (normally [`LATEST`]; tests stop earlier).
pub fn migrate(conn: &mut Connection, target: u32) -> Result<(), SchemaError> {
    let app: i32 = conn.pragma_query_value(None, "application_id", |r| r.get(0))?;
    let version: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if app != APPLICATION_ID && (app != 0 || version != 0 || has_tables(conn)?) {
        return Err(SchemaError::Foreign(app));
    }
    if version > LATEST {
        return Err(SchemaError::TooNew { found: version });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().take(target as usize).skip(version as usize) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as u32 + 1)?;
        tx.pragma_update(None, "application_id", APPLICATION_ID)?;
        tx.commit()?;
    }
    Ok(())
}

fn has_tables(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get::<_, i64>(0)).map(|n| n > 0)
}
