; Benchmark: a loop that patches its own code every iteration — the immediate of an
; ADDI inside the loop is rewritten with the iteration number, so the loop adds
; N + (N-1) + ... + 1. Prints that sum (wrapping).

    JMP START
N:  .word 1000                   ; iterations
START:
    LOAD R6, N
    IMM32 R0, 0
LOOP:
    STORE PATCH+3, R6            ; ADDI's immediate starts 3 bytes in
PATCH:
    ADDI R0, R0, 0               ; R0 += (patched) R6
    ADDI R6, R6, -1
    JNZ R6, LOOP
    MOV R1, R0
    SYSCALL SYS_PRINT_INT
    HALT
