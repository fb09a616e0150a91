//! First-light tests: straight-line code, a loop, and a fuel sweep.

use super::*;
use pxvm::Opcode::*;

#[test]
fn straight_line_arithmetic() {
    let mut c = Code::new();
    c.imm(1, 7);
    c.imm(2, -3);
    c.rrr(ADD, 3, 1, 2);
    c.rrr(MUL, 4, 1, 2);
    c.rrr(DIV, 5, 1, 2);
    c.rrr(MOD, 6, 1, 2);
    c.halt();
    let o = agree(&c.bytes, 100);
    assert_eq!(o.machine.regs[3..7], [4, -21, -2, 1]);
}

#[test]
fn countdown_loop_every_fuel() {
    let mut c = Code::new();
    c.imm(0, 20);
    c.imm(1, 1);
    let top = c.rrr(SUB, 0, 0, 1);
    c.jnz(0, top);
    c.sys(8);
    c.halt();
    for fuel in 0..60 {
        agree(&c.bytes, fuel);
    }
    let o = agree(&c.bytes, 1000);
    assert_eq!(o.exit, pxvm::Exit::Halt);
}
