; Benchmark: a syscall-heavy loop. Each iteration calls FS_CLOSE on a handle that
; was never opened (R0 = 0, no output) — a pure host round trip — and adds the result.
; Prints the number of iterations plus the sum of results (N + 0).

    JMP START
N:  .word 1000                   ; iterations
START:
    LOAD R6, N
    IMM32 R5, 0                  ; accumulated results
    IMM32 R4, 0                  ; iterations done
LOOP:
    IMM32 R1, -1                 ; no such handle
    SYSCALL SYS_FS_CLOSE
    ADD R5, R5, R0
    ADDI R4, R4, 1
    ADDI R6, R6, -1
    JNZ R6, LOOP
    ADD R1, R4, R5
    SYSCALL SYS_PRINT_INT
    HALT
