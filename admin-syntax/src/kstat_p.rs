//! `kstat -p` output, as `cmd/stat/kstat/kstat.c` prints it (std only).
//!
//! One line per statistic, `module:instance:name:statistic`, a TAB, the
//! value. As `kstat -p` does:
//!
//! - kstats are ordered by module (case-insensitively), instance, then
//!   name (case-insensitively), and each selector operand is applied in
//!   turn, so a kstat matched by two operands is printed twice;
//! - each kstat also shows the pseudo-statistics `class`, `crtime` and
//!   `snaptime`, sorted with the others case-insensitively by name;
//! - integers print in decimal, and times (`crtime`, `snaptime`) as
//!   seconds with nine decimals (`%.9f`), or `0` when zero. The seconds
//!   are formatted from the integer nanoseconds, so they are exact where
//!   `kstat`'s double would round beyond about 16 digits.

use std::cmp::Ordering;
use std::fmt::Write as _;

use zfs_tunables::platform::Platform;
use zfs_tunables::Hrtime;

use kstat_export::{Kstat, KstatDataType, KstatId, KstatName, KstatNamed, KstatSet, Sources};

use crate::error::AdminError;
use crate::kstat_operands::{parse_selector, KstatSelector};

/// A statistic's value as `kstat` prints it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StatValue {
    /// `KSTAT_DATA_CHAR`: the characters before the first NUL.
    Char(String),
    /// `KSTAT_DATA_INT32`.
    Int32(i32),
    /// `KSTAT_DATA_UINT32`.
    Uint32(u32),
    /// `KSTAT_DATA_INT64`.
    Int64(i64),
    /// `KSTAT_DATA_UINT64`.
    Uint64(u64),
    /// A time in nanoseconds (`crtime`, `snaptime`).
    Hrtime(u64),
    /// A string (`class`).
    Str(String),
}

impl std::fmt::Display for StatValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StatValue::Char(s) | StatValue::Str(s) => f.write_str(s),
            StatValue::Int32(v) => write!(f, "{v}"),
            StatValue::Uint32(v) => write!(f, "{v}"),
            StatValue::Int64(v) => write!(f, "{v}"),
            StatValue::Uint64(v) => write!(f, "{v}"),
            StatValue::Hrtime(0) => f.write_str("0"),
            StatValue::Hrtime(ns) => write!(f, "{}.{:09}", ns / 1_000_000_000, ns % 1_000_000_000),
        }
    }
}

impl StatValue {
    /// The value of a named statistic. `KSTAT_DATA_STRING` points into
    /// the kstat's data segment, which the model does not carry (none of
    /// the component's kstats has strings): it shows as empty.
    #[must_use]
    pub fn of(named: &KstatNamed) -> StatValue {
        let v = &named.value;
        match named.data_type {
            KstatDataType::CHAR => {
                let end = v
                    .bytes
                    .iter()
                    .position(|&b| b == 0)
                    .unwrap_or(v.bytes.len());
                StatValue::Char(String::from_utf8_lossy(v.bytes.get(..end).unwrap_or(&[])).into())
            }
            KstatDataType::INT32 => StatValue::Int32(i32::from_ne_bytes(v.u32().to_ne_bytes())),
            KstatDataType::UINT32 => StatValue::Uint32(v.u32()),
            KstatDataType::INT64 | KstatDataType::KERNEL_LONG => {
                StatValue::Int64(i64::from_ne_bytes(v.u64().to_ne_bytes()))
            }
            KstatDataType::UINT64 | KstatDataType::KERNEL_ULONG => StatValue::Uint64(v.u64()),
            _ => StatValue::Str(String::new()),
        }
    }

    /// The value if it is an unsigned integer.
    #[must_use]
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            StatValue::Uint64(v) => Some(v),
            StatValue::Uint32(v) => Some(u64::from(v)),
            _ => None,
        }
    }
}

fn text(name: &KstatName) -> String {
    String::from_utf8_lossy(name.bytes().unwrap_or(&name.0)).into_owned()
}

/// A kstat as read, with owned strings: what `kstat` prints from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KstatSnapshot {
    /// `ks_module`.
    pub module: String,
    /// `ks_instance`.
    pub instance: i32,
    /// `ks_name`.
    pub name: String,
    /// `ks_class`.
    pub class: String,
    /// `ks_crtime`.
    pub crtime: Hrtime,
    /// `ks_snaptime`.
    pub snaptime: Hrtime,
    /// The named statistics in `ks_data` order.
    pub data: Vec<(String, StatValue)>,
}

/// `strcasecmp()`.
fn strcasecmp(a: &str, b: &str) -> Ordering {
    a.bytes()
        .map(|c| c.to_ascii_lowercase())
        .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
}

impl KstatSnapshot {
    /// The snapshot of `ks` as last read.
    #[must_use]
    pub fn of(ks: &Kstat) -> KstatSnapshot {
        KstatSnapshot {
            module: text(ks.module()),
            instance: ks.instance(),
            name: text(ks.name()),
            class: text(ks.class()),
            crtime: ks.crtime(),
            snaptime: ks.snaptime(),
            data: ks
                .data()
                .iter()
                // kstat skips entries whose name is empty.
                .filter(|n| n.name.bytes() != Some(&[]))
                .map(|n| (text(&n.name), StatValue::of(n)))
                .collect(),
        }
    }

    /// The value of `statistic`.
    #[must_use]
    pub fn get(&self, statistic: &str) -> Option<&StatValue> {
        self.data
            .iter()
            .find(|(n, _)| n == statistic)
            .map(|(_, v)| v)
    }

    /// The statistics as `kstat -p` lists them: `crtime`, `class`, the
    /// data, `snaptime`, each inserted before the first that does not
    /// sort below it (`nvpair_insert()`).
    #[must_use]
    pub fn listed(&self) -> Vec<(String, StatValue)> {
        let mut out: Vec<(String, StatValue)> = Vec::new();
        let pseudo_first = [
            ("crtime".to_string(), StatValue::Hrtime(self.crtime.0)),
            ("class".to_string(), StatValue::Str(self.class.clone())),
        ];
        let pseudo_last = [("snaptime".to_string(), StatValue::Hrtime(self.snaptime.0))];
        for item in pseudo_first
            .into_iter()
            .chain(self.data.iter().cloned())
            .chain(pseudo_last)
        {
            let at = out
                .iter()
                .position(|(n, _)| strcasecmp(&item.0, n) != Ordering::Greater)
                .unwrap_or(out.len());
            out.insert(at, item);
        }
        out
    }
}

/// Renders `snapshots` as `kstat -p` does with `selectors` as operands
/// (none: everything).
#[must_use]
pub fn render_kstat_p(snapshots: &[KstatSnapshot], selectors: &[KstatSelector]) -> String {
    let mut sorted: Vec<&KstatSnapshot> = snapshots.iter().collect();
    sorted.sort_by(|a, b| {
        strcasecmp(&a.module, &b.module)
            .then(a.instance.cmp(&b.instance))
            .then(strcasecmp(&a.name, &b.name))
    });
    let all = [KstatSelector::all()];
    let selectors = if selectors.is_empty() {
        &all[..]
    } else {
        selectors
    };
    let mut out = String::new();
    for sel in selectors {
        for ks in &sorted {
            if !sel.matches_kstat(ks.module.as_bytes(), ks.instance, ks.name.as_bytes()) {
                continue;
            }
            for (stat, value) in ks.listed() {
                if sel.matches_statistic(stat.as_bytes()) {
                    let _ = writeln!(
                        out,
                        "{}:{}:{}:{}\t{}",
                        ks.module, ks.instance, ks.name, stat, value
                    );
                }
            }
        }
    }
    out
}

/// Reads every kstat of `ks` that exists and returns their snapshots.
pub fn snapshots<P: Platform>(
    ks: &mut KstatSet,
    src: &mut Sources<'_, P>,
    now: Hrtime,
) -> Result<Vec<KstatSnapshot>, AdminError> {
    let mut out = Vec::new();
    for id in KstatId::ALL {
        if KstatSet::exists(id, src) {
            out.push(KstatSnapshot::of(ks.read(id, src, now)?));
        }
    }
    Ok(out)
}

/// `kstat -p operand...` at `now`: reads every kstat of `ks` and prints
/// what the operands (selector strings) select.
pub fn kstat_p<P: Platform>(
    ks: &mut KstatSet,
    src: &mut Sources<'_, P>,
    operands: &[&str],
    now: Hrtime,
) -> Result<String, AdminError> {
    let selectors = operands
        .iter()
        .map(|o| parse_selector(o.as_bytes()))
        .collect::<Result<Vec<_>, _>>()?;
    let snaps = snapshots(ks, src, now)?;
    Ok(render_kstat_p(&snaps, &selectors))
}
