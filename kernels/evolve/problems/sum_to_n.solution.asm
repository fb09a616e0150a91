; A hand-written solution of the `sum_to_n` problem, within its hint (opcodes and registers):
; The closed form N(N+1)/2.
; The test `evolve::problems::tests::every_problem_has_a_solution_within_its_hint` checks
; that it uses only the hint and has zero error on the training and held-out cases.

    ADDI R2, R1, 1
    MUL R1, R1, R2
    SHRI R1, R1, 1
    HALT
