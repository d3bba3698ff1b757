//! The one story model every origin normalizes into.

pub mod host;
pub mod id;
pub mod mime;
pub mod normalize;
pub mod person;
pub mod sanitize;
mod story;
pub mod text;

pub use normalize::representable;
pub use story::{Attachment, Image, Origin, Story, StoryDraft, TextKind};
