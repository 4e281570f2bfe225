//! The `btfkit demo` program: on every exec, records the new program's pid,
//! its parent's pid and its name, reading `task_struct` through CO-RE
//! relocated offsets, into a ring of slots user space polls.
#![no_std]
#![no_main]

/// The fields the demo reads, in no kernel's order.
#[btf::relocatable]
pub struct task_struct {
    pub comm: [u8; 16],
    pub real_parent: *const task_struct,
    pub tgid: i32,
}

/// One exec.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Event {
    /// The process id.
    pub pid: u32,
    /// The parent's process id.
    pub ppid: u32,
    /// The new program's name.
    pub comm: [u8; 16],
}

/// Slots in the ring.
pub const SLOTS: usize = 64;

/// Events, newest at `count % SLOTS`.
#[repr(C)]
pub struct Ring {
    /// Events recorded so far.
    pub count: u64,
    /// The slots.
    pub events: [Event; SLOTS],
}

#[no_mangle]
#[link_section = ".bss"]
pub static mut RING: Ring = Ring {
    count: 0,
    events: [Event { pid: 0, ppid: 0, comm: [0; 16] }; SLOTS],
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
pub extern "C" fn exec_events(_ctx: *mut u8) -> i32 {
    let task = current_task();
    // SAFETY: reads go through bpf_probe_read_kernel; RING is only written
    // here (a racing exec on another CPU can overwrite one slot).
    unsafe {
        let ring = &raw mut RING;
        let slot = ((*ring).count % SLOTS as u64) as usize;
        if let Some(e) = (*ring).events.get_mut(slot) {
            e.pid = btf::core_read!(task: task_struct, tgid).unwrap_or(-1) as u32;
            e.ppid = btf::core_read!(task: task_struct, real_parent, tgid).unwrap_or(-1) as u32;
            if let Ok(comm) = btf::core_read!(task: task_struct, comm) {
                e.comm = comm;
            }
        }
        (*ring).count += 1;
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
