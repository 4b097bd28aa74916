//! Scenario files (TOML) and the built-in scenarios.
//!
//! The vocabulary is documented once, in MODEL.md's "Scenario files"
//! (a test holds that section to the schema, key for key). The design:
//!
//! - `schema.rs` is the file's schema, derived with serde: each table
//!   refuses keys it does not declare, and the values later checks point
//!   at keep their spans, so every error names its line however the file
//!   is written (`[host]` and `physmem = ...`, an inline table, a dotted
//!   key). A value that is malformed in itself (a size that is not a size,
//!   an admin command its tool would not parse) is refused while it is
//!   read.
//! - `load.rs` turns the schema's values into a [`Scenario`] and refuses
//!   a file that describes a host or a run that cannot exist: `::memstat`
//!   categories above `physmem`, an ARC larger than what they leave, no
//!   `[arc]` size in a file that creates a guest, an event after the end of
//!   the run, a fault for a guest no event creates.
//! - Whether the kernel under test accepts what a well-formed file asks
//!   (a guest of 0 bytes, a `zfs_arc_max` out of bounds) is for the run
//!   to say, as on a host: the refusal and its errno are among the run's
//!   events, not a load error.
//! - `types.rs` holds the types the others share ([`Scenario`],
//!   [`ScenarioError`]); each file depends only on the ones it names, and
//!   none on this one.
//! - `admin_syntax.rs` is the one place that names the admin-input
//!   parsers the syntax checks share with the run.
//!
//! An error is a [`ScenarioError`]: the line, the field's path
//! (`event[2].vm_create.ram`) and a sentence that quotes the offending
//! text; never a panic.

mod admin_syntax;
mod builtin;
mod load;
mod rsrvrctl;
mod schema;
mod types;
mod units;

pub use builtin::{
    builtin, fleet, BUILTINS, FAULTS, FLEET_1T_GUESTS, FLEET_1T_SECONDS, FLEET_ARC_MAX_CYCLE,
    FLEET_READER_RATE, GENERATED,
};
pub use rsrvrctl::{ReservoirOp, Rsrvrctl};
pub use types::{
    Event, EventKind, Generation, HostSpec, Loaded, Scenario, ScenarioError, ScenarioWarning,
};
pub use units::{parse_duration, parse_size};

/// Parses a scenario file's text. `default_name` names it when the file
/// has no `name`.
pub fn parse_scenario(text: &str, default_name: &str) -> Result<Scenario, ScenarioError> {
    load::load(text, default_name).map(|l| l.scenario)
}

/// [`parse_scenario`], with the warnings an author should see.
pub fn load_scenario(text: &str, default_name: &str) -> Result<Loaded, ScenarioError> {
    load::load(text, default_name)
}

/// Every key a scenario file may have, as a path (`host.physmem`,
/// `event.vm_create.ram`; tables too: `host`, `event.vm_create`), each
/// table followed by its keys, in the schema's order: read from the
/// derived schema, so it is the vocabulary the loader accepts.
#[must_use]
pub fn vocabulary() -> Vec<String> {
    fn walk(tables: &[(&str, &[&str])], table: &str, out: &mut Vec<String>) {
        let keys = tables
            .iter()
            .find(|(t, _)| *t == table)
            .map_or(&[][..], |t| t.1);
        for k in keys {
            let path = if table.is_empty() {
                (*k).to_string()
            } else {
                format!("{table}.{k}")
            };
            out.push(path.clone());
            walk(tables, &path, out);
        }
    }
    let mut out = Vec::new();
    walk(&schema::tables(), "", &mut out);
    out
}

#[cfg(test)]
mod tests;
