//! Resources running out under `build` and `run`: the output folder or the
//! store on a filesystem that fills up, a read-only output folder, and an
//! output folder deleted while `run` is going.
//!
//! Each full or read-only filesystem is a small tmpfs mounted inside the
//! test's own folder (root only; a Drop guard unmounts it whatever
//! happens). Where mounting is refused the test prints
//! `NOT RUN: <test>: <reason>` and passes, except with the
//! `external-tests` feature (CI, which runs as root), where it fails: these
//! tests never skip silently.

mod common;

use common::{Site, stderr};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;
use wirefeed::operate::metrics::Metrics;
use wirefeed::operate::run::Runner;

/// A tmpfs mounted for one test; unmounted when dropped.
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (as `mount -o size=` takes it) at `dir`,
    /// or says loudly why not.
    fn mount(test: &str, dir: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(dir).unwrap();
        let out = Command::new("mount").args(["-t", "tmpfs", "-o", &format!("size={size},mode=0755"), "tmpfs"]).arg(dir).output();
        match out {
            Ok(o) if o.status.success() => Some(Tmpfs { dir: dir.to_owned() }),
            Ok(o) => not_run(test, &format!("cannot mount a tmpfs: {}", String::from_utf8_lossy(&o.stderr).trim())),
            Err(e) => not_run(test, &format!("cannot run mount: {e}")),
        }
    }

    fn remount(&self, options: &str) {
        let out = Command::new("mount").args(["-o", &format!("remount,{options}")]).arg(&self.dir).output().unwrap();
        assert!(out.status.success(), "remount,{options}: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// Fills the filesystem, then gives `leave` bytes back: returns the
    /// filler file (delete it to free the space).
    fn fill(&self, leave: u64) -> PathBuf {
        let path = self.dir.join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        let chunk = vec![0x55u8; 4096];
        loop {
            match file.write(&chunk) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(28) => break, // ENOSPC
                Err(e) => panic!("filling {}: {e}", path.display()),
            }
        }
        let len = file.metadata().unwrap().len();
        file.set_len(len.saturating_sub(leave)).unwrap();
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let ok = Command::new("umount").arg(&self.dir).status().is_ok_and(|s| s.success());
        if !ok {
            // Something still holds a file there: detach it anyway.
            let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        }
    }
}

fn not_run<T>(test: &str, reason: &str) -> Option<T> {
    // Straight to the process's stderr: the harness swallows `eprintln!`
    // of a test that passes.
    let _ = writeln!(std::io::stderr(), "NOT RUN: {test}: {reason}");
    if cfg!(feature = "external-tests") {
        panic!("{test}: {reason} (the external-tests feature requires these tests to run, as root)");
    }
    None
}

/// Every file under `dir` (relative path → bytes), the filler left out.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else if entry.file_name() != "filler" {
                out.insert(path.strip_prefix(root).unwrap().display().to_string(), std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Files added, removed or changed between two snapshots.
fn changed(before: &BTreeMap<String, Vec<u8>>, after: &BTreeMap<String, Vec<u8>>) -> Vec<String> {
    let keys: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).filter(|k| before.get(*k) != after.get(*k)).collect();
    keys.into_iter().cloned().collect()
}

fn temp_files(snapshot: &BTreeMap<String, Vec<u8>>) -> Vec<&String> {
    snapshot.keys().filter(|k| k.rsplit('/').next().is_some_and(|n| n.starts_with(".wirefeed-"))).collect()
}

/// Markdown stories big enough to need real space (`n` of them,
/// `kib` KiB of body each), titled `"{prefix} story {i}"`.
fn write_stories(site: &Site, prefix: &str, n: usize, kib: usize) {
    use chrono::Timelike;
    // Recent (retention keeps them) and in the past (none is held).
    let hour = chrono::Utc::now().with_nanosecond(0).unwrap() - chrono::Duration::hours(2);
    for i in 0..n {
        let mut body = String::new();
        let mut k = 0;
        while body.len() < kib * 1024 {
            body.push_str(&format!("Paragraph {k} of {prefix} story {i}, with words enough to fill a line of text.\n\n"));
            k += 1;
        }
        site.write(
            &format!("stories/{prefix}-{i}.md"),
            format!("---\ntitle: {prefix} story {i}\ndate: {}\n---\n{body}", (hour - chrono::Duration::minutes(i as i64)).to_rfc3339()),
        );
    }
}

/// A site whose output folder is `disk/feeds` (with `disk/` to be mounted).
fn site_with_output_on_disk(extra: &str) -> Site {
    let site = Site::new(&[]);
    site.write_config(extra);
    let text = site.read("wirefeed.toml").replacen("max_items = 50\n", "max_items = 50\noutput_dir = \"disk/feeds\"\n", 1);
    site.write("wirefeed.toml", text);
    site
}

fn stored_titles(db: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn.prepare("SELECT title FROM stories ORDER BY title").unwrap();
    stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

fn integrity(db: &Path) -> String {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap()
}

/// Polls `cond` every 50 ms for up to `secs` seconds.
fn eventually(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    let until = std::time::Instant::now() + Duration::from_secs(secs);
    while std::time::Instant::now() < until {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what}: not within {secs} s");
}

// ---------------------------------------------------------------- build

/// A site, its disk, its output before the failed build, and that build.
type Failed = (Site, Tmpfs, BTreeMap<String, Vec<u8>>, std::process::Output);

/// Space left on a full output disk for the failure to come midway: the
/// new `all.rss` (about 110 KB with the second stories) fits, `all.atom`
/// (about 125 KB) no longer does.
const MIDWAY: u64 = 160 * 1024;

/// A built site on a 2 MiB output tmpfs, then more stories and a disk
/// filled to within `leave` bytes: the failed build's output.
fn build_into_full_output(test: &str, leave: u64) -> Option<Failed> {
    let site = site_with_output_on_disk("");
    let disk = Tmpfs::mount(test, &site.path("disk"), "2m")?;
    write_stories(&site, "first", 3, 2);
    let out = site.build();
    assert!(out.status.success(), "{}", stderr(&out));
    let before = snapshot(&site.path("disk/feeds"));
    assert!(before.contains_key("all.rss"));
    write_stories(&site, "second", 20, 4);
    disk.fill(leave);
    let out = site.build();
    Some((site, disk, before, out))
}

#[test]
fn build_on_a_full_output_disk_fails_naming_the_file() {
    let Some((site, _disk, _, out)) = build_into_full_output("build_on_a_full_output_disk_fails_naming_the_file", 16 * 1024) else {
        return;
    };
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("No space left on device"), "{err}");
    assert!(err.contains(&site.path("disk/feeds").display().to_string()), "the error names no output file: {err}");
    // Once, and the published file's name, not its temporary copy's.
    assert_eq!(err.matches("No space left on device").count(), 1, "{err}");
    assert!(!err.contains(".wirefeed-"), "{err}");
}

#[test]
fn build_on_a_full_output_disk_leaves_the_last_feeds_whole_and_no_temporary_file() {
    let test = "build_on_a_full_output_disk_leaves_the_last_feeds_whole_and_no_temporary_file";
    // Room for the new all.rss (about 110 KB) but not for the rest: the
    // failure comes midway, after a file or more was written.
    let Some((site, _disk, before, out)) = build_into_full_output(test, MIDWAY) else { return };
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(!stderr(&out).contains("all.rss:"), "the first file already failed: {}", stderr(&out));
    let after = snapshot(&site.path("disk/feeds"));
    assert!(temp_files(&after).is_empty(), "temporary files left: {:?}", temp_files(&after));
    assert_eq!(changed(&before, &after), Vec::<String>::new(), "a failed build changed the published files");
}

#[test]
fn build_after_output_space_is_freed_publishes_everything() {
    let Some((site, disk, _, out)) = build_into_full_output("build_after_output_space_is_freed_publishes_everything", 16 * 1024) else {
        return;
    };
    assert_eq!(out.status.code(), Some(1));
    std::fs::remove_file(disk.dir.join("filler")).unwrap();
    let out = site.build();
    assert!(out.status.success(), "{}", stderr(&out));
    let all = site.read("disk/feeds/all.rss");
    for i in 0..20 {
        assert!(all.contains(&format!("second story {i}<")), "second story {i} not published");
    }
    for i in 0..3 {
        assert!(all.contains(&format!("first story {i}<")), "first story {i} lost");
    }
}

/// A built site whose store is on a 4 MiB tmpfs, then 40 big stories and
/// the disk filled to within 256 KiB: the failed build's output.
fn build_with_full_store(test: &str) -> Option<Failed> {
    let site = Site::new(&[]);
    site.write_config("\n[store]\npath = \"disk/state.db\"\n");
    let disk = Tmpfs::mount(test, &site.path("disk"), "4m")?;
    write_stories(&site, "first", 3, 2);
    let out = site.build();
    assert!(out.status.success(), "{}", stderr(&out));
    let before = snapshot(&site.path("feeds"));
    write_stories(&site, "second", 40, 16);
    disk.fill(256 * 1024);
    let out = site.build();
    Some((site, disk, before, out))
}

#[test]
fn build_with_a_full_store_disk_fails_naming_the_store() {
    let Some((site, _disk, _, out)) = build_with_full_store("build_with_a_full_store_disk_fails_naming_the_store") else { return };
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains(&site.path("disk/state.db").display().to_string()), "the error names no store: {err}");
    assert!(err.contains("full"), "{err}");
}

#[test]
fn build_with_a_full_store_disk_rolls_back_and_loses_nothing_committed() {
    let test = "build_with_a_full_store_disk_rolls_back_and_loses_nothing_committed";
    let Some((site, disk, before, out)) = build_with_full_store(test) else { return };
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    // Nothing was published from a store that could not take the stories.
    assert_eq!(changed(&before, &snapshot(&site.path("feeds"))), Vec::<String>::new());
    std::fs::remove_file(disk.dir.join("filler")).unwrap();
    let db = site.path("disk/state.db");
    assert_eq!(integrity(&db), "ok");
    let titles = stored_titles(&db);
    for i in 0..3 {
        assert!(titles.contains(&format!("first story {i}")), "first story {i} lost: {titles:?}");
    }
    // The folder's transaction was rolled back whole.
    assert!(!titles.iter().any(|t| t.starts_with("second")), "a partial transaction was kept: {titles:?}");
}

#[test]
fn build_after_store_space_is_freed_stores_and_publishes_everything() {
    let Some((site, disk, _, out)) = build_with_full_store("build_after_store_space_is_freed_stores_and_publishes_everything") else {
        return;
    };
    assert_eq!(out.status.code(), Some(1));
    std::fs::remove_file(disk.dir.join("filler")).unwrap();
    let out = site.build();
    assert!(out.status.success(), "{}", stderr(&out));
    let db = site.path("disk/state.db");
    assert_eq!(integrity(&db), "ok");
    assert_eq!(stored_titles(&db).len(), 43);
    let all = site.read("feeds/all.json");
    for i in 0..40 {
        assert!(all.contains(&format!("\"second story {i}\"")), "second story {i} not published");
    }
}

#[test]
fn build_with_a_store_disk_full_to_the_last_byte_says_so() {
    // No room even for SQLite's shared-memory file: SQLite itself says only
    // "disk I/O error".
    let test = "build_with_a_store_disk_full_to_the_last_byte_says_so";
    let site = Site::new(&[]);
    site.write_config("\n[store]\npath = \"disk/state.db\"\n");
    let Some(disk) = Tmpfs::mount(test, &site.path("disk"), "1m") else { return };
    write_stories(&site, "first", 1, 1);
    assert!(site.build().status.success());
    write_stories(&site, "second", 1, 1);
    disk.fill(0);
    let out = site.build();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains(&site.path("disk/state.db").display().to_string()), "the error names no store: {err}");
    assert!(err.contains("No space left on device"), "{err}");
}

#[test]
fn build_into_a_read_only_output_folder_fails_naming_the_path_and_changes_nothing() {
    let test = "build_into_a_read_only_output_folder_fails_naming_the_path_and_changes_nothing";
    let site = site_with_output_on_disk("");
    let Some(disk) = Tmpfs::mount(test, &site.path("disk"), "2m") else { return };
    write_stories(&site, "first", 3, 2);
    assert!(site.build().status.success());
    let before = snapshot(&site.path("disk/feeds"));
    write_stories(&site, "second", 2, 2);
    // One story gone too: its page would be deleted.
    std::fs::remove_file(site.path("stories/first-0.md")).unwrap();
    disk.remount("ro");
    let out = site.build();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("Read-only file system"), "{err}");
    assert!(err.contains(&site.path("disk/feeds/").display().to_string()), "the error names no output path: {err}");
    assert_eq!(changed(&before, &snapshot(&site.path("disk/feeds"))), Vec::<String>::new());
    disk.remount("rw");
    let out = site.build();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(site.read("disk/feeds/all.rss").contains("second story 1<"));
}

#[test]
fn build_recreates_a_deleted_output_folder_whole() {
    let site = Site::new(&[]);
    write_stories(&site, "first", 3, 2);
    assert!(site.build().status.success());
    let before = snapshot(&site.path("feeds"));
    std::fs::remove_dir_all(site.path("feeds")).unwrap();
    let out = site.build();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(snapshot(&site.path("feeds")).keys().collect::<Vec<_>>(), before.keys().collect::<Vec<_>>());
}

// ------------------------------------------------------------------ run

/// What `run`'s loop logs (its own thread's lines, as the binary prints
/// them without colours), for a test to read.
#[derive(Clone, Default)]
struct Logs(Arc<std::sync::Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// Lines holding `needle` (and `level`, e.g. "ERROR", when not empty).
    fn lines(&self, level: &str, needle: &str) -> Vec<String> {
        self.text().lines().filter(|l| l.contains(needle) && l.contains(level)).map(str::to_owned).collect()
    }
}

/// `run` in process on its own thread until the returned sender says stop.
struct Running {
    stop: tokio::sync::watch::Sender<bool>,
    handle: Option<std::thread::JoinHandle<Result<(), String>>>,
    metrics: Arc<Metrics>,
    logs: Logs,
}

impl Running {
    fn start(site: &Site) -> Running {
        let metrics = Arc::new(Metrics::new());
        let runner = Runner::new(site.config(), metrics.clone()).unwrap();
        Running::start_runner(runner, metrics)
    }

    /// Runs a runner made beforehand (its store opened, its schedule read).
    fn start_runner(mut runner: Runner, metrics: Arc<Metrics>) -> Running {
        let logs = Logs::default();
        let sink = logs.clone();
        let (stop, rx) = tokio::sync::watch::channel(false);
        let handle = std::thread::spawn(move || {
            let subscriber =
                tracing_subscriber::fmt().with_ansi(false).with_max_level(tracing::Level::INFO).with_writer(move || sink.clone()).finish();
            // The loop runs on this thread (`block_on`): its lines come here.
            let _logging = tracing::subscriber::set_default(subscriber);
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(async move { runner.run(false, rx).await.map(drop).map_err(|e| e.to_string()) })
        });
        Running { stop, handle: Some(handle), metrics, logs }
    }

    fn is_running(&self) -> bool {
        self.handle.as_ref().is_some_and(|h| !h.is_finished())
    }

    /// The last publish's summary (`publishing failed: …` when it failed).
    fn summary(&self) -> String {
        self.metrics.health().summary.unwrap_or_default()
    }

    fn wait_summary(&self, what: &str, needles: &[&str]) {
        eventually(20, what, || {
            let s = self.summary();
            needles.iter().all(|n| s.contains(n))
        });
    }

    fn stop(mut self) {
        let _ = self.stop.send(true);
        let result = self.handle.take().unwrap().join().unwrap();
        assert_eq!(result, Ok(()), "run ended with an error");
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn published(path: &Path, needle: &str) -> bool {
    std::fs::read_to_string(path).is_ok_and(|t| t.contains(needle))
}

#[test]
fn run_on_a_full_output_disk_keeps_the_last_feeds_then_publishes_once_freed() {
    let test = "run_on_a_full_output_disk_keeps_the_last_feeds_then_publishes_once_freed";
    let site = site_with_output_on_disk("[run]\nwatch_interval = \"100ms\"\n");
    let Some(disk) = Tmpfs::mount(test, &site.path("disk"), "2m") else { return };
    write_stories(&site, "first", 3, 2);
    let run = Running::start(&site);
    let all = site.path("disk/feeds/all.rss");
    eventually(20, "first stories published", || published(&all, "first story 2<"));
    std::thread::sleep(Duration::from_millis(300));
    let before = snapshot(&site.path("disk/feeds"));
    let filler = disk.fill(MIDWAY);
    write_stories(&site, "second", 20, 4);
    run.wait_summary("publishing fails", &["publishing failed", "No space left on device", "disk/feeds/"]);
    let after = snapshot(&site.path("disk/feeds"));
    assert!(temp_files(&after).is_empty(), "temporary files left: {:?}", temp_files(&after));
    assert_eq!(changed(&before, &after), Vec::<String>::new(), "a failed publish changed the published files");
    std::fs::remove_file(filler).unwrap();
    eventually(20, "second stories published once space is freed", || published(&all, "second story 19<"));
    run.stop();
}

#[test]
fn run_with_a_full_store_disk_keeps_running_and_stores_once_freed() {
    let test = "run_with_a_full_store_disk_keeps_running_and_stores_once_freed";
    let site = Site::new(&[]);
    site.write_config("[run]\nwatch_interval = \"100ms\"\n\n[store]\npath = \"disk/state.db\"\n");
    let Some(disk) = Tmpfs::mount(test, &site.path("disk"), "4m") else { return };
    write_stories(&site, "first", 3, 2);
    let run = Running::start(&site);
    let all = site.path("feeds/all.rss");
    eventually(20, "first stories published", || published(&all, "first story 2<"));
    let filler = disk.fill(256 * 1024);
    write_stories(&site, "second", 40, 16);
    let db = site.path("disk/state.db").display().to_string();
    run.wait_summary("storing fails", &[&db, "full"]);
    assert!(published(&all, "first story 2<") && !published(&all, "second story"));
    std::fs::remove_file(filler).unwrap();
    eventually(30, "second stories published once space is freed", || published(&all, "second story 39<"));
    run.stop();
    assert_eq!(integrity(&site.path("disk/state.db")), "ok");
    assert_eq!(stored_titles(&site.path("disk/state.db")).len(), 43);
}

#[test]
fn run_into_a_read_only_output_folder_reports_it_then_publishes_once_writable() {
    let test = "run_into_a_read_only_output_folder_reports_it_then_publishes_once_writable";
    let site = site_with_output_on_disk("[run]\nwatch_interval = \"100ms\"\n");
    let Some(disk) = Tmpfs::mount(test, &site.path("disk"), "2m") else { return };
    write_stories(&site, "first", 3, 2);
    let run = Running::start(&site);
    let all = site.path("disk/feeds/all.rss");
    eventually(20, "first stories published", || published(&all, "first story 2<"));
    std::thread::sleep(Duration::from_millis(300));
    let before = snapshot(&site.path("disk/feeds"));
    disk.remount("ro");
    write_stories(&site, "second", 2, 2);
    run.wait_summary("publishing fails", &["publishing failed", "Read-only file system", "disk/feeds/"]);
    assert_eq!(changed(&before, &snapshot(&site.path("disk/feeds"))), Vec::<String>::new());
    // Tried again every 5 s; said once (a reminder only after a minute).
    std::thread::sleep(Duration::from_millis(11_000));
    let failed = run.logs.lines("", "publishing failed");
    assert_eq!(failed.len(), 1, "{failed:#?}");
    assert!(failed[0].contains("ERROR") && failed[0].contains("Read-only file system"), "{}", failed[0]);
    disk.remount("rw");
    eventually(20, "second stories published once writable", || published(&all, "second story 1<"));
    let after = snapshot(&site.path("disk/feeds"));
    assert!(temp_files(&after).is_empty(), "temporary files left: {:?}", temp_files(&after));
    eventually(5, "the recovery logged", || !run.logs.lines("WARN", "publishing works again").is_empty());
    let line = &run.logs.lines("WARN", "publishing works again")[0];
    let tries: u64 = line.split("after ").nth(1).and_then(|t| t.split(' ').next()).and_then(|n| n.parse().ok()).unwrap_or(0);
    assert!(tries >= 2, "the retries were not counted: {line}");
    assert_eq!(run.logs.lines("", "publishing failed").len(), 1, "{}", run.logs.text());
    run.stop();
}

#[test]
fn run_recreates_a_deleted_output_folder_whole() {
    let site = Site::new(&[]);
    site.write_config("[run]\nwatch_interval = \"100ms\"\n");
    write_stories(&site, "first", 3, 2);
    let run = Running::start(&site);
    let all = site.path("feeds/all.rss");
    eventually(20, "first stories published", || published(&all, "first story 2<"));
    std::thread::sleep(Duration::from_millis(300));
    let before = snapshot(&site.path("feeds"));
    std::fs::remove_dir_all(site.path("feeds")).unwrap();
    // Nothing else changes: the folder alone must bring everything back.
    eventually(20, "every file published again", || snapshot(&site.path("feeds")).keys().eq(before.keys()));
    assert_eq!(changed(&before, &snapshot(&site.path("feeds"))), Vec::<String>::new());
    run.stop();
}

#[test]
fn run_once_recreates_a_deleted_output_folder_whole() {
    // One feed (a file), no story folder: the second pass has nothing due
    // and nothing to read.
    let site = Site::new(&[]);
    let items: String =
        (0..3).map(|i| format!("<item><title>Feed story {i}</title><link>https://feed.example/{i}</link></item>")).collect();
    site.write("feed.xml", format!("<rss version=\"2.0\"><channel><title>Feed</title>{items}</channel></rss>"));
    site.write(
        "wirefeed.toml",
        "[publish]\ntitle = \"Test Desk\"\ndescription = \"d\"\nbase_url = \"http://127.0.0.1:8080/\"\n\n\
         [[sources]]\nname = \"feed\"\nurl = \"feed.xml\"\n",
    );
    assert!(site.run(&["run", "--once"]).status.success());
    assert!(site.read("feeds/all.rss").contains("Feed story 2<"));
    let before = snapshot(&site.path("feeds"));
    std::fs::remove_dir_all(site.path("feeds")).unwrap();
    // No story changed: the missing folder alone is reason to publish.
    let out = site.run(&["run", "--once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(changed(&before, &snapshot(&site.path("feeds"))), Vec::<String>::new());
}

#[test]
fn run_once_into_a_read_only_output_folder_exits_1_naming_the_path() {
    let test = "run_once_into_a_read_only_output_folder_exits_1_naming_the_path";
    let site = site_with_output_on_disk("");
    let Some(disk) = Tmpfs::mount(test, &site.path("disk"), "2m") else { return };
    write_stories(&site, "first", 3, 2);
    let out = site.run(&["run", "--once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let before = snapshot(&site.path("disk/feeds"));
    write_stories(&site, "second", 2, 2);
    disk.remount("ro");
    let out = site.run(&["run", "--once"]);
    // Like `build`: 1, not 0 (nothing new was published) nor 2 (no input failed).
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("Read-only file system"), "{err}");
    assert!(err.contains(&site.path("disk/feeds/").display().to_string()), "the error names no output path: {err}");
    assert_eq!(changed(&before, &snapshot(&site.path("disk/feeds"))), Vec::<String>::new());
}

#[test]
fn run_once_with_a_full_store_disk_exits_1_naming_the_store() {
    let test = "run_once_with_a_full_store_disk_exits_1_naming_the_store";
    let site = Site::new(&[]);
    site.write_config("\n[store]\npath = \"disk/state.db\"\n");
    let Some(disk) = Tmpfs::mount(test, &site.path("disk"), "4m") else { return };
    write_stories(&site, "first", 3, 2);
    assert!(site.run(&["run", "--once"]).status.success());
    write_stories(&site, "second", 40, 16);
    disk.fill(256 * 1024);
    let out = site.run(&["run", "--once"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains(&site.path("disk/state.db").display().to_string()), "the error names no store: {err}");
    assert!(err.contains("full"), "{err}");
}

/// A feed file with `n` items titled `"{prefix} story {i}"`.
fn write_feed(site: &Site, rel: &str, prefix: &str, n: usize) {
    let items: String =
        (0..n).map(|i| format!("<item><title>{prefix} story {i}</title><link>https://feed.example/{prefix}/{i}</link></item>")).collect();
    site.write(rel, format!("<rss version=\"2.0\"><channel><title>{prefix}</title>{items}</channel></rss>"));
}

/// A site whose store is on `disk/` (1 MiB, mounted), built once with
/// one story; then `sources` (TOML) added to its config, a runner made
/// for it (store opened, new rows not yet written), and the disk filled to
/// the last byte: SQLite's write-ahead log cannot grow by one page.
fn runner_on_a_full_store_disk(test: &str, sources: &str) -> Option<(Site, Tmpfs, Runner, Arc<Metrics>, PathBuf)> {
    let site = Site::new(&[]);
    site.write_config("[run]\nwatch_interval = \"100ms\"\n\n[store]\npath = \"disk/state.db\"\n");
    let disk = Tmpfs::mount(test, &site.path("disk"), "1m")?;
    write_stories(&site, "first", 1, 1);
    let out = site.build();
    assert!(out.status.success(), "{}", stderr(&out));
    let config = site.read("wirefeed.toml");
    site.write("wirefeed.toml", format!("{config}\n{sources}"));
    let metrics = Arc::new(Metrics::new());
    let runner = Runner::new(site.config(), metrics.clone()).unwrap();
    let filler = disk.fill(0);
    Some((site, disk, runner, metrics, filler))
}

#[test]
fn run_keeps_running_when_the_store_refuses_a_new_source_and_stores_it_once_freed() {
    let test = "run_keeps_running_when_the_store_refuses_a_new_source_and_stores_it_once_freed";
    let sources = "[[sources]]\nname = \"late\"\nurl = \"late.xml\"\n";
    let Some((site, _disk, runner, metrics, filler)) = runner_on_a_full_store_disk(test, sources) else { return };
    write_feed(&site, "late.xml", "Late", 2);
    let run = Running::start_runner(runner, metrics);
    let db = site.path("disk/state.db").display().to_string();
    eventually(20, "the refused row logged", || !run.logs.lines("ERROR", "1 source not started (late)").is_empty());
    let line = &run.logs.lines("ERROR", "1 source not started (late)")[0];
    assert!(line.contains(&db) && line.contains("No space left on device"), "{line}");
    // Tried again (every 5 s) without stopping the loop, and without a
    // second error line: retries are logged at debug level, with a
    // reminder a minute (and the source is stored once space is freed).
    std::thread::sleep(Duration::from_millis(5500));
    assert!(run.is_running(), "run stopped: {}", run.logs.text());
    assert_eq!(run.logs.lines("ERROR", "1 source not started (late)").len(), 1, "{}", run.logs.text());
    assert!(!published(&site.path("feeds/all.rss"), "Late story"));
    std::fs::remove_file(filler).unwrap();
    eventually(30, "the new source published once space is freed", || published(&site.path("feeds/all.rss"), "Late story 1<"));
    assert!(!run.logs.lines("WARN", "the store takes writes again").is_empty(), "{}", run.logs.text());
    run.stop();
    let db = site.path("disk/state.db");
    assert_eq!(integrity(&db), "ok");
    let titles = stored_titles(&db);
    for t in ["first story 0", "Late story 0", "Late story 1"] {
        assert!(titles.iter().any(|s| s == t), "{t} not stored: {titles:?}");
    }
}

#[test]
fn run_keeps_running_when_the_store_refuses_a_fetch_request_and_answers_it_once_freed() {
    use wirefeed::store::requests::{RequestState, Requester};
    let test = "run_keeps_running_when_the_store_refuses_a_fetch_request_and_answers_it_once_freed";
    let site_feed = "[[sources]]\nname = \"wire\"\nurl = \"wire.xml\"\n";
    // The source is stored by a first build (so not due), the request
    // written before the disk fills: taking it is the refused write.
    let site = Site::new(&[]);
    site.write_config(&format!("[run]\nwatch_interval = \"100ms\"\n\n[store]\npath = \"disk/state.db\"\n\n{site_feed}"));
    let Some(disk) = Tmpfs::mount(test, &site.path("disk"), "1m") else { return };
    write_feed(&site, "wire.xml", "Wire", 1);
    let out = site.build();
    assert!(out.status.success(), "{}", stderr(&out));
    write_feed(&site, "wire.xml", "Wire", 3);
    let metrics = Arc::new(Metrics::new());
    let runner = Runner::new(site.config(), metrics.clone()).unwrap();
    let db = site.path("disk/state.db");
    let requester = Requester::open(&db).unwrap();
    let pk = requester.ask(&["wire".to_owned()], chrono::Utc::now()).unwrap();
    let filler = disk.fill(0);
    let run = Running::start_runner(runner, metrics);
    eventually(20, "the refused request logged", || !run.logs.lines("ERROR", "`wirefeed fetch` requests not taken").is_empty());
    let line = &run.logs.lines("ERROR", "`wirefeed fetch` requests not taken")[0];
    assert!(line.contains(&db.display().to_string()), "{line}");
    std::thread::sleep(Duration::from_millis(1500));
    assert!(run.is_running(), "run stopped: {}", run.logs.text());
    assert!(matches!(requester.state(pk).unwrap(), RequestState::Waiting));
    std::fs::remove_file(filler).unwrap();
    let mut answers = Vec::new();
    eventually(30, "the request answered once space is freed", || match requester.state(pk).unwrap() {
        RequestState::Answered(a) => {
            answers = a;
            true
        }
        _ => false,
    });
    assert_eq!(answers.len(), 1, "{answers:?}");
    assert!(answers[0].ok && answers[0].source == "wire", "{answers:?}");
    eventually(20, "the fetched stories published", || published(&site.path("feeds/all.rss"), "Wire story 2<"));
    run.stop();
    assert_eq!(integrity(&db), "ok");
}
