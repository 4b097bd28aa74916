//! Bad input to `arcsim import` and `arcsim fit`: a truncated table, a
//! `kstat -p` line with no value, negative and overflowing figures, an
//! empty file, bytes that are not text. Each is one line on standard
//! error naming the input and the line, exit status 2, nothing on
//! standard output; and no input at all, arbitrary bytes or a seed table
//! with bytes spliced in, makes the import panic.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use proptest::prelude::*;
use tests_vm::import::{import, Input};
use tests_vm::scenario::parse_scenario;

fn seed(file: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/import-inputs")
        .join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn one(name: &str, text: &str) -> Result<String, String> {
    import(
        &[Input {
            name: name.to_string(),
            bytes: text.as_bytes().to_vec(),
        }],
        None,
    )
    .map(|i| i.toml)
    .map_err(|e| e.to_string())
}

/// Runs `arcsim ARGS` with `stdin` on its standard input.
fn arcsim(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_arcsim"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("arcsim runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("writes");
    child.wait_with_output().expect("arcsim ends")
}

/// Exit status 2, nothing on standard output, one line on standard error
/// that starts with `want`.
fn refused(out: &Output, want: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(out.stdout.is_empty());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with(want), "{stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("Err("));
}

fn temp(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("arcsim-import-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("writes");
    path
}

#[test]
fn a_truncated_table_names_its_last_line() {
    let table = seed("seed-4g-before.memstat");
    let cut: String = table.lines().take(7).map(|l| format!("{l}\n")).collect();
    assert_eq!(
        one("cut", &cut),
        Err(
            "cut: line 7: the ::memstat table that starts at line 2 ends before its Total row \
             (is it truncated?)"
                .to_string()
        )
    );
    refused(
        &arcsim(&["import", "-"], cut.as_bytes()),
        "arcsim: <stdin>: line 7: the ::memstat table that starts at line 2 ends before",
    );
}

#[test]
fn a_table_missing_a_row_mdb_always_prints_is_refused() {
    let table = seed("seed-4g-before.memstat").replace(
        "Anon                        14558                56    1%\n",
        "",
    );
    let e = one("t", &table).expect_err("refused");
    assert!(
        e.starts_with("t: line 12: the ::memstat table that starts at line 2 has no Anon row"),
        "{e}"
    );
}

#[test]
fn a_row_whose_figures_disagree_is_refused_at_its_line() {
    let mb = seed("seed-4g-before.memstat")
        .replace("392116              1531", "392116              1532");
    assert_eq!(
        one("t", &mb),
        Err(
            "t: line 4: Kernel is 1532 MB but 392116 pages of 4 KiB are 1531 MB: the figures \
             contradict each other"
                .to_string()
        )
    );
    let pct = seed("seed-4g-before.memstat").replace("1531   38%", "1531   37%");
    let e = one("t", &pct).expect_err("refused");
    assert!(e.starts_with("t: line 4: Kernel is 37% but"), "{e}");
    let sum = seed("seed-4g-before.memstat")
        .replace("408399              1595", "408398              1595");
    let e = one("t", &sum).expect_err("refused");
    assert!(
        e.starts_with("t: line 13: the rows add up to 1045109 pages, not Total's 1045110"),
        "{e}"
    );
}

#[test]
fn a_sparc_table_is_named_as_one() {
    let t = "Page Summary Pages MB %Tot\nKernel 1000 7 50%\nAnon 500 3 25%\nExec and libs 0 0 0%\n\
             Page cache 0 0 0%\nFree (freelist) 500 3 25%\n\nTotal 2000 15\n";
    let e = one("sparc", t).expect_err("refused");
    assert!(e.contains("8 KiB (SPARC)"), "{e}");
}

#[test]
fn a_kstat_line_without_its_value_names_the_line() {
    let text = "zfs:0:arcstats:c_max\t135980425216\nzfs:0:arcstats:size\n";
    assert_eq!(
        one("k", text),
        Err(
            "k: line 2: the kstat -p line \"zfs:0:arcstats:size\" has no value (is the line cut?)"
                .to_string()
        )
    );
    let path = temp("novalue.kstat", text);
    refused(
        &arcsim(&["import", path.to_str().expect("path")], b""),
        &format!("arcsim: {}: line 2: the kstat -p line", path.display()),
    );
}

#[test]
fn negative_and_overflowing_figures_are_refused() {
    let mut with_size = seed("seed-128g-before.memstat");
    with_size.push_str("zfs:0:arcstats:size\t-5\n");
    let e = one("n", &with_size).expect_err("refused");
    assert_eq!(
        e,
        "n: line 16: zfs:0:arcstats:size is \"-5\": a negative size or page count"
    );
    let mut huge = seed("seed-128g-before.memstat");
    huge.push_str("zfs:0:arcstats:size\t99999999999999999999\n");
    let e = one("n", &huge).expect_err("refused");
    assert_eq!(
        e,
        "n: line 16: zfs:0:arcstats:size's value \"99999999999999999999\" does not fit in 64 bits"
    );
    let neg_row = seed("seed-128g-before.memstat").replace("Anon 390880", "Anon -390880");
    let e = one("n", &neg_row).expect_err("refused");
    assert!(
        e.starts_with("n: line 8: the Anon row's \"-390880\" is negative"),
        "{e}"
    );
    // Pages whose bytes do not fit in 64 bits: 2^53 pages of 4 KiB.
    let pages = 1u64 << 53;
    let over = format!(
        "Page Summary Pages MB %Tot\nKernel {pages} 0 100%\nAnon 0 0 0%\nExec and libs 0 0 0%\n\
         Page cache 0 0 0%\n\nTotal {pages} 0\n"
    );
    let e = one("o", &over).expect_err("refused");
    assert_eq!(
        e,
        format!("o: line 2: the Kernel row's {pages} pages overflow a 64-bit byte count")
    );
}

#[test]
fn an_empty_file_is_refused_by_import_and_by_fit() {
    assert_eq!(
        one("e", ""),
        Err("e: empty: no ::memstat table and no kstat -p line".to_string())
    );
    assert_eq!(
        one("e", "\n  \n"),
        Err("e: empty: no ::memstat table and no kstat -p line".to_string())
    );
    refused(
        &arcsim(&["import"], b""),
        "arcsim: <stdin>: empty: no ::memstat table",
    );
    let path = temp("empty.memstat", "");
    refused(
        &arcsim(&["fit", path.to_str().expect("path"), "--ram", "4G"], b""),
        &format!("arcsim: {}: empty", path.display()),
    );
}

#[test]
fn fit_refuses_bad_input_as_import_does() {
    let table = seed("seed-4g-before.memstat");
    let cut: String = table.lines().take(7).map(|l| format!("{l}\n")).collect();
    refused(
        &arcsim(&["fit", "-", "--ram", "1G"], cut.as_bytes()),
        "arcsim: <stdin>: line 7: the ::memstat table",
    );
    refused(
        &arcsim(&["fit", "--scenario", "seed-4g", "--ram", "64Q"], b""),
        "arcsim: fit: --ram: \"64Q\" is not a size",
    );
    refused(
        &arcsim(&["fit", "--scenario", "seed-4g", "--ram", "-1G"], b""),
        "arcsim: fit: --ram: \"-1G\" is not a size",
    );
    refused(
        &arcsim(
            &["fit", "--scenario", "seed-4g", "--ram", "99999999999T"],
            b"",
        ),
        "arcsim: fit: --ram: \"99999999999T\" is not a size",
    );
}

#[test]
fn text_that_is_neither_format_is_refused_at_its_line() {
    let mut t = seed("seed-4g-before.memstat");
    t.push_str("hello\n");
    assert_eq!(
        one("t", &t),
        Err(
            "t: line 15: \"hello\" is neither part of a ::memstat table nor a kstat -p line"
                .to_string()
        )
    );
    let e = import(
        &[Input {
            name: "b".to_string(),
            bytes: b"zfs:0:arcstats:size\t1\n\xff\n".to_vec(),
        }],
        None,
    )
    .expect_err("refused")
    .to_string();
    assert!(e.starts_with("b: line 2: not text"), "{e}");
}

#[test]
fn a_kstat_name_kstat_could_not_print_is_refused() {
    let e = one("k", "zfs:x:arcstats:size\t1\n").expect_err("refused");
    assert!(
        e.starts_with("k: line 1: \"zfs:x:arcstats:size\" is not a statistic"),
        "{e}"
    );
}

/// The import's contract on any input: a scenario whose TOML loads back
/// to it, or a one-line error; never a panic.
fn holds(bytes: Vec<u8>) {
    match import(
        &[Input {
            name: "p".to_string(),
            bytes,
        }],
        None,
    ) {
        Ok(i) => {
            let back = parse_scenario(&i.toml, "p").expect("what import writes loads");
            assert_eq!(back, i.scenario);
        }
        Err(e) => {
            let s = e.to_string();
            assert_eq!(s.lines().count(), 1, "{s:?}");
            assert!(s.starts_with("p: "), "{s:?}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        holds(bytes);
    }

    #[test]
    fn a_seed_table_with_bytes_spliced_in_never_panics(
        at in 0usize..600,
        cut in 0usize..40,
        splice in prop::collection::vec(prop::sample::select(
            b"0123456789 -%:\n\tKernelAnonTotal".to_vec()), 0..12),
        kstat in any::<bool>(),
    ) {
        let mut bytes = seed("seed-128g-before.memstat").into_bytes();
        if kstat {
            bytes.extend(seed("seed-128g.arcstats").into_bytes());
        }
        let at = at.min(bytes.len());
        let end = at.saturating_add(cut).min(bytes.len());
        bytes.splice(at..end, splice);
        holds(bytes);
    }
}
