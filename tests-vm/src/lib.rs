//! A simulator of an illumos host's memory that replays the OS-8005 seed
//! under four policies for bhyve guest memory.
//!
//! (The big theory statement is in `MODEL.md`, included below.)
#![doc = include_str!("../MODEL.md")]
#![deny(missing_docs)]

pub mod admin;
pub mod arc_model;
pub mod guests;
pub mod machine;
pub mod params;
pub mod plot;
pub mod platform;
pub mod report;
pub mod scenario;
pub mod sim;
