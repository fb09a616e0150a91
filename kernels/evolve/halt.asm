; The empty seed for a search from scratch: with --init-length N, generation 0 is this kernel
; and random kernels of 1 to N instructions (the problem suite starts from it too).

    HALT
