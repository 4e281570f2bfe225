//! Reads `task_struct.bpf_net_context` WITHOUT a guard. The field exists
//! since Linux 6.11: on 6.12 and later the read is relocated and the program
//! loads; on 6.1 the relocation is poisoned, the poisoned instruction is
//! reachable and the verifier rejects the program. `btfkit check` maps the
//! verifier's complaint back to the relocation
//! (`crates/cli/tests/vm_matrix.rs` checks it on real kernels). Compare
//! `examples/guarded-read`, whose reads of a missing field are guarded.
#![no_std]
#![no_main]

#[btf::relocatable]
pub struct task_struct {
    pub bpf_net_context: *const u8,
}

#[no_mangle]
#[link_section = ".bss"]
pub static mut OUT: u64 = 0;

/// Runs on every system call entry.
#[no_mangle]
#[link_section = "raw_tp/sys_enter"]
pub extern "C" fn unguarded_read(_ctx: *mut u8) -> i32 {
    // SAFETY: helper 35, bpf_get_current_task, takes no arguments; the read
    // goes through bpf_probe_read_kernel; OUT is only written here.
    unsafe {
        let helper: unsafe extern "C" fn() -> u64 = core::mem::transmute(35usize);
        let task = helper() as *const task_struct;
        let ctx = btf::core_read!(task: task_struct, bpf_net_context).map_or(0, |p| p as u64);
        core::ptr::write_volatile(&raw mut OUT, ctx);
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
