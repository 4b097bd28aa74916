//! `tunables` against today's kernels over a grid of hosts, not only the
//! seed's: host size, how full the ARC is, how fast a reader fills it,
//! and one or three guests of a tenth, three tenths or six tenths of the
//! host. On every one, `tunables` swaps nothing, pages no more than the
//! stock kernel that pages least, and starts every guest without a retry.
//!
//! The grid stops at readers that outrun the stock ARC itself (2 GB/s,
//! or 500 MB/s on a 16 GiB host): there the host pages with no guest at
//! all, and MODEL.md ("Where `tunables` still pages") gives the figures.

use tests_vm::params::Params;
use tests_vm::policy::Policy;
use tests_vm::scenario::parse_scenario;
use tests_vm::sim;

const STOCK: [Policy; 3] = [Policy::Legacy, Policy::Os8005, Policy::Reservoir];

/// One host of the grid, as a scenario file.
fn host(physmem_gib: u64, arc_fill: f64, reader: &str, guest_share: f64, guests: u64) -> String {
    let kernel = (physmem_gib * 6 / 100).max(1);
    let anon = (physmem_gib * 2 / 100).max(1);
    // Whole GiB, as a scenario file would say it.
    let arc = ((physmem_gib - kernel - anon) as f64 * arc_fill) as u64;
    let ram = ((physmem_gib as f64 * guest_share / guests as f64) as u64).max(1);
    let mut s = format!(
        "[host]\nphysmem = \"{physmem_gib}G\"\nkernel = \"{kernel}G\"\nanon = \"{anon}G\"\n\
         generation = \"current\"\n[arc]\nsize = \"{arc}G\"\n[workload]\narcfill = \"{reader}\"\n\
         [sim]\nduration = \"150s\"\n"
    );
    for k in 0..guests {
        let at = 10 + 15 * k;
        s += &format!(
            "[[event]]\nat = \"{at}s\"\nvm_create = {{ name = \"vm{k}\", ram = \"{ram}G\" }}\n"
        );
    }
    s
}

#[test]
fn tunables_is_never_worse_than_the_stock_kernels() {
    let mut hosts = 0;
    for physmem in [16, 64, 128, 512] {
        let readers: &[&str] = if physmem <= 16 {
            &["0", "100M"]
        } else {
            &["0", "100M", "500M"]
        };
        for fill in [0.5, 0.85] {
            for reader in readers {
                for share in [0.1, 0.3, 0.6] {
                    for guests in [1, 3] {
                        let text = host(physmem, fill, reader, share, guests);
                        let name =
                            format!("{physmem}G fill {fill} reader {reader} {guests} x {share}");
                        let s = parse_scenario(&text, &name).unwrap();
                        let p = Params::default();
                        let t = sim::run(&s, Policy::Tunables, &p);
                        let least = STOCK
                            .iter()
                            .map(|&k| sim::run(&s, k, &p).pages_paged_out)
                            .min()
                            .unwrap();
                        assert_eq!(t.lwps_swapped, 0, "{name}");
                        assert!(
                            t.pages_paged_out <= least,
                            "{name}: paged {} where a stock kernel paged {least}",
                            t.pages_paged_out
                        );
                        for v in &t.vms {
                            assert!(v.started, "{name}: {} did not start: {:?}", v.name, v.error);
                            assert_eq!(v.retry_lines, 0, "{name}: {}", v.name);
                        }
                        hosts += 1;
                    }
                }
            }
        }
    }
    assert_eq!(hosts, 132);
}
