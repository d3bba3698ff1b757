//! Running wirefeed as a service: scheduled aggregation, serving the
//! output folder, the figures it exposes, and the WebSub pings that follow
//! a republish.

pub mod auth;
pub mod control;
pub mod fleet;
pub mod init;
pub mod metrics;
pub mod mirror;
pub mod renewer;
pub mod repeat;
pub mod run;
pub mod schedule;
pub mod serve;
pub mod signals;
pub mod websub;
