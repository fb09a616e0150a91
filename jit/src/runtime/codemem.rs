//! [`PooledCode`]: where a `Backend`'s module puts its machine
//! code. Code goes into 64 KiB chunks of anonymous memory, one function after another,
//! each finalize making the pages written since the last one readable and executable (one
//! `mprotect`) and starting a fresh page. Freeing the module makes its chunks writable
//! again (one `mprotect` per chunk) and hands them to a small process-wide pool, where the
//! next backend — a fresh engine's, or the one after a flush — takes them. cranelift-jit's
//! own provider maps every function separately and unmaps each on free: a map, a page
//! fault, a protect and an unmap (with its TLB shootdown) per compile, measured at about a
//! tenth of a fresh engine's first run of a one-block program.
//!
//! Code is never writable and executable at once: pages are made executable only at
//! finalize, after every byte on them was written, and writable again only when the
//! module is freed, after which none of its code runs (see `Backend`'s `Drop`).

use cranelift_jit::{BranchProtection, JITMemoryKind, JITMemoryProvider};
use cranelift_module::{ModuleError, ModuleResult};
use std::io;
use std::sync::Mutex;

/// Host page size assumed (x86-64 and most aarch64 Linux hosts use 4 KiB; a host with
/// larger pages is served by cranelift-jit's own provider: see [`PooledCode::new`]).
const PAGE: usize = 4096;
/// Size of the chunks the pool keeps.
const CHUNK: usize = 64 << 10;
/// Most chunks kept in the pool (1 MiB).
const SPARE_CHUNKS: usize = 16;

/// A page-aligned anonymous mapping, owned (unmapped on drop).
#[derive(Debug)]
struct Chunk {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: a chunk is plain memory owned by whoever holds the `Chunk`; nothing in it is
// tied to a thread.
unsafe impl Send for Chunk {}

impl Chunk {
    /// A fresh read-write mapping of `len` bytes (a multiple of `PAGE`).
    fn map(len: usize) -> io::Result<Chunk> {
        // SAFETY: an anonymous private mapping at an address of the kernel's choosing
        // touches no existing memory.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Chunk {
            ptr: ptr.cast(),
            len,
        })
    }

    /// Set the protection of `[at, at + len)` of this chunk (`at`, `len` page multiples).
    fn protect(&self, at: usize, len: usize, prot: libc::c_int) -> io::Result<()> {
        debug_assert!(at.is_multiple_of(PAGE) && len.is_multiple_of(PAGE) && at + len <= self.len);
        if len == 0 {
            return Ok(());
        }
        // SAFETY: the range lies inside this chunk's mapping (asserted above by the
        // callers' arithmetic), which we own; changing its protection affects no other
        // memory.
        let rc = unsafe { libc::mprotect(self.ptr.add(at).cast(), len, prot) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

impl Drop for Chunk {
    fn drop(&mut self) {
        // SAFETY: the mapping is ours and nothing refers to it any more (a chunk is
        // dropped only when its module's memory is freed, or from the pool).
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}

/// Read-write chunks kept for later modules.
static SPARE: Mutex<Vec<Chunk>> = Mutex::new(Vec::new());

/// A chunk in use: bytes `..used` hold code, bytes `..open` are executable already.
#[derive(Debug)]
struct InUse {
    chunk: Chunk,
    used: usize,
    open: usize,
}

/// A memory provider that carves code out of pooled chunks (see the module documentation).
#[derive(Debug, Default)]
pub(crate) struct PooledCode {
    /// Chunks in use; code is added to the last one.
    chunks: Vec<InUse>,
    /// Whether any page of `chunks` was made executable.
    sealed_any: bool,
    /// Writable data (cranelift-jit's data objects; region functions have none), mapped
    /// apart and never made executable.
    data: Vec<Chunk>,
}

impl PooledCode {
    /// A provider, or `None` if this host's pages are not `PAGE` bytes.
    pub fn new() -> Option<PooledCode> {
        // SAFETY: `sysconf` only reads a system constant.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        (page == PAGE as libc::c_long).then(PooledCode::default)
    }

    fn allocate_code(&mut self, size: usize, align: usize) -> io::Result<*mut u8> {
        if let Some(last) = self.chunks.last_mut() {
            let at = last.used.next_multiple_of(align.max(1));
            if at + size <= last.chunk.len {
                last.used = at + size;
                // SAFETY: `at + size <= len`: inside the chunk.
                return Ok(unsafe { last.chunk.ptr.add(at) });
            }
        }
        // The rest of the last chunk stays unused; what was written there goes executable
        // at the next finalize, with this chunk's pages.
        let len = size.next_multiple_of(PAGE);
        let chunk = match len <= CHUNK {
            true => match SPARE.lock().ok().and_then(|mut spare| spare.pop()) {
                Some(chunk) => chunk,
                None => Chunk::map(CHUNK)?,
            },
            false => Chunk::map(len)?,
        };
        let ptr = chunk.ptr;
        self.chunks.push(InUse {
            chunk,
            used: size,
            open: 0,
        });
        Ok(ptr)
    }
}

impl JITMemoryProvider for PooledCode {
    fn allocate(&mut self, size: usize, align: u64, kind: JITMemoryKind) -> io::Result<*mut u8> {
        let align = usize::try_from(align).unwrap_or(usize::MAX);
        if align > PAGE {
            return Err(io::Error::other("alignment above a page"));
        }
        match kind {
            // Read-only data is rare here (no region function defines any); it shares
            // the code's pages, readable and executable.
            JITMemoryKind::Executable | JITMemoryKind::ReadOnly => self.allocate_code(size, align),
            JITMemoryKind::Writable => {
                let chunk = Chunk::map(size.max(1).next_multiple_of(PAGE))?;
                let ptr = chunk.ptr;
                self.data.push(chunk);
                Ok(ptr)
            }
        }
    }

    unsafe fn free_memory(&mut self) {
        self.data.clear();
        let sealed_any = self.sealed_any;
        for InUse { chunk, .. } in self.chunks.drain(..) {
            // A chunk that cannot be made writable again, or is not of the pooled size,
            // is unmapped instead.
            let writable = !sealed_any
                || (chunk.protect(0, chunk.len, libc::PROT_READ | libc::PROT_WRITE)).is_ok();
            if writable
                && chunk.len == CHUNK
                && let Ok(mut spare) = SPARE.lock()
                && spare.len() < SPARE_CHUNKS
            {
                spare.push(chunk);
            }
        }
        self.sealed_any = false;
    }

    fn finalize(&mut self, _: BranchProtection) -> ModuleResult<()> {
        // Everything written since the last finalize (relocations included) becomes
        // executable, and the next function starts on a fresh page. x86-64 needs no
        // instruction-cache flush; other hosts do not get this provider (`Backend::new`).
        for c in &mut self.chunks {
            let end = c.used.next_multiple_of(PAGE).min(c.chunk.len);
            if end > c.open {
                let prot = libc::PROT_READ | libc::PROT_EXEC;
                (c.chunk.protect(c.open, end - c.open, prot))
                    .map_err(|e| ModuleError::Backend(e.into()))?;
                self.sealed_any = true;
            }
            c.used = end;
            c.open = end;
        }
        Ok(())
    }
}

impl Drop for PooledCode {
    fn drop(&mut self) {
        // Like cranelift-jit's providers: without `free_memory`, code stays mapped (its
        // function pointers may still be in use).
        for c in self.chunks.drain(..) {
            std::mem::forget(c.chunk);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_follow_each_other_and_chunks_are_reused() {
        let Some(mut mem) = PooledCode::new() else {
            return;
        };
        let a = mem.allocate(100, 16, JITMemoryKind::Executable).unwrap();
        mem.finalize(BranchProtection::None).unwrap();
        let b = mem.allocate(100, 16, JITMemoryKind::Executable).unwrap();
        assert_eq!(
            b as usize - a as usize,
            PAGE,
            "each finalize starts a fresh page"
        );
        let big = mem
            .allocate(CHUNK + 1, 16, JITMemoryKind::Executable)
            .unwrap();
        mem.finalize(BranchProtection::None).unwrap();
        // SAFETY: nothing of this memory is in use.
        unsafe { mem.free_memory() };
        let mut again = PooledCode::new().unwrap();
        let c = again.allocate(8, 8, JITMemoryKind::Executable).unwrap();
        // SAFETY: `c` points to 8 writable bytes of the fresh allocation.
        unsafe { c.write_bytes(0xc3, 8) };
        assert_ne!(c, big);
        // SAFETY: as above.
        unsafe { again.free_memory() };
    }
}
