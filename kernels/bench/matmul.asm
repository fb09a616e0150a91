; Benchmark: 32x32 integer matrix multiply (LDW / STW / MUL), repeated N times.
; A[i][j] = i + j, B[i][j] = i - j; C = A x B. Prints the wrapping sum of C.

    JMP START
N:  .word 1                      ; repetitions
    .equ DIM, 32
    .equ ROW, 128                ; bytes per row
    .equ A, 0x2000
    .equ B, 0x3000
    .equ C, 0x4000
    .equ C_END, 0x5000           ; C + DIM * ROW
START:
    ; fill A and B
    IMM32 R1, 0                  ; i
FILL_I:
    IMM32 R2, 0                  ; j
FILL_J:
    SHLI R3, R1, 7               ; i * ROW
    SHLI R4, R2, 2               ; j * 4
    ADD R3, R3, R4
    ADD R4, R1, R2
    STW R3, R4, A
    SUB R4, R1, R2
    STW R3, R4, B
    ADDI R2, R2, 1
    SLTI R4, R2, DIM
    JNZ R4, FILL_J
    ADDI R1, R1, 1
    SLTI R4, R1, DIM
    JNZ R4, FILL_I
    LOAD R6, N
    STORE REPS_LEFT, R6          ; R6 is a temporary below; the count lives in memory
REPEAT:
    IMM32 R1, 0                  ; i
MUL_I:
    IMM32 R2, 0                  ; j
MUL_J:
    IMM32 R0, 0                  ; sum
    SHLI R3, R1, 7               ; &A[i][0] - A
    SHLI R4, R2, 2               ; &B[0][j] - B
    IMM32 R5, DIM                ; k counter
MUL_K:
    LDW R7, R3, A
    LDW R6, R4, B
    MUL R7, R7, R6
    ADD R0, R0, R7
    ADDI R3, R3, 4
    ADDI R4, R4, ROW
    ADDI R5, R5, -1
    JNZ R5, MUL_K
    ; C[i][j] = sum
    SHLI R3, R1, 7
    SHLI R4, R2, 2
    ADD R3, R3, R4
    STW R3, R0, C
    ADDI R2, R2, 1
    SLTI R4, R2, DIM
    JNZ R4, MUL_J
    ADDI R1, R1, 1
    SLTI R4, R1, DIM
    JNZ R4, MUL_I
    LOAD R6, REPS_LEFT
    ADDI R6, R6, -1
    STORE REPS_LEFT, R6
    JNZ R6, REPEAT
    ; checksum C
    IMM32 R0, 0
    IMM32 R1, C
    IMM32 R2, C_END
SUM:
    LDW R3, R1, 0
    ADD R0, R0, R3
    ADDI R1, R1, 4
    SLT R4, R1, R2
    JNZ R4, SUM
    MOV R1, R0
    SYSCALL SYS_PRINT_INT
    HALT
REPS_LEFT: .word 0
