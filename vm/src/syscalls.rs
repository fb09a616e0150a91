//! Syscall numbers: the host services a guest reaches with `SYSCALL n`. The numbers are
//! part of the ISA (kernels hard-code them), so they live here; the services themselves
//! are implemented by the host (`pxos::host`). Numbers 200–255 stay unassigned forever.

/// `PRINT`: R1 = message id; appends `PRINT PXVM: <text>`.
pub const SYS_PRINT: u8 = 1;
/// `RECT`: R1 x, R2 y, R3 w, R4 h, R5 color id; appends `RECT x y w h r g b a`.
pub const SYS_RECT: u8 = 2;
/// `TEXT`: R1 x, R2 y, R3 color id, R4 message id; appends `TEXT x y r g b a <text>`.
pub const SYS_TEXT: u8 = 3;
/// `LAYER_USE`: R1 layer id; appends `SELECT <name>`.
pub const SYS_LAYER_USE: u8 = 4;
/// `PRINT_INT` (pxOS): appends R1 as a signed decimal line.
pub const SYS_PRINT_INT: u8 = 10;
/// `FS_OPEN`: R1 file id, R2 mode (0 read, 1 write, 2 create/truncate); R0 = handle or 0.
pub const SYS_FS_OPEN: u8 = 20;
/// `FS_CLOSE`: R1 handle; R0 = 1 or 0.
pub const SYS_FS_CLOSE: u8 = 21;
/// `FS_WRITE`: R1 handle, R2 buffer, R3 length; R0 = bytes written or 0.
pub const SYS_FS_WRITE: u8 = 22;
/// `FS_READ`: R1 handle, R2 buffer, R3 max length; R0 = bytes read or 0.
pub const SYS_FS_READ: u8 = 23;
/// `VERSION_GET` (reserved for the version store): R0 = current version id.
pub const SYS_VERSION_GET: u8 = 30;
/// `VERSION_LIST` (reserved for the version store).
pub const SYS_VERSION_LIST: u8 = 31;
/// `VERSION_SWITCH` (reserved for the version store).
pub const SYS_VERSION_SWITCH: u8 = 32;
/// `SELF_MODIFY`: R1 file id of the new kernel; R0 = 1 if a replacement is now pending.
pub const SYS_SELF_MODIFY: u8 = 99;

/// Every named syscall, for the assembler's predefined constants and the docs.
pub const NAMED: &[(&str, u8)] = &[
    ("SYS_PRINT", SYS_PRINT),
    ("SYS_RECT", SYS_RECT),
    ("SYS_TEXT", SYS_TEXT),
    ("SYS_LAYER_USE", SYS_LAYER_USE),
    ("SYS_PRINT_INT", SYS_PRINT_INT),
    ("SYS_FS_OPEN", SYS_FS_OPEN),
    ("SYS_FS_CLOSE", SYS_FS_CLOSE),
    ("SYS_FS_WRITE", SYS_FS_WRITE),
    ("SYS_FS_READ", SYS_FS_READ),
    ("SYS_VERSION_GET", SYS_VERSION_GET),
    ("SYS_VERSION_LIST", SYS_VERSION_LIST),
    ("SYS_VERSION_SWITCH", SYS_VERSION_SWITCH),
    ("SYS_SELF_MODIFY", SYS_SELF_MODIFY),
];
