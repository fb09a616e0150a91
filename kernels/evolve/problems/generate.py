#!/usr/bin/env python3
"""Writes NAME.train.jsonl and NAME.test.jsonl for every problem of the suite, the same
bytes on every run (fixed seeds). The Rust test `evolve::problems::tests` checks every case
against an independent reference implementation. Run from this folder: python3 generate.py"""
import json, math, random

def collatz(n):
    s = 0
    while n != 1:
        n = n // 2 if n % 2 == 0 else 3 * n + 1
        s += 1
    return s

def fib(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a

LIST_AT = 0x8000

def words(xs):
    out = []
    for x in xs:
        out += list(x.to_bytes(4, "little", signed=True))
    return out

def one(f, lo, hi, edges):
    def gen(rng, i):
        n = edges[i] if i < len(edges) else rng.randint(lo, hi)
        return {"regs": {"R1": n}, "expect": {"regs": {"R1": f(n)}}}
    return gen

def two(f, lo, hi, edges):
    def gen(rng, i):
        a, b = edges[i] if i < len(edges) else (rng.randint(lo, hi), rng.randint(lo, hi))
        return {"regs": {"R1": a, "R2": b}, "expect": {"regs": {"R1": f(a, b)}}}
    return gen

def fuel(rng, i):
    k = [1, 2][i] if i < 2 else rng.randint(1, 6)
    xs = [rng.randint(9, 300) for _ in range(k)]
    return {"regs": {"R1": LIST_AT, "R2": k}, "memory": {hex(LIST_AT): words(xs)},
            "expect": {"regs": {"R1": sum(x // 3 - 2 for x in xs)}}}

def digits(rng, i):
    # As many numbers of each length (1 to 5 digits) as chance gives, not uniform over
    # 0..99,999, where nine numbers in ten have five digits; every boundary is an edge.
    edges = [0, 9, 10, 99, 100, 999, 1000, 9999, 10000, 99999]
    if i < len(edges):
        n = edges[i]
    else:
        d = rng.randint(1, 5)
        n = rng.randint(0 if d == 1 else 10 ** (d - 1), 10 ** d - 1)
    return {"regs": {"R1": n}, "expect": {"regs": {"R1": len(str(n))}}}

PROBLEMS = {
    "larger": two(max, -50, 50, [(0, 0), (3, -3), (-3, 3), (7, 7)]),
    "absolute": one(abs, -1000, 1000, [0, 1, -1, 1000, -1000]),
    "sum_to_n": one(lambda n: n * (n + 1) // 2, 0, 100, [0, 1, 2, 100]),
    "gcd": two(math.gcd, 1, 200, [(1, 1), (12, 18), (17, 5), (200, 100)]),
    "collatz": one(collatz, 1, 100, [1, 2, 3, 27]),
    "digits": digits,
    "fuel_cost": fuel,
    "fibonacci": one(fib, 0, 24, [0, 1, 2, 3, 24]),
}

for seed, (name, gen) in enumerate(sorted(PROBLEMS.items())):
    for part, count, salt in [("train", 40, 0), ("test", 100, 1000)]:
        rng = random.Random(seed * 7919 + salt)
        with open(f"{name}.{part}.jsonl", "w") as f:
            for i in range(count):
                case = gen(rng, i if part == "train" else count)
                f.write(json.dumps(case, separators=(",", ":")) + "\n")
