//! A parser for the `mdb -kw` writes admins make to tunables.
//!
//! The accepted form is the one `mdb(1)` documents for writing a kernel
//! variable, `address/modifier value`:
//!
//! ```text
//! zfs_arc_max/Z 0x200000000        8 bytes, value in hex
//! zfs_arc_max/Z 0t8589934592       8 bytes, value in decimal
//! zfs`zfs_arc_max/Z 200000000      module-scoped symbol, default radix (16)
//! zfs_arc_max/W 0                  the low 4 bytes (amd64 is little-endian)
//! zfs_arc_max+4/W 2                the high 4 bytes
//! zfs_arc_max/Z $[0t1024]          an immediate in $[ ]
//! ```
//!
//! Modifiers (`mdb(1)`, "write modifiers"): `v` 1 byte, `w` 2, `W` 4,
//! `Z` 8, and `z`, whose size comes from CTF; every runtime tunable is a
//! `uint64_t`, so `z` writes 8 bytes here. Like `mdb`'s own
//! `write_uint32()`, `/W` keeps only the low 32 bits of the value, without
//! a warning.
//!
//! Numbers follow `mdb_lex.l`: `0i`/`0I` binary, `0o`/`0O` octal,
//! `0t`/`0T` decimal, `0x`/`0X` hex, and without a prefix the *default
//! radix*, 16 unless `$d` changed it ([`parse_mdb_write_with_radix`]).
//! So `zfs_arc_max/Z 1000` writes 4096, and `0t1000` is needed for a
//! thousand.
//!
//! Refused, with an error (never a guess): writes through `\` (physical
//! memory) or `?` (the object file); display formats and searches (`/J`,
//! `/M`); more than one value (it would write past the variable into its
//! neighbour); floating-point immediates (`0t1.5`); values over 64 bits
//! (`mdb` says "specified value exceeds maximum immediate value");
//! numeric addresses (a word of hex digits, like `fade`, is a number to
//! `mdb` unless a symbol has that name, and no tunable does) and
//! expressions beyond `symbol+offset`. Likewise a value written as a
//! bare word of hex digits (`dead`) is read as a number.
//!
//! # Performing a write
//!
//! [`perform_mdb_write`] does to a raw variable what `mdb` does to the C
//! global: it stores the bytes, and nothing else (the kernel's sync tick,
//! in `kstat-export`, validates and applies or restores the value later).
//! Memory is little-endian (amd64, the only platform bhyve runs on): `/W`
//! writes the low half of the variable, `zfs_arc_max+4/W` the high half.
//! A write must lie within the 8-byte variable, and a ``module`` prefix
//! must name the tunable's own module.

use heapless::String;
use kstat_export::{RawCell, RawVariables};

use crate::error::{AdminError, ParseError, ParseErrorKind};
use crate::lexing::{digits_to_u64, fixed_name, Cursor};

/// The longest symbol or module name accepted.
pub const MDB_SYMBOL_MAX: usize = 64;

/// `mdb`'s default radix.
pub const MDB_DEFAULT_RADIX: u32 = 16;

/// The size of an `mdb` write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteWidth {
    /// `/v`: the lowest byte of the value.
    V,
    /// `/w`: the lowest two bytes.
    LowerW,
    /// `/W`: the lowest four bytes.
    W,
    /// `/Z`: all eight bytes.
    Z,
    /// `/z`: the size of the variable's CTF type (8 for a `uint64_t`).
    CtfSized,
}

impl WriteWidth {
    /// Bytes written.
    #[must_use]
    pub const fn bytes(self) -> u8 {
        match self {
            WriteWidth::V => 1,
            WriteWidth::LowerW => 2,
            WriteWidth::W => 4,
            WriteWidth::Z | WriteWidth::CtfSized => 8,
        }
    }

    /// The bits of the value that are written.
    #[must_use]
    pub const fn mask(self) -> u64 {
        match self {
            WriteWidth::V => 0xff,
            WriteWidth::LowerW => 0xffff,
            WriteWidth::W => 0xffff_ffff,
            WriteWidth::Z | WriteWidth::CtfSized => u64::MAX,
        }
    }

    /// The modifier character.
    #[must_use]
    pub const fn modifier(self) -> char {
        match self {
            WriteWidth::V => 'v',
            WriteWidth::LowerW => 'w',
            WriteWidth::W => 'W',
            WriteWidth::Z => 'Z',
            WriteWidth::CtfSized => 'z',
        }
    }
}

/// A parsed `mdb -kw` write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MdbWrite {
    /// The module of a scoped symbol (`zfs` in ``zfs`zfs_arc_max``).
    pub module: Option<String<MDB_SYMBOL_MAX>>,
    /// The symbol.
    pub symbol: String<MDB_SYMBOL_MAX>,
    /// Bytes past the symbol (`+4`).
    pub offset: u64,
    /// The write's size.
    pub width: WriteWidth,
    /// The value, before truncation to the width.
    pub value: u64,
}

fn is_symbol_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b'.'
}

fn is_symbol_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'`'
}

/// Parses an `mdb` immediate at the cursor (see the module
/// documentation). The token ends at a blank, `]`, `;`, `/` or the end.
fn number(c: &mut Cursor<'_>, radix: u32) -> Result<u64, ParseError> {
    let (prefix_radix, skip) = match (c.peek(), c.peek_at(1)) {
        (Some(b'0'), Some(b'i' | b'I')) => (Some(2), 2),
        (Some(b'0'), Some(b'o' | b'O')) => (Some(8), 2),
        (Some(b'0'), Some(b't' | b'T')) => (Some(10), 2),
        (Some(b'0'), Some(b'x' | b'X')) => (Some(16), 2),
        _ => (None, 0),
    };
    for _ in 0..skip {
        c.bump();
    }
    let digits_at = c.pos();
    let token = c.take_while(|b| b.is_ascii_alphanumeric());
    if token.is_empty() {
        return Err(c.error(if c.at_end() {
            ParseErrorKind::UnexpectedEnd
        } else {
            ParseErrorKind::UnexpectedByte
        }));
    }
    if prefix_radix == Some(10) && c.peek() == Some(b'.') {
        return Err(c.error(ParseErrorKind::FloatingPoint));
    }
    if !matches!(
        c.peek(),
        None | Some(b' ' | b'\t' | b']' | b';' | b'\n' | b'/' | b'+')
    ) {
        return Err(c.error(ParseErrorKind::UnexpectedByte));
    }
    digits_to_u64(token, prefix_radix.unwrap_or(radix), digits_at)
}

/// Parses `input` as an `mdb -kw` write with the default radix (16).
pub fn parse_mdb_write(input: &[u8]) -> Result<MdbWrite, ParseError> {
    parse_mdb_write_with_radix(input, MDB_DEFAULT_RADIX)
}

/// Parses `input` as an `mdb -kw` write, reading unprefixed numbers in
/// `radix` (2 to 16, as `$d` accepts).
pub fn parse_mdb_write_with_radix(input: &[u8], radix: u32) -> Result<MdbWrite, ParseError> {
    if !(2..=16).contains(&radix) {
        return Err(ParseError::new(ParseErrorKind::BadRadix, 0));
    }
    let mut c = Cursor::new(input);
    c.skip_blanks();
    if c.at_end() || c.peek() == Some(b'\n') {
        return Err(c.error(ParseErrorKind::Empty));
    }
    // The address: a symbol, optionally scoped and offset. A word of hex
    // digits is a number to mdb (unless a symbol has that name; none of
    // the tunables does).
    let sym_at = c.pos();
    if c.peek().is_some_and(|b| b.is_ascii_digit()) {
        return Err(c.error(ParseErrorKind::NumericAddress));
    }
    if !c.peek().is_some_and(is_symbol_start) {
        return Err(c.error(ParseErrorKind::UnexpectedByte));
    }
    let word = c.take_while(is_symbol_char);
    if word.iter().all(u8::is_ascii_hexdigit) {
        return Err(ParseError::new(ParseErrorKind::NumericAddress, sym_at));
    }
    let (module, symbol) = match word.iter().rposition(|&b| b == b'`') {
        Some(tick) => {
            let module = word.get(..tick).unwrap_or(&[]);
            let symbol = word.get(tick.saturating_add(1)..).unwrap_or(&[]);
            let sym_offset = sym_at.saturating_add(tick).saturating_add(1);
            if module.is_empty() || module.contains(&b'`') {
                return Err(ParseError::new(ParseErrorKind::UnexpectedByte, sym_at));
            }
            if symbol.is_empty() {
                return Err(ParseError::new(ParseErrorKind::UnexpectedEnd, sym_offset));
            }
            (
                Some(fixed_name::<MDB_SYMBOL_MAX>(module, sym_at)?),
                fixed_name::<MDB_SYMBOL_MAX>(symbol, sym_offset)?,
            )
        }
        None => (None, fixed_name::<MDB_SYMBOL_MAX>(word, sym_at)?),
    };
    c.skip_blanks();
    let mut offset = 0;
    if c.eat(b'+') {
        c.skip_blanks();
        offset = number(&mut c, radix)?;
        c.skip_blanks();
    }
    // The verb and the write modifier (mdb_lex.l: [/\\?][ \t]*[vwzWZlLM]).
    match c.peek() {
        Some(b'/') => {
            c.bump();
        }
        Some(b'\\' | b'?') => return Err(c.error(ParseErrorKind::NotVirtualWrite)),
        None => return Err(c.error(ParseErrorKind::UnexpectedEnd)),
        Some(_) => return Err(c.error(ParseErrorKind::UnexpectedByte)),
    }
    c.skip_blanks();
    let width = match c.peek() {
        Some(b'v') => WriteWidth::V,
        Some(b'w') => WriteWidth::LowerW,
        Some(b'W') => WriteWidth::W,
        Some(b'Z') => WriteWidth::Z,
        Some(b'z') => WriteWidth::CtfSized,
        _ => return Err(c.error(ParseErrorKind::NotAWrite)),
    };
    c.bump();
    c.skip_blanks();
    // The value, plain or as $[ immediate ].
    if c.at_end() || matches!(c.peek(), Some(b';' | b'\n')) {
        return Err(c.error(ParseErrorKind::MissingValue));
    }
    let value = if c.peek() == Some(b'$') {
        c.bump();
        if !c.eat(b'[') {
            return Err(c.error(ParseErrorKind::UnexpectedByte));
        }
        c.skip_blanks();
        let v = number(&mut c, radix)?;
        c.skip_blanks();
        if !c.eat(b']') {
            return Err(c.error(if c.at_end() {
                ParseErrorKind::UnexpectedEnd
            } else {
                ParseErrorKind::UnexpectedByte
            }));
        }
        v
    } else {
        number(&mut c, radix)?
    };
    // The end of the command: blanks, then optionally one `;` or newline.
    c.skip_blanks();
    if c.eat(b';') || c.eat(b'\n') {
        c.skip_blanks();
        while c.eat(b'\n') {
            c.skip_blanks();
        }
        if !c.at_end() {
            return Err(c.error(ParseErrorKind::ExtraneousInput));
        }
    } else if !c.at_end() {
        return Err(c.error(ParseErrorKind::MultipleValues));
    }
    Ok(MdbWrite {
        module,
        symbol,
        offset,
        width,
        value,
    })
}

/// What an `mdb` write did to a raw variable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawWriteOutcome {
    /// The variable.
    pub name: &'static str,
    /// Its value before the write.
    pub old: u64,
    /// Its value after the write (in force only after the next tick).
    pub new: u64,
}

/// Performs a parsed `mdb -kw` write on the raw variable it names: the
/// variable changes, nothing is validated or applied (that is the next
/// sync tick's job); see the module documentation.
pub fn perform_mdb_write<C: RawCell>(
    raw: &RawVariables<C>,
    w: &MdbWrite,
) -> Result<RawWriteOutcome, AdminError> {
    let var = raw
        .variable(w.symbol.as_str())
        .ok_or(AdminError::UnknownVariable)?;
    if let Some(m) = &w.module {
        if m.as_str() != var.module {
            return Err(AdminError::UnknownVariable);
        }
    }
    let width = w.width.bytes();
    let outside = AdminError::WriteOutsideVariable {
        offset: w.offset,
        width,
    };
    let end = w.offset.checked_add(u64::from(width)).ok_or(outside)?;
    if end > 8 {
        return Err(outside);
    }
    // Little-endian: byte `offset` of the variable is bits offset*8.. of
    // its value.
    let shift = u32::try_from(w.offset.saturating_mul(8)).map_err(|_| outside)?;
    let field = w.width.mask();
    let mask = field.checked_shl(shift).unwrap_or(0);
    let bits = (w.value & field).checked_shl(shift).unwrap_or(0);
    let mut old = var.cell.load();
    loop {
        let new = (old & !mask) | bits;
        match var.cell.compare_exchange(old, new) {
            Ok(_) => {
                return Ok(RawWriteOutcome {
                    name: var.name,
                    old,
                    new,
                })
            }
            Err(now) => old = now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> MdbWrite {
        parse_mdb_write(s.as_bytes()).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    fn err(s: &str) -> ParseErrorKind {
        parse_mdb_write(s.as_bytes()).unwrap_err().kind
    }

    #[test]
    fn radix_prefixes_follow_mdb() {
        assert_eq!(ok("zfs_arc_max/Z 0x200000000").value, 0x2_0000_0000);
        assert_eq!(ok("zfs_arc_max/Z 0X200000000").value, 0x2_0000_0000);
        assert_eq!(ok("zfs_arc_max/Z 0t1000").value, 1000);
        assert_eq!(ok("zfs_arc_max/Z 0T1000").value, 1000);
        assert_eq!(ok("zfs_arc_max/Z 1000").value, 0x1000);
        assert_eq!(ok("zfs_arc_max/Z 0o17").value, 0o17);
        assert_eq!(ok("zfs_arc_max/Z 0i101").value, 5);
        assert_eq!(ok("zfs_arc_max/Z dead").value, 0xdead);
        assert_eq!(ok("zfs_arc_max/Z $[ 0t64 ]").value, 64);
        assert_eq!(
            parse_mdb_write_with_radix(b"zfs_arc_max/Z 1000", 10)
                .unwrap()
                .value,
            1000
        );
        assert_eq!(err("zfs_arc_max/Z 0t1.5"), ParseErrorKind::FloatingPoint);
        assert_eq!(err("zfs_arc_max/Z 0o8"), ParseErrorKind::InvalidDigit);
        assert_eq!(err("zfs_arc_max/Z 0i2"), ParseErrorKind::InvalidDigit);
        assert_eq!(err("zfs_arc_max/Z 0x"), ParseErrorKind::UnexpectedEnd);
        assert_eq!(err("zfs_arc_max/Z 0x1g"), ParseErrorKind::InvalidDigit);
        assert_eq!(
            err("zfs_arc_max/Z 0x10000000000000000"),
            ParseErrorKind::Overflow
        );
        assert_eq!(
            parse_mdb_write_with_radix(b"zfs_arc_max/Z 1", 17)
                .unwrap_err()
                .kind,
            ParseErrorKind::BadRadix
        );
    }

    #[test]
    fn widths_scopes_and_offsets() {
        let w = ok("  zfs`zfs_arc_max + 4 / W 2\n");
        assert_eq!(w.module.as_deref(), Some("zfs"));
        assert_eq!(w.symbol.as_str(), "zfs_arc_max");
        assert_eq!((w.offset, w.width, w.value), (4, WriteWidth::W, 2));
        assert_eq!(ok("x/v 1").width, WriteWidth::V);
        assert_eq!(ok("x/w 1").width, WriteWidth::LowerW);
        assert_eq!(ok("x/z 1").width, WriteWidth::CtfSized);
        assert_eq!(ok("x/Z1;").value, 1);
    }

    #[test]
    fn non_writes_are_refused() {
        assert_eq!(err(""), ParseErrorKind::Empty);
        assert_eq!(err("zfs_arc_max/J"), ParseErrorKind::NotAWrite);
        assert_eq!(err("zfs_arc_max/M 1"), ParseErrorKind::NotAWrite);
        assert_eq!(err("zfs_arc_max\\Z 1"), ParseErrorKind::NotVirtualWrite);
        assert_eq!(err("zfs_arc_max?Z 1"), ParseErrorKind::NotVirtualWrite);
        assert_eq!(err("zfs_arc_max/Z"), ParseErrorKind::MissingValue);
        assert_eq!(err("zfs_arc_max/Z 1 2"), ParseErrorKind::MultipleValues);
        assert_eq!(
            err("zfs_arc_max/Z 1; ::quit"),
            ParseErrorKind::ExtraneousInput
        );
        assert_eq!(err("fffff800/Z 1"), ParseErrorKind::NumericAddress);
        assert_eq!(err("0xfffff800/Z 1"), ParseErrorKind::NumericAddress);
        assert_eq!(err("zfs_arc_max"), ParseErrorKind::UnexpectedEnd);
        assert_eq!(err("`zfs_arc_max/Z 1"), ParseErrorKind::UnexpectedByte);
        assert_eq!(err("zfs`/Z 1"), ParseErrorKind::UnexpectedEnd);
        assert_eq!(err("zfs_arc_max/Z $[1"), ParseErrorKind::UnexpectedEnd);
    }
}
