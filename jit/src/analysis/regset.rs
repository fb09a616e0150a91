//! [`RegSet`]: a set of guest registers (R0..R7), the currency of liveness and of the
//! lowering's write-backs. A type rather than a bare bit mask, so that membership, union
//! and difference are spelled once. Invariant: only bits 0..8 exist (a `u8`), so every
//! register index a set yields is a valid index into the guest's register file.

use pxvm::machine::NUM_REGS;
use std::fmt;
use std::ops::{BitOr, BitOrAssign};

const _: () = assert!(NUM_REGS == 8, "RegSet holds exactly eight registers");

/// A set of guest registers, R`r` present when bit `r` is set.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub(crate) struct RegSet(u8);

impl RegSet {
    /// No register.
    pub const EMPTY: RegSet = RegSet(0);
    /// Every register.
    pub const ALL: RegSet = RegSet(0xFF);

    /// The set holding just R`r`; empty when `r` is not a register (>= 8: such operands
    /// make the instruction a no-op, see `Insn::regs_valid`).
    pub fn of(r: u8) -> RegSet {
        RegSet(1u8.checked_shl(u32::from(r)).unwrap_or(0))
    }

    /// Whether R`r` is in the set.
    pub fn contains(self, r: impl Into<usize>) -> bool {
        let r = r.into();
        r < NUM_REGS && self.0 >> r & 1 != 0
    }

    /// The registers of `self` not in `other`.
    pub fn minus(self, other: RegSet) -> RegSet {
        RegSet(self.0 & !other.0)
    }

    /// The registers in the set, in increasing order, as indices into the register file.
    pub fn iter(self) -> impl Iterator<Item = usize> {
        (0..NUM_REGS).filter(move |&r| self.contains(r))
    }
}

impl BitOr for RegSet {
    type Output = RegSet;
    fn bitor(self, other: RegSet) -> RegSet {
        RegSet(self.0 | other.0)
    }
}

impl BitOrAssign for RegSet {
    fn bitor_assign(&mut self, other: RegSet) {
        self.0 |= other.0;
    }
}

impl FromIterator<u8> for RegSet {
    fn from_iter<I: IntoIterator<Item = u8>>(regs: I) -> RegSet {
        regs.into_iter()
            .fold(RegSet::EMPTY, |s, r| s | RegSet::of(r))
    }
}

impl fmt::Debug for RegSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.iter().map(|r| format!("R{r}")))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_operations() {
        let s: RegSet = [0u8, 3, 7].into_iter().collect();
        assert!(s.contains(3u8) && !s.contains(4u8));
        assert_eq!(s.iter().collect::<Vec<_>>(), [0, 3, 7]);
        assert_eq!(s.minus(RegSet::of(3)), RegSet::of(0) | RegSet::of(7));
        assert_eq!(RegSet::of(8), RegSet::EMPTY, "not a register");
        assert_eq!(RegSet::ALL.iter().count(), 8);
        assert_eq!(format!("{:?}", RegSet::of(2)), "{\"R2\"}");
    }
}
