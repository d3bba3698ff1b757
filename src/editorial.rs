//! `wirefeed hide`, `unhide` and `hidden`: takedowns, which work while a
//! `run` holds the store (see `wirefeed::store::takedowns`).

use anyhow::Context;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use wirefeed::config::Config;
use wirefeed::store::takedowns::{Editor, Takedown};

fn open(config: &Config) -> anyhow::Result<Editor> {
    let path = &config.store.path;
    if !path.exists() {
        anyhow::bail!("{}: no store yet; run `wirefeed build` first", path.display());
    }
    Editor::open(path).map_err(Into::into)
}

fn describe(t: &Takedown) -> String {
    let what = t.title.as_deref().map_or_else(|| t.key.clone(), |title| format!("{title:?} ({})", t.key));
    match &t.link {
        Some(link) if t.title.is_some() => format!("{what} <{link}>"),
        _ => what,
    }
}

pub fn hide(config_path: &Path, target: &str, reason: Option<&str>) -> anyhow::Result<ExitCode> {
    let config = Config::load(config_path)?;
    let t = open(&config)?.hide(target, reason, chrono::Utc::now()).context("hide")?;
    let when = if t.id.is_some() { "at the next publish" } else { "(not stored yet: it stays out when it arrives)" };
    eprintln!("hidden {when}: {}", describe(&t));
    Ok(ExitCode::SUCCESS)
}

pub fn unhide(config_path: &Path, target: &str) -> anyhow::Result<ExitCode> {
    let config = Config::load(config_path)?;
    for t in open(&config)?.unhide(target).context("unhide")? {
        eprintln!("back at the next publish: {}", describe(&t));
    }
    Ok(ExitCode::SUCCESS)
}

pub fn hidden(config_path: &Path) -> anyhow::Result<ExitCode> {
    let config = Config::load(config_path)?;
    let list = open(&config)?.list().context("reading takedowns")?;
    let mut out = std::io::stdout().lock();
    for t in list {
        writeln!(
            out,
            "{}  {}  {}",
            t.hidden_at.format("%Y-%m-%d %H:%M:%S"),
            describe(&t),
            t.reason.as_deref().map_or_else(String::new, |r| format!("reason: {r}"))
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
