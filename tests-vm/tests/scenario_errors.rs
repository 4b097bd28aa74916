//! A malformed scenario file is refused with the line and the field at
//! fault, however the file writes its tables: `[host]` with keys under
//! it, an inline table (`host = { ... }`) or dotted keys
//! (`host.generation = ...`).

use tests_vm::scenario::{parse_scenario, ScenarioError};

fn refused(text: &str) -> ScenarioError {
    match parse_scenario(text, "bad") {
        Ok(s) => panic!("accepted {text:?} as {s:?}"),
        Err(e) => e,
    }
}

/// `(line, field, the whole message as printed)`.
fn said(text: &str) -> (Option<usize>, Option<String>, String) {
    let e = refused(text);
    (e.line, e.field.clone(), e.to_string())
}

fn expect(text: &str, line: usize, field: &str, printed: &str) {
    assert_eq!(
        said(text),
        (Some(line), Some(field.to_string()), printed.to_string()),
        "{text}"
    );
}

const GENERATION: &str =
    "\"2O21\" is not an arc_init() generation (expected \"2021\" or \"current\")";

#[test]
fn a_bad_value_in_an_inline_table_names_its_line() {
    let text = "name = \"x\"\n\nhost = { physmem = \"4G\", generation = \"2O21\" }\n";
    expect(
        text,
        3,
        "host.generation",
        &format!("line 3, host.generation: {GENERATION}"),
    );
    // The same value in a [host] table and in a dotted key.
    expect(
        "[host]\nphysmem = \"4G\"\ngeneration = \"2O21\"\n",
        3,
        "host.generation",
        &format!("line 3, host.generation: {GENERATION}"),
    );
    expect(
        "host.physmem = \"4G\"\n# the seed's kernels\nhost.generation = \"2O21\"\n",
        3,
        "host.generation",
        &format!("line 3, host.generation: {GENERATION}"),
    );
}

#[test]
fn a_bad_value_under_a_dotted_key_names_its_line() {
    let head = "[host]\nphysmem = \"4G\"\n[[event]]\nat = \"1s\"\n";
    expect(
        &format!("{head}vm_create.name = \"vm1\"\nvm_create.ram = \"64Q\"\n"),
        6,
        "event[0].vm_create.ram",
        "line 6, event[0].vm_create.ram: \"64Q\" is not a size (expected e.g. 4096, 64G, 1.5T)",
    );
    // A dotted key missing its partner: the line of the table it builds.
    let (line, field, _) = said(&format!("{head}\nvm_create.name = \"vm1\"\n"));
    assert_eq!(
        (line, field.as_deref()),
        (Some(6), Some("event[0].vm_create.ram"))
    );
    // A dotted key the schema does not know.
    expect(
        "host.physmem = \"4G\"\nhost.swap = \"1G\"\n",
        2,
        "host.swap",
        "line 2, host.swap: unknown key (allowed: physmem, kernel, boot, anon, exec, page_cache, generation)",
    );
}

#[test]
fn an_unknown_key_names_its_line_and_what_is_allowed() {
    expect(
        "[host]\nphysmem = \"4G\"\n\n[sim]\nduration = \"60s\"\nspeed = 2\n",
        6,
        "sim.speed",
        "line 6, sim.speed: unknown key (allowed: duration, evict_rate, alloc_rate)",
    );
    expect(
        "[host]\nphysmem = \"4G\"\n[[event]]\nat = \"1s\"\n[[event]]\nat = \"2s\"\nreboot = true\n",
        7,
        "event[1].reboot",
        "line 7, event[1].reboot: unknown key (allowed: at, vm_create, vm_destroy, kstat_write, \
         mdb_write, kstat_read, memstat, arcfill, alloc_fault, evictor_stall, rsrvrctl)",
    );
    expect(
        "[host]\nphysmem = \"4G\"\n[[event]]\nat = \"1s\"\nvm_create = { name = \"a\", ram = \"1G\", cpus = 2 }\n",
        5,
        "event[0].vm_create.cpus",
        "line 5, event[0].vm_create.cpus: unknown key (allowed: name, ram)",
    );
    expect(
        "[host]\nphysmem = \"4G\"\n[swap]\nsize = \"1G\"\n",
        3,
        "swap",
        "line 3, swap: unknown top-level key (allowed: name, description, host, arc, workload, \
         sim, boot, event)",
    );
}

#[test]
fn a_bad_size_names_its_line_and_field() {
    expect(
        "[host]\nphysmem = \"128G\"\nkernel = \"16 G B\"\n",
        3,
        "host.kernel",
        "line 3, host.kernel: \"16 G B\" is not a size (expected e.g. 4096, 64G, 1.5T)",
    );
    expect(
        "[host]\nphysmem = -4096\n",
        2,
        "host.physmem",
        "line 2, host.physmem: -4096 is not a size: a size is not negative",
    );
    expect(
        "[host]\nphysmem = \"4G\"\n[arc]\nsize = true\n",
        4,
        "arc.size",
        "line 4, arc.size: invalid type: boolean `true`, expected a size (a number of bytes, \
         or a string such as \"64G\")",
    );
    expect(
        "[host]\nphysmem = \"4G\"\n[[event]]\nat = \"1s\"\nalloc_fault = { vm = \"a\", after = \"1.5X\" }\n",
        5,
        "event[0].alloc_fault.after",
        "line 5, event[0].alloc_fault.after: \"1.5X\" is not a size (expected e.g. 4096, 64G, 1.5T)",
    );
}

#[test]
fn a_bad_duration_names_its_line_and_field() {
    expect(
        "[host]\nphysmem = \"4G\"\n[sim]\nduration = \"5 minutes\"\n",
        4,
        "sim.duration",
        "line 4, sim.duration: \"5 minutes\" is not a duration (expected e.g. 10s, 500ms, 2m, 1h)",
    );
    expect(
        "[host]\nphysmem = \"4G\"\n[[event]]\nat = \"1s\"\nmemstat = true\n[[event]]\nat = \"soon\"\nmemstat = true\n",
        7,
        "event[1].at",
        "line 7, event[1].at: \"soon\" is not a duration (expected e.g. 10s, 500ms, 2m, 1h)",
    );
    expect(
        "[host]\nphysmem = \"4G\"\n[[event]]\nat = -1\nmemstat = true\n",
        4,
        "event[0].at",
        "line 4, event[0].at: -1 is not a duration: a duration is not negative",
    );
}

#[test]
fn a_missing_key_names_the_table_that_lacks_it() {
    expect(
        "name = \"x\"\n[host]\nkernel = \"1G\"\n",
        2,
        "host.physmem",
        "line 2, host.physmem: is required but missing",
    );
    expect(
        "[host]\nphysmem = \"4G\"\n\n[[event]]\nmemstat = true\n",
        4,
        "event[0].at",
        "line 4, event[0].at: is required but missing",
    );
    expect(
        "[host]\nphysmem = \"4G\"\n[[event]]\nat = \"1s\"\n",
        3,
        "event[0]",
        "line 3, event[0]: needs one action, one of vm_create, vm_destroy, kstat_write, \
         mdb_write, kstat_read, memstat, arcfill, alloc_fault, evictor_stall, rsrvrctl",
    );
    // No line is at fault when the whole table is absent.
    assert_eq!(
        said("name = \"x\"\n"),
        (
            None,
            Some("host".into()),
            "host: missing [host] table".into()
        )
    );
}

#[test]
fn a_toml_error_names_its_line() {
    let (line, field, printed) = said("[host]\nphysmem = \"4G\"\nkernel = \"1G\n");
    assert_eq!((line, field), (Some(3), None));
    assert!(printed.starts_with("line 3: "), "{printed}");
    let (line, _, printed) = said("[host]\nphysmem = \"4G\"\nphysmem = \"8G\"\n");
    assert_eq!(line, Some(3), "{printed}");
    assert!(printed.contains("duplicate key"), "{printed}");
}

#[test]
fn a_value_of_the_wrong_kind_says_what_was_expected() {
    expect(
        "[host]\nphysmem = \"4G\"\n[boot]\netc_system = \"set zfs:zfs_arc_max = 1\"\n",
        4,
        "boot.etc_system",
        "line 4, boot.etc_system: invalid type: string \"set zfs:zfs_arc_max = 1\", expected an \
         array of /etc/system lines, [ \"set ...\" ]",
    );
    expect(
        "[host]\nphysmem = \"4G\"\n[boot]\netc_system = [ \"* ok\", 1 ]\n",
        4,
        "boot.etc_system[1]",
        "line 4, boot.etc_system[1]: invalid type: integer `1`, expected an /etc/system line (a string)",
    );
    expect(
        "[host]\nphysmem = \"4G\"\nevent = 3\n",
        3,
        "host.event",
        "line 3, host.event: unknown key (allowed: physmem, kernel, boot, anon, exec, page_cache, generation)",
    );
    expect(
        "event = 3\n[host]\nphysmem = \"4G\"\n",
        1,
        "event",
        "line 1, event: invalid type: integer `3`, expected [[event]] tables",
    );
}

#[test]
fn no_message_is_a_rust_rendering() {
    for text in [
        "[host]\nphysmem = \"4G\"\ngeneration = \"1999\"\n",
        "[host]\nphysmem = \"4G\"\ngeneration = [1]\n",
        "host = 3\n",
        "[host]\nphysmem = \"4G\"\n[[event]]\nat = \"1s\"\nvm_create = \"vm1\"\n",
        "[host]\nphysmem = \"4G\"\n[[event]]\nat = \"1s\"\nmemstat = false\n",
        "[host]\nphysmem = \"4G\"\nevent = 3\n",
        "[host]\nphysmem = \"4G\"\n[boot]\netc_system = [1]\n",
    ] {
        let e = refused(text).to_string();
        assert!(e.starts_with("line "), "{text}: {e}");
        for rust in [
            "String(",
            "Integer(",
            "struct ",
            "{ kind",
            "ParseError",
            "Some(",
        ] {
            assert!(!e.contains(rust), "{text}: {e}");
        }
    }
}
