//! `rsrvrctl`, the admin's tool for the vmm reservoir of current illumos
//! (`usr/src/cmd/rsrvrctl`), as a scenario writes its command line:
//! `-a SZ` (add), `-r SZ` (remove) or `-s SZ` (set), each in MiB, with an
//! optional `-c SZ` (chunk size, MiB). The tool reads each size with
//! `strtoul(arg, NULL, 0)` and multiplies it by 1 MiB; here a size is
//! decimal or `0x` hex and nothing else, so that a size the tool would
//! read as something else than written (`64G` is 64 MiB to `strtoul()`)
//! is refused when the file is loaded.

use std::fmt;

use crate::params::MIB;

/// What the command asks of the reservoir.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReservoirOp {
    /// `-a`: grow by the size.
    Add,
    /// `-r`: shrink by the size (clamped to what the reservoir holds).
    Remove,
    /// `-s`: make the reservoir the size.
    Set,
}

/// One `rsrvrctl` command line, its sizes in bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rsrvrctl {
    /// `-a`, `-r` or `-s`.
    pub op: ReservoirOp,
    /// Its size, bytes.
    pub bytes: u64,
    /// `-c`, bytes; 0 (the default) resizes in one step.
    pub chunk: u64,
    /// The command line as written (trimmed).
    pub text: String,
}

impl fmt::Display for Rsrvrctl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A size argument in MiB: decimal or `0x` hex, as bytes.
fn mib(opt: char, arg: &str) -> Result<u64, String> {
    let n = match arg.strip_prefix("0x").or_else(|| arg.strip_prefix("0X")) {
        Some(hex) if !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit()) => {
            u64::from_str_radix(hex, 16).ok()
        }
        Some(_) => None,
        None if !arg.is_empty() && arg.chars().all(|c| c.is_ascii_digit()) => arg.parse().ok(),
        None => None,
    };
    let n = n.ok_or_else(|| {
        format!("-{opt} {arg:?} is not a size in MiB (rsrvrctl takes a whole number of MiB, e.g. -{opt} 65536)")
    })?;
    n.checked_mul(MIB)
        .ok_or_else(|| format!("-{opt} {arg} MiB overflows a size in bytes"))
}

impl Rsrvrctl {
    /// Parses a command line: exactly one of `-a`, `-r`, `-s` with its
    /// size, and at most one `-c`; an option's size may follow it or be
    /// attached (`-a65536`), as `getopt()` reads them.
    pub fn parse(text: &str) -> Result<Rsrvrctl, String> {
        let text = text.trim();
        let mut words = text.split_whitespace();
        let mut resize: Option<(ReservoirOp, u64)> = None;
        let mut chunk: Option<u64> = None;
        while let Some(w) = words.next() {
            let mut chars = w.chars();
            let (Some('-'), Some(opt)) = (chars.next(), chars.next()) else {
                return Err(format!(
                    "{w:?} is not an option (expected -a, -r or -s with a size in MiB, and -c)"
                ));
            };
            let attached = chars.as_str();
            let op = match opt {
                'a' => Some(ReservoirOp::Add),
                'r' => Some(ReservoirOp::Remove),
                's' => Some(ReservoirOp::Set),
                'c' => None,
                'q' | 'h' => {
                    return Err(format!(
                        "-{opt} changes nothing: the scenario's rsrvrctl resizes the reservoir (-a, -r or -s)"
                    ))
                }
                _ => {
                    return Err(format!(
                        "-{opt} is not an rsrvrctl option (expected -a, -r, -s or -c)"
                    ))
                }
            };
            let arg = if attached.is_empty() {
                words
                    .next()
                    .ok_or_else(|| format!("-{opt} needs a size in MiB"))?
            } else {
                attached
            };
            let bytes = mib(opt, arg)?;
            match (op, &resize) {
                (Some(op), None) => resize = Some((op, bytes)),
                (Some(_), Some(_)) => {
                    return Err(
                        "one resize per command: -a, -r and -s exclude each other".to_string()
                    )
                }
                (None, _) if chunk.is_some() => return Err("-c is given twice".to_string()),
                (None, _) => chunk = Some(bytes),
            }
        }
        let (op, bytes) = resize
            .ok_or_else(|| "no resize: expected -a, -r or -s with a size in MiB".to_string())?;
        Ok(Rsrvrctl {
            op,
            bytes,
            chunk: chunk.unwrap_or(0),
            text: text.to_string(),
        })
    }

    /// The reservoir's target, bytes, from its size `current` now, and
    /// the chunk `vmmr_set_target()` is given (0: one step), as
    /// `rsrvrctl`'s `do_add()`, `do_remove()` and `do_set_target()` compute
    /// them; `None` when the tool returns without asking (`-r` of an empty
    /// reservoir).
    #[must_use]
    pub fn target(&self, current: u64) -> Option<(u64, u64)> {
        match self.op {
            ReservoirOp::Add => Some((
                current.saturating_add(self.bytes),
                self.chunk.min(self.bytes),
            )),
            ReservoirOp::Remove if current == 0 => None,
            ReservoirOp::Remove => Some((
                current - self.bytes.min(current),
                self.chunk.min(self.bytes),
            )),
            ReservoirOp::Set => Some((self.bytes, self.chunk)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_read_as_rsrvrctl_reads_them() {
        let r = Rsrvrctl::parse(" -a 65536 ").unwrap();
        assert_eq!(
            (r.op, r.bytes, r.chunk, r.text.as_str()),
            (ReservoirOp::Add, 64 << 30, 0, "-a 65536")
        );
        let r = Rsrvrctl::parse("-c 1024 -r0x400").unwrap();
        assert_eq!(
            (r.op, r.bytes, r.chunk),
            (ReservoirOp::Remove, 1 << 30, 1 << 30)
        );
        assert_eq!(Rsrvrctl::parse("-s 0").unwrap().target(5), Some((0, 0)));
        assert_eq!(Rsrvrctl::parse("-r 8").unwrap().target(0), None);
        assert_eq!(
            Rsrvrctl::parse("-r 8").unwrap().target(MIB),
            Some((0, 0)),
            "clamped to what it holds"
        );
        assert_eq!(
            Rsrvrctl::parse("-a 4 -c 16").unwrap().target(0),
            Some((4 * MIB, 4 * MIB)),
            "the chunk is at most the size"
        );
        for bad in [
            "",
            "-a",
            "-a 64G",
            "-a -1",
            "-a 1.5",
            "64",
            "-a 1 -s 2",
            "-c 1",
            "-a 1 -c 1 -c 2",
            "-q",
            "-x 1",
            "-a 0x",
            "-a 99999999999999999",
        ] {
            assert!(Rsrvrctl::parse(bad).is_err(), "{bad:?}");
        }
    }
}
