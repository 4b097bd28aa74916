//! `--plot`: an SVG with one panel per policy showing free memory, the
//! ARC's size and VMM memory over time, with `desfree` and `lotsfree`
//! marked.

use std::fmt::Write as _;

use crate::outcome::{RunResult, Sample};
use crate::params::GIB;
use crate::scenario::Scenario;

const W: f64 = 960.0;
const PANEL_H: f64 = 240.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 150.0;
const TOP: f64 = 28.0;
const BOTTOM: f64 = 36.0;

/// The series: (label, colour, value of a sample).
type Series = (&'static str, &'static str, fn(&Sample) -> u64);

const SERIES: [Series; 3] = [
    ("free memory", "#2ca02c", |s| s.free),
    ("ARC size", "#1f77b4", |s| s.arc),
    ("VMM memory", "#ff7f0e", |s| s.vmm),
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
        r#"<text x="{}" y="18" font-size="15" font-weight="bold">arcsim: {} (GiB over simulated seconds)</text>"#,
        LEFT,
        xml(&s.name)
    );
    for (i, r) in runs.iter().enumerate() {
        panel(&mut o, r, TOP + PANEL_H * i as f64);
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

fn panel(o: &mut String, r: &RunResult, y0: f64) {
    let pw = W - LEFT - RIGHT;
    let ph = PANEL_H - BOTTOM - 22.0;
    let top = y0 + 22.0;
    let t_max = r.duration_s.max(1.0);
    let v_max = r
        .series
        .iter()
        .map(|s| s.free.max(s.arc).max(s.vmm))
        .max()
        .unwrap_or(0)
        .max(r.lotsfree_bytes)
        .max(1) as f64
        / GIB as f64;
    let ystep = nice_step(v_max, 4.0);
    let y_top = (v_max / ystep).ceil() * ystep;
    let x = |t: f64| LEFT + pw * (t / t_max);
    let y = |v: f64| top + ph * (1.0 - v / y_top);

    let _ = writeln!(
        o,
        r#"<text x="{LEFT}" y="{}" font-size="13" font-weight="bold">{}</text>"#,
        y0 + 16.0,
        r.policy.name()
    );
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
            r##"<line x1="{LEFT}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="#eee"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
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
            top + ph + 16.0,
            trim(t)
        );
        t += xstep;
    }
    let _ = writeln!(
        o,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">seconds</text>"#,
        LEFT + pw / 2.0,
        top + ph + 30.0
    );
    // desfree and lotsfree.
    // Labels sit above (lotsfree) and below (desfree) their lines, which
    // are close together at this scale.
    for (label, bytes, dash, dy) in [
        ("lotsfree", r.lotsfree_bytes, "6,3", -3.0),
        ("desfree", r.desfree_bytes, "2,3", 11.0),
    ] {
        let yy = y(bytes as f64 / GIB as f64);
        let _ = writeln!(
            o,
            r##"<line x1="{LEFT}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="#d62728" stroke-dasharray="{dash}"/><text x="{:.1}" y="{:.1}" fill="#d62728" font-size="10">{label} {}</text>"##,
            LEFT + pw,
            LEFT + pw + 6.0,
            yy + dy,
            crate::report::human(bytes)
        );
    }
    // Series.
    for (k, (label, colour, f)) in SERIES.iter().enumerate() {
        let mut pts = String::new();
        for sm in &r.series {
            let _ = write!(pts, "{:.1},{:.1} ", x(sm.t), y(f(sm) as f64 / GIB as f64));
        }
        let _ = writeln!(
            o,
            r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"#,
            pts.trim_end()
        );
        let ly = top + 14.0 + 18.0 * k as f64;
        let lx = LEFT + pw + 10.0;
        let _ = writeln!(
            o,
            r#"<line x1="{lx:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{colour}" stroke-width="3"/><text x="{:.1}" y="{:.1}">{label}</text>"#,
            ly + 36.0,
            lx + 18.0,
            ly + 36.0,
            lx + 22.0,
            ly + 40.0
        );
    }
    // Guest starts.
    for vm in &r.vms {
        if let Some(l) = vm.start_latency_s {
            let xx = x(vm.created_at_s + l);
            let _ = writeln!(
                o,
                r##"<line x1="{xx:.1}" y1="{top:.1}" x2="{xx:.1}" y2="{:.1}" stroke="#555" stroke-dasharray="1,3"/><text x="{:.1}" y="{:.1}" fill="#555" font-size="10">{} up</text>"##,
                top + ph,
                xx + 3.0,
                top + 10.0,
                xml(&vm.name)
            );
        }
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}
