//! `arcsim`: run the simulator.
use tests_vm::machine::Policy;
use tests_vm::params::Params;
use tests_vm::scenario;
use tests_vm::sim;

fn main() {
    let name = std::env::args().nth(1).unwrap_or_else(|| "seed-128g".into());
    let s = scenario::builtin(&name).unwrap().unwrap();
    for p in Policy::ALL {
        let r = sim::run(&s, p, &Params::default());
        println!("== {}", p.name());
        for v in &r.vms { println!("{:?}", v); }
        println!("c {} cmin {} arc before {} after {} ideal {} lb {:.1} lwps {} paged {} reaps {}", r.c_bytes>>20, r.c_min_bytes>>20, r.arc_before_bytes>>20, r.arc_after_bytes>>20, r.arc_ideal_after_bytes>>20, r.start_lower_bound_s, r.lwps_swapped, r.pages_paged_out, r.kmem_reaps);
        for l in &r.log.lines { println!("{:>8.2} {}: {}", l.at as f64/100.0, l.guest, l.text); }
        for e in &r.events { if !e.ok { println!("EV {:?}", e); } }
        print!("{}", r.memstat_before.render());
        print!("{}", r.memstat_after.render());
    }
}
