//! Minimal CLI for the parser branch; all logic lives in the library.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "wirefeed", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse feed files and print normalized JSON (the conformance shape).
    Parse {
        /// One JSON object per line, each with a "path" key.
        #[arg(long)]
        jsonl: bool,
        /// Document URL: base for relative links.
        #[arg(long)]
        base: Option<String>,
        /// The HTTP Content-Type the document was served with.
        #[arg(long = "content-type")]
        content_type: Option<String>,
        /// feedparser fixtures: files whose path contains "http" get the
        /// HTTP context of feedparser's test server, relative to this root.
        #[arg(long = "fixture-http", value_name = "CORPUS_ROOT")]
        fixture_http: Option<PathBuf>,
        #[arg(required = true)]
        files: Vec<String>,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Parse { jsonl, base, content_type, fixture_http, files } => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            wirefeed::ingest::parse::run_parse_command(&files, jsonl, base, content_type, fixture_http.as_deref(), &mut out)?;
            std::io::Write::flush(&mut out)?;
        }
    }
    Ok(())
}
