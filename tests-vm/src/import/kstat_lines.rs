//! `kstat -p` output: `module:instance:name:statistic`, a TAB (or, once
//! pasted, any blanks), the value.
//!
//! The statistic's name is read by kstat-export's reader of kstat
//! operands, the one the kernel's write path and the simulator's admin
//! events use, so a name `kstat` could not have printed (five fields, a
//! glob, an instance that is not a number, 31 characters) is refused
//! here as it would be there. Values are read only for the statistics the
//! import uses; the others (strings, times, signed figures) need only be
//! present.

// The one place import names the kstat reader.
use admin_syntax::{parse_assignment, ParseErrorKind};

use super::located::{Located, Problem};
use super::memstat::quote;

/// One line of `kstat -p` output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct KstatLine {
    /// `module:instance:name`.
    pub kstat: String,
    /// The statistic.
    pub statistic: String,
    /// The value as printed.
    pub value: String,
    /// 1-based line.
    pub line: usize,
}

impl KstatLine {
    /// `module:instance:name:statistic`.
    pub(super) fn key(&self) -> String {
        format!("{}:{}", self.kstat, self.statistic)
    }
}

/// Whether `line` has the shape of a `kstat -p` line: its first word has
/// four `:`-separated fields.
pub(super) fn looks_like(line: &str) -> bool {
    line.split_whitespace()
        .next()
        .is_some_and(|w| w.matches(':').count() == 3)
}

/// Reads one `kstat -p` line (line number `n`).
pub(super) fn read_line(line: &str, n: usize) -> Result<KstatLine, Located> {
    let text = line.trim();
    let (key, value) = match text.split_once(|c: char| c.is_whitespace()) {
        Some((k, v)) => (k, v.trim()),
        None => (text, ""),
    };
    let parsed = parse_assignment(format!("{key}=0").as_bytes()).map_err(|e| {
        Located::at(
            n,
            Problem::new(format!(
                "{} is not a statistic as kstat -p prints one \
                 (module:instance:name:statistic): {}",
                quote(key),
                e.kind.describe()
            )),
        )
    })?;
    if value.is_empty() {
        return Err(Located::at(
            n,
            Problem::new(format!(
                "the kstat -p line {} has no value (is the line cut?)",
                quote(key)
            )),
        ));
    }
    Ok(KstatLine {
        kstat: format!(
            "{}:{}:{}",
            parsed.module.as_str(),
            parsed.instance,
            parsed.name.as_str()
        ),
        statistic: parsed.statistic.as_str().to_string(),
        value: value.to_string(),
        line: n,
    })
}

/// The line's value as a count (bytes or pages): decimal digits.
pub(super) fn value_u64(l: &KstatLine) -> Result<u64, Located> {
    let key = l.key();
    if l.value.starts_with('-') {
        return Err(Located::at(
            l.line,
            Problem::new(format!(
                "{key} is {}: a negative size or page count",
                quote(&l.value)
            )),
        ));
    }
    parse_assignment(format!("{key}={}", l.value).as_bytes())
        .map(|a| a.value)
        .map_err(|e| {
            let why = match e.kind {
                ParseErrorKind::Overflow => "does not fit in 64 bits",
                _ => "is not a whole number",
            };
            Located::at(
                l.line,
                Problem::new(format!("{key}'s value {} {why}", quote(&l.value))),
            )
        })
}
