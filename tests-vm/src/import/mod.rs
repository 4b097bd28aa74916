//! `arcsim import`: a scenario of an operator's own host, from the text
//! illumos already printed on it.
//!
//! # Design
//!
//! The inputs are what an operator has at hand, in any number of files
//! (or standard input), in any order, each format recognised by its
//! content, line by line:
//!
//! - `mdb -ke ::memstat` (one table: the host's memory by category), with
//!   mdb's columns or with the blanks collapsed as in a pasted log, with or
//!   without the rows mdb leaves out (`Boot pages`, `ZFS File Data`, `VMM
//!   Memory` when zero) or a trimmed table leaves out (the two `Free`
//!   rows); required;
//! - `kstat -p zfs:0:arcstats` (the ARC's size and limits): optional;
//! - `kstat -p unix:0:system_pages` (`physmem`, `freemem`, `availrmem`,
//!   `lotsfree`, `desfree`, `minfree`): optional, checked against the
//!   table and against what the model computes.
//!
//! Blank lines and the commands' own echo (a line with `::memstat` or
//! `kstat -p` in it) are skipped; anything else is an error. The result is
//! a [`Scenario`] and its TOML: `[host]` from the table, `[arc] size` from
//! `ZFS File Data`, the running guests (`VMM Memory`) as one guest created
//! at 0 s, and, when `zfs:0:arcstats` says so, the `arc_init()`
//! generation and the `/etc/system` lines that give its `c_min` and
//! `c_max`. The TOML is read back by the scenario loader before it is
//! handed out, so what import writes always loads, and it ends with a
//! commented `[[event]]` for the operator to extend.
//!
//! # Invariants
//!
//! - A figure that is missing where nothing sound can replace it, or that
//!   contradicts another (a row whose MB or `%Tot` is not its pages', rows
//!   that do not add up to `Total`, a `physmem` that is not `Total`, a
//!   `c_min` above `c_max`, the same statistic with two values) is an
//!   [`ImportError`] naming the input and the line. Where a default is
//!   sound (no `arcstats`: the 2021 `arc_init()`; a `lotsfree` the model
//!   computes otherwise), the import goes on with an [`ImportWarning`]
//!   saying which default it took.
//! - No input makes it panic: arbitrary bytes give a scenario or an
//!   error (`tests/import_bad_input.rs` holds it to that by proptest).
//! - Page counts are multiplied by 4096 with checked arithmetic; a count
//!   whose bytes overflow is an error naming its line.

mod kstat_lines;
mod located;
mod memstat;

use std::fmt;

use self::kstat_lines::KstatLine;
use self::memstat::{Category, Memstat};
use crate::params::{Params, PAGESIZE};
use crate::policy::Policy;
use crate::scenario::{self, Event, EventKind, Generation, HostSpec, Scenario};
use crate::sim;

/// One input: its name for messages (a path, or `<stdin>`) and its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Input {
    /// The path, or `<stdin>`.
    pub name: String,
    /// What it holds.
    pub bytes: Vec<u8>,
}

/// Why the inputs do not describe a host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportError {
    /// The input at fault, when one is.
    pub input: Option<String>,
    /// Its 1-based line, when one is at fault.
    pub line: Option<usize>,
    /// What is wrong, quoting the text at fault.
    pub message: String,
}

/// A default the import took, or a figure it could not use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportWarning {
    /// The input, when one is concerned.
    pub input: Option<String>,
    /// Its 1-based line.
    pub line: Option<usize>,
    /// What was taken instead, and why.
    pub message: String,
}

fn located(
    f: &mut fmt::Formatter<'_>,
    input: Option<&str>,
    line: Option<usize>,
    message: &str,
) -> fmt::Result {
    match (input, line) {
        (Some(i), Some(l)) => write!(f, "{i}: line {l}: {message}"),
        (Some(i), None) => write!(f, "{i}: {message}"),
        (None, Some(l)) => write!(f, "line {l}: {message}"),
        (None, None) => f.write_str(message),
    }
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        located(f, self.input.as_deref(), self.line, &self.message)
    }
}

impl fmt::Display for ImportWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        located(f, self.input.as_deref(), self.line, &self.message)
    }
}

impl std::error::Error for ImportError {}

/// A host, imported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Imported {
    /// The scenario (what the TOML loads to).
    pub scenario: Scenario,
    /// The scenario file.
    pub toml: String,
    /// What the import took by default, in input order.
    pub warnings: Vec<ImportWarning>,
}

/// What the inputs held, before it is put together.
#[derive(Default)]
struct Read {
    /// The table, with the input it came from.
    memstat: Option<(usize, Memstat)>,
    /// `kstat -p` lines, with their input.
    kstats: Vec<(usize, KstatLine)>,
}

fn error(input: Option<&Input>, line: Option<usize>, message: String) -> ImportError {
    ImportError {
        input: input.map(|i| i.name.clone()),
        line,
        message,
    }
}

/// Reads one input into `read`.
fn read_input(index: usize, input: &Input, read: &mut Read) -> Result<(), ImportError> {
    let text = std::str::from_utf8(&input.bytes).map_err(|e| {
        let before = input.bytes.get(..e.valid_up_to()).unwrap_or(&[]);
        let line = before
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            .saturating_add(1);
        error(
            Some(input),
            Some(line),
            "not text: a byte that is not UTF-8 (is this the output of mdb or kstat?)".to_string(),
        )
    })?;
    let lines: Vec<&str> = text.lines().collect();
    let mut found = false;
    let mut i = 0usize;
    while let Some(raw) = lines.get(i) {
        let n = i.saturating_add(1);
        let line = raw.trim();
        if line.is_empty() || line.contains("::memstat") || line.contains("kstat -p") {
            i = i.saturating_add(1);
            continue;
        }
        if memstat::is_header(line) {
            let (table, used) = memstat::read_table(lines.get(i..).unwrap_or(&[]), n)
                .map_err(|l| error(Some(input), Some(l.line), l.problem.0))?;
            if let Some((_, first)) = &read.memstat {
                return Err(error(
                    Some(input),
                    Some(n),
                    format!(
                        "a second ::memstat table (the first starts at line {}): import reads \
                         one host at one moment",
                        first.line
                    ),
                ));
            }
            read.memstat = Some((index, table));
            found = true;
            i = i.saturating_add(used.max(1));
            continue;
        }
        if kstat_lines::looks_like(line) {
            let k = kstat_lines::read_line(line, n)
                .map_err(|l| error(Some(input), Some(l.line), l.problem.0))?;
            read.kstats.push((index, k));
            found = true;
            i = i.saturating_add(1);
            continue;
        }
        return Err(error(
            Some(input),
            Some(n),
            format!(
                "{} is neither part of a ::memstat table nor a kstat -p line",
                memstat::quote(line)
            ),
        ));
    }
    if !found {
        return Err(error(
            Some(input),
            None,
            "empty: no ::memstat table and no kstat -p line".to_string(),
        ));
    }
    Ok(())
}

/// The statistics of the two kstats import reads, each once.
struct Kstats<'a> {
    inputs: &'a [Input],
    lines: Vec<(usize, KstatLine)>,
}

const ARCSTATS: &str = "zfs:0:arcstats";
const SYSTEM_PAGES: &str = "unix:0:system_pages";

impl Kstats<'_> {
    /// Whether any line of `kstat` was given.
    fn has(&self, kstat: &str) -> bool {
        self.lines.iter().any(|(_, l)| l.kstat == kstat)
    }

    /// `kstat:statistic`'s line, if given.
    fn line(&self, kstat: &str, statistic: &str) -> Option<&(usize, KstatLine)> {
        self.lines
            .iter()
            .find(|(_, l)| l.kstat == kstat && l.statistic == statistic)
    }

    /// Its value, if given.
    fn value(&self, kstat: &str, statistic: &str) -> Result<Option<Figure>, ImportError> {
        let Some((i, l)) = self.line(kstat, statistic) else {
            return Ok(None);
        };
        let input = self.inputs.get(*i);
        kstat_lines::value_u64(l)
            .map(|v| {
                Some(Figure {
                    value: v,
                    input: *i,
                    line: l.line,
                })
            })
            .map_err(|e| error(input, Some(e.line), e.problem.0))
    }

    /// Its value, which must be given when any line of `kstat` is.
    fn required(&self, kstat: &str, statistic: &str) -> Result<Figure, ImportError> {
        self.value(kstat, statistic)?.ok_or_else(|| {
            let input = self
                .lines
                .iter()
                .find(|(_, l)| l.kstat == kstat)
                .and_then(|(i, _)| self.inputs.get(*i));
            error(
                input,
                None,
                format!(
                    "{kstat} has no {statistic} line, which kstat -p {kstat} prints (is the \
                     output cut?)"
                ),
            )
        })
    }
}

/// A figure from a `kstat -p` line, with where it was.
#[derive(Clone, Copy)]
struct Figure {
    value: u64,
    input: usize,
    line: usize,
}

/// Checks the `kstat -p` lines: the same statistic twice must agree;
/// kstats other than the two import reads are dropped with a warning.
fn sort_kstats<'a>(
    inputs: &'a [Input],
    lines: Vec<(usize, KstatLine)>,
    warnings: &mut Vec<ImportWarning>,
) -> Result<Kstats<'a>, ImportError> {
    let mut kept: Vec<(usize, KstatLine)> = Vec::new();
    let mut ignored: Vec<String> = Vec::new();
    for (i, l) in lines {
        if l.kstat != ARCSTATS && l.kstat != SYSTEM_PAGES {
            if !ignored.contains(&l.kstat) {
                warnings.push(ImportWarning {
                    input: inputs.get(i).map(|x| x.name.clone()),
                    line: Some(l.line),
                    message: format!(
                        "{} is not read (import reads {ARCSTATS} and {SYSTEM_PAGES}); its lines \
                         are left out",
                        l.kstat
                    ),
                });
                ignored.push(l.kstat.clone());
            }
            continue;
        }
        if let Some((pi, prev)) = kept
            .iter()
            .find(|(_, p)| p.kstat == l.kstat && p.statistic == l.statistic)
        {
            if prev.value != l.value {
                let prev_input = inputs.get(*pi).map_or("", |x| x.name.as_str());
                return Err(error(
                    inputs.get(i),
                    Some(l.line),
                    format!(
                        "{} is {} here but {} at line {} of {prev_input}: import reads one \
                         snapshot",
                        l.key(),
                        l.value,
                        prev.value,
                        prev.line
                    ),
                ));
            }
            continue;
        }
        kept.push((i, l));
    }
    Ok(Kstats {
        inputs,
        lines: kept,
    })
}

/// The limits `arc_init()` and `setupclock()` give a host in the model.
struct ModelLimits {
    c_min: u64,
    c_max: u64,
    lotsfree_pages: u64,
    desfree_pages: u64,
}

/// Boots `host` with `etc_system` in the model (the stock kernel: its
/// limits are `arc_init()`'s) and reads the limits it computed.
fn model_limits(host: &HostSpec, etc_system: &[String]) -> ModelLimits {
    let s = Scenario {
        name: "import-check".to_string(),
        description: String::new(),
        host: host.clone(),
        arc_size: 0,
        arcfill: 0,
        duration: 1,
        evict_rate: None,
        alloc_rate: None,
        etc_system: etc_system.to_vec(),
        events: Vec::new(),
    };
    let r = sim::run(&s, Policy::Legacy, &Params::default());
    ModelLimits {
        c_min: r.c_min_bytes,
        c_max: r.c_max_bytes,
        lotsfree_pages: r.lotsfree_bytes / PAGESIZE,
        desfree_pages: r.desfree_bytes / PAGESIZE,
    }
}

/// How the ARC's limits were found.
enum LimitsSource {
    /// No `zfs:0:arcstats`: the default generation.
    Default,
    /// `c_min` and `c_max` are `arc_init()`'s defaults for this generation.
    Defaults,
    /// They need these `/etc/system` lines.
    EtcSystem,
}

/// The generation and `/etc/system` lines under which the model's
/// `arc_init()` gives `c_min` and `c_max`, the defaults first.
fn explain_limits(
    host: &HostSpec,
    c_min: u64,
    c_max: u64,
) -> Option<(Generation, Vec<String>, LimitsSource)> {
    let max_line = format!("set zfs:zfs_arc_max = {c_max:#x}");
    let min_line = format!("set zfs:zfs_arc_min = {c_min:#x}");
    let gens = [Generation::Y2021, Generation::Current];
    let mut tries: Vec<(Generation, Vec<String>)> = Vec::new();
    for g in gens {
        tries.push((g, Vec::new()));
    }
    for g in gens {
        tries.push((g, vec![max_line.clone()]));
        tries.push((g, vec![min_line.clone()]));
        tries.push((g, vec![max_line.clone(), min_line.clone()]));
    }
    tries.into_iter().find_map(|(g, lines)| {
        let h = HostSpec {
            generation: g,
            ..host.clone()
        };
        let m = model_limits(&h, &lines);
        (m.c_min == c_min && m.c_max == c_max).then(|| {
            let how = if lines.is_empty() {
                LimitsSource::Defaults
            } else {
                LimitsSource::EtcSystem
            };
            (g, lines, how)
        })
    })
}

fn mib(bytes: u64) -> String {
    crate::report::human(bytes)
}

/// Imports a host from `inputs`; `name` names the scenario (default: the
/// first input's file name without its extension, or `imported`).
pub fn import(inputs: &[Input], name: Option<&str>) -> Result<Imported, ImportError> {
    if inputs.is_empty() {
        return Err(error(
            None,
            None,
            "nothing to import: name files, or - for standard input".to_string(),
        ));
    }
    let mut read = Read::default();
    for (i, input) in inputs.iter().enumerate() {
        read_input(i, input, &mut read)?;
    }
    let mut warnings = Vec::new();
    let kstats = sort_kstats(inputs, std::mem::take(&mut read.kstats), &mut warnings)?;
    let Some((mi, table)) = read.memstat else {
        return Err(error(
            inputs.first(),
            None,
            "no ::memstat table among the inputs: import needs one for the host's memory \
             (echo ::memstat | mdb -k)"
                .to_string(),
        ));
    };
    let table_input = inputs.get(mi);
    let bytes = |pages: u64, line: usize| {
        pages.checked_mul(PAGESIZE).ok_or_else(|| {
            error(
                table_input,
                Some(line),
                format!("{pages} pages overflow a 64-bit byte count"),
            )
        })
    };
    let row_line = |c: Category| table.row(c).map_or(table.total_line, |r| r.line);
    let physmem = bytes(table.total, table.total_line)?;
    let mut kernel_pages = table.pages(Category::Kernel);
    if table.has(Category::Balloon) {
        kernel_pages = kernel_pages.saturating_add(table.pages(Category::Balloon));
        warnings.push(ImportWarning {
            input: table_input.map(|i| i.name.clone()),
            line: Some(row_line(Category::Balloon)),
            message: "Balloon (memory Xen's balloon driver holds) is counted as Kernel: the \
                      host cannot use it"
                .to_string(),
        });
    }

    // unix:0:system_pages: physmem must be the table's.
    let sys = |s: &str| kstats.value(SYSTEM_PAGES, s);
    let kstat_input = |f: &Figure| inputs.get(f.input);
    if kstats.has(SYSTEM_PAGES) {
        let p = kstats.required(SYSTEM_PAGES, "physmem")?;
        if p.value != table.total {
            return Err(error(
                kstat_input(&p),
                Some(p.line),
                format!(
                    "{SYSTEM_PAGES}:physmem is {} pages but ::memstat's Total (line {} of {}) is \
                     {}: are they of one host?",
                    p.value,
                    table.total_line,
                    table_input.map_or("", |i| i.name.as_str()),
                    table.total
                ),
            ));
        }
    }

    // The ARC: ZFS File Data, else arcstats' size (out of Kernel, where
    // mdb counted it), else empty.
    let arc_size_kstat = if kstats.has(ARCSTATS) {
        Some(kstats.required(ARCSTATS, "size")?)
    } else {
        None
    };
    let arc_size = if table.has(Category::ZfsFileData) {
        let zfs = bytes(
            table.pages(Category::ZfsFileData),
            row_line(Category::ZfsFileData),
        )?;
        if let Some(k) = &arc_size_kstat {
            let (lo, hi) = (zfs.min(k.value), zfs.max(k.value));
            if hi.saturating_sub(lo) > hi / 10 {
                warnings.push(ImportWarning {
                    input: kstat_input(k).map(|i| i.name.clone()),
                    line: Some(k.line),
                    message: format!(
                        "{ARCSTATS}:size ({}) and ::memstat's ZFS File Data ({}) differ by more \
                         than a tenth (taken at different times?); the ARC's size is taken from \
                         ZFS File Data, where the model counts it",
                        mib(k.value),
                        mib(zfs)
                    ),
                });
            }
        }
        zfs
    } else if let Some(k) = &arc_size_kstat {
        let pages = k.value.div_ceil(PAGESIZE);
        if pages > kernel_pages {
            return Err(error(
                kstat_input(k),
                Some(k.line),
                format!(
                    "{ARCSTATS}:size is {} but ::memstat has no ZFS File Data row and its Kernel, \
                     where mdb then counts the ARC, is {} pages ({})",
                    k.value,
                    kernel_pages,
                    mib(kernel_pages.saturating_mul(PAGESIZE))
                ),
            ));
        }
        kernel_pages = kernel_pages.saturating_sub(pages);
        warnings.push(ImportWarning {
            input: kstat_input(k).map(|i| i.name.clone()),
            line: Some(k.line),
            message: format!(
                "::memstat has no ZFS File Data row: the ARC's size is {ARCSTATS}:size ({}), \
                 taken out of Kernel, where mdb counted it",
                mib(k.value)
            ),
        });
        k.value
    } else {
        warnings.push(ImportWarning {
            input: table_input.map(|i| i.name.clone()),
            line: Some(table.line),
            message: format!(
                "::memstat has no ZFS File Data row and there is no {ARCSTATS}: the ARC is taken \
                 as empty (arc.size = 0)"
            ),
        });
        0
    };
    if arc_size > physmem {
        return Err(error(
            arc_size_kstat.as_ref().and_then(kstat_input),
            arc_size_kstat.as_ref().map(|k| k.line),
            format!(
                "the ARC's size {arc_size} is more than the host's memory {physmem} (::memstat's \
                 Total)"
            ),
        ));
    }

    let mut host = HostSpec {
        physmem,
        kernel: bytes(kernel_pages, row_line(Category::Kernel))?,
        boot: bytes(table.pages(Category::Boot), row_line(Category::Boot))?,
        anon: bytes(table.pages(Category::Anon), row_line(Category::Anon))?,
        exec: bytes(table.pages(Category::Exec), row_line(Category::Exec))?,
        page_cache: bytes(
            table.pages(Category::PageCache),
            row_line(Category::PageCache),
        )?,
        generation: Generation::Y2021,
    };
    let vmm = bytes(
        table.pages(Category::VmmMemory),
        row_line(Category::VmmMemory),
    )?;

    // The ARC's limits: which arc_init(), which /etc/system.
    let mut etc_system: Vec<String> = Vec::new();
    let mut limits_note = "default: no zfs:0:arcstats".to_string();
    let mut limits = LimitsSource::Default;
    if kstats.has(ARCSTATS) {
        let c_min = kstats.required(ARCSTATS, "c_min")?;
        let c_max = kstats.required(ARCSTATS, "c_max")?;
        if c_min.value > c_max.value {
            return Err(error(
                kstat_input(&c_min),
                Some(c_min.line),
                format!(
                    "{ARCSTATS}:c_min ({}) is above c_max ({}, line {}): the ARC never shows that",
                    c_min.value, c_max.value, c_max.line
                ),
            ));
        }
        if let Some(c) = kstats.value(ARCSTATS, "c")? {
            if c.value > c_max.value {
                return Err(error(
                    kstat_input(&c),
                    Some(c.line),
                    format!(
                        "{ARCSTATS}:c ({}) is above c_max ({}, line {}): the ARC never shows that",
                        c.value, c_max.value, c_max.line
                    ),
                ));
            }
            if c.value < arc_size.saturating_sub(arc_size / 8) {
                warnings.push(ImportWarning {
                    input: kstat_input(&c).map(|i| i.name.clone()),
                    line: Some(c.line),
                    message: format!(
                        "{ARCSTATS}:c ({}) is well below the ARC's size ({}): the ARC is being \
                         shrunk by memory pressure; the model starts c at the ARC's size",
                        mib(c.value),
                        mib(arc_size)
                    ),
                });
            }
        }
        let Some((g, lines, how)) = explain_limits(&host, c_min.value, c_max.value) else {
            let d21 = model_limits(
                &HostSpec {
                    generation: Generation::Y2021,
                    ..host.clone()
                },
                &[],
            );
            let dcur = model_limits(
                &HostSpec {
                    generation: Generation::Current,
                    ..host.clone()
                },
                &[],
            );
            return Err(error(
                kstat_input(&c_max),
                Some(c_max.line),
                format!(
                    "{ARCSTATS}:c_max {} and c_min {} are neither what arc_init() gives this host \
                     (2021: c_min {}, c_max {}; current: c_min {}, c_max {}) nor what an \
                     /etc/system zfs_arc_max or zfs_arc_min would give; on a kernel with \
                     misc/arctun and guests running, c_max is the effective ceiling: take the \
                     figures with no guest running",
                    c_max.value, c_min.value, d21.c_min, d21.c_max, dcur.c_min, dcur.c_max
                ),
            ));
        };
        host.generation = g;
        limits_note = match how {
            LimitsSource::EtcSystem => format!(
                "{ARCSTATS}: c_min {} and c_max {} need /etc/system below",
                c_min.value, c_max.value
            ),
            _ => format!(
                "{ARCSTATS}: c_min {} and c_max {} are this arc_init()'s defaults",
                c_min.value, c_max.value
            ),
        };
        etc_system = lines;
        limits = how;
    }
    if matches!(limits, LimitsSource::Default) {
        warnings.push(ImportWarning {
            input: None,
            line: None,
            message: format!(
                "no {ARCSTATS}: arc_init() is taken as illumos-joyent 2021's (generation = \
                 \"2021\", the default) with no /etc/system; add the output of kstat -p \
                 {ARCSTATS} to take the host's own c_min and c_max"
            ),
        });
    }

    // unix:0:system_pages beside what the model computes.
    let model = model_limits(&host, &etc_system);
    let free_rows = table
        .pages(Category::Cachelist)
        .saturating_add(table.pages(Category::Freelist));
    if !table.has(Category::Freelist) {
        let left = table.total.saturating_sub(
            table
                .rows
                .iter()
                .fold(0u64, |s, r| s.saturating_add(r.pages)),
        );
        warnings.push(ImportWarning {
            input: table_input.map(|i| i.name.clone()),
            line: Some(table.total_line),
            message: format!(
                "the ::memstat table has no Free (freelist) row: free memory is taken as Total \
                 less the other rows ({left} pages)"
            ),
        });
    }
    let near = |a: u64, b: u64| a.abs_diff(b) <= table.total / 100;
    let mut compare = |stat: &str, model_pages: u64, what: &str| -> Result<(), ImportError> {
        if let Some(f) = sys(stat)? {
            if f.value != model_pages {
                warnings.push(ImportWarning {
                    input: kstat_input(&f).map(|i| i.name.clone()),
                    line: Some(f.line),
                    message: format!(
                        "{SYSTEM_PAGES}:{stat} is {} pages; the model's is {model_pages} ({what}) \
                         and is the one used",
                        f.value
                    ),
                });
            }
        }
        Ok(())
    };
    compare(
        "lotsfree",
        model.lotsfree_pages,
        "setupclock(): physmem / 64, between 16 MiB and 2 GiB; a tuned lotsfree is not modelled",
    )?;
    compare("desfree", model.desfree_pages, "setupclock(): lotsfree / 2")?;
    compare(
        "minfree",
        model.desfree_pages.saturating_mul(3) / 4,
        "setupclock(): 3/4 of desfree",
    )?;
    if let Some(f) = sys("freemem")? {
        if table.has(Category::Freelist) && !near(f.value, free_rows) {
            warnings.push(ImportWarning {
                input: kstat_input(&f).map(|i| i.name.clone()),
                line: Some(f.line),
                message: format!(
                    "{SYSTEM_PAGES}:freemem is {} pages but ::memstat's two Free rows are {} \
                     (taken at different times?); the table's are used",
                    f.value, free_rows
                ),
            });
        }
    }
    if let Some(f) = sys("availrmem")? {
        let locked = [
            Category::Kernel,
            Category::Boot,
            Category::ZfsFileData,
            Category::VmmMemory,
            Category::Balloon,
        ]
        .iter()
        .fold(0u64, |s, c| s.saturating_add(table.pages(*c)));
        let model_avail = table.total.saturating_sub(locked);
        if !near(f.value, model_avail) {
            warnings.push(ImportWarning {
                input: kstat_input(&f).map(|i| i.name.clone()),
                line: Some(f.line),
                message: format!(
                    "{SYSTEM_PAGES}:availrmem is {} pages; the model's is {model_avail} (Total \
                     less Kernel, Boot pages, ZFS File Data and VMM Memory, the pages it counts \
                     as locked) and is the one used",
                    f.value
                ),
            });
        }
    }

    let name = name
        .map(str::to_string)
        .or_else(|| {
            inputs
                .first()
                .filter(|i| i.name != "<stdin>")
                .and_then(|i| std::path::Path::new(&i.name).file_stem())
                .and_then(|s| s.to_str())
                .map(str::to_string)
        })
        .unwrap_or_else(|| "imported".to_string());
    let sources: Vec<String> = inputs
        .iter()
        .enumerate()
        .map(|(i, input)| {
            let mut what = Vec::new();
            if i == mi {
                what.push("::memstat".to_string());
            }
            for k in [ARCSTATS, SYSTEM_PAGES] {
                if kstats.lines.iter().any(|(j, l)| *j == i && l.kstat == k) {
                    what.push(format!("kstat -p {k}"));
                }
            }
            if what.is_empty() {
                input.name.clone()
            } else {
                format!("{} ({})", input.name, what.join(", "))
            }
        })
        .collect();
    let mut events = Vec::new();
    if vmm > 0 {
        events.push(Event {
            at: 0,
            kind: EventKind::VmCreate {
                name: RUNNING.to_string(),
                ram: vmm,
            },
        });
    }
    let scenario = Scenario {
        name,
        description: format!("imported from {}", sources.join(", ")),
        host,
        arc_size,
        arcfill: 0,
        duration: 300 * crate::params::HZ,
        evict_rate: None,
        alloc_rate: None,
        etc_system,
        events,
    };
    let toml = render_toml(&scenario, &table, &limits_note, &warnings);
    let loaded = scenario::parse_scenario(&toml, &scenario.name).map_err(|e| {
        error(
            None,
            None,
            format!("the scenario written does not load back ({e}); this is a bug in import"),
        )
    })?;
    if loaded != scenario {
        return Err(error(
            None,
            None,
            "the scenario written loads back to another host; this is a bug in import".to_string(),
        ));
    }
    Ok(Imported {
        scenario,
        toml,
        warnings,
    })
}

/// The name of the guest that stands for `VMM Memory`.
pub const RUNNING: &str = "running";

/// `s` as a TOML basic string.
fn toml_string(s: &str) -> String {
    let mut o = String::with_capacity(s.len().saturating_add(2));
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if c.is_control() => o.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// `key = value` with a comment aligned after it.
fn keyed(key: &str, value: &str, comment: &str) -> String {
    format!("{:<28}# {comment}\n", format!("{key} = {value}"))
}

/// The scenario file.
fn render_toml(
    s: &Scenario,
    table: &Memstat,
    limits_note: &str,
    warnings: &[ImportWarning],
) -> String {
    let pages = |c: Category| table.pages(c);
    let mut o = String::new();
    o.push_str("# A host imported by `arcsim import`; run it with `arcsim run FILE`, or ask\n");
    o.push_str("# `arcsim fit --scenario FILE --ram SIZE` whether a guest would start.\n");
    for w in warnings {
        o.push_str(&format!("# warning: {}\n", one_line(&w.to_string())));
    }
    o.push_str(&format!("name = {}\n", toml_string(&s.name)));
    o.push_str(&format!(
        "description = {}\n\n",
        toml_string(&s.description)
    ));
    o.push_str("[host]\n");
    o.push_str(&keyed(
        "physmem",
        &s.host.physmem.to_string(),
        &format!("::memstat Total, {} pages", table.total),
    ));
    let kernel_note = if s.host.kernel == pages(Category::Kernel).saturating_mul(PAGESIZE) {
        format!("Kernel, {} pages", pages(Category::Kernel))
    } else {
        format!(
            "Kernel, {} pages as the model counts them",
            s.host.kernel / PAGESIZE
        )
    };
    o.push_str(&keyed("kernel", &s.host.kernel.to_string(), &kernel_note));
    for (key, value, c) in [
        ("boot", s.host.boot, Category::Boot),
        ("anon", s.host.anon, Category::Anon),
        ("exec", s.host.exec, Category::Exec),
        ("page_cache", s.host.page_cache, Category::PageCache),
    ] {
        o.push_str(&keyed(
            key,
            &value.to_string(),
            &format!("{}, {} pages", c.label(), pages(c)),
        ));
    }
    let generation = match s.host.generation {
        Generation::Y2021 => "\"2021\"",
        Generation::Current => "\"current\"",
    };
    o.push_str(&keyed("generation", generation, limits_note));
    o.push_str("\n[arc]\n");
    let arc_note = if table.has(Category::ZfsFileData) {
        format!("ZFS File Data, {} pages", pages(Category::ZfsFileData))
    } else {
        "zfs:0:arcstats:size (no ZFS File Data row)".to_string()
    };
    o.push_str(&keyed("size", &s.arc_size.to_string(), &arc_note));
    if !s.etc_system.is_empty() {
        o.push_str("\n[boot]\n");
        let lines: Vec<String> = s.etc_system.iter().map(|l| toml_string(l)).collect();
        o.push_str(&format!("etc_system = [ {} ]\n", lines.join(", ")));
    }
    for e in &s.events {
        if let EventKind::VmCreate { name, ram } = &e.kind {
            o.push_str(&format!(
                "\n# The guests running ({} pages of VMM Memory), as one.\n",
                pages(Category::VmmMemory)
            ));
            o.push_str("[[event]]\nat = \"0s\"\n");
            o.push_str(&format!(
                "vm_create = {{ name = {}, ram = {ram} }}\n",
                toml_string(name)
            ));
        }
    }
    o.push_str("\n# Add what you plan; for example a 64 GiB guest 10 s in:\n");
    o.push_str("# [[event]]\n# at = \"10s\"\n# vm_create = { name = \"vm1\", ram = \"64G\" }\n");
    o
}

/// `s` with its line breaks as blanks, for a comment.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Reads the command line's inputs: files, or `-` for standard input.
pub fn read_inputs(args: &[String]) -> Result<Vec<Input>, String> {
    let mut inputs = Vec::new();
    for a in args {
        if a == "-" {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)
                .map_err(|e| format!("<stdin>: cannot read: {e}"))?;
            inputs.push(Input {
                name: "<stdin>".to_string(),
                bytes,
            });
        } else {
            let bytes = std::fs::read(a).map_err(|e| format!("{a}: cannot read: {e}"))?;
            inputs.push(Input {
                name: a.clone(),
                bytes,
            });
        }
    }
    Ok(inputs)
}

/// `arcsim import [--name NAME] [-o FILE] [FILE...|-]`: prints (or
/// writes) the scenario; warnings go to standard error.
pub fn cli(args: &[String]) -> Result<(), String> {
    let mut files: Vec<String> = Vec::new();
    let mut name: Option<String> = None;
    let mut out: Option<String> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--name" => name = Some(it.next().ok_or("--name needs a value")?.clone()),
            "-o" | "--output" => out = Some(it.next().ok_or("-o needs a file name")?.clone()),
            s if s.starts_with("--") || (s.starts_with('-') && s != "-") => {
                return Err(format!("import: unknown option {s}\n{USAGE}"));
            }
            s => files.push(s.to_string()),
        }
    }
    if files.is_empty() {
        files.push("-".to_string());
    }
    let inputs = read_inputs(&files)?;
    let imported = import(&inputs, name.as_deref()).map_err(|e| e.to_string())?;
    for w in &imported.warnings {
        eprintln!("arcsim: import: warning: {w}");
    }
    match out {
        Some(path) => {
            std::fs::write(&path, &imported.toml).map_err(|e| format!("cannot write {path}: {e}"))
        }
        None => {
            print!("{}", imported.toml);
            Ok(())
        }
    }
}

/// `arcsim import`'s usage line.
pub const USAGE: &str =
    "  arcsim import [--name NAME] [-o FILE.toml] [FILE...|-]   (::memstat, kstat -p zfs:0:arcstats, kstat -p unix:0:system_pages)";
