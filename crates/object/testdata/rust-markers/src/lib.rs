//! Mimics what `btf` macros leave in an object: query markers (calls of
//! undefined functions named by the query) and a `.btfkit.types` record.
#![no_std]

extern "C" {
    #[link_name = "btfkit:v1:byte_off:task_struct:pid"]
    fn marker_pid_offset() -> usize;
    #[link_name = "btfkit:v1:field_exists:task_struct:tgid"]
    fn marker_tgid_exists() -> usize;
}

#[used]
#[link_section = ".btfkit.types"]
static TASK_STRUCT: [u8; 37] = *b"BTFKIT1 struct task_struct{pid:i32;}\n";

#[no_mangle]
#[link_section = "raw_tp/sys_enter"]
pub extern "C" fn rust_prog(_ctx: *mut u8) -> i32 {
    // SAFETY: the markers are replaced by `mov64 r0, imm` before loading.
    unsafe { (marker_pid_offset() + marker_tgid_exists()) as i32 }
}

#[no_mangle]
#[link_section = "socket"]
pub extern "C" fn rust_socket(_ctx: *mut u8) -> i32 {
    0
}

#[no_mangle]
#[link_section = "license"]
pub static LICENSE: [u8; 4] = *b"GPL\0";

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}
