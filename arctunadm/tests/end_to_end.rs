//! Every subcommand end to end, through the library, against the
//! simulated host: kstat-export's driver over the real zfs-tunables
//! component, the same write path the kernel module runs.

mod common;

use admin_syntax::apply_etc_system;
use arctunadm::backend::{Backend, TUNABLES};
use common::{adm, host, one_line_failure, set_lines, state, tunable, TempDir, GIB, MIB};
use zfs_tunables::std_platform::StdPlatform;
use zfs_tunables::{ArcTunables, Generation, HostMemory, PageSize, Pages};

/// The 128 GiB host with one 32 GiB guest that OPERATING.md uses.
const TOUR: &str = include_str!("simulated-hosts/tour.host");

/// 128 GiB less `swapfs_minfree` (256 MiB): what the ARC may use.
const TOUR_ALLMEM: u64 = 128 * GIB - 256 * MIB;

/// The kernel's own sentence for `writes` on a host booted from `text`,
/// and its errno's name.
fn kernels_refusal(text: &str, writes: &[(&str, u64)]) -> (String, &'static str) {
    let fresh = host(text);
    let e = fresh.component().set_many(writes).unwrap_err();
    (e.to_string(), zfs_tunables::errno::name(e.to_errno()))
}

/// The line the command prints for a refused write of `writes`.
fn refused_line(text: &str, writes: &[(&str, u64)]) -> String {
    let (why, errno) = kernels_refusal(text, writes);
    format!("arctunadm: zfs:0:tunables: write refused ({errno}): {why}; nothing was changed")
}

#[test]
fn set_then_get_shows_it_and_status_shows_the_ceiling_moved() {
    let root = TempDir::new("set");
    let mut h = host(TOUR);
    let before = adm(&mut h, root.path(), &["status", "-p"]);
    assert_eq!(before.status, 0, "{before:?}");
    assert!(!before.stdout.contains("zfs:0:arcstats:c_max\t8589934592\n"));

    let set = adm(&mut h, root.path(), &["set", "zfs_arc_max=8G"]);
    assert_eq!(
        (set.status, set.stdout.as_str(), set.stderr.as_str()),
        (0, "", "")
    );
    assert_eq!(tunable(&h, "zfs_arc_max"), 8 * GIB);

    let get = adm(&mut h, root.path(), &["get", "zfs_arc_max"]);
    assert_eq!(get.status, 0, "{get:?}");
    assert_eq!(
        get.stdout,
        "TUNABLE                        VALUE\nzfs_arc_max                    8589934592 (8.0 GiB)\n"
    );
    let get_p = adm(&mut h, root.path(), &["get", "-p", "zfs_arc_max"]);
    assert_eq!(get_p.stdout, "zfs:0:tunables:zfs_arc_max\t8589934592\n");

    let status_p = adm(&mut h, root.path(), &["status", "-p"]);
    assert!(
        status_p
            .stdout
            .contains("zfs:0:arcstats:c_max\t8589934592\n"),
        "{status_p:?}"
    );
    assert!(status_p
        .stdout
        .contains("zfs:0:arc_headroom:c_max_effective\t8589934592\n"));
    let status = adm(&mut h, root.path(), &["status"]);
    let ceiling = status
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("ceiling (c_max)"))
        .unwrap();
    assert!(ceiling.contains(" 8.0 GiB "), "{ceiling}");
    assert_eq!(h.component().headroom_stats().c_max_effective.0, 8 * GIB);
}

#[test]
fn an_invalid_value_is_refused_with_the_kernels_message_and_changes_nothing() {
    let guest16 = "physmem = 16G\nguest = db1 12G\n";
    // (host, writes): below the floor; at allmem; a minimum above the
    // maximum; a minimum the running guest leaves no room for.
    let cases: [(&str, &[(&str, u64)]); 4] = [
        (TOUR, &[("zfs_arc_max", 4096)]),
        (TOUR, &[("zfs_arc_max", TOUR_ALLMEM)]),
        (TOUR, &[("zfs_arc_max", 8 * GIB), ("zfs_arc_min", 9 * GIB)]),
        (guest16, &[("zfs_arc_min", 4 * GIB)]),
    ];
    let mut errnos = Vec::new();
    for (text, writes) in cases {
        let root = TempDir::new("invalid");
        let mut h = host(text);
        let before = state(&mut h);
        let args: Vec<String> = writes.iter().map(|(n, v)| format!("{n}={v}")).collect();
        let mut argv = vec!["set", "--persist"];
        argv.extend(args.iter().map(String::as_str));
        let out = adm(&mut h, root.path(), &argv);
        let line = one_line_failure(&out, 1);
        assert_eq!(line, refused_line(text, writes));
        assert_eq!(state(&mut h), before, "{argv:?} changed the kernel");
        assert!(
            !root.path().join("etc").exists(),
            "{argv:?} persisted a refused value"
        );
        errnos.push(kernels_refusal(text, writes).1);
    }
    assert_eq!(errnos, ["EINVAL", "EINVAL", "ERANGE", "EBUSY"]);
}

#[test]
fn a_good_value_next_to_a_bad_one_changes_neither() {
    let root = TempDir::new("pair");
    let mut h = host(TOUR);
    let before = state(&mut h);
    // Bad input: the command refuses it before writing.
    for args in [
        &["set", "zfs_arc_max=8G", "zfs_arc_min=bad"][..],
        &["set", "zfs_arc_max=8G", "zfs_arc_mni=1G"],
        &["set", "zfs_arc_max=8G", "zfs_arc_min=99999999999999999999"],
        &["set", "--persist", "zfs_arc_max=8G", "zfs_arc_min=1.5G"],
    ] {
        let out = adm(&mut h, root.path(), args);
        one_line_failure(&out, 2);
        assert_eq!(state(&mut h), before, "{args:?}");
    }
    // A value the kernel refuses next to one it would take: one write,
    // so neither.
    let out = adm(
        &mut h,
        root.path(),
        &["set", "zfs_arc_max=8G", "vmm_arc_page_overhead=8K"],
    );
    one_line_failure(&out, 1);
    assert_eq!(state(&mut h), before);
    assert!(!root.path().join("etc").exists());
    // Alone, the good one is taken.
    assert_eq!(
        adm(&mut h, root.path(), &["set", "zfs_arc_max=8G"]).status,
        0
    );
    assert_eq!(tunable(&h, "zfs_arc_max"), 8 * GIB);
}

#[test]
fn several_at_once_are_applied_together() {
    let root = TempDir::new("many");
    let mut h = host(TOUR);
    assert_eq!(
        adm(&mut h, root.path(), &["set", "zfs_arc_max=8G"]).status,
        0
    );
    // Alone, a minimum above the maximum in force is refused...
    let alone = adm(&mut h, root.path(), &["set", "zfs_arc_min=16G"]);
    assert!(
        one_line_failure(&alone, 1).contains("(ERANGE)"),
        "{alone:?}"
    );
    // ...and taken with the maximum that makes room for it.
    let out = adm(
        &mut h,
        root.path(),
        &["set", "zfs_arc_min=16G", "zfs_arc_max=32G"],
    );
    assert_eq!(out.status, 0, "{out:?}");
    assert_eq!(tunable(&h, "zfs_arc_max"), 32 * GIB);
    assert_eq!(tunable(&h, "zfs_arc_min"), 16 * GIB);
}

/// A component as a boot builds it, for reading a fragment back.
fn booting(allmem: u64) -> ArcTunables<StdPlatform> {
    let ps = PageSize::AMD64;
    let host = HostMemory {
        physmem: Pages(allmem >> ps.shift()),
        swapfs_minfree: Pages(0),
        page_size: ps,
        heap: None,
    };
    let t = ArcTunables::new(StdPlatform::manual(), host, Generation::Y2021);
    t.register(&vmm_client::page_overhead::VMM_REGISTRANT)
        .unwrap();
    t
}

#[test]
fn persist_writes_exactly_one_line_the_etc_system_parser_reads_back() {
    let root = TempDir::new("persist");
    let fragment = root.path().join("etc/system.d/arctunadm");
    let mut h = host(TOUR);
    let out = adm(&mut h, root.path(), &["set", "--persist", "zfs_arc_max=8G"]);
    assert_eq!(out.status, 0, "{out:?}");
    assert_eq!(set_lines(&fragment), ["set zfs:zfs_arc_max = 0x200000000"]);
    let text = std::fs::read(&fragment).unwrap();
    let boot = booting(TOUR_ALLMEM);
    let report = apply_etc_system(&boot, &text);
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    assert_eq!(report.applied.len(), 1);
    assert_eq!(boot.get("zfs_arc_max").unwrap(), 8 * GIB);

    // Again, and another module's tunable: still one line per tunable,
    // each with its module's prefix.
    for args in [
        &["set", "--persist", "zfs_arc_max=9G"][..],
        &[
            "set",
            "--persist",
            "vmm_arc_page_overhead=128",
            "zfs_arc_min=2G",
        ],
    ] {
        assert_eq!(adm(&mut h, root.path(), args).status, 0);
    }
    assert_eq!(
        set_lines(&fragment),
        [
            "set zfs:zfs_arc_max = 0x240000000",
            "set zfs:zfs_arc_min = 0x80000000",
            "set vmm:vmm_arc_page_overhead = 0x80",
        ]
    );
    let boot = booting(TOUR_ALLMEM);
    let report = apply_etc_system(&boot, &std::fs::read(&fragment).unwrap());
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    for (name, value) in [
        ("zfs_arc_max", 9 * GIB),
        ("zfs_arc_min", 2 * GIB),
        ("vmm_arc_page_overhead", 128),
    ] {
        assert_eq!(boot.get(name).unwrap(), value, "{name}");
        assert_eq!(tunable(&h, name), value, "{name}");
    }

    // reset --persist removes the line, and the file with the last one.
    let out = adm(
        &mut h,
        root.path(),
        &["reset", "--persist", "zfs_arc_max", "zfs_arc_min"],
    );
    assert_eq!(out.status, 0, "{out:?}");
    assert_eq!(
        set_lines(&fragment),
        ["set vmm:vmm_arc_page_overhead = 0x80"]
    );
    assert_eq!(tunable(&h, "zfs_arc_max"), 0);
    assert_eq!(
        adm(&mut h, root.path(), &["reset", "--persist", "-a"]).status,
        0
    );
    assert!(!fragment.exists());
    // Nothing else was left in the directory (no temporary file).
    let left: Vec<_> = std::fs::read_dir(root.path().join("etc/system.d"))
        .unwrap()
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn persist_refuses_a_fragment_it_did_not_write_before_changing_anything() {
    let root = TempDir::new("foreign");
    let dir = root.path().join("etc/system.d");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("arctunadm"),
        "set zfs:zfs_arc_max = 0x200000000\nforceload: drv/foo\n",
    )
    .unwrap();
    let mut h = host(TOUR);
    let before = state(&mut h);
    let out = adm(&mut h, root.path(), &["set", "--persist", "zfs_arc_max=9G"]);
    let line = one_line_failure(&out, 1);
    assert_eq!(
        line,
        "arctunadm: /etc/system.d/arctunadm line 2 is not a line arctunadm writes; move it to \
         another file"
    );
    assert_eq!(state(&mut h), before);
}

#[test]
fn persist_notes_a_later_file_that_wins_at_boot() {
    let root = TempDir::new("override");
    std::fs::create_dir_all(root.path().join("etc")).unwrap();
    std::fs::write(
        root.path().join("etc/system"),
        "* site\nset zfs:zfs_arc_max = 0x100000000\n",
    )
    .unwrap();
    let mut h = host(TOUR);
    let out = adm(&mut h, root.path(), &["set", "--persist", "zfs_arc_max=8G"]);
    assert_eq!(out.status, 0, "{out:?}");
    assert_eq!(
        out.stderr,
        "arctunadm: note: /etc/system line 2 also sets zfs:zfs_arc_max and is read after \
         /etc/system.d/arctunadm: its value wins at boot\n"
    );
}

#[test]
fn reset_to_defaults_and_to_the_boot_configuration() {
    let root = TempDir::new("reset");
    let mut h = host(TOUR);
    assert_eq!(
        adm(
            &mut h,
            root.path(),
            &["set", "zfs_arc_max=8G", "zfs_arc_min=2G"]
        )
        .status,
        0
    );
    assert_eq!(
        adm(&mut h, root.path(), &["reset", "zfs_arc_min"]).status,
        0
    );
    assert_eq!(
        (tunable(&h, "zfs_arc_max"), tunable(&h, "zfs_arc_min")),
        (8 * GIB, 0)
    );
    assert_eq!(
        adm(&mut h, root.path(), &["set", "vmm_arc_page_overhead=0"]).status,
        0
    );
    assert_eq!(adm(&mut h, root.path(), &["reset", "-a"]).status, 0);
    // The booted tunables and limits (the ARC's target stays where the
    // lower ceiling put it: a higher ceiling lets it grow, not jump).
    let (now, booted) = (state(&mut h), state(&mut host(TOUR)));
    assert_eq!(now[0], booted[0], "the tunables");
    assert_eq!(now[2], booted[2], "the headroom");
    for limit in ["c_min", "c_max", "arc_meta_limit", "arc_meta_min"] {
        assert_eq!(now[1].get(limit), booted[1].get(limit), "{limit}");
    }
    assert_eq!(tunable(&h, "vmm_arc_page_overhead"), 120);

    // The fragments, then /etc/system (which wins); a bad line is
    // reported with its file and line, and ignored.
    let etc = root.path().join("etc");
    std::fs::create_dir_all(etc.join("system.d")).unwrap();
    std::fs::write(
        etc.join("system.d/arctunadm"),
        "set zfs:zfs_arc_max = 0x400000000\nset zfs:zfs_arc_min = 0x40000000\n",
    )
    .unwrap();
    std::fs::write(
        etc.join("system"),
        "set zfs:zfs_arc_max = 0x300000000\nset zfs:zfs_arc_maxx = 0x1000\n",
    )
    .unwrap();
    assert_eq!(
        adm(&mut h, root.path(), &["set", "vmm_arc_page_overhead=64"]).status,
        0
    );
    let out = adm(&mut h, root.path(), &["reset", "--etc-system"]);
    assert_eq!(out.status, 0, "{out:?}");
    assert!(
        out.stderr
            .starts_with("arctunadm: warning: /etc/system line 2: ")
            && out.stderr.lines().count() == 1,
        "{out:?}"
    );
    assert!(
        out.stderr.contains("'zfs_arc_maxx' is not a tunable"),
        "{out:?}"
    );
    assert_eq!(tunable(&h, "zfs_arc_max"), 12 * GIB);
    assert_eq!(tunable(&h, "zfs_arc_min"), GIB);
    assert_eq!(tunable(&h, "vmm_arc_page_overhead"), 120);
}

#[test]
fn profiles_are_computed_from_allmem_and_written_like_any_value() {
    // (host, allmem, profile, zfs_arc_min, zfs_arc_max)
    let tb = "physmem = 1T\n";
    let tb_allmem = 1024 * GIB - 256 * MIB;
    let cases = [
        (TOUR, TOUR_ALLMEM, "balanced", GIB, TOUR_ALLMEM / 2),
        (TOUR, TOUR_ALLMEM, "compute-hvm", GIB, TOUR_ALLMEM / 8),
        (TOUR, TOUR_ALLMEM, "compute-hvm-64", GIB, TOUR_ALLMEM / 8),
        (tb, tb_allmem, "compute-hvm", GIB, tb_allmem / 8),
        (tb, tb_allmem, "compute-hvm-64", GIB, 64 * GIB),
        (tb, tb_allmem, "illumos", GIB, tb_allmem - GIB),
    ];
    for (text, _, profile, min, max) in cases {
        let root = TempDir::new("profile");
        let mut h = host(text);
        let out = adm(&mut h, root.path(), &["profile", profile, "--persist"]);
        assert_eq!(out.status, 0, "{profile}: {out:?}");
        assert_eq!(tunable(&h, "zfs_arc_min"), min, "{profile}");
        assert_eq!(tunable(&h, "zfs_arc_max"), max, "{profile}");
        assert_eq!(
            set_lines(&root.path().join("etc/system.d/arctunadm")),
            [
                format!("set zfs:zfs_arc_max = {max:#x}"),
                format!("set zfs:zfs_arc_min = {min:#x}")
            ]
        );
    }
    // The list shows what each would set on this host.
    let root = TempDir::new("profiles");
    let out = adm(&mut host(TOUR), root.path(), &["profile"]);
    assert_eq!(out.status, 0, "{out:?}");
    let balanced = out
        .stdout
        .lines()
        .find(|l| l.starts_with("balanced "))
        .unwrap();
    assert!(
        balanced.contains(" 1.0 GiB ") && balanced.contains(" 63.9 GiB "),
        "{balanced}"
    );
}

#[test]
fn a_profile_the_kernel_refuses_changes_nothing() {
    // 1 GiB: all memory but 1 GiB is nothing, so the profile asks for the
    // 64 MiB floor, which the kernel refuses (its floor is exclusive).
    let small = "physmem = 1G\n";
    let root = TempDir::new("profile-refused");
    let mut h = host(small);
    let before = state(&mut h);
    let out = adm(&mut h, root.path(), &["profile", "illumos"]);
    let line = one_line_failure(&out, 1);
    assert_eq!(
        line,
        refused_line(small, &[("zfs_arc_min", 0), ("zfs_arc_max", 64 * MIB)])
    );
    assert_eq!(state(&mut h), before);
}

#[test]
fn refusals_name_the_cause() {
    let root = TempDir::new("refusals");
    let cases = [
        (
            "physmem = 128G\ncaller = unprivileged\n",
            &["set", "zfs_arc_max=8G"][..],
            "arctunadm: zfs:0:tunables: write refused (EPERM): writing zfs:0:tunables needs the \
             sys_config privilege (root in the global zone); nothing was changed",
        ),
        (
            "physmem = 128G\narctun = unloaded\n",
            &["get"],
            "arctunadm: zfs:0:tunables does not exist: this kernel has no misc/arctun (a kernel \
             without the patches, or ZFS not loaded)",
        ),
        (
            "physmem = 128G\narctun = unloaded\n",
            &["status"],
            "arctunadm: zfs:0:arc_headroom does not exist: this kernel has no misc/arctun (a \
             kernel without the patches, or ZFS not loaded)",
        ),
        (
            "physmem = 128G\nvmm = unloaded\n",
            &["set", "vmm_arc_page_overhead=0"],
            "arctunadm: vmm_arc_page_overhead is a tunable of the vmm module, which has not \
             registered it: zfs:0:tunables has it only while vmm is loaded",
        ),
    ];
    for (text, args, expected) in cases {
        let mut h = host(text);
        let out = adm(&mut h, root.path(), args);
        assert_eq!(one_line_failure(&out, 1), expected, "{text:?} {args:?}");
    }
    // Without vmm, status says so and shows the rest.
    let out = adm(
        &mut host("physmem = 128G\nvmm = unloaded\n"),
        root.path(),
        &["status"],
    );
    assert_eq!(out.status, 0, "{out:?}");
    assert!(out
        .stdout
        .contains("Guests: vmm is not loaded (vmm:0:arc_resv does not exist)\n"));
}

#[test]
fn get_and_status_print_kstat_p_lines() {
    let root = TempDir::new("parsable");
    let mut h = host(TOUR);
    let out = adm(&mut h, root.path(), &["get", "-p"]);
    assert_eq!(out.status, 0, "{out:?}");
    // Every tunable, in kstat -p's order, as kstat -p prints them.
    let tunables = h.read(TUNABLES).unwrap();
    let mut expected: Vec<String> = tunables
        .data
        .iter()
        .map(|(n, v)| format!("zfs:0:tunables:{n}\t{v}"))
        .collect();
    expected.sort_by_key(|l| l.to_ascii_lowercase());
    assert_eq!(out.stdout.lines().collect::<Vec<_>>(), expected);
    // status -p: the same shape, for each kstat it reads.
    let out = adm(&mut h, root.path(), &["status", "-p"]);
    assert_eq!(out.status, 0, "{out:?}");
    for line in out.stdout.lines() {
        let (key, value) = line.split_once('\t').unwrap();
        assert_eq!(key.split(':').count(), 4, "{line}");
        assert!(value.parse::<u64>().is_ok(), "{line}");
    }
    for prefix in [
        "zfs:0:arcstats:",
        "zfs:0:arc_headroom:",
        "vmm:0:arc_resv:",
        "unix:0:system_pages:",
    ] {
        assert!(
            out.stdout.lines().any(|l| l.starts_with(prefix)),
            "{prefix}"
        );
    }
}

#[test]
fn help_is_a_manual_page() {
    let root = TempDir::new("help");
    for args in [&["--help"][..], &["-h"], &["help"], &["set", "--help"]] {
        // Help needs no kernel.
        let out = arctunadm::run::<&mut arctunadm::SimulatedHost>(
            &args.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
            || Err("no kernel".to_string()),
        );
        assert_eq!(out.status, 0, "{args:?}");
        for section in [
            "NAME",
            "SYNOPSIS",
            "DESCRIPTION",
            "OPTIONS",
            "EXIT STATUS",
            "FILES",
        ] {
            assert!(out.stdout.lines().any(|l| l == section), "{section}");
        }
    }
    let _ = root;
}

#[test]
fn help_names_every_tunable_the_kernel_registers() {
    let out = arctunadm::run::<&mut arctunadm::SimulatedHost>(&["--help".to_string()], || {
        Err("no kernel".to_string())
    });
    // The manual page wraps lines: compare word by word.
    let words: Vec<&str> = out
        .stdout
        .split(|c: char| c.is_whitespace() || c == ',' || c == '(' || c == ')')
        .collect();
    let mut h = host(TOUR);
    let root = TempDir::new("help-tunables");
    let get = adm(&mut h, root.path(), &["get", "-p"]);
    assert_eq!(get.status, 0, "{get:?}");
    let names: Vec<&str> = get
        .stdout
        .lines()
        .filter_map(|l| l.split('\t').next()?.rsplit(':').next())
        .collect();
    assert!(names.len() >= 8, "{names:?}");
    for name in names {
        assert!(words.contains(&name), "--help does not name {name}");
    }
}

#[test]
fn status_says_what_a_start_could_have_now() {
    let root = TempDir::new("available");
    let mut h = host(TOUR);
    let out = adm(&mut h, root.path(), &["status"]);
    assert_eq!(out.status, 0, "{out:?}");
    // The tour host: 12 GiB free, an ARC of 60 GiB above a 1 GiB c_min,
    // all evictable, and the default margin lotsfree + desfree (2 GiB +
    // 1 GiB): 12 + 59 - 3 = 68 GiB. The availrmem side (128 GiB less the
    // ARC and the 32 GiB guest, plus the 59 GiB, less pages_pp_maximum)
    // is larger.
    let line = out
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("available now"))
        .unwrap_or_else(|| panic!("no available-now row:\n{}", out.stdout));
    assert!(line.contains(" 68.0 GiB "), "{line}");
    let p = adm(&mut h, root.path(), &["status", "-p"]);
    assert!(
        p.stdout
            .contains(&format!("zfs:0:arc_headroom:available_now\t{}\n", 68 * GIB)),
        "{}",
        p.stdout
    );
}
