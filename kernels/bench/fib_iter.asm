; Benchmark: iterative Fibonacci. Computes fib(N) modulo 2^32 (wrapping adds),
; calling a function once per repetition to exercise CALL/RET too, and prints it.

    JMP START
N:  .word 1000                   ; fib index
START:
    IMM32 R7, 0x10000            ; stack
    LOAD R1, N
    CALL FIB
    MOV R1, R0
    SYSCALL SYS_PRINT_INT
    HALT

; FIB: R0 = fib(R1) (wrapping), fib(0) = 0, fib(1) = 1
FIB:
    IMM32 R0, 0
    IMM32 R2, 1
FIB_LOOP:
    JZ R1, FIB_DONE
    ADD R3, R0, R2
    MOV R0, R2
    MOV R2, R3
    ADDI R1, R1, -1
    JMP FIB_LOOP
FIB_DONE:
    RET
