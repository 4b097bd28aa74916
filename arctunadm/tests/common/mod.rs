//! What the end-to-end tests share: a temporary root, a simulated host,
//! and running the command against it as the binary would.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use admin_syntax::KstatSnapshot;
use arctunadm::backend::{Backend, ARCSTATS, ARC_HEADROOM, TUNABLES};
use arctunadm::{HostSpec, Outcome, SimulatedHost};

pub const MIB: u64 = 1 << 20;
pub const GIB: u64 = 1 << 30;

/// A directory removed when dropped, for `-R` and host files.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("arctunadm-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temporary directory");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A host booted from a host file's text.
pub fn host(text: &str) -> SimulatedHost {
    SimulatedHost::boot(HostSpec::parse(text).expect("host file")).expect("host boots")
}

/// `arctunadm -R root ARGS...` against `host`.
pub fn adm(host: &mut SimulatedHost, root: &Path, args: &[&str]) -> Outcome {
    let mut all: Vec<String> = vec!["-R".to_string(), root.display().to_string()];
    all.extend(args.iter().map(|a| a.to_string()));
    arctunadm::run(&all, || Ok(&mut *host))
}

/// What the kernel shows: the tunables, the ARC's limits and the headroom.
pub fn state(host: &mut SimulatedHost) -> Vec<KstatSnapshot> {
    [TUNABLES, ARCSTATS, ARC_HEADROOM]
        .into_iter()
        .map(|ks| host.read(ks).expect("kstat"))
        .collect()
}

/// The value of tunable `name` in force.
pub fn tunable(host: &SimulatedHost, name: &str) -> u64 {
    host.component().get(name).expect("a tunable")
}

/// Asserts `out` failed with exactly one line on standard error and
/// nothing on standard output; returns the line without its newline.
pub fn one_line_failure(out: &Outcome, status: i32) -> String {
    assert_eq!(out.status, status, "{out:?}");
    assert_eq!(out.stdout, "", "{out:?}");
    assert!(out.stderr.ends_with('\n'), "{out:?}");
    let line = out.stderr.trim_end_matches('\n');
    assert!(!line.is_empty() && !line.contains('\n'), "{out:?}");
    assert!(line.starts_with("arctunadm: "), "{out:?}");
    line.to_string()
}

/// The `set` lines of a file.
pub fn set_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .expect("the fragment")
        .lines()
        .filter(|l| l.starts_with("set "))
        .map(str::to_string)
        .collect()
}
