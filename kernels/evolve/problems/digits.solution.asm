; A hand-written solution of the `digits` problem, within its hint (opcodes and registers):
; Divide by 10 until nothing is left, counting the divisions (at least one).
; The test `evolve::problems::tests::every_problem_has_a_solution_within_its_hint` checks
; that it uses only the hint and has zero error on the training and held-out cases.

    IMM8 R3, 10
loop:
    ADDI R0, R0, 1
    DIV R1, R1, R3
    JNZ R1, loop
    MOV R1, R0
    HALT
