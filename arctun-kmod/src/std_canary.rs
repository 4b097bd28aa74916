//! A deliberate violation, for the artifact check's self-test: with the
//! `std-canary` feature the module links the Rust standard library and
//! calls into it, and the check must then refuse the artifact.

/// Reads the wall clock through `std` (`clock_gettime` and friends).
#[unsafe(no_mangle)]
pub extern "C" fn arctun_std_canary() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
