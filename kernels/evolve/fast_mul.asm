; naive_mul.asm's result (37 * 23 = 851, stored at 0x8000 and printed) in five
; instructions: the kernel the README's Phase 3 walk-through drops into build/.
    IMM32 R1, 37
    IMM32 R2, 23
    MUL R1, R1, R2
    STORE 0x8000, R1
    SYSCALL SYS_PRINT_INT    ; 851
    HALT
