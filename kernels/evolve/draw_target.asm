; The picture the `draw` example aims for: render it once to make the target PNG,
;   pxos run kernels/evolve/draw_target.asm --png target.png
; then evolve kernels/evolve/draw_seed.asm toward it with --goal draw --target-png target.png.

    IMM32 R1, 100            ; a light-blue square
    IMM32 R2, 100
    IMM32 R3, 200
    IMM32 R4, 200
    IMM32 R5, 5
    SYSCALL SYS_RECT
    IMM32 R1, 400            ; a white bar beside it
    IMM32 R2, 150
    IMM32 R3, 250
    IMM32 R4, 60
    IMM32 R5, 4
    SYSCALL SYS_RECT
    HALT
