//! The command line: what was asked for, or a one-line usage error.

use std::path::PathBuf;

use crate::size::parse_size;

/// The manual page `--help` prints.
pub const USAGE: &str = "\
NAME
     arctunadm - administer the runtime ARC tunables of misc/arctun

SYNOPSIS
     arctunadm get [-p] [tunable]...
     arctunadm set [--persist] tunable=value...
     arctunadm reset [--persist] tunable... | -a
     arctunadm reset --etc-system
     arctunadm profile [name [--persist]]
     arctunadm status [-p]
     arctunadm -h | --help

DESCRIPTION
     arctunadm reads and changes the tunables of the ZFS ARC and of vmm
     that a kernel with misc/arctun adjusts at runtime (zfs_arc_max,
     zfs_arc_min, zfs_arc_meta_limit, zfs_arc_meta_min,
     dbuf_cache_max_bytes, dbuf_metadata_cache_max_bytes,
     zfs_arc_headroom_margin, vmm_arc_page_overhead), and shows the ARC's limits and the memory
     bhyve guests hold. It reads and writes the kstats zfs:0:tunables,
     zfs:0:arcstats, zfs:0:arc_headroom, vmm:0:arc_resv and
     unix:0:system_pages through libkstat. A write is one kstat_write(3KSTAT)
     of zfs:0:tunables: the kernel checks every value first and applies all
     of them or none.

SUBCOMMANDS
     get [tunable]...
          Print the tunables named, or all of them. 0 means the default
          computed as arc_init() does.

     set tunable=value...
          Set the tunables, all at once or none. A value is a decimal
          number with an optional K, M, G or T (powers of 1024), or 0x and
          hexadecimal digits. A refused write prints the kernel's reason.

     reset tunable... | -a
          Put the tunables named (-a: every tunable) back to their
          defaults, in one write.

     reset --etc-system
          Set every tunable to what the boot configuration (the files in
          /etc/system.d, then /etc/system) sets, and the others to their
          defaults, in one write.

     profile [name]
          Without a name, list the profiles with what each sets on this
          host. With one, set zfs_arc_min and zfs_arc_max as the profile
          computes them from the memory the ARC may use (allmem): illumos
          (all but 1 GiB), illumos-low (75%), balanced (half),
          compute-hvm (an eighth), compute-hvm-64 (an eighth, at most
          64 GiB).

     status
          Print the ARC's size and limits, the headroom guests hold
          (reserved, pending, allocated), vmm's counts and the free memory
          a starting guest waits for.

OPTIONS
     -p, --parsable
          Print statistics as kstat -p does: module:instance:name:statistic,
          a TAB, the value, one per line.

     --persist
          Also keep the values for the next boot: set and profile write
          them to /etc/system.d/arctunadm, reset removes them from it. The
          file is read at boot before /etc/system, whose settings win.

     -R root
          Use root as the root directory for /etc/system and /etc/system.d.

     -h, --help
          Print this page.

EXIT STATUS
     0    Success.
     1    The kernel refused the write, or a kstat or file could not be
          read or written. Nothing was changed.
     2    Invalid usage: an unknown subcommand, option, tunable or profile,
          or a malformed value. Nothing was changed.

ENVIRONMENT
     ARCTUNADM_SIMULATED_HOST
          A file describing a simulated host: the command then runs the
          kernel's write path in its own process instead of using
          libkstat, and keeps the host's tunables in that file.

FILES
     /etc/system.d/arctunadm
          The values kept by --persist.

SEE ALSO
     kstat(8), kstat(3KSTAT), system(5), bootadm(8), mdb(1)
";

/// What `reset` resets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResetTarget {
    /// These tunables.
    Names(Vec<String>),
    /// Every tunable (`-a`).
    All,
    /// To the boot configuration's values (`--etc-system`).
    EtcSystem,
}

/// A subcommand and its operands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subcommand {
    /// `get [tunable]...`.
    Get(Vec<String>),
    /// `set tunable=value...`.
    Set(Vec<(String, u64)>),
    /// `reset ...`.
    Reset(ResetTarget),
    /// `profile [name]`.
    Profile(Option<String>),
    /// `status`.
    Status,
    /// `-h`, `--help`, `help`.
    Help,
}

/// A parsed command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invocation {
    /// What to do.
    pub subcommand: Subcommand,
    /// `-p`.
    pub parsable: bool,
    /// `--persist`.
    pub persist: bool,
    /// `-R root` (`/` by default).
    pub root: PathBuf,
}

/// A usage error: one line, exit status 2.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageError(pub String);

fn usage(msg: impl Into<String>) -> UsageError {
    UsageError(msg.into())
}

/// `NAME=VALUE`, checked.
fn assignment(arg: &str) -> Result<(String, u64), UsageError> {
    let (name, value) = arg
        .split_once('=')
        .ok_or_else(|| usage(format!("set: '{arg}' is not tunable=value")))?;
    if name.is_empty() {
        return Err(usage(format!("set: '{arg}' names no tunable")));
    }
    let v = parse_size(value).map_err(|e| usage(format!("set: {name}: '{value}': {e}")))?;
    Ok((name.to_string(), v))
}

/// Parses the arguments after the command's name.
pub fn parse(args: &[String]) -> Result<Invocation, UsageError> {
    // Messages quote arguments; a control character would break the
    // one-line message (or the terminal), and no name or value has one.
    if let Some((i, _)) = args
        .iter()
        .enumerate()
        .find(|(_, a)| a.chars().any(char::is_control))
    {
        return Err(usage(format!(
            "argument {} contains a control character",
            i.saturating_add(1)
        )));
    }
    let mut parsable = false;
    let mut persist = false;
    let mut all = false;
    let mut etc_system = false;
    let mut help = false;
    let mut root = PathBuf::from("/");
    let mut operands: Vec<&str> = Vec::new();
    let mut it = args.iter();
    let mut options_done = false;
    while let Some(arg) = it.next() {
        let a = arg.as_str();
        if options_done || !a.starts_with('-') || a == "-" {
            operands.push(a);
            continue;
        }
        match a {
            "--" => options_done = true,
            "-p" | "--parsable" => parsable = true,
            "--persist" => persist = true,
            "-a" | "--all" => all = true,
            "--etc-system" => etc_system = true,
            "-h" | "--help" => help = true,
            "-R" | "--root" => {
                let dir = it
                    .next()
                    .ok_or_else(|| usage(format!("option {a} needs a directory")))?;
                if dir.is_empty() {
                    return Err(usage(format!("option {a} needs a directory")));
                }
                root = PathBuf::from(dir);
            }
            _ => {
                if let Some(dir) = a.strip_prefix("--root=") {
                    root = PathBuf::from(dir);
                } else {
                    return Err(usage(format!("unknown option '{a}'")));
                }
            }
        }
    }
    let (name, rest) = match operands.split_first() {
        Some((n, r)) => (Some(*n), r),
        None => (None, &[][..]),
    };
    let subcommand = match (help, name) {
        (true, _) | (false, Some("help")) => Subcommand::Help,
        (false, None) => return Err(usage("no subcommand (get, set, reset, profile, status)")),
        (false, Some("get")) => Subcommand::Get(rest.iter().map(|s| s.to_string()).collect()),
        (false, Some("set")) => {
            if rest.is_empty() {
                return Err(usage("set: no tunable=value"));
            }
            let mut out: Vec<(String, u64)> = Vec::new();
            for a in rest {
                let (n, v) = assignment(a)?;
                if out.iter().any(|(m, _)| *m == n) {
                    return Err(usage(format!("set: {n} is given more than once")));
                }
                out.push((n, v));
            }
            Subcommand::Set(out)
        }
        (false, Some("reset")) => Subcommand::Reset(match (all, etc_system, rest.is_empty()) {
            (false, false, false) => {
                ResetTarget::Names(rest.iter().map(|s| s.to_string()).collect())
            }
            (true, false, true) => ResetTarget::All,
            (false, true, true) => ResetTarget::EtcSystem,
            (false, false, true) => {
                return Err(usage("reset: name the tunables, or -a, or --etc-system"))
            }
            _ => {
                return Err(usage(
                    "reset: tunables, -a and --etc-system exclude each other",
                ))
            }
        }),
        (false, Some("profile")) => match rest {
            [] => Subcommand::Profile(None),
            [p] => Subcommand::Profile(Some(p.to_string())),
            _ => return Err(usage("profile: at most one profile name")),
        },
        (false, Some("status")) => {
            if let Some(extra) = rest.first() {
                return Err(usage(format!("status: unexpected operand '{extra}'")));
            }
            Subcommand::Status
        }
        (false, Some(other)) => {
            return Err(usage(format!(
                "unknown subcommand '{other}' (get, set, reset, profile, status)"
            )))
        }
    };
    let misplaced = |opt: &str, sub: &str| usage(format!("option {opt} does not apply to {sub}"));
    match &subcommand {
        Subcommand::Get(_) | Subcommand::Status => {
            if persist {
                return Err(misplaced(
                    "--persist",
                    if matches!(subcommand, Subcommand::Status) {
                        "status"
                    } else {
                        "get"
                    },
                ));
            }
        }
        Subcommand::Set(_) | Subcommand::Reset(_) | Subcommand::Profile(_) => {
            if parsable {
                return Err(misplaced("-p", "a change"));
            }
        }
        Subcommand::Help => {}
    }
    if !matches!(subcommand, Subcommand::Reset(_) | Subcommand::Help) && (all || etc_system) {
        return Err(misplaced(
            if all { "-a" } else { "--etc-system" },
            "this subcommand",
        ));
    }
    if persist {
        match &subcommand {
            Subcommand::Reset(ResetTarget::EtcSystem) => {
                return Err(usage(
                    "reset --etc-system takes its values from the boot configuration; --persist has nothing to keep",
                ))
            }
            Subcommand::Profile(None) => {
                return Err(usage("profile: --persist needs a profile name"))
            }
            _ => {}
        }
    }
    Ok(Invocation {
        subcommand,
        parsable,
        persist,
        root,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Invocation, UsageError> {
        parse(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn subcommands_and_options() {
        let i = p(&["set", "--persist", "zfs_arc_max=8G", "-R", "/a"]).unwrap();
        assert_eq!(
            i.subcommand,
            Subcommand::Set(vec![("zfs_arc_max".into(), 8 << 30)])
        );
        assert!(i.persist);
        assert_eq!(i.root, PathBuf::from("/a"));
        assert!(p(&["-p", "get"]).unwrap().parsable);
        assert_eq!(
            p(&["reset", "-a"]).unwrap().subcommand,
            Subcommand::Reset(ResetTarget::All)
        );
        assert_eq!(p(&["--help"]).unwrap().subcommand, Subcommand::Help);
    }

    #[test]
    fn usage_errors_are_one_line() {
        for args in [
            &[][..],
            &["frob"],
            &["get", "-x"],
            &["set"],
            &["set", "zfs_arc_max"],
            &["set", "=1"],
            &["set", "zfs_arc_max="],
            &["set", "zfs_arc_max=8Q"],
            &["set", "zfs_arc_max=99999999999999999999"],
            &["set", "a=1", "a=2"],
            &["set", "-p", "a=1"],
            &["get", "--persist"],
            &["reset"],
            &["reset", "-a", "x"],
            &["reset", "--etc-system", "--persist"],
            &["status", "x"],
            &["profile", "a", "b"],
            &["-R"],
            &["set", "zfs_arc_max=8G\nzfs_arc_min=1G"],
            &["frob\u{1b}[2J"],
        ] {
            let e = p(args).unwrap_err();
            assert!(!e.0.contains('\n') && !e.0.is_empty(), "{args:?}: {e:?}");
        }
    }
}
