//! `kstat(8)` operands: selectors for reading, and assignments for writing.
//!
//! **Selectors** are `kstat`'s `module:instance:name:statistic` operands
//! (`cmd/stat/kstat/kstat.c`): up to four `:`-separated fields, each a
//! shell glob as `gmatch(3GEN)` reads it (`*`, `?`, `[...]` with `!` and
//! ranges, `\` quoting); an empty or missing field matches everything, and
//! the instance is matched as its decimal text. More than four fields is
//! an error, as `kstat` exits with its usage. `kstat`'s `/regex/` operands
//! are refused with an error: these parsers carry no regex engine, and
//! globs cover the component's names.
//!
//! **Assignments** name exactly one statistic and a value:
//! `module:instance:name:statistic=value`, for example
//! `zfs:0:tunables:zfs_arc_max=8589934592` or `zfs:0:tunables:zfs_arc_max=8G`.
//! No field may be empty or a pattern; the instance is a non-negative
//! decimal. The value is one of:
//!
//! - decimal (`8589934592`), or hex with `0x`/`0X` (`0x200000000`);
//! - a size: a decimal followed by `K`, `M`, `G` or `T` (powers of 1024,
//!   either case), optionally followed by `B` or `iB` (`8G`, `512MiB`,
//!   `1.5T`), the sizes the simulator's scenario files and `zfs(8)`
//!   accept. A fraction must come to a whole number of bytes (`1.5G` is
//!   1610612736; `0.1K` is refused), with at most 19 significant digits
//!   after the point.
//!
//! Blanks around the `=` and at either end are ignored. (`kstat(8)`
//! itself only reads; this is the form the simulator's write requests and
//! the admin command use.) [`write_assignments`] performs parsed requests
//! through the kstat driver's write path.
//!
//! Both parse into fixed-size structures and never allocate.

use heapless::{String, Vec};
use kstat_export::kstat_driver::MAX_NDATA;
use kstat_export::kstat_named::KSTAT_NAME_MAX;
use kstat_export::{Credential, ExportError, KstatId, KstatSet, Sources};
use zfs_tunables::platform::Platform;
use zfs_tunables::Hrtime;

use crate::error::{ParseError, ParseErrorKind};
use crate::lexing::{digit_value, digits_to_u64, fixed_name};

/// The longest glob pattern in one selector field.
pub const PATTERN_MAX: usize = 64;

/// One selector field: a glob pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern(Vec<u8, PATTERN_MAX>);

impl Pattern {
    /// The pattern that matches everything.
    #[must_use]
    pub fn any() -> Pattern {
        let mut v = Vec::new();
        // Cannot fail: one byte fits.
        let _ = v.push(b'*');
        Pattern(v)
    }

    /// The pattern's bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Whether `text` matches, by `gmatch(3GEN)`'s rules.
    #[must_use]
    pub fn matches(&self, text: &[u8]) -> bool {
        glob_match(&self.0, text)
    }
}

/// A parsed `module:instance:name:statistic` selector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KstatSelector {
    /// The module pattern.
    pub module: Pattern,
    /// The instance pattern, matched against the decimal instance.
    pub instance: Pattern,
    /// The kstat name pattern.
    pub name: Pattern,
    /// The statistic pattern.
    pub statistic: Pattern,
}

impl KstatSelector {
    /// The selector that matches every statistic of every kstat.
    #[must_use]
    pub fn all() -> KstatSelector {
        KstatSelector {
            module: Pattern::any(),
            instance: Pattern::any(),
            name: Pattern::any(),
            statistic: Pattern::any(),
        }
    }

    /// Whether the kstat `module:instance:name` is selected.
    #[must_use]
    pub fn matches_kstat(&self, module: &[u8], instance: i32, name: &[u8]) -> bool {
        let mut digits = [0u8; 12];
        let inst = format_i32(instance, &mut digits);
        self.module.matches(module) && self.instance.matches(inst) && self.name.matches(name)
    }

    /// Whether the statistic `statistic` is selected.
    #[must_use]
    pub fn matches_statistic(&self, statistic: &[u8]) -> bool {
        self.statistic.matches(statistic)
    }
}

/// `n` in decimal, in `buf`.
fn format_i32(n: i32, buf: &mut [u8; 12]) -> &[u8] {
    let mut v = i64::from(n).unsigned_abs();
    let mut start = buf.len();
    while let Some(slot) = start.checked_sub(1) {
        start = slot;
        if let Some(b) = buf.get_mut(slot) {
            // Cannot truncate: v % 10 < 10.
            *b = b'0'.saturating_add(u8::try_from(v % 10).unwrap_or(0));
        }
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if n < 0 {
        if let Some(slot) = start.checked_sub(1) {
            start = slot;
            if let Some(b) = buf.get_mut(slot) {
                *b = b'-';
            }
        }
    }
    buf.get(start..).unwrap_or(&[])
}

/// Checks a glob's `[...]` classes are closed.
fn check_glob(p: &[u8], offset: usize) -> Result<(), ParseError> {
    let mut i = 0usize;
    while let Some(&b) = p.get(i) {
        match b {
            b'\\' => i = i.saturating_add(2),
            b'[' => {
                let end = class_end(p, i).ok_or(ParseError::new(
                    ParseErrorKind::UnterminatedClass,
                    offset.saturating_add(i),
                ))?;
                i = end;
            }
            _ => i = i.saturating_add(1),
        }
    }
    Ok(())
}

/// The index just past the `]` closing the class opened at `open`.
fn class_end(p: &[u8], open: usize) -> Option<usize> {
    let mut i = open.saturating_add(1);
    if p.get(i) == Some(&b'!') {
        i = i.saturating_add(1);
    }
    // A `]` first in the class is a member.
    if p.get(i) == Some(&b']') {
        i = i.saturating_add(1);
    }
    loop {
        match p.get(i)? {
            b']' => return Some(i.saturating_add(1)),
            b'\\' => i = i.saturating_add(2),
            _ => i = i.saturating_add(1),
        }
    }
}

/// Whether `c` is in the class opened at `open`; and the index after it.
fn class_match(p: &[u8], open: usize, c: u8) -> Option<(bool, usize)> {
    let end = class_end(p, open)?;
    let mut i = open.saturating_add(1);
    let negate = p.get(i) == Some(&b'!');
    if negate {
        i = i.saturating_add(1);
    }
    let close = end.saturating_sub(1);
    let mut hit = false;
    let mut first = true;
    while i < close {
        let mut lo = *p.get(i)?;
        if lo == b'\\' && !first {
            i = i.saturating_add(1);
            lo = *p.get(i)?;
        }
        first = false;
        if p.get(i.saturating_add(1)) == Some(&b'-') && i.saturating_add(2) < close {
            let hi = *p.get(i.saturating_add(2))?;
            hit |= lo <= c && c <= hi;
            i = i.saturating_add(3);
        } else {
            hit |= lo == c;
            i = i.saturating_add(1);
        }
    }
    Some((hit != negate, end))
}

/// `gmatch(3GEN)`: `*`, `?`, `[...]` (with `!` and ranges) and `\`.
/// Iterative, backtracking only to the last `*`, so the cost is bounded
/// by the product of the lengths.
#[must_use]
pub fn glob_match(pat: &[u8], text: &[u8]) -> bool {
    let mut p = 0usize;
    let mut t = 0usize;
    // Where to resume after the last `*`: (pattern index, text index).
    let mut star: Option<(usize, usize)> = None;
    loop {
        if let Some(&pc) = pat.get(p) {
            if pc == b'*' {
                p = p.saturating_add(1);
                star = Some((p, t));
                continue;
            }
            if let Some(&tc) = text.get(t) {
                let step = match pc {
                    b'?' => Some(p.saturating_add(1)),
                    b'[' => match class_match(pat, p, tc) {
                        Some((true, next)) => Some(next),
                        _ => None,
                    },
                    b'\\' => match pat.get(p.saturating_add(1)) {
                        Some(&lit) if lit == tc => Some(p.saturating_add(2)),
                        _ => None,
                    },
                    lit if lit == tc => Some(p.saturating_add(1)),
                    _ => None,
                };
                if let Some(next) = step {
                    p = next;
                    t = t.saturating_add(1);
                    continue;
                }
            }
        } else if t >= text.len() {
            return true;
        }
        match star {
            Some((sp, st)) if st < text.len() => {
                let st = st.saturating_add(1);
                star = Some((sp, st));
                p = sp;
                t = st;
            }
            _ => return false,
        }
    }
}

/// One selector field from `field`, which starts at `offset`.
fn pattern(field: &[u8], offset: usize) -> Result<Pattern, ParseError> {
    if field.is_empty() {
        return Ok(Pattern::any());
    }
    if field.len() >= 2 && field.first() == Some(&b'/') && field.last() == Some(&b'/') {
        return Err(ParseError::new(ParseErrorKind::RegexUnsupported, offset));
    }
    check_glob(field, offset)?;
    Vec::from_slice(field)
        .map(Pattern)
        .map_err(|_| ParseError::new(ParseErrorKind::PatternTooLong, offset))
}

/// Parses a `module:instance:name:statistic` selector (see the module
/// documentation).
pub fn parse_selector(input: &[u8]) -> Result<KstatSelector, ParseError> {
    let mut sel = KstatSelector::all();
    let mut offset = 0usize;
    for (n, field) in input.split(|&b| b == b':').enumerate() {
        let p = pattern(field, offset)?;
        match n {
            0 => sel.module = p,
            1 => sel.instance = p,
            2 => sel.name = p,
            3 => sel.statistic = p,
            _ => return Err(ParseError::new(ParseErrorKind::TooManyFields, offset)),
        }
        offset = offset.saturating_add(field.len()).saturating_add(1);
    }
    Ok(sel)
}

/// A parsed `module:instance:name:statistic=value` write request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KstatAssignment {
    /// The module.
    pub module: String<KSTAT_NAME_MAX>,
    /// The instance.
    pub instance: i32,
    /// The kstat's name.
    pub name: String<KSTAT_NAME_MAX>,
    /// The statistic.
    pub statistic: String<KSTAT_NAME_MAX>,
    /// The value to write.
    pub value: u64,
}

fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// `input[start..end]` without blanks at either end, with its new start.
fn trim(input: &[u8], start: usize) -> (&[u8], usize) {
    let lead = input.iter().take_while(|&&b| is_blank(b)).count();
    let trail = input.iter().rev().take_while(|&&b| is_blank(b)).count();
    let end = input.len().saturating_sub(trail);
    match input.get(lead..end) {
        Some(s) => (s, start.saturating_add(lead)),
        None => (&[], start.saturating_add(lead)),
    }
}

/// One name field of an assignment.
fn name_field(field: &[u8], offset: usize) -> Result<String<KSTAT_NAME_MAX>, ParseError> {
    if field.is_empty() {
        return Err(ParseError::new(ParseErrorKind::Wildcard, offset));
    }
    if let Some(i) = field.iter().position(|&b| matches!(b, b'*' | b'?' | b'[')) {
        return Err(ParseError::new(
            ParseErrorKind::Wildcard,
            offset.saturating_add(i),
        ));
    }
    if let Some(i) = field.iter().position(|&b| !b.is_ascii_graphic()) {
        return Err(ParseError::new(
            ParseErrorKind::UnexpectedByte,
            offset.saturating_add(i),
        ));
    }
    fixed_name::<KSTAT_NAME_MAX>(field, offset)
}

/// Parses a `module:instance:name:statistic=value` write request (see
/// the module documentation).
pub fn parse_assignment(input: &[u8]) -> Result<KstatAssignment, ParseError> {
    let (line, base) = trim(input, 0);
    if line.is_empty() {
        return Err(ParseError::new(ParseErrorKind::Empty, base));
    }
    let eq = line.iter().position(|&b| b == b'=').ok_or(ParseError::new(
        ParseErrorKind::MissingValue,
        base.saturating_add(line.len()),
    ))?;
    let (lhs, lhs_at) = trim(line.get(..eq).unwrap_or(&[]), base);
    let rhs_start = eq.saturating_add(1);
    let (rhs, rhs_at) = trim(
        line.get(rhs_start..).unwrap_or(&[]),
        base.saturating_add(rhs_start),
    );

    let mut fields: [(&[u8], usize); 4] = [(&[], 0); 4];
    let mut count = 0usize;
    let mut offset = lhs_at;
    for field in lhs.split(|&b| b == b':') {
        let slot = fields
            .get_mut(count)
            .ok_or(ParseError::new(ParseErrorKind::TooManyFields, offset))?;
        *slot = (field, offset);
        count = count.saturating_add(1);
        offset = offset.saturating_add(field.len()).saturating_add(1);
    }
    if count < 4 {
        return Err(ParseError::new(ParseErrorKind::MissingField, offset));
    }
    let [(m, m_at), (i, i_at), (n, n_at), (s, s_at)] = fields;
    let module = name_field(m, m_at)?;
    let instance = if i.iter().any(|&b| matches!(b, b'*' | b'?' | b'[')) || i.is_empty() {
        return Err(ParseError::new(ParseErrorKind::Wildcard, i_at));
    } else if !i.iter().all(u8::is_ascii_digit) {
        return Err(ParseError::new(ParseErrorKind::BadInstance, i_at));
    } else {
        let v = digits_to_u64(i, 10, i_at)
            .map_err(|_| ParseError::new(ParseErrorKind::BadInstance, i_at))?;
        i32::try_from(v).map_err(|_| ParseError::new(ParseErrorKind::BadInstance, i_at))?
    };
    let name = name_field(n, n_at)?;
    let statistic = name_field(s, s_at)?;

    if rhs.is_empty() {
        return Err(ParseError::new(ParseErrorKind::MissingValue, rhs_at));
    }
    let value = match rhs {
        [b'0', b'x' | b'X', digits @ ..] => digits_to_u64(digits, 16, rhs_at.saturating_add(2))?,
        _ => size_value(rhs, rhs_at)?,
    };
    Ok(KstatAssignment {
        module,
        instance,
        name,
        statistic,
        value,
    })
}

/// The most significant digits a size's fraction may have.
const FRACTION_DIGITS_MAX: usize = 19;

/// A decimal value, or a size with a `K`, `M`, `G` or `T` suffix (see the
/// module documentation); `at` is where `value` starts in the input.
fn size_value(value: &[u8], at: usize) -> Result<u64, ParseError> {
    let digits = |b: &[u8]| b.iter().take_while(|b| b.is_ascii_digit()).count();
    let int_len = digits(value);
    let (int, rest) = value.split_at_checked(int_len).unwrap_or((value, &[]));
    let rest_at = at.saturating_add(int_len);
    let (frac, rest, rest_at) = match rest {
        [b'.', after @ ..] => {
            let n = digits(after);
            let (frac, rest) = after.split_at_checked(n).unwrap_or((after, &[]));
            (frac, rest, rest_at.saturating_add(1).saturating_add(n))
        }
        _ => (&[][..], rest, rest_at),
    };
    if int.is_empty() && frac.is_empty() {
        return Err(ParseError::new(
            if rest.is_empty() {
                ParseErrorKind::UnexpectedEnd
            } else {
                ParseErrorKind::InvalidDigit
            },
            rest_at,
        ));
    }
    let (shift, unit) = match rest {
        [b'K' | b'k', unit @ ..] => (10u32, unit),
        [b'M' | b'm', unit @ ..] => (20, unit),
        [b'G' | b'g', unit @ ..] => (30, unit),
        [b'T' | b't', unit @ ..] => (40, unit),
        unit => (0, unit),
    };
    let unit_at = if shift == 0 {
        rest_at
    } else {
        rest_at.saturating_add(1)
    };
    match unit {
        [] | [b'B'] => {}
        [b'i', b'B'] if shift != 0 => {}
        _ => return Err(ParseError::new(ParseErrorKind::InvalidDigit, unit_at)),
    }
    let whole = if int.is_empty() {
        0
    } else {
        digits_to_u64(int, 10, at)?
    };
    let overflow = ParseError::new(ParseErrorKind::Overflow, at);
    let whole = whole.checked_mul(1u64 << shift).ok_or(overflow)?;
    // The fraction, exactly: frac / 10^len * 2^shift must be an integer.
    let significant = frac
        .iter()
        .rposition(|&b| b != b'0')
        .map_or(0, |i| i.saturating_add(1));
    let frac = frac.get(..significant).unwrap_or(&[]);
    if frac.is_empty() {
        return Ok(whole);
    }
    let not_whole = ParseError::new(ParseErrorKind::NotWholeBytes, at);
    if frac.len() > FRACTION_DIGITS_MAX {
        return Err(not_whole);
    }
    let mut numerator: u128 = 0;
    let mut denominator: u128 = 1;
    for &b in frac {
        let d = digit_value(b, 10).ok_or(not_whole)?;
        numerator = numerator
            .checked_mul(10)
            .and_then(|n| n.checked_add(u128::from(d)))
            .ok_or(not_whole)?;
        denominator = denominator.checked_mul(10).ok_or(not_whole)?;
    }
    let scaled = numerator.checked_mul(1u128 << shift).ok_or(not_whole)?;
    if scaled.checked_rem(denominator) != Some(0) {
        return Err(not_whole);
    }
    let part = scaled.checked_div(denominator).ok_or(not_whole)?;
    let part = u64::try_from(part).map_err(|_| overflow)?;
    whole.checked_add(part).ok_or(overflow)
}

/// Performs parsed `module:instance:name:statistic=value` requests as
/// root would with `kstat_write(3KSTAT)`: one [`KstatSet::write_values`]
/// per kstat named, so the values for one kstat are applied together or
/// not at all (writes to different kstats are independent, as kstat
/// writes are). Every request must name an existing kstat (`ENOENT`)
/// before anything is written.
pub fn write_assignments<P: Platform>(
    ks: &mut KstatSet,
    src: &mut Sources<'_, P>,
    requests: &[KstatAssignment],
    cred: Credential,
    now: Hrtime,
) -> Result<(), ExportError> {
    for r in requests {
        let id = KstatId::find(&r.module, r.instance, &r.name).ok_or(ExportError::NoSuchKstat)?;
        if !KstatSet::exists(id, src) {
            return Err(ExportError::NoSuchKstat);
        }
    }
    for id in KstatId::ALL {
        let mut values: Vec<(&str, u64), MAX_NDATA> = Vec::new();
        for r in requests {
            if KstatId::find(&r.module, r.instance, &r.name) == Some(id) {
                values
                    .push((r.statistic.as_str(), r.value))
                    .map_err(|_| ExportError::Full)?;
            }
        }
        if !values.is_empty() {
            ks.write_values(id, src, &values, cred, now)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_follow_gmatch() {
        assert!(glob_match(b"*", b""));
        assert!(glob_match(b"zfs", b"zfs"));
        assert!(!glob_match(b"zfs", b"zfs0"));
        assert!(glob_match(b"arc_*", b"arc_headroom"));
        assert!(glob_match(b"*_max", b"zfs_arc_max"));
        assert!(glob_match(b"c_m??", b"c_max"));
        assert!(glob_match(b"c_m[ai][nx]", b"c_min"));
        assert!(!glob_match(b"c_m[!a]x", b"c_max"));
        assert!(glob_match(b"[a-c]*", b"c_max"));
        assert!(glob_match(b"a\\*", b"a*"));
        assert!(!glob_match(b"a\\*", b"ab"));
        assert!(glob_match(b"*a*b*c*", b"xxaxxbxxcxx"));
        assert!(!glob_match(b"*a*b*c*", b"xxaxxcxxbxx"));
    }

    #[test]
    fn selectors_follow_kstat() {
        let s = parse_selector(b"zfs:0:arcstats:c_max").unwrap();
        assert!(s.matches_kstat(b"zfs", 0, b"arcstats"));
        assert!(!s.matches_kstat(b"zfs", 1, b"arcstats"));
        assert!(s.matches_statistic(b"c_max"));
        let s = parse_selector(b"zfs::arc*").unwrap();
        assert!(s.matches_kstat(b"zfs", 12, b"arc_headroom"));
        assert!(s.matches_statistic(b"anything"));
        let s = parse_selector(b"::tunables").unwrap();
        assert!(s.matches_kstat(b"zfs", -3, b"tunables"));
        assert_eq!(
            parse_selector(b"a:b:c:d:e").unwrap_err().kind,
            ParseErrorKind::TooManyFields
        );
        assert_eq!(
            parse_selector(b"zfs:0:/arc.*/").unwrap_err().kind,
            ParseErrorKind::RegexUnsupported
        );
        assert_eq!(
            parse_selector(b"zfs:0:[abc").unwrap_err(),
            ParseError::new(ParseErrorKind::UnterminatedClass, 6)
        );
        let mut buf = [0u8; 12];
        assert_eq!(format_i32(i32::MIN, &mut buf), b"-2147483648");
        assert_eq!(format_i32(0, &mut buf), b"0");
    }

    #[test]
    fn assignments_name_one_statistic() {
        let a = parse_assignment(b" zfs:0:tunables:zfs_arc_max = 0x200000000\n").unwrap();
        assert_eq!(
            (
                a.module.as_str(),
                a.instance,
                a.name.as_str(),
                a.statistic.as_str(),
                a.value
            ),
            ("zfs", 0, "tunables", "zfs_arc_max", 0x2_0000_0000)
        );
        assert_eq!(
            parse_assignment(b"zfs:0:tunables:zfs_arc_max=1000")
                .unwrap()
                .value,
            1000
        );
        let kind = |s: &[u8]| parse_assignment(s).unwrap_err().kind;
        assert_eq!(kind(b""), ParseErrorKind::Empty);
        assert_eq!(
            kind(b"zfs:0:tunables:zfs_arc_max"),
            ParseErrorKind::MissingValue
        );
        assert_eq!(
            kind(b"zfs:0:tunables:zfs_arc_max="),
            ParseErrorKind::MissingValue
        );
        assert_eq!(kind(b"zfs:0:tunables=1"), ParseErrorKind::MissingField);
        assert_eq!(kind(b"zfs:0:tunables:a:b=1"), ParseErrorKind::TooManyFields);
        assert_eq!(kind(b"zfs:*:tunables:a=1"), ParseErrorKind::Wildcard);
        assert_eq!(kind(b"zfs:0:tunables:zfs_*=1"), ParseErrorKind::Wildcard);
        assert_eq!(kind(b"zfs:0::zfs_arc_max=1"), ParseErrorKind::Wildcard);
        assert_eq!(kind(b"zfs:-1:tunables:a=1"), ParseErrorKind::BadInstance);
        assert_eq!(
            kind(b"zfs:2147483648:tunables:a=1"),
            ParseErrorKind::BadInstance
        );
        assert_eq!(kind(b"zfs:0:tunables:a=12x"), ParseErrorKind::InvalidDigit);
        assert_eq!(kind(b"zfs:0:tunables:a=0x"), ParseErrorKind::UnexpectedEnd);
        assert_eq!(
            kind(b"zfs:0:tunables:a=18446744073709551616"),
            ParseErrorKind::Overflow
        );
        assert_eq!(
            kind(b"zfs:0:tunables:abcdefghijklmnopqrstuvwxyz012345=1"),
            ParseErrorKind::NameTooLong
        );
    }

    #[test]
    fn assignments_take_sizes_with_binary_suffixes() {
        let value = |v: &str| parse_assignment(format!("zfs:0:tunables:x={v}").as_bytes());
        let gib = 1u64 << 30;
        for (text, want) in [
            ("8G", 8 * gib),
            ("8g", 8 * gib),
            ("8GiB", 8 * gib),
            ("8GB", 8 * gib),
            ("512M", 512 << 20),
            ("64K", 64 << 10),
            ("1T", 1 << 40),
            ("1.5G", 3 * gib / 2),
            ("1.50G", 3 * gib / 2),
            ("0.5K", 512),
            ("16777215T", 16_777_215 << 40),
            ("4096B", 4096),
            ("2.0", 2),
            (".5K", 512),
            ("0.0000000000000000000000K", 0),
        ] {
            assert_eq!(value(text).map(|a| a.value), Ok(want), "{text}");
        }
        let err = |v: &str| value(v).unwrap_err();
        // More significant fraction digits than the parser takes.
        assert_eq!(
            err("1.99999999999999999999T").kind,
            ParseErrorKind::NotWholeBytes
        );
        assert_eq!(err("0.1K").kind, ParseErrorKind::NotWholeBytes);
        assert_eq!(err("1.5").kind, ParseErrorKind::NotWholeBytes);
        assert_eq!(err("16777216T").kind, ParseErrorKind::Overflow);
        assert_eq!(err("8X"), ParseError::new(ParseErrorKind::InvalidDigit, 18));
        assert_eq!(
            err("8Gb"),
            ParseError::new(ParseErrorKind::InvalidDigit, 19)
        );
        assert_eq!(
            err("8iB"),
            ParseError::new(ParseErrorKind::InvalidDigit, 18)
        );
        assert_eq!(err("G"), ParseError::new(ParseErrorKind::InvalidDigit, 17));
        assert_eq!(err("."), ParseError::new(ParseErrorKind::UnexpectedEnd, 18));
        assert_eq!(err("0x10G").kind, ParseErrorKind::InvalidDigit);
    }
}
