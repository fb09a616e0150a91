//! Numbers in messages and on screen, written the way people read them.

/// `n` with thousands separators: `65536` is written `65,536`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let head = digits.len() % 3;
    let mut groups: Vec<&str> = Vec::new();
    if head > 0 {
        groups.push(&digits[..head]);
    }
    groups.extend(
        digits.as_bytes()[head..]
            .chunks(3)
            .map(|g| std::str::from_utf8(g).unwrap_or_default()),
    );
    groups.join(",")
}

#[cfg(test)]
mod tests {
    #[test]
    fn groups_of_three() {
        for (n, text) in [
            (0, "0"),
            (999, "999"),
            (1000, "1,000"),
            (65_540, "65,540"),
            (1_234_567, "1,234,567"),
        ] {
            assert_eq!(super::thousands(n), text);
        }
    }
}
