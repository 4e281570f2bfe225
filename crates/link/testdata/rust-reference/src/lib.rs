//! `../reference.bpf.c` in Rust, written the way btfkit's macros compile
//! it: one call of an undefined `btfkit:v1:...` function per query, and one
//! `.btfkit.types` descriptor record per relocatable type.
#![no_std]
#![allow(clippy::missing_safety_doc)]

macro_rules! descriptor {
    ($name:ident, $text:literal) => {
        #[used]
        #[link_section = ".btfkit.types"]
        static $name: [u8; $text.len()] = *$text;
    };
}

descriptor!(
    TASK_STRUCT,
    b"BTFKIT1 struct task_struct{pid:i4;tgid:i4;real_parent:*struct task_struct;flag:u1/1;two:u1/3;bits:u4/20;?__anon_1:union task_struct__anon_1;comm:[i1;16];in:[struct inner;2];b:bool;sc:i1;s:i2;us:u2;l:i8;ul:u8;fp:*struct fwdonly;st:enum state;bg:enum big;}\n"
);
descriptor!(
    TASK_STRUCT_ANON_1,
    b"BTFKIT1 union task_struct__anon_1{ua:i4;ub:i8;}\n"
);
descriptor!(INNER, b"BTFKIT1 struct inner{x:i4;y:u8;}\n");
descriptor!(STATE, b"BTFKIT1 enum state:4:s{ST_A=1;ST_B=-2;}\n");
descriptor!(BIG, b"BTFKIT1 enum big:8:u{BIG_A=4294967296;BIG_B=5;}\n");
descriptor!(
    TASK_STRUCT_V1,
    b"BTFKIT1 struct task_struct___v1{pid:i4;tgid:i4;}\n"
);

extern "C" {
    #[link_name = "btfkit:v1:byte_off:task_struct:pid"]
    fn q_pid_off() -> usize;
    #[link_name = "btfkit:v1:field_exists:task_struct:pid"]
    fn q_pid_exists() -> usize;
    #[link_name = "btfkit:v1:field_exists:task_struct:tgid"]
    fn q_tgid_exists() -> usize;
    #[link_name = "btfkit:v1:byte_sz:task_struct:comm"]
    fn q_comm_size() -> usize;
    #[link_name = "btfkit:v1:byte_off:task_struct:__anon_1.ub"]
    fn q_ub_off() -> usize;
    #[link_name = "btfkit:v1:byte_off:task_struct:in[1].y"]
    fn q_in1y_off() -> usize;
    #[link_name = "btfkit:v1:byte_off:task_struct:comm[3]"]
    fn q_comm3_off() -> usize;
    #[link_name = "btfkit:v1:byte_sz:task_struct:bits"]
    fn q_bits_size() -> usize;
    #[link_name = "btfkit:v1:byte_off:task_struct:bits"]
    fn q_bits_off() -> usize;
    #[link_name = "btfkit:v1:lshift_u64:task_struct:two"]
    fn q_two_lshift() -> usize;
    #[link_name = "btfkit:v1:rshift_u64:task_struct:two"]
    fn q_two_rshift() -> usize;
    #[link_name = "btfkit:v1:signed:task_struct:sc"]
    fn q_sc_signed() -> usize;
    #[link_name = "btfkit:v1:type_exists:task_struct:"]
    fn q_task_exists() -> usize;
    #[link_name = "btfkit:v1:type_size:task_struct:"]
    fn q_task_size() -> usize;
    #[link_name = "btfkit:v1:enumval_value:state:ST_B"]
    fn q_st_b() -> usize;
    #[link_name = "btfkit:v1:enumval_exists:big:BIG_B"]
    fn q_big_b_exists() -> usize;
    #[link_name = "btfkit:v1:local_type_id:inner:"]
    fn q_inner_id() -> usize;
    #[link_name = "btfkit:v1:byte_off:task_struct___v1:tgid"]
    fn q_v1_tgid_off() -> usize;
    #[link_name = "btfkit:v1:field_exists:task_struct:fp"]
    fn q_fp_exists() -> usize;
    #[link_name = "btfkit:v1:byte_off:task_struct:bg"]
    fn q_bg_off() -> usize;
    #[link_name = "btfkit:v1:type_matches:inner:"]
    fn q_inner_matches() -> usize;
    #[link_name = "btfkit:v1:byte_off:task_struct:real_parent"]
    fn q_parent_off() -> usize;
    #[link_name = "btfkit:v1:byte_off:task_struct:real_parent->tgid"]
    fn q_parent_tgid_off() -> usize;
}

#[no_mangle]
static mut RESULTS: [i64; 32] = [0; 32];

#[inline(always)]
fn get_current_task() -> *const u8 {
    // SAFETY: helper 35 (bpf_get_current_task) takes no arguments.
    let f: unsafe extern "C" fn() -> u64 = unsafe { core::mem::transmute(35usize) };
    unsafe { f() as *const u8 }
}

#[inline(always)]
unsafe fn probe_read_kernel(dst: *mut u8, size: u32, src: *const u8) -> i64 {
    // SAFETY: helper 113 (bpf_probe_read_kernel) checks its source itself.
    let f: unsafe extern "C" fn(*mut u8, u32, *const u8) -> i64 = core::mem::transmute(113usize);
    f(dst, size, src)
}

#[inline(always)]
fn store(slot: usize, value: usize) {
    // SAFETY: one program writes its own global array, as the C program does.
    unsafe {
        core::ptr::write_volatile(
            core::ptr::addr_of_mut!(RESULTS).cast::<i64>().add(slot),
            value as i64,
        )
    }
}

#[no_mangle]
#[link_section = "raw_tp/sys_enter"]
pub extern "C" fn queries(_ctx: *mut u8) -> i32 {
    // SAFETY: every marker becomes `mov64 r0, imm` in the link step.
    unsafe {
        store(0, q_pid_off());
        store(1, q_tgid_exists());
        store(2, q_comm_size());
        store(3, q_ub_off());
        store(4, q_in1y_off());
        store(5, q_comm3_off());
        store(6, q_bits_size());
        store(7, q_bits_off());
        store(8, q_two_lshift());
        store(9, q_two_rshift());
        store(10, q_sc_signed());
        store(11, q_task_exists());
        store(12, q_task_size());
        store(13, q_st_b());
        store(14, q_big_b_exists());
        store(15, q_inner_id());
        store(16, q_v1_tgid_off());
        store(17, q_fp_exists());
        store(18, q_bg_off());
        store(19, q_inner_matches());
    }
    0
}

#[no_mangle]
#[link_section = "raw_tp/sys_enter"]
pub extern "C" fn offset_option(_ctx: *mut u8) -> i64 {
    // SAFETY: markers become `mov64 r0, imm`.
    unsafe {
        if q_pid_exists() != 0 {
            q_pid_off() as i64
        } else {
            -1
        }
    }
}

#[no_mangle]
#[link_section = "raw_tp/sys_enter"]
pub extern "C" fn field_exists(_ctx: *mut u8) -> i64 {
    // SAFETY: markers become `mov64 r0, imm`.
    unsafe { q_tgid_exists() as i64 }
}

#[no_mangle]
#[link_section = "raw_tp/sys_enter"]
pub extern "C" fn read_one_hop(_ctx: *mut u8) -> i64 {
    let t = get_current_task();
    let mut pid = core::mem::MaybeUninit::<i32>::uninit();
    // SAFETY: the helper reads kernel memory safely (zeroing the
    // destination on failure); markers become movs.
    unsafe {
        probe_read_kernel(pid.as_mut_ptr().cast(), 4, t.add(q_pid_off()));
        pid.assume_init() as i64
    }
}

#[no_mangle]
#[link_section = "raw_tp/sys_enter"]
pub extern "C" fn read_two_hops(_ctx: *mut u8) -> i64 {
    let t = get_current_task();
    let mut parent = core::mem::MaybeUninit::<*const u8>::uninit();
    let mut tgid = core::mem::MaybeUninit::<i32>::uninit();
    // SAFETY: the helper reads kernel memory safely (zeroing the
    // destination on failure); markers become movs.
    unsafe {
        probe_read_kernel(parent.as_mut_ptr().cast(), 8, t.add(q_parent_off()));
        probe_read_kernel(
            tgid.as_mut_ptr().cast(),
            4,
            parent.assume_init().add(q_parent_tgid_off()),
        );
        tgid.assume_init() as i64
    }
}

#[no_mangle]
#[link_section = "license"]
pub static LICENSE: [u8; 4] = *b"GPL\0";

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}
