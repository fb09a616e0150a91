; A hand-written solution of the `collatz` problem, within its hint (opcodes and registers):
; Count steps until n < 2: halve n when even, else n <- 3n + 1.
; The test `evolve::problems::tests::every_problem_has_a_solution_within_its_hint` checks
; that it uses only the hint and has zero error on the training and held-out cases.

loop:
    SLTI R2, R1, 2
    JNZ R2, done
    ADDI R0, R0, 1
    ANDI R2, R1, 1
    JZ R2, even
    IMM8 R3, 3
    MUL R1, R1, R3
    ADDI R1, R1, 1
    JMP loop
even:
    SHRI R1, R1, 1
    JMP loop
done:
    MOV R1, R0
    HALT
