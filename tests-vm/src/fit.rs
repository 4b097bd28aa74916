//! placeholder
use crate::scenario::Scenario;
/// x
pub fn cli(_a: &[String], _l: &dyn Fn(&str) -> Result<Scenario, String>) -> Result<(), String> { Ok(()) }
