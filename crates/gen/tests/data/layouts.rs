//! The Rust side of crates/gen/tests/c_layouts.rs: the same `fill` and
//! `show` as `layouts.c`, on the fixed-layout bindings `btfkit gen` wrote
//! for `layouts.h` (in `gen.rs` beside this file).
#![allow(clippy::all)]

#[path = "gen.rs"]
mod gen;

use gen::*;
use std::io::{Read, Write};

fn fill(e: &mut everything) {
    e.b.set_a(5);
    e.b.set_b(-11);
    e.b.set_c(0xa5a5a5a5a5);
    e.b.set_col(color::RED);
    e.b.set_flag(true);
    e.b.d = 0xc3;
    e.b.set_e(-0x12345678);
    e.b.set_f(0x1ab);
    e.b.set_g(0xdeadbeef);
    e.b.set_h(0x0123456789abcdef);
    e.b.set_i(-1);
    e.b.set_uf(uflag::UF_B);
    // Plain `char` is `u8` in bindings whatever the BTF's signedness.
    e.p.c = -7i8 as u8;
    e.p.i = 0x11223344;
    e.p.l = -0x1122334455667788;
    e.p.set_bf(0x1abc);
    e.al.x = 42;
    e.al.y = 9;
    e.ho.a = 1;
    e.ho.o.c = 2;
    e.ho.b = 3;
    e.an.kind = 77;
    // SAFETY: writes into plain-data unions.
    unsafe {
        e.an.__anon_1.__anon_1.lo = -2;
        e.an.__anon_1.__anon_1.hi = 0x1234;
        e.ub.set_x(0x15);
    }
    e.an.pos.set_x(0xa);
    e.an.pos.set_y(0xbcdef12);
    e.kw.r#type = 1;
    e.kw.r#fn = 2;
    e.kw.self_ = 3;
    e.kw.Self_ = 4;
    e.kw.crate_ = 5;
    e.c2.q = 6;
    e.at.q = 7;
    e.col = color::BLUE;
    e.b64 = big64::BIG_A;
    e.sb64 = sbig64::SB_MIN;
    e.co.x = 8;
    e.ct = 9;
    e.sh.shadow = 10;
    e.small = 200;
}

fn show(e: &everything) {
    let s = |name: &str, v: i64| println!("{name}={v}");
    let u = |name: &str, v: u64| println!("{name}={v}");
    u("b.a", e.b.a().into());
    s("b.b", e.b.b().into());
    u("b.c", e.b.c());
    s("b.col", e.b.col().0.into());
    u("b.flag", e.b.flag().into());
    u("b.d", e.b.d.into());
    s("b.e", e.b.e());
    u("b.f", e.b.f().into());
    u("b.g", e.b.g().into());
    u("b.h", e.b.h());
    s("b.i", e.b.i());
    u("b.uf", e.b.uf().0.into());
    s("p.c", ({ e.p.c } as i8).into());
    s("p.i", { e.p.i }.into());
    s("p.l", e.p.l);
    u("p.bf", e.p.bf().into());
    s("al.x", e.al.x.into());
    s("al.y", e.al.y.into());
    s("ho.a", e.ho.a.into());
    s("ho.o.c", e.ho.o.c.into());
    s("ho.b", e.ho.b.into());
    s("an.kind", e.an.kind.into());
    // SAFETY: reads of plain-data unions that `fill` or C initialised.
    unsafe {
        s("an.lo", e.an.__anon_1.__anon_1.lo.into());
        s("an.hi", e.an.__anon_1.__anon_1.hi.into());
    }
    u("an.pos.x", e.an.pos.x().into());
    u("an.pos.y", e.an.pos.y().into());
    // SAFETY: as above.
    unsafe {
        u("ub.x", e.ub.x().into());
        s("ub.y", e.ub.y().into());
    }
    s("kw.type", e.kw.r#type.into());
    s("kw.fn", e.kw.r#fn.into());
    s("kw.self", e.kw.self_.into());
    s("kw.Self", e.kw.Self_.into());
    s("kw.crate", e.kw.crate_.into());
    s("c2.q", e.c2.q.into());
    s("at.q", e.at.q.into());
    s("col", e.col.0.into());
    u("b64", e.b64.0);
    s("sb64", e.sb64.0);
    s("co.x", e.co.x.into());
    s("ct", e.ct.into());
    s("sh.shadow", e.sh.shadow.into());
    u("small", e.small.into());
    u("sizeof", core::mem::size_of::<everything>() as u64);
}

/// `fill`: write the filled struct's bytes; `show`: print the struct read
/// from standard input.
fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    // SAFETY: every type in the bindings is plain data; all-zero is valid.
    let mut e: everything = unsafe { core::mem::zeroed() };
    if mode == "fill" {
        fill(&mut e);
        // SAFETY: `e` is initialised plain data of that size.
        let bytes = unsafe {
            core::slice::from_raw_parts(
                (&raw const e).cast::<u8>(),
                core::mem::size_of::<everything>(),
            )
        };
        std::io::stdout().write_all(bytes).unwrap();
    } else if mode == "show" {
        let mut bytes = Vec::new();
        std::io::stdin().read_to_end(&mut bytes).unwrap();
        assert_eq!(bytes.len(), core::mem::size_of::<everything>());
        // SAFETY: as many bytes as the struct; any bytes are valid plain data
        // here (bool members hold what C wrote: 0 or 1).
        e = unsafe { core::ptr::read_unaligned(bytes.as_ptr().cast()) };
        show(&e);
    } else {
        std::process::exit(2);
    }
}
