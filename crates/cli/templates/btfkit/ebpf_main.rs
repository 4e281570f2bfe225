//! {{name}}'s BPF program: on every exec, reads the new task's pid, parent's
//! pid, real uid and name through CO-RE queries (`btf::core_read!`) into a
//! ring of slots in `.bss` that user space polls (btfkit-loader maps global
//! data, not BPF ring buffers).
#![no_std]
#![no_main]

use {{crate}}_common::{Event, SLOTS};
use {{crate}}_vmlinux::task_struct;

/// Events, the newest at `count % SLOTS`.
#[repr(C)]
pub struct Ring {
    /// Events recorded so far.
    pub count: u64,
    /// The slots.
    pub events: [Event; SLOTS],
}

#[no_mangle]
#[link_section = ".bss"]
static mut RING: Ring = Ring {
    count: 0,
    events: [Event { pid: 0, ppid: 0, uid: 0, ok: 0, comm: [0; 16] }; SLOTS],
};

#[inline(always)]
fn current_task() -> *const task_struct {
    // SAFETY: helper 35, bpf_get_current_task, takes no arguments.
    let helper: unsafe extern "C" fn() -> u64 = unsafe { core::mem::transmute(35usize) };
    unsafe { helper() as *const task_struct }
}

/// Runs after every successful exec, in the exec'ing task.
#[no_mangle]
#[link_section = "raw_tp/sched_process_exec"]
pub extern "C" fn {{crate}}(_ctx: *mut u8) -> i32 {
    let task = current_task();
    // SAFETY: core_read! reads kernel memory with bpf_probe_read_kernel only;
    // RING is written only here (a racing exec on another CPU may overwrite a slot).
    unsafe {
        let pid = btf::core_read!(task: task_struct, tgid);
        let ppid = btf::core_read!(task: task_struct, real_parent, tgid);
        let uid = btf::core_read!(task: task_struct, real_cred, uid.val);
        let comm = btf::core_read!(task: task_struct, comm);
        let ring = &raw mut RING;
        let slot = ((*ring).count % SLOTS as u64) as usize;
        if let Some(e) = (*ring).events.get_mut(slot) {
            // Field by field: a whole-struct store may become a memset call.
            e.ok = (pid.is_ok() && ppid.is_ok() && uid.is_ok() && comm.is_ok()) as u32;
            e.pid = pid.unwrap_or(-1) as u32;
            e.ppid = ppid.unwrap_or(-1) as u32;
            e.uid = uid.unwrap_or(u32::MAX);
            if let Ok(comm) = comm {
                e.comm = comm;
            }
        }
        (*ring).count += 1;
    }
    0
}

#[link_section = "license"]
#[no_mangle]
static LICENSE: [u8; 4] = *b"GPL\0";

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}
