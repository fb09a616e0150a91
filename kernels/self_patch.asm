; Self-modifying code: each round rewrites the immediate of its own IMM32
; instruction, so the loop prints 0, 7, 14, 21, 28.

    IMM32 R2, 5              ; rounds
LOOP:
PATCH:
    IMM32 R1, 0              ; this immediate is rewritten below
    SYSCALL SYS_PRINT_INT
    ADDI R1, R1, 7
    STORE PATCH+2, R1        ; the immediate sits 2 bytes into IMM32
    ADDI R2, R2, -1
    JNZ R2, LOOP
    HALT
