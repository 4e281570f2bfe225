#![no_std]
#![no_main]

use aya_ebpf::{
    helpers::bpf_get_current_task,
    macros::{map, raw_tracepoint},
    maps::RingBuf,
    programs::RawTracePointContext,
};
use myapp_common::Event;

/// Step 2 of the guide: the kernel type, as much of it as the program reads,
/// in no kernel's order (CO-RE relocates every access).
#[btf::relocatable]
#[allow(non_camel_case_types)]
pub struct task_struct {
    pub comm: [u8; 16],
    pub real_parent: *const task_struct,
    pub tgid: i32,
}

#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(16 * 1024, 0);

#[raw_tracepoint(tracepoint = "sched_process_exec")]
pub fn myapp(_ctx: RawTracePointContext) -> i32 {
    // SAFETY: no preconditions in a tracing program.
    let task = unsafe { bpf_get_current_task() } as *const task_struct;
    if let Some(mut entry) = EVENTS.reserve::<Event>(0) {
        // SAFETY: core_read! reads kernel memory with bpf_probe_read_kernel only.
        let event = unsafe {
            Event {
                pid: btf::core_read!(task: task_struct, tgid).unwrap_or(-1) as u32,
                ppid: btf::core_read!(task: task_struct, real_parent, tgid).unwrap_or(-1) as u32,
                comm: btf::core_read!(task: task_struct, comm).unwrap_or([0; 16]),
            }
        };
        entry.write(event);
        entry.submit(0);
    }
    0
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}

#[link_section = "license"]
#[no_mangle]
static LICENSE: [u8; 13] = *b"Dual MIT/GPL\0";
