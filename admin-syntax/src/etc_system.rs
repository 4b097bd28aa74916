//! `/etc/system`: the `set` lines for registered tunables, applied once at
//! boot.
//!
//! # Syntax (krtld's, `uts/common/os/modsysfile.c`)
//!
//! ```text
//! * a comment ('*' or '#' where a command could start)
//! set zfs:zfs_arc_max = 0x200000000      hex (krtld's lexer knows only "0x")
//! set zfs:zfs_arc_min = 1073741824       decimal
//! set zfs:zfs_arc_meta_min=0400000000    leading zero: octal
//! SET zfs : zfs_arc_max = 8589934592 * a trailing comment
//! set zfs:zfs_arc_max | 0x100            '&' and '|' combine with the value so far
//! set64 zfs:zfs_arc_max = ~0             '~' one's complement, '-' negation
//! ```
//!
//! Commands are `set`, `set32`, `set64` (or in capitals); on LP64 a
//! `set32` line is parsed and then discarded, as krtld does. Spacing
//! around `:`, `=` and the operators is free.
//!
//! # Which lines are ours
//!
//! Only `set module:variable` lines whose module has registered tunables
//! with the component (`zfs`, and `vmm` once it registered). Everything
//! else is left to krtld, which reads the same file at boot: other
//! modules' variables (`set ip:...`), kernel variables without a module,
//! and the other commands (`forceload:`, `exclude:`, `moddir:`,
//! `rootdev:` ...). They are counted in [`BootReport::not_ours`] and
//! otherwise ignored. Two exceptions are reported because they are
//! almost certainly meant for us: an unqualified `set zfs_arc_max = ...`
//! (krtld looks for `zfs_arc_max` in the kernel proper and prints "sorry,
//! variable ... is not defined"), and a line this parser cannot read at
//! all (a malformed `set`, an unknown command), since it cannot tell
//! whose it is.
//!
//! # What happens to each of our lines
//!
//! As in illumos, the lines for one variable pile up in file order (`=`
//! replaces, `&` and `|` combine with the value so far, starting from the
//! tunable's current value), a variable set more than once gets krtld's
//! "is set more than once" notice, and the final value is applied. Values
//! are applied with [`ArcTunables::boot_set`] before
//! [`ArcTunables::finish_boot`], one variable at a time, in registry order
//! (the order in which `arc_init()` examines them: `zfs_arc_max` before
//! `zfs_arc_min`), so the limits are what `arc_init()` would compute.
//! A value the core refuses is ignored and reported with its line number,
//! as `arc_init()` silently ignores an out-of-range `zfs_arc_max` (here
//! the admin learns why). An unknown variable of one of our modules and a
//! malformed line are reported with their line number and ignored.
//!
//! # Where this is stricter than krtld, and why
//!
//! krtld *applies* a value followed by junk (`set zfs:zfs_arc_max =
//! 0x1G`, or `0X1000`, which its lexer reads as `0` then junk) and warns
//! "extraneous input ignored"; it wraps a value too large for 64 bits;
//! and it reads `0x` with no digits as 0. Each of these would silently put
//! an unintended limit in force, so here each makes the line malformed:
//! reported and ignored.
//!
//! In the kernel, krtld has already parsed the file and stored the values
//! in the C globals before `arc_init()` runs; the kernel module passes
//! those to `boot_set`. This parser serves the simulator (whose scenarios
//! carry `/etc/system` lines), tests and tools, and states the rules in
//! one place.

use core::fmt;

use heapless::{String, Vec};
use zfs_tunables::platform::Platform;
use zfs_tunables::registry::MAX_TUNABLES;
use zfs_tunables::{ArcTunables, TunableError};

use crate::error::{ParseError, ParseErrorKind};
use crate::lexing::{digits_to_u64, fixed_name, Cursor};

/// The longest module or variable name krtld's `set` parser keeps (its
/// 64-byte token buffer, NUL included).
pub const SYSTEM_NAME_MAX: usize = 63;

/// The most findings a [`BootReport`] keeps; later ones are counted in
/// [`BootReport::dropped`].
pub const MAX_FINDINGS: usize = 32;

/// How much of a malformed line a finding quotes.
pub const SNIPPET_MAX: usize = 24;

/// The path in messages.
pub const SYSTEM_FILE: &str = "/etc/system";

/// A `set` command's operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetOp {
    /// `=`.
    Assign,
    /// `&`: bitwise AND with the value so far.
    And,
    /// `|`: bitwise OR with the value so far.
    Or,
}

/// How a value was written, for messages (krtld prints hex values in hex).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueRadix {
    /// Decimal.
    Decimal,
    /// A leading zero: octal.
    Octal,
    /// `0x`.
    Hex,
}

/// The right-hand side of a `set`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetValue {
    /// A number, with the radix it was written in.
    Integer {
        /// The value (after `~` or `-`).
        value: u64,
        /// How it was written.
        radix: ValueRadix,
    },
    /// A quoted string (not accepted for any tunable here).
    String,
}

/// Which kernels a `set` applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetScope {
    /// `set`: every kernel.
    Any,
    /// `set32`: 32-bit kernels only (discarded on amd64).
    Only32,
    /// `set64`: 64-bit kernels only.
    Only64,
}

/// A parsed `set` command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetCommand {
    /// Which kernels it applies to.
    pub scope: SetScope,
    /// The module of `module:variable`, if qualified.
    pub module: Option<String<SYSTEM_NAME_MAX>>,
    /// The variable.
    pub variable: String<SYSTEM_NAME_MAX>,
    /// The operator.
    pub op: SetOp,
    /// The value.
    pub value: SetValue,
}

/// One line of `/etc/system`, classified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SystemLine {
    /// Blank, or only a comment.
    Blank,
    /// A `set`.
    Set(SetCommand),
    /// Another known command (`forceload`, `exclude`, `moddir`, ...).
    OtherCommand,
}

/// The commands krtld knows (`modcmd[]`), besides the `set` family.
const OTHER_COMMANDS: [&[u8]; 16] = [
    b"EXCLUDE",
    b"exclude",
    b"INCLUDE",
    b"include",
    b"FORCELOAD",
    b"forceload",
    b"ROOTDEV",
    b"rootdev",
    b"ROOTFS",
    b"rootfs",
    b"SWAPDEV",
    b"swapdev",
    b"SWAPFS",
    b"swapfs",
    b"MODDIR",
    b"moddir",
];

fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\x0c')
}

fn skip_blanks(c: &mut Cursor<'_>) {
    while c.peek().is_some_and(is_blank) {
        c.bump();
    }
}

/// krtld's `isnamechar`.
fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// A NAME token (krtld: a letter or `_`, then name characters).
fn name<'a>(c: &mut Cursor<'a>) -> Option<&'a [u8]> {
    if c.peek()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
    {
        Some(c.take_while(is_name_char))
    } else {
        None
    }
}

/// Whether the rest of the line is blank or a comment.
fn rest_is_blank(c: &mut Cursor<'_>) -> bool {
    skip_blanks(c);
    matches!(c.peek(), None | Some(b'*' | b'#'))
}

/// An integer value: optional `~` or `-`, then `0x` hex, leading-zero
/// octal or decimal.
fn integer(c: &mut Cursor<'_>) -> Result<SetValue, ParseError> {
    let (complement, negate) = match c.peek() {
        Some(b'~') => (true, false),
        Some(b'-') => (false, true),
        _ => (false, false),
    };
    if complement || negate {
        c.bump();
    }
    if !c.peek().is_some_and(|b| b.is_ascii_digit()) {
        return Err(c.error(ParseErrorKind::ValueExpected));
    }
    let (radix, digits_at, digits) = if c.peek() == Some(b'0') && c.peek_at(1) == Some(b'x') {
        c.bump();
        c.bump();
        let at = c.pos();
        (ValueRadix::Hex, at, c.take_while(|b| b.is_ascii_hexdigit()))
    } else {
        let at = c.pos();
        let d = c.take_while(|b| b.is_ascii_digit());
        match d {
            [b'0', rest @ ..] if !rest.is_empty() => {
                (ValueRadix::Octal, at.saturating_add(1), rest)
            }
            _ => (ValueRadix::Decimal, at, d),
        }
    };
    let base = match radix {
        ValueRadix::Decimal => 10,
        ValueRadix::Octal => 8,
        ValueRadix::Hex => 16,
    };
    let mut value = digits_to_u64(digits, base, digits_at)?;
    if complement {
        value = !value;
    } else if negate {
        value = value.wrapping_neg();
    }
    Ok(SetValue::Integer { value, radix })
}

/// A quoted string, skipped (its contents are never used here).
fn string(c: &mut Cursor<'_>) -> Result<SetValue, ParseError> {
    let open = c.pos();
    c.bump();
    loop {
        match c.bump() {
            None | Some(b'\n') => {
                return Err(ParseError::new(ParseErrorKind::UnterminatedString, open))
            }
            Some(b'"') => return Ok(SetValue::String),
            Some(b'\\') => {
                c.bump();
            }
            Some(_) => {}
        }
    }
}

fn set_command(c: &mut Cursor<'_>, scope: SetScope) -> Result<SetCommand, ParseError> {
    skip_blanks(c);
    let first_at = c.pos();
    let first = name(c).ok_or(c.error(ParseErrorKind::ValueExpected))?;
    skip_blanks(c);
    let (module, variable, var_at) = if c.eat(b':') {
        skip_blanks(c);
        let at = c.pos();
        let var = name(c).ok_or(c.error(ParseErrorKind::ValueExpected))?;
        skip_blanks(c);
        (Some(fixed_name(first, first_at)?), var, at)
    } else {
        (None, first, first_at)
    };
    let variable = fixed_name(variable, var_at)?;
    let op = match c.peek() {
        Some(b'=') => SetOp::Assign,
        Some(b'&') => SetOp::And,
        Some(b'|') => SetOp::Or,
        _ => return Err(c.error(ParseErrorKind::UnsupportedOperator)),
    };
    c.bump();
    skip_blanks(c);
    let value = match c.peek() {
        Some(b'"') => {
            let v = string(c)?;
            if op != SetOp::Assign {
                return Err(c.error(ParseErrorKind::UnsupportedOperator));
            }
            v
        }
        _ => integer(c)?,
    };
    if !rest_is_blank(c) {
        return Err(c.error(ParseErrorKind::ExtraneousInput));
    }
    Ok(SetCommand {
        scope,
        module,
        variable,
        op,
        value,
    })
}

/// Parses one line of `/etc/system` (without its newline).
pub fn parse_system_line(line: &[u8]) -> Result<SystemLine, ParseError> {
    let mut c = Cursor::new(line);
    skip_blanks(&mut c);
    match c.peek() {
        None | Some(b'*' | b'#') => return Ok(SystemLine::Blank),
        _ => {}
    }
    let at = c.pos();
    let cmd = name(&mut c).ok_or(c.error(ParseErrorKind::UnexpectedToken))?;
    let scope = match cmd {
        b"set" | b"SET" => SetScope::Any,
        b"set32" | b"SET32" => SetScope::Only32,
        b"set64" | b"SET64" => SetScope::Only64,
        other if OTHER_COMMANDS.contains(&other) => return Ok(SystemLine::OtherCommand),
        _ => return Err(ParseError::new(ParseErrorKind::UnknownCommand, at)),
    };
    set_command(&mut c, scope).map(SystemLine::Set)
}

/// Something `/etc/system` processing reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FindingKind {
    /// A line that cannot be parsed, quoted from where the problem is.
    Malformed {
        /// What is wrong.
        error: ParseErrorKind,
        /// Where on the line, counted in bytes from 1.
        column: usize,
        /// The line from the problem on (at most [`SNIPPET_MAX`] bytes,
        /// a byte that is not printable ASCII shown as `?`); empty when
        /// the problem is the end of the line.
        near: String<SNIPPET_MAX>,
    },
    /// A variable our module does not register.
    UnknownTunable {
        /// The module.
        module: String<SYSTEM_NAME_MAX>,
        /// The variable.
        variable: String<SYSTEM_NAME_MAX>,
    },
    /// One of our variables set without its module.
    Unqualified {
        /// The variable.
        variable: &'static str,
        /// Its module.
        module: &'static str,
    },
    /// A string value for one of our (integer) tunables.
    StringValue {
        /// The tunable.
        name: &'static str,
    },
    /// A value the core refused; the tunable keeps its value.
    Refused {
        /// The module.
        module: &'static str,
        /// The tunable.
        name: &'static str,
        /// The refused value.
        value: u64,
        /// How the value was written.
        radix: ValueRadix,
        /// Why.
        error: TunableError,
    },
    /// krtld's notice for a variable set more than once.
    SetMoreThanOnce {
        /// The module.
        module: &'static str,
        /// The tunable.
        name: &'static str,
        /// The final value.
        value: u64,
        /// How the last value was written.
        radix: ValueRadix,
    },
}

/// One finding, with the line it concerns (counted from 1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootFinding {
    /// The line number.
    pub line: u32,
    /// What was found.
    pub kind: FindingKind,
}

impl BootFinding {
    /// The finding for `text`, line `line` of the file, which
    /// [`parse_system_line`] refused with `error`: what is wrong, the
    /// column, and the line from there on. A caller that parses lines
    /// itself reports them in the same words.
    #[must_use]
    pub fn malformed(line: u32, text: &[u8], error: ParseError) -> BootFinding {
        BootFinding {
            line,
            kind: FindingKind::Malformed {
                error: error.kind,
                column: error.column(),
                near: snippet(text, error.offset),
            },
        }
    }
}

/// A value in the radix it was written in, as krtld prints it.
struct AsWritten(u64, ValueRadix);

impl fmt::Display for AsWritten {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.1 {
            ValueRadix::Hex => write!(f, "{:#x}", self.0),
            ValueRadix::Decimal | ValueRadix::Octal => write!(f, "{}", self.0),
        }
    }
}

impl fmt::Display for BootFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let line = self.line;
        match &self.kind {
            FindingKind::Malformed {
                error,
                column,
                near,
            } if near.is_empty() => write!(
                f,
                "{} at the end of line {line} (column {column}) of {SYSTEM_FILE}; \
                 line ignored",
                error.describe()
            ),
            FindingKind::Malformed {
                error,
                column,
                near,
            } => write!(
                f,
                "{} at '{near}' on line {line}, column {column}, of {SYSTEM_FILE}; \
                 line ignored",
                error.describe()
            ),
            FindingKind::UnknownTunable { module, variable } => write!(
                f,
                "sorry, variable '{variable}' is not defined in the '{module}' module \
                 on line {line} of {SYSTEM_FILE}; line ignored"
            ),
            FindingKind::Unqualified { variable, module } => write!(
                f,
                "sorry, variable '{variable}' is not defined in the 'kernel' \
                 on line {line} of {SYSTEM_FILE} (write 'set {module}:{variable}'); \
                 line ignored"
            ),
            FindingKind::StringValue { name } => write!(
                f,
                "{name} takes a number, not a string, on line {line} of {SYSTEM_FILE}; \
                 line ignored"
            ),
            FindingKind::Refused {
                module,
                name,
                value,
                radix,
                error,
            } => write!(
                f,
                "{module}:{name} = {} ignored on line {line} of {SYSTEM_FILE}: {error}",
                AsWritten(*value, *radix)
            ),
            FindingKind::SetMoreThanOnce {
                module,
                name,
                value,
                radix,
            } => write!(
                f,
                "{module}:{name} is set more than once in {SYSTEM_FILE} (last on line {line}). \
                 \"set {module}:{name} = {}\" applied as the current setting.",
                AsWritten(*value, *radix)
            ),
        }
    }
}

/// What applying `/etc/system` did.
#[derive(Clone, Debug, Default)]
pub struct BootReport {
    /// Values applied: tunable, value, line of its last `set`.
    pub applied: Vec<(&'static str, u64, u32), MAX_TUNABLES>,
    /// Warnings and notices, in line order.
    pub findings: Vec<BootFinding, MAX_FINDINGS>,
    /// Findings that did not fit in `findings`.
    pub dropped: u32,
    /// Lines left to krtld: other modules, other commands.
    pub not_ours: u32,
}

impl BootReport {
    fn push(&mut self, finding: BootFinding) {
        if self.findings.push(finding).is_err() {
            self.dropped = self.dropped.saturating_add(1);
        }
    }
}

/// A registered tunable and the `/etc/system` value piled up for it.
struct Target {
    module: &'static str,
    name: &'static str,
    current: u64,
    /// (value so far, line of the last `set`, `=` count, radix of the last value)
    pile: Option<(u64, u32, u32, ValueRadix)>,
}

/// Up to [`SNIPPET_MAX`] bytes of `line` from `offset`, printable ASCII.
fn snippet(line: &[u8], offset: usize) -> String<SNIPPET_MAX> {
    let mut s = String::new();
    for &b in line.get(offset..).unwrap_or(&[]).iter().take(SNIPPET_MAX) {
        let ch = if b.is_ascii_graphic() || b == b' ' {
            char::from(b)
        } else {
            '?'
        };
        if s.push(ch).is_err() {
            break;
        }
    }
    s
}

/// Reads `text` as `/etc/system` and applies the values for registered
/// tunables with [`ArcTunables::boot_set`]; see the module documentation.
/// Call it once, before [`ArcTunables::finish_boot`].
pub fn apply_etc_system<P: Platform>(t: &ArcTunables<P>, text: &[u8]) -> BootReport {
    let mut report = BootReport::default();
    let mut targets: Vec<Target, MAX_TUNABLES> = Vec::new();
    t.for_each_tunable(|e| {
        // Cannot overflow: the registry holds at most MAX_TUNABLES.
        let _ = targets.push(Target {
            module: e.module,
            name: e.desc.name,
            current: e.value,
            pile: None,
        });
    });
    let mut line_no: u32 = 0;
    for line in text.split(|&b| b == b'\n') {
        line_no = line_no.saturating_add(1);
        let cmd = match parse_system_line(line) {
            Ok(SystemLine::Set(cmd)) => cmd,
            Ok(SystemLine::Blank) => continue,
            Ok(SystemLine::OtherCommand) => {
                report.not_ours = report.not_ours.saturating_add(1);
                continue;
            }
            Err(e) => {
                report.push(BootFinding::malformed(line_no, line, e));
                continue;
            }
        };
        let Some(module) = cmd.module.as_deref() else {
            match targets.iter().find(|x| x.name == cmd.variable.as_str()) {
                Some(x) => report.push(BootFinding {
                    line: line_no,
                    kind: FindingKind::Unqualified {
                        variable: x.name,
                        module: x.module,
                    },
                }),
                None => report.not_ours = report.not_ours.saturating_add(1),
            }
            continue;
        };
        if !targets.iter().any(|x| x.module == module) {
            report.not_ours = report.not_ours.saturating_add(1);
            continue;
        }
        let Some(target) = targets
            .iter_mut()
            .find(|x| x.module == module && x.name == cmd.variable.as_str())
        else {
            report.push(BootFinding {
                line: line_no,
                kind: FindingKind::UnknownTunable {
                    module: cmd.module.clone().unwrap_or_default(),
                    variable: cmd.variable.clone(),
                },
            });
            continue;
        };
        let SetValue::Integer { value, radix } = cmd.value else {
            report.push(BootFinding {
                line: line_no,
                kind: FindingKind::StringValue { name: target.name },
            });
            continue;
        };
        if cmd.scope == SetScope::Only32 {
            // Parsed, then discarded on a 64-bit kernel, as krtld does.
            continue;
        }
        let (so_far, count) = match target.pile {
            Some((v, _, n, _)) => (v, n),
            None => (target.current, 0),
        };
        let (value, count) = match cmd.op {
            SetOp::Assign => (value, count.saturating_add(1)),
            SetOp::And => (so_far & value, count.max(1)),
            SetOp::Or => (so_far | value, count.max(1)),
        };
        target.pile = Some((value, line_no, count, radix));
    }
    for target in targets.iter() {
        let Some((value, line, count, radix)) = target.pile else {
            continue;
        };
        if count >= 2 {
            report.push(BootFinding {
                line,
                kind: FindingKind::SetMoreThanOnce {
                    module: target.module,
                    name: target.name,
                    value,
                    radix,
                },
            });
        }
        match t.boot_set(target.name, value) {
            Ok(()) => {
                // Cannot overflow: one entry per registered tunable.
                let _ = report.applied.push((target.name, value, line));
            }
            Err(error) => report.push(BootFinding {
                line,
                kind: FindingKind::Refused {
                    module: target.module,
                    name: target.name,
                    value,
                    radix,
                    error,
                },
            }),
        }
    }
    // Line order; for one line, the notice before the refusal.
    report
        .findings
        .sort_unstable_by_key(|f| (f.line, matches!(f.kind, FindingKind::Refused { .. })));
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(line: &str) -> SetCommand {
        match parse_system_line(line.as_bytes()) {
            Ok(SystemLine::Set(c)) => c,
            other => panic!("{line:?}: {other:?}"),
        }
    }

    fn int(c: &SetCommand) -> (u64, ValueRadix) {
        match c.value {
            SetValue::Integer { value, radix } => (value, radix),
            SetValue::String => panic!("string"),
        }
    }

    fn kind(line: &str) -> ParseErrorKind {
        parse_system_line(line.as_bytes()).unwrap_err().kind
    }

    #[test]
    fn values_in_every_radix_and_spacing() {
        let c = set("set zfs:zfs_arc_max = 0x200000000");
        assert_eq!(c.module.as_deref(), Some("zfs"));
        assert_eq!(c.variable.as_str(), "zfs_arc_max");
        assert_eq!(int(&c), (0x2_0000_0000, ValueRadix::Hex));
        assert_eq!(
            int(&set("set zfs:zfs_arc_max=1024")),
            (1024, ValueRadix::Decimal)
        );
        assert_eq!(
            int(&set("\tSET zfs : zfs_arc_max\t=  0400 ")),
            (256, ValueRadix::Octal)
        );
        assert_eq!(
            int(&set("set zfs:zfs_arc_max = 0")),
            (0, ValueRadix::Decimal)
        );
        assert_eq!(int(&set("set64 zfs:zfs_arc_max = ~0")).0, u64::MAX);
        assert_eq!(int(&set("set zfs:zfs_arc_max = -1")).0, u64::MAX);
        assert_eq!(set("set zfs:x | 0x10 * comment").op, SetOp::Or);
        assert_eq!(set("set zfs:x & 0x10 # comment").op, SetOp::And);
        assert_eq!(set("set32 zfs:x = 1").scope, SetScope::Only32);
        assert_eq!(set("set ip_x = 1").module, None);
        assert_eq!(set("set zfs:x = \"s\"").value, SetValue::String);
    }

    #[test]
    fn comments_blanks_and_other_commands() {
        for l in [
            "",
            "   ",
            "* comment",
            "  # comment",
            "*set zfs:zfs_arc_max = 1",
            "\r",
        ] {
            assert_eq!(
                parse_system_line(l.as_bytes()),
                Ok(SystemLine::Blank),
                "{l:?}"
            );
        }
        for l in [
            "forceload: drv/vmm",
            "exclude: sys/shmsys",
            "moddir: /kernel /usr/kernel",
        ] {
            assert_eq!(
                parse_system_line(l.as_bytes()),
                Ok(SystemLine::OtherCommand),
                "{l:?}"
            );
        }
    }

    #[test]
    fn malformed_lines_are_errors() {
        assert_eq!(
            kind("set zfs:zfs_arc_max 0x100"),
            ParseErrorKind::UnsupportedOperator
        );
        assert_eq!(kind("set zfs:zfs_arc_max ="), ParseErrorKind::ValueExpected);
        assert_eq!(
            kind("set zfs:zfs_arc_max = big"),
            ParseErrorKind::ValueExpected
        );
        assert_eq!(kind("set zfs: = 1"), ParseErrorKind::ValueExpected);
        assert_eq!(kind("set = 1"), ParseErrorKind::ValueExpected);
        assert_eq!(
            kind("set zfs:zfs_arc_max = 09"),
            ParseErrorKind::InvalidDigit
        );
        assert_eq!(
            kind("set zfs:zfs_arc_max = 0x"),
            ParseErrorKind::UnexpectedEnd
        );
        assert_eq!(
            kind("set zfs:zfs_arc_max = 0X100"),
            ParseErrorKind::ExtraneousInput
        );
        assert_eq!(
            kind("set zfs:zfs_arc_max = 8G"),
            ParseErrorKind::ExtraneousInput
        );
        assert_eq!(
            kind("set zfs:zfs_arc_max = 1 2"),
            ParseErrorKind::ExtraneousInput
        );
        assert_eq!(
            kind("set zfs:zfs_arc_max = 0x10000000000000000"),
            ParseErrorKind::Overflow
        );
        assert_eq!(
            kind("set zfs:x = \"abc"),
            ParseErrorKind::UnterminatedString
        );
        assert_eq!(
            kind("set zfs:x | \"abc\""),
            ParseErrorKind::UnsupportedOperator
        );
        assert_eq!(
            kind("sett zfs:zfs_arc_max = 1"),
            ParseErrorKind::UnknownCommand
        );
        assert_eq!(kind("= 1"), ParseErrorKind::UnexpectedToken);
        let err = parse_system_line(b"set zfs:zfs_arc_max = 8G").unwrap_err();
        assert_eq!(err.offset, 23);
    }
}
