//! Numbers in pxvm's messages (the kernel-size error, [`crate::KernelTooLarge`]), written
//! the way people read them (`65,536`). Private to `pxvm`: `pxos` has its own for its
//! screens (`pxos::util`).

/// `n` with thousands separators: `65536` is written `65,536`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(65_540), "65,540");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
