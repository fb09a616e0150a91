//! The Cranelift side of the code cache: the host ISA in two [`Tier`]s (each built once
//! per process), the trampoline through which Rust enters compiled code (also built once
//! per process, in a module that is never freed), one `JITModule` per [`Backend`] holding
//! every live region function, compiling a [`Plan`] into that module at either
//! tier, and freeing the module's memory. cranelift-jit frees code only per module, so a
//! cache flush drops the whole [`Backend`] (its `Drop` frees the executable memory) and the
//! next compile builds a new one.
//!
//! What a dropped backend leaves is reused by the next one in the process, so that a fresh
//! engine's first compile does not start from nothing: Cranelift's compilation contexts
//! (kept in a small pool, with their grown buffers) and, on x86-64 Unix, the chunks its
//! code was written into (`codemem`). Nothing compiled is shared: every backend compiles
//! its own code.
//!
//! The tier only chooses Cranelift's settings (optimisation level, register allocator);
//! both tiers compile the same IR from the same plan, so their code has the same
//! semantics. The module's own ISA is the quick one; an optimised function is compiled by
//! the optimising ISA and handed to the module as bytes with its relocations.

use super::abi::StoreWindow;
use super::abi::{Trampoline, region_signature, trampoline_signature};
use super::dump;
use crate::analysis::Plan;
use crate::lower;
use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::{InstBuilder, Type, UserFuncName};
use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{Module, ModuleError, ModuleReloc, default_libcall_names};
use std::mem::ManuallyDrop;
use std::sync::{Mutex, OnceLock};

/// Host pages are assumed to be this large when accounting for executable memory: every
/// finalize starts a fresh page.
const PAGE: usize = 4096;

/// Which Cranelift settings compile a region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tier {
    /// Cheap to compile: no mid-end optimisation (`opt_level=none`) and the single-pass
    /// register allocator. Code that runs a first time, and maybe never again.
    Quick,
    /// Fast code: `opt_level=speed` and the backtracking register allocator. Code that has
    /// proved hot.
    Optimised,
}

/// The host ISA with the flags the JIT needs at `tier`, or `None` if this host cannot run
/// Cranelift code (then every engine in this crate interprets).
fn host_isa(tier: Tier) -> Option<OwnedTargetIsa> {
    static QUICK: OnceLock<Option<OwnedTargetIsa>> = OnceLock::new();
    static OPTIMISED: OnceLock<Option<OwnedTargetIsa>> = OnceLock::new();
    let (cell, opt_level, regalloc) = match tier {
        Tier::Quick => (&QUICK, "none", "single_pass"),
        Tier::Optimised => (&OPTIMISED, "speed", "backtracking"),
    };
    cell.get_or_init(|| {
        let mut flags = settings::builder();
        let wanted = [
            ("opt_level", opt_level),
            ("regalloc_algorithm", regalloc),
            ("preserve_frame_pointers", "true"),
            // No unwind tables: no panic unwinds through compiled frames (the host-call
            // helper catches every one), and profilers walk the kept frame pointers.
            ("unwind_info", "false"),
            ("use_colocated_libcalls", "false"),
            ("is_pic", "false"),
            (
                "enable_verifier",
                if cfg!(debug_assertions) {
                    "true"
                } else {
                    "false"
                },
            ),
        ];
        for (name, value) in wanted {
            flags.set(name, value).ok()?;
        }
        let builder = cranelift_native::builder().ok()?;
        builder.finish(settings::Flags::new(flags)).ok()
    })
    .clone()
}

/// A compiled region: where its code starts and how many bytes of executable memory it
/// occupies (rounded to pages, as finalizing uses them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Compiled {
    pub addr: usize,
    pub bytes: usize,
}

/// Cranelift's reusable compilation state: the function being built and compiled with
/// every buffer of the compile passes (register allocator included), and the frontend's
/// SSA state. Their buffers grow to fit the largest function compiled so far and are
/// kept, so a compile that fits allocates little.
struct Contexts {
    ctx: cranelift_codegen::Context,
    fctx: FunctionBuilderContext,
}

/// Contexts of dropped backends, kept for the next [`Backend`] of the process (a fresh
/// engine's first compile would otherwise grow every buffer from nothing: measured, about a
/// tenth of the first run of `kernel_v1` on `jit`). At most [`SPARE_CONTEXTS`], one per
/// engine compiling at the same time.
static SPARE: Mutex<Vec<Box<Contexts>>> = Mutex::new(Vec::new());
const SPARE_CONTEXTS: usize = 8;

/// A spare context set, or a new one.
fn take_contexts(module: &JITModule) -> Box<Contexts> {
    let spare = SPARE.lock().ok().and_then(|mut spare| spare.pop());
    spare.unwrap_or_else(|| {
        Box::new(Contexts {
            ctx: module.make_context(),
            fctx: FunctionBuilderContext::new(),
        })
    })
}

/// Keep `contexts` for a later backend (dropped if enough are kept already).
fn give_back(mut contexts: Box<Contexts>) {
    contexts.ctx.clear();
    if let Ok(mut spare) = SPARE.lock()
        && spare.len() < SPARE_CONTEXTS
    {
        spare.push(contexts);
    }
}

/// One JIT module and the reusable compilation contexts.
pub(crate) struct Backend {
    /// Taken out only by `Drop`, which frees its memory.
    module: ManuallyDrop<JITModule>,
    trampoline: Trampoline,
    /// Taken out only by `Drop`, which gives them back to [`SPARE`] unless a compile
    /// panicked (`poisoned`), leaving them in an unknown state.
    contexts: ManuallyDrop<Box<Contexts>>,
    poisoned: bool,
    ptr: Type,
    /// The optimising ISA, built on the first optimised compile.
    optimised: Option<OwnedTargetIsa>,
    /// Executable memory used so far, in bytes (page-rounded per finalize).
    pub code_bytes: usize,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backend")
            .field("code_bytes", &self.code_bytes)
            .finish_non_exhaustive()
    }
}

impl Backend {
    /// A fresh module with its trampoline, or `None` if the host is unsupported or the
    /// trampoline cannot be built.
    pub fn new() -> Option<Backend> {
        let trampoline = shared_trampoline()?;
        let isa = host_isa(Tier::Quick)?;
        let ptr = isa.pointer_type();
        let mut builder = JITBuilder::with_isa(isa, default_libcall_names());
        // Code in pooled chunks (x86-64 Unix hosts; elsewhere cranelift-jit's provider).
        #[cfg(all(unix, target_arch = "x86_64"))]
        if let Some(memory) = super::codemem::PooledCode::new() {
            builder.memory_provider(Box::new(memory));
        }
        let module = JITModule::new(builder);
        let contexts = take_contexts(&module);
        Some(Backend {
            module: ManuallyDrop::new(module),
            trampoline,
            contexts: ManuallyDrop::new(contexts),
            poisoned: false,
            ptr,
            optimised: None,
            code_bytes: 0,
        })
    }

    pub fn trampoline(&self) -> Trampoline {
        self.trampoline
    }

    /// Compile `plan` at `tier` into one finalized function.
    pub fn compile(
        &mut self,
        plan: &Plan,
        window: StoreWindow,
        tier: Tier,
    ) -> Result<Compiled, Box<ModuleError>> {
        if tier == Tier::Optimised && self.optimised.is_none() {
            self.optimised = host_isa(Tier::Optimised);
        }
        let module = &mut *self.module;
        let Contexts { ctx, fctx } = &mut **self.contexts;
        // Cleared again below once the compile returns; a panic skips that.
        self.poisoned = true;
        let sig = region_signature(self.ptr);
        let id = module.declare_anonymous_function(&sig)?;
        module.clear_context(ctx);
        ctx.func.signature = sig;
        ctx.func.name = UserFuncName::user(0, id.as_u32());
        let self_ref = module.declare_func_in_func(id, &mut ctx.func);
        let frontend = module.target_config();
        lower::build(
            &mut ctx.func,
            fctx,
            plan,
            window,
            self.ptr,
            self_ref,
            frontend,
            tier == Tier::Optimised,
        );
        let dump = dump::dir();
        ctx.set_disasm(dump.is_some());
        let defined = match (tier, &self.optimised) {
            (Tier::Optimised, Some(isa)) => define_with(module, id, ctx, &**isa),
            _ => (module.define_function(id, ctx)).map_err(Box::new),
        };
        let listing = match dump {
            Some(_) => (ctx.compiled_code()).and_then(|c| c.vcode.clone()),
            None => None,
        };
        let size = ctx.compiled_code().map_or(0, |c| c.code_buffer().len());
        module.clear_context(ctx);
        defined?;
        module.finalize_definitions()?;
        let addr = module.get_finalized_function(id) as usize;
        if let Some(dir) = dump {
            // SAFETY: `addr` is the start of the function just finalized, whose code buffer
            // was `size` bytes long; finalized code stays mapped and readable while the
            // module lives, and nothing writes it.
            let code = unsafe { std::slice::from_raw_parts(addr as *const u8, size) };
            dump::region(dir, addr, code, listing.as_deref().unwrap_or(""), plan);
        }
        let bytes = size.div_ceil(PAGE).max(1) * PAGE;
        self.code_bytes += bytes;
        self.poisoned = false;
        Ok(Compiled { addr, bytes })
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        // SAFETY: `self.module` is not used again after this take (we are in `drop`).
        let module = unsafe { ManuallyDrop::take(&mut self.module) };
        // SAFETY: the backend is being dropped, so no code of this module can run again:
        // compiled code is only entered through `self.trampoline` while the cache holds
        // this backend, and the cache clears every table holding code addresses of this
        // module whenever it drops the backend.
        unsafe { module.free_memory() };
        // SAFETY: `self.contexts` is not used again after this take (we are in `drop`).
        let contexts = unsafe { ManuallyDrop::take(&mut self.contexts) };
        if !self.poisoned {
            give_back(contexts);
        }
    }
}

/// Compile `ctx.func` with `isa` (not the module's own) and define it as function `id`
/// of `module`, as `JITModule::define_function` does with the module's ISA. Both ISAs
/// describe the same host with the same calling conventions and pointer width.
fn define_with(
    module: &mut JITModule,
    id: cranelift_module::FuncId,
    ctx: &mut cranelift_codegen::Context,
    isa: &dyn cranelift_codegen::isa::TargetIsa,
) -> Result<(), Box<ModuleError>> {
    let compiled = (ctx.compile(isa, &mut ControlPlane::default())).map_err(ModuleError::from)?;
    let alignment = u64::from(compiled.buffer.alignment);
    let bytes = compiled.code_buffer().to_vec();
    let relocs = compiled.buffer.relocs().to_vec();
    let relocs: Vec<ModuleReloc> = (relocs.iter())
        .map(|reloc| ModuleReloc::from_mach_reloc(reloc, &ctx.func, id))
        .collect();
    module.define_function_bytes(id, alignment, &bytes, &relocs)?;
    Ok(())
}

/// The process's one trampoline, compiled on first use into a module of its own that is
/// never freed (one page of executable memory for the process's lifetime): every
/// [`Backend`] — one per engine, and a new one after each flush — enters compiled code
/// through it, so a fresh engine's first run does not compile it again (measured: about a
/// tenth of the first run of `kernel_v1` on `jit`). `None` if this host cannot run
/// Cranelift code or the trampoline cannot be built.
fn shared_trampoline() -> Option<Trampoline> {
    static TRAMPOLINE: OnceLock<Option<Trampoline>> = OnceLock::new();
    *TRAMPOLINE.get_or_init(|| {
        let isa = host_isa(Tier::Quick)?;
        let ptr = isa.pointer_type();
        let call_conv = isa.default_call_conv();
        let mut module = JITModule::new(JITBuilder::with_isa(isa, default_libcall_names()));
        let mut ctx = module.make_context();
        let mut fctx = FunctionBuilderContext::new();
        let Ok(code) = build_trampoline(&mut module, &mut ctx, &mut fctx, ptr, call_conv) else {
            // SAFETY: nothing from this module was ever called or handed out.
            unsafe { module.free_memory() };
            return None;
        };
        // The trampoline's memory must outlive every call through it: the module is
        // leaked, never dropped nor freed.
        std::mem::forget(module);
        // SAFETY: `code` is the finalized trampoline, built with the platform's C calling
        // convention and the parameter and result types of `Trampoline`, in memory that is
        // never freed.
        Some(unsafe { std::mem::transmute::<*const u8, Trampoline>(code) })
    })
}

/// `trampoline(ctx, pc, code) = code(ctx, pc)`: the bridge from the C convention to the
/// tail-call convention of region functions.
fn build_trampoline(
    module: &mut JITModule,
    ctx: &mut cranelift_codegen::Context,
    fctx: &mut FunctionBuilderContext,
    ptr: Type,
    call_conv: cranelift_codegen::isa::CallConv,
) -> Result<*const u8, Box<ModuleError>> {
    let sig = trampoline_signature(ptr, call_conv);
    let id = module.declare_anonymous_function(&sig)?;
    ctx.func.signature = sig;
    ctx.func.name = UserFuncName::user(0, id.as_u32());
    {
        let mut b = FunctionBuilder::new(&mut ctx.func, fctx);
        let region_sig = b.import_signature(region_signature(ptr));
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        b.seal_block(entry);
        let params = b.block_params(entry).to_vec();
        let call = b
            .ins()
            .call_indirect(region_sig, params[2], &[params[0], params[1]]);
        let result = b.inst_results(call)[0];
        b.ins().return_(&[result]);
        b.finalize(module.target_config());
    }
    let defined = module.define_function(id, ctx);
    module.clear_context(ctx);
    defined?;
    module.finalize_definitions()?;
    Ok(module.get_finalized_function(id))
}
