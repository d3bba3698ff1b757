//! `wirefeed sources` and `wirefeed stories`: what the store holds, read
//! without taking the writer's lock (they work while a `run` is going).

use anyhow::Context;
use chrono::{DateTime, Utc};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use wirefeed::config::Config;
use wirefeed::store::{Location, Reader};

/// The store of `config`; a SQLite file must exist already.
pub fn existing_store(config: &Config) -> anyhow::Result<Location> {
    let location = Location::of(config);
    if let Location::Sqlite(path) = &location
        && !path.exists()
    {
        anyhow::bail!("{}: no store yet; run `wirefeed build` first", path.display());
    }
    Ok(location)
}

fn open(config: &Config) -> anyhow::Result<Reader> {
    Reader::open_location(&existing_store(config)?).map_err(Into::into)
}

fn when(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(|| "-".to_owned(), |t| t.format("%Y-%m-%d %H:%M:%S").to_string())
}

/// Cuts a cell to `n` characters, marking the cut.
fn cell(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        None => s.to_owned(),
        Some((i, _)) => format!("{}…", &s[..s.char_indices().nth(n - 1).map_or(i, |(j, _)| j)]),
    }
}

/// One configured input as `wirefeed sources` lists it.
struct Row<'a> {
    /// The `[[sources]] name`, or the `[[stories]] source` name of a folder.
    name: &'a str,
    kind: &'static str,
    summary: Option<&'a wirefeed::store::SourceSummary>,
}

fn rows<'a>(config: &'a Config, summaries: &'a [wirefeed::store::SourceSummary]) -> Vec<Row<'a>> {
    let find = |key: &str| summaries.iter().find(|s| s.name == key);
    let folders = config.stories.iter().map(|e| Row {
        name: &e.source,
        kind: "files",
        summary: find(&wirefeed::build::files_source_name(config, e)),
    });
    folders.chain(config.sources.iter().map(|s| Row { name: &s.name, kind: "feed", summary: find(&s.name) })).collect()
}

/// The URL a source is read from now (after moves and discovery).
fn current_url(st: &wirefeed::store::SourceState) -> &str {
    st.moved_to.as_deref().or(st.discovered.as_deref()).unwrap_or(&st.url)
}

fn rfc3339(t: Option<DateTime<Utc>>) -> serde_json::Value {
    t.map_or(serde_json::Value::Null, |t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true).into())
}

/// `wirefeed sources`: a table for people (URLs cut to fit a terminal,
/// whole when piped), or with `json` one object per line for scripts.
pub fn sources(config_path: &Path, json: bool) -> anyhow::Result<ExitCode> {
    use std::io::IsTerminal;
    let config = Config::load(config_path)?;
    let reader = open(&config)?;
    let summaries = reader.source_summaries().context("reading sources")?;
    let mut out = std::io::stdout().lock();
    let terminal = std::io::stdout().is_terminal();
    if !json {
        writeln!(
            out,
            "{:<24} {:<40} {:<13} {:<19} {:<19} {:>7}  LAST ERROR",
            "NAME", "URL", "STATUS", "LAST FETCH", "NEXT FETCH", "STORIES"
        )?;
    }
    for row in rows(&config, &summaries) {
        let Some(s) = row.summary else {
            match json {
                true => writeln!(out, "{}", serde_json::json!({"name": row.name, "kind": row.kind, "status": "not fetched yet"}))?,
                false => writeln!(out, "{:<24} (not fetched yet)", cell(row.name, 24))?,
            }
            continue;
        };
        let st = &s.state;
        let status = st.disabled.as_ref().map_or(st.last_status.as_deref().unwrap_or("-"), |_| "disabled");
        let error = st.disabled.as_deref().or(st.last_error.as_deref());
        if json {
            let line = serde_json::json!({
                "name": row.name,
                "kind": row.kind,
                "url": current_url(st),
                "status": status,
                "last_fetch": rfc3339(st.last_fetch),
                "last_success": rfc3339(st.last_success),
                "next_fetch": rfc3339(st.next_fetch.or(st.retry_until)),
                "consecutive_errors": st.consecutive_errors,
                "stories": s.stories,
                "last_error": error,
                "notes": st.last_notes,
            });
            writeln!(out, "{line}")?;
            continue;
        }
        let url = if terminal { cell(current_url(st), 40) } else { current_url(st).to_owned() };
        writeln!(
            out,
            "{:<24} {:<40} {:<13} {:<19} {:<19} {:>7}  {}",
            cell(row.name, 24),
            url,
            status,
            when(st.last_fetch),
            when(st.next_fetch.or(st.retry_until)),
            s.stories,
            error.unwrap_or("")
        )?;
        // What the parser's caps cut from the last body, under the row.
        if let Some(notes) = &st.last_notes {
            writeln!(out, "{:<24} note: {notes}", "")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `wirefeed stories`: the newest stories of a channel, a line each, or
/// with `json` the whole story (the model's shape) one per line.
pub fn stories(config_path: &Path, topic: Option<&str>, limit: usize, json: bool) -> anyhow::Result<ExitCode> {
    let config = Config::load(config_path)?;
    if let Some(t) = topic.filter(|t| !config.topics.iter().any(|c| c.slug == *t)) {
        let known: Vec<&str> = config.topics.iter().map(|c| c.slug.as_str()).collect();
        anyhow::bail!("no topic {t:?} in {} (topics: {})", config.path.display(), known.join(", "));
    }
    let reader = open(&config)?;
    let mut out = std::io::stdout().lock();
    for s in reader.channel(topic, limit).context("reading stories")? {
        let story = &s.story;
        if json {
            serde_json::to_writer(&mut out, story)?;
            writeln!(out)?;
            continue;
        }
        writeln!(
            out,
            "{}  {:<20} {}  {}",
            story.published.format("%Y-%m-%d %H:%M"),
            cell(&story.source, 20),
            story.title,
            story.link.as_deref().unwrap_or(&story.id)
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
