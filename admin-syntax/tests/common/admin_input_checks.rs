//! What must hold after any admin input, whatever its bytes.
//!
//! One statement of the invariants of the four input paths, driven from
//! two sides: the property tests in `admin_input_invariants.rs` (stable,
//! run in CI) feed them grammar-shaped input, and the fuzz targets under
//! `fuzz/` (nightly, libFuzzer) include this file and feed them whatever
//! coverage leads to. Each check builds its host with `host`, which must
//! return the same state every time: the oracles build a twin with it and
//! ask the core what the answer must be. A broken invariant panics.

use admin_syntax::{
    apply_etc_system, parse_assignment, parse_mdb_write, parse_system_line, perform_mdb_write,
    write_assignments, AdminError, BootReport, FindingKind, KstatAssignment, SystemLine,
};
use kstat_export::kstat_driver::MAX_NDATA;
use kstat_export::message::MESSAGE_MAX;
use kstat_export::{
    format_message, Credential, ExportError, KstatDataType, KstatId, KstatName, KstatNamed,
    KstatSet, KstatValue, RawSyncWarning, RawVariables, Sources, SyncOutcome,
};
use zfs_tunables::errno::{EACCES, EINVAL, ENOENT, ENOSPC, EPERM};
use zfs_tunables::std_platform::StdPlatform;
use zfs_tunables::sync::AtomicU64;
use zfs_tunables::{ArcTunables, Bytes, HeadroomStats, Hrtime, LimitsSnapshot, TunableFlags};

/// The component every check runs on.
pub type Host = ArcTunables<StdPlatform>;

const NOW: Hrtime = Hrtime(5_000_000_000);

/// Everything a refused input must leave as it was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observed {
    /// Every registered tunable and its value, in registry order.
    pub values: Vec<(&'static str, u64)>,
    /// The published limits.
    pub limits: LimitsSnapshot,
    /// The headroom figures.
    pub headroom: HeadroomStats,
    /// Every raw variable: its value and its last-applied value.
    pub raw: Vec<(&'static str, Option<u64>, Option<u64>)>,
}

/// What `t` and `raw` show now.
pub fn observe(t: &Host, raw: &RawVariables<AtomicU64>) -> Observed {
    let mut values = Vec::new();
    t.for_each_tunable(|e| values.push((e.desc.name, e.value)));
    let raw = raw
        .names()
        .map(|n| (n, raw.raw_value(n), raw.last_applied(n)))
        .collect();
    Observed {
        values,
        limits: t.limits(),
        headroom: t.headroom_stats(),
        raw,
    }
}

/// The runtime tunables and their values: what `zfs:0:tunables` shows.
pub fn dynamic_values(t: &Host) -> Vec<(&'static str, u64)> {
    let mut out = Vec::new();
    t.for_each_tunable(|e| {
        if e.desc.flags.contains(TunableFlags::DYNAMIC) {
            out.push((e.desc.name, e.value));
        }
    });
    out
}

/// The limits are ordered as the ARC needs them, and `reserved` bytes
/// of headroom are still held.
pub fn assert_limits_consistent(t: &Host, reserved: Bytes) {
    let l = t.limits();
    assert!(
        l.c_min <= l.c && l.c <= l.c_max,
        "limits out of order: {l:?}"
    );
    let h = t.headroom_stats();
    assert_eq!(h.c_max_effective, l.c_max, "c_max is the effective ceiling");
    assert!(h.c_max_effective <= h.c_max_base, "{h:?}");
    assert_eq!(h.reserved, reserved, "the reservations are untouched");
}

/// The size of a `kstat_named_t` on LP64.
pub const KSTAT_NAMED_SIZE: usize = 48;

/// A caller's `ks_data` from its bytes: 48 bytes an entry (name[31],
/// data_type, the 16-byte value union in native order); a trailing
/// partial entry is dropped.
pub fn kstat_named_from_bytes(bytes: &[u8]) -> Vec<KstatNamed> {
    bytes
        .chunks_exact(KSTAT_NAMED_SIZE)
        .map(|c| {
            let mut name = [0u8; 31];
            name.copy_from_slice(&c[..31]);
            let mut value = [0u8; 16];
            value.copy_from_slice(&c[32..]);
            KstatNamed {
                name: KstatName(name),
                data_type: KstatDataType(c[31]),
                value: KstatValue { bytes: value },
            }
        })
        .collect()
}

/// How a buffer write is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BufferWrite {
    /// The caller lacks `sys_config`.
    pub unprivileged: bool,
    /// The buffer goes to `zfs:0:arcstats` (read-only) instead.
    pub to_arcstats: bool,
    /// No raw variables are told of the applied values.
    pub without_raw: bool,
}

impl BufferWrite {
    /// From the low three bits of `flags`.
    pub fn from_bits(flags: u8) -> BufferWrite {
        BufferWrite {
            unprivileged: flags & 1 != 0,
            to_arcstats: flags & 2 != 0,
            without_raw: flags & 4 != 0,
        }
    }
}

/// What a buffer write must return (errno on refusal): the driver's
/// checks in illumos's order, then `set_many` of the changed values on a
/// twin host.
fn expected_buffer_outcome(
    host: &dyn Fn() -> Host,
    how: BufferWrite,
    buf: &[KstatNamed],
) -> Result<(), i32> {
    if how.unprivileged {
        return Err(EPERM);
    }
    if how.to_arcstats {
        return Err(EACCES);
    }
    let twin = host();
    let live = dynamic_values(&twin);
    if buf.len() != live.len() {
        return Err(EINVAL);
    }
    let mut writes = Vec::new();
    for (e, &(name, value)) in buf.iter().zip(&live) {
        if e.data_type != KstatDataType::UINT64 || !e.name.is(name) {
            return Err(EINVAL);
        }
        if e.value.u64() != value {
            writes.push((name, e.value.u64()));
        }
    }
    if writes.is_empty() {
        return Ok(());
    }
    twin.set_many(&writes).map_err(|e| e.to_errno())
}

/// A caller's buffer written to `zfs:0:tunables` (or `zfs:0:arcstats`)
/// as `kstat_write()` would: a refusal changes nothing; an acceptance
/// leaves exactly the buffer's values in force and in the raw variables;
/// and the errno is the one the rules give. Returns that outcome.
pub fn check_kstat_buffer_write(
    host: &dyn Fn() -> Host,
    how: BufferWrite,
    buf: &[KstatNamed],
) -> Result<(), i32> {
    let expected = expected_buffer_outcome(host, how, buf);
    let t = host();
    let mut raw = RawVariables::with_owned_cells(&t).expect("the raw variables bind");
    let mut ks = KstatSet::new(NOW).expect("the kstats are created");
    let before = observe(&t, &raw);
    let id = if how.to_arcstats {
        KstatId::Arcstats
    } else {
        KstatId::Tunables
    };
    let cred = if how.unprivileged {
        Credential::Unprivileged
    } else {
        Credential::SysConfig
    };
    let result = {
        let mut src = Sources {
            tunables: &t,
            arc_resv: None,
            raw: if how.without_raw {
                None
            } else {
                Some(&mut raw)
            },
        };
        ks.write(id, &mut src, buf, cred, NOW)
    };
    let after = observe(&t, &raw);
    match result {
        Err(e) => {
            assert_eq!(after, before, "the refused write ({e}) changed something");
            assert!(!e.to_string().is_empty());
        }
        Ok(()) => {
            let live = dynamic_values(&t);
            assert_eq!(buf.len(), live.len());
            for (e, &(name, value)) in buf.iter().zip(&live) {
                assert!(e.name.is(name), "{name} written under another name");
                assert_eq!(e.as_u64(), Some(value), "{name} is not what was written");
                if !how.without_raw {
                    assert_eq!(raw.raw_value(name), Some(value), "{name}'s variable");
                    assert_eq!(raw.last_applied(name), Some(value), "{name}'s last applied");
                }
            }
        }
    }
    assert_eq!(
        result.map_err(ExportError::to_errno),
        expected,
        "the write disagrees with the driver's rules and set_many"
    );
    assert_limits_consistent(&t, before.headroom.reserved);
    expected
}

/// What a set of assignments must do.
enum Expected {
    /// Exactly this result (errno on refusal).
    Outcome(Result<(), i32>),
    /// A refusal with one of these errnos.
    RefusedWith(&'static [i32]),
}

/// What `write_assignments` must return for `requests` (no vmm
/// statistics are supplied, so `vmm:0:arc_resv` does not exist).
fn expected_assignments_outcome(host: &dyn Fn() -> Host, requests: &[KstatAssignment]) -> Expected {
    let mut ids = Vec::new();
    for r in requests {
        match KstatId::find(&r.module, r.instance, &r.name) {
            None | Some(KstatId::ArcResv) => return Expected::Outcome(Err(ENOENT)),
            Some(id) => ids.push(id),
        }
    }
    if ids.iter().any(|&id| id != KstatId::Tunables) {
        // A read-only kstat: which refusal comes first depends on the
        // statistics named and on how many there are.
        return Expected::RefusedWith(&[ENOENT, EACCES, ENOSPC]);
    }
    if requests.len() > MAX_NDATA {
        return Expected::Outcome(Err(ENOSPC));
    }
    let twin = host();
    let live = dynamic_values(&twin);
    let mut values = live.clone();
    for r in requests {
        match values.iter_mut().find(|(n, _)| *n == r.statistic.as_str()) {
            Some(slot) => slot.1 = r.value,
            None => return Expected::Outcome(Err(ENOENT)),
        }
    }
    let writes: Vec<_> = values
        .iter()
        .zip(&live)
        .filter(|(new, old)| new.1 != old.1)
        .map(|(new, _)| *new)
        .collect();
    if writes.is_empty() {
        return Expected::Outcome(Ok(()));
    }
    Expected::Outcome(twin.set_many(&writes).map_err(|e| e.to_errno()))
}

/// Text, one `module:instance:name:statistic=value` a line: every line
/// parses or fails at an offset inside it; what parses names one
/// statistic; the requests are written together as root, a refusal
/// changes nothing, an acceptance leaves each statistic's last value in
/// force, and the outcome is the one the rules give. Returns that
/// outcome, or `None` when no line parsed.
pub fn check_assignment_lines(host: &dyn Fn() -> Host, text: &[u8]) -> Option<Result<(), i32>> {
    let mut requests = Vec::new();
    for line in text.split(|&b| b == b'\n') {
        match parse_assignment(line) {
            Ok(r) => {
                assert!(r.instance >= 0);
                for name in [&r.module, &r.name, &r.statistic] {
                    assert!(!name.is_empty() && name.len() <= 30, "{r:?}");
                    assert!(name.bytes().all(|b| b.is_ascii_graphic()), "{r:?}");
                    assert!(!name.contains(['*', '?', '[', ':', '=']), "{r:?}");
                }
                requests.push(r);
            }
            Err(e) => {
                assert!(e.offset <= line.len(), "{e:?} past the end of {line:?}");
                assert!(!e.to_string().is_empty());
            }
        }
    }
    if requests.is_empty() {
        return None;
    }
    let expected = expected_assignments_outcome(host, &requests);
    let t = host();
    let mut raw = RawVariables::with_owned_cells(&t).expect("the raw variables bind");
    let mut ks = KstatSet::new(NOW).expect("the kstats are created");
    let before = observe(&t, &raw);
    let result = {
        let mut src = Sources {
            tunables: &t,
            arc_resv: None,
            raw: Some(&mut raw),
        };
        write_assignments(&mut ks, &mut src, &requests, Credential::SysConfig, NOW)
    };
    let after = observe(&t, &raw);
    match result {
        Err(e) => assert_eq!(after, before, "the refused write ({e}) changed something"),
        Ok(()) => {
            for (name, value) in dynamic_values(&t) {
                let want = match requests.iter().rev().find(|r| r.statistic == name) {
                    Some(r) => r.value,
                    None => before
                        .values
                        .iter()
                        .find(|v| v.0 == name)
                        .map_or(0, |v| v.1),
                };
                assert_eq!(value, want, "{name}");
                assert_eq!(raw.raw_value(name), Some(value), "{name}'s variable");
            }
        }
    }
    match expected {
        Expected::RefusedWith(errnos) => {
            let errno = result.expect_err("a write to a read-only kstat").to_errno();
            assert!(errnos.contains(&errno), "errno {errno}");
        }
        Expected::Outcome(o) => assert_eq!(result.map_err(ExportError::to_errno), o),
    }
    assert_limits_consistent(&t, before.headroom.reserved);
    Some(result.map_err(ExportError::to_errno))
}

/// One `mdb -kw` command performed on the raw variables: a parse error
/// points inside the line; a write changes exactly the bytes it names of
/// one variable and nothing in force; a refused write changes nothing.
fn mdb_command(t: &Host, raw: &RawVariables<AtomicU64>, line: &[u8]) {
    let w = match parse_mdb_write(line) {
        Ok(w) => w,
        Err(e) => {
            assert!(e.offset <= line.len(), "{e:?} past the end of {line:?}");
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    assert!(!w.symbol.is_empty());
    let before = observe(t, raw);
    match perform_mdb_write(raw, &w) {
        Err(e) => {
            assert!(
                matches!(
                    e,
                    AdminError::UnknownVariable | AdminError::WriteOutsideVariable { .. }
                ),
                "{e:?}"
            );
            assert_eq!(
                observe(t, raw),
                before,
                "the refused mdb write changed something"
            );
        }
        Ok(out) => {
            let shift = 8 * u32::try_from(w.offset).expect("within the variable");
            let mask = w.width.mask() << shift;
            assert_eq!(
                out.new & !mask,
                out.old & !mask,
                "bytes outside the write changed"
            );
            assert_eq!(
                out.new & mask,
                (w.value << shift) & mask,
                "the written bytes"
            );
            assert_eq!(raw.raw_value(out.name), Some(out.new));
            let after = observe(t, raw);
            assert_eq!(
                after.values, before.values,
                "an mdb write applied something"
            );
            assert_eq!(after.limits, before.limits, "an mdb write moved a limit");
            for (b, a) in before.raw.iter().zip(&after.raw) {
                if a.0 != out.name {
                    assert_eq!(a, b, "another variable changed");
                }
            }
        }
    }
}

/// One sync tick: afterwards every variable holds the value in force;
/// every variable `mdb` changed was either applied (and is in force) or
/// refused, restored to the value kept before the tick and reported once
/// with both values; a tick that applied nothing changed nothing.
fn sync_tick(t: &Host, raw: &mut RawVariables<AtomicU64>) -> SyncOutcome {
    let before = observe(t, raw);
    // (name, raw value, value in force) of every variable mdb changed.
    let changed: Vec<(&str, u64, u64)> = before
        .raw
        .iter()
        .filter_map(|&(name, value, last)| {
            let value = value?;
            let live = before.values.iter().find(|v| v.0 == name)?.1;
            (Some(value) != last).then_some((name, value, live))
        })
        .collect();
    let mut warnings: Vec<RawSyncWarning> = Vec::new();
    let out = raw.sync_tick(t, &mut |w| warnings.push(*w));
    let after = observe(t, raw);

    assert_eq!(out.followed, 0, "nothing but mdb changed anything");
    assert_eq!(
        (out.applied + out.refused) as usize,
        changed.len(),
        "{out:?} for {changed:?}"
    );
    assert_eq!(out.refused as usize, warnings.len());
    for &(name, value, last) in &after.raw {
        let live = t.get(name).expect("registered");
        assert_eq!(value, Some(live), "{name}'s variable after the tick");
        assert_eq!(last, Some(live), "{name}'s last applied value");
    }
    for w in &warnings {
        let &(_, refused, kept) = changed
            .iter()
            .find(|c| c.0 == w.name)
            .expect("a warning names a variable mdb changed");
        assert_eq!(w.refused, refused);
        assert_eq!(w.kept, kept, "the value in force before the tick is kept");
        assert_eq!(t.get(w.name), Ok(kept), "{w}");
        assert_ne!(w.error.to_errno(), 0);
        assert_eq!(warnings.iter().filter(|x| x.name == w.name).count(), 1);
        let text = w.to_string();
        assert!(text.contains(w.name) && text.contains("refused"), "{text}");
        // What the kernel hands cmn_err: the same text, cut to fit.
        let message = format_message::<MESSAGE_MAX>(w);
        assert!(!message.is_empty() && text.starts_with(message.as_str()));
    }
    for &(name, value, _) in &changed {
        if !warnings.iter().any(|w| w.name == name) {
            assert_eq!(t.get(name), Ok(value), "{name} was applied");
        }
    }
    if out.applied == 0 {
        assert_eq!(
            after.values, before.values,
            "a refused raw write changed a tunable"
        );
        assert_eq!(
            after.limits, before.limits,
            "a refused raw write moved a limit"
        );
    }
    assert_limits_consistent(t, before.headroom.reserved);
    out
}

/// Text, one `mdb -kw` command a line, an empty line for a sync tick and
/// one more tick at the end (see [`mdb_command`] and [`sync_tick`]). The
/// whole text is also parsed as one command. Returns what the ticks did,
/// added up.
pub fn check_mdb_session(host: &dyn Fn() -> Host, text: &[u8]) -> SyncOutcome {
    if let Err(e) = parse_mdb_write(text) {
        assert!(e.offset <= text.len(), "{e:?}");
    }
    let t = host();
    let mut raw = RawVariables::with_owned_cells(&t).expect("the raw variables bind");
    let mut total = SyncOutcome::default();
    let mut add = |o: SyncOutcome| {
        total.applied += o.applied;
        total.refused += o.refused;
        total.followed += o.followed;
    };
    for line in text.split(|&b| b == b'\n') {
        if line.is_empty() {
            add(sync_tick(&t, &mut raw));
        } else {
            mdb_command(&t, &raw, line);
        }
    }
    add(sync_tick(&t, &mut raw));
    total
}

/// An `/etc/system` file applied at boot to a host from `booting` (not
/// yet booted): every line parses or fails inside it; every finding
/// names a line and prints; every malformed line is reported (unless
/// findings overflowed, which is counted); every value reported applied
/// is in force; every other tunable kept its value; after boot the limits
/// are ordered and `zfs:0:tunables` shows the values in force. Returns
/// the report.
pub fn check_etc_system(booting: &dyn Fn() -> Host, text: &[u8]) -> BootReport {
    let mut malformed = 0usize;
    let mut lines = 0u32;
    for line in text.split(|&b| b == b'\n') {
        lines += 1;
        match parse_system_line(line) {
            Err(e) => {
                assert!(e.offset <= line.len(), "{e:?} past the end of {line:?}");
                assert!(!e.to_string().is_empty());
                malformed += 1;
            }
            Ok(SystemLine::Set(cmd)) => {
                assert!(!cmd.variable.is_empty());
                assert!(cmd.module.as_ref().is_none_or(|m| !m.is_empty()));
            }
            Ok(SystemLine::Blank | SystemLine::OtherCommand) => {}
        }
    }

    let t = booting();
    let reserved = t.headroom_stats().reserved;
    let mut initial = Vec::new();
    t.for_each_tunable(|e| initial.push((e.desc.name, e.value)));
    let report = apply_etc_system(&t, text);

    for f in &report.findings {
        assert!(
            f.line >= 1 && f.line <= lines,
            "{f:?} outside {lines} lines"
        );
        assert!(!f.to_string().is_empty());
        if let FindingKind::Refused {
            name, value, error, ..
        } = f.kind
        {
            assert_ne!(error.to_errno(), 0);
            assert!(
                !report.applied.iter().any(|a| a.0 == name && a.1 == value),
                "{name} = {value} both refused and applied"
            );
        }
    }
    let reported_malformed = report
        .findings
        .iter()
        .filter(|f| matches!(f.kind, FindingKind::Malformed { .. }))
        .count();
    if report.dropped == 0 {
        assert_eq!(
            reported_malformed, malformed,
            "every malformed line is reported"
        );
    } else {
        assert!(reported_malformed <= malformed);
    }
    for &(name, value, line) in &report.applied {
        assert_eq!(t.get(name), Ok(value), "{name} reported applied");
        assert!(line >= 1 && line <= lines);
        assert_eq!(report.applied.iter().filter(|a| a.0 == name).count(), 1);
    }
    for &(name, value) in &initial {
        if !report.applied.iter().any(|a| a.0 == name) {
            assert_eq!(
                t.get(name),
                Ok(value),
                "{name} changed without being applied"
            );
        }
    }

    t.finish_boot();
    assert_limits_consistent(&t, reserved);
    let mut ks = KstatSet::new(Hrtime(1)).expect("the kstats are created");
    let mut src = Sources {
        tunables: &t,
        arc_resv: None,
        raw: None,
    };
    let shown: Vec<(Option<&str>, Option<u64>)> = ks
        .read(KstatId::Tunables, &mut src, Hrtime(2))
        .expect("zfs:0:tunables reads")
        .data()
        .iter()
        .map(|e| (e.name.as_str(), e.as_u64()))
        .collect();
    let live: Vec<(Option<&str>, Option<u64>)> = dynamic_values(&t)
        .into_iter()
        .map(|(n, v)| (Some(n), Some(v)))
        .collect();
    assert_eq!(shown, live, "zfs:0:tunables shows the values in force");
    report
}
