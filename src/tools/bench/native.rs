//! Native references: each benchmark kernel's algorithm written in Rust, computing the
//! same result the kernel prints. They serve twice: as the expected result that every
//! engine's run is checked against, and as the speed an engine is measured against
//! ("vs native" in `pxos bench`).
//!
//! The references run **step by step**: every load, store, call and loop iteration the
//! guest kernel performs happens here too, one at a time. Left alone, LLVM would run a
//! different algorithm for some kernels — vectorise matmul's inner product, turn the
//! sieve's flag clearing into `memset` and memcpy's word loops into libc `memcpy`, and
//! turn fib_rec's second recursive call into a loop, halving the calls — and "vs native"
//! would then compare an engine against work the guest never asked for. So accesses to
//! what is guest memory in the kernel go through [`load`] / [`store`] (volatile: exactly
//! one load or store per element, which LLVM may neither merge, widen nor drop), and
//! values whose computation LLVM must not restructure pass through `black_box` (fib_rec's
//! second call, countdown's counter). Inputs pass through `black_box` too, so the
//! compiler cannot fold the work away. LLVM still allocates registers, unrolls loops and
//! schedules the scalar instructions — what a good JIT may do too — but which loads,
//! stores and calls happen is the guest's. (The buffers are zeroed once per call, like
//! the fresh memory every guest run starts with; that is the only `memset`.)
//!
//! The references where LLVM really changes the algorithm also exist unconstrained, in
//! [`optimised`]: what the best compiled Rust does for the same result on this machine.

use std::hint::black_box;

/// One guest load: a volatile read, so it stays exactly one load of exactly `T`.
#[inline(always)]
fn load<T: Copy>(slot: &T) -> T {
    // SAFETY: a reference is non-null, aligned and valid for reads of `T`.
    unsafe { std::ptr::read_volatile(slot) }
}

/// One guest store: a volatile write, so it stays exactly one store of exactly `T`.
#[inline(always)]
fn store<T: Copy>(slot: &mut T, value: T) {
    // SAFETY: a mutable reference is non-null, aligned and valid for writes of `T`.
    unsafe { std::ptr::write_volatile(slot, value) }
}

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

/// fib(n) modulo 2^32, iteratively (one call, then one loop iteration per step).
pub fn fib_iter(n: i32) -> i32 {
    #[inline(never)]
    fn fib(mut k: i32) -> i32 {
        let (mut a, mut b) = (0i32, 1i32);
        while k != 0 {
            let c = a.wrapping_add(b);
            a = b;
            b = c;
            k = k.wrapping_sub(1);
        }
        a
    }
    fib(black_box(n))
}

/// fib(n), recursively: both calls of every level are made (fib(27) is 317,810 calls
/// to the base case, as in the guest).
pub fn fib_rec(n: i32) -> i32 {
    fn fib(n: i32) -> i32 {
        if n < 2 {
            n
        } else {
            let f1 = fib(n - 1);
            // `black_box` on the second call's result keeps it a real call: without it
            // LLVM turns `fib(n - 1) + fib(n - 2)` into a loop over the first call.
            f1.wrapping_add(black_box(fib(n - 2)))
        }
    }
    fib(black_box(n))
}

/// Sieve of Eratosthenes below 30,000, `reps` times; the number of primes. One byte load
/// per candidate and one byte store per flag cleared or crossed out, as the guest's
/// LDB / STB.
pub fn sieve(reps: i32) -> i32 {
    const SIZE: usize = 30_000;
    // Zeroed once per call (a `memset`), like the fresh memory a guest run starts with.
    let mut flags = [0u8; SIZE];
    let mut count = 0;
    for _ in 0..black_box(reps).max(1) {
        for flag in flags.iter_mut() {
            store(flag, 1);
        }
        count = 0;
        for i in 2..SIZE {
            if load(&flags[i]) != 0 {
                count += 1;
                let mut j = 2 * i;
                while j < SIZE {
                    store(&mut flags[j], 0);
                    j += i;
                }
            }
        }
    }
    count
}

/// 32x32 matrix multiply (A[i][j] = i + j, B[i][j] = i - j), `reps` times; the wrapping
/// sum of C. One word load per element of A and B in every inner product, one word store
/// per element of C, as the guest's LDW / STW.
pub fn matmul(reps: i32) -> i32 {
    const D: usize = 32;
    // Zeroed once per call (a `memset`), like the fresh memory a guest run starts with.
    let mut a = [[0i32; D]; D];
    let mut b = [[0i32; D]; D];
    let mut c = [[0i32; D]; D];
    for i in 0..D {
        for j in 0..D {
            store(&mut a[i][j], (i + j) as i32);
            store(&mut b[i][j], i as i32 - j as i32);
        }
    }
    for _ in 0..black_box(reps).max(1) {
        for i in 0..D {
            for j in 0..D {
                let mut sum = 0i32;
                for k in 0..D {
                    sum = sum.wrapping_add(load(&a[i][k]).wrapping_mul(load(&b[k][j])));
                }
                store(&mut c[i][j], sum);
            }
        }
    }
    let mut sum = 0i32;
    for row in &c {
        for x in row {
            sum = sum.wrapping_add(load(x));
        }
    }
    sum
}

/// Move 16 KiB there and back `reps` times; checksum of the destination (XOR then
/// rotate left by one, word by word). One word load and one word store per word moved,
/// as the guest's LDW / STW.
pub fn memcpy(reps: i32) -> i32 {
    const WORDS: usize = 0x4000 / 4;
    // Zeroed once per call (a `memset`), like the fresh memory a guest run starts with.
    let mut src = [0i32; WORDS];
    let mut dst = [0i32; WORDS];
    let mut value = 0i32;
    for w in src.iter_mut() {
        store(w, value);
        value = value.wrapping_add(-1_640_531_535);
    }
    for _ in 0..black_box(reps).max(1) {
        for i in 0..WORDS {
            store(&mut dst[i], load(&src[i]));
        }
        for i in 0..WORDS {
            store(&mut src[i], load(&dst[i]));
        }
    }
    let mut r = 0u32;
    for w in &dst {
        r = (r ^ load(w) as u32).rotate_left(1);
    }
    r as i32
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

/// n + (n - 1) + ... + 1, wrapping (what the self-patching loop computes): every
/// iteration stores the counter into the "code" word and adds it back from there, as the
/// guest stores into its ADDI's immediate and then runs that ADDI.
pub fn self_patch_loop(n: i32) -> i32 {
    let mut immediate = 0i32;
    let mut sum = 0i32;
    let mut k = black_box(n);
    while k != 0 {
        store(&mut immediate, k);
        sum = sum.wrapping_add(load(&immediate));
        k = k.wrapping_sub(1);
    }
    sum
}

/// The references LLVM is free to vectorise and restructure (same signatures and results
/// as the step-by-step ones), for the kernels where it really changes the algorithm:
/// fib_rec loses half its calls, sieve clears with `memset`, matmul's inner products run
/// in SIMD, memcpy moves with libc `memcpy`. `pxos bench` reports them as
/// `native-optimised`.
pub mod optimised {
    use std::hint::black_box;

    /// fib(n), recursively (LLVM turns the second call into a loop).
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

    /// 32x32 matrix multiply (A[i][j] = i + j, B[i][j] = i - j), `reps` times; the
    /// wrapping sum of C.
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

    #[test]
    fn optimised_references_match_the_step_by_step_ones() {
        for n in 0..=20 {
            assert_eq!(optimised::fib_rec(n), fib_rec(n), "fib_rec({n})");
        }
        for n in [1, 3] {
            assert_eq!(optimised::sieve(n), sieve(n), "sieve({n})");
        }
        for n in [1, 2] {
            assert_eq!(optimised::matmul(n), matmul(n), "matmul({n})");
            assert_eq!(optimised::memcpy(n), memcpy(n), "memcpy({n})");
        }
    }
}
