//! Shared helpers for integration tests: a throwaway site with its own
//! config, stories folder and output folder.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub mod backend;
#[cfg(feature = "postgres-tests")]
pub mod pg;

pub const SEED: &str = "fixtures/stories/000_60842d0743a3a762.txt";

pub struct Site {
    pub dir: tempfile::TempDir,
}

impl Site {
    /// A site whose `stories/` holds copies of `files` (repo paths) and
    /// whose config has the default topics.
    pub fn new(files: &[&str]) -> Site {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("stories")).unwrap();
        let site = Site { dir };
        for f in files {
            let src = Path::new(env!("CARGO_MANIFEST_DIR")).join(f);
            std::fs::copy(&src, site.path("stories").join(src.file_name().unwrap())).unwrap();
        }
        site.write_config("");
        site
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn write(&self, rel: &str, text: impl AsRef<[u8]>) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    pub fn write_config(&self, extra: &str) {
        self.write(
            "wirefeed.toml",
            format!(
                r#"[publish]
title = "Test Desk"
description = "Test stories"
base_url = "http://127.0.0.1:8080/"
max_items = 50

[[stories]]
path = "stories"
source = "Newsroom"
link_base = "https://newsroom.example/stories/"

[[topics]]
slug = "russia"
title = "Russia"
keywords = ["Putin", "Kremlin"]

[[topics]]
slug = "gaza"
title = "Gaza"
keywords = ["Gaza Strip", "Hamas"]

[[topics]]
slug = "empty"
title = "Nothing matches"
keywords = ["xyzzy"]
{extra}"#
            ),
        );
    }

    pub fn config(&self) -> wirefeed::Config {
        wirefeed::Config::load(&self.path("wirefeed.toml")).unwrap()
    }

    /// Runs the real binary, from another working directory to prove
    /// paths resolve against the config file.
    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_wirefeed"))
            .args(args)
            .arg("--config")
            .arg(self.path("wirefeed.toml"))
            .current_dir(std::env::temp_dir())
            .output()
            .unwrap()
    }

    pub fn build(&self) -> Output {
        self.run(&["build"])
    }
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Serves `router` on 127.0.0.1 (a free port) from its own thread and
/// runtime, for as long as the test process lives; returns the address.
pub fn serve_in_background(router: axum::Router) -> std::net::SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, router).await.unwrap();
        });
    });
    rx.recv().unwrap()
}
