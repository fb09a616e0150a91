; A counted loop: sum 10 + 9 + ... + 1 and print the total (55).
; Uses the pxOS extensions ADDI and JNZ, and the PRINT_INT syscall.

    IMM32 R0, 0              ; sum
    IMM32 R1, 10             ; i
LOOP:
    ADD R0, R0, R1           ; sum += i
    ADDI R1, R1, -1          ; i -= 1
    JNZ R1, LOOP             ; until i == 0
    MOV R1, R0
    SYSCALL SYS_PRINT_INT    ; prints 55
    HALT
