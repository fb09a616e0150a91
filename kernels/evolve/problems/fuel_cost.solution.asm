; A hand-written solution of the `fuel_cost` problem, within its hint (opcodes and registers):
; With four registers (the address, k, the total, a mass) none is left for the divisor 3,
; so the list's end is found by the zero word after it (memory outside the case's ranges
; is zero at boot) and R2, k, is reused as the divisor.
; The test `evolve::problems::tests::every_problem_has_a_solution_within_its_hint` checks
; that it uses only the hint and has zero error on the training and held-out cases.

loop:
    LDW R3, R1, 0
    JZ R3, done
    IMM8 R2, 3
    DIV R3, R3, R2
    ADDI R3, R3, -2
    ADD R0, R0, R3
    ADDI R1, R1, 4
    JMP loop
done:
    MOV R1, R0
    HALT
