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

/// `wirefeed explain`: for each story found, why it is (or is not) in each
/// topic and where it ranks in each channel.
pub fn explain(config_path: &Path, needle: &str, as_json: bool) -> anyhow::Result<ExitCode> {
    use wirefeed::topics::{TopicRules, Verdict};
    let config = Config::load(config_path)?;
    let path = &config.store.path;
    if !path.exists() {
        anyhow::bail!("{}: no store yet; run `wirefeed build` first", path.display());
    }
    let reader = wirefeed::store::Reader::open(path)?;
    let found = reader.find_stories(needle, 20).context("searching the store")?;
    let decided = reader.find_decisions(needle, 20).context("searching the store's decision records")?;
    if found.is_empty() && decided.is_empty() {
        anyhow::bail!(
            "no stored story, and no entry left out in the last {} days, has the id, link or title words {needle:?}",
            config.store.keep_days
        );
    }
    let rules = TopicRules::from_config(&config);
    let limits = wirefeed::build::retention(&config);
    let now = chrono::Utc::now();
    let mut reports = Vec::new();
    for f in &found {
        let s = &f.stored.story;
        let canonical = s.link.as_deref().map(wirefeed::model::id::canonical_link);
        let hidden = reader.takedown_for(&s.id, canonical.as_deref())?;
        let topics: Vec<serde_json::Value> = rules
            .explain(s)
            .into_iter()
            .map(|(slug, verdict)| match verdict {
                Verdict::In(why) => serde_json::json!({"topic": slug, "in": true, "why": why}),
                Verdict::Out(why) => serde_json::json!({"topic": slug, "in": false, "why": [why]}),
            })
            .collect();
        let mut channels = Vec::new();
        let all = std::iter::once(None).chain(config.topics.iter().map(|t| Some(t.slug.as_str())));
        for topic in all {
            let shows = limits.limit(topic);
            let rank = reader.rank(f.pk, topic, &limits.merged)?;
            let why = match (rank, topic) {
                (Some(r), _) if r <= shows => format!("rank {r} of the {shows} it shows"),
                (Some(r), _) => format!("not shown: rank {r}, channel shows {shows}"),
                (None, _) if hidden.is_some() => "not shown: taken down".to_owned(),
                (None, Some(_)) => "not in this topic".to_owned(),
                (None, None) if limits.merged.left_out.contains(&s.source) => "not shown: its source has in_all = false".to_owned(),
                (None, None) => {
                    format!("not shown: past its source's all_limit ({})", limits.merged.caps.get(&s.source).copied().unwrap_or(0))
                }
            };
            let name = topic.map_or_else(|| "all".to_owned(), |t| format!("topics/{t}"));
            channels.push(
                serde_json::json!({"channel": name, "rank": rank, "shows": shows, "shown": rank.is_some_and(|r| r <= shows), "why": why}),
            );
        }
        let filters = match rules.admit(s, now) {
            Ok(()) => "passes its source's filters".to_owned(),
            Err(why) => format!("stored earlier; its source's filters would drop it now: {why}"),
        };
        reports.push(serde_json::json!({
            "id": s.id,
            "title": s.title,
            "source": s.source,
            "stored": true,
            "feed_url": s.origin.as_ref().and_then(|o| o.feed_url.clone()),
            "link": s.link,
            "published": s.published.to_rfc3339(),
            "updated": s.updated.map(|u| u.to_rfc3339()),
            "first_seen": f.stored.first_seen.to_rfc3339(),
            "stored_topics": s.topics,
            "hidden": hidden.as_ref().map(|t| serde_json::json!({"since": t.hidden_at.to_rfc3339(), "reason": t.reason})),
            "source_filters": filters,
            "topics": topics,
            "channels": channels,
        }));
    }
    // Entries not stored: filtered, a duplicate (of a story above, when
    // the needle was its id or link), too old, held, expired.
    for r in &decided {
        let d = &r.decision;
        reports.push(serde_json::json!({
            "id": d.id,
            "title": d.title,
            "source": r.source,
            "link": d.link,
            "stored": false,
            "not_stored": d.reason,
            "decided": r.decided.to_rfc3339(),
        }));
    }
    let mut out = std::io::stdout().lock();
    if as_json {
        writeln!(out, "{}", serde_json::to_string_pretty(&reports)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    for r in &reports {
        print_report(&mut out, r)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn print_report(out: &mut impl Write, r: &serde_json::Value) -> std::io::Result<()> {
    let text = |v: &serde_json::Value| v.as_str().map_or_else(|| "-".to_owned(), str::to_owned);
    writeln!(out, "{}", text(&r["title"]))?;
    if r["stored"] == false {
        writeln!(out, "  id:         {}", text(&r["id"]))?;
        writeln!(out, "  source:     {}", text(&r["source"]))?;
        writeln!(out, "  link:       {}", text(&r["link"]))?;
        writeln!(out, "  not stored: {}", text(&r["not_stored"]))?;
        writeln!(out, "  decided:    {}", text(&r["decided"]))?;
        return writeln!(out);
    }
    writeln!(out, "  id:         {}", text(&r["id"]))?;
    let feed = r["feed_url"].as_str().map_or_else(String::new, |u| format!(" ({u})"));
    writeln!(out, "  source:     {}{feed}", text(&r["source"]))?;
    writeln!(out, "  link:       {}", text(&r["link"]))?;
    writeln!(out, "  published:  {}   updated: {}   first seen: {}", text(&r["published"]), text(&r["updated"]), text(&r["first_seen"]))?;
    match &r["hidden"] {
        serde_json::Value::Null => writeln!(out, "  hidden:     no")?,
        h => writeln!(out, "  hidden:     since {} ({})", text(&h["since"]), h["reason"].as_str().unwrap_or("no reason given"))?,
    }
    writeln!(out, "  filters:    {}", text(&r["source_filters"]))?;
    writeln!(out, "  topics:")?;
    for t in r["topics"].as_array().into_iter().flatten() {
        let why: Vec<String> = t["why"].as_array().into_iter().flatten().map(text).collect();
        let verdict = if t["in"].as_bool() == Some(true) { "in " } else { "out" };
        writeln!(out, "    {verdict} {:<20} {}", text(&t["topic"]), why.join("; "))?;
    }
    writeln!(out, "  channels:")?;
    for c in r["channels"].as_array().into_iter().flatten() {
        writeln!(out, "    {:<24} {}", text(&c["channel"]), text(&c["why"]))?;
    }
    writeln!(out)
}
