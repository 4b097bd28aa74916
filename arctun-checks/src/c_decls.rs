//! The module's interface as the header declares it and as the Rust code
//! exports it, both reduced to C prototypes that can be compared.
//!
//! The parsers are deliberately small: they read this repository's header
//! (one `extern` prototype per declaration, parameters without names,
//! illumos style) and this repository's Rust (`#[unsafe(no_mangle)]`
//! followed by a `pub [unsafe] extern "C" fn`), and fail loudly on what
//! they do not understand instead of guessing.

use std::collections::BTreeMap;
use std::path::Path;

/// A C prototype: return type and parameter types, each normalized to
/// single spaces with `*` spaced as `T *`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prototype {
    /// The return type.
    pub ret: String,
    /// The parameter types (`(void)` is empty).
    pub params: Vec<String>,
}

impl std::fmt::Display for Prototype {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let params = if self.params.is_empty() {
            "void".to_owned()
        } else {
            self.params.join(", ")
        };
        write!(f, "{} ({})", self.ret, params)
    }
}

/// A C type normalized to single spaces, with `*` spaced as `T *`.
#[must_use]
pub fn normalize_type(t: &str) -> String {
    let spaced = t.replace('*', " * ");
    let words: Vec<&str> = spaced.split_whitespace().collect();
    words.join(" ").replace("* *", "**")
}

/// Removes `/* ... */` comments.
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("/*") {
        out.push_str(&rest[..start]);
        match rest[start..].find("*/") {
            Some(end) => rest = &rest[start + end + 2..],
            None => return out,
        }
    }
    out.push_str(rest);
    out
}

/// Every `extern` function prototype of a C header, by name.
pub fn header_prototypes(header: &str) -> Result<BTreeMap<String, Prototype>, String> {
    let text = strip_comments(header);
    let mut out = BTreeMap::new();
    for decl in text.split(';') {
        let decl = decl.trim();
        // The last `extern` of the chunk: an `extern "C" {` may precede it.
        let Some(pos) = decl.rfind("extern ") else {
            continue;
        };
        let decl = &decl[pos + "extern ".len()..];
        if decl.starts_with('"') {
            // extern "C" {
            continue;
        }
        let (head, params) = decl
            .split_once('(')
            .ok_or_else(|| format!("not a prototype: {decl}"))?;
        let params = params
            .strip_suffix(')')
            .ok_or_else(|| format!("unterminated parameters: {decl}"))?;
        let head = normalize_type(head);
        let (ret, name) = head
            .rsplit_once(' ')
            .ok_or_else(|| format!("no return type: {decl}"))?;
        let params: Vec<String> = params.split(',').map(normalize_type).collect();
        let params = if params == ["void"] {
            Vec::new()
        } else {
            params
        };
        if params.iter().any(String::is_empty) {
            return Err(format!("empty parameter in {name}"));
        }
        out.insert(
            name.to_owned(),
            Prototype {
                ret: ret.to_owned(),
                params,
            },
        );
    }
    Ok(out)
}

/// The C spelling of a Rust type used at the module's C ABI.
pub fn rust_type_to_c(t: &str) -> Result<String, String> {
    let t = t.trim();
    if t == "..." {
        return Ok("...".to_owned());
    }
    if let Some(inner) = t.strip_prefix("*const ") {
        return Ok(format!("const {} *", rust_type_to_c(inner)?));
    }
    if let Some(inner) = t.strip_prefix("*mut ") {
        return Ok(format!("{} *", rust_type_to_c(inner)?));
    }
    let c = match t {
        "" | "()" => "void",
        "u64" => "uint64_t",
        "i64" => "int64_t",
        "u32" => "uint32_t",
        "i32" => "int32_t",
        "usize" => "size_t",
        "c_int" => "int",
        "c_char" => "char",
        "c_void" => "void",
        // illumos typedefs and the header's own types keep their names.
        other
            if other.ends_with("_t")
                && other.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
        {
            other
        }
        other => return Err(format!("no C spelling for Rust type `{other}`")),
    };
    Ok(c.to_owned())
}

/// Splits a parameter list at top-level commas.
pub fn split_params(params: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0usize;
    for (i, ch) in params.char_indices() {
        match ch {
            '(' | '<' | '[' => depth += 1,
            ')' | '>' | ']' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&params[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&params[start..]);
    out.into_iter().filter(|p| !p.trim().is_empty()).collect()
}

/// One declaration of `illumos-ddi`'s kernel layer: its Rust signature as
/// C, and the C prototype its doc comment quotes from the illumos header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    /// The C name.
    pub name: String,
    /// The Rust declaration, spelled in C (`ret name(params);` for a
    /// function, `type name;` for a global), normalized.
    pub rust: String,
    /// The doc comment's quoted C declaration, normalized.
    pub documented: String,
}

/// A C declaration (`ret name(params);`) normalized for comparison.
#[must_use]
pub fn normalize_decl(d: &str) -> String {
    let d = d.trim().trim_end_matches(';');
    let d = normalize_type(
        &d.replace('(', " ( ")
            .replace(')', " ) ")
            .replace(',', " , "),
    );
    d.replace("( ", "(")
        .replace(" )", ")")
        .replace(" ,", ",")
        .replace(" (", "(")
}

/// Every function and global of a kernel-layer bindings source
/// (`pub fn` and `pub static mut` in `unsafe extern "C"` blocks), with the
/// C declaration its doc comment quotes between backticks.
pub fn bindings(source: &str) -> Result<Vec<Binding>, String> {
    let mut out = Vec::new();
    let mut doc = String::new();
    let mut pending_item = String::new();
    for line in source.lines() {
        let l = line.trim();
        if let Some(d) = l.strip_prefix("///") {
            doc.push_str(d);
            doc.push(' ');
            continue;
        }
        if l.starts_with("pub fn ") || l.starts_with("pub static mut ") || !pending_item.is_empty()
        {
            pending_item.push_str(l);
            pending_item.push(' ');
            if !l.ends_with(';') {
                continue;
            }
            let item = std::mem::take(&mut pending_item);
            let quoted = doc
                .split('`')
                .skip(1)
                .step_by(2)
                .find(|q| q.trim_end().ends_with(';'))
                .ok_or_else(|| format!("no quoted C declaration for `{}`", item.trim()))?
                .to_owned();
            doc.clear();
            let rust = if let Some(rest) = item.strip_prefix("pub static mut ") {
                let (name, ty) = rest
                    .trim()
                    .trim_end_matches(';')
                    .split_once(':')
                    .ok_or_else(|| format!("bad static `{item}`"))?;
                format!("{} {};", rust_type_to_c(ty)?, name.trim())
            } else {
                let rest = item.trim_start_matches("pub fn ");
                let (name, after) = rest
                    .split_once('(')
                    .ok_or_else(|| format!("bad fn `{item}`"))?;
                let close = after.rfind(')').ok_or_else(|| format!("bad fn `{item}`"))?;
                let (params, ret) = after.split_at(close);
                let ret = ret
                    .trim_start_matches(')')
                    .trim()
                    .trim_end_matches(';')
                    .trim();
                let ret = ret.strip_prefix("->").unwrap_or("").trim();
                let params = split_params(params)
                    .into_iter()
                    .map(|p| rust_type_to_c(p.split_once(':').map_or(p, |(_, t)| t)))
                    .collect::<Result<Vec<_>, _>>()?;
                let params = if params.is_empty() {
                    "void".to_owned()
                } else {
                    params.join(", ")
                };
                format!("{} {}({});", rust_type_to_c(ret)?, name.trim(), params)
            };
            let name = item
                .trim_start_matches("pub fn ")
                .trim_start_matches("pub static mut ")
                .split(['(', ':'])
                .next()
                .unwrap_or("")
                .trim()
                .to_owned();
            out.push(Binding {
                name,
                rust: normalize_decl(&rust),
                documented: normalize_decl(&quoted),
            });
            continue;
        }
        if !l.starts_with("#[") {
            doc.clear();
        }
    }
    Ok(out)
}

/// Every `#[unsafe(no_mangle)] pub [unsafe] extern "C" fn` of the Rust
/// sources in `dir`, as C prototypes, by name.
pub fn rust_exports(dir: &Path) -> Result<BTreeMap<String, Prototype>, String> {
    let mut out = BTreeMap::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect();
    entries.sort();
    for path in entries {
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let mut rest = text.as_str();
        while let Some(pos) = rest.find("#[unsafe(no_mangle)]") {
            rest = &rest[pos + "#[unsafe(no_mangle)]".len()..];
            let sig_start = rest
                .find("extern \"C\" fn ")
                .ok_or_else(|| format!("{}: no_mangle without extern fn", path.display()))?;
            let sig = &rest[sig_start + "extern \"C\" fn ".len()..];
            let body = sig
                .find('{')
                .ok_or_else(|| format!("{}: no body", path.display()))?;
            let sig = &sig[..body];
            let (name, after) = sig
                .split_once('(')
                .ok_or_else(|| format!("{}: bad signature {sig}", path.display()))?;
            let close = after
                .rfind(')')
                .ok_or_else(|| format!("{}: bad signature {sig}", path.display()))?;
            let (params, ret) = after.split_at(close);
            let ret = ret.trim_start_matches(')').trim();
            let ret = ret.strip_prefix("->").unwrap_or("").trim();
            let params = split_params(params)
                .into_iter()
                .map(|p| {
                    let ty = p.split_once(':').map_or(p, |(_, t)| t);
                    rust_type_to_c(ty).map(|c| normalize_type(&c))
                })
                .collect::<Result<Vec<_>, _>>()?;
            out.insert(
                name.trim().to_owned(),
                Prototype {
                    ret: normalize_type(&rust_type_to_c(ret)?),
                    params,
                },
            );
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_parser_reads_illumos_style_prototypes() {
        let h = "/* c */\n#ifdef __cplusplus\nextern \"C\" {\n#endif\nextern int f(const a_t *);\nextern uint64_t g(void);\n\
                 extern void h(uint64_t, uint64_t,\n    int);\n#ifdef __cplusplus\nextern \"C\" {\n";
        let p = header_prototypes(h).unwrap();
        assert_eq!(p["f"].to_string(), "int (const a_t *)");
        assert_eq!(p["g"].to_string(), "uint64_t (void)");
        assert_eq!(p["h"].params, ["uint64_t", "uint64_t", "int"]);
        assert_eq!(p.len(), 3);
    }

    #[test]
    fn rust_types_map_to_their_c_spelling() {
        assert_eq!(
            rust_type_to_c("*const arctun_arc_ops_t").unwrap(),
            "const arctun_arc_ops_t *"
        );
        assert_eq!(rust_type_to_c("*mut u64").unwrap(), "uint64_t *");
        assert!(rust_type_to_c("Option<u8>").is_err());
    }
}
