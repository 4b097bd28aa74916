//! Reading the illumos patch series: its order, the files it touches, the
//! lines it adds, and the module's functions those lines call.

use std::path::Path;

use crate::c_decls::{normalize_decl, normalize_type, Prototype};

/// One patch of the series.
#[derive(Clone, Debug)]
pub struct Patch {
    /// Its file name, as `series` lists it.
    pub name: String,
    /// Its text.
    pub text: String,
}

/// The patches named by `dir/series`, in order (blank lines and `#`
/// comments skipped).
pub fn series(dir: &Path) -> Result<Vec<Patch>, String> {
    let series = dir.join("series");
    let list = std::fs::read_to_string(&series)
        .map_err(|e| format!("cannot read {}: {e}", series.display()))?;
    list.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|name| {
            let p = dir.join(name);
            std::fs::read_to_string(&p)
                .map(|text| Patch {
                    name: name.to_owned(),
                    text,
                })
                .map_err(|e| format!("cannot read {}: {e}", p.display()))
        })
        .collect()
}

/// The module's C half in the illumos tree: its linkage and the few
/// functions its Rust half calls (`preempt.rs` of arctun-kmod).
pub const MODULE_C_IN_TREE: &str = "usr/src/uts/common/os/arctun.c";

/// The functions the series' module C half ([`MODULE_C_IN_TREE`])
/// defines with external linkage.
pub fn module_c_definitions(dir: &Path) -> Result<Vec<Definition>, String> {
    let mut out = Vec::new();
    for p in series(dir)? {
        for d in file_diffs(&p.text) {
            if d.path == MODULE_C_IN_TREE {
                out.extend(definitions(&d.added.join("\n")));
            }
        }
    }
    if out.is_empty() {
        return Err(format!(
            "the series defines no function in {MODULE_C_IN_TREE}"
        ));
    }
    Ok(out)
}

/// What one patch does to one file.
#[derive(Clone, Debug, Default)]
pub struct FileDiff {
    /// The file's path in the tree (the `b/` side).
    pub path: String,
    /// Whether the patch creates it.
    pub new_file: bool,
    /// The lines it adds, without the leading `+`.
    pub added: Vec<String>,
}

/// The per-file diffs of a `git diff` patch.
#[must_use]
pub fn file_diffs(patch: &str) -> Vec<FileDiff> {
    let mut out: Vec<FileDiff> = Vec::new();
    let mut in_hunk = false;
    for line in patch.lines() {
        if let Some(rest) = line.strip_prefix("diff --git ") {
            let path = rest.split_once(" b/").map_or(rest, |(_, b)| b).to_owned();
            out.push(FileDiff {
                path,
                ..FileDiff::default()
            });
            in_hunk = false;
            continue;
        }
        let Some(cur) = out.last_mut() else { continue };
        if line.starts_with("new file mode") {
            cur.new_file = true;
        } else if line.starts_with("@@") {
            in_hunk = true;
        } else if in_hunk {
            if let Some(added) = line.strip_prefix('+') {
                cur.added.push(added.to_owned());
            }
        }
    }
    out
}

/// The whole text of a file the series creates (`path`, relative to the
/// tree): the lines its patch adds, which are all of them.
pub fn new_file(dir: &Path, path: &str) -> Result<String, String> {
    let mut found = None;
    for p in series(dir)? {
        for d in file_diffs(&p.text) {
            if d.path != path {
                continue;
            }
            if !d.new_file {
                return Err(format!("{} changes {path}; it should create it", p.name));
            }
            if found.is_some() {
                return Err(format!("the series creates {path} twice"));
            }
            found = Some(d.added.join("\n") + "\n");
        }
    }
    found.ok_or_else(|| format!("the series does not create {path}"))
}

/// The definition of the C function `name` that the series adds to `path`
/// whole (every line of it, from its return type to its closing brace, an
/// added line of one hunk), without the leading `+`: for a C test that
/// compiles the series' own code. An error if no patch adds it whole, or
/// if more than one does.
pub fn added_function(dir: &Path, path: &str, name: &str) -> Result<String, String> {
    let mut found: Option<String> = None;
    let opening = format!("+{name}(");
    for p in series(dir)? {
        let mut file: Option<&str> = None;
        let lines: Vec<&str> = p.text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if let Some(rest) = line.strip_prefix("diff --git ") {
                file = rest.split_once(" b/").map(|(_, b)| b);
                continue;
            }
            if file != Some(path) || !line.starts_with(&opening) {
                continue;
            }
            // The return type on the line before, illumos style.
            let start = i
                .checked_sub(1)
                .filter(|&j| lines.get(j).is_some_and(|l| l.starts_with("+static ")))
                .ok_or_else(|| format!("{}: {name}() has no added return type line", p.name))?;
            let mut body = Vec::new();
            for l in lines.iter().skip(start) {
                let Some(text) = l.strip_prefix('+') else {
                    return Err(format!("{}: {name}() is not added whole", p.name));
                };
                body.push(text);
                if text == "}" {
                    break;
                }
            }
            if body.last() != Some(&"}") {
                return Err(format!("{}: {name}() has no closing brace", p.name));
            }
            if found.is_some() {
                return Err(format!("the series adds {name}() to {path} twice"));
            }
            found = Some(body.join("\n") + "\n");
        }
    }
    found.ok_or_else(|| format!("the series adds no {name}() to {path}"))
}

/// One hunk of a `git diff` patch.
#[derive(Clone, Debug, Default)]
pub struct Hunk {
    /// The file's path in the tree (the `b/` side).
    pub path: String,
    /// What `git diff` prints after the second `@@`: the line that opens
    /// the enclosing function (or other context), empty if none.
    pub context: String,
    /// The lines it adds, without the leading `+`.
    pub added: Vec<String>,
}

/// The hunks of a `git diff` patch, in order.
#[must_use]
pub fn hunks(patch: &str) -> Vec<Hunk> {
    let mut out: Vec<Hunk> = Vec::new();
    let mut path: Option<String> = None;
    for line in patch.lines() {
        if let Some(rest) = line.strip_prefix("diff --git ") {
            path = Some(rest.split_once(" b/").map_or(rest, |(_, b)| b).to_owned());
            continue;
        }
        let Some(p) = &path else { continue };
        if let Some(rest) = line.strip_prefix("@@ ") {
            let context = rest
                .split_once(" @@")
                .map_or("", |(_, c)| c)
                .trim()
                .to_owned();
            out.push(Hunk {
                path: p.clone(),
                context,
                added: Vec::new(),
            });
        } else if let Some(added) = line.strip_prefix('+') {
            if line.starts_with("+++ ") {
                continue;
            }
            if let Some(h) = out.last_mut() {
                if &h.path == p {
                    h.added.push(added.to_owned());
                }
            }
        }
    }
    out
}

/// Removes C comments (`/* */` and `//`) from `text`.
#[must_use]
pub fn strip_c_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let block = rest.find("/*");
        let line = rest.find("//");
        let block_first = match (block, line) {
            (Some(b), Some(l)) => b < l,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if let (true, Some(b)) = (block_first, block) {
            out.push_str(&rest[..b]);
            match rest[b..].find("*/") {
                Some(e) => rest = &rest[b + e + 2..],
                None => return out,
            }
        } else if let Some(l) = line {
            out.push_str(&rest[..l]);
            match rest[l..].find('\n') {
                Some(e) => rest = &rest[l + e..],
                None => return out,
            }
        } else {
            out.push_str(rest);
            return out;
        }
    }
}

/// A call of one of the module's functions found in added lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// The function.
    pub name: String,
    /// Its number of arguments.
    pub nargs: usize,
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Every `arctun_*(...)` call in `code` (comments already stripped), with
/// its argument count. Declarations are calls too, as far as this parser
/// knows; [`declarations`] finds those.
#[must_use]
pub fn calls(code: &str) -> Vec<Call> {
    let mut out = Vec::new();
    let bytes: Vec<char> = code.chars().collect();
    let mut i = 0usize;
    while i < bytes.len() {
        let at_word = i == 0 || !is_ident(bytes[i - 1]);
        if at_word && code_starts_with(&bytes, i, "arctun_") {
            let mut j = i;
            while j < bytes.len() && is_ident(bytes[j]) {
                j += 1;
            }
            let name: String = bytes[i..j].iter().collect();
            let mut k = j;
            while k < bytes.len() && bytes[k].is_whitespace() {
                k += 1;
            }
            if k < bytes.len() && bytes[k] == '(' {
                if let Some((nargs, end)) = count_args(&bytes, k) {
                    out.push(Call { name, nargs });
                    i = end;
                    continue;
                }
            }
            i = j;
            continue;
        }
        i += 1;
    }
    out
}

fn code_starts_with(chars: &[char], at: usize, s: &str) -> bool {
    s.chars()
        .enumerate()
        .all(|(k, c)| chars.get(at + k) == Some(&c))
}

/// Counts the top-level arguments of the parenthesized list starting at
/// `open`; returns the count and the index after the `)`.
fn count_args(chars: &[char], open: usize) -> Option<(usize, usize)> {
    let mut depth = 0i32;
    let mut commas = 0usize;
    let mut non_blank = false;
    for (k, &c) in chars.iter().enumerate().skip(open) {
        match c {
            '(' => {
                depth += 1;
                if depth > 1 {
                    non_blank = true;
                }
            }
            ')' => {
                depth -= 1;
                if depth == 0 {
                    let n = if non_blank { commas + 1 } else { 0 };
                    return Some((n, k + 1));
                }
            }
            ',' if depth == 1 => commas += 1,
            c if depth >= 1 && !c.is_whitespace() => non_blank = true,
            _ => {}
        }
    }
    None
}

/// A function that added C code defines with external linkage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Definition {
    /// Its name.
    pub name: String,
    /// Its prototype (parameter types without their names).
    pub prototype: Prototype,
    /// The index of the line naming it, in the code given.
    pub line: usize,
}

impl Definition {
    /// The definition as a declaration, normalized like
    /// [`normalize_decl`](crate::c_decls::normalize_decl)'s.
    #[must_use]
    pub fn declaration(&self) -> String {
        let params = if self.prototype.params.is_empty() {
            "void".to_owned()
        } else {
            self.prototype.params.join(", ")
        };
        normalize_decl(&format!(
            "{} {}({});",
            self.prototype.ret, self.name, params
        ))
    }
}

/// The functions with external linkage that `code` defines, written in
/// illumos style: the return type alone on a line, `name(params)` at the
/// start of the next, `{` alone on the one after. `static` functions are
/// left out: nothing outside their file can call them.
#[must_use]
pub fn definitions(code: &str) -> Vec<Definition> {
    let lines: Vec<&str> = code.lines().collect();
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let (Some(prev), Some(next)) = (
            i.checked_sub(1).and_then(|p| lines.get(p)),
            lines.get(i + 1),
        ) else {
            continue;
        };
        if next.trim_end() != "{"
            || l.starts_with(char::is_whitespace)
            || prev.starts_with(char::is_whitespace)
        {
            continue;
        }
        let Some((name, rest)) = l.split_once('(') else {
            continue;
        };
        let Some(params) = rest.trim_end().strip_suffix(')') else {
            continue;
        };
        let ret = prev.trim();
        if name.is_empty()
            || !name.chars().all(is_ident)
            || ret.is_empty()
            || ret.starts_with("static")
            || !ret.chars().all(|c| is_ident(c) || c == ' ' || c == '*')
        {
            continue;
        }
        let params: Vec<String> = params
            .split(',')
            .map(str::trim)
            .filter(|p| *p != "void" && !p.is_empty())
            .map(|p| {
                // Drop the parameter's name: the last identifier.
                let ty = p.trim_end_matches(is_ident);
                normalize_type(if ty.trim().is_empty() { p } else { ty })
            })
            .collect();
        out.push(Definition {
            name: name.to_owned(),
            prototype: Prototype {
                ret: normalize_type(ret),
                params,
            },
            line: i,
        });
    }
    out
}

/// Lines of `code` that declare one of the module's functions themselves
/// (`extern ... arctun_...(`): the header must be the only declaration.
#[must_use]
pub fn declarations(code: &str) -> Vec<String> {
    code.lines()
        .filter(|l| {
            let t = l.trim_start();
            t.starts_with("extern") && t.contains("arctun_") && t.contains('(')
        })
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_found_with_their_arity() {
        let code = "x = arctun_arc_reduce_target(a, f(b, c),\n  d);\n\
                    if (arctun_mod_busy() != 0) y = my_arctun_x(1);\n\
                    arctun_arc_ops_t ops;";
        let c = calls(code);
        assert_eq!(
            c,
            [
                Call {
                    name: "arctun_arc_reduce_target".into(),
                    nargs: 3
                },
                Call {
                    name: "arctun_mod_busy".into(),
                    nargs: 0
                }
            ]
        );
    }

    #[test]
    fn comments_do_not_count() {
        let code = "a(); /* arctun_arc_tick() */ b(); // arctun_mod_init()\nc();";
        assert!(calls(&strip_c_comments(code)).is_empty());
    }

    #[test]
    fn definitions_are_illumos_style_and_not_static() {
        let code = "static int\nhidden(void)\n{\n}\n\nint\n_info(struct modinfo *modinfop)\n{\n\
                    }\n\nvoid\narctun_x(void)\n{\n\tarctun_y();\n}\nextern void f(void);\n";
        let d = definitions(code);
        let names: Vec<&str> = d.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["_info", "arctun_x"]);
        assert_eq!(d[0].prototype.to_string(), "int (struct modinfo *)");
        assert_eq!(d[1].declaration(), "void arctun_x(void)");
        assert_eq!(d[1].line, 11);
    }

    #[test]
    fn hunks_name_their_function_and_keep_added_lines() {
        let p = "diff --git a/x.c b/x.c\n--- a/x.c\n+++ b/x.c\n\
                 @@ -1,2 +1,3 @@ f(int a)\n ctx\n+added\n-removed\n\
                 @@ -9 +10,2 @@\n+more\n\
                 diff --git a/y.h b/y.h\nnew file mode 100644\n--- /dev/null\n+++ b/y.h\n\
                 @@ -0,0 +1 @@\n+#define Y\n";
        let h = hunks(p);
        assert_eq!(h.len(), 3);
        assert_eq!(
            (h[0].path.as_str(), h[0].context.as_str()),
            ("x.c", "f(int a)")
        );
        assert_eq!(h[0].added, ["added"]);
        assert_eq!((h[1].context.as_str(), h[1].added.len()), ("", 1));
        assert_eq!(
            (h[2].path.as_str(), h[2].added[0].as_str()),
            ("y.h", "#define Y")
        );
    }

    #[test]
    fn diffs_split_by_file_and_keep_added_lines() {
        let p = "diff --git a/x.c b/x.c\nindex 1..2 100644\n--- a/x.c\n+++ b/x.c\n\
                 @@ -1,2 +1,3 @@\n ctx\n+added\n-removed\n\
                 diff --git a/y.h b/y.h\nnew file mode 100644\n--- /dev/null\n+++ b/y.h\n\
                 @@ -0,0 +1 @@\n+#define Y\n";
        let d = file_diffs(p);
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].path, "x.c");
        assert_eq!(d[0].added, ["added"]);
        assert!(d[1].new_file);
        assert_eq!(d[1].added, ["#define Y"]);
    }
}
