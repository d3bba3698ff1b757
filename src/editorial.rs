//! `wirefeed hide`, `unhide` and `hidden`: takedowns, which work while a
//! `run` holds the store (see `wirefeed::store::takedowns`).

use anyhow::Context;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use wirefeed::config::Config;
use wirefeed::store::takedowns::{Editor, Takedown};

fn open(config: &Config) -> anyhow::Result<Editor> {
    Editor::open_location(&crate::report::existing_store(config)?).map_err(Into::into)
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
    let reader = wirefeed::store::Reader::open_location(&crate::report::existing_store(&config)?)?;
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
        let absorbed: Vec<serde_json::Value> = reader
            .absorbed(&s.id, 20)?
            .into_iter()
            .map(|r| serde_json::json!({"id": r.decision.id, "source": r.source, "title": r.decision.title, "decided": r.decided.to_rfc3339()}))
            .collect();
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
            "file": f.file,
            "id_from": id_basis(s, f.file.is_some()),
            "dates_from": dates_basis(&f.stored, f.file.is_some()),
            "sanitizer_removed": s.sanitized,
            "absorbed": absorbed,
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

/// How a stored story's id was derived (recomputed: the rules of
/// `model::id` are fixed, so the id says which one made it).
fn id_basis(s: &wirefeed::model::Story, own: bool) -> String {
    use wirefeed::model::id::{IdBasis, story_id};
    if s.link.as_deref().is_some_and(|l| story_id(IdBasis::Link(l)) == s.id) {
        return "from its canonical link (the entry had no id of its own)".to_owned();
    }
    if story_id(IdBasis::Title { source: &s.source, title: &s.title }) == s.id {
        return "from its source and title (the entry had neither an id nor a link)".to_owned();
    }
    match own {
        true => "from its front-matter `id`, or its file's path (kept across edits of the text)".to_owned(),
        false => "from the id its feed gave it (RSS guid, Atom id, JSON Feed id), scoped to its source".to_owned(),
    }
}

/// Where a stored story's dates came from.
fn dates_basis(stored: &wirefeed::store::StoredStory, own: bool) -> String {
    let s = &stored.story;
    let published = match (own, s.published == stored.first_seen) {
        (true, _) => "published: its front-matter `date` (the file's time when it has none)",
        (false, true) => "published: when it was first seen (its entry had no date)",
        (false, false) => "published: its entry's own date",
    };
    let updated = match s.updated {
        None => "never updated",
        Some(_) if own => "updated: its front-matter `updated`, or when an edit was first seen",
        Some(_) => "updated: its entry's updated date, or when an edit was first seen",
    };
    format!("{published}; {updated}")
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
    if let Some(file) = r["file"].as_str() {
        writeln!(out, "  file:       {file}")?;
    }
    writeln!(out, "  id from:    {}", text(&r["id_from"]))?;
    writeln!(out, "  published:  {}   updated: {}   first seen: {}", text(&r["published"]), text(&r["updated"]), text(&r["first_seen"]))?;
    writeln!(out, "  dates:      {}", text(&r["dates_from"]))?;
    match r["sanitizer_removed"].as_str() {
        Some(removed) => writeln!(out, "  normalized: sanitizer removed {removed}")?,
        None => writeln!(out, "  normalized: sanitizer removed nothing")?,
    }
    for copy in r["absorbed"].as_array().into_iter().flatten() {
        writeln!(out, "  absorbed:   {} from {} (a duplicate, left out)", text(&copy["id"]), text(&copy["source"]))?;
    }
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
