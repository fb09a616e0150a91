; Seed for the `output` goal: evolve a kernel that prints the first Fibonacci numbers.
;   pxos evolve kernels/evolve/fib_seed.asm --goal output --target 0,1,1,2,3,5,8,13,21,34
; The seed only knows how to print one number; the search has to find the rest.

    IMM32 R1, 0
    SYSCALL SYS_PRINT_INT
    HALT
