; Walk an array of words: print their sum (39) and their maximum (9).

    IMM32 R1, DATA           ; cursor
    IMM32 R2, DATA_END
    IMM32 R0, 0              ; sum
    IMM32 R5, -0x80000000    ; max so far
WALK:
    LDW R3, R1, 0            ; R3 = *cursor
    ADD R0, R0, R3
    SLT R4, R5, R3           ; new maximum?
    JZ R4, NOT_MAX
    MOV R5, R3
NOT_MAX:
    ADDI R1, R1, 4
    SLT R4, R1, R2
    JNZ R4, WALK
    MOV R1, R0
    SYSCALL SYS_PRINT_INT    ; 39
    MOV R1, R5
    SYSCALL SYS_PRINT_INT    ; 9
    HALT

DATA:
    .word 3, 1, 4, 1, 5, 9, 2, 6, 5, 3
DATA_END:
