//! The fixed sizes of vmm's interface that the instance table, the sizing
//! of segments and the errors' messages all quote: a leaf, importing
//! nothing of the crate, so those files need not import each other.

/// `VM_MAX_NAMELEN` on illumos (`SPECNAMELEN - VM_MAX_PREFIXLEN -
/// VM_MAX_SUFFIXLEN - 1`, `sys/vmm.h`), counting the terminating NUL.
pub const VM_MAX_NAMELEN: usize = 229;

/// The longest instance name, in bytes.
pub const MAX_NAME_LEN: usize = VM_MAX_NAMELEN - 1;

/// Memory segments per instance: `VM_MAX_MEMSEGS` on illumos (`vmm.c`),
/// the guest's low and high memory, the boot ROM and the framebuffer.
pub const MAX_SEGMENTS: usize = 4;
