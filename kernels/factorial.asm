; Recursive functions with CALL/RET: print 1!, 2!, ..., 10!.
; The stack grows down from the top of memory; R7 is the stack pointer.

    IMM32 R7, 0x10000        ; empty stack: the first CALL stores at 65532
    IMM32 R6, 1              ; n
    IMM32 R5, 11             ; stop when n reaches 11
NEXT:
    MOV R1, R6
    CALL FACT                ; R0 = n!
    MOV R1, R0
    SYSCALL SYS_PRINT_INT
    ADDI R6, R6, 1
    SLT R2, R6, R5
    JNZ R2, NEXT
    HALT

; FACT: R0 = R1! (recursive); preserves R1
FACT:
    JNZ R1, FACT_REC
    IMM32 R0, 1              ; 0! = 1
    RET
FACT_REC:
    ADDI R7, R7, -4          ; push n
    STW R7, R1, 0
    ADDI R1, R1, -1
    CALL FACT                ; R0 = (n - 1)!
    LDW R1, R7, 0            ; pop n
    ADDI R7, R7, 4
    MUL R0, R0, R1
    RET
