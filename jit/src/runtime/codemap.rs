//! The code map: one byte per guest address, non-zero where some live translation depends
//! on that byte, so compiled stores can tell with one load and one branch whether they
//! just rewrote translated code. Alongside it, a page index (256-byte pages) lists the
//! regions whose dependencies touch each page, so an invalidation finds the affected
//! regions without scanning them all, and unmarking a region re-marks bytes that other
//! regions still depend on.
//!
//! Each region is also compiled with a [`StoreWindow`] (the type is part of `abi`): whole pages on which, when it was
//! compiled, no translation (and not the region itself) depended. A store inside its
//! window needs neither the bounds check nor the code-map load — one compare does both.
//! The same holds for its spot: the few bytes its absolute STOREs hit as compiled, if no
//! translation depended on them then (a loop patching its own immediates, which are read
//! live and so are no dependency). The cache keeps both true by dropping a region whose
//! window or spot a newer region's code lands in.
//!
//! Nothing is allocated until the first region is added: an engine that never compiles
//! pays nothing here.

use super::abi::StoreWindow;
use crate::analysis::Plan;
use pxvm::MEM_SIZE;
use pxvm::isa::Memory;
use pxvm::machine::word_index;
use std::ops::Range;

const PAGE_SHIFT: u32 = 8;
const PAGES: usize = MEM_SIZE >> PAGE_SHIFT;

/// Sorted, disjoint byte ranges `[start, end)` a region depends on.
pub(crate) type Deps = Vec<(u32, u32)>;

#[derive(Debug, Default)]
pub(crate) struct CodeMap {
    /// `MEM_SIZE` bytes once anything was added, else empty.
    bytes: Vec<u8>,
    /// Region ids per page.
    pages: Vec<Vec<u32>>,
    /// Each region's dependencies, by id (empty for ids not in use).
    deps: Vec<Deps>,
    /// Regions registered.
    count: usize,
}

fn pages_of(start: u32, end: u32) -> Range<usize> {
    (start >> PAGE_SHIFT) as usize..((end - 1) >> PAGE_SHIFT) as usize + 1
}

/// Whether any byte of `range` (clipped to the map) is marked in `bytes`, a code map's
/// bytes: [`CodeMap::any`], and the same question asked through the raw pointer compiled
/// code carries.
pub(crate) fn covered(bytes: &[u8], range: &Range<usize>) -> bool {
    let end = range.end.min(bytes.len());
    range.start < end && bytes[range.start..end].iter().any(|&b| b != 0)
}

/// The widest spot (see `free_spot`): a few words, not a second window.
const SPOT_MAX: u32 = 64;

fn overlaps(deps: &[(u32, u32)], start: u32, end: u32) -> bool {
    deps.iter().any(|&(s, e)| s < end && start < e)
}

impl CodeMap {
    /// Base pointer for compiled code; only valid (and only used) once a region exists.
    pub fn as_ptr(&self) -> *const u8 {
        self.bytes.as_ptr()
    }

    /// Whether any byte of `range` is covered by a translation.
    pub fn any(&self, range: &Range<usize>) -> bool {
        covered(&self.bytes, range)
    }

    /// The largest run of whole pages that no registered region and none of `deps` touch:
    /// the store window for a region with dependencies `deps`.
    pub fn free_window(&self, deps: &[(u32, u32)]) -> StoreWindow {
        let mut used = [false; PAGES];
        for (page, ids) in self.pages.iter().enumerate() {
            used[page] = !ids.is_empty();
        }
        for &(s, e) in deps {
            pages_of(s, e).for_each(|p| used[p] = true);
        }
        let (mut best, mut run_start) = ((0, 0), 0);
        // A used sentinel page past the end closes the last run.
        for (page, &taken) in used.iter().chain([&true]).enumerate() {
            if taken {
                if page - run_start > best.1 - best.0 {
                    best = (run_start, page);
                }
                run_start = page + 1;
            }
        }
        StoreWindow {
            lo: (best.0 << PAGE_SHIFT) as u32,
            hi: (best.1 << PAGE_SHIFT) as u32,
            spot: (0, 0),
        }
    }

    /// The spot of a region with plan `plan` (see `StoreWindow::spot`): the span of the
    /// words its absolute STOREs address as compiled, if no registered region and none of
    /// the plan's own dependencies touch it; else empty.
    pub(crate) fn free_spot(&self, plan: &Plan) -> (u32, u32) {
        let targets = (plan.blocks.iter().flat_map(|b| &b.insns))
            .filter(|p| p.insn.op.memory() == Memory::StoreAbs && p.insn.regs_valid())
            .filter_map(|p| word_index(p.insn.imm).map(|a| a as u32));
        let Some((lo, hi)) = targets.fold(None, |span: Option<(u32, u32)>, a| {
            Some(span.map_or((a, a + 4), |(lo, hi)| (lo.min(a), hi.max(a + 4))))
        }) else {
            return (0, 0);
        };
        if hi - lo > SPOT_MAX
            || self.any(&(lo as usize..hi as usize))
            || overlaps(&plan.deps, lo, hi)
        {
            return (0, 0);
        }
        (lo, hi)
    }

    /// Whether no region is registered.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Register region `id` with its dependencies and mark their bytes.
    pub fn add(&mut self, id: u32, deps: Deps) {
        if self.bytes.is_empty() {
            self.bytes = vec![0; MEM_SIZE];
            self.pages = vec![Vec::new(); PAGES];
        }
        for &(s, e) in &deps {
            self.bytes[s as usize..e as usize].fill(1);
            for page in pages_of(s, e) {
                if self.pages[page].last() != Some(&id) {
                    self.pages[page].push(id);
                }
            }
        }
        let slot = id as usize;
        if self.deps.len() <= slot {
            self.deps.resize(slot + 1, Vec::new());
        }
        self.deps[slot] = deps;
        self.count += 1;
    }

    /// The registered regions whose dependencies overlap `range`.
    pub fn regions_touching(&self, range: &Range<usize>) -> Vec<u32> {
        let (start, end) = (range.start as u32, range.end.min(MEM_SIZE) as u32);
        if start >= end || self.bytes.is_empty() {
            return Vec::new();
        }
        let mut ids: Vec<u32> = pages_of(start, end)
            .flat_map(|p| self.pages[p].iter().copied())
            .filter(|&id| overlaps(self.deps(id), start, end))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Unregister region `id`: clear its bytes, then re-mark the bytes other regions on the
    /// same pages still depend on.
    pub fn remove(&mut self, id: u32) {
        let Some(deps) = self.deps.get_mut(id as usize).map(std::mem::take) else {
            return;
        };
        if deps.is_empty() {
            return;
        }
        self.count -= 1;
        let mut touched = Vec::new();
        for &(s, e) in &deps {
            self.bytes[s as usize..e as usize].fill(0);
            for page in pages_of(s, e) {
                self.pages[page].retain(|&x| x != id);
                touched.push(page);
            }
        }
        touched.sort_unstable();
        touched.dedup();
        for page in touched {
            for &other in &self.pages[page] {
                for &(s, e) in &self.deps[other as usize] {
                    for &(ds, de) in &deps {
                        let (lo, hi) = (s.max(ds), e.min(de));
                        if lo < hi {
                            self.bytes[lo as usize..hi as usize].fill(1);
                        }
                    }
                }
            }
        }
    }

    /// The dependencies of region `id`.
    pub fn deps(&self, id: u32) -> &[(u32, u32)] {
        self.deps.get(id as usize).map_or(&[], Vec::as_slice)
    }

    /// Forget every region (the allocation is kept).
    pub fn clear(&mut self) {
        self.bytes.fill(0);
        self.pages.iter_mut().for_each(Vec::clear);
        self.deps.clear();
        self.count = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removing_one_region_keeps_bytes_another_needs() {
        let mut map = CodeMap::default();
        map.add(1, vec![(10, 20)]);
        map.add(2, vec![(15, 30), (300, 301)]);
        assert_eq!(map.regions_touching(&(18..19)), vec![1, 2]);
        assert_eq!(map.regions_touching(&(300..304)), vec![2]);
        map.remove(2);
        assert!(map.any(&(10..20)));
        assert!(!map.any(&(20..30)));
        assert!(!map.any(&(300..301)));
        map.remove(1);
        assert!(!map.any(&(0..MEM_SIZE)));
        assert!(map.is_empty());
    }

    #[test]
    fn the_store_window_is_the_largest_run_of_untouched_pages() {
        let mut map = CodeMap::default();
        let all = StoreWindow {
            lo: 0,
            hi: MEM_SIZE as u32,
            spot: (0, 0),
        };
        assert_eq!(map.free_window(&[]), all);
        let low_code = map.free_window(&[(0, 100)]);
        assert_eq!(
            low_code,
            StoreWindow {
                lo: 256,
                hi: MEM_SIZE as u32,
                spot: (0, 0),
            }
        );
        assert_eq!((low_code.limit(1), low_code.limit(4)), (65_280, 65_277));
        map.add(1, vec![(0, 100)]);
        let w = map.free_window(&[(40_000, 40_010)]);
        // Pages 1..156 are free below the new code, 157..256 above it: the larger run.
        assert_eq!(
            w,
            StoreWindow {
                lo: 256,
                hi: 39_936,
                spot: (0, 0),
            }
        );
        assert!(!w.overlaps(&[(0, 100), (40_000, 40_010)]));
        assert!(w.overlaps(&[(1_000, 1_001)]));
        // A spot counts as much as the window.
        let spotted = StoreWindow {
            spot: (40, 48),
            ..w
        };
        assert!(spotted.overlaps(&[(0, 41)]));
        assert!(spotted.overlaps(&[(47, 100)]));
        assert!(!spotted.overlaps(&[(0, 40), (48, 100)]));
        assert!(spotted.spot_holds(40, 4) && spotted.spot_holds(44, 4));
        assert!(!spotted.spot_holds(45, 4) && !spotted.spot_holds(39, 4));
        map.remove(1);
        assert_eq!(map.free_window(&[]), all);
        // Code on every page leaves no window: no store is inside it.
        let every_page: Vec<(u32, u32)> =
            (0..PAGES as u32).map(|p| (p << 8, (p << 8) + 1)).collect();
        let none = map.free_window(&every_page);
        assert_eq!((none.limit(1), none.limit(4)), (0, 0));
    }
}
