//! The boot configuration: the command's `/etc/system.d` fragment, and
//! what `/etc/system.d/*` and `/etc/system` set at boot.
//!
//! illumos reads the fragments in `/etc/system.d` (in the C locale's
//! order of their names, skipping names that start with a dot) and then
//! `/etc/system`, so a later file's `set` of the same variable wins, and
//! `/etc/system` wins over every fragment (system(5)). The fragments reach
//! the kernel through the boot archive, which `bootadm update-archive`
//! rebuilds (the shutdown path runs it).
//!
//! The command owns one fragment, [`FRAGMENT`]. It holds exactly one
//! `set module:variable = 0x...` line per persisted tunable, in the
//! registry's order, and is replaced whole: written to a temporary file
//! whose name starts with a dot (so that a crash leaves nothing the boot
//! archive would read), synced, and renamed over the old one. With no
//! line left, the file is removed.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use admin_syntax::etc_system::{FindingKind, SetOp, SetScope, SetValue, SystemLine};
use admin_syntax::{apply_etc_system, parse_system_line};
use zfs_tunables::std_platform::StdPlatform;
use zfs_tunables::{ArcTunables, Generation, HostMemory, PageSize, Pages};

use crate::host_model::{default_value, descriptor, module_of};

/// The command's fragment, relative to the root.
pub const FRAGMENT: &str = "etc/system.d/arctunadm";
/// The fragments' directory, relative to the root.
pub const SYSTEM_D: &str = "etc/system.d";
/// `/etc/system`, relative to the root.
pub const SYSTEM: &str = "etc/system";
/// The temporary file a new fragment is written to: a dot file (a boot
/// archive update skips it), named for this process so that two
/// commands at once never write into one file.
fn fragment_tmp() -> String {
    format!("{SYSTEM_D}/.arctunadm.{}.tmp", std::process::id())
}

/// The fragment's opening comment.
const HEADER: &str = "\
* Written by arctunadm(8): 'arctunadm set --persist' and
* 'arctunadm reset --persist' replace this file. illumos reads it at
* boot before /etc/system, whose settings of the same variables win.
";

/// A path under `root`, as the command names it in messages.
fn shown(rel: &str) -> String {
    format!("/{rel}")
}

/// One persisted setting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setting {
    /// The module (`zfs`, `vmm`).
    pub module: String,
    /// The tunable.
    pub name: String,
    /// The value.
    pub value: u64,
}

/// The settings in the command's fragment; an error names a line the
/// command did not write.
pub fn read_fragment(root: &Path) -> Result<Vec<Setting>, String> {
    let path = root.join(FRAGMENT);
    let text = match fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("{}: {e}", shown(FRAGMENT))),
    };
    let mut out = Vec::new();
    for (i, line) in text.split(|&b| b == b'\n').enumerate() {
        let n = i.saturating_add(1);
        let foreign = || {
            format!(
                "{} line {n} is not a line arctunadm writes; move it to another file",
                shown(FRAGMENT)
            )
        };
        match parse_system_line(line) {
            Ok(SystemLine::Blank) => {}
            Ok(SystemLine::Set(c)) => {
                let (Some(module), SetOp::Assign, SetValue::Integer { value, .. }) =
                    (c.module.as_ref(), c.op, c.value)
                else {
                    return Err(foreign());
                };
                out.push(Setting {
                    module: module.to_string(),
                    name: c.variable.to_string(),
                    value,
                });
            }
            Ok(SystemLine::OtherCommand) | Err(_) => return Err(foreign()),
        }
    }
    Ok(out)
}

/// The fragment's text for `settings`.
#[must_use]
pub fn fragment_text(settings: &[Setting]) -> String {
    let mut text = String::from(HEADER);
    for s in settings {
        text.push_str(&format!("set {}:{} = {:#x}\n", s.module, s.name, s.value));
    }
    text
}

/// Replaces the fragment with `settings` (atomically), or removes it
/// when there are none.
fn write_fragment(root: &Path, settings: &[Setting]) -> Result<(), String> {
    let io = |what: &str, e: std::io::Error| format!("{what}: {e}");
    let path = root.join(FRAGMENT);
    if settings.is_empty() {
        return match fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(&shown(FRAGMENT), e)),
            _ => Ok(()),
        };
    }
    let dir = root.join(SYSTEM_D);
    fs::create_dir_all(&dir).map_err(|e| io(&shown(SYSTEM_D), e))?;
    let tmp_rel = fragment_tmp();
    let tmp = root.join(&tmp_rel);
    let written = fs::File::create(&tmp).and_then(|mut f| {
        f.write_all(fragment_text(settings).as_bytes())?;
        f.sync_all()
    });
    if let Err(e) = written.and_then(|()| fs::rename(&tmp, &path)) {
        let _ = fs::remove_file(&tmp);
        return Err(io(&shown(FRAGMENT), e));
    }
    // The rename itself must reach the disk before the command says done.
    fs::File::open(&dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io(&shown(SYSTEM_D), e))
}

/// The registry's order of `name` (unknown names last).
fn rank(name: &str) -> usize {
    crate::host_model::registry_order()
        .iter()
        .position(|n| *n == name)
        .unwrap_or(usize::MAX)
}

/// What [`persist`] does to one tunable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Persist<'a> {
    /// Keep this value at boot.
    Set(&'a str, u64),
    /// Boot with the default: remove the tunable's line.
    Remove(&'a str),
}

/// Updates the fragment: each change replaces or removes its tunable's
/// line. A value of 0 for a tunable whose 0 means "the default" removes
/// the line, as a reset does. Returns notes on later files that override
/// a persisted value.
pub fn persist(root: &Path, changes: &[Persist<'_>]) -> Result<Vec<String>, String> {
    let mut settings = read_fragment(root)?;
    let mut kept = Vec::new();
    for change in changes {
        let (name, value) = match *change {
            Persist::Set(name, value) => {
                let zero_is_default = descriptor(name).is_some_and(|d| default_value(d) == 0);
                if value == 0 && zero_is_default {
                    (name, None)
                } else {
                    (name, Some(value))
                }
            }
            Persist::Remove(name) => (name, None),
        };
        settings.retain(|s| s.name != name);
        if let Some(value) = value {
            let module = module_of(name).ok_or_else(|| {
                format!("{name}: its module is not known, so it cannot be persisted")
            })?;
            settings.push(Setting {
                module: module.to_string(),
                name: name.to_string(),
                value,
            });
            kept.push((module, name));
        }
    }
    settings.sort_by_key(|s| rank(&s.name));
    write_fragment(root, &settings)?;
    overrides(root, &kept)
}

/// One file of the boot configuration, in reading order.
struct BootFile {
    /// Its path relative to the root.
    rel: String,
    /// Its bytes.
    text: Vec<u8>,
}

/// The fragments (C-locale order, no dot files), then `/etc/system`.
fn boot_files(root: &Path) -> Result<Vec<BootFile>, String> {
    let mut names: Vec<String> = match fs::read_dir(root.join(SYSTEM_D)) {
        Ok(dir) => dir
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.'))
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    let mut rels: Vec<String> = names
        .into_iter()
        .map(|n| format!("{SYSTEM_D}/{n}"))
        .collect();
    rels.push(SYSTEM.to_string());
    let mut out = Vec::new();
    for rel in rels {
        match fs::read(root.join(&rel)) {
            Ok(text) => out.push(BootFile { rel, text }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("{}: {e}", shown(&rel))),
        }
    }
    Ok(out)
}

/// Notes for every `set` of a `kept` variable that is read after the
/// command's fragment, and so wins at boot.
fn overrides(root: &Path, kept: &[(&str, &str)]) -> Result<Vec<String>, String> {
    let mut notes = Vec::new();
    let mut after_ours = false;
    for f in boot_files(root)? {
        if f.rel == FRAGMENT {
            after_ours = true;
            continue;
        }
        if !after_ours {
            continue;
        }
        for (i, line) in f.text.split(|&b| b == b'\n').enumerate() {
            let Ok(SystemLine::Set(c)) = parse_system_line(line) else {
                continue;
            };
            if c.scope == SetScope::Only32 {
                continue;
            }
            let hit = kept
                .iter()
                .find(|(m, n)| c.module.as_deref() == Some(*m) && c.variable.as_str() == *n);
            if let Some((m, n)) = hit {
                notes.push(format!(
                    "{} line {} also sets {m}:{n} and is read after {}: its value wins at boot",
                    shown(&f.rel),
                    i.saturating_add(1),
                    shown(FRAGMENT)
                ));
            }
        }
    }
    Ok(notes)
}

/// What the boot configuration sets, as a boot would apply it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BootValues {
    /// The tunables it sets, with their values.
    pub values: Vec<(&'static str, u64)>,
    /// What a boot would report and ignore, one sentence each, naming
    /// the file and line.
    pub warnings: Vec<String>,
}

/// A finding's sentence without krtld's line reference (the caller adds
/// the file and line).
fn finding_text(kind: &FindingKind) -> Option<String> {
    Some(match kind {
        FindingKind::Malformed {
            error,
            column,
            near,
        } if near.is_empty() => {
            format!(
                "{} at the end of the line (column {column}); line ignored",
                error.describe()
            )
        }
        FindingKind::Malformed {
            error,
            column,
            near,
        } => {
            format!(
                "{} at '{near}' (column {column}); line ignored",
                error.describe()
            )
        }
        FindingKind::UnknownTunable { module, variable } => {
            format!("'{variable}' is not a tunable of the '{module}' module; line ignored")
        }
        FindingKind::Unqualified { variable, module } => {
            format!(
                "'{variable}' without its module (write 'set {module}:{variable}'); line ignored"
            )
        }
        FindingKind::StringValue { name } => {
            format!("{name} takes a number, not a string; line ignored")
        }
        FindingKind::Refused { error, .. } => format!("{error}; a boot ignores it"),
        FindingKind::SetMoreThanOnce { .. } => return None,
    })
}

/// Reads the boot configuration under `root` and applies it, as a boot
/// does, to a fresh component for a host of `allmem` bytes (`None`: one
/// large enough for any value, so the kernel's write judges them).
pub fn boot_values(root: &Path, allmem: Option<u64>) -> Result<BootValues, String> {
    let files = boot_files(root)?;
    let mut text = Vec::new();
    let mut starts = Vec::new();
    let mut line: u32 = 1;
    for f in &files {
        starts.push((line, f.rel.as_str()));
        text.extend_from_slice(&f.text);
        if !f.text.ends_with(b"\n") && !f.text.is_empty() {
            text.push(b'\n');
        }
        let lines = f.text.split(|&b| b == b'\n').count();
        let lines = if f.text.ends_with(b"\n") {
            lines.saturating_sub(1)
        } else {
            lines
        };
        line = line.saturating_add(u32::try_from(lines).unwrap_or(u32::MAX));
    }
    let ps = PageSize::AMD64;
    let physmem = allmem.map_or(Pages(1 << 40), |a| Pages(a >> ps.shift()));
    let host = HostMemory {
        physmem,
        swapfs_minfree: Pages(0),
        page_size: ps,
        heap: None,
    };
    let model = ArcTunables::new(StdPlatform::manual(), host, Generation::Y2021);
    let _ = model.register(&vmm_client::page_overhead::VMM_REGISTRANT);
    let report = apply_etc_system(&model, &text);
    let place = |combined: u32| {
        let (start, rel) = starts
            .iter()
            .rev()
            .find(|(s, _)| *s <= combined)
            .copied()
            .unwrap_or((1, SYSTEM));
        format!(
            "{} line {}",
            shown(rel),
            combined.saturating_sub(start).saturating_add(1)
        )
    };
    Ok(BootValues {
        values: report.applied.iter().map(|&(n, v, _)| (n, v)).collect(),
        warnings: report
            .findings
            .iter()
            .filter_map(|f| finding_text(&f.kind).map(|t| format!("{}: {t}", place(f.line))))
            .collect(),
    })
}

/// Where the root's files are, for messages and tests.
#[must_use]
pub fn fragment_path(root: &Path) -> PathBuf {
    root.join(FRAGMENT)
}
