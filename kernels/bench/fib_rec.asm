; Benchmark: recursive Fibonacci — CALL/RET and the stack. Prints fib(N).

    JMP START
N:  .word 15                     ; fib index
START:
    IMM32 R7, 0x10000            ; stack grows down from the top of memory
    LOAD R1, N
    CALL FIB
    MOV R1, R0
    SYSCALL SYS_PRINT_INT
    HALT

; FIB: R0 = fib(R1); preserves R1; uses R2
FIB:
    SLTI R2, R1, 2
    JZ R2, FIB_REC
    MOV R0, R1                   ; fib(0) = 0, fib(1) = 1
    RET
FIB_REC:
    ADDI R7, R7, -8              ; frame: n, fib(n - 1)
    STW R7, R1, 0
    ADDI R1, R1, -1
    CALL FIB                     ; R0 = fib(n - 1)
    STW R7, R0, 4
    ADDI R1, R1, -1
    CALL FIB                     ; R0 = fib(n - 2)
    LDW R2, R7, 4
    ADD R0, R0, R2
    LDW R1, R7, 0
    ADDI R7, R7, 8
    RET
