//! `arcsim fit` on bad and arbitrary input: its operands (`--ram`,
//! `--within`, `--arcfill`) and the host's text, as the binary reads them,
//! end with exit status 0 and a report or exit status 2 and one line on
//! standard error, never a panic (exit status 101); and on any host a
//! consistent `::memstat` table describes, `fit` reports every kernel and
//! one verdict that agrees with the patched kernel's outcomes.

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

use proptest::prelude::*;
use tests_vm::fit::{fit, render_json, render_text, FitRequest, Outcome, MAX_WITHIN_S};
use tests_vm::import::{import, Input};
use tests_vm::params::{HZ, MIB, PAGESIZE};
use zfs_tunables::errno;

/// Runs `arcsim ARGS` with `stdin` on its standard input.
fn arcsim(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_arcsim"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("arcsim runs");
    // arcsim may exit before it reads everything: a closed pipe is fine.
    let _ = child.stdin.take().expect("stdin").write_all(stdin);
    child.wait_with_output().expect("arcsim ends")
}

/// Exit status 0 with a verdict on standard output, or 2 with one line
/// on standard error that starts `arcsim: `.
fn ends_well(args: &[&str], out: &Output) -> Result<(), TestCaseError> {
    let stderr = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0) => {
            let stdout = String::from_utf8_lossy(&out.stdout);
            prop_assert_eq!(
                stdout
                    .lines()
                    .filter(|l| l.starts_with("verdict: "))
                    .count(),
                1,
                "{:?}: {}",
                args,
                stdout
            );
        }
        Some(2) => {
            prop_assert!(out.stdout.is_empty(), "{:?}", args);
            let errors: Vec<&str> = stderr
                .lines()
                .filter(|l| !l.contains(": warning: "))
                .collect();
            prop_assert_eq!(errors.len(), 1, "{:?}: {}", args, stderr);
            prop_assert!(errors[0].starts_with("arcsim: "), "{:?}: {}", args, stderr);
        }
        other => prop_assert!(false, "{:?}: exit {:?}: {}", args, other, stderr),
    }
    Ok(())
}

#[test]
fn a_watch_longer_than_the_hour_is_refused() {
    let out = arcsim(
        &[
            "fit",
            "--scenario",
            "seed-4g",
            "--ram",
            "1G",
            "--within",
            "2h",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!("arcsim: fit: --within 2h: fit watches at most {MAX_WITHIN_S}s (1h)\n")
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn bad_operands_name_the_option_and_the_text() {
    for (args, want) in [
        (
            vec!["--ram", "1G", "--within", "ten"],
            "arcsim: fit: --within: \"ten\" is not a duration",
        ),
        (
            vec!["--ram", "1G", "--within", "0s"],
            "arcsim: fit: --within 0s: watch for some time",
        ),
        (
            vec!["--ram", "1G", "--arcfill", "fast"],
            "arcsim: fit: --arcfill: \"fast\" is not a size",
        ),
        (vec!["--ram"], "arcsim: fit: --ram needs a value"),
        (
            vec!["--ram", "1G", "--bogus"],
            "arcsim: fit: unknown option --bogus",
        ),
    ] {
        let mut all = vec!["fit", "--scenario", "seed-4g"];
        all.extend(&args);
        let out = arcsim(&all, b"");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.starts_with(want), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty());
    }
}

/// A `::memstat` table mdb would print for these pages (the rest free),
/// with its columns collapsed.
fn table(total: u64, kernel: u64, zfs: u64, vmm: u64, anon: u64) -> String {
    let mb = |pages: u64| pages * PAGESIZE / (1 << 20);
    let pct = |pages: u64| (5 * total + pages * 1000) / (total * 10);
    let mut o = String::from("Page Summary Pages MB %Tot\n");
    let used = kernel + zfs + vmm + anon;
    for (label, pages) in [
        ("Kernel", kernel),
        ("ZFS File Data", zfs),
        ("VMM Memory", vmm),
        ("Anon", anon),
        ("Exec and libs", 0),
        ("Page cache", 0),
        ("Free (freelist)", total - used),
    ] {
        if pages == 0 && matches!(label, "ZFS File Data" | "VMM Memory") {
            continue;
        }
        o.push_str(&format!("{label} {pages} {} {}%\n", mb(pages), pct(pages)));
    }
    o.push_str(&format!("\nTotal {total} {}\n", mb(total)));
    o
}

/// Pages of a host between 2 GiB and 128 GiB, and how its memory is
/// used: Kernel 5-40%, the ARC up to 60%, guests up to 50%, Anon up to 5%
/// (percentages of what is left after the ones before).
fn host() -> impl Strategy<Value = (u64, u64, u64, u64, u64)> {
    (
        (1u64 << 19)..(1u64 << 25),
        5u64..40,
        0u64..60,
        0u64..50,
        0u64..5,
    )
        .prop_map(|(total, k, z, v, a)| {
            let kernel = total * k / 100;
            let zfs = (total - kernel) * z / 100;
            let vmm = (total - kernel - zfs) * v / 100;
            let anon = (total - kernel - zfs - vmm) * a / 100;
            (total, kernel, zfs, vmm, anon)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// The operands as an operator might mistype them.
    #[test]
    fn arbitrary_operands_end_in_a_report_or_one_line(
        ram in "[0-9.KMGTkmgtBi/s -]{0,7}",
        within in "[0-9.smh -]{0,5}",
        arcfill in proptest::option::of("[0-9.KMG/s-]{0,5}"),
    ) {
        let mut args = vec!["fit", "--scenario", "seed-4g", "--ram", &ram, "--within", &within];
        if let Some(a) = &arcfill {
            args.extend(["--arcfill", a.as_str()]);
        }
        let out = arcsim(&args, b"");
        ends_well(&args, &out)?;
    }

    /// The host's text, whatever its bytes.
    #[test]
    fn arbitrary_host_bytes_end_in_a_report_or_one_line(
        bytes in prop::collection::vec(any::<u8>(), 0..400),
    ) {
        let args = ["fit", "-", "--ram", "1G", "--within", "30s"];
        let out = arcsim(&args, &bytes);
        ends_well(&args, &out)?;
    }

    /// Any host a consistent table describes, any guests: every kernel
    /// reports every guest, the verdict is one line and agrees with the
    /// patched kernel's outcomes, and the JSON is JSON.
    #[test]
    fn fit_on_any_host_reports_every_kernel_and_a_verdict_that_agrees(
        (total, kernel, zfs, vmm, anon) in host(),
        guests in prop::collection::vec(1u64..(1 << 18), 1..3),
    ) {
        let text = table(total, kernel, zfs, vmm, anon);
        let imported = import(
            &[Input { name: "t".to_string(), bytes: text.clone().into_bytes() }],
            None,
        );
        let imported = match imported {
            Ok(i) => i,
            Err(e) => return Err(TestCaseError::fail(format!("{e}\n{text}"))),
        };
        // Guests of 1 MiB to 256 GiB.
        let ram: Vec<u64> = guests.iter().map(|mib| mib * MIB).collect();
        let f = fit(
            &imported.scenario,
            &FitRequest { ram: ram.clone(), arcfill: None, within: 120 * HZ },
        );
        let names: Vec<&str> = f.policies.iter().map(|p| p.policy).collect();
        prop_assert_eq!(names, ["legacy", "os8005", "reservoir", "tunables"]);
        for p in &f.policies {
            let sizes: Vec<u64> = p.guests.iter().map(|g| g.ram_bytes).collect();
            prop_assert_eq!(&sizes, &ram, "{}", p.policy);
        }
        let patched = &f.policies[3];
        prop_assert_eq!(
            f.verdict.all_start,
            patched.guests.iter().all(|g| g.outcome == Outcome::Started)
        );
        let enospc: Vec<String> = patched
            .guests
            .iter()
            .filter(|g| g.errno == Some(errno::ENOSPC))
            .map(|g| g.name.clone())
            .collect();
        prop_assert_eq!(&f.verdict.never_fit, &enospc);
        prop_assert_eq!(f.verdict.line.lines().count(), 1);
        prop_assert!(f.verdict.line.starts_with("verdict: on the patched kernel (tunables) "));
        // A guest the admission holds back has the kernel's figures.
        for g in &patched.guests {
            if let Some(s) = &g.shortfall {
                prop_assert!(g.outcome == Outcome::Waiting);
                prop_assert!(s.available_bytes < s.requested_bytes);
            }
        }
        let text = render_text(&f);
        prop_assert_eq!(text.lines().filter(|l| l.starts_with("verdict: ")).count(), 1);
        let json: serde_json::Value = serde_json::from_str(&render_json(&f))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(json["verdict"]["line"].as_str(), Some(f.verdict.line.as_str()));
    }
}
