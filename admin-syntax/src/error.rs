//! The one error type of the crate, with its exhaustive errno mapping, and
//! the parsers' error.

use core::fmt;

use illumos_ddi as errno;
use kstat_export::ExportError;

/// What a parser found wrong, and where.
///
/// Every parser in this crate (`mdb` writes, `/etc/system` lines, `kstat`
/// selectors and assignments) reports its failures with one of these; the
/// offset is a byte offset into the parser's input, so a caller can point
/// at the culprit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// What is wrong.
    pub kind: ParseErrorKind,
    /// The byte offset in the input where the problem starts.
    pub offset: usize,
}

impl ParseError {
    /// A `kind` error at `offset`.
    #[must_use]
    pub const fn new(kind: ParseErrorKind, offset: usize) -> ParseError {
        ParseError { kind, offset }
    }
}

/// The reasons a parser refuses its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// The input is empty (or only blanks).
    Empty,
    /// A byte that is not allowed at this point.
    UnexpectedByte,
    /// The input ends where more was expected.
    UnexpectedEnd,
    /// A digit that is not valid in the number's radix.
    InvalidDigit,
    /// A number that does not fit in 64 bits.
    Overflow,
    /// A name longer than the parser accepts (kstat names: 30 characters).
    NameTooLong,
    /// A selector with more than four `:`-separated fields.
    TooManyFields,
    /// An assignment without all four of module, instance, name, statistic.
    MissingField,
    /// A wildcard where exactly one statistic must be named.
    Wildcard,
    /// An instance number that is not a non-negative decimal `int`.
    BadInstance,
    /// An assignment or a write without a value.
    MissingValue,
    /// A `/regex/` selector operand (only shell globs are supported).
    RegexUnsupported,
    /// A glob pattern longer than the parser accepts.
    PatternTooLong,
    /// An unterminated `[...]` class in a glob pattern.
    UnterminatedClass,
    /// An `mdb` command that does not write (a display format).
    NotAWrite,
    /// An `mdb` write through `\` (physical) or `?` (object file) rather
    /// than `/` (the running kernel's variables).
    NotVirtualWrite,
    /// An `mdb` write to a numeric address rather than a named variable.
    NumericAddress,
    /// An `mdb` write of more than one value: it would run past the
    /// variable into whatever follows it in memory.
    MultipleValues,
    /// A floating-point immediate (`0t1.5`).
    FloatingPoint,
    /// An `mdb` radix outside 2 to 16.
    BadRadix,
    /// Input after a complete command that is neither blank nor a comment.
    ExtraneousInput,
    /// An `/etc/system` `set` without a variable or value where one is
    /// needed (krtld's "value expected").
    ValueExpected,
    /// An `/etc/system` operator other than `=`, `&` or `|`.
    UnsupportedOperator,
    /// An unterminated `"` string.
    UnterminatedString,
    /// An `/etc/system` command krtld does not know (`sett`).
    UnknownCommand,
    /// An `/etc/system` line that does not start with a command.
    UnexpectedToken,
    /// A size with a fraction that is not a whole number of bytes
    /// (`0.1K`), or a fraction without a `K`, `M`, `G` or `T` suffix.
    NotWholeBytes,
}

impl ParseErrorKind {
    /// A short description, in the words illumos's own tools use where
    /// they have one.
    #[must_use]
    pub const fn describe(self) -> &'static str {
        match self {
            ParseErrorKind::Empty => "nothing to parse",
            ParseErrorKind::UnexpectedByte => "unexpected character",
            ParseErrorKind::UnexpectedEnd => "unexpected end of input",
            ParseErrorKind::InvalidDigit => "digit is invalid in the number's base",
            ParseErrorKind::Overflow => "value exceeds 64 bits",
            ParseErrorKind::NameTooLong => "name longer than 30 characters",
            ParseErrorKind::TooManyFields => {
                "more than four fields in module:instance:name:statistic"
            }
            ParseErrorKind::MissingField => "expected module:instance:name:statistic=value",
            ParseErrorKind::Wildcard => "a write must name exactly one statistic (no wildcards)",
            ParseErrorKind::BadInstance => "instance is not a non-negative decimal number",
            ParseErrorKind::MissingValue => "expected a value to write",
            ParseErrorKind::RegexUnsupported => "/regex/ operands are not supported; use a glob",
            ParseErrorKind::PatternTooLong => "pattern too long",
            ParseErrorKind::UnterminatedClass => "unterminated [ in pattern",
            ParseErrorKind::NotAWrite => "not a write: the format must be one of v, w, W, Z or z",
            ParseErrorKind::NotVirtualWrite => {
                "only writes through / (kernel virtual memory) reach a tunable"
            }
            ParseErrorKind::NumericAddress => "a numeric address; name the variable instead",
            ParseErrorKind::MultipleValues => {
                "more than one value would write past the end of the variable"
            }
            ParseErrorKind::FloatingPoint => "floating point not supported",
            ParseErrorKind::BadRadix => "radix must be between 2 and 16",
            ParseErrorKind::ExtraneousInput => "extraneous input",
            ParseErrorKind::ValueExpected => "value expected",
            ParseErrorKind::UnsupportedOperator => "unsupported operator",
            ParseErrorKind::UnterminatedString => "missing \"",
            ParseErrorKind::UnknownCommand => "unknown command",
            ParseErrorKind::UnexpectedToken => "unexpected token",
            ParseErrorKind::NotWholeBytes => "the size is not a whole number of bytes",
        }
    }
}

impl ParseError {
    /// The column of the error in its input, counted in bytes from 1 (the
    /// admin paths take ASCII, where a byte is a character).
    #[must_use]
    pub const fn column(&self) -> usize {
        self.offset.saturating_add(1)
    }
}

/// Without its input: what is wrong and the column. With the input, use
/// [`ParseError::located`], which quotes the text.
impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at column {}", self.kind.describe(), self.column())
    }
}

/// Everything that can go wrong in this crate.
///
/// [`to_errno`](AdminError::to_errno) is exhaustive: a new variant
/// without an errno does not compile. A refusal of the kernel side
/// (`kstat-export`, and through it the core) travels inside
/// [`AdminError::Export`] with its own errno.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdminError {
    /// A parser refused its input (`EINVAL`).
    Parse(ParseError),
    /// The kstats or the core refused (their errno).
    Export(ExportError),
    /// An `mdb` write to a symbol that is no runtime tunable's variable,
    /// or to one under another module's name (`ENOENT`).
    UnknownVariable,
    /// An `mdb` write whose bytes do not lie within the 8-byte variable
    /// (`EINVAL`).
    WriteOutsideVariable {
        /// The byte offset of the write within the variable.
        offset: u64,
        /// The write's width in bytes.
        width: u8,
    },
}

impl AdminError {
    /// The illumos errno for this error.
    #[must_use]
    pub const fn to_errno(self) -> i32 {
        match self {
            AdminError::Parse(_) => errno::EINVAL,
            AdminError::Export(e) => e.to_errno(),
            AdminError::UnknownVariable => errno::ENOENT,
            AdminError::WriteOutsideVariable { .. } => errno::EINVAL,
        }
    }
}

impl From<ParseError> for AdminError {
    fn from(e: ParseError) -> Self {
        AdminError::Parse(e)
    }
}

impl From<ExportError> for AdminError {
    fn from(e: ExportError) -> Self {
        AdminError::Export(e)
    }
}

impl fmt::Display for AdminError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            AdminError::Parse(e) => write!(f, "{e}"),
            AdminError::Export(e) => write!(f, "{e}"),
            AdminError::UnknownVariable => write!(f, "no runtime tunable has this variable"),
            AdminError::WriteOutsideVariable { offset, width } => write!(
                f,
                "a {width}-byte write at offset {offset} runs past the end of the 8-byte variable"
            ),
        }
    }
}
