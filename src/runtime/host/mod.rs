//! The pxOS host: the services a kernel reaches through `SYSCALL` — drawing lines (PRINT,
//! RECT, TEXT, LAYER_USE), numbers (PRINT_INT), files (FS_*), and the self-modification
//! request (SELF_MODIFY) — with the exact output lines and return values of the original
//! pxVM. The host collects the output lines (`sysout`) and the pending replacement kernel;
//! performing a replacement belongs to the version store.

pub mod beneath;
mod direct;
pub mod files;
pub mod tables;

use files::{FileStore, MemFiles, path_for_id};
use pxvm::syscalls::*;
use pxvm::vet::VetError;
use pxvm::{Host, KernelTooLarge, MEM_SIZE, SyscallCtx, VmEvent};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Most output lines one run keeps; past it one warning line is appended and the rest are
/// dropped (counted in [`PxHost::dropped_lines`]), so a hostile kernel cannot exhaust
/// memory through its output.
pub const DEFAULT_MAX_OUTPUT_LINES: usize = 1_000_000;

/// The version store as the version syscalls see it (VERSION_GET, VERSION_LIST,
/// VERSION_SWITCH). A host without one treats those syscalls as unknown.
pub trait VersionService: std::fmt::Debug + Send {
    /// The id of the current version, if there is one.
    fn current_id(&self) -> Option<i32>;
    /// The ids of all versions, oldest first.
    fn ids(&self) -> Vec<i32>;
    /// Make version `id` current for the next boot; false if there is no such version (or
    /// it may not be booted).
    fn switch_to(&mut self, id: i32) -> bool;
}

/// A replacement kernel requested with SELF_MODIFY, waiting for the host to install it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingKernel {
    /// The virtual path it was read from (e.g. `build/kernel_v2.bin`).
    pub path: String,
    /// The new kernel's bytecode (1..=65,536 bytes).
    pub bytes: Vec<u8>,
}

#[derive(Clone, Debug)]
struct Handle {
    path: String,
    pos: usize,
}

/// The host that runs pxOS kernels.
#[derive(Debug)]
pub struct PxHost {
    /// The output lines, in order.
    pub sysout: Vec<String>,
    /// The most recent successful SELF_MODIFY request.
    pub pending: Option<PendingKernel>,
    files: Box<dyn FileStore + Send>,
    versions: Option<Box<dyn VersionService>>,
    /// Open files by handle. A B-tree, not a hash map: kernels hold a few handles, and
    /// the lookup every FS syscall makes is then a few compares instead of a SipHash
    /// (measured: most of a host round trip of `syscall_loop`, which closes a bad handle).
    handles: BTreeMap<i32, Handle>,
    next_handle: i32,
    max_output_lines: usize,
    dropped_lines: u64,
    /// Whether `files` is still the empty in-memory store [`PxHost::default`] made: no
    /// syscall has tried to create a file in it (see [`PxHost::recycle`]).
    pristine_files: bool,
    /// Lines of earlier runs, emptied, whose buffers new lines reuse (see
    /// [`PxHost::recycle`]); at most [`SPARE_LINES`].
    spare: Vec<String>,
}

/// Most line buffers a recycled host keeps for reuse.
const SPARE_LINES: usize = 1_024;

impl Default for PxHost {
    fn default() -> Self {
        PxHost {
            pristine_files: true,
            ..PxHost::new(Box::new(MemFiles::new()))
        }
    }
}

impl PxHost {
    /// A host over the given file store.
    pub fn new(files: Box<dyn FileStore + Send>) -> PxHost {
        PxHost {
            sysout: Vec::new(),
            pending: None,
            files,
            versions: None,
            handles: BTreeMap::new(),
            next_handle: 1,
            max_output_lines: DEFAULT_MAX_OUTPUT_LINES,
            dropped_lines: 0,
            pristine_files: false,
            spare: Vec::new(),
        }
    }

    /// Make this host what `PxHost::default().with_max_output_lines(lines)` is — no output,
    /// no pending kernel, no handles, an empty in-memory file store, no version service —
    /// keeping its allocations, for the many short runs of an evolution experiment.
    pub fn recycle(&mut self, lines: usize) {
        let room = SPARE_LINES.saturating_sub(self.spare.len());
        self.spare.extend(self.sysout.drain(..).take(room));
        self.sysout.clear();
        self.pending = None;
        if !self.pristine_files {
            self.files = Box::new(MemFiles::new());
            self.pristine_files = true;
        }
        self.versions = None;
        self.handles.clear();
        self.next_handle = 1;
        self.max_output_lines = lines;
        self.dropped_lines = 0;
    }

    /// Limit the output to `lines` lines (see [`DEFAULT_MAX_OUTPUT_LINES`]).
    pub fn with_max_output_lines(mut self, lines: usize) -> PxHost {
        self.max_output_lines = lines;
        self
    }

    /// Answer the version syscalls from `versions`.
    pub fn with_versions(mut self, versions: Box<dyn VersionService>) -> PxHost {
        self.versions = Some(versions);
        self
    }

    /// The version service, if any (to take it back after a run).
    pub fn versions_mut(&mut self) -> Option<&mut (dyn VersionService + 'static)> {
        self.versions.as_deref_mut()
    }

    /// Lines dropped because the output limit was reached.
    pub fn dropped_lines(&self) -> u64 {
        self.dropped_lines
    }

    /// The file store.
    pub fn files(&self) -> &dyn FileStore {
        self.files.as_ref()
    }

    /// Append one output line, respecting the output limit.
    pub fn emit(&mut self, line: String) {
        if self.sysout.len() < self.max_output_lines {
            self.sysout.push(line);
        } else {
            self.emit_with(|_| Ok(()));
        }
    }

    /// [`PxHost::emit`] of the line `write` writes, which is written only if it is kept
    /// (past the limit, lines are counted, not formatted), into a reused buffer if the
    /// host has one.
    fn emit_with(&mut self, write: impl FnOnce(&mut String) -> std::fmt::Result) {
        if self.sysout.len() < self.max_output_lines {
            let mut line = self.spare.pop().unwrap_or_default();
            line.clear();
            // Writing into a String cannot fail.
            let _ = write(&mut line);
            self.sysout.push(line);
        } else {
            if self.dropped_lines == 0 {
                self.sysout.push(format!(
                    "# WARNING: output limit of {} lines reached; further lines dropped",
                    self.max_output_lines
                ));
            }
            self.dropped_lines += 1;
        }
    }

    fn print_int(&mut self, value: i32) {
        self.emit_with(|line| {
            line.push_str(itoa::Buffer::new().format(value));
            Ok(())
        });
    }

    fn print(&mut self, r: &[i32; 8]) {
        let id = r[1];
        self.emit_with(|line| match tables::message(id) {
            Some(text) => write!(line, "PRINT PXVM: {text}"),
            None => write!(line, "PRINT [vm warn] unknown message_id {id}"),
        });
    }

    fn rect(&mut self, r: &[i32; 8]) {
        let [x, y, w, h, color_id] = [r[1], r[2], r[3], r[4], r[5]];
        let [cr, cg, cb, ca] = match tables::color(color_id) {
            Some(c) => c,
            None => {
                self.emit(format!("# WARNING: unknown color_id {color_id}"));
                tables::UNKNOWN_RECT_COLOR
            }
        };
        self.emit(format!("RECT {x} {y} {w} {h} {cr} {cg} {cb} {ca}"));
    }

    fn text(&mut self, r: &[i32; 8]) {
        let [x, y, color_id, msg_id] = [r[1], r[2], r[3], r[4]];
        let [cr, cg, cb, ca] = tables::color(color_id).unwrap_or(tables::UNKNOWN_TEXT_COLOR);
        let msg = match tables::message(msg_id) {
            Some(text) => text.to_string(),
            None => format!("[unknown msg {msg_id}]"),
        };
        self.emit(format!("TEXT {x} {y} {cr} {cg} {cb} {ca} {msg}"));
    }

    fn layer_use(&mut self, r: &[i32; 8]) {
        if let Some(name) = tables::layer(r[1]) {
            self.emit_with(|line| write!(line, "SELECT {name}"));
        }
    }

    /// FS_OPEN: modes 0 and 1 need an existing file, 2 creates or truncates, any other
    /// mode succeeds unchecked. Handles count up from 1 and are never reused.
    fn fs_open(&mut self, id: i32, mode: i32) -> i32 {
        let path = path_for_id(id);
        let ok = match mode {
            0 | 1 => self.files.exists(&path),
            2 => {
                self.pristine_files = false;
                self.files.create(&path)
            }
            _ => true,
        };
        if !ok {
            return 0;
        }
        let handle = self.next_handle;
        // Handles are never reused; after 2^31 - 1 opens no more can be made.
        let Some(next) = handle.checked_add(1) else {
            return 0;
        };
        self.next_handle = next;
        self.handles.insert(handle, Handle { path, pos: 0 });
        handle
    }

    fn fs_close(&mut self, handle: i32) -> i32 {
        // With no handle open (the common case of closing a handle twice, or one never
        // opened) this answers without the out-of-line B-tree search.
        if self.handles.is_empty() {
            return 0;
        }
        self.fs_close_open(handle)
    }

    /// FS_CLOSE with some handle open: out of line and cold, so that the common case
    /// above needs no stack frame and falls straight through to its return.
    #[cold]
    #[inline(never)]
    fn fs_close_open(&mut self, handle: i32) -> i32 {
        i32::from(self.handles.remove(&handle).is_some())
    }

    fn fs_read(&mut self, ctx: &mut SyscallCtx<'_>, handle: i32, addr: i32, max: i32) -> i32 {
        let Some(h) = self.handles.get_mut(&handle) else {
            return 0;
        };
        if max < 0 {
            return 0;
        }
        let Some(data) = self.files.read(&h.path, h.pos, max as usize) else {
            return 0;
        };
        if !ctx.write_mem(addr, &data) {
            return 0;
        }
        h.pos += data.len();
        data.len() as i32
    }

    fn fs_write(&mut self, ctx: &SyscallCtx<'_>, handle: i32, addr: i32, len: i32) -> i32 {
        let Some(h) = self.handles.get_mut(&handle) else {
            return 0;
        };
        let Some(data) = ctx.mem_range(addr, len) else {
            return 0;
        };
        if !self.files.write(&h.path, h.pos, data) {
            return 0;
        }
        h.pos += data.len();
        len
    }

    /// VERSION_LIST: write up to `max` version ids as i32s at `addr`; R0 = how many.
    /// A buffer outside memory writes nothing and returns 0.
    fn version_list(&mut self, ctx: &mut SyscallCtx<'_>, addr: i32, max: i32) -> i32 {
        let Some(versions) = &self.versions else {
            return 0;
        };
        let ids = versions.ids();
        let n = ids.len().min(max.max(0) as usize);
        let bytes: Vec<u8> = ids[..n].iter().flat_map(|id| id.to_le_bytes()).collect();
        if ctx.write_mem(addr, &bytes) {
            n as i32
        } else {
            0
        }
    }

    /// SELF_MODIFY: read the new kernel and vet it (`pxvm::vet`: never truncated, not
    /// assembly text, defined code reachable from 0). The original pxVM cut a larger file
    /// to 65,536 bytes and took anything non-empty; here such a request is refused with a
    /// `# SELF_MODIFY ERROR` line and R0 = 0, as the seed's "Empty/corrupt kernel → reject,
    /// keep current" asks.
    fn self_modify(&mut self, id: i32) -> i32 {
        let path = path_for_id(id);
        let vetted = match self.files.size(&path) {
            None | Some(0) => None,
            // Refused by its size, unread (a read would stop at 65,537 bytes).
            Some(size) if size > MEM_SIZE as u64 => {
                Some(Err(VetError::TooLarge(KernelTooLarge { size })))
            }
            Some(_) => self
                .files
                .read(&path, 0, MEM_SIZE + 1)
                .filter(|bytes| !bytes.is_empty())
                .map(|bytes| pxvm::vet::vet(&bytes).map(|()| bytes)),
        };
        match vetted {
            Some(Ok(bytes)) => {
                self.emit(format!(
                    "# SELF_MODIFY: New kernel loaded ({} bytes)",
                    bytes.len()
                ));
                self.emit(format!(
                    "# SELF_MODIFY: Requesting kernel replacement from {path}"
                ));
                self.pending = Some(PendingKernel { path, bytes });
                1
            }
            Some(Err(why)) => {
                self.emit(format!("# SELF_MODIFY ERROR: Rejected {path}: {why}"));
                0
            }
            None => {
                self.emit(format!("# SELF_MODIFY ERROR: Cannot load {path}"));
                0
            }
        }
    }
}

impl Host for PxHost {
    fn direct_syscalls(&self) -> &'static pxvm::DirectTable {
        &direct::TABLE
    }

    fn syscall(&mut self, num: u8, ctx: &mut SyscallCtx<'_>) {
        let r = *ctx.regs;
        let r0 = match num {
            SYS_PRINT => return self.print(&r),
            SYS_RECT => return self.rect(&r),
            SYS_TEXT => return self.text(&r),
            SYS_LAYER_USE => return self.layer_use(&r),
            SYS_PRINT_INT => return self.print_int(r[1]),
            SYS_FS_OPEN => self.fs_open(r[1], r[2]),
            SYS_FS_CLOSE => self.fs_close(r[1]),
            SYS_FS_READ => self.fs_read(ctx, r[1], r[2], r[3]),
            SYS_FS_WRITE => self.fs_write(ctx, r[1], r[2], r[3]),
            SYS_SELF_MODIFY => self.self_modify(r[1]),
            SYS_VERSION_GET if self.versions.is_some() => self
                .versions
                .as_ref()
                .and_then(|v| v.current_id())
                .unwrap_or(0),
            SYS_VERSION_LIST if self.versions.is_some() => self.version_list(ctx, r[1], r[2]),
            SYS_VERSION_SWITCH if self.versions.is_some() => {
                i32::from(self.versions.as_mut().is_some_and(|v| v.switch_to(r[1])))
            }
            _ => {
                self.emit_with(|line| write!(line, "# WARNING: unknown syscall {num}"));
                0
            }
        };
        ctx.regs[0] = r0;
    }

    fn event(&mut self, event: VmEvent) {
        self.emit_with(|line| write!(line, "{event}"));
    }
}
