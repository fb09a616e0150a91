; A deliberately naive reference for the `faster` goal (a superoptimiser run):
; computes 37 * 23 by repeated addition, with redundant work in the loop, stores the
; product at 0x8000 and prints it. Evolve it toward the same output and memory in
; fewer cycles:
;   pxos evolve kernels/evolve/naive_mul.asm --goal faster --reference kernels/evolve/naive_mul.asm

    IMM32 R0, 0              ; product
    IMM32 R1, 37             ; addend
    IMM32 R2, 23             ; counter
    IMM32 R3, 1
    IMM32 R4, 0
LOOP:
    MOV R5, R1               ; redundant copy
    ADD R0, R0, R5
    NOP
    ADDI R6, R6, 0           ; does nothing
    SUB R2, R2, R3
    CMP R7, R2, R4           ; counter == 0?
    JZ R7, LOOP
    STORE 0x8000, R0
    MOV R1, R0
    SYSCALL SYS_PRINT_INT    ; 851
    HALT
