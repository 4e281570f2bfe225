//! Reads a `task_struct` field no kernel has: every query for it is relocated
//! to "absent" and its instructions are poisoned, and the program still loads
//! because no path reaches them. The engine's reachability test loads it
//! (`crates/e2e/tests/reachability_kernel.rs`).
#![no_std]
#![no_main]

#[btf::relocatable]
pub struct task_struct {
    pub pid: i32,
    pub btfkit_no_such_field: u64,
}

#[no_mangle]
#[link_section = ".bss"]
pub static mut OUT: [u64; 4] = [0; 4];

#[inline(always)]
fn current_task() -> *const task_struct {
    // SAFETY: helper 35, bpf_get_current_task, takes no arguments.
    let helper: unsafe extern "C" fn() -> u64 = unsafe { core::mem::transmute(35usize) };
    unsafe { helper() as *const task_struct }
}

/// Runs on every system call entry.
#[no_mangle]
#[link_section = "raw_tp/sys_enter"]
pub extern "C" fn guarded_read(_ctx: *mut u8) -> i32 {
    let task = current_task();
    let out = &raw mut OUT;
    // SAFETY: `task` is the current task; the read goes through bpf_probe_read_kernel.
    unsafe {
        if btf::field_exists!(task_struct, btfkit_no_such_field) {
            (*out)[0] = btf::core_read!(task: task_struct, btfkit_no_such_field).unwrap_or(0);
        }
        (*out)[1] = btf::field_byte_offset!(task_struct, btfkit_no_such_field).map_or(0, |o| o as u64);
        (*out)[2] = btf::core_read!(task: task_struct, pid).map_or(0, |p| p as u64);
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
