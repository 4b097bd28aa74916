//! A scenario that cannot exist is refused when it is loaded, naming the
//! figures; one the kernel would refuse during the run is not (the run's
//! events carry the kernel's answer, as on a host).

use tests_vm::params::Params;
use tests_vm::policy::Policy;
use tests_vm::scenario::{load_scenario, parse_scenario, EventKind, ScenarioError};
use tests_vm::sim;

fn refused(text: &str) -> ScenarioError {
    match parse_scenario(text, "impossible") {
        Ok(s) => panic!("accepted {text:?} as {s:?}"),
        Err(e) => e,
    }
}

fn expect(text: &str, line: usize, field: &str, printed: &str) {
    let e = refused(text);
    assert_eq!(
        (e.line, e.field.as_deref(), e.to_string().as_str()),
        (Some(line), Some(field), printed),
        "{text}"
    );
}

#[test]
fn memstat_categories_above_physmem_are_refused_with_their_sum() {
    expect(
        "[host]\nphysmem = \"16G\"\nkernel = \"12G\"\nanon = \"3G\"\npage_cache = \"1.5G\"\n",
        1,
        "host",
        "line 1, host: the ::memstat categories add up to 16896M (kernel 12G + anon 3G + \
         page_cache 1536M), more than physmem (16G): no host has that memory",
    );
    // Exactly physmem is a host with nothing free, and loads.
    parse_scenario(
        "[host]\nphysmem = \"16G\"\nkernel = \"12G\"\nanon = \"4G\"\n",
        "x",
    )
    .unwrap();
}

#[test]
fn an_arc_larger_than_what_is_left_is_refused() {
    expect(
        "[host]\nphysmem = \"128G\"\nkernel = \"16G\"\nanon = \"1G\"\n[arc]\nsize = \"112G\"\n",
        6,
        "arc.size",
        "line 6, arc.size: an ARC of 112G does not fit: physmem less the ::memstat categories \
         leaves 111G",
    );
    let s = parse_scenario(
        "[host]\nphysmem = \"128G\"\nkernel = \"16G\"\nanon = \"1G\"\n[arc]\nsize = \"111G\"\n",
        "x",
    )
    .unwrap();
    assert_eq!(s.arc_size, 111 << 30);
}

#[test]
fn a_file_that_creates_a_guest_says_how_large_the_arc_is() {
    let guest = "[[event]]\nat = \"10s\"\nvm_create = { name = \"vm1\", ram = \"8G\" }\n";
    expect(
        &format!("[host]\nphysmem = \"32G\"\n{guest}"),
        5,
        "arc.size",
        "line 5, arc.size: is required when the file creates a guest (event[0] at line 5): \
         the ARC's size at the start decides what must be evicted for it; write size = \"0\" \
         for an empty ARC",
    );
    // No [arc] table: the line of the guest that needs it. An [arc] table
    // without its size: the table's line.
    let e = refused(&format!("[host]\nphysmem = \"32G\"\n[arc]\n{guest}"));
    assert_eq!((e.line, e.field.as_deref()), (Some(3), Some("arc.size")));
    // Said, even as zero, it loads; a file with no guest may leave it out.
    let s = parse_scenario(
        &format!("[host]\nphysmem = \"32G\"\n[arc]\nsize = 0\n{guest}"),
        "x",
    )
    .unwrap();
    assert_eq!(s.arc_size, 0);
    parse_scenario(
        "[host]\nphysmem = \"32G\"\n[[event]]\nat = \"1s\"\nkstat_read = \"zfs:0:arcstats\"\n",
        "x",
    )
    .unwrap();
}

#[test]
fn an_event_after_the_end_of_the_run_is_refused() {
    let head = "[host]\nphysmem = \"32G\"\n[sim]\nduration = \"120s\"\n";
    expect(
        &format!("{head}[[event]]\nat = \"121s\"\nmemstat = true\n"),
        6,
        "event[0].at",
        "line 6, event[0].at: 121s is after the end of the run ([sim] duration = \"120s\")",
    );
    // Without [sim], the run is 300 s long.
    expect(
        "[host]\nphysmem = \"32G\"\n[[event]]\nat = \"300.5s\"\nmemstat = true\n",
        4,
        "event[0].at",
        "line 4, event[0].at: 300500ms is after the end of the run ([sim] duration = \"300s\")",
    );
    // At the end is within the run: the last tick's events happen.
    let s = parse_scenario(
        &format!("{head}[[event]]\nat = \"120s\"\nmemstat = true\n"),
        "x",
    )
    .unwrap();
    assert_eq!(s.events[0].at, s.duration);
}

#[test]
fn a_fault_for_a_guest_no_event_creates_is_refused() {
    let head = "[host]\nphysmem = \"32G\"\n[arc]\nsize = \"16G\"\n\
                [[event]]\nat = \"10s\"\nvm_create = { name = \"vm1\", ram = \"8G\" }\n";
    expect(
        &format!(
            "{head}[[event]]\nat = \"5s\"\nalloc_fault = {{ vm = \"vm2\", after = \"4G\" }}\n"
        ),
        10,
        "event[1].alloc_fault.vm",
        "line 10, event[1].alloc_fault.vm: no vm_create in this file creates a guest named \
         \"vm2\": the fault could never fire",
    );
    // Armed before the guest exists: it waits for it, no warning.
    let l = load_scenario(
        &format!(
            "{head}[[event]]\nat = \"5s\"\nalloc_fault = {{ vm = \"vm1\", after = \"4G\" }}\n"
        ),
        "x",
    )
    .unwrap();
    assert_eq!(l.warnings, []);
    // Armed after the guest's last creation: only the run can tell
    // whether the guest is still being set up, so a warning.
    let l = load_scenario(
        &format!(
            "{head}[[event]]\nat = \"20s\"\nalloc_fault = {{ vm = \"vm1\", after = \"4G\" }}\n"
        ),
        "x",
    )
    .unwrap();
    let w: Vec<String> = l.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        w,
        [
            "line 10, event[1].alloc_fault.vm: armed at 20s for \"vm1\", whose last vm_create is \
          at 10s: it fires only if that guest is still being set up then"
        ]
    );
}

#[test]
fn admin_commands_are_parsed_for_syntax_when_loaded() {
    let head = "[host]\nphysmem = \"32G\"\n[[event]]\nat = \"1s\"\n";
    // A kstat write's value takes the suffixes a scenario's sizes take;
    // a letter that is none of them is refused where it stands.
    expect(
        &format!("{head}kstat_write = \"zfs:0:tunables:zfs_arc_max=8X\"\n"),
        5,
        "event[0].kstat_write",
        "line 5, event[0].kstat_write: cannot parse 'zfs:0:tunables:zfs_arc_max=8X' at column \
         29 ('X'): digit is invalid in the number's base (a kstat write is \
         module:instance:name:statistic=value)",
    );
    expect(
        &format!("{head}mdb_write = \"zfs_arc_max/Z\"\n"),
        5,
        "event[0].mdb_write",
        "line 5, event[0].mdb_write: syntax error in 'zfs_arc_max/Z' at its end (column 14): \
         expected a value to write (an mdb write is variable/Z value)",
    );
    let e = refused(&format!("{head}kstat_read = \"zfs:0:/arc.*/\"\n"));
    assert_eq!(
        (e.line, e.field.as_deref()),
        (Some(5), Some("event[0].kstat_read"))
    );
    assert!(e.message.contains("use a glob"), "{e}");
    // Well-formed commands whose values the kernel refuses load: the run
    // says what the kernel answered.
    let s = parse_scenario(
        &format!("{head}kstat_write = \"zfs:0:tunables:zfs_arc_max=1\"\n"),
        "x",
    )
    .unwrap();
    assert_eq!(
        s.events[0].kind,
        EventKind::KstatWrite("zfs:0:tunables:zfs_arc_max=1".into())
    );
    parse_scenario(
        &format!("{head}mdb_write = \"no_such_variable/Z 1\"\n"),
        "x",
    )
    .unwrap();
}

#[test]
fn a_guest_the_driver_refuses_is_the_runs_to_report() {
    let s = parse_scenario(
        "[host]\nphysmem = \"16G\"\nkernel = \"1G\"\n[arc]\nsize = \"8G\"\n[sim]\nduration = \"5s\"\n\
         [[event]]\nat = \"1s\"\nvm_create = { name = \"zero\", ram = \"0\" }\n\
         [[event]]\nat = \"2s\"\nvm_create = { name = \"huge\", ram = \"18446744073709551615\" }\n",
        "x",
    )
    .expect("a guest the driver would refuse is not a load error");
    let r = sim::run(&s, Policy::Tunables, &Params::default());
    let refusals: Vec<Option<i32>> = r
        .events
        .iter()
        .filter(|e| !e.ok())
        .map(|e| e.errno())
        .collect();
    assert_eq!(
        refusals,
        [
            Some(zfs_tunables::errno::EINVAL),
            Some(zfs_tunables::errno::EOVERFLOW)
        ]
    );
}
