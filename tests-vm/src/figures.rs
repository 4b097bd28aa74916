//! Figures as the reports write them for people: sizes in binary units
//! (KiB, MiB, GiB; mdb's `::memstat` "MB" are MiB too), counts with
//! thousands separators. The text report, the plot and the documents'
//! tables all write them this way.

use crate::params::{GIB, MIB};

/// A byte count for people, in binary units: `1.0 GiB`, `512 MiB`,
/// `4 KiB`.
#[must_use]
pub fn human(bytes: u64) -> String {
    if bytes >= GIB {
        format!("{:.1} GiB", bytes as f64 / GIB as f64)
    } else if bytes >= MIB {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{} KiB", bytes / 1024)
    }
}

/// `1234567` as `1,234,567`.
#[must_use]
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_binary_and_counts_grouped() {
        assert_eq!(human(GIB + GIB / 2), "1.5 GiB");
        assert_eq!(human(512 * MIB), "512 MiB");
        assert_eq!(human(4096), "4 KiB");
        assert_eq!(thousands(233_751), "233,751");
        assert_eq!(thousands(999), "999");
    }
}
