; A hand-written solution of the `fibonacci` problem, within its hint (opcodes and registers):
; Step (a, b) <- (b, a + b) N times from (0, 1); R0 is the temporary.
; The test `evolve::problems::tests::every_problem_has_a_solution_within_its_hint` checks
; that it uses only the hint and has zero error on the training and held-out cases.

    IMM8 R3, 1
loop:
    JZ R1, done
    ADD R0, R2, R3
    MOV R2, R3
    MOV R3, R0
    ADDI R1, R1, -1
    JMP loop
done:
    MOV R1, R2
    HALT
