//! {{name}}'s BPF program: on every exec, reads the new task's pid, parent's
//! pid, real uid and name through CO-RE queries (`btf::core_read!`) and sends
//! them to user space through a ring buffer (a BTF-defined map in `.maps`,
//! as libbpf wants).
#![no_std]
#![no_main]

use aya_ebpf::{
    helpers::bpf_get_current_task,
    btf_maps::RingBuf,
    macros::{btf_map, raw_tracepoint},
    programs::RawTracePointContext,
};
use {{crate}}_common::Event;
use {{crate}}_vmlinux::task_struct;

/// Events for user space.
/// Its value type is `()`: libbpf wants a ring buffer's value size to be 0.
#[btf_map]
static EVENTS: RingBuf<(), { 64 * 1024 }> = RingBuf::new();

/// Runs after every successful exec, in the exec'ing task.
#[raw_tracepoint(tracepoint = "sched_process_exec")]
pub fn {{crate}}(_ctx: RawTracePointContext) -> i32 {
    // SAFETY: bpf_get_current_task has no preconditions in a tracing program.
    let task = unsafe { bpf_get_current_task() } as *const task_struct;
    if let Some(mut entry) = EVENTS.reserve_untyped::<Event>(0) {
        entry.write(read_event(task));
        entry.submit(0);
    }
    0
}

/// The fields of `task`, each at the offset CO-RE relocated for the kernel.
#[inline(always)]
fn read_event(task: *const task_struct) -> Event {
    // SAFETY: core_read! reads kernel memory with bpf_probe_read_kernel only.
    unsafe {
        let pid = btf::core_read!(task: task_struct, tgid);
        let ppid = btf::core_read!(task: task_struct, real_parent, tgid);
        let uid = btf::core_read!(task: task_struct, real_cred, uid.val);
        let comm = btf::core_read!(task: task_struct, comm);
        Event {
            ok: (pid.is_ok() && ppid.is_ok() && uid.is_ok() && comm.is_ok()) as u32,
            pid: pid.unwrap_or(-1) as u32,
            ppid: ppid.unwrap_or(-1) as u32,
            uid: uid.unwrap_or(u32::MAX),
            comm: comm.unwrap_or([0; 16]),
        }
    }
}

#[link_section = "license"]
#[no_mangle]
static LICENSE: [u8; 4] = *b"GPL\0";

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}
