//! What an operator reads when an admin input is refused.
//!
//! Every refusal on the admin paths is one sentence that quotes the
//! offending text and says where it is, in words (a column, a line), and
//! why: never a Rust `Debug` rendering. The simulator and the admin
//! command print these, after their own prefix (`kstat: `, `mdb: `, the
//! command's name), as illumos's tools do:
//!
//! | path | type | example |
//! |---|---|---|
//! | a `kstat` operand | [`OperatorMessage::BadSelector`] | `bad selector 'zfs:0:/arc.*/' at column 7 ('/arc.*/'): /regex/ operands are not supported; use a glob` |
//! | a write request | [`OperatorMessage::BadWriteRequest`] | `cannot parse 'zfs:0:tunables:zfs_arc_max=12x' at column 30 ('x'): digit is invalid in the number's base` |
//! | a refused write | [`OperatorMessage::KstatWriteRefused`] | `cannot set zfs:0:tunables:zfs_arc_maxx to 1: zfs:0:tunables has no statistic 'zfs_arc_maxx'` |
//! | an `mdb -kw` command | [`OperatorMessage::MdbSyntax`] | `syntax error in 'zfs_arc_max/J' at column 13 ('J'): not a write: the format must be one of v, w, W, Z or z` |
//! | an `mdb` write | [`OperatorMessage::MdbWriteRefused`] | `failed to dereference symbol: unknown symbol name 'zfs_arc_maxx'` |
//! | an `/etc/system` line | [`BootFinding`](crate::etc_system::BootFinding) | `unsupported operator at '0x100' on line 11, column 30, of /etc/system; line ignored` |
//! | the sync tick | `kstat_export::RawSyncWarning` | `zfs_arc_max: direct write of 0x3e8 (1000) refused (EINVAL), keeping ...` |
//!
//! A value the core refuses is quoted with the bounds in force on the
//! host, the same on every path (see the crate documentation).
//!
//! Quoted text shows printable ASCII as it is, a tab, newline or carriage
//! return as `\t`, `\n`, `\r`, and any other byte as `\xNN`; a quote
//! longer than [`QUOTE_MAX`] bytes ends in `...`.

use core::fmt;

use kstat_export::ExportError;

use crate::error::{AdminError, ParseError};
use crate::kstat_operands::KstatAssignment;
use crate::mdb_write::MdbWrite;

/// The most bytes of an input a message quotes.
pub const QUOTE_MAX: usize = 80;

/// How much of the input from the error on a message quotes.
pub const NEAR_MAX: usize = 16;

/// `bytes`, quoted for a message (without the quote marks), at most `max`
/// bytes of them.
struct Quoted<'a> {
    bytes: &'a [u8],
    max: usize,
}

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &b in self.bytes.iter().take(self.max) {
            match b {
                b'\t' => f.write_str("\\t")?,
                b'\n' => f.write_str("\\n")?,
                b'\r' => f.write_str("\\r")?,
                b' '..=b'~' => write!(f, "{}", char::from(b))?,
                _ => write!(f, "\\x{b:02x}")?,
            }
        }
        if self.bytes.len() > self.max {
            f.write_str("...")?;
        }
        Ok(())
    }
}

/// A parse error with the input it was found in: the input quoted, the
/// column, the text there, and what is wrong. Made by
/// [`ParseError::located`].
///
/// ```text
/// 'zfs:0:tunables:zfs_arc_max=12x' at column 30 ('x'): digit is invalid in the number's base
/// 'zfs:0:tunables:zfs_arc_max=' at its end (column 28): expected a value to write
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Located<'a> {
    /// The error.
    pub error: ParseError,
    /// The input the parser was given.
    pub input: &'a [u8],
}

// Here, not beside `ParseError` in error.rs, so that error.rs imports
// nothing of this file: this file imports the error types.
impl ParseError {
    /// This error with the input it was found in, for a message that
    /// quotes the offending text (see [`Located`]).
    #[must_use]
    pub const fn located(self, input: &[u8]) -> Located<'_> {
        Located { error: self, input }
    }
}

impl fmt::Display for Located<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let input = Quoted {
            bytes: self.input,
            max: QUOTE_MAX,
        };
        let column = self.error.column();
        let why = self.error.kind.describe();
        match self.input.get(self.error.offset..) {
            Some(near) if !near.is_empty() => {
                let near = Quoted {
                    bytes: near,
                    max: NEAR_MAX,
                };
                write!(f, "'{input}' at column {column} ('{near}'): {why}")
            }
            _ => write!(f, "'{input}' at its end (column {column}): {why}"),
        }
    }
}

/// A refusal on one of the admin paths, as the operator reads it (see
/// the module documentation). Display it after the tool's prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OperatorMessage<'a> {
    /// A `kstat` selector operand that does not parse.
    BadSelector {
        /// The operand as typed.
        operand: &'a [u8],
        /// Why.
        error: ParseError,
    },
    /// A `module:instance:name:statistic=value` request that does not
    /// parse.
    BadWriteRequest {
        /// The request as typed.
        request: &'a [u8],
        /// Why.
        error: ParseError,
    },
    /// A parsed write request that the kstats or the core refused.
    KstatWriteRefused {
        /// The request.
        request: &'a KstatAssignment,
        /// Why.
        error: ExportError,
    },
    /// An `mdb -kw` command that does not parse.
    MdbSyntax {
        /// The command as typed.
        command: &'a [u8],
        /// Why.
        error: ParseError,
    },
    /// A parsed `mdb` write that cannot be performed.
    MdbWriteRefused {
        /// The write.
        write: &'a MdbWrite,
        /// Why.
        error: AdminError,
    },
}

/// `module:instance:name:statistic` of a request.
struct Statistic<'a>(&'a KstatAssignment);

impl fmt::Display for Statistic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self.0;
        write!(
            f,
            "{}:{}:{}:{}",
            r.module.as_str(),
            r.instance,
            r.name.as_str(),
            r.statistic.as_str()
        )
    }
}

/// The symbol an `mdb` write names, as typed (``zfs`zfs_arc_max``).
struct Symbol<'a>(&'a MdbWrite);

impl fmt::Display for Symbol<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(m) = &self.0.module {
            write!(f, "{}`", m.as_str())?;
        }
        f.write_str(self.0.symbol.as_str())
    }
}

impl fmt::Display for OperatorMessage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            OperatorMessage::BadSelector { operand, error } => {
                write!(f, "bad selector {}", error.located(operand))
            }
            OperatorMessage::BadWriteRequest { request, error } => {
                write!(f, "cannot parse {}", error.located(request))
            }
            OperatorMessage::KstatWriteRefused { request, error } => {
                let r = request;
                write!(f, "cannot set {} to {}: ", Statistic(r), r.value)?;
                let kstat = |f: &mut fmt::Formatter<'_>| {
                    write!(
                        f,
                        "{}:{}:{}",
                        r.module.as_str(),
                        r.instance,
                        r.name.as_str()
                    )
                };
                match error {
                    ExportError::NoSuchKstat => {
                        f.write_str("there is no kstat ")?;
                        kstat(f)
                    }
                    ExportError::NoSuchStatistic => {
                        kstat(f)?;
                        write!(f, " has no statistic '{}'", r.statistic.as_str())
                    }
                    ExportError::NotWritable => {
                        kstat(f)?;
                        f.write_str(" is not writable")
                    }
                    e => write!(f, "{e}"),
                }
            }
            OperatorMessage::MdbSyntax { command, error } => {
                write!(f, "syntax error in {}", error.located(command))
            }
            OperatorMessage::MdbWriteRefused { write, error } => match error {
                AdminError::UnknownVariable => write!(
                    f,
                    "failed to dereference symbol: unknown symbol name '{}'",
                    Symbol(write)
                ),
                AdminError::WriteOutsideVariable { offset, width } => write!(
                    f,
                    "cannot write {width} bytes at {}+{offset:#x}: the variable has 8 bytes",
                    Symbol(write)
                ),
                e => write!(f, "cannot write {}: {e}", Symbol(write)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ParseErrorKind;

    #[test]
    fn quotes_escape_what_is_not_printable_and_stop_at_the_limit() {
        let q = |b: &[u8], max| Quoted { bytes: b, max }.to_string();
        assert_eq!(q(b"a\tb\n\r\x00\xff'", 80), "a\\tb\\n\\r\\x00\\xff'");
        assert_eq!(q(b"abcdef", 3), "abc...");
    }

    #[test]
    fn a_located_error_quotes_the_input_and_the_column() {
        let e = ParseError::new(ParseErrorKind::InvalidDigit, 2);
        assert_eq!(
            e.located(b"12x").to_string(),
            "'12x' at column 3 ('x'): digit is invalid in the number's base"
        );
        let e = ParseError::new(ParseErrorKind::MissingValue, 3);
        assert_eq!(
            e.located(b"ab=").to_string(),
            "'ab=' at its end (column 4): expected a value to write"
        );
        assert_eq!(
            e.to_string(),
            "expected a value to write at column 4",
            "without its input, the column alone"
        );
    }
}
