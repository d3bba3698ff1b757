//! The store's backends, for tests written once and run on each: SQLite
//! always, PostgreSQL with the `postgres-tests` feature (see [`super::pg`]).
//!
//! A test is a function taking a [`Backend`]; `on_each_backend!` makes one
//! `#[test]` per backend of it (`sqlite::name`, `postgres::name`).

use std::path::PathBuf;
use wirefeed::store::Location;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    #[cfg(feature = "postgres-tests")]
    Postgres,
}

/// An empty store's location, and the folder a SQLite one lives in.
pub struct Fresh {
    pub location: Location,
    pub dir: tempfile::TempDir,
}

impl Backend {
    /// A new empty store (a file in a new folder, or a new database).
    pub fn fresh(self) -> Fresh {
        let dir = tempfile::tempdir().unwrap();
        let location = match self {
            Backend::Sqlite => Location::Sqlite(dir.path().join("store.db")),
            #[cfg(feature = "postgres-tests")]
            Backend::Postgres => Location::Postgres(super::pg::Server::get().fresh_database()),
        };
        Fresh { location, dir }
    }

    /// The `[store]` line that points a config at `location`.
    pub fn config_line(location: &Location) -> String {
        match location {
            Location::Sqlite(path) => format!("path = {:?}\n", path.display().to_string()),
            Location::Postgres(url) => format!("url = {url:?}\n"),
        }
    }
}

impl Fresh {
    pub fn path(&self) -> PathBuf {
        self.dir.path().join("store.db")
    }
}

/// One `#[test]` per backend for each named `fn name(backend: Backend)`.
#[macro_export]
macro_rules! on_each_backend {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { super::$name($crate::common::backend::Backend::Sqlite) } )*
        }
        #[cfg(feature = "postgres-tests")]
        mod postgres {
            $( #[test] fn $name() { super::$name($crate::common::backend::Backend::Postgres) } )*
        }
    };
}
