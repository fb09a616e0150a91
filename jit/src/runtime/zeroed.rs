//! [`EntryTable`]: the pc-indexed table of code addresses, `ENTRY_COUNT` words (512 KiB)
//! that start at zero. A dropped table goes back to a small process-wide pool after
//! clearing the entries it ever set, so that the next engine's table costs neither the
//! zeroing of 512 KiB (a large `calloc` is served, once the allocator has freed a block
//! that size, from memory it holds and clears with `memset`) nor, from a fresh mapping, a
//! map, a page fault per touched page and an unmap: measured, these were about a tenth of
//! a fresh engine's first run of `kernel_v1`.

use super::abi::ENTRY_COUNT;
use std::ops::Deref;
use std::sync::Mutex;

/// Zeroed tables kept for later engines (at most [`SPARE_TABLES`]).
static SPARE: Mutex<Vec<Box<[usize]>>> = Mutex::new(Vec::new());
const SPARE_TABLES: usize = 4;

/// `ENTRY_COUNT` code addresses, all zero when made, or none (an empty slice).
#[derive(Debug, Default)]
pub(crate) struct EntryTable {
    table: Option<Box<[usize]>>,
    /// Every index ever set (possibly again, possibly to zero): what to clear on drop.
    set: Vec<u32>,
}

impl EntryTable {
    /// `ENTRY_COUNT` zero entries.
    pub fn zeroed() -> EntryTable {
        let spare = SPARE.lock().ok().and_then(|mut spare| spare.pop());
        EntryTable {
            table: Some(spare.unwrap_or_else(|| vec![0; ENTRY_COUNT].into_boxed_slice())),
            set: Vec::new(),
        }
    }

    /// Entry `pc` := `code`. Panics if the table is empty or `pc` is out of it.
    pub fn set(&mut self, pc: u32, code: usize) {
        let table = self.table.as_mut().expect("an entry table that exists");
        table[pc as usize] = code;
        self.set.push(pc);
    }
}

impl Deref for EntryTable {
    type Target = [usize];

    fn deref(&self) -> &[usize] {
        self.table.as_deref().unwrap_or(&[])
    }
}

impl Drop for EntryTable {
    fn drop(&mut self) {
        let Some(mut table) = self.table.take() else {
            return;
        };
        for &pc in &self.set {
            table[pc as usize] = 0;
        }
        debug_assert!(
            table.iter().all(|&e| e == 0),
            "a recycled entry table is zero"
        );
        if let Ok(mut spare) = SPARE.lock()
            && spare.len() < SPARE_TABLES
        {
            spare.push(table);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_start_all_zero_even_when_recycled() {
        for _ in 0..3 {
            let mut t = EntryTable::zeroed();
            assert_eq!(t.len(), ENTRY_COUNT);
            assert!(t.iter().all(|&e| e == 0));
            t.set(ENTRY_COUNT as u32 - 1, 7);
            t.set(12, 9);
            t.set(12, 0);
            assert_eq!(t[ENTRY_COUNT - 1], 7);
        }
        assert!(EntryTable::default().is_empty());
    }
}
