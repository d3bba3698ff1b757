//! Topic rules.
