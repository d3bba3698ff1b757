//! `wirefeed sources` and `wirefeed stories`: what the store holds, read
//! without taking the writer's lock (they work while a `run` is going).

use anyhow::Context;
use chrono::{DateTime, Utc};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use wirefeed::config::Config;
use wirefeed::store::Reader;

fn open(config: &Config) -> anyhow::Result<Reader> {
    let path = &config.store.path;
    if !path.exists() {
        anyhow::bail!("{}: no store yet; run `wirefeed build` first", path.display());
    }
    Reader::open(path).map_err(Into::into)
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

pub fn sources(config_path: &Path) -> anyhow::Result<ExitCode> {
    let config = Config::load(config_path)?;
    let reader = open(&config)?;
    let summaries = reader.source_summaries().context("reading sources")?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{:<24} {:<40} {:<13} {:<19} {:<19} {:>7}  LAST ERROR", "NAME", "URL", "STATUS", "LAST FETCH", "NEXT FETCH", "STORIES")?;
    let configured =
        config.stories.iter().map(|e| wirefeed::build::files_source_name(&config, e)).chain(config.sources.iter().map(|s| s.name.clone()));
    for name in configured {
        let Some(s) = summaries.iter().find(|s| s.name == name) else {
            writeln!(out, "{:<24} (not fetched yet)", cell(&name, 24))?;
            continue;
        };
        let st = &s.state;
        let url = st.moved_to.as_deref().or(st.discovered.as_deref()).unwrap_or(&st.url);
        let status = st.disabled.as_ref().map_or(st.last_status.as_deref().unwrap_or("-"), |_| "disabled");
        writeln!(
            out,
            "{:<24} {:<40} {:<13} {:<19} {:<19} {:>7}  {}",
            cell(&s.name, 24),
            cell(url, 40),
            status,
            when(st.last_fetch),
            when(st.next_fetch.or(st.retry_until)),
            s.stories,
            st.disabled.as_deref().or(st.last_error.as_deref()).unwrap_or("")
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

pub fn stories(config_path: &Path, topic: Option<&str>, limit: usize) -> anyhow::Result<ExitCode> {
    let config = Config::load(config_path)?;
    if let Some(t) = topic.filter(|t| !config.topics.iter().any(|c| c.slug == *t)) {
        let known: Vec<&str> = config.topics.iter().map(|c| c.slug.as_str()).collect();
        anyhow::bail!("no topic {t:?} in {} (topics: {})", config.path.display(), known.join(", "));
    }
    let reader = open(&config)?;
    let mut out = std::io::stdout().lock();
    for s in reader.channel(topic, limit).context("reading stories")? {
        let story = &s.story;
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
