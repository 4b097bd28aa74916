//! The scenario fuzz target's invariants, on stable, in CI: scenario
//! files built from the vocabulary, with values near and past every
//! limit, fields dropped or doubled and bytes spliced in, always parse
//! to a sound scenario or fail with an error that names a line of the
//! file. The checks are the ones the `scenario` fuzz target under
//! `fuzz/` runs (`common/scenario_checks.rs`).

#[path = "common/scenario_checks.rs"]
mod scenario_checks;

use proptest::prelude::*;
use scenario_checks::{check_scenario, DEFAULT_NAME};
use tests_vm::scenario::EventKind;

/// One of `usual`, or now and then one of `odd`.
fn mostly(usual: &[&'static str], odd: &[&'static str]) -> BoxedStrategy<String> {
    prop_oneof![
        8 => prop::sample::select(usual.to_vec()),
        1 => prop::sample::select(odd.to_vec()),
    ]
    .prop_map(str::to_owned)
    .boxed()
}

/// A size as a scenario writes it (bytes, a suffix, a fraction, a rate),
/// now and then one that is not a size or is out of range.
fn size() -> impl Strategy<Value = String> {
    let usual = mostly(
        &[
            "\"4G\"",
            "\"128G\"",
            "\"1.5T\"",
            "\"64M\"",
            "\"117M/s\"",
            "\"20GiB\"",
            "4280770560",
        ],
        &[
            "\"63M\"",
            "\"0\"",
            "\"4096B\"",
            "\"0.0000000001G\"",
            "\"18446744073709551615\"",
            "\"16E\"",
            "\"G\"",
            "\".\"",
            "\"-1\"",
            "-5",
            "1.5",
            "true",
            "[]",
        ],
    );
    let suffixes = vec!["", "K", "M", "G", "T", "k", "MiB"];
    prop_oneof![
        8 => usual,
        1 => (any::<u32>(), prop::sample::select(suffixes)).prop_map(|(n, s)| format!("\"{n}{s}\"")),
        1 => any::<i64>().prop_map(|n| n.to_string()),
    ]
}

fn duration() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => mostly(
            &["\"300s\"", "\"10s\"", "\"500ms\"", "\"2m\"", "\"1h\"", "\"1.5s\"", "10"],
            &["\"0s\"", "\"x\"", "\"s\"", "0", "-1", "\"18446744073709551615h\""],
        ),
        1 => any::<u32>().prop_map(|n| format!("\"{n}s\"")),
    ]
}

/// A string an event carries: one of `usual` (each well-formed for its
/// action), or now and then a malformed one, including the ones every
/// action refuses (empty, blank, not a string).
fn command(usual: &[&'static str], odd: &[&'static str]) -> BoxedStrategy<String> {
    let mut all_odd = vec!["\"\"", "\"   \"", "3"];
    all_odd.extend_from_slice(odd);
    mostly(usual, &all_odd)
}

/// `kstat_write` values: writes the kstat path parses, and ones it does
/// not (a size suffix, an mdb command, a selector).
fn kstat_write() -> BoxedStrategy<String> {
    command(
        &[
            "\"zfs:0:tunables:zfs_arc_max=0x200000000\"",
            "\" zfs:0:tunables:zfs_arc_min=1073741824 \"",
            "\"zfs:0:tunables:zfs_arc_max=0\"",
        ],
        &[
            "\"zfs:0:tunables:zfs_arc_max=8G\"",
            "\"zfs_arc_max/Z 0t1000\"",
            "\"zfs:0:arcstats\"",
        ],
    )
}

/// `mdb_write` values.
fn mdb_write() -> BoxedStrategy<String> {
    command(
        &["\"zfs_arc_max/Z 0t1000\"", "\" zfs_arc_min/Z 0x40000000 \""],
        &["\"zfs_arc_max/J 1\"", "\"zfs:0:tunables:zfs_arc_max=1\""],
    )
}

/// `kstat_read` selectors.
fn kstat_read() -> BoxedStrategy<String> {
    command(
        &["\"zfs:0:arcstats\"", "\"zfs::arc*\"", "\"vmm:0:arc_resv\""],
        &["\"zfs:0:/arc/\"", "\"a:b:c:d:e\"", "\"line\\nbreak\""],
    )
}

fn event() -> impl Strategy<Value = String> {
    let name = mostly(
        &["\"vm1\"", "\"guest-2\""],
        &[
            "\"\"",
            "\"a-name-longer-than-sixty-four-characters-is-refused-by-the-parser-x\"",
        ],
    );
    let action = prop_oneof![
        3 => (name, size())
            .prop_map(|(name, ram)| format!("vm_create = {{ name = {name}, ram = {ram} }}")),
        2 => command(&["\"vm1\"", "\"  vm1  \""], &[]).prop_map(|c| format!("vm_destroy = {c}")),
        2 => kstat_write().prop_map(|c| format!("kstat_write = {c}")),
        2 => mdb_write().prop_map(|c| format!("mdb_write = {c}")),
        2 => kstat_read().prop_map(|c| format!("kstat_read = {c}")),
        2 => mostly(&["memstat = true"], &["memstat = false"]),
        2 => size().prop_map(|s| format!("arcfill = {s}")),
        2 => (mostly(&["\"vm1\""], &["\"\"", "1"]), size(), mostly(&["", ", times = 2"], &[", times = 0", ", times = -1", ", when = 1"]))
            .prop_map(|(vm, after, times)| format!("alloc_fault = {{ vm = {vm}, after = {after}{times} }}")),
        1 => duration().prop_map(|d| format!("evictor_stall = {d}")),
        1 => prop::sample::select(vec![
            "vm_create = { name = \"vm1\" }",
            "vm_create = { name = \"vm1\", ram = \"1G\", cpus = 2 }",
            "memstat = true\narcfill = \"1G\"",
            "reboot = true",
        ])
        .prop_map(str::to_owned),
    ];
    (prop::option::weighted(0.97, duration()), action).prop_map(|(at, action)| match at {
        Some(at) => format!("[[event]]\nat = {at}\n{action}\n"),
        None => format!("[[event]]\n{action}\n"),
    })
}

/// `key = value` lines for the values present.
fn keys(pairs: &[(&str, Option<String>)]) -> String {
    pairs
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k} = {v}\n")))
        .collect()
}

/// A scenario file: each part present or absent, now and then wrong.
fn scenario_text() -> impl Strategy<Value = String> {
    // Kernel memory: mostly what hosts have, now and then any size
    // (more than physmem among them).
    let kernel = prop_oneof![
        4 => prop::sample::select(vec!["\"1G\"", "\"293M\"", "1606107136"]).prop_map(str::to_owned),
        1 => size(),
    ];
    let host = (
        prop::option::weighted(0.97, size()),
        prop::option::of(kernel),
        prop::option::of(mostly(&["\"2021\"", "\"current\"", "2021"], &["\"1999\""])),
        prop::option::weighted(0.02, Just("\"1G\"".to_owned())),
    )
        .prop_map(|(physmem, kernel, generation, swap)| {
            let pairs = [
                ("physmem", physmem),
                ("kernel", kernel),
                ("generation", generation),
                ("swap", swap),
            ];
            format!("[host]\n{}", keys(&pairs))
        });
    let sim = (
        prop::option::of(duration()),
        prop::option::of(size()),
        prop::option::of(size()),
    )
        .prop_map(|(d, e, a)| {
            let pairs = [("duration", d), ("evict_rate", e), ("alloc_rate", a)];
            format!("[sim]\n{}", keys(&pairs))
        });
    let boot = mostly(
        &["[boot]\netc_system = [ \"set zfs:zfs_arc_max = 0x200000000\", \"* comment\" ]\n"],
        &[
            "[boot]\netc_system = \"set zfs:zfs_arc_max = 1\"\n",
            "[boot]\netc_system = [ 1 ]\n",
        ],
    );
    (
        prop::option::of(mostly(&["name = \"s\"\n"], &["name = 5\n"])),
        prop::option::weighted(0.97, host),
        prop::option::weighted(0.9, size().prop_map(|s| format!("[arc]\nsize = {s}\n"))),
        prop::option::of(size().prop_map(|s| format!("[workload]\narcfill = {s}\n"))),
        prop::option::of(sim),
        prop::option::of(boot),
        prop::collection::vec(event(), 0..5),
    )
        .prop_map(|(name, host, arc, workload, sim, boot, events)| {
            let parts = [name, host, arc, workload, sim, boot];
            let mut s: String = parts.into_iter().flatten().collect();
            s.extend(events);
            s
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// Files from the vocabulary: sound scenarios or located errors.
    #[test]
    fn scenario_files_parse_to_sound_scenarios_or_located_errors(text in scenario_text()) {
        let _ = check_scenario(text.as_bytes());
    }

    /// The same files with a few random bytes spliced in.
    #[test]
    fn damaged_scenario_files_never_panic(
        text in scenario_text(),
        junk in prop::collection::vec(any::<u8>(), 1..4),
        at in any::<prop::sample::Index>(),
    ) {
        let mut bytes = text.into_bytes();
        let i = at.index(bytes.len() + 1);
        bytes.splice(i..i, junk);
        let _ = check_scenario(&bytes);
    }
}

/// The checks accept the built-in scenarios as written, and hold the
/// parser to its error locations and event order.
#[test]
fn the_checks_accept_the_builtins_and_locate_errors() {
    for (name, _, text) in tests_vm::scenario::BUILTINS {
        let s = check_scenario(text.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(s.name, name);
    }
    let s = check_scenario(
        b"[host]\nphysmem = \"4G\"\n[[event]]\nat = \"2s\"\nmdb_write = \" zfs_arc_max/Z 1 \"\n\
          [[event]]\nat = \"1s\"\nmemstat = true\n",
    )
    .unwrap();
    assert_eq!(s.name, DEFAULT_NAME);
    assert_eq!(s.events[0].kind, EventKind::Memstat, "events in time order");
    assert_eq!(
        s.events[1].kind,
        EventKind::MdbWrite("zfs_arc_max/Z 1".into())
    );
    let e = check_scenario(b"[host]\nphysmem = \"4G\"\n\n[sim]\nduration = \"0s\"\n").unwrap_err();
    assert_eq!(e.line, Some(5), "{e}");
    let e = check_scenario(
        b"[host]\nphysmem = \"4G\"\n[[event]]\nat = \"1s\"\nmemstat = true\narcfill = \"1G\"",
    )
    .unwrap_err();
    assert!(e.to_string().contains("exactly one action"), "{e}");
    // A lone carriage return: the error names its line and says what it is.
    let e = check_scenario(b"[host]\n\rphysmem = \"4G\"\n").unwrap_err();
    assert_eq!(e.line, Some(2), "{e}");
    assert!(e.message.contains("carriage return"), "{e}");
}
