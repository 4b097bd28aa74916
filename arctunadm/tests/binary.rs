//! The spawned binary against a simulated host file: what an operator's
//! shell sees (exit statuses, standard output and error), and that
//! successive commands see one host.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use admin_syntax::apply_etc_system;
use common::{set_lines, TempDir, GIB, MIB};
use zfs_tunables::std_platform::StdPlatform;
use zfs_tunables::{ArcTunables, Generation, HostMemory, PageSize, Pages};

const TOUR: &str = include_str!("simulated-hosts/tour.host");

struct Host {
    dir: TempDir,
}

impl Host {
    fn new(text: &str) -> Host {
        let dir = TempDir::new("bin");
        std::fs::write(dir.path().join("host"), text).unwrap();
        std::fs::create_dir_all(dir.path().join("root")).unwrap();
        Host { dir }
    }

    fn root(&self) -> std::path::PathBuf {
        self.dir.path().join("root")
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_arctunadm"))
            .arg("-R")
            .arg(self.root())
            .args(args)
            .env(arctunadm::SIMULATED_HOST_ENV, self.dir.path().join("host"))
            .output()
            .expect("arctunadm runs")
    }
}

fn text(b: &[u8]) -> &str {
    std::str::from_utf8(b).expect("UTF-8")
}

/// Exit status, one line on standard error, nothing on standard output.
fn fails(out: &Output, code: i32) -> String {
    assert_eq!(out.status.code(), Some(code), "{out:?}");
    assert_eq!(text(&out.stdout), "", "{out:?}");
    let err = text(&out.stderr);
    assert!(err.ends_with('\n') && err.lines().count() == 1, "{out:?}");
    err.trim_end().to_string()
}

fn ok(out: &Output) -> &str {
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    text(&out.stdout)
}

#[test]
fn set_get_status_through_the_binary() {
    let h = Host::new(TOUR);
    assert_eq!(ok(&h.run(&["set", "zfs_arc_max=8G"])), "");
    // A second process sees what the first set.
    assert_eq!(
        ok(&h.run(&["get", "-p", "zfs_arc_max"])),
        "zfs:0:tunables:zfs_arc_max\t8589934592\n"
    );
    let status = h.run(&["status", "-p"]);
    assert!(ok(&status).contains("zfs:0:arcstats:c_max\t8589934592\n"));
    let status = h.run(&["status"]);
    assert!(ok(&status).contains("  ceiling (c_max)              8.0 GiB"));
}

#[test]
fn a_refused_value_exits_1_with_the_kernels_message_and_changes_nothing() {
    let h = Host::new(TOUR);
    let before = ok(&h.run(&["get", "-p"])).to_string();
    let line = fails(&h.run(&["set", "--persist", "zfs_arc_max=4096"]), 1);
    // The sentence the component gives for the same write.
    let kernel = common::host(TOUR)
        .component()
        .set("zfs_arc_max", 4096)
        .unwrap_err();
    assert_eq!(
        line,
        format!("arctunadm: zfs:0:tunables: write refused (EINVAL): {kernel}; nothing was changed")
    );
    assert_eq!(ok(&h.run(&["get", "-p"])), before);
    assert!(!h.root().join("etc").exists());
}

#[test]
fn a_good_and_a_bad_value_change_neither() {
    let h = Host::new(TOUR);
    let before = ok(&h.run(&["get", "-p"])).to_string();
    let line = fails(&h.run(&["set", "zfs_arc_max=1G", "zfs_arc_min=bad"]), 2);
    assert!(
        line.starts_with("arctunadm: set: zfs_arc_min: 'bad': "),
        "{line}"
    );
    fails(&h.run(&["set", "zfs_arc_max=1G", "zfs_arc_min=100G"]), 1);
    assert_eq!(ok(&h.run(&["get", "-p"])), before);
}

fn booting(allmem: u64) -> ArcTunables<StdPlatform> {
    let ps = PageSize::AMD64;
    let host = HostMemory {
        physmem: Pages(allmem >> ps.shift()),
        swapfs_minfree: Pages(0),
        page_size: ps,
        heap: None,
    };
    ArcTunables::new(StdPlatform::manual(), host, Generation::Y2021)
}

#[test]
fn persist_writes_one_line_that_boot_reads_back() {
    let h = Host::new(TOUR);
    assert_eq!(ok(&h.run(&["set", "--persist", "zfs_arc_max=8G"])), "");
    let fragment = h.root().join("etc/system.d/arctunadm");
    assert_eq!(set_lines(&fragment), ["set zfs:zfs_arc_max = 0x200000000"]);
    let boot = booting(128 * GIB - 256 * MIB);
    let report = apply_etc_system(&boot, &std::fs::read(&fragment).unwrap());
    assert!(report.findings.is_empty());
    assert_eq!(boot.get("zfs_arc_max").unwrap(), 8 * GIB);
    assert_eq!(ok(&h.run(&["reset", "--persist", "zfs_arc_max"])), "");
    assert!(!fragment.exists());
}

#[test]
fn bad_input_exits_2_with_one_line() {
    let h = Host::new(TOUR);
    for args in [
        &[][..],
        &["frob"],
        &["get", "--frob"],
        &["set"],
        &["set", "zfs_arc_max=8Q"],
        &["set", "zfs_arc_max=-8G"],
        &["set", "zfs_arc_max=99999999999999999999"],
        &["reset"],
        &["get", "nosuch"],
        &["profile", "nosuch"],
    ] {
        fails(&h.run(args), 2);
    }
}

#[test]
fn help_needs_no_kernel() {
    let out = Command::new(env!("CARGO_BIN_EXE_arctunadm"))
        .arg("--help")
        .env_remove(arctunadm::SIMULATED_HOST_ENV)
        .output()
        .unwrap();
    assert!(ok(&out).starts_with("NAME\n     arctunadm - "));
}

#[test]
fn without_a_kernel_or_a_simulated_host_it_says_so() {
    if cfg!(target_os = "illumos") {
        return;
    }
    let out = Command::new(env!("CARGO_BIN_EXE_arctunadm"))
        .arg("get")
        .env_remove(arctunadm::SIMULATED_HOST_ENV)
        .output()
        .unwrap();
    let line = fails(&out, 1);
    assert!(line.contains("this is not illumos"), "{line}");
}

#[test]
fn a_bad_host_file_is_one_line() {
    let h = Host::new("physmem = 128G\nfreemem = lots\n");
    let line = fails(&h.run(&["get"]), 1);
    let host = h.dir.path().join("host");
    assert_eq!(
        line,
        format!(
            "arctunadm: simulated host {}: line 2: freemem: 'lots': unexpected character at \
             offset 0 (a size is digits with an optional K, M, G or T, or 0x and hex digits)",
            Path::new(&host).display()
        )
    );
}
