; Benchmark: memcpy — moves 32 KiB per repetition word by word (LDW / STW): 16 KiB from
; SRC to DST and back again (two 32 KiB buffers would not leave room for the code in
; 64 KiB of memory). Repeated N times, then prints a checksum of DST.
; The source is filled with i * 2654435761 (wrapping).

    JMP START
N:  .word 1                      ; repetitions
    .equ SRC, 0x1000
    .equ DST, 0x5000
    .equ LEN, 0x4000             ; 16 KiB each way
START:
    ; fill the source
    IMM32 R1, 0                  ; offset
    IMM32 R2, LEN
    IMM32 R3, 0                  ; value
    IMM32 R4, -1640531535        ; 2654435761 as i32
FILL:
    STW R1, R3, SRC
    ADD R3, R3, R4
    ADDI R1, R1, 4
    SLT R5, R1, R2
    JNZ R5, FILL
    LOAD R6, N
REPEAT:
    IMM32 R1, 0
THERE:
    LDW R3, R1, SRC
    STW R1, R3, DST
    ADDI R1, R1, 4
    SLT R5, R1, R2
    JNZ R5, THERE
    IMM32 R1, 0
BACK:
    LDW R3, R1, DST
    STW R1, R3, SRC
    ADDI R1, R1, 4
    SLT R5, R1, R2
    JNZ R5, BACK
    ADDI R6, R6, -1
    JNZ R6, REPEAT
    ; checksum: fold each word of DST in with XOR and rotate left by one
    IMM32 R0, 0
    IMM32 R1, 0
SUM:
    LDW R3, R1, DST
    XOR R0, R0, R3
    SHLI R5, R0, 1
    SHRI R0, R0, 31
    OR R0, R0, R5
    ADDI R1, R1, 4
    SLT R5, R1, R2
    JNZ R5, SUM
    MOV R1, R0
    SYSCALL SYS_PRINT_INT
    HALT
