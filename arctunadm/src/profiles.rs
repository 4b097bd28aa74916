//! Named profiles for common hosts, as `zfscache(8)` (SmartOS OS-8638)
//! defines them: each computes a `zfs_arc_min` and a `zfs_arc_max` from
//! the host's `allmem`, and applying one is one kstat write of both,
//! validated by the kernel like any other.
//!
//! | profile | `zfs_arc_max` | if below the minimum |
//! |---|---|---|
//! | `illumos` | `allmem - 1 GiB` | refused |
//! | `illumos-low` | 75% of `allmem` | raised to the minimum |
//! | `balanced` | half of `allmem` | refused |
//! | `compute-hvm` | an eighth of `allmem` | raised to the minimum |
//! | `compute-hvm-64` | an eighth of `allmem`, at most 64 GiB | raised to the minimum |
//!
//! Every profile's maximum is at least 64 MiB, and every profile's
//! minimum is `allmem / 64` between 64 MiB and 1 GiB (current illumos's
//! default `c_min`). One departure: where that minimum is the 64 MiB
//! floor itself, which `arc_init()` ignores as a set value (its floor is
//! exclusive) and the kernel therefore refuses, the profile writes 0,
//! the module's default minimum, instead of failing on every small host.
//! `zfscache`'s two reset profiles are `arctunadm reset -a` and `reset
//! --etc-system`.

use zfs_tunables::arc_limits::ARC_LIMIT_FLOOR;
use zfs_tunables::{GIB, MIB};

/// How a profile computes its maximum from `allmem`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaxRule {
    /// `allmem - 1 GiB`.
    AllButOneGib,
    /// `allmem / 100 * percent`.
    Percent(u64),
    /// `allmem >> shift`.
    Shift(u32),
}

/// A profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Profile {
    /// Its name.
    pub name: &'static str,
    /// What it is for.
    pub description: &'static str,
    /// Its maximum.
    pub max: MaxRule,
    /// The largest maximum (`None`: no cap).
    pub max_cap: Option<u64>,
    /// Whether a maximum below the minimum is raised to it (else refused).
    pub raise_to_min: bool,
}

/// The profiles, in `zfscache`'s order.
pub const PROFILES: [Profile; 5] = [
    Profile {
        name: "illumos",
        description: "illumos's own defaults: all memory the ARC may use but 1 GiB",
        max: MaxRule::AllButOneGib,
        max_cap: None,
        raise_to_min: false,
    },
    Profile {
        name: "illumos-low",
        description: "three quarters of memory, for small hosts or a few small guests",
        max: MaxRule::Percent(75),
        max_cap: None,
        raise_to_min: true,
    },
    Profile {
        name: "balanced",
        description: "half of memory, for hosts that share it between pools and guests",
        max: MaxRule::Shift(1),
        max_cap: None,
        raise_to_min: false,
    },
    Profile {
        name: "compute-hvm",
        description: "an eighth of memory, for hosts that run mostly bhyve guests",
        max: MaxRule::Shift(3),
        max_cap: None,
        raise_to_min: true,
    },
    Profile {
        name: "compute-hvm-64",
        description: "an eighth of memory and at most 64 GiB, for large hosts of guests",
        max: MaxRule::Shift(3),
        max_cap: Some(64 * GIB),
        raise_to_min: true,
    },
];

/// The profile called `name`.
#[must_use]
pub fn find(name: &str) -> Option<&'static Profile> {
    PROFILES.iter().find(|p| p.name == name)
}

/// What a profile writes on one host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProfileValues {
    /// `zfs_arc_min` (0: the default; see the module documentation).
    pub arc_min: u64,
    /// `zfs_arc_max`.
    pub arc_max: u64,
}

impl Profile {
    /// The values for a host of `allmem` bytes, or why there are none.
    pub fn values(&self, allmem: u64) -> Result<ProfileValues, String> {
        let floor = ARC_LIMIT_FLOOR.0;
        let min = (allmem >> 6).clamp(floor, GIB);
        let max = match self.max {
            MaxRule::AllButOneGib => allmem.saturating_sub(GIB),
            MaxRule::Percent(p) => (allmem / 100).saturating_mul(p),
            MaxRule::Shift(s) => allmem >> s,
        };
        let max = self.max_cap.map_or(max, |cap| max.min(cap)).max(64 * MIB);
        let max = if max < min {
            if !self.raise_to_min {
                return Err(format!(
                    "profile {} computes a maximum of {max} bytes, below its minimum of {min}, \
                     on this host",
                    self.name
                ));
            }
            min
        } else {
            max
        };
        Ok(ProfileValues {
            arc_min: if min <= floor { 0 } else { min },
            arc_max: max,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_follow_zfscache() {
        // 128 GiB of physical memory, less swapfs_minfree's 256 MiB.
        let allmem = 128 * GIB - 256 * MIB;
        let v = |n: &str| find(n).unwrap().values(allmem).unwrap();
        assert_eq!(v("illumos").arc_max, allmem - GIB);
        assert_eq!(v("illumos-low").arc_max, allmem / 100 * 75);
        assert_eq!(v("balanced").arc_max, allmem / 2);
        assert_eq!(v("compute-hvm").arc_max, allmem / 8);
        assert_eq!(v("compute-hvm-64").arc_max, allmem / 8);
        assert_eq!(v("balanced").arc_min, GIB);
        // 1 TiB: the cap.
        let big = find("compute-hvm-64").unwrap().values(1024 * GIB).unwrap();
        assert_eq!(big.arc_max, 64 * GIB);
        // 2 GiB: the minimum is the floor, written as the default.
        let small = find("compute-hvm").unwrap().values(2 * GIB).unwrap();
        assert_eq!(
            small,
            ProfileValues {
                arc_min: 0,
                arc_max: 256 * MIB
            }
        );
        // 1 GiB: all but 1 GiB is nothing; the 64 MiB floor is kept.
        let tiny = find("illumos").unwrap().values(GIB).unwrap();
        assert_eq!(
            tiny,
            ProfileValues {
                arc_min: 0,
                arc_max: 64 * MIB
            }
        );
    }
}
