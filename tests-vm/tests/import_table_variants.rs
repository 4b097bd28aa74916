//! The seed's `::memstat` tables as they reach an operator in other
//! shapes: re-aligned in mdb's columns, with the blanks collapsed as a
//! pasted log leaves them, with tabs, without the `Free (cachelist)` row
//! (its pages counted in `Free (freelist)`, which mdb computes as what is
//! left), without either free row, and without `ZFS File Data` (an older
//! kernel counts the ARC in `Kernel`; its size then comes from
//! `kstat -p zfs:0:arcstats`). Every shape imports to the host of the
//! built-in `seed-*` scenario, to the page, and `arcsim fit` on it gives
//! what it gives on the table as the seed prints it. `VMM Memory` is there
//! in the 128 GB tables and absent from `seed-4g`'s, as mdb prints it only
//! when some page is a guest's.

use std::path::Path;

use tests_vm::fit::{fit, FitReport, FitRequest, DEFAULT_WITHIN_S};
use tests_vm::import::{import, Imported, Input};
use tests_vm::params::{Params, HZ, PAGESIZE};
use tests_vm::policy::Policy;
use tests_vm::scenario::{builtin, EventKind, Scenario};
use tests_vm::sim;

/// The seed's "before" tables and the built-in scenario made from each.
const TABLES: [(&str, &str); 4] = [
    ("seed-4g-before.memstat", "seed-4g"),
    ("seed-128g-before.memstat", "seed-128g"),
    ("seed-128g-home-before.memstat", "seed-128g-home"),
    ("seed-128g-fix-before.memstat", "seed-128g-fix"),
];

fn seed_text(file: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/import-inputs")
        .join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn scenario(name: &str) -> Scenario {
    builtin(name)
        .unwrap_or_else(|| panic!("no built-in {name}"))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// A table's figures, read back from the seed's text.
#[derive(Clone, Debug)]
struct Table {
    /// `(label, pages)` in the table's order.
    rows: Vec<(String, u64)>,
    total: u64,
    physical: Option<u64>,
}

/// The label and the first figure of a row.
fn label_and_pages(line: &str) -> Option<(String, u64)> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = words
        .iter()
        .position(|w| w.starts_with(|c: char| c.is_ascii_digit()))?;
    let pages = words.get(at)?.parse().ok()?;
    Some((words.get(..at)?.join(" "), pages))
}

fn read(text: &str) -> Table {
    let mut rows = Vec::new();
    let mut total = None;
    let mut physical = None;
    let body = text
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("Page Summary"))
        .skip(1);
    for line in body {
        match label_and_pages(line) {
            Some((label, pages)) if label == "Total" => total = Some(pages),
            Some((label, pages)) if label == "Physical" => physical = Some(pages),
            Some(row) => rows.push(row),
            None => {}
        }
    }
    Table {
        rows,
        total: total.expect("a Total row"),
        physical,
    }
}

/// How the columns are laid out.
#[derive(Clone, Copy, Debug)]
enum Layout {
    /// mdb's: `%-16s %16llu  %16llu  %3lu%%`.
    Mdb,
    /// One blank between words, as a pasted log leaves it.
    Collapsed,
    /// A tab between the label and each figure.
    Tabs,
}

/// The table as mdb prints it (MB truncated, `%Tot` as `memstat()`
/// computes it), in `layout`.
fn render(t: &Table, layout: Layout) -> String {
    let total_pages = t.physical.unwrap_or(t.total);
    let mb = |pages: u64| pages * PAGESIZE / (1 << 20);
    let pct = |pages: u64| (5 * total_pages + pages * 1000) / (t.total * 10);
    let row = |label: &str, figures: &[String]| match layout {
        Layout::Mdb => match figures {
            [p, m, c] => format!("{label:<16} {p:>16}  {m:>16}  {c:>4}\n"),
            [p, m] => format!("{label:<16} {p:>16}  {m:>16}\n"),
            _ => unreachable!(),
        },
        Layout::Collapsed => format!("{label} {}\n", figures.join(" ")),
        Layout::Tabs => format!("{label}\t{}\n", figures.join("\t")),
    };
    let mut o = String::from("> ::memstat\n");
    o.push_str(match layout {
        Layout::Mdb => "Page Summary                Pages                MB  %Tot\n------------     ----------------  ----------------  ----\n",
        Layout::Collapsed => "Page Summary Pages MB %Tot\n------------ ---------------- ---------------- ----\n",
        Layout::Tabs => "Page Summary\tPages\tMB\t%Tot\n",
    });
    for (label, pages) in &t.rows {
        o.push_str(&row(
            label,
            &[
                pages.to_string(),
                mb(*pages).to_string(),
                format!("{}%", pct(*pages)),
            ],
        ));
    }
    o.push('\n');
    o.push_str(&row(
        "Total",
        &[t.total.to_string(), mb(t.total).to_string()],
    ));
    if let Some(p) = t.physical {
        o.push_str(&row("Physical", &[p.to_string(), mb(p).to_string()]));
    }
    o
}

fn pages_of(t: &Table, label: &str) -> u64 {
    t.rows
        .iter()
        .find(|(l, _)| l == label)
        .map_or(0, |(_, p)| *p)
}

/// The table without `label`'s row, its pages counted in `into`'s.
fn folded(t: &Table, label: &str, into: &str) -> Table {
    let moved = pages_of(t, label);
    let rows = t
        .rows
        .iter()
        .filter(|(l, _)| l != label)
        .map(|(l, p)| (l.clone(), if l == into { p + moved } else { *p }))
        .collect();
    Table { rows, ..t.clone() }
}

/// The table without the rows `drop` names.
fn without(t: &Table, drop: &[&str]) -> Table {
    Table {
        rows: t
            .rows
            .iter()
            .filter(|(l, _)| !drop.contains(&l.as_str()))
            .cloned()
            .collect(),
        ..t.clone()
    }
}

/// `kstat -p zfs:0:arcstats` of `name`'s host: the ARC's size, and the
/// `c_min` and `c_max` its `arc_init()` computes.
fn arcstats(name: &str, size: u64) -> String {
    let r = sim::run(&scenario(name), Policy::Legacy, &Params::default());
    format!(
        "zfs:0:arcstats:c_max\t{}\nzfs:0:arcstats:c_min\t{}\nzfs:0:arcstats:size\t{size}\n",
        r.c_max_bytes, r.c_min_bytes
    )
}

fn import_texts(texts: &[(&str, String)]) -> Imported {
    let inputs: Vec<Input> = texts
        .iter()
        .map(|(name, text)| Input {
            name: (*name).to_string(),
            bytes: text.clone().into_bytes(),
        })
        .collect();
    import(&inputs, Some("variant")).unwrap_or_else(|e| {
        panic!(
            "{e}\n{}",
            texts.first().map_or(String::new(), |(_, t)| t.clone())
        )
    })
}

/// The guest a built-in starts after 0 s.
fn started_guest(s: &Scenario) -> u64 {
    s.events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::VmCreate { ram, .. } if e.at > 0 => Some(*ram),
            _ => None,
        })
        .expect("a guest started")
}

/// What `fit` found, less the scenario's name.
fn fit_of(s: &Scenario, ram: u64) -> FitReport {
    let mut f = fit(
        s,
        &FitRequest {
            ram: vec![ram],
            arcfill: None,
            within: DEFAULT_WITHIN_S * HZ,
        },
    );
    f.scenario.clear();
    f
}

/// A table in another shape: the inputs made from the seed's table, its
/// built-in's name and ARC size, as `(name, text)`.
type Shape = dyn Fn(&Table, &str, u64) -> Vec<(&'static str, String)>;

/// Every shape of every table imports to the built-in's host, ARC and
/// running guests, and `fit` on it gives what it gives on the seed's own.
fn same_as_seed(shape: &str, make: &Shape) {
    for (file, name) in TABLES {
        let seed = seed_text(file);
        let table = read(&seed);
        let want = scenario(name);
        let texts = make(&table, name, want.arc_size);
        let got = import_texts(&texts).scenario;
        assert_eq!(got.host, want.host, "{file} {shape}");
        assert_eq!(got.arc_size, want.arc_size, "{file} {shape}: ARC");
        let running = |s: &Scenario| {
            s.events
                .iter()
                .filter(|e| e.at == 0)
                .find_map(|e| match &e.kind {
                    EventKind::VmCreate { ram, .. } => Some(*ram),
                    _ => None,
                })
        };
        assert_eq!(running(&got), running(&want), "{file} {shape}: VMM Memory");
        let seed_scenario = import_texts(&[("seed", seed)]).scenario;
        let ram = started_guest(&want);
        assert_eq!(
            fit_of(&got, ram),
            fit_of(&seed_scenario, ram),
            "{file} {shape}: fit"
        );
    }
}

#[test]
fn the_seed_tables_render_back_to_themselves() {
    // The renderer is mdb's: the aligned seed tables come out byte for
    // byte (the one the seed pasted collapsed, in its collapsed shape).
    for (file, _) in TABLES {
        let seed = seed_text(file);
        let table = read(&seed);
        let body = |t: &str| -> String {
            t.lines()
                .skip_while(|l| !l.trim_start().starts_with("Page Summary"))
                .map(|l| format!("{l}\n"))
                .collect()
        };
        let layout = if seed.contains("Page Summary Pages") {
            Layout::Collapsed
        } else {
            Layout::Mdb
        };
        assert_eq!(
            body(&render(&table, layout)).trim_end(),
            body(&seed).trim_end(),
            "{file}"
        );
    }
}

#[test]
fn in_mdbs_columns() {
    same_as_seed("in mdb's columns", &|t, _, _| {
        vec![("aligned", render(t, Layout::Mdb))]
    });
}

#[test]
fn with_the_columns_collapsed() {
    same_as_seed("collapsed", &|t, _, _| {
        vec![("collapsed", render(t, Layout::Collapsed))]
    });
}

#[test]
fn with_tabs_between_the_columns() {
    same_as_seed("with tabs", &|t, _, _| {
        vec![("tabs", render(t, Layout::Tabs))]
    });
}

#[test]
fn without_the_cachelist_row() {
    same_as_seed("without Free (cachelist)", &|t, _, _| {
        let t = folded(t, "Free (cachelist)", "Free (freelist)");
        vec![("no-cachelist", render(&t, Layout::Collapsed))]
    });
}

#[test]
fn without_either_free_row() {
    same_as_seed("without the free rows", &|t, _, _| {
        let t = without(t, &["Free (cachelist)", "Free (freelist)"]);
        vec![("no-free", render(&t, Layout::Mdb))]
    });
}

#[test]
fn without_zfs_file_data_with_arcstats() {
    same_as_seed("without ZFS File Data", &|t, name, arc_size| {
        let t = folded(t, "ZFS File Data", "Kernel");
        vec![
            ("no-zfs", render(&t, Layout::Collapsed)),
            ("arcstats", arcstats(name, arc_size)),
        ]
    });
}

#[test]
fn vmm_memory_is_there_exactly_where_the_seed_has_guests() {
    for (file, name) in TABLES {
        let t = read(&seed_text(file));
        let has_vmm = t.rows.iter().any(|(l, _)| l == "VMM Memory");
        let guests_at_boot = scenario(name)
            .events
            .iter()
            .any(|e| e.at == 0 && matches!(e.kind, EventKind::VmCreate { .. }));
        assert_eq!(has_vmm, guests_at_boot, "{file}");
        // And the page count is the running guests', to the page.
        let imported = import_texts(&[("seed", seed_text(file))]).scenario;
        let running: u64 = imported
            .events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::VmCreate { ram, .. } if e.at == 0 => Some(*ram),
                _ => None,
            })
            .sum();
        assert_eq!(running, pages_of(&t, "VMM Memory") * PAGESIZE, "{file}");
    }
}
