; Benchmark: sieve of Eratosthenes over 30,000 bytes (LDB / STB), repeated N times.
; Prints the number of primes below 30,000 (3245).

    JMP START
N:  .word 1                      ; repetitions
    .equ SIZE, 30000
    .equ FLAGS, 0x1000           ; flag bytes live at FLAGS .. FLAGS + SIZE
START:
    LOAD R6, N
REPEAT:
    ; clear the flags: 1 = maybe prime
    IMM32 R1, FLAGS
    IMM32 R2, FLAGS + SIZE
    IMM32 R3, 1
CLEAR:
    STB R1, R3, 0
    ADDI R1, R1, 1
    SLT R4, R1, R2
    JNZ R4, CLEAR
    ; cross out multiples, counting primes as we go
    IMM32 R0, 0                  ; count
    IMM32 R1, 2                  ; candidate
    IMM32 R5, SIZE
OUTER:
    LDB R4, R1, FLAGS
    JZ R4, NEXT
    ADDI R0, R0, 1
    ADD R2, R1, R1               ; first multiple
CROSS:
    SLT R4, R2, R5
    JZ R4, NEXT
    IMM32 R3, 0
    STB R2, R3, FLAGS
    ADD R2, R2, R1
    JMP CROSS
NEXT:
    ADDI R1, R1, 1
    SLT R4, R1, R5
    JNZ R4, OUTER
    ADDI R6, R6, -1
    JNZ R6, REPEAT
    MOV R1, R0
    SYSCALL SYS_PRINT_INT
    HALT
