; Benchmark: countdown — the tightest loop of the original ISA (SUB / CMP / JZ).
; Counts N down to 0 (3 instructions per iteration) and prints the final counter.
; `pxos bench` sets N by patching the word at address 5.

    JMP START
N:  .word 1000                   ; iterations
START:
    LOAD R0, N
    IMM32 R1, 1
    IMM32 R2, 0
LOOP:
    SUB R0, R0, R1
    CMP R3, R0, R2               ; R3 = (R0 == 0)
    JZ R3, LOOP                  ; loop while R0 != 0
    MOV R1, R0
    SYSCALL SYS_PRINT_INT        ; 0
    HALT
