; A hand-written solution of the `absolute` problem, within its hint (opcodes and registers):
; |a|: negate a when a < 0 (R0 is 0 at boot).
; The test `evolve::problems::tests::every_problem_has_a_solution_within_its_hint` checks
; that it uses only the hint and has zero error on the training and held-out cases.

    SLTI R2, R1, 0
    JZ R2, done
    SUB R1, R0, R1
done:
    HALT
