//! `mdb -ke ::memstat`, as `memstat()` in mdb's genunix module prints it,
//! or as it reads once pasted into a log that collapsed its columns.
//!
//! The table is a header (`Page Summary  Pages  MB  %Tot`), an optional
//! rule of dashes, one row per category (`LABEL PAGES MB PCT%`), then
//! `Total PAGES MB` and, when `physmem` differs from `total_pages`,
//! `Physical PAGES MB`. mdb prints `Kernel`, `Anon`, `Exec and libs` and
//! `Page cache` always, `Boot pages`, `ZFS File Data` and `VMM Memory`
//! only when not zero, `Balloon` only under Xen; the two free rows may be
//! missing from a table someone trimmed. Every figure is checked against
//! the others as mdb computes them (MB = pages × 4096 / 2²⁰, truncated;
//! `%Tot` = `(5 × total_pages + pages × 1000) / (physmem × 10)`; the rows
//! add up to `Total`), so a table that was edited, truncated or taken on
//! a host with other pages is refused with the line at fault.

use super::located::{Located, Problem};
use crate::params::PAGESIZE;

/// A row's category, by mdb's label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Category {
    Kernel,
    Boot,
    ZfsFileData,
    VmmMemory,
    Anon,
    Exec,
    PageCache,
    Cachelist,
    Freelist,
    Balloon,
}

impl Category {
    /// Every category, with its label, in mdb's order.
    pub(super) const ALL: [(Category, &'static str); 10] = [
        (Category::Kernel, "Kernel"),
        (Category::Boot, "Boot pages"),
        (Category::ZfsFileData, "ZFS File Data"),
        (Category::VmmMemory, "VMM Memory"),
        (Category::Anon, "Anon"),
        (Category::Exec, "Exec and libs"),
        (Category::PageCache, "Page cache"),
        (Category::Cachelist, "Free (cachelist)"),
        (Category::Freelist, "Free (freelist)"),
        (Category::Balloon, "Balloon"),
    ];

    /// mdb prints these rows whatever their value.
    const ALWAYS: [Category; 4] = [
        Category::Kernel,
        Category::Anon,
        Category::Exec,
        Category::PageCache,
    ];

    pub(super) fn label(self) -> &'static str {
        Category::ALL
            .iter()
            .find(|(c, _)| *c == self)
            .map_or("?", |(_, l)| l)
    }

    fn from_label(label: &str) -> Option<Category> {
        Category::ALL
            .iter()
            .find(|(_, l)| *l == label)
            .map(|(c, _)| *c)
    }
}

/// One row as read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Row {
    pub category: Category,
    pub pages: u64,
    /// `%Tot` as printed.
    pub pct: u64,
    pub line: usize,
}

/// A whole table, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Memstat {
    /// The header's line.
    pub line: usize,
    /// The rows, in the table's order.
    pub rows: Vec<Row>,
    /// `Total`: `physmem`, pages.
    pub total: u64,
    /// `Total`'s line.
    pub total_line: usize,
    /// `Physical`: `total_pages`, when printed.
    pub physical: Option<u64>,
}

impl Memstat {
    /// A category's pages (0 when mdb printed no row).
    pub(super) fn pages(&self, c: Category) -> u64 {
        self.rows
            .iter()
            .filter(|r| r.category == c)
            .map(|r| r.pages)
            .sum()
    }

    /// Whether the table has a row for `c`.
    pub(super) fn has(&self, c: Category) -> bool {
        self.rows.iter().any(|r| r.category == c)
    }

    /// The row for `c`.
    pub(super) fn row(&self, c: Category) -> Option<&Row> {
        self.rows.iter().find(|r| r.category == c)
    }
}

/// Whether `line` is a `::memstat` header.
pub(super) fn is_header(line: &str) -> bool {
    line.split_whitespace()
        .eq(["Page", "Summary", "Pages", "MB", "%Tot"])
}

/// Whether `line` is the rule under the header.
fn is_rule(line: &str) -> bool {
    let mut words = line.split_whitespace().peekable();
    words.peek().is_some() && words.all(|w| w.bytes().all(|b| b == b'-'))
}

/// Reads the table whose header is `lines[0]`; `first` is that line's
/// number. Returns the table and how many lines it took.
pub(super) fn read_table(lines: &[&str], first: usize) -> Result<(Memstat, usize), Located> {
    let at = |i: usize| first.saturating_add(i);
    let mut rows: Vec<Row> = Vec::new();
    let mut total: Option<(u64, usize)> = None;
    let mut physical: Option<u64> = None;
    let mut i = 1usize;
    while let Some(raw) = lines.get(i) {
        let line = raw.trim();
        let n = at(i);
        i = i.saturating_add(1);
        if line.is_empty() {
            if total.is_some() {
                break;
            }
            continue;
        }
        if is_rule(line) && rows.is_empty() && total.is_none() {
            continue;
        }
        let (label, figures) = split_row(line);
        if total.is_some() {
            if label == "Physical" {
                let f = figures_of(&label, &figures, 2, n)?;
                check_mb(&label, f[0], f[1], n)?;
                physical = Some(f[0]);
                continue;
            }
            // The table ended at Total; this line is someone else's.
            i = i.saturating_sub(1);
            break;
        }
        if label == "Total" {
            let f = figures_of(&label, &figures, 2, n)?;
            check_mb(&label, f[0], f[1], n)?;
            total = Some((f[0], n));
            continue;
        }
        let category = Category::from_label(&label).ok_or_else(|| {
            Located::at(
                n,
                Problem::new(format!(
                    "{} is not a ::memstat row (mdb prints {})",
                    quote(line),
                    Category::ALL.map(|(_, l)| l).join(", ")
                )),
            )
        })?;
        if let Some(prev) = rows.iter().find(|r| r.category == category) {
            return Err(Located::at(
                n,
                Problem::new(format!(
                    "a second {label} row (the first is line {}): one table at a time",
                    prev.line
                )),
            ));
        }
        let f = figures_of(&label, &figures, 3, n)?;
        check_mb(&label, f[0], f[1], n)?;
        // %Tot is checked once Total is known.
        rows.push(Row {
            category,
            pages: f[0],
            pct: f[2],
            line: n,
        });
    }
    let Some((total, total_line)) = total else {
        let last = at(lines.len().saturating_sub(1).max(1));
        return Err(Located::at(
            last,
            Problem::new(format!(
                "the ::memstat table that starts at line {first} ends before its Total row \
                 (is it truncated?)"
            )),
        ));
    };
    let table = Memstat {
        line: first,
        rows,
        total,
        total_line,
        physical,
    };
    check_table(&table)?;
    Ok((table, i))
}

/// The checks that need the whole table.
fn check_table(t: &Memstat) -> Result<(), Located> {
    let first = t.line;
    for c in Category::ALWAYS {
        if !t.has(c) {
            return Err(Located::at(
                t.total_line,
                Problem::new(format!(
                    "the ::memstat table that starts at line {first} has no {} row, which mdb \
                     always prints (is a line missing?)",
                    c.label()
                )),
            ));
        }
    }
    if t.total == 0 {
        return Err(Located::at(
            t.total_line,
            Problem::new("Total is 0 pages: a host has memory".to_string()),
        ));
    }
    let total_pages = t.physical.unwrap_or(t.total);
    for r in &t.rows {
        let pct = r.pct;
        let want = u128::from(total_pages)
            .saturating_mul(5)
            .saturating_add(u128::from(r.pages).saturating_mul(1000))
            / u128::from(t.total).saturating_mul(10).max(1);
        if u128::from(pct) != want {
            return Err(Located::at(
                r.line,
                Problem::new(format!(
                    "{} is {pct}% but its {} pages are {want}% of Total's {}: the figures \
                     contradict each other",
                    r.category.label(),
                    r.pages,
                    t.total
                )),
            ));
        }
    }
    let sum = t
        .rows
        .iter()
        .fold(0u128, |s, r| s.saturating_add(u128::from(r.pages)));
    // Without Free (freelist), the row mdb computes as what is left, the
    // rows only need to fit in Total.
    let adds_up = if t.has(Category::Freelist) {
        sum == u128::from(t.total)
    } else {
        sum <= u128::from(t.total)
    };
    if !adds_up {
        let why = if t.pages(Category::Freelist) == 0 && sum > u128::from(t.total) {
            " (mdb clamps Free (freelist) at 0 when it counts pages twice; take the table again)"
        } else {
            ""
        };
        return Err(Located::at(
            t.total_line,
            Problem::new(format!(
                "the rows add up to {sum} pages, not Total's {}{why}",
                t.total
            )),
        ));
    }
    Ok(())
}

/// `"Free (cachelist) 31806 124 3%"` → (`"Free (cachelist)"`, the figures).
fn split_row(line: &str) -> (String, Vec<&str>) {
    let words: Vec<&str> = line.split_whitespace().collect();
    let first_figure = words
        .iter()
        .position(|w| w.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+'))
        .unwrap_or(words.len());
    let label = words.get(..first_figure).unwrap_or(&[]).join(" ");
    let figures = words.get(first_figure..).unwrap_or(&[]).to_vec();
    (label, figures)
}

/// The row's `want` figures as numbers (the last one a percentage when
/// there are three).
fn figures_of(
    label: &str,
    figures: &[&str],
    want: usize,
    line: usize,
) -> Result<Vec<u64>, Located> {
    if figures.len() != want {
        let what = if want == 3 {
            "pages, MB and %Tot"
        } else {
            "pages and MB"
        };
        return Err(Located::at(
            line,
            Problem::new(format!(
                "the {label} row has {} figure(s) where mdb prints {want}: {what}",
                figures.len()
            )),
        ));
    }
    let mut out = Vec::with_capacity(want);
    for (k, f) in figures.iter().enumerate() {
        let is_pct = want == 3 && k == 2;
        let digits = if is_pct {
            f.strip_suffix('%').ok_or_else(|| {
                Located::at(
                    line,
                    Problem::new(format!("the {label} row's %Tot {} has no %", quote(f))),
                )
            })?
        } else {
            f
        };
        out.push(count(label, digits, line)?);
    }
    Ok(out)
}

/// A page or MB count: decimal digits only.
fn count(label: &str, text: &str, line: usize) -> Result<u64, Located> {
    if text.starts_with('-') {
        return Err(Located::at(
            line,
            Problem::new(format!(
                "the {label} row's {} is negative: a count of pages is not",
                quote(text)
            )),
        ));
    }
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Located::at(
            line,
            Problem::new(format!("the {label} row's {} is not a number", quote(text))),
        ));
    }
    text.parse::<u64>().map_err(|_| {
        Located::at(
            line,
            Problem::new(format!(
                "the {label} row's {} does not fit in 64 bits",
                quote(text)
            )),
        )
    })
}

/// MB is `pages × PAGESIZE / 2²⁰`, truncated, as mdb prints it; pages ×
/// 4096 must fit in 64 bits.
fn check_mb(label: &str, pages: u64, mb: u64, line: usize) -> Result<(), Located> {
    let Some(bytes) = pages.checked_mul(PAGESIZE) else {
        return Err(Located::at(
            line,
            Problem::new(format!(
                "the {label} row's {pages} pages overflow a 64-bit byte count"
            )),
        ));
    };
    let want = bytes / (1 << 20);
    if mb == want {
        return Ok(());
    }
    let sparc = u128::from(pages) * 8192 / (1 << 20);
    let why = if u128::from(mb) == sparc && pages != 0 {
        ": the host's pages are 8 KiB (SPARC), and the model is of amd64, whose pages are 4 KiB"
            .to_string()
    } else {
        ": the figures contradict each other".to_string()
    };
    Err(Located::at(
        line,
        Problem::new(format!(
            "{label} is {mb} MB but {pages} pages of 4 KiB are {want} MB{why}"
        )),
    ))
}

/// `text` quoted for a message, cut to 60 characters.
pub(super) fn quote(text: &str) -> String {
    let cut: String = text.chars().take(60).collect();
    if cut.len() < text.len() {
        format!("{:?}...", cut)
    } else {
        format!("{cut:?}")
    }
}
