//! The pipeline.
pub struct BuildReport;
pub fn build() {}
