//! Every kind of bad input the admin paths accept, and what the operator
//! reads about it: a sentence that quotes the offending text and says
//! where it is, never a Rust `Debug` rendering; and one tunable's bounds
//! quoted alike on the kstat, `mdb -kw` and `/etc/system` paths.
//!
//! The messages are the ones the simulator prints after `kstat: ` and
//! `mdb: ` (and the console warning after `WARNING: `), built the way
//! `tests-vm/src/admin.rs` builds them.

#[path = "../../kstat-export/tests/common/mod.rs"]
mod common;

use std::collections::BTreeSet;

use admin_syntax::{
    apply_etc_system, parse_assignment, parse_mdb_write, parse_mdb_write_with_radix,
    parse_selector, parse_system_line, perform_mdb_write, write_assignments, BootFinding,
    FindingKind, OperatorMessage, ParseError, ParseErrorKind,
};
use kstat_export::{Credential, KstatSet, RawVariables, Sources};
use zfs_tunables::errno::{EBUSY, EINVAL, ERANGE};
use zfs_tunables::std_platform::StdPlatform;
use zfs_tunables::{ArcTunables, Bytes, GIB};

type Host = ArcTunables<StdPlatform>;

/// 16 GiB, vmm registered, not yet booted.
fn booting() -> Host {
    let t = common::booting(16);
    t.register(&common::VMM_REGISTRANT).unwrap();
    t
}

/// That host booted, with 2 GiB of headroom held, so a value that leaves
/// no room for the reservation (`EBUSY`) is reachable.
fn booted() -> Host {
    let t = booting();
    t.finish_boot();
    t.reserve("vmm", Bytes(2 * GIB)).unwrap();
    t
}

/// Every parse error kind. The match makes a new kind a compile error
/// here until an input below produces it.
fn every_kind() -> BTreeSet<String> {
    let all = [
        ParseErrorKind::Empty,
        ParseErrorKind::UnexpectedByte,
        ParseErrorKind::UnexpectedEnd,
        ParseErrorKind::InvalidDigit,
        ParseErrorKind::Overflow,
        ParseErrorKind::NameTooLong,
        ParseErrorKind::TooManyFields,
        ParseErrorKind::MissingField,
        ParseErrorKind::Wildcard,
        ParseErrorKind::BadInstance,
        ParseErrorKind::MissingValue,
        ParseErrorKind::RegexUnsupported,
        ParseErrorKind::PatternTooLong,
        ParseErrorKind::UnterminatedClass,
        ParseErrorKind::NotAWrite,
        ParseErrorKind::NotVirtualWrite,
        ParseErrorKind::NumericAddress,
        ParseErrorKind::MultipleValues,
        ParseErrorKind::FloatingPoint,
        ParseErrorKind::BadRadix,
        ParseErrorKind::ExtraneousInput,
        ParseErrorKind::ValueExpected,
        ParseErrorKind::UnsupportedOperator,
        ParseErrorKind::UnterminatedString,
        ParseErrorKind::UnknownCommand,
        ParseErrorKind::UnexpectedToken,
        ParseErrorKind::NotWholeBytes,
    ];
    for k in all {
        match k {
            ParseErrorKind::Empty
            | ParseErrorKind::UnexpectedByte
            | ParseErrorKind::UnexpectedEnd
            | ParseErrorKind::InvalidDigit
            | ParseErrorKind::Overflow
            | ParseErrorKind::NameTooLong
            | ParseErrorKind::TooManyFields
            | ParseErrorKind::MissingField
            | ParseErrorKind::Wildcard
            | ParseErrorKind::BadInstance
            | ParseErrorKind::MissingValue
            | ParseErrorKind::RegexUnsupported
            | ParseErrorKind::PatternTooLong
            | ParseErrorKind::UnterminatedClass
            | ParseErrorKind::NotAWrite
            | ParseErrorKind::NotVirtualWrite
            | ParseErrorKind::NumericAddress
            | ParseErrorKind::MultipleValues
            | ParseErrorKind::FloatingPoint
            | ParseErrorKind::BadRadix
            | ParseErrorKind::ExtraneousInput
            | ParseErrorKind::ValueExpected
            | ParseErrorKind::UnsupportedOperator
            | ParseErrorKind::UnterminatedString
            | ParseErrorKind::UnknownCommand
            | ParseErrorKind::UnexpectedToken
            | ParseErrorKind::NotWholeBytes => {}
        }
    }
    all.iter().map(|k| format!("{k:?}")).collect()
}

/// Write requests that do not parse, one per way of being malformed.
fn bad_requests() -> Vec<String> {
    [
        "",
        "zfs:0:tunables:zfs_arc_max",
        "zfs:0:tunables:zfs_arc_max=",
        "zfs:0:tunables=1",
        "zfs:0:tunables:zfs_arc_max:x=1",
        "zfs:*:tunables:zfs_arc_max=1",
        "zfs:0:tunables:zfs_*=1",
        "zfs:-1:tunables:zfs_arc_max=1",
        "zfs:0:tunables:zfs_arc_max=12x",
        "zfs:0:tunables:zfs_arc_max=0x",
        "zfs:0:tunables:zfs_arc_max=18446744073709551616",
        "zfs:0:tunables:abcdefghijklmnopqrstuvwxyz012345=1",
        "zfs:0:tun\u{7f}ables:zfs_arc_max=1",
        "zfs:0:tunables:zfs_arc_max=0.1K",
    ]
    .map(String::from)
    .to_vec()
}

/// `kstat` selector operands that do not parse.
fn bad_selectors() -> Vec<String> {
    vec![
        "a:b:c:d:e".into(),
        "zfs:0:/arc.*/".into(),
        "zfs:0:[abc".into(),
        format!("zfs:0:{}", "a".repeat(65)),
    ]
}

/// `mdb -kw` commands that do not parse.
fn bad_mdb_commands() -> Vec<String> {
    let mut v: Vec<String> = [
        "",
        "fffff800/Z 1",
        "`zfs_arc_max/Z 1",
        "zfs_arc_max",
        "zfs_arc_max\\Z 1",
        "zfs_arc_max/J",
        "zfs_arc_max/Z",
        "zfs_arc_max/Z 1 2",
        "zfs_arc_max/Z 1; $q",
        "zfs_arc_max/Z 0t1.5",
        "zfs_arc_max/Z 0o8",
        "zfs_arc_max/Z 0x10000000000000000",
    ]
    .map(String::from)
    .to_vec();
    v.push(format!("{}/Z 1", "z".repeat(65)));
    v
}

/// `/etc/system` lines that do not parse.
fn bad_system_lines() -> Vec<String> {
    let mut v: Vec<String> = [
        "= 1",
        "sett zfs:zfs_arc_max = 1",
        "set zfs:zfs_arc_max =",
        "set zfs:zfs_arc_max 0x100",
        "set zfs:zfs_arc_max = 09",
        "set zfs:zfs_arc_max = 0x",
        "set zfs:zfs_arc_max = 0x10000000000000000",
        "set zfs:zfs_arc_max = 8G",
        "set zfs:x = \"abc",
    ]
    .map(String::from)
    .to_vec();
    v.push(format!("set zfs:{} = 1", "z".repeat(64)));
    v
}

#[test]
fn the_inputs_reach_every_parse_error_kind() {
    let mut reached = BTreeSet::new();
    let mut note = |e: ParseError| reached.insert(format!("{:?}", e.kind));
    for w in bad_requests() {
        note(parse_assignment(w.as_bytes()).unwrap_err());
    }
    for o in bad_selectors() {
        note(parse_selector(o.as_bytes()).unwrap_err());
    }
    for c in bad_mdb_commands() {
        note(parse_mdb_write(c.as_bytes()).unwrap_err());
    }
    note(parse_mdb_write_with_radix(b"zfs_arc_max/Z 1", 17).unwrap_err());
    for l in bad_system_lines() {
        note(parse_system_line(l.as_bytes()).unwrap_err());
    }
    assert_eq!(reached, every_kind());
}

/// What an operator message must never look like: a `Debug` rendering
/// of a struct, an enum or an `Option`, or a Rust path.
fn assert_operator_text(msg: &str) {
    assert!(!msg.is_empty());
    for debug in [
        "{",
        "}",
        "ParseError",
        "ExportError",
        "TunableError",
        "AdminError",
    ] {
        assert!(!msg.contains(debug), "{debug:?} in {msg:?}");
    }
    for debug in ["Some(", "None", "kind:", "offset:", "::", "\\\""] {
        assert!(!msg.contains(debug), "{debug:?} in {msg:?}");
    }
}

/// A syntax error's message quotes the input and says the column.
fn assert_located(msg: &str, input: &[u8], e: ParseError) {
    assert_operator_text(msg);
    let shown = String::from_utf8_lossy(input);
    if input.iter().all(|b| (b' '..=b'~').contains(b)) && input.len() <= 80 {
        assert!(
            msg.contains(&format!("'{shown}'")),
            "{msg:?} does not quote {shown:?}"
        );
    }
    assert!(
        msg.contains(&format!("column {}", e.offset + 1)),
        "{msg:?} does not say column {}",
        e.offset + 1
    );
}

/// The `(accepted: MIN to MAX)` a message quotes.
fn bounds(msg: &str) -> &str {
    let at = msg
        .find("(accepted: ")
        .unwrap_or_else(|| panic!("no bounds in {msg:?}"));
    let rest = &msg[at..];
    &rest[..=rest.find(')').unwrap()]
}

/// A kstat write request as the simulator performs it: parsed, then
/// written as root through the kstat driver; the message, if refused.
fn kstat_write(
    t: &Host,
    raw: &mut RawVariables<zfs_tunables::sync::AtomicU64>,
    w: &str,
) -> Result<(), (i32, String)> {
    let a = parse_assignment(w.as_bytes()).map_err(|error| {
        let msg = OperatorMessage::BadWriteRequest {
            request: w.as_bytes(),
            error,
        }
        .to_string();
        assert_located(&msg, w.as_bytes(), error);
        (EINVAL, msg)
    })?;
    let mut ks = KstatSet::new(common::T0).unwrap();
    let mut src = Sources {
        tunables: t,
        arc_resv: None,
        raw: Some(raw),
    };
    write_assignments(
        &mut ks,
        &mut src,
        std::slice::from_ref(&a),
        Credential::SysConfig,
        common::T0,
    )
    .map_err(|error| {
        let msg = OperatorMessage::KstatWriteRefused { request: &a, error }.to_string();
        assert_operator_text(&msg);
        assert!(msg.starts_with("cannot set "), "{msg:?}");
        (error.to_errno(), msg)
    })
}

/// An `mdb -kw` command as the simulator performs it, then a sync tick:
/// the messages (the parse or write refusal, or the tick's warnings).
fn mdb_write(
    t: &Host,
    raw: &mut RawVariables<zfs_tunables::sync::AtomicU64>,
    cmd: &str,
) -> Vec<String> {
    let w = match parse_mdb_write(cmd.as_bytes()) {
        Ok(w) => w,
        Err(error) => {
            let msg = OperatorMessage::MdbSyntax {
                command: cmd.as_bytes(),
                error,
            }
            .to_string();
            assert_located(&msg, cmd.as_bytes(), error);
            return vec![msg];
        }
    };
    if let Err(error) = perform_mdb_write(raw, &w) {
        let msg = OperatorMessage::MdbWriteRefused { write: &w, error }.to_string();
        assert_operator_text(&msg);
        return vec![msg];
    }
    let mut out = Vec::new();
    raw.sync_tick(t, &mut |w| out.push(w.to_string()));
    out
}

#[test]
fn kstat_writes_of_every_kind_are_refused_in_sentences() {
    let t = booted();
    let mut raw = RawVariables::with_owned_cells(&t).unwrap();
    for w in bad_requests() {
        let (errno, msg) = kstat_write(&t, &mut raw, &w).unwrap_err();
        assert_eq!(errno, EINVAL, "{msg}");
        assert!(msg.starts_with("cannot parse "), "{msg}");
    }

    let refused =
        |w: &str| kstat_write(&t, &mut RawVariables::with_owned_cells(&t).unwrap(), w).unwrap_err();
    let (_, msg) = refused("zfs:0:tunables:zfs_arc_maxx=1");
    assert_eq!(
        msg,
        "cannot set zfs:0:tunables:zfs_arc_maxx to 1: zfs:0:tunables has no statistic 'zfs_arc_maxx'"
    );
    let (_, msg) = refused("zfs:1:tunables:zfs_arc_max=1");
    assert_eq!(
        msg,
        "cannot set zfs:1:tunables:zfs_arc_max to 1: there is no kstat zfs:1:tunables"
    );
    let (_, msg) = refused("zfs:0:arcstats:c_max=8G");
    assert_eq!(
        msg,
        "cannot set zfs:0:arcstats:c_max to 8589934592: zfs:0:arcstats is not writable"
    );
    let (errno, msg) = refused("zfs:0:tunables:zfs_arc_max=1000");
    assert_eq!(errno, EINVAL);
    assert_eq!(
        msg,
        "cannot set zfs:0:tunables:zfs_arc_max to 1000: zfs_arc_max: 1000 is out of bounds \
         (accepted: 67108865 to 16911433727)"
    );
    let (errno, msg) = refused("zfs:0:tunables:zfs_arc_min=15G");
    assert_eq!(errno, ERANGE, "{msg}");
    assert!(
        msg.contains("16106127360") && msg.contains("above the maximum"),
        "{msg}"
    );
    let (errno, msg) = refused("zfs:0:tunables:zfs_arc_min=13G");
    assert_eq!(errno, EBUSY, "{msg}");
    assert!(msg.contains("reservations"), "{msg}");
    // Not root: not an admin path of the simulator, but the same words.
    let a = parse_assignment(b"zfs:0:tunables:zfs_arc_max=8G").unwrap();
    let mut ks = KstatSet::new(common::T0).unwrap();
    let mut src = Sources {
        tunables: &t,
        arc_resv: None,
        raw: None,
    };
    let error = write_assignments(
        &mut ks,
        &mut src,
        std::slice::from_ref(&a),
        Credential::Unprivileged,
        common::T0,
    )
    .unwrap_err();
    assert_operator_text(&OperatorMessage::KstatWriteRefused { request: &a, error }.to_string());
}

#[test]
fn kstat_selectors_of_every_kind_are_refused_in_sentences() {
    for operand in bad_selectors() {
        let operand = operand.as_str();
        let error = parse_selector(operand.as_bytes()).unwrap_err();
        let msg = OperatorMessage::BadSelector {
            operand: operand.as_bytes(),
            error,
        }
        .to_string();
        assert!(msg.starts_with("bad selector '"), "{msg}");
        assert_located(&msg, operand.as_bytes(), error);
    }
}

#[test]
fn mdb_writes_of_every_kind_are_refused_in_sentences() {
    let t = booted();
    let mut raw = RawVariables::with_owned_cells(&t).unwrap();
    for cmd in bad_mdb_commands() {
        let msgs = mdb_write(&t, &mut raw, &cmd);
        assert!(msgs[0].starts_with("syntax error in '"), "{msgs:?}");
    }
    let e = parse_mdb_write_with_radix(b"zfs_arc_max/Z 1", 17).unwrap_err();
    assert_eq!(e.kind, ParseErrorKind::BadRadix);
    let msg = OperatorMessage::MdbSyntax {
        command: b"zfs_arc_max/Z 1",
        error: e,
    }
    .to_string();
    assert_located(&msg, b"zfs_arc_max/Z 1", e);
    assert_eq!(
        OperatorMessage::MdbSyntax {
            command: b"zfs_arc_max/J",
            error: parse_mdb_write(b"zfs_arc_max/J").unwrap_err(),
        }
        .to_string(),
        "syntax error in 'zfs_arc_max/J' at column 13 ('J'): not a write: the format must be \
         one of v, w, W, Z or z"
    );

    // Writes that parse but cannot be performed.
    assert_eq!(
        mdb_write(&t, &mut raw, "zfs_arc_maxx/Z 1"),
        ["failed to dereference symbol: unknown symbol name 'zfs_arc_maxx'"]
    );
    assert_eq!(
        mdb_write(&t, &mut raw, "vmm`zfs_arc_max/Z 1"),
        ["failed to dereference symbol: unknown symbol name 'vmm`zfs_arc_max'"]
    );
    assert_eq!(
        mdb_write(&t, &mut raw, "zfs_arc_max+6/W 1"),
        ["cannot write 4 bytes at zfs_arc_max+0x6: the variable has 8 bytes"]
    );

    // Bad values: refused by the tick, restored, warned about.
    for cmd in [
        "zfs_arc_max/Z 0t1000",
        "zfs_arc_min/Z 0t16106127360",
        "zfs_arc_min/Z 0t13958643712",
        "vmm_arc_page_overhead/Z 0t5000",
    ] {
        let msgs = mdb_write(&t, &mut raw, cmd);
        let [msg] = msgs.as_slice() else {
            panic!("{cmd}: {msgs:?}")
        };
        assert_operator_text(msg);
        assert!(msg.contains("refused") && msg.contains("keeping"), "{msg}");
    }
}

#[test]
fn etc_system_lines_of_every_kind_are_reported_in_sentences() {
    let malformed = bad_system_lines();
    for line in &malformed {
        let e = parse_system_line(line.as_bytes()).unwrap_err();
        let msg = BootFinding::malformed(7, line.as_bytes(), e).to_string();
        assert_operator_text(&msg);
        assert!(
            msg.contains("line 7") && msg.contains(&format!("column {}", e.offset + 1)),
            "{msg}"
        );
        assert!(msg.ends_with("of /etc/system; line ignored"), "{msg}");
    }

    let mut file: Vec<&str> = malformed.iter().map(String::as_str).collect();
    file.extend([
        "set zfs:zfs_arc_maxx = 1",
        "set zfs_arc_max = 0x200000000",
        "set zfs:zfs_arc_max = \"8G\"",
        "set zfs:zfs_arc_min = 1000",
        "set vmm:vmm_arc_page_overhead = 5000",
        "set zfs:zfs_arc_meta_limit = 0x100000000",
        "set zfs:zfs_arc_meta_limit = 0x4000000000",
    ]);
    let report = apply_etc_system(&booting(), file.join("\n").as_bytes());
    let mut seen = BTreeSet::new();
    for f in &report.findings {
        let msg = f.to_string();
        assert_operator_text(&msg);
        assert!(msg.contains(&format!("line {}", f.line)), "{msg}");
        seen.insert(match f.kind {
            FindingKind::Malformed { .. } => "malformed",
            FindingKind::UnknownTunable { .. } => "unknown tunable",
            FindingKind::Unqualified { .. } => "unqualified",
            FindingKind::StringValue { .. } => "string value",
            FindingKind::Refused { .. } => "refused",
            FindingKind::SetMoreThanOnce { .. } => "set more than once",
        });
    }
    assert_eq!(seen.len(), 6, "every kind of finding: {seen:?}");
}

/// One bad value per tunable, written on each path: the bounds quoted
/// are the same, and are the ones the host enforces.
#[test]
fn a_tunables_bounds_are_quoted_alike_on_every_path() {
    for (name, value, want) in [
        // Under the floor, and above the host's memory: one range.
        ("zfs_arc_max", 1000, "(accepted: 67108865 to 16911433727)"),
        (
            "zfs_arc_max",
            64 * GIB,
            "(accepted: 67108865 to 16911433727)",
        ),
        // Under the floor: up to the ceiling it may not exceed.
        ("zfs_arc_min", 1000, "(accepted: 67108865 to 15837691904)"),
        (
            "zfs_arc_meta_limit",
            16 * GIB,
            "(accepted: 1 to 15837691904)",
        ),
        ("vmm_arc_page_overhead", 5000, "(accepted: 0 to 4096)"),
    ] {
        let t = booted();
        let mut raw = RawVariables::with_owned_cells(&t).unwrap();
        let (_, kstat) =
            kstat_write(&t, &mut raw, &format!("zfs:0:tunables:{name}={value}")).unwrap_err();
        let mdb = mdb_write(&t, &mut raw, &format!("{name}/Z 0t{value}"));
        let module = if name.starts_with("vmm") {
            "vmm"
        } else {
            "zfs"
        };
        let report = apply_etc_system(
            &booting(),
            format!("set {module}:{name} = {value}").as_bytes(),
        );
        let [finding] = report.findings.as_slice() else {
            panic!("{:?}", report.findings)
        };
        let etc = finding.to_string();
        let [mdb] = mdb.as_slice() else {
            panic!("{mdb:?}")
        };
        assert_eq!(bounds(&kstat), want, "kstat: {kstat}");
        assert_eq!(bounds(mdb), want, "mdb: {mdb}");
        assert_eq!(bounds(&etc), want, "/etc/system: {etc}");
    }
}
