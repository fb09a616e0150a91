//! Native references: each benchmark kernel's algorithm written in Rust, computing the
//! same result the kernel prints. They serve twice: as the expected result that every
//! engine's run is checked against, and as the physical speed limit on this machine.
//! Inputs pass through `black_box` so the compiler cannot fold the work away.

use std::hint::black_box;

/// Countdown from `n` to 0 (SUB / CMP / JZ); the kernel prints the final counter.
pub fn countdown(n: i32) -> i32 {
    let mut r0 = black_box(n);
    loop {
        r0 = black_box(r0.wrapping_sub(1));
        if r0 == 0 {
            return r0;
        }
    }
}

/// fib(n) modulo 2^32, iteratively.
pub fn fib_iter(n: i32) -> i32 {
    let (mut a, mut b) = (0i32, 1i32);
    let mut k = black_box(n);
    while k != 0 {
        let c = a.wrapping_add(b);
        a = b;
        b = c;
        k -= 1;
    }
    a
}

/// fib(n), recursively.
pub fn fib_rec(n: i32) -> i32 {
    fn fib(n: i32) -> i32 {
        if n < 2 {
            n
        } else {
            fib(n - 1).wrapping_add(fib(n - 2))
        }
    }
    fib(black_box(n))
}

/// Sieve of Eratosthenes below 30,000, `reps` times; the number of primes.
pub fn sieve(reps: i32) -> i32 {
    const SIZE: usize = 30_000;
    let mut flags = vec![1u8; SIZE];
    let mut count = 0;
    for _ in 0..black_box(reps).max(1) {
        flags.fill(1);
        count = 0;
        for i in 2..SIZE {
            if black_box(flags[i]) != 0 {
                count += 1;
                let mut j = 2 * i;
                while j < SIZE {
                    flags[j] = 0;
                    j += i;
                }
            }
        }
    }
    count
}

/// 32x32 matrix multiply (A[i][j] = i + j, B[i][j] = i - j), `reps` times; the wrapping
/// sum of C.
pub fn matmul(reps: i32) -> i32 {
    const D: usize = 32;
    let mut a = [[0i32; D]; D];
    let mut b = [[0i32; D]; D];
    for i in 0..D {
        for j in 0..D {
            a[i][j] = (i + j) as i32;
            b[i][j] = i as i32 - j as i32;
        }
    }
    let mut c = [[0i32; D]; D];
    for _ in 0..black_box(reps).max(1) {
        let a = black_box(&a);
        for i in 0..D {
            for j in 0..D {
                let mut sum = 0i32;
                for k in 0..D {
                    sum = sum.wrapping_add(a[i][k].wrapping_mul(b[k][j]));
                }
                c[i][j] = sum;
            }
        }
    }
    c.iter().flatten().fold(0i32, |s, &x| s.wrapping_add(x))
}

/// Move 16 KiB there and back `reps` times; checksum of the destination (XOR then
/// rotate left by one, word by word).
pub fn memcpy(reps: i32) -> i32 {
    const WORDS: usize = 0x4000 / 4;
    let mut src: Vec<i32> = (0..WORDS)
        .map(|i| (i as i32).wrapping_mul(-1_640_531_535))
        .collect();
    let mut dst = vec![0i32; WORDS];
    for _ in 0..black_box(reps).max(1) {
        dst.copy_from_slice(&src);
        black_box(&mut dst);
        src.copy_from_slice(&dst);
        black_box(&mut src);
    }
    dst.iter().fold(0u32, |r, &w| (r ^ w as u32).rotate_left(1)) as i32
}

/// `n` round trips to a host service that answers 0; iterations plus the sum of answers.
pub fn syscall_loop(n: i32) -> i32 {
    #[inline(never)]
    fn service(handle: i32) -> i32 {
        i32::from(black_box(handle) > 0)
    }
    let (mut sum, mut done) = (0i32, 0i32);
    for _ in 0..black_box(n) {
        sum = sum.wrapping_add(service(-1));
        done += 1;
    }
    done.wrapping_add(sum)
}

/// n + (n - 1) + ... + 1, wrapping (what the self-patching loop computes).
pub fn self_patch_loop(n: i32) -> i32 {
    let mut sum = 0i32;
    let mut k = black_box(n);
    while k != 0 {
        sum = black_box(sum.wrapping_add(k));
        k -= 1;
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_compute_known_values() {
        assert_eq!(countdown(1000), 0);
        assert_eq!(fib_iter(10), 55);
        assert_eq!(fib_iter(1000), 1_556_111_435);
        assert_eq!(fib_rec(15), 610);
        assert_eq!(sieve(1), 3245);
        assert_eq!(matmul(1), 2_793_472);
        assert_eq!(memcpy(1), -1_515_531_404);
        assert_eq!(syscall_loop(1000), 1000);
        assert_eq!(self_patch_loop(1000), 500_500);
    }
}
