; A kernel that evolves itself. Each generation increments a counter stored in its own
; image (the .word at GEN), shows it — PRINT_INT of the generation, and a 40x40 square
; whose x and color follow the generation — writes its whole image, new counter
; included, to build/kernel_v2.bin (file id 301) and asks the host to replace it with
; that file (SELF_MODIFY). Under `pxos boot` generation N installs generation N+1 as
; its child, and so on.

    LOAD R6, GEN             ; the generation counter lives in this image
    ADDI R6, R6, 1
    STORE GEN, R6            ; the image written below carries the new value
    MOV R1, R6
    SYSCALL SYS_PRINT_INT    ; the generation

    ; marker: x = 20 + (16 * generation) mod 720, color 1 + generation mod 5
    IMM32 R2, 16
    MUL R1, R6, R2
    IMM32 R2, 720
    MOD R1, R1, R2
    ADDI R1, R1, 20          ; x
    IMM32 R2, 5
    MOD R5, R6, R2
    ADDI R5, R5, 1           ; color
    IMM32 R2, 100            ; y
    IMM32 R3, 40             ; w
    IMM32 R4, 40             ; h
    SYSCALL SYS_RECT

    ; write the image to build/kernel_v2.bin (file id 301, mode 2: create/truncate)
    IMM32 R1, 301
    IMM32 R2, 2
    SYSCALL SYS_FS_OPEN
    JZ R0, DONE              ; no file: nothing to evolve into
    MOV R7, R0               ; the handle
    MOV R1, R7
    IMM32 R2, 0              ; from address 0 ...
    IMM32 R3, END            ; ... the whole image
    SYSCALL SYS_FS_WRITE
    MOV R1, R7
    SYSCALL SYS_FS_CLOSE

    IMM32 R1, 301            ; evolve into what was just written
    SYSCALL SYS_SELF_MODIFY
DONE:
    HALT

GEN:
    .word 0                  ; the generation of the last boot
END:
