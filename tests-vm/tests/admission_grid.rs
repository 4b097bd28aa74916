//! `tunables` against the stock kernels on the 132-host grid and on the
//! 60 hosts with fast readers (issue 13, acceptance 3): on every host it
//! swaps nothing, pages no more than the stock kernel that pages least,
//! pages nothing where some stock kernel pages nothing, and starts every
//! guest some stock kernel starts without paging.
//!
//! The hosts are `tests_vm::grid`'s (those of `never_worse_than_stock.rs`
//! and the fast readers, 2 GiB/s of misses, 500 MiB/s and 2 GiB/s on
//! 16 GiB), where the stock ARC itself cannot hold `lotsfree` with no
//! guest at all. MODEL.md's table of them ("Where `tunables` still
//! pages") is `arcsim tables`' (`tests/doc_tables.rs`).

use tests_vm::grid::{self, FAST_READER_HOSTS, GRID_HOSTS};

#[test]
fn admission_grid_tunables_is_never_worse_than_the_best_stock_kernel() {
    let hosts = grid::run_all(false).unwrap();
    assert_eq!(hosts.len(), GRID_HOSTS);
    let bad: Vec<String> = hosts.iter().flat_map(grid::worse_than_stock).collect();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn admission_grid_fast_readers_tunables_is_never_worse_than_the_best_stock_kernel() {
    let fast = grid::run_all(true).unwrap();
    assert_eq!(fast.len(), FAST_READER_HOSTS);
    let bad: Vec<String> = fast.iter().flat_map(grid::worse_than_stock).collect();
    assert!(bad.is_empty(), "{} of 60:\n{}", bad.len(), bad.join("\n"));
}

/// Issue 17, finding 1, on the grid: on every host `tunables` blocks ZFS
/// allocations during starts no longer than the best stock kernel.
#[test]
fn admission_grid_zfs_stall_no_longer_than_the_best_stock_kernel() {
    let hosts = grid::run_all(false).unwrap();
    let worse: Vec<String> = hosts
        .iter()
        .filter_map(|h| {
            let best = h
                .stock
                .iter()
                .map(|r| r.zfs_blocked_in_starts_s)
                .fold(f64::INFINITY, f64::min);
            let t = h.tunables.zfs_blocked_in_starts_s;
            (t > best + 1e-9).then(|| format!("{}: {t:.2} s vs {best:.2} s", h.name))
        })
        .collect();
    assert!(
        worse.is_empty(),
        "{} of 132:\n{}",
        worse.len(),
        worse.join("\n")
    );
}
