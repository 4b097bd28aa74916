//! The kstat write path reads the caller's buffer, whatever its bytes:
//! random damage to a real `zfs:0:tunables` buffer never panics, a
//! refusal changes nothing, and an acceptance leaves the buffer's values
//! in force and in the raw variables.

mod common;

use common::{booted, T0};
use kstat_export::{
    Credential, KstatDataType, KstatId, KstatNamed, KstatSet, RawVariables, Sources,
};
use proptest::prelude::*;

proptest! {
    /// The kstat write path parses the caller's buffer: random damage to
    /// a real buffer never panics, and a refusal changes nothing.
    #[test]
    fn kstat_write_of_damaged_buffers(
        edits in prop::collection::vec((0usize..8, 0u8..4, any::<[u8; 16]>()), 0..4),
        truncate in prop::option::of(0usize..8),
    ) {
        let t = booted(16);
        let mut raw = RawVariables::with_owned_cells(&t).unwrap();
        let mut ks = KstatSet::new(T0).unwrap();
        let mut src = Sources { tunables: &t, arc_resv: None, raw: None };
        let mut buf: Vec<KstatNamed> = ks.read(KstatId::Tunables, &mut src, T0).unwrap().data().to_vec();
        for (i, what, bytes) in edits {
            let Some(e) = buf.get_mut(i) else { continue };
            match what {
                0 => e.name.0[..16].copy_from_slice(&bytes),
                1 => e.data_type = KstatDataType(bytes[0]),
                _ => e.value.bytes = bytes,
            }
        }
        if let Some(n) = truncate {
            buf.truncate(n);
        }
        let mut before = Vec::new();
        t.for_each_tunable(|e| before.push((e.desc.name, e.value)));
        let limits = t.limits();
        let mut src = Sources { tunables: &t, arc_resv: None, raw: Some(&mut raw) };
        let result = ks.write(KstatId::Tunables, &mut src, &buf, Credential::SysConfig, T0);
        let mut after = Vec::new();
        t.for_each_tunable(|e| after.push((e.desc.name, e.value)));
        match result {
            Err(_) => {
                prop_assert_eq!(&after, &before);
                prop_assert_eq!(t.limits(), limits);
                for (name, value) in &before {
                    prop_assert_eq!(raw.raw_value(name), Some(*value));
                }
            }
            Ok(()) => {
                prop_assert_eq!(buf.len(), after.len());
                for (entry, (name, value)) in buf.iter().zip(&after) {
                    prop_assert!(entry.name.is(name));
                    prop_assert_eq!(entry.as_u64(), Some(*value));
                    prop_assert_eq!(raw.raw_value(name), Some(*value));
                }
            }
        }
    }
}
