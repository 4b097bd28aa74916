//! The one error type of the crate, with its exhaustive errno mapping.

use core::fmt;

use zfs_tunables::errno;
use zfs_tunables::TunableError;

use crate::kstat_named::KstatDataType;

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
    /// An `/etc/system` string value for an integer tunable.
    StringValue,
    /// An unterminated `"` string.
    UnterminatedString,
    /// An `/etc/system` command krtld does not know (`sett`).
    UnknownCommand,
    /// An `/etc/system` line that does not start with a command.
    UnexpectedToken,
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
            ParseErrorKind::StringValue => "a string value for an integer tunable",
            ParseErrorKind::UnterminatedString => "missing \"",
            ParseErrorKind::UnknownCommand => "unknown command",
            ParseErrorKind::UnexpectedToken => "unexpected token",
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte {})", self.kind.describe(), self.offset)
    }
}

/// Everything that can go wrong in this crate.
///
/// [`to_errno`](ExportError::to_errno) is exhaustive: a new variant
/// without an errno does not compile. A refusal from the core travels
/// inside [`ExportError::Refused`] with its own errno, so a kstat write
/// of an out-of-bounds value returns `EINVAL`, a minimum above a maximum
/// `ERANGE`, and a conflict with live reservations `EBUSY`, exactly as a
/// direct call into `zfs-tunables` would.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportError {
    /// A parser refused its input.
    Parse(ParseError),
    /// The caller lacks `sys_config` privilege (`secpolicy_sys_config`).
    NotPrivileged,
    /// The kstat is marked `KSTAT_FLAG_INVALID`.
    KstatInvalid,
    /// A write to a kstat without `KSTAT_FLAG_WRITABLE`, or whose update
    /// callback does not take writes.
    NotWritable,
    /// The caller's buffer does not have the kstat's `ks_ndata` entries.
    NdataMismatch {
        /// The kstat's `ks_ndata` after its read update.
        expected: usize,
        /// Entries in the caller's buffer.
        got: usize,
    },
    /// An entry of the caller's buffer changes a statistic's data type.
    TypeMismatch {
        /// The entry's index.
        index: usize,
        /// The statistic's data type.
        expected: KstatDataType,
        /// The data type in the caller's buffer.
        got: KstatDataType,
    },
    /// An entry of the caller's buffer names another statistic than the
    /// kstat has at that index (the kernel's driver does not check names;
    /// the update callback does, because the names arrive in `ks_data`).
    NameMismatch {
        /// The entry's index.
        index: usize,
    },
    /// A module, name, class or statistic name that is empty, longer than
    /// 30 characters, or contains a NUL.
    BadName,
    /// No kstat with this module, instance and name.
    NoSuchKstat,
    /// The kstat has no statistic with this name.
    NoSuchStatistic,
    /// A buffer too small for the kstat's entries.
    BufferTooSmall {
        /// Entries needed.
        needed: usize,
        /// Entries available.
        capacity: usize,
    },
    /// The core refused the values (its errno passes through).
    Refused(TunableError),
    /// No raw variable or tunable has this name.
    UnknownVariable,
    /// The tunable exists but is not runtime-adjustable, so it has no raw
    /// variable and no place in `zfs:0:tunables`.
    NotDynamic {
        /// The tunable's name.
        name: &'static str,
    },
    /// A raw variable with this name is already bound.
    AlreadyBound {
        /// The variable's name.
        name: &'static str,
    },
    /// A fixed-capacity table is full.
    Full,
    /// An `mdb` write whose bytes do not lie within the 8-byte variable.
    WriteOutsideVariable {
        /// The byte offset of the write within the variable.
        offset: u64,
        /// The write's width in bytes.
        width: u8,
    },
}

impl ExportError {
    /// The illumos errno for this error.
    #[must_use]
    pub const fn to_errno(self) -> i32 {
        match self {
            ExportError::Parse(_) => errno::EINVAL,
            ExportError::NotPrivileged => errno::EPERM,
            ExportError::KstatInvalid => errno::EAGAIN,
            ExportError::NotWritable => errno::EACCES,
            ExportError::NdataMismatch { .. } => errno::EINVAL,
            ExportError::TypeMismatch { .. } => errno::EINVAL,
            ExportError::NameMismatch { .. } => errno::EINVAL,
            ExportError::BadName => errno::EINVAL,
            ExportError::NoSuchKstat => errno::ENOENT,
            ExportError::NoSuchStatistic => errno::ENOENT,
            ExportError::BufferTooSmall { .. } => errno::ENOSPC,
            ExportError::Refused(e) => e.to_errno(),
            ExportError::UnknownVariable => errno::ENOENT,
            ExportError::NotDynamic { .. } => errno::ENOTSUP,
            ExportError::AlreadyBound { .. } => errno::EEXIST,
            ExportError::Full => errno::ENOSPC,
            ExportError::WriteOutsideVariable { .. } => errno::EINVAL,
        }
    }
}

impl From<ParseError> for ExportError {
    fn from(e: ParseError) -> Self {
        ExportError::Parse(e)
    }
}

impl From<TunableError> for ExportError {
    fn from(e: TunableError) -> Self {
        ExportError::Refused(e)
    }
}

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ExportError::Parse(e) => write!(f, "{e}"),
            ExportError::NotPrivileged => write!(f, "not privileged (sys_config)"),
            ExportError::KstatInvalid => write!(f, "the kstat is not valid yet"),
            ExportError::NotWritable => write!(f, "the kstat is not writable"),
            ExportError::NdataMismatch { expected, got } => {
                write!(f, "the buffer has {got} entries; the kstat has {expected}")
            }
            ExportError::TypeMismatch {
                index,
                expected,
                got,
            } => write!(
                f,
                "entry {index} has data type {}; the statistic's is {}",
                got.0, expected.0
            ),
            ExportError::NameMismatch { index } => {
                write!(f, "entry {index} does not name the kstat's statistic")
            }
            ExportError::BadName => {
                write!(f, "a kstat name must have 1 to 30 characters and no NUL")
            }
            ExportError::NoSuchKstat => write!(f, "no such kstat"),
            ExportError::NoSuchStatistic => write!(f, "no such statistic"),
            ExportError::BufferTooSmall { needed, capacity } => {
                write!(f, "{needed} entries do not fit in a buffer of {capacity}")
            }
            ExportError::Refused(e) => write!(f, "{e}"),
            ExportError::UnknownVariable => write!(f, "no such tunable variable"),
            ExportError::NotDynamic { name } => {
                write!(f, "{name} cannot change at runtime (set it in /etc/system)")
            }
            ExportError::AlreadyBound { name } => {
                write!(f, "{name} already has a raw variable")
            }
            ExportError::Full => write!(f, "the fixed-capacity table is full"),
            ExportError::WriteOutsideVariable { offset, width } => write!(
                f,
                "a {width}-byte write at offset {offset} runs past the 8-byte variable"
            ),
        }
    }
}
