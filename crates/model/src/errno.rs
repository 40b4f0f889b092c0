//! Linux errno values used by the model (returned negated, as in the kernel).
pub const EINTR: i32 = 4;
pub const EIO: i32 = 5;
pub const EAGAIN: i32 = 11;
pub const ENOMEM: i32 = 12;
pub const EACCES: i32 = 13;
pub const EBUSY: i32 = 16;
pub const ENODEV: i32 = 19;
pub const EISDIR: i32 = 21;
pub const EINVAL: i32 = 22;
pub const ENODATA: i32 = 61;
pub const EOPNOTSUPP: i32 = 95;
pub const ESHUTDOWN: i32 = 108;
pub const EHOSTUNREACH: i32 = 113;
pub const EINPROGRESS: i32 = 115;
