use super::*;
use crate::params::{GIB, HZ};

#[test]
fn builtins_parse() {
    for (n, summary, _) in BUILTINS.iter().chain(FAULTS.iter()) {
        let s = builtin(n).unwrap().unwrap();
        assert_eq!(s.name, *n);
        assert!(!s.events.is_empty());
        if n.starts_with("fault-") {
            assert_eq!(s.description, *summary, "{n}");
        }
    }
}

#[test]
fn builtins_load_without_warnings() {
    for (n, _, text) in BUILTINS.iter().chain(FAULTS.iter()) {
        let l = load_scenario(text, n).unwrap();
        assert_eq!(l.warnings, [], "{n}");
    }
}

#[test]
fn errors_name_line_and_field() {
    let e = parse_scenario("[host]\nphysmem = \"4Q\"\n", "x").unwrap_err();
    assert_eq!(e.line, Some(2));
    assert_eq!(e.field.as_deref(), Some("host.physmem"));
    let e = parse_scenario(
        "[host]\nphysmem = \"4G\"\n[[event]]\nat = \"1s\"\nvm_create = { name = \"a\", ram = \"x\" }\n",
        "x",
    )
    .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("event[0].vm_create.ram"));
    assert_eq!(e.line, Some(5));
    let e = parse_scenario("[host\n", "x").unwrap_err();
    assert_eq!(e.line, Some(1));
    let e = parse_scenario("[host]\nphysmem = \"4G\"\ncolour = 1\n", "x").unwrap_err();
    assert_eq!(e.field.as_deref(), Some("host.colour"));
    assert_eq!(e.line, Some(3));
    let e = parse_scenario(
        "[host]\nphysmem = \"4G\"\n[[event]]\nat = \"1s\"\nmemstat = true\narcfill = \"0\"\n",
        "x",
    )
    .unwrap_err();
    assert!(e.message.contains("exactly one"));
    // The second action in the file is the one named, on its line.
    assert_eq!(e.field.as_deref(), Some("event[0].arcfill"));
    assert_eq!(e.line, Some(6));
    assert_eq!(
        e.to_string(),
        "line 6, event[0].arcfill: an event has exactly one action (this one has memstat and arcfill)"
    );
}

#[test]
fn a_toml_error_names_its_line_and_reason() {
    // A lone carriage return at the start of a line.
    let e = parse_scenario("[host]\n\rphysmem = \"4G\"\n", "x").unwrap_err();
    assert_eq!(e.line, Some(2));
    assert!(e.message.contains("carriage return"), "{e}");
    assert!(e.to_string().starts_with("line 2: "), "{e}");
}

#[test]
fn an_unknown_key_is_named_even_when_empty_or_dotted() {
    let e = parse_scenario("\"\" = 1\n[host]\nphysmem = \"4G\"\n", "x").unwrap_err();
    assert_eq!(e.field.as_deref(), Some("\"\""));
    assert!(
        e.to_string()
            .starts_with("line 1, \"\": unknown top-level key (allowed: name, description, host"),
        "{e}"
    );
    let e = parse_scenario("[host]\nphysmem = \"4G\"\n\"a.b\" = 1\n", "x").unwrap_err();
    assert_eq!(e.field.as_deref(), Some("host.\"a.b\""));
    let head = "[host]\nphysmem = \"4G\"\n[[event]]\nat = \"1s\"\n";
    let e = parse_scenario(&format!("{head}\"\" = 1\n"), "x").unwrap_err();
    assert_eq!(e.field.as_deref(), Some("event[0].\"\""));
    assert!(
        e.message
            .starts_with("unknown key (allowed: at, vm_create, "),
        "{e}"
    );
    let e = parse_scenario(
        &format!("{head}vm_create = {{ name = \"a\", ram = 1, \"\" = 2 }}\n"),
        "x",
    )
    .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("event[0].vm_create.\"\""));
    assert_eq!(e.message, "unknown key (allowed: name, ram)");
    // Bare keys stay bare.
    let e = parse_scenario("[host]\nphysmem = \"4G\"\ncolour-2 = 1\n", "x").unwrap_err();
    assert_eq!(e.field.as_deref(), Some("host.colour-2"));
}

#[test]
fn faults_parse_and_bad_ones_name_their_field() {
    // A guest for the faults to name; the fault is event[1], on line 10.
    let head = "[host]\nphysmem = \"4G\"\n[arc]\nsize = \"1G\"\n\
                [[event]]\nat = \"1s\"\nvm_create = { name = \"a\", ram = \"1G\" }\n\
                [[event]]\nat = \"1s\"\n";
    let s = parse_scenario(
        &format!("{head}alloc_fault = {{ vm = \"a\", after = \"1G\", times = 3 }}\n"),
        "x",
    )
    .unwrap();
    assert_eq!(
        s.events[1].kind,
        EventKind::AllocFault {
            vm: "a".into(),
            after: GIB,
            times: 3
        }
    );
    let s = parse_scenario(
        &format!("{head}alloc_fault = {{ vm = \"a\", after = 0 }}\n"),
        "x",
    )
    .unwrap();
    assert!(matches!(
        s.events[1].kind,
        EventKind::AllocFault { times: 1, .. }
    ));
    let s = parse_scenario(&format!("{head}evictor_stall = \"90s\"\n"), "x").unwrap();
    assert_eq!(s.events[1].kind, EventKind::EvictorStall(90 * HZ));
    for (text, field) in [
        (
            "alloc_fault = { after = \"1G\" }",
            "event[1].alloc_fault.vm",
        ),
        ("alloc_fault = { vm = \"a\" }", "event[1].alloc_fault.after"),
        (
            "alloc_fault = { vm = \"a\", after = \"1Q\" }",
            "event[1].alloc_fault.after",
        ),
        (
            "alloc_fault = { vm = \"a\", after = 1, times = 0 }",
            "event[1].alloc_fault.times",
        ),
        (
            "alloc_fault = { vm = \"a\", after = 1, when = 2 }",
            "event[1].alloc_fault.when",
        ),
        (
            "alloc_fault = { vm = \"nobody\", after = 1 }",
            "event[1].alloc_fault.vm",
        ),
        ("alloc_fault = \"a\"", "event[1].alloc_fault"),
        ("evictor_stall = \"0s\"", "event[1].evictor_stall"),
        ("evictor_stall = \"soon\"", "event[1].evictor_stall"),
    ] {
        let e = parse_scenario(&format!("{head}{text}\n"), "x").unwrap_err();
        assert_eq!(e.field.as_deref(), Some(field), "{text}: {e}");
        assert_eq!(e.line, Some(10), "{text}: {e}");
    }
}

#[test]
fn the_vocabulary_is_the_schemas() {
    let v = vocabulary();
    for key in [
        "name",
        "host",
        "host.physmem",
        "host.generation",
        "arc.size",
        "sim.duration",
        "boot.etc_system",
        "event",
        "event.at",
        "event.vm_create",
        "event.vm_create.ram",
        "event.alloc_fault.times",
        "event.evictor_stall",
    ] {
        assert!(v.iter().any(|k| k == key), "{key} missing from {v:?}");
    }
    assert!(!v.iter().any(|k| k.contains("serde")), "{v:?}");
}
