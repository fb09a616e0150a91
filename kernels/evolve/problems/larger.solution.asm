; A hand-written solution of the `larger` problem, within its hint (opcodes and registers):
; max(a, b): take b when a < b.
; The test `evolve::problems::tests::every_problem_has_a_solution_within_its_hint` checks
; that it uses only the hint and has zero error on the training and held-out cases.

    SLT R3, R1, R2
    JZ R3, done
    MOV R1, R2
done:
    HALT
