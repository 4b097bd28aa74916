#![doc = include_str!("../MODEL.md")]
#![deny(missing_docs)]

pub mod admin;
pub mod arc_model;
pub mod fit;
pub mod guests;
pub mod import;
pub mod machine;
pub mod params;
pub mod platform;
pub mod plot;
pub mod report;
pub mod scenario;
pub mod sim;
