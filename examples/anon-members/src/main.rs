//! CO-RE paths through anonymous structs and unions, written flat as in C:
//! `outer.depth4` crosses four anonymous members (a union, a struct, a union,
//! a struct), `inn.iu_b` one inside a named member, `top.tc` one inside a
//! union, and `core_read!` follows a pointer that sits in an anonymous
//! struct. Its C twin (`twin.bpf.c`) must get the same CO-RE records from
//! clang-22; the program is not meant to run (no kernel has these types).
#![no_std]
#![no_main]

#[btf::relocatable]
pub union inner__iu_a {
    pub iu_a: i32,
    pub iu_b: i64,
}

#[btf::relocatable]
pub struct inner {
    pub x: i32,
    #[btf(anon)]
    pub __anon_1: inner__iu_a,
}

#[btf::relocatable]
pub struct outer__depth4 {
    pub depth4: i32,
    #[btf(bits = 3)]
    pub bits4: u32,
}

#[btf::relocatable]
pub union outer__c3 {
    pub c3: i8,
    #[btf(anon)]
    pub __anon_1: outer__depth4,
}

#[btf::relocatable]
pub struct outer__s_a {
    pub s_a: i16,
    #[btf(anon)]
    pub __anon_1: outer__c3,
    pub next: *const outer,
}

#[btf::relocatable]
pub union outer__u_a {
    pub u_a: i32,
    #[btf(anon)]
    pub __anon_1: outer__s_a,
}

#[btf::relocatable]
pub struct outer__tail_a {
    pub tail_a: i64,
}

#[btf::relocatable]
pub struct outer {
    pub head: i32,
    #[btf(anon)]
    pub __anon_1: outer__u_a,
    pub inn: inner,
    #[btf(anon)]
    pub __anon_2: outer__tail_a,
}

#[btf::relocatable]
pub struct top__tb {
    pub tb: i16,
    pub tc: i16,
}

#[btf::relocatable]
pub union top {
    pub ta: i32,
    #[btf(anon)]
    pub __anon_1: top__tb,
}

#[no_mangle]
#[link_section = ".bss"]
pub static mut RESULTS: [u64; 10] = [0; 10];

fn some(v: Option<usize>) -> u64 {
    v.map_or(u64::MAX, |v| v as u64)
}

#[no_mangle]
#[link_section = "raw_tp/sys_enter"]
pub extern "C" fn anon_members(ctx: *mut u8) -> i32 {
    let o = ctx as *const outer;
    let r = &raw mut RESULTS;
    // SAFETY: the globals are only written here; core_read! reads through
    // bpf_probe_read_kernel.
    unsafe {
        (*r)[0] = some(btf::field_byte_offset!(outer, depth4));
        (*r)[1] = some(btf::field_byte_offset!(outer, u_a));
        (*r)[2] = some(btf::field_byte_offset!(outer, s_a));
        (*r)[3] = some(btf::field_byte_size!(outer, c3));
        (*r)[4] = some(btf::field_byte_offset!(outer, tail_a));
        (*r)[5] = btf::field_exists!(outer, inn.iu_b) as u64;
        (*r)[6] = some(btf::field_byte_offset!(top, tc));
        (*r)[7] = u64::from(btf::field_lshift_u64!(outer, bits4));
        (*r)[8] = btf::core_read!(o: outer, next, depth4).map_or(u64::MAX, |v| v as u64);
        // The anonymous members' Rust names still work, and give the same
        // access string as the flat path.
        (*r)[9] = some(btf::field_byte_offset!(outer, __anon_1.__anon_1.s_a));
    }
    0
}

#[link_section = "license"]
#[no_mangle]
pub static LICENSE: [u8; 4] = *b"GPL\0";

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}
