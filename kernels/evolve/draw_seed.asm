; Seed for the `draw` goal: one light-blue square, too small and in the wrong place.

    IMM32 R1, 300
    IMM32 R2, 300
    IMM32 R3, 60
    IMM32 R4, 60
    IMM32 R5, 5
    SYSCALL SYS_RECT
    HALT
