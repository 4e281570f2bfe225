//! Rust types of several shapes (structs, a C-like enum, a data-carrying
//! enum, arrays, pointers, function pointers, statics in .data/.bss/.rodata)
//! so bpf-linker writes a varied `.BTF` for the dump test.
#![no_std]

/// A plain C struct with padding and an array.
#[repr(C)]
pub struct Event {
    pub pid: u32,
    pub flags: u8,
    pub ts: u64,
    pub comm: [u8; 16],
    pub next: *const Event,
    pub kind: Kind,
    pub callback: Option<extern "C" fn(u32, *mut u8) -> i64>,
}

/// A C-like enum with explicit discriminants.
#[repr(u16)]
#[derive(Clone, Copy)]
pub enum Kind {
    Open = 1,
    Close = 2,
    Huge = 0xfff0,
}

/// An enum with data (Rust lays it out as a tagged union).
pub enum Payload {
    Empty,
    Number(i64),
    Pair(u32, i16),
}

#[no_mangle]
static mut EVENTS: [Event; 2] = [
    Event { pid: 0, flags: 0, ts: 0, comm: [0; 16], next: core::ptr::null(), kind: Kind::Open, callback: None },
    Event { pid: 1, flags: 2, ts: 3, comm: [0; 16], next: core::ptr::null(), kind: Kind::Huge, callback: None },
];

#[no_mangle]
static mut COUNTER: u64 = 7;

#[no_mangle]
static LIMITS: (i8, i32, f32, f64, bool, char) = (-1, 2, 0.5, 0.25, true, 'x');

#[inline(never)]
fn weigh(p: &Payload) -> i64 {
    match p {
        Payload::Empty => 0,
        Payload::Number(n) => *n,
        Payload::Pair(a, b) => *a as i64 + *b as i64,
    }
}

/// The program.
#[no_mangle]
#[link_section = "socket"]
pub extern "C" fn tiny(ctx: *mut u8) -> i64 {
    // SAFETY: single-threaded BPF program, plain accesses to its own globals.
    unsafe {
        let e = &mut *core::ptr::addr_of_mut!(EVENTS);
        e[0].pid += 1;
        COUNTER += e[1].kind as u64 + LIMITS.1 as u64;
        let p = if ctx.is_null() { Payload::Empty } else { Payload::Pair(e[0].pid, -3) };
        weigh(&p) + weigh(&Payload::Number(COUNTER as i64))
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}
