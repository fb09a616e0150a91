; Kernel v2.0 — the seed's evolved kernel (65 bytes, 14 cycles).
; A larger light-blue marker at a new position, and a new capability: "PXVM ready."

START:
    IMM32 R1, 4          ; "Kernel init done."
    SYSCALL 1            ; PRINT

    ; evolution marker: a 150x150 square at (200, 50) in light blue
    IMM32 R1, 200        ; x
    IMM32 R2, 50         ; y
    IMM32 R3, 150        ; w
    IMM32 R4, 150        ; h
    IMM32 R5, 5          ; color 5
    SYSCALL 2            ; RECT

    IMM32 R1, 5          ; "Process started."
    SYSCALL 1

    IMM32 R1, 2          ; "PXVM ready." (v1.0 did not have this)
    SYSCALL 1

    IMM32 R1, 6          ; "Process terminated."
    SYSCALL 1

    HALT
