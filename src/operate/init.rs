//! `wirefeed init [DIR]`: a project to start from: a commented
//! `wirefeed.toml`, a sample story and an empty `feeds/`. Nothing that
//! exists is overwritten.

use std::path::{Path, PathBuf};

/// The starter config, every line that matters explained.
pub const STARTER_CONFIG: &str = r#"# wirefeed.toml, made by `wirefeed init`. Every key is explained in
# README.md, "Config reference". Relative paths are relative to this file.

[publish]
title = "My Newsroom"
description = "Stories from my newsroom"
# Where the output folder is served: the feeds' links point here.
# `wirefeed serve` listens on 127.0.0.1:8080 by default ([serve] addr).
base_url = "http://127.0.0.1:8080/"
output_dir = "feeds"
max_items = 50                    # stories per channel

# The newsroom's own stories: Markdown (.md) or wire text (.txt) files,
# in this folder and below.
[[stories]]
path = "stories"
source = "Newsroom"

# A channel per topic, besides `all`: stories whose text has a keyword
# (whole words, any case) or whose categories match.
[[topics]]
slug = "local"
title = "Local news"
keywords = ["town hall", "council"]
categories = ["Local"]

# Feeds to aggregate; `wirefeed run` fetches each on its own schedule.
# [[sources]]
# name = "Example Gazette"
# url = "https://gazette.example/feed.xml"
# interval = "30m"
# ${NAME} in any string is read from the environment:
# headers = { Authorization = "Bearer ${GAZETTE_TOKEN}" }

# A channel only some readers may see (HTTP Basic or a bearer token):
# [[topics]]
# slug = "desk"
# title = "Desk only"
# sources = ["Newsroom"]
# private = true
# [serve]
# tokens = ["${DESK_TOKEN}"]
# (and `wirefeed passwd NAME` prints a [[serve.users]] entry)

# [run]
# watch_interval = "5s"           # how often story files are checked

# [store]
# path = ".wirefeed/state.db"     # what wirefeed remembers between runs
"#;

/// The sample story.
pub const SAMPLE_STORY: &str = r#"---
title: Council opens the new town hall
date: 2026-01-05 09:00:00
author: The Newsroom
categories: [Local]
summary: The first story of this newsroom; edit or delete it.
---
This is a sample story written by `wirefeed init`. Stories are Markdown
files with a front matter block (title, date, author, categories, …):
see README.md, "Markdown".

Run `wirefeed build` after editing it, or keep `wirefeed run` going: it
republishes changed stories within seconds.
"#;

/// What `init` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Initialized {
    pub config: PathBuf,
    pub story: PathBuf,
    pub output: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("{0}: already exists; nothing was written (edit it, or init another folder)")]
    Exists(PathBuf),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

/// Writes the starter project into `dir` (created if needed).
pub fn init(dir: &Path) -> Result<Initialized, InitError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| InitError::Io { path, source }
    };
    let config = dir.join(crate::config::DEFAULT_FILE);
    let story = dir.join("stories").join("welcome.md");
    let output = dir.join("feeds");
    for path in [&config, &story] {
        if path.exists() {
            return Err(InitError::Exists(path.clone()));
        }
    }
    std::fs::create_dir_all(dir.join("stories")).map_err(io(dir))?;
    std::fs::create_dir_all(&output).map_err(io(&output))?;
    std::fs::write(&story, SAMPLE_STORY).map_err(io(&story))?;
    std::fs::write(&config, STARTER_CONFIG).map_err(io(&config))?;
    Ok(Initialized { config, story, output })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_starter_config_loads_and_init_refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let made = init(&dir.path().join("news")).unwrap();
        let config = crate::config::Config::load(&made.config).unwrap();
        assert_eq!(config.stories[0].path, dir.path().join("news/stories"));
        assert!(made.output.is_dir() && std::fs::read_dir(&made.output).unwrap().next().is_none());
        std::fs::write(&made.config, "# mine\n").unwrap();
        assert!(matches!(init(&dir.path().join("news")), Err(InitError::Exists(_))));
        assert_eq!(std::fs::read_to_string(&made.config).unwrap(), "# mine\n");
    }
}
