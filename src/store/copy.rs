//! `wirefeed store copy`: a whole store from one backend to another (or
//! the same), every table and every column as stored: row keys, ids,
//! dates, tombstones, source HTTP state, channel digests, decisions,
//! takedowns, requests, runs and meta.
//!
//! Both backends keep the same tables and column names for what is copied
//! (PostgreSQL's schema V5 is SQLite's V9; the fleet's own tables and
//! columns are not copied), so a row is copied as its values: integers,
//! text and NULL (SQLite's 0/1 flags become PostgreSQL booleans and
//! back). The source is read whole first, then written in one destination
//! transaction: a failed copy leaves the destination as it was. (So the
//! store must fit in memory; a newsroom's does, many times over.)
//!
//! Checked at the end by counting each table's rows on both sides and
//! comparing a digest of their values (a sum of per-row xxh3 hashes, so
//! row order, which collations may change, does not matter).

use postgres::types::{ToSql, Type};
use std::time::Duration;
use xxhash_rust::xxh3::Xxh3;

use super::pg::PgStore;
use super::{Location, SqliteStore, Store, StoreError};

/// One table: its name and every column, in the order copied.
struct Table {
    name: &'static str,
    columns: &'static [&'static str],
}

/// Every table of both schemas, parents before children (foreign keys).
const TABLES: &[Table] = &[
    Table {
        name: "sources",
        columns: &[
            "pk",
            "name",
            "kind",
            "url",
            "etag",
            "last_modified",
            "last_fetch",
            "last_status",
            "last_error",
            "retry_until",
            "consecutive_errors",
            "moved_to",
            "discovered",
            "disabled",
            "next_fetch",
            "last_success",
            "hint_ttl",
            "hint_period",
            "skip_hours",
            "skip_days",
            "scope",
            "last_notes",
            "body_hash",
            "body_read",
        ],
    },
    Table {
        name: "stories",
        columns: &[
            "pk",
            "id",
            "source",
            "hash",
            "canonical",
            "title",
            "summary",
            "content",
            "image_url",
            "image_caption",
            "image_credit",
            "authors",
            "categories",
            "topics",
            "published",
            "updated",
            "link",
            "source_name",
            "first_seen",
            "last_seen",
            "attachments",
            "origin",
            "file",
            "sanitized",
        ],
    },
    Table { name: "story_topics", columns: &["topic", "published", "story"] },
    Table { name: "tombstones", columns: &["id", "source", "hash", "removed", "link_hash"] },
    Table { name: "channels", columns: &["path", "digest"] },
    Table { name: "meta", columns: &["key", "value"] },
    Table { name: "runs", columns: &["pk", "started", "finished", "ok", "summary"] },
    Table { name: "requests", columns: &["pk", "sources", "asked", "taken", "answered", "answer"] },
    Table { name: "takedowns", columns: &["key", "id", "link", "title", "reason", "hidden_at"] },
    Table { name: "decisions", columns: &["source", "id", "link", "title", "reason", "decided"] },
];

/// Tables whose `pk` is an identity on PostgreSQL (its next value is set
/// past the copied keys).
const IDENTITY: &[&str] = &["sources", "stories", "runs", "requests"];

/// A stored value, as both backends hold it.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Null,
    Int(i64),
    Text(String),
}

type Rows = Vec<Vec<Value>>;

/// What a copy did: rows per table, and the digest both sides agree on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyReport {
    pub tables: Vec<(String, u64)>,
    pub digest: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}: the destination already holds a store ({1} rows in {2}); give --replace to overwrite it")]
    NotEmpty(String, u64, &'static str),
    #[error("{0}: no such store")]
    NoSource(String),
    #[error("{0}: the source and the destination are the same store")]
    Same(String),
    #[error("the copy does not match its source: {0}")]
    Mismatch(String),
}

/// Copies the store at `from` to `to` (created or migrated as needed;
/// it must hold no rows unless `replace`), then checks counts and digest.
pub fn copy(from: &Location, to: &Location, replace: bool, lock_wait: Duration) -> Result<CopyReport, CopyError> {
    if from == to {
        return Err(CopyError::Same(to.to_string()));
    }
    if let Location::Sqlite(path) = from
        && !path.exists()
    {
        return Err(CopyError::NoSource(from.to_string()));
    }
    let source = Store::open_location(from, lock_wait)?;
    let mut dest = Store::open_location(to, lock_wait)?;
    let mut data = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        data.push(read(&source, table)?);
    }
    if !replace {
        for table in TABLES {
            let n = count(&dest, table)?;
            if n > 0 {
                return Err(CopyError::NotEmpty(to.to_string(), n, table.name));
            }
        }
    }
    write(&mut dest, &data)?;
    let (want, got) = (summary(&source)?, summary(&dest)?);
    if want != got {
        return Err(CopyError::Mismatch(format!("source {want:?}, destination {got:?}")));
    }
    Ok(want)
}

/// Row counts per table and the digest of every value in the store.
fn summary(store: &Store) -> Result<CopyReport, StoreError> {
    let mut tables = Vec::with_capacity(TABLES.len());
    let mut digest = 0u64;
    for table in TABLES {
        let rows = read(store, table)?;
        tables.push((table.name.to_owned(), rows.len() as u64));
        for row in &rows {
            digest = digest.wrapping_add(row_hash(table.name, row));
        }
    }
    Ok(CopyReport { tables, digest })
}

fn row_hash(table: &str, row: &[Value]) -> u64 {
    let mut h = Xxh3::new();
    h.update(table.as_bytes());
    for v in row {
        match v {
            Value::Null => h.update(&[0]),
            Value::Int(i) => {
                h.update(&[1]);
                h.update(&i.to_le_bytes());
            }
            Value::Text(t) => {
                h.update(&[2]);
                h.update(&(t.len() as u64).to_le_bytes());
                h.update(t.as_bytes());
            }
        }
    }
    h.digest()
}

fn count(store: &Store, table: &Table) -> Result<u64, StoreError> {
    let sql = format!("SELECT count(*) FROM {}", table.name);
    match store {
        Store::Sqlite(s) => s.conn.query_row(&sql, [], |r| r.get::<_, i64>(0)).map(|n| n as u64).map_err(s.err()),
        Store::Postgres(s) => s.db.run(move |c| Ok(c.query_one(&sql, &[])?.get::<_, i64>(0) as u64)),
    }
}

fn read(store: &Store, table: &Table) -> Result<Rows, StoreError> {
    let sql = format!("SELECT {} FROM {}", table.columns.join(", "), table.name);
    match store {
        Store::Sqlite(s) => read_sqlite(s, &sql, table.columns.len()),
        Store::Postgres(s) => read_pg(s, &sql),
    }
}

fn read_sqlite(s: &SqliteStore, sql: &str, width: usize) -> Result<Rows, StoreError> {
    use rusqlite::types::ValueRef;
    let mut stmt = s.conn.prepare(sql).map_err(s.err())?;
    let mut rows = stmt.query([]).map_err(s.err())?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(s.err())? {
        let mut values = Vec::with_capacity(width);
        for i in 0..width {
            values.push(match row.get_ref(i).map_err(s.err())? {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(n) => Value::Int(n),
                // No column of the schema holds reals or blobs; were one
                // there, its text form is what is kept.
                ValueRef::Real(f) => Value::Text(f.to_string()),
                ValueRef::Text(t) | ValueRef::Blob(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
            });
        }
        out.push(values);
    }
    Ok(out)
}

fn read_pg(s: &PgStore, sql: &str) -> Result<Rows, StoreError> {
    s.db.run(|c| {
        let rows = c.query(sql, &[])?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut values = Vec::with_capacity(row.len());
            for (i, column) in row.columns().iter().enumerate() {
                let t = column.type_();
                values.push(if *t == Type::BOOL {
                    row.get::<_, Option<bool>>(i).map_or(Value::Null, |b| Value::Int(b as i64))
                } else if *t == Type::INT4 {
                    row.get::<_, Option<i32>>(i).map_or(Value::Null, |n| Value::Int(n.into()))
                } else if *t == Type::INT8 {
                    row.get::<_, Option<i64>>(i).map_or(Value::Null, Value::Int)
                } else {
                    row.get::<_, Option<String>>(i).map_or(Value::Null, Value::Text)
                });
            }
            out.push(values);
        }
        Ok(out)
    })
}

fn write(dest: &mut Store, data: &[Rows]) -> Result<(), StoreError> {
    match dest {
        Store::Sqlite(s) => write_sqlite(s, data),
        Store::Postgres(s) => write_pg(s, data),
    }
}

fn insert_sql(table: &Table, placeholder: impl Fn(usize) -> String) -> String {
    let marks: Vec<String> = (1..=table.columns.len()).map(placeholder).collect();
    format!("INSERT INTO {}({}) VALUES ({})", table.name, table.columns.join(", "), marks.join(", "))
}

fn write_sqlite(s: &mut SqliteStore, data: &[Rows]) -> Result<(), StoreError> {
    use rusqlite::types::Value as V;
    let path = s.path.clone();
    let err = |e| StoreError::from_sqlite(&path, e);
    let tx = s.conn.transaction().map_err(err)?;
    for table in TABLES.iter().rev() {
        tx.execute(&format!("DELETE FROM {}", table.name), []).map_err(err)?;
    }
    for (table, rows) in TABLES.iter().zip(data) {
        let mut stmt = tx.prepare(&insert_sql(table, |i| format!("?{i}"))).map_err(err)?;
        for row in rows {
            let values = row.iter().map(|v| match v {
                Value::Null => V::Null,
                Value::Int(n) => V::Integer(*n),
                Value::Text(t) => V::Text(t.clone()),
            });
            stmt.execute(rusqlite::params_from_iter(values)).map_err(err)?;
        }
    }
    tx.commit().map_err(err)?;
    // Its retention bookkeeping described the store before.
    s.prune_mark = None;
    Ok(())
}

/// A value as the PostgreSQL column of type `t` takes it.
fn pg_value(v: &Value, t: &Type) -> Box<dyn ToSql + Sync> {
    match v {
        Value::Null if *t == Type::BOOL => Box::new(None::<bool>),
        Value::Null if *t == Type::INT8 => Box::new(None::<i64>),
        Value::Null if *t == Type::INT4 => Box::new(None::<i32>),
        Value::Null => Box::new(None::<String>),
        Value::Int(n) if *t == Type::BOOL => Box::new(*n != 0),
        Value::Int(n) if *t == Type::INT4 => Box::new(*n as i32),
        Value::Int(n) if *t == Type::TEXT => Box::new(n.to_string()),
        Value::Int(n) => Box::new(*n),
        Value::Text(s) => Box::new(s.clone()),
    }
}

fn write_pg(s: &mut PgStore, data: &[Rows]) -> Result<(), StoreError> {
    s.db.run(|c| {
        let mut tx = c.transaction()?;
        let names: Vec<&str> = TABLES.iter().map(|t| t.name).collect();
        tx.batch_execute(&format!("TRUNCATE {}", names.join(", ")))?;
        for (table, rows) in TABLES.iter().zip(data) {
            let stmt = tx.prepare(&insert_sql(table, |i| format!("${i}")))?;
            let types = stmt.params().to_vec();
            for row in rows {
                let values: Vec<Box<dyn ToSql + Sync>> = row.iter().zip(&types).map(|(v, t)| pg_value(v, t)).collect();
                let refs: Vec<&(dyn ToSql + Sync)> = values.iter().map(|b| b.as_ref()).collect();
                tx.execute(&stmt, &refs)?;
            }
        }
        for table in IDENTITY {
            tx.batch_execute(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'pk'), coalesce((SELECT max(pk) FROM {table}), 0) + 1, false)"
            ))?;
        }
        tx.commit()
    })?;
    s.prune_mark = None;
    Ok(())
}
