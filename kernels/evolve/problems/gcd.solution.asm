; A hand-written solution of the `gcd` problem, within its hint (opcodes and registers):
; Euclid's algorithm: (a, b) <- (b, a mod b) until b is 0.
; The test `evolve::problems::tests::every_problem_has_a_solution_within_its_hint` checks
; that it uses only the hint and has zero error on the training and held-out cases.

loop:
    JZ R2, done
    MOD R3, R1, R2
    MOV R1, R2
    MOV R2, R3
    JMP loop
done:
    HALT
