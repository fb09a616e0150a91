; Kernel v1.0 — the seed's original kernel (73 bytes, 16 cycles).
; It announces itself, draws its generation marker, asks the host to replace it
; with build/kernel_v2.bin (file id 301), and halts. The host performs the
; replacement after the halt.

START:
    IMM32 R1, 1          ; "PXVM booting..."
    SYSCALL 1            ; PRINT

    IMM32 R1, 4          ; "Kernel init done."
    SYSCALL 1

    ; generation marker: a 100x100 square at (50, 50) in the window-frame color
    IMM32 R1, 50         ; x
    IMM32 R2, 50         ; y
    IMM32 R3, 100        ; w
    IMM32 R4, 100        ; h
    IMM32 R5, 1          ; color 1
    SYSCALL 2            ; RECT

    IMM32 R1, 5          ; "Process started."
    SYSCALL 1

    ; evolve: request replacement by build/kernel_v2.bin
    IMM32 R1, 301        ; file id 301
    SYSCALL 99           ; SELF_MODIFY; R0 = 1 if the replacement is pending

    IMM32 R1, 6          ; "Process terminated."
    SYSCALL 1

    HALT
