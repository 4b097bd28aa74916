//! Which `arc_init()` a tree computes, and which one the module
//! reproduces, so that a tree test can hold the two together.
//!
//! The module computes the ARC's default limits itself (at
//! `arctun_arc_register()`, and for `zfscache(8)`'s defaults), with the
//! formula `arctun-kmod/src/kernel_platform.rs` names in `ARC_GENERATION`.
//! That must be the formula of the tree the module is built into: a module
//! computing the 2021 tree's `c_min` on today's tree would report, and
//! enforce, a floor `arc_init()` never set. [`tree_formula`] reads
//! `arc_init()` out of a tree's `arc.c` and tells which of the two
//! formulas zfs-tunables knows it computes (or says why it is neither);
//! [`module_formula`] reads the module's constant.
//!
//! The two differ only in `c_min`:
//!
//! - today's: `c_min = MIN(MAX(allmem / 64, 64 MiB), 1 GiB)`;
//! - 2021's: `c_min = MAX(allmem / 32, 64 MiB)`, raised to
//!   `arc_meta_limit / 2`, clamped to 1 GiB.
//!
//! Userland's branch (`#ifndef _KERNEL`: libzpool's `c_min = c_max / 2`)
//! and the admin overrides (`zfs_arc_max` lowering `c_min` to fit,
//! `zfs_arc_min` replacing it) are the same in both and are set aside.

use crate::patches::strip_c_comments;

/// The file of a tree that holds `arc_init()`.
pub const ARC_C: &str = "usr/src/uts/common/fs/zfs/arc.c";

/// The file of the module that names its formula.
pub const KERNEL_PLATFORM_RS: &str = "arctun-kmod/src/kernel_platform.rs";

/// An `arc_init()` limit formula, named as zfs-tunables' `Generation`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Formula {
    /// `c_min = MAX(allmem / 32, 64 MiB)`, raised to `arc_meta_limit / 2`,
    /// clamped to 1 GiB.
    Y2021,
    /// `c_min = MIN(MAX(allmem / 64, 64 MiB), 1 GiB)`.
    Current,
}

impl Formula {
    /// The formula in `arc_init()`'s terms, for messages.
    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            Self::Y2021 => {
                "the 2021 tree's (c_min = MAX(allmem / 32, 64 MiB), raised to \
                 arc_meta_limit / 2, clamped to 1 GiB)"
            }
            Self::Current => "today's (c_min = MIN(MAX(allmem / 64, 64 MiB), 1 GiB))",
        }
    }
}

/// The statements assigning `arc_c_min` that both formulas share: the
/// admin's `zfs_arc_max` lowering it to fit, the admin's `zfs_arc_min`.
const ADMIN_STATEMENTS: [&str; 2] = [
    "arc_c_min=MIN(arc_c_min,arc_c_max)",
    "arc_c_min=zfs_arc_min",
];

/// The body of `arc_init()` in `arc_c`, with comments removed and
/// userland's branches (`#ifndef _KERNEL`, `#ifdef _KERNEL ... #else`)
/// left out.
fn kernel_body(arc_c: &str) -> Result<String, String> {
    let code = strip_c_comments(arc_c);
    let lines: Vec<&str> = code.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.trim_end() == "arc_init(void)")
        .ok_or_else(|| "no definition `arc_init(void)` at the start of a line".to_owned())?;
    let mut body = String::new();
    // One entry per open conditional: `Some(in_kernel)` for a test of
    // `_KERNEL` (whether its current branch is the kernel's), `None` for
    // another, both of whose branches count.
    let mut conditionals: Vec<Option<bool>> = Vec::new();
    let mut opened = false;
    for l in lines.iter().skip(start + 1) {
        let t = l.trim();
        if !opened {
            if t == "{" {
                opened = true;
                continue;
            }
            return Err(format!(
                "arc_init(void) is not followed by `{{` on a line of its own but by `{t}`"
            ));
        }
        if *l == "}" {
            return Ok(body);
        }
        let directive: String = t.split_whitespace().collect::<Vec<_>>().join(" ");
        if let Some(cond) = directive.strip_prefix('#') {
            let cond = cond.trim_start();
            if cond.starts_with("ifndef _KERNEL") {
                conditionals.push(Some(false));
            } else if cond.starts_with("ifdef _KERNEL") {
                conditionals.push(Some(true));
            } else if cond.starts_with("if") {
                conditionals.push(None);
            } else if cond.starts_with("else") {
                if let Some(Some(in_kernel)) = conditionals.last_mut() {
                    *in_kernel = !*in_kernel;
                }
            } else if cond.starts_with("endif") {
                conditionals.pop();
            }
            continue;
        }
        if !conditionals.contains(&Some(false)) {
            body.push_str(t);
            body.push('\n');
        }
    }
    Err("arc_init()'s body has no closing `}` at the start of a line".to_owned())
}

/// Which formula the `arc_init()` of `arc_c` (a tree's `arc.c`) computes.
///
/// # Errors
///
/// A sentence saying what was not found, or which statement assigning
/// `arc_c_min` belongs to neither formula, if `arc_init()` cannot be read
/// or computes another formula.
pub fn tree_formula(arc_c: &str) -> Result<Formula, String> {
    let body = kernel_body(arc_c)?;
    let flat: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    let assignments: Vec<&str> = flat
        .split([';', '{', '}'])
        .filter_map(|s| s.find("arc_c_min=").map(|i| &s[i..]))
        .filter(|s| !s.starts_with("arc_c_min=="))
        .collect();
    let has = |want: &str| assignments.contains(&want);
    let formula = if has("arc_c_min=MAX(allmem/64,64<<20)") {
        Formula::Current
    } else if has("arc_c_min=MAX(allmem/32,64<<20)") {
        Formula::Y2021
    } else {
        return Err(format!(
            "arc_init() starts c_min from neither allmem / 64 nor allmem / 32 with the 64 MiB \
             floor; its assignments to arc_c_min are: {}",
            assignments.join("; ")
        ));
    };
    let own: &[&str] = match formula {
        Formula::Current => &[
            "arc_c_min=MAX(allmem/64,64<<20)",
            "arc_c_min=MIN(arc_c_min,1<<30)",
        ],
        Formula::Y2021 => &[
            "arc_c_min=MAX(allmem/32,64<<20)",
            "arc_c_min=arc_meta_limit/2",
            "arc_c_min=MIN(arc_c_min,1<<30)",
        ],
    };
    if let Some(missing) = own.iter().find(|s| !has(s)) {
        return Err(format!(
            "arc_init() starts c_min as {} does, but lacks its `{missing}`",
            formula.describe()
        ));
    }
    if let Some(other) = assignments
        .iter()
        .find(|s| !own.contains(s) && !ADMIN_STATEMENTS.contains(s))
    {
        return Err(format!(
            "arc_init() computes c_min as {} does, and also `{other}`, which neither formula has",
            formula.describe()
        ));
    }
    Ok(formula)
}

/// Which formula the module reproduces: its `ARC_GENERATION` in
/// `kernel_platform_rs` (the text of [`KERNEL_PLATFORM_RS`]).
///
/// # Errors
///
/// A sentence naming the file if it has no such constant or names another
/// generation.
pub fn module_formula(kernel_platform_rs: &str) -> Result<Formula, String> {
    let line = kernel_platform_rs
        .lines()
        .find(|l| l.starts_with("pub const ARC_GENERATION: Generation = "))
        .ok_or_else(|| {
            format!("{KERNEL_PLATFORM_RS} has no line `pub const ARC_GENERATION: Generation = ...`")
        })?;
    match line.rsplit("Generation::").next().map(str::trim) {
        Some("Current;") => Ok(Formula::Current),
        Some("Y2021;") => Ok(Formula::Y2021),
        _ => Err(format!(
            "{KERNEL_PLATFORM_RS}: `{line}` names neither Generation::Current nor Generation::Y2021"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An `arc_init()` with today's shape, the way arc.c lays it out.
    fn todays(extra: &str) -> String {
        format!(
            "static int x;\n\nvoid\narc_init(void)\n{{\n\
             #ifdef _KERNEL\n\tuint64_t allmem = ptob(physmem - swapfs_minfree);\n\
             #else\n\tuint64_t allmem = (physmem * PAGESIZE) / 2;\n#endif\n\
             \t/* 1/64 of all memory */\n\tarc_c_min = MAX(allmem / 64, 64 << 20);\n\
             \tarc_c_min = MIN(arc_c_min, 1 << 30);\n{extra}\
             #ifndef _KERNEL\n\tarc_c_min = arc_c_max / 2;\n#endif\n\
             \tif (zfs_arc_max > 64 << 20 && zfs_arc_max < allmem) {{\n\
             \t\tarc_c_max = zfs_arc_max;\n\t\tarc_c_min = MIN(arc_c_min, arc_c_max);\n\t}}\n\
             \tif (zfs_arc_min > 64 << 20 && zfs_arc_min <= arc_c_max)\n\
             \t\tarc_c_min = zfs_arc_min;\n}}\n\nvoid\narc_fini(void)\n{{\n\
             \tarc_c_min = 0;\n}}\n"
        )
    }

    #[test]
    fn todays_arc_init_is_the_current_formula() {
        assert_eq!(tree_formula(&todays("")), Ok(Formula::Current));
    }

    #[test]
    fn the_2021_shape_is_told_apart() {
        let text = todays("").replace("allmem / 64", "allmem / 32").replace(
            "\tarc_c_min = MIN(arc_c_min, 1 << 30);\n",
            "\tif (arc_c_min < arc_meta_limit / 2 && zfs_arc_min == 0)\n\
                 \t\tarc_c_min = arc_meta_limit / 2;\n\
                 \tif (zfs_arc_min == 0)\n\t\tarc_c_min = MIN(arc_c_min, 1 << 30);\n",
        );
        assert_eq!(tree_formula(&text), Ok(Formula::Y2021));
    }

    #[test]
    fn another_formula_is_refused_with_the_statement() {
        let e = tree_formula(&todays("\tarc_c_min = arc_c_min * 2;\n")).unwrap_err();
        assert!(e.contains("`arc_c_min=arc_c_min*2`"), "{e}");
        let e = tree_formula(&todays("").replace("allmem / 64", "allmem / 16")).unwrap_err();
        assert!(e.contains("neither allmem / 64 nor allmem / 32"), "{e}");
        let e = tree_formula(&todays("").replace("\tarc_c_min = MIN(arc_c_min, 1 << 30);\n", ""))
            .unwrap_err();
        assert!(
            e.contains("lacks its `arc_c_min=MIN(arc_c_min,1<<30)`"),
            "{e}"
        );
        let e = tree_formula("void\narc_fini(void)\n{\n}\n").unwrap_err();
        assert!(e.contains("no definition `arc_init(void)`"), "{e}");
    }

    #[test]
    fn the_modules_constant_is_read() {
        let f = |v: &str| module_formula(&format!("pub const ARC_GENERATION: Generation = {v};\n"));
        assert_eq!(f("Generation::Current"), Ok(Formula::Current));
        assert_eq!(f("Generation::Y2021"), Ok(Formula::Y2021));
        assert!(f("Generation::Y2030")
            .unwrap_err()
            .contains("names neither"));
        assert!(module_formula("").unwrap_err().contains("has no line"));
    }
}
