//! Reading stories in: the newsroom's own files and, later, external feeds.
pub mod parse;
