//! The `wirefeed` command line. Only argument handling and reporting live
//! here; everything else is in the library.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use wirefeed::config::{self, Config};
use wirefeed::ingest::sources::SourceStatus;
use wirefeed::model::text::count;

mod editorial;
mod report;

/// A bar while sources are fetched, only when stderr is a terminal (log
/// lines otherwise).
fn progress_bar(sources: usize, quiet: bool) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if quiet || sources == 0 || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(sources as u64);
    bar.set_style(indicatif::ProgressStyle::with_template("fetching {bar:30} {pos}/{len} sources {elapsed}").expect("valid template"));
    bar
}

/// Exit status when some inputs failed but everything else was published.
const EXIT_INPUT_FAILED: u8 = 2;

#[derive(Parser)]
#[command(name = "wirefeed", version, about = "Publish a newsroom's stories and the feeds it follows as RSS, Atom and JSON Feed")]
struct Cli {
    /// Config file.
    #[arg(long, global = true, default_value = config::DEFAULT_FILE)]
    config: PathBuf,
    /// Only print errors.
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Read every input and write all channels into the output folder.
    Build {
        /// Also name, per source, each entry merged as a duplicate or left
        /// out (filtered, too old, held, expired) and why.
        #[arg(long, short)]
        verbose: bool,
    },
    /// One line per source: status, last and next fetch, stories kept, last error.
    Sources {
        /// One JSON object per line, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// What the store holds, newest first.
    Stories {
        /// Only this topic's channel.
        #[arg(long)]
        topic: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// One JSON object per line (the story model), for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Import sources from, or export them as, OPML.
    #[command(subcommand)]
    Opml(OpmlCommand),
    /// Print what wirefeed reads from feed files, as JSON (the shape of
    /// the conformance tools).
    Parse {
        /// One JSON object per line, each with a "path" key.
        #[arg(long)]
        jsonl: bool,
        /// Document URL: base for relative links (HTTP Content-Location).
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
    /// Keep aggregating: fetch each source when it is due, republish what
    /// changed, watch the story folders (until Ctrl-C or SIGTERM).
    Run {
        /// One pass over the sources that are due, then exit (for cron or a
        /// systemd timer).
        #[arg(long)]
        once: bool,
        /// Also serve the output folder on this address (as `serve` does).
        #[arg(long, value_name = "ADDR")]
        serve: Option<std::net::SocketAddr>,
        /// Log one JSON object per line.
        #[arg(long)]
        json_logs: bool,
    },
    /// Take a story down from every channel at the next publish (also
    /// while `run` holds the store); it never comes back from its source.
    Hide {
        /// The story's id, or its URL (a URL not stored yet stays out when
        /// it arrives).
        target: String,
        /// Why, for `wirefeed hidden`.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Put a story taken down with `hide` back at the next publish.
    Unhide {
        /// The id or URL given to `hide`.
        target: String,
    },
    /// Every story taken down, newest first, with time and reason.
    Hidden,
    /// Why a stored story is (or is not) in each topic and channel.
    Explain {
        /// A story id, a link, or words of a title.
        #[arg(required = true, num_args = 1..)]
        story: Vec<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Fetch sources now, due or not, and publish. Asks the `wirefeed run`
    /// holding the store when there is one (it starts within a second);
    /// fetches here otherwise. Exits 2 if a fetch failed.
    Fetch {
        /// Source names, as in the config (`wirefeed sources` lists them).
        names: Vec<String>,
        /// Every enabled source.
        #[arg(long, conflicts_with = "names")]
        all: bool,
    },
    /// Start a project: a commented wirefeed.toml, a sample story and an
    /// empty feeds/ in DIR (default: here).
    Init { dir: Option<PathBuf> },
    /// Print a `[[serve.users]]` entry (argon2 hash) for NAME, to paste
    /// into the config; reads the password from the terminal, or from the
    /// first line of stdin.
    Passwd { name: String },
    /// Serve the output folder over HTTP, with /healthz and /metrics
    /// (until Ctrl-C or SIGTERM).
    Serve {
        /// Listening address; overrides `[serve] addr` (default 127.0.0.1:8080).
        #[arg(long)]
        addr: Option<std::net::SocketAddr>,
    },
    /// Work on a store as a whole (SQLite file or PostgreSQL database).
    #[command(subcommand)]
    Store(StoreCommand),
    /// Write a PostgreSQL store's published files into DIR (each file
    /// atomically, only those that differ), for static hosting.
    Export { dir: PathBuf },
}

#[derive(Subcommand)]
enum StoreCommand {
    /// Copy a whole store (sources, stories with ids and dates,
    /// tombstones, digests, decisions, takedowns) to another one, either
    /// backend to either; checked by row counts and a digest at the end.
    Copy {
        /// A SQLite file, or a postgres:// URL.
        #[arg(long, value_name = "PATH_OR_URL")]
        from: String,
        /// A SQLite file, or a postgres:// URL; must hold no store rows.
        #[arg(long, value_name = "PATH_OR_URL")]
        to: String,
        /// Overwrite a destination that already holds rows.
        #[arg(long)]
        replace: bool,
    },
}

#[derive(Subcommand)]
enum OpmlCommand {
    /// Add the feeds of an OPML file to the config as [[sources]]
    /// (categories become topics); comments and layout are kept.
    Import { file: PathBuf },
    /// Print the configured sources as OPML 2.0.
    Export,
}

fn main() -> ExitCode {
    // Usage errors exit 1, like config errors: 2 means "some inputs failed".
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::FAILURE } else { ExitCode::SUCCESS };
        }
    };
    match &cli.command {
        // A service logs what it does (one line per fetch).
        Command::Run { json_logs, .. } => init_logging(if cli.quiet { "error" } else { "info" }, *json_logs),
        _ => init_logging(if cli.quiet { "error" } else { "warn" }, false),
    }
    let result = match cli.command {
        Command::Run { once, serve, .. } => run(&cli.config, once, serve),
        Command::Build { verbose } => build(&cli.config, cli.quiet, verbose),
        Command::Sources { json } => report::sources(&cli.config, json),
        Command::Stories { topic, limit, json } => report::stories(&cli.config, topic.as_deref(), limit, json),
        Command::Opml(OpmlCommand::Import { file }) => opml_import(&cli.config, &file),
        Command::Opml(OpmlCommand::Export) => Config::load(&cli.config).map_err(Into::into).map(|c| {
            print!("{}", wirefeed::ingest::opml::export(&c));
            ExitCode::SUCCESS
        }),
        Command::Parse { jsonl, base, content_type, fixture_http, files } => parse(&files, jsonl, base, content_type, fixture_http),
        Command::Serve { addr } => serve(&cli.config, addr, cli.quiet),
        Command::Hide { target, reason } => editorial::hide(&cli.config, &target, reason.as_deref()),
        Command::Unhide { target } => editorial::unhide(&cli.config, &target),
        Command::Hidden => editorial::hidden(&cli.config),
        Command::Explain { story, json } => editorial::explain(&cli.config, &story.join(" "), json),
        Command::Fetch { names, all } => fetch(&cli.config, &names, all, cli.quiet),
        Command::Passwd { name } => passwd(&name),
        Command::Store(StoreCommand::Copy { from, to, replace }) => store_copy(&from, &to, replace, cli.quiet),
        Command::Init { dir } => init(dir.as_deref().unwrap_or(std::path::Path::new("."))),
        Command::Export { dir } => export(&cli.config, &dir, cli.quiet),
    };
    match result {
        Ok(code) => code,
        // `wirefeed stories | head` is not an error.
        Err(e) if e.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            if let Some(config::ConfigError::Read { cause, .. }) = e.downcast_ref::<config::ConfigError>()
                && cause.kind() == std::io::ErrorKind::NotFound
            {
                eprintln!("no config here: `wirefeed init` makes a project to start from (or give --config FILE)");
            }
            ExitCode::FAILURE
        }
    }
}

/// `export DIR`: on SQLite the files are in `[publish] output_dir`
/// already, which a static host can take as it is.
fn export(config_path: &std::path::Path, dir: &std::path::Path, quiet: bool) -> anyhow::Result<ExitCode> {
    let config = Config::load(config_path)?;
    let url = match wirefeed::store::Location::of(&config) {
        wirefeed::store::Location::Postgres(url) => url,
        wirefeed::store::Location::Sqlite(_) => anyhow::bail!(
            "export reads a PostgreSQL store's published files; with a SQLite store they are in [publish] output_dir ({}) already",
            config.publish.output_dir.display()
        ),
    };
    let done = wirefeed::build::export_from(&url, dir).with_context(|| format!("exporting into {}", dir.display()))?;
    if !quiet {
        eprintln!("{}: {} written, {} unchanged", dir.display(), done.written.len(), done.unchanged.len());
    }
    Ok(ExitCode::SUCCESS)
}

fn init(dir: &std::path::Path) -> anyhow::Result<ExitCode> {
    let made = wirefeed::operate::init::init(dir)?;
    println!("wrote {}, {} and {}/", made.config.display(), made.story.display(), made.output.display());
    println!("next:");
    let cd = if dir == std::path::Path::new(".") { String::new() } else { format!("cd {} && ", dir.display()) };
    println!("  {cd}wirefeed build     # reads the stories, writes feeds/");
    println!("  wirefeed serve{}    # serves them on http://127.0.0.1:8080/", " ".repeat(cd.len()));
    Ok(ExitCode::SUCCESS)
}

fn init_logging(default: &str, json: bool) {
    let spec = std::env::var("RUST_LOG").ok().filter(|s| !s.trim().is_empty()).unwrap_or_else(|| default.to_owned());
    let filter = tracing_subscriber::EnvFilter::try_new(log_directives(&spec))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(log_directives(default)));
    use std::io::IsTerminal;
    let ansi = std::io::stderr().is_terminal();
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).with_ansi(ansi);
    if json { logs.json().init() } else { logs.init() }
}

/// `RUST_LOG` as wirefeed reads it: a bare level (`debug`) is wirefeed's
/// own; dependencies stay at `warn` (html5ever's parser state, hyper's
/// connection pool) unless a directive names them (`debug,hyper=trace`).
fn log_directives(spec: &str) -> String {
    const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];
    let mut base = "warn";
    let mut out = Vec::new();
    for d in spec.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        match LEVELS.iter().find(|l| l.eq_ignore_ascii_case(d)) {
            Some(level) => {
                // Quieter than warn (`-q` is "error") quietens everything.
                if matches!(*level, "off" | "error") {
                    base = level;
                }
                out.push(format!("wirefeed={level}"));
            }
            None => out.push(d.to_owned()),
        }
    }
    std::iter::once(base.to_owned()).chain(out).collect::<Vec<_>>().join(",")
}

fn opml_import(config_path: &std::path::Path, file: &std::path::Path) -> anyhow::Result<ExitCode> {
    use wirefeed::ingest::opml;
    let bytes = std::fs::read(file).with_context(|| format!("{}: cannot read", file.display()))?;
    let feeds = opml::parse(&bytes).with_context(|| format!("{}", file.display()))?;
    let text = std::fs::read_to_string(config_path).with_context(|| format!("{}: cannot read", config_path.display()))?;
    let (updated, summary) = opml::import_into(&text, &feeds).with_context(|| format!("{}", config_path.display()))?;
    // Refuse to write a config that would not load.
    Config::from_toml(&updated, config_path)?;
    // Replace the file a symlink points at, and keep its permissions: a
    // config holding credentials may be private.
    let target = std::fs::canonicalize(config_path).with_context(|| format!("{}", config_path.display()))?;
    let permissions = std::fs::metadata(&target)?.permissions();
    wirefeed::publish::write::write_atomic(&target, updated.as_bytes())?;
    std::fs::set_permissions(&target, permissions)?;
    eprintln!(
        "{}: {} added, {} already present, {}",
        config_path.display(),
        count(summary.added.len(), "source", "sources"),
        summary.skipped.len(),
        count(summary.new_topics.len(), "new topic", "new topics")
    );
    Ok(ExitCode::SUCCESS)
}

fn parse(
    files: &[String],
    jsonl: bool,
    base: Option<String>,
    content_type: Option<String>,
    fixture_http: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    wirefeed::ingest::parse::run_parse_command(files, jsonl, base, content_type, fixture_http.as_deref(), &mut out)?;
    std::io::Write::flush(&mut out)?;
    Ok(ExitCode::SUCCESS)
}

fn build(config_path: &std::path::Path, quiet: bool, verbose: bool) -> anyhow::Result<ExitCode> {
    let config = Config::load(config_path)?;
    let progress = progress_bar(config.sources.len(), quiet);
    let report = wirefeed::build::build_with_progress(&config, &|source| {
        progress.inc(1);
        tracing::info!(source = %source.name, status = %source.status, "fetched");
    })
    .context("build failed")?;
    progress.finish_and_clear();
    for failure in &report.failures {
        eprintln!("error: {failure}");
    }
    if !quiet {
        for note in &report.notes {
            eprintln!("note: {note}");
        }
        for (name, n) in &report.forgotten {
            eprintln!("note: source {name:?} is no longer configured: removed with its {}", count(*n as usize, "story", "stories"));
        }
    }
    if verbose && !quiet {
        let mut names: Vec<&str> = report.left_out.iter().map(|(n, _)| n.as_str()).collect();
        names.dedup();
        for name in names {
            eprintln!("stories {name}:");
            print_left_out(report.left_out.iter().filter(|(n, _)| n == name).map(|(_, d)| d));
        }
    }
    for source in &report.sources {
        if !quiet || matches!(source.status, SourceStatus::Failed(_)) {
            eprintln!("source {}: {}", source.name, source.status);
        }
        for note in &source.notes {
            eprintln!("  note: {note}");
        }
        if verbose && !quiet {
            print_left_out(source.left_out.iter());
        }
    }
    if !quiet {
        eprintln!(
            "{} from {} into {}: {} written, {} unchanged{}",
            count(report.stories, "story", "stories"),
            count(report.files_read, "file", "files"),
            config.publish.output_dir.display(),
            count(report.publish.written.len(), "file", "files"),
            report.publish.unchanged.len(),
            if report.duplicates > 0 { format!(", {} duplicates merged", report.duplicates) } else { String::new() }
        );
        for (channel, n) in &report.channels {
            eprintln!("  {channel:<24} {}", count(*n, "story", "stories"));
        }
    }
    let failed = report.failures.len() + report.failed_sources().count();
    if failed == 0 {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("{} failed; everything else was published", count(failed, "input", "inputs"));
        Ok(ExitCode::from(EXIT_INPUT_FAILED))
    }
}

/// `build -v`: each entry merged into another source's story or left
/// out, with the reason recorded for `wirefeed explain`.
fn print_left_out<'a>(decisions: impl Iterator<Item = &'a wirefeed::store::decisions::Decision>) {
    for d in decisions {
        let what = if d.reason.starts_with("duplicate") { "merged" } else { "dropped" };
        eprintln!("  {what}: {:?} ({}): {}", d.title, d.id, d.reason);
    }
}

fn serve(config_path: &std::path::Path, addr: Option<std::net::SocketAddr>, quiet: bool) -> anyhow::Result<ExitCode> {
    use wirefeed::operate::{metrics::Metrics, serve};
    let config = Config::load(config_path)?;
    let addr = addr.unwrap_or(config.serve.addr);
    let options = serve::ServeOptions::from_config(&config);
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
        let local = listener.local_addr()?;
        if !quiet {
            match &options.store {
                Some(url) => eprintln!("serving the published files of {} on http://{local}/", wirefeed::store::pg::redact(url)),
                None => eprintln!("serving {} on http://{local}/", options.root.display()),
            }
        }
        if let Some(warning) = serve::address_mismatch(&config.publish.base_url, local) {
            eprintln!("warning: {warning}");
        }
        if !options.access.unreadable().is_empty() {
            eprintln!(
                "warning: private channels {} have no [serve] users or tokens: nobody can read them",
                options.access.unreadable().join(", ")
            );
        }
        let metrics = std::sync::Arc::new(Metrics::new());
        metrics.set_degraded_after(config.serve.degraded_after);
        // Health and figures come from the store a `run` or `build` writes.
        tokio::spawn(wirefeed::operate::run::mirror_store(wirefeed::store::Location::of(&config), metrics.clone()));
        let router = serve::router(options, metrics);
        serve::serve(listener, router, shutdown_signal()).await.context("server failed")
    })?;
    Ok(ExitCode::SUCCESS)
}

fn run(config_path: &std::path::Path, once: bool, serve_on: Option<std::net::SocketAddr>) -> anyhow::Result<ExitCode> {
    use wirefeed::operate::{control::reload_on_sighup, metrics::Metrics, run::Runner, run::shutdown_on_signals, serve};
    let config = Config::load(config_path)?;
    let metrics = std::sync::Arc::new(Metrics::new());
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let outcome = runtime.block_on(async {
        let shutdown = shutdown_on_signals();
        // The store first: a second `run` fails on its lock before it
        // takes a port.
        let mut runner = Runner::new(config, metrics.clone()).context("cannot start")?;
        if !once {
            runner.reload_on(reload_on_sighup());
        }
        let server = match serve_on {
            None => None,
            Some(addr) => {
                let config = runner.config();
                let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
                let local = listener.local_addr()?;
                tracing::info!("serving {} on http://{local}/", config.publish.output_dir.display());
                if let Some(warning) = serve::address_mismatch(&config.publish.base_url, local) {
                    tracing::warn!("{warning}");
                }
                let options = serve::ServeOptions::from_config(config);
                if !options.access.unreadable().is_empty() {
                    tracing::warn!(
                        "private channels {} have no [serve] users or tokens: nobody can read them",
                        options.access.unreadable().join(", ")
                    );
                }
                let router = serve::router(options, metrics.clone());
                let mut stop = shutdown.clone();
                let stopped = async move {
                    let _ = stop.wait_for(|s| *s).await;
                };
                Some(tokio::spawn(serve::serve(listener, router, stopped)))
            }
        };
        let outcome = runner.run(once, shutdown).await?;
        if let Some(server) = server {
            // With --once, the server goes on until a signal.
            server.await.context("server task")?.context("server failed")?;
        }
        anyhow::Ok(outcome)
    })?;
    // Abandoned fetches must not hold the exit up.
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    if let Some(error) = outcome.write_error().filter(|_| once) {
        // A full or read-only disk: like `build`, exit 1 (the last good
        // feeds are still published).
        eprintln!("error: {error}");
        return Ok(ExitCode::FAILURE);
    }
    if once && outcome.failures() > 0 {
        // The log said which and why; cron mails this line.
        eprintln!(
            "{} input(s) failed{}; everything else was published",
            outcome.failures(),
            match outcome.failed_sources.is_empty() {
                true => String::new(),
                false => format!(" (sources: {})", outcome.failed_sources.join(", ")),
            }
        );
        return Ok(ExitCode::from(EXIT_INPUT_FAILED));
    }
    Ok(ExitCode::SUCCESS)
}

fn fetch(config_path: &std::path::Path, names: &[String], all: bool, quiet: bool) -> anyhow::Result<ExitCode> {
    if names.is_empty() && !all {
        anyhow::bail!("name the sources to fetch (`wirefeed sources` lists them), or give --all");
    }
    let config = Config::load(config_path)?;
    // A name no source has is a mistake in the command, not a failed
    // fetch (exit 2): said before anything is fetched, exit 1.
    let (_, unknown) = wirefeed::operate::control::resolve(&config, names);
    if !unknown.is_empty() {
        let statuses: Vec<&str> = unknown.iter().map(|a| a.status.trim_start_matches("error: ")).collect();
        anyhow::bail!("{} (`wirefeed sources` lists them)", statuses.join("; "));
    }
    let metrics = std::sync::Arc::new(wirefeed::operate::metrics::Metrics::new());
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let answers = runtime.block_on(wirefeed::operate::control::fetch_now(config, names, metrics))?;
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    let failed = answers.iter().filter(|a| !a.ok).count();
    for a in &answers {
        if !quiet || !a.ok {
            println!("{}: {}", a.source, a.status);
        }
    }
    if failed > 0 {
        eprintln!("{failed} of {} source(s) failed", answers.len());
        return Ok(ExitCode::from(EXIT_INPUT_FAILED));
    }
    Ok(ExitCode::SUCCESS)
}

fn passwd(name: &str) -> anyhow::Result<ExitCode> {
    use std::io::IsTerminal;
    if name.is_empty() || name.contains(':') || name.chars().any(char::is_control) {
        anyhow::bail!("{name:?}: a user name must be non-empty, without ':' or control characters (HTTP Basic splits at ':')");
    }
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("password for {name}: "))?;
        if rpassword::prompt_password("again: ")? != first {
            anyhow::bail!("the two passwords differ");
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).context("reading the password from stdin")?;
        line.trim_end_matches(['\n', '\r']).to_owned()
    };
    if password.is_empty() {
        anyhow::bail!("empty password");
    }
    print!("{}", wirefeed::operate::auth::user_entry(name, &password).map_err(|e| anyhow::anyhow!("hashing the password: {e}"))?);
    Ok(ExitCode::SUCCESS)
}

/// Ctrl-C, or SIGTERM (what service managers send).
async fn shutdown_signal() {
    let mut stop = wirefeed::operate::run::shutdown_on_signals();
    let _ = stop.wait_for(|s| *s).await;
}

// Feed building allocates and frees many short strings per story; mimalloc
// handles that pattern markedly better than glibc's allocator (see the
// publish benchmark in README.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `wirefeed store copy`: prints each table's rows and the digest.
fn store_copy(from: &str, to: &str, replace: bool, quiet: bool) -> anyhow::Result<ExitCode> {
    use wirefeed::store::Location;
    let (from, to) = (Location::parse(from), Location::parse(to));
    let report = wirefeed::store::copy::copy(&from, &to, replace, std::time::Duration::from_secs(10))
        .with_context(|| format!("copying {from} to {to}"))?;
    if !quiet {
        let rows: Vec<String> = report.tables.iter().map(|(t, n)| format!("{t} {n}")).collect();
        eprintln!("copied {from} to {to}: {}; digest {:016x} on both", rows.join(", "), report.digest);
    }
    Ok(ExitCode::SUCCESS)
}
