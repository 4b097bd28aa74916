//! `--plot`: an SVG with one panel per policy, on one time axis and one
//! memory axis (`physmem`), showing `::memstat`'s categories stacked
//! over time: Kernel, the ARC's size, what the ARC evicted that is still
//! in its kmem caches (both `ZFS File Data`), VMM Memory, Anon and the
//! rest, and free memory on top; `lotsfree` and `desfree` are marked
//! from the top (free memory under them is the scanner's territory),
//! and so are each of bhyve's retry lines (red ticks under the axis)
//! and each guest's memory set up (a dotted line).

use std::fmt::Write as _;

use crate::log::Message;
use crate::outcome::{RunResult, Sample};
use crate::params::{GIB, HZ};
use crate::scenario::Scenario;

const W: f64 = 1040.0;
const PANEL_H: f64 = 240.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 250.0;
const TOP: f64 = 28.0;
const BOTTOM: f64 = 44.0;

/// The stacked layers, bottom first: (label, colour, bytes of a sample).
type Layer = (&'static str, &'static str, fn(&Sample) -> u64);

const LAYERS: [Layer; 6] = [
    ("Kernel", "#7f7f7f", |s| s.kernel),
    ("ZFS File Data: ARC", "#1f77b4", |s| s.arc),
    ("ZFS File Data: evicted, in kmem", "#9ecae1", |s| s.depot),
    ("VMM Memory", "#ff7f0e", |s| s.vmm),
    ("Anon, Exec, Page cache, Boot", "#9467bd", |s| s.other),
    ("free (freelist + cachelist)", "#2ca02c", |s| s.free),
];

/// A "nice" step for about `n` ticks over `range`.
fn nice_step(range: f64, n: f64) -> f64 {
    let raw = (range / n).max(1e-9);
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let nice = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

/// The whole SVG document.
#[must_use]
pub fn render_svg(s: &Scenario, runs: &[RunResult]) -> String {
    let h = TOP + PANEL_H * runs.len() as f64 + 10.0;
    let mut o = String::new();
    let _ = writeln!(
        o,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{h}" viewBox="0 0 {W} {h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(o, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        o,
        r#"<text x="{}" y="18" font-size="15" font-weight="bold">arcsim: {} (::memstat stacked, GiB, over simulated seconds)</text>"#,
        LEFT,
        xml(&s.name)
    );
    let axes = Axes {
        t_max: runs.iter().map(|r| r.duration_s).fold(1.0, f64::max),
        v_max: runs
            .iter()
            .flat_map(|r| r.series.iter().map(|s| s.total))
            .max()
            .unwrap_or(GIB)
            .max(1) as f64
            / GIB as f64,
    };
    for (i, r) in runs.iter().enumerate() {
        panel(&mut o, r, TOP + PANEL_H * i as f64, &axes);
    }
    o.push_str("</svg>\n");
    o
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The axes every panel shares, so the policies compare at a glance.
struct Axes {
    t_max: f64,
    v_max: f64,
}

fn panel(o: &mut String, r: &RunResult, y0: f64, axes: &Axes) {
    let pw = W - LEFT - RIGHT;
    let ph = PANEL_H - BOTTOM - 22.0;
    let top = y0 + 22.0;
    let t_max = axes.t_max;
    let ystep = nice_step(axes.v_max, 4.0);
    let y_top = axes.v_max;
    let x = |t: f64| LEFT + pw * (t / t_max);
    let y = |v: f64| top + ph * (1.0 - v / y_top);
    let gib = |b: u64| b as f64 / GIB as f64;

    let _ = writeln!(
        o,
        r#"<text x="{LEFT}" y="{}" font-size="13" font-weight="bold">{}</text>"#,
        y0 + 16.0,
        r.policy.name()
    );
    // The stacked layers, as polygons between the running sums.
    let mut below: Vec<u64> = vec![0; r.series.len()];
    for (k, (label, colour, f)) in LAYERS.iter().enumerate() {
        let above: Vec<u64> = r
            .series
            .iter()
            .zip(&below)
            .map(|(sm, b)| b.saturating_add(f(sm)))
            .collect();
        let mut pts = String::new();
        for (sm, a) in r.series.iter().zip(&above) {
            let _ = write!(pts, "{:.1},{:.1} ", x(sm.t), y(gib(*a)));
        }
        for (sm, b) in r.series.iter().zip(&below).rev() {
            let _ = write!(pts, "{:.1},{:.1} ", x(sm.t), y(gib(*b)));
        }
        let _ = writeln!(
            o,
            r#"<polygon points="{}" fill="{colour}" stroke="none"/>"#,
            pts.trim_end()
        );
        let ly = top + 30.0 + 15.0 * k as f64;
        let lx = LEFT + pw + 10.0;
        let _ = writeln!(
            o,
            r#"<rect x="{lx:.1}" y="{ly:.1}" width="12" height="10" fill="{colour}"/><text x="{:.1}" y="{:.1}" font-size="11">{label}</text>"#,
            lx + 16.0,
            ly + 9.0
        );
        below = above;
    }
    let _ = writeln!(
        o,
        r##"<rect x="{LEFT}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#888"/>"##
    );
    // Grid and axes.
    let mut v = 0.0;
    while v <= y_top + 1e-9 {
        let yy = y(v);
        let _ = writeln!(
            o,
            r##"<line x1="{LEFT}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="#fff" stroke-opacity="0.4"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            LEFT + pw,
            LEFT - 6.0,
            yy + 4.0,
            trim(v)
        );
        v += ystep;
    }
    let xstep = nice_step(t_max, 8.0);
    let mut t = 0.0;
    while t <= t_max + 1e-9 {
        let xx = x(t);
        let _ = writeln!(
            o,
            r##"<line x1="{xx:.1}" y1="{:.1}" x2="{xx:.1}" y2="{:.1}" stroke="#888"/><text x="{xx:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            top + ph,
            top + ph + 4.0,
            top + ph + 24.0,
            trim(t)
        );
        t += xstep;
    }
    let _ = writeln!(
        o,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">seconds (red ticks: bhyve's retry lines)</text>"#,
        LEFT + pw / 2.0,
        top + ph + 38.0
    );
    // lotsfree and desfree, measured down from physmem: free memory
    // reaching below these lines is the scanner's (lotsfree) and the
    // swapper's (desfree).
    let total = r.series.last().map_or(0, |s| s.total);
    for (label, bytes, dash, dy) in [
        ("lotsfree", r.lotsfree_bytes, "6,3", 11.0),
        ("desfree", r.desfree_bytes, "2,3", -2.0),
    ] {
        let yy = y(gib(total.saturating_sub(bytes)));
        let _ = writeln!(
            o,
            r##"<line x1="{LEFT}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="#d62728" stroke-dasharray="{dash}"/><text x="{:.1}" y="{:.1}" fill="#d62728" font-size="10" text-anchor="end">{label} {}</text>"##,
            LEFT + pw,
            LEFT + pw - 4.0,
            yy + dy,
            crate::report::human(bytes)
        );
    }
    // bhyve's retry lines, a tick each under the axis.
    for l in &r.log.lines {
        if !matches!(l.message, Message::RetryingAllocation { .. }) {
            continue;
        }
        let first = l.at as f64 / HZ as f64;
        let last = l.last_at as f64 / HZ as f64;
        let step = if l.repeats > 0 {
            (last - first) / l.repeats as f64
        } else {
            0.0
        };
        for i in 0..=l.repeats {
            let xx = x(first + step * i as f64);
            let _ = writeln!(
                o,
                r##"<line x1="{xx:.1}" y1="{:.1}" x2="{xx:.1}" y2="{:.1}" stroke="#d62728" stroke-width="1.5"/>"##,
                top + ph + 5.0,
                top + ph + 13.0
            );
        }
    }
    // Each guest's start (bhyve launched) and memory set up.
    for vm in &r.vms {
        if vm.created_at_s > 0.0 {
            let xx = x(vm.created_at_s);
            let _ = writeln!(
                o,
                r##"<line x1="{xx:.1}" y1="{top:.1}" x2="{xx:.1}" y2="{:.1}" stroke="#000" stroke-dasharray="4,2"/><text x="{:.1}" y="{:.1}" fill="#000" font-size="10">{} launched</text>"##,
                top + ph,
                xx + 3.0,
                top + 34.0,
                xml(&vm.name)
            );
        }
        if let Some(l) = vm.start_latency_s {
            if vm.created_at_s > 0.0 {
                let xx = x(vm.created_at_s + l);
                let _ = writeln!(
                    o,
                    r##"<line x1="{xx:.1}" y1="{top:.1}" x2="{xx:.1}" y2="{:.1}" stroke="#000" stroke-width="1.5"/><text x="{:.1}" y="{:.1}" fill="#000" font-size="10">{} up</text>"##,
                    top + ph,
                    xx + 3.0,
                    top + 46.0,
                    xml(&vm.name)
                );
            }
        }
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}
