//! wirefeed: a feed publisher and aggregator.
//!
//! Data flows one way, and the modules follow it:
//! [`ingest`] reads stories (the newsroom's own files, external feeds) →
//! [`model`] normalizes each into one [`model::Story`] →
//! [`topics`] assigns topic channels →
//! [`publish`] writes RSS 2.0, Atom 1.0, JSON Feed 1.1, an HTML index and OPML.
//! [`build`] runs that pipeline once for one [`config::Config`], through
//! the [`store`]; [`operate`] keeps doing it (`wirefeed run`) and serves the
//! output (`wirefeed serve`), with health and metrics.

pub mod build;
pub mod config;
pub mod ingest;
pub mod model;
pub mod operate;
pub mod publish;
pub mod store;
pub mod topics;

pub use build::{BuildReport, build};
pub use config::Config;

pub use model::Story;
