//! A PostgreSQL server of the tests' own (feature `postgres-tests`): one
//! per test binary, started on first use on a temporary data folder,
//! listening on 127.0.0.1 at a free port (its Unix socket in the same
//! folder), and stopped when the binary exits. Each test gets a database
//! of its own.
//!
//! `initdb` refuses to run as root: as root, the data folder is given to
//! the `postgres` system user (the Debian package makes it) and the
//! server's programs run as that user through `runuser`. The binaries are
//! found under /usr/lib/postgresql/*/bin (the newest version). Whatever
//! stops the server from starting fails the test: under this feature a
//! PostgreSQL test never passes without PostgreSQL.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct Server {
    pub port: u16,
    dir: PathBuf,
    bin: PathBuf,
    /// `Some("postgres")` when the server's programs run as that user.
    as_user: Option<String>,
}

static SERVER: OnceLock<Server> = OnceLock::new();
static DATABASES: AtomicUsize = AtomicUsize::new(0);

unsafe extern "C" {
    fn atexit(callback: extern "C" fn()) -> std::ffi::c_int;
}

extern "C" fn stop_at_exit() {
    if let Some(server) = SERVER.get() {
        server.stop();
    }
}

/// The newest PostgreSQL's `bin` folder.
fn bin_dir() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .unwrap_or_else(|e| panic!("postgres-tests: /usr/lib/postgresql: {e} (apt-get install postgresql)"))
        .filter_map(|e| e.ok())
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, bin)| bin.join("initdb").exists())
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin).expect("postgres-tests: no /usr/lib/postgresql/*/bin/initdb (apt-get install postgresql)")
}

fn check(what: &str, out: std::io::Result<Output>) -> Output {
    let out = out.unwrap_or_else(|e| panic!("postgres-tests: {what}: {e}"));
    assert!(
        out.status.success(),
        "postgres-tests: {what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

impl Server {
    /// The server of this test binary, started on first call.
    pub fn get() -> &'static Server {
        SERVER.get_or_init(|| {
            let server = Server::start();
            // SAFETY: registers a plain function with the C library.
            unsafe { atexit(stop_at_exit) };
            server
        })
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        match &self.as_user {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(path);
                c
            }
            None => Command::new(path),
        }
    }

    fn start() -> Server {
        let bin = bin_dir();
        let root = std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false);
        let dir = tempfile::Builder::new().prefix("wirefeed-pg-").tempdir().expect("postgres-tests: temp folder").keep();
        let as_user = root.then(|| "postgres".to_owned());
        if root {
            let id = check("id -u postgres (the server must not run as root)", Command::new("id").args(["-u", "postgres"]).output());
            let uid: u32 = String::from_utf8_lossy(&id.stdout).trim().parse().expect("postgres-tests: uid of postgres");
            let gid: u32 = String::from_utf8_lossy(&check("id -g postgres", Command::new("id").args(["-g", "postgres"]).output()).stdout)
                .trim()
                .parse()
                .expect("postgres-tests: gid of postgres");
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).expect("postgres-tests: chown of the data folder");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let server = Server { port, dir, bin, as_user };
        let data = server.dir.join("data");
        check(
            "initdb",
            server
                .command("initdb")
                .arg("-D")
                .arg(&data)
                .args(["-U", "wirefeed", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"])
                .output(),
        );
        // Durability is not under test here: no fsync.
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -k {} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300",
            server.dir.display()
        );
        check(
            "pg_ctl start",
            server
                .command("pg_ctl")
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(server.dir.join("log"))
                .args(["-w", "-o", &options, "start"])
                .output(),
        );
        server
    }

    fn stop(&self) {
        let _ = self.command("pg_ctl").arg("-D").arg(self.dir.join("data")).args(["-m", "immediate", "-w", "stop"]).output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }

    pub fn url(&self, database: &str) -> String {
        format!("postgres://wirefeed@127.0.0.1:{}/{database}", self.port)
    }

    /// A new, empty database; returns its URL.
    pub fn fresh_database(&self) -> String {
        let name = format!("t{}_{}", std::process::id(), DATABASES.fetch_add(1, Ordering::Relaxed));
        let mut admin = postgres::Client::connect(&self.url("postgres"), postgres::NoTls).expect("postgres-tests: connect as admin");
        admin.batch_execute(&format!("CREATE DATABASE {name}")).expect("postgres-tests: CREATE DATABASE");
        self.url(&name)
    }

    /// The server's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}
