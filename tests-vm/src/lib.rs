#![doc = include_str!("../MODEL.md")]
#![deny(missing_docs)]

pub mod admin;
pub mod arc_model;
pub mod event;
pub mod figures;
pub mod fit;
pub mod fleet;
pub mod grid;
pub mod guest;
pub mod host;
pub mod ideal;
pub mod import;
pub mod log;
pub mod machine;
pub mod outcome;
pub mod params;
pub mod platform;
pub mod plot;
pub mod policy;
pub mod report;
pub mod scenario;
pub mod sim;
pub mod tables;
pub mod vmmr;
