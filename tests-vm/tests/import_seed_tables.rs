//! `arcsim import` on the seed's own `::memstat` tables (copied verbatim
//! from the OS-8005 report into `import-inputs/`): each "before" table
//! imports to the host of the built-in scenario made from it, to the
//! page; each "after" table to its own figures; the scenario written loads
//! back; and `kstat -p` output sets the ARC's generation and
//! `/etc/system` as the host's `c_min` and `c_max` require.

use std::path::Path;

use tests_vm::import::{import, Imported, Input, RUNNING};
use tests_vm::params::{Params, PAGESIZE};
use tests_vm::policy::Policy;
use tests_vm::scenario::{builtin, parse_scenario, EventKind, Generation, Scenario};
use tests_vm::sim;

fn input(file: &str) -> Input {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/import-inputs")
        .join(file);
    Input {
        name: file.to_string(),
        bytes: std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    }
}

fn imported(files: &[&str]) -> Imported {
    let inputs: Vec<Input> = files.iter().map(|f| input(f)).collect();
    import(&inputs, None).unwrap_or_else(|e| panic!("{files:?}: {e}"))
}

fn scenario(name: &str) -> Scenario {
    builtin(name)
        .unwrap_or_else(|| panic!("no built-in {name}"))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The RAM of the guest a scenario creates at 0 s (its running guests).
fn running(s: &Scenario) -> Option<u64> {
    s.events.iter().find_map(|e| match &e.kind {
        EventKind::VmCreate { ram, .. } if e.at == 0 => Some(*ram),
        _ => None,
    })
}

/// The table imports to `name`'s host, ARC and running guests exactly,
/// and the TOML written loads back to the same scenario.
fn same_host_as_builtin(file: &str, name: &str) {
    let i = imported(&[file]);
    let want = scenario(name);
    assert_eq!(i.scenario.host, want.host, "{file} vs {name}");
    assert_eq!(i.scenario.arc_size, want.arc_size, "{file}: ARC");
    assert_eq!(running(&i.scenario), running(&want), "{file}: VMM Memory");
    assert!(i.scenario.etc_system.is_empty());
    let back = parse_scenario(&i.toml, "x").expect("the written scenario loads");
    assert_eq!(back, i.scenario);
}

#[test]
fn seed_4g_before_is_the_seed_4g_host() {
    same_host_as_builtin("seed-4g-before.memstat", "seed-4g");
}

#[test]
fn seed_128g_home_before_is_the_seed_128g_home_host() {
    same_host_as_builtin("seed-128g-home-before.memstat", "seed-128g-home");
}

#[test]
fn seed_128g_before_with_its_columns_collapsed_is_the_seed_128g_host() {
    same_host_as_builtin("seed-128g-before.memstat", "seed-128g");
}

#[test]
fn seed_128g_fix_before_is_the_seed_128g_fix_host() {
    same_host_as_builtin("seed-128g-fix-before.memstat", "seed-128g-fix");
}

/// An "after" table: no built-in starts there, so its figures are checked
/// against the seed's pages directly (Kernel, ZFS File Data, VMM Memory).
fn after_table(file: &str, total: u64, kernel: u64, zfs: u64, vmm: u64) {
    let i = imported(&[file]);
    let s = &i.scenario;
    assert_eq!(s.host.physmem, total * PAGESIZE, "{file}");
    assert_eq!(s.host.kernel, kernel * PAGESIZE, "{file}");
    assert_eq!(s.arc_size, zfs * PAGESIZE, "{file}");
    assert_eq!(running(s), Some(vmm * PAGESIZE), "{file}");
    assert_eq!(parse_scenario(&i.toml, "x").as_ref(), Ok(s));
}

#[test]
fn seed_4g_after_imports_to_its_own_figures() {
    after_table("seed-4g-after.memstat", 1_045_110, 386_634, 86_311, 476_416);
}

#[test]
fn seed_128g_home_after_imports_to_its_own_figures() {
    after_table(
        "seed-128g-home-after.memstat",
        33_524_986,
        2_663_962,
        1_276_298,
        25_699_328,
    );
}

#[test]
fn seed_128g_fix_after_imports_to_its_own_figures() {
    after_table(
        "seed-128g-fix-after.memstat",
        33_526_026,
        4_319_110,
        1_994_417,
        22_040_576,
    );
}

#[test]
fn the_running_guests_are_one_guest_at_zero_seconds() {
    let i = imported(&["seed-128g-before.memstat"]);
    let creates: Vec<_> = i
        .scenario
        .events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::VmCreate { .. }))
        .collect();
    assert_eq!(creates.len(), 1);
    assert_eq!(creates[0].at, 0);
    assert!(matches!(&creates[0].kind, EventKind::VmCreate { name, .. } if name == RUNNING));
    // And the file invites more: a commented example event.
    assert!(i.toml.contains("# [[event]]"));
}

#[test]
fn without_arcstats_the_2021_arc_init_is_taken_with_a_warning() {
    let i = imported(&["seed-4g-before.memstat"]);
    assert_eq!(i.scenario.host.generation, Generation::Y2021);
    assert!(
        i.warnings
            .iter()
            .any(|w| w.message.starts_with("no zfs:0:arcstats")
                && w.message.contains("generation = \"2021\"")),
        "{:?}",
        i.warnings
    );
}

#[test]
fn arcstats_and_system_pages_of_the_same_host_agree_without_a_warning() {
    let i = imported(&[
        "seed-128g-before.memstat",
        "seed-128g.arcstats",
        "seed-128g.system_pages",
    ]);
    assert_eq!(i.scenario.host, scenario("seed-128g").host);
    assert!(i.scenario.etc_system.is_empty());
    assert!(i.warnings.is_empty(), "{:?}", i.warnings);
}

/// Imports the seed-128g table with `zfs:0:arcstats` edited by `edit`.
fn with_arcstats(edit: &dyn Fn(&str) -> String) -> Result<Imported, String> {
    let table = input("seed-128g-before.memstat");
    let arc = input("seed-128g.arcstats");
    let text = edit(std::str::from_utf8(&arc.bytes).expect("text"));
    import(
        &[
            table,
            Input {
                name: "arcstats".to_string(),
                bytes: text.into_bytes(),
            },
        ],
        None,
    )
    .map_err(|e| e.to_string())
}

#[test]
fn a_c_max_below_the_default_becomes_the_etc_system_line_that_gives_it() {
    let i = with_arcstats(&|t| {
        t.replace("c_max\t135980425216", "c_max\t34359738368")
            .replace(":c\t70236880896", ":c\t32212254720")
    })
    .expect("imports");
    assert_eq!(
        i.scenario.etc_system,
        vec!["set zfs:zfs_arc_max = 0x800000000".to_string()]
    );
    // The model booted with it shows the host's c_max and c_min.
    let r = sim::run(&i.scenario, Policy::Legacy, &Params::default());
    assert_eq!(r.c_max_bytes, 34_359_738_368);
    assert_eq!(r.c_min_bytes, 1_073_741_824);
    // c far below the ARC's size is named: the model starts c at the size.
    assert!(i.warnings.iter().any(|w| w.line == Some(3)));
}

#[test]
fn a_c_min_and_c_max_both_set_become_two_lines() {
    let i = with_arcstats(&|t| {
        t.replace("c_max\t135980425216", "c_max\t34359738368")
            .replace("c_min\t1073741824", "c_min\t2147483648")
            .replace(":c\t70236880896", ":c\t32212254720")
    })
    .expect("imports");
    assert_eq!(
        i.scenario.etc_system,
        vec![
            "set zfs:zfs_arc_max = 0x800000000".to_string(),
            "set zfs:zfs_arc_min = 0x80000000".to_string()
        ]
    );
}

#[test]
fn a_c_min_above_c_max_is_refused_naming_the_line() {
    let e = with_arcstats(&|t| t.replace("c_min\t1073741824", "c_min\t999999999999"))
        .expect_err("contradictory");
    assert!(
        e.starts_with("arcstats: line 5: zfs:0:arcstats:c_min (999999999999) is above c_max"),
        "{e}"
    );
}

#[test]
fn without_zfs_file_data_the_arc_comes_out_of_kernel() {
    // An older kernel prints no ZFS File Data row: the ARC is in Kernel.
    let table = input("seed-128g-before.memstat");
    let text = std::str::from_utf8(&table.bytes).expect("text");
    let merged = text
        .replace("Kernel 6083886 23765 18%", "Kernel 23231562 90748 69%")
        .replace("ZFS File Data 17147676 66983 51%\n", "");
    let arc = input("seed-128g.arcstats");
    let i = import(
        &[
            Input {
                name: "old".to_string(),
                bytes: merged.into_bytes(),
            },
            arc,
        ],
        None,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let want = scenario("seed-128g");
    assert_eq!(i.scenario.host, want.host);
    assert_eq!(i.scenario.arc_size, want.arc_size);
    assert!(i
        .warnings
        .iter()
        .any(|w| w.message.contains("no ZFS File Data row")));
}

#[test]
fn a_table_without_its_free_rows_gives_the_same_host_with_a_warning() {
    let table = input("seed-4g-before.memstat");
    let text = std::str::from_utf8(&table.bytes).expect("text");
    let trimmed: String = text
        .lines()
        .filter(|l| !l.starts_with("Free"))
        .map(|l| format!("{l}\n"))
        .collect();
    // Without Free (freelist), which mdb computes as what is left, the
    // rows need only fit in Total.
    let i = import(
        &[Input {
            name: "trimmed".to_string(),
            bytes: trimmed.into_bytes(),
        }],
        None,
    );
    match i {
        Ok(i) => {
            assert_eq!(i.scenario.host, scenario("seed-4g").host);
            assert!(i
                .warnings
                .iter()
                .any(|w| w.message.contains("no Free (freelist) row")));
        }
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn kstats_import_does_not_read_are_left_out_with_a_warning() {
    let table = input("seed-4g-before.memstat");
    let other = Input {
        name: "more".to_string(),
        bytes: b"zfs:0:vdev_cache_stats:hits\t12\nzfs:0:vdev_cache_stats:misses\t3\n".to_vec(),
    };
    let i = import(&[table, other], None).expect("imports");
    let w: Vec<_> = i
        .warnings
        .iter()
        .filter(|w| w.message.contains("vdev_cache_stats"))
        .collect();
    assert_eq!(w.len(), 1, "one warning per kstat: {:?}", i.warnings);
    assert_eq!(w[0].line, Some(1));
}

#[test]
fn several_formats_in_one_input_are_told_apart_by_their_content() {
    let mut bytes = input("seed-128g.system_pages").bytes;
    bytes.extend(input("seed-128g-before.memstat").bytes);
    bytes.extend(input("seed-128g.arcstats").bytes);
    let i = import(
        &[Input {
            name: "all".to_string(),
            bytes,
        }],
        Some("mine"),
    )
    .expect("imports");
    assert_eq!(i.scenario.name, "mine");
    assert_eq!(i.scenario.host, scenario("seed-128g").host);
    assert!(i.warnings.is_empty(), "{:?}", i.warnings);
}
