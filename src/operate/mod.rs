//! Running wirefeed as a service: serving the output folder, the figures
//! it exposes, and the WebSub pings that follow a republish.

pub mod metrics;
pub mod serve;
pub mod websub;
