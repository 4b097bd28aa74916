//! Prints the ARC limits of a host and what a guest's reservation does to
//! them: `cargo run -p zfs-tunables --example host_limits -- 128G 64G`.

use zfs_tunables::std_platform::StdPlatform;
use zfs_tunables::{ArcTunables, Bytes, Generation, HostMemory, PageSize, GIB, MIB};

fn parse_size(s: &str) -> Option<u64> {
    let (num, mult) = match s.chars().last()? {
        'G' | 'g' => (&s[..s.len() - 1], GIB),
        'M' | 'm' => (&s[..s.len() - 1], MIB),
        _ => (s, 1),
    };
    num.parse::<u64>().ok()?.checked_mul(mult)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let host = args
        .first()
        .and_then(|s| parse_size(s))
        .unwrap_or(128 * GIB);
    let guest = args.get(1).and_then(|s| parse_size(s)).unwrap_or(64 * GIB);
    let ps = PageSize::AMD64;
    let t = ArcTunables::new(
        StdPlatform::manual(),
        HostMemory::new(Bytes(host).to_pages_roundup(ps), ps),
        Generation::Current,
    );
    t.finish_boot();
    let show = |what: &str| {
        let l = t.limits();
        let h = t.headroom_stats();
        println!(
            "{what:<28} c_min {:>6} MiB  c_max {:>7} MiB  c {:>7} MiB  reserved {:>7} MiB",
            l.c_min.0 / MIB,
            l.c_max.0 / MIB,
            l.c.0 / MIB,
            h.reserved.0 / MIB
        );
    };
    show("boot");
    match t.reserve("vmm", Bytes(guest)) {
        Ok(id) => {
            show("guest reserved");
            let _ = t.release(id);
            show("guest released");
        }
        Err(e) => println!(
            "reservation refused ({}): {e}",
            zfs_tunables::errno::name(e.to_errno())
        ),
    }
}
