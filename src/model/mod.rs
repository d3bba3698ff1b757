//! The one story model every origin normalizes into.

pub mod id;
pub mod normalize;
pub mod sanitize;
mod story;
pub mod text;

pub use story::{Image, Story, StoryDraft};
