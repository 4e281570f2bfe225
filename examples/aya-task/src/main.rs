//! `aya-task`: a raw tracepoint on `sys_enter`, written with aya-ebpf.
//!
//! User space (crates/e2e, `aya_leg`) sets `TARGET_TID` to the id of the thread
//! that will trigger the program, attaches it and makes a syscall from that
//! thread. The program then fills `RESULTS` (see the `SLOT_*` constants).
//!
//! With the `core` feature it also reads the current task's `pid`, `tgid` and
//! `real_parent->tgid` through btfkit CO-RE queries on a local `task_struct` whose
//! layout is deliberately wrong (three fields, wrong order): only the relocation
//! that aya performs at load time makes the reads right.
#![no_std]
#![no_main]

use aya_ebpf::{
    helpers::bpf_get_current_pid_tgid, macros::map, macros::raw_tracepoint, maps::Array,
    programs::RawTracePointContext, Global,
};

/// Slot: how many times the program ran for the target thread.
const SLOT_HITS: u32 = 0;
/// Slot: thread id from `bpf_get_current_pid_tgid` (low 32 bits).
const SLOT_HELPER_PID: u32 = 1;
/// Slot: process id from `bpf_get_current_pid_tgid` (high 32 bits).
const SLOT_HELPER_TGID: u32 = 2;
/// Slot: `task_struct.pid` read through CO-RE (`core` feature).
#[cfg(feature = "core")]
const SLOT_CORE_PID: u32 = 3;
/// Slot: `task_struct.tgid` read through CO-RE (`core` feature).
#[cfg(feature = "core")]
const SLOT_CORE_TGID: u32 = 4;
/// Slot: `task_struct.real_parent->tgid` read through CO-RE (`core` feature).
#[cfg(feature = "core")]
const SLOT_CORE_PARENT_TGID: u32 = 5;
/// Slot: the relocated byte offset of `task_struct.pid` (`core` feature).
#[cfg(feature = "core")]
const SLOT_CORE_PID_OFFSET: u32 = 6;
/// Number of slots in `RESULTS`.
const SLOTS: u32 = 8;

/// Thread id to watch, set by the loader (`override_global`).
#[unsafe(no_mangle)]
static TARGET_TID: Global<u32> = Global::new(0);

/// Results, one `u64` per slot.
#[map]
static RESULTS: Array<u64> = Array::with_max_entries(SLOTS, 0);

#[raw_tracepoint(tracepoint = "sys_enter")]
pub fn aya_task(_ctx: RawTracePointContext) -> i32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    let tid = pid_tgid as u32;
    let target = TARGET_TID.load();
    if target == 0 || tid != target {
        return 0;
    }
    store(SLOT_HELPER_PID, u64::from(tid));
    store(SLOT_HELPER_TGID, pid_tgid >> 32);
    #[cfg(feature = "core")]
    core_queries::record();
    if let Some(hits) = RESULTS.get_ptr_mut(SLOT_HITS) {
        // SAFETY: the pointer comes from a successful array lookup and stays valid for this run.
        unsafe { *hits += 1 };
    }
    0
}

#[cfg(feature = "core")]
mod core_queries {
    use aya_ebpf::helpers::{bpf_get_current_task, bpf_probe_read_kernel};

    use super::{store, SLOT_CORE_PARENT_TGID, SLOT_CORE_PID, SLOT_CORE_PID_OFFSET, SLOT_CORE_TGID};

    /// The kernel's `task_struct`, as little of it as this program needs and in the
    /// wrong order on purpose: the local offsets (0, 8, 16) are never the kernel's.
    #[btf::relocatable]
    #[allow(non_camel_case_types)]
    pub struct task_struct {
        pub tgid: i32,
        pub real_parent: *const task_struct,
        pub pid: i32,
    }

    /// Reads a `T` at `base + offset` in kernel memory.
    #[inline(always)]
    fn read_at<T>(base: *const u8, offset: usize) -> Option<T> {
        // SAFETY: bpf_probe_read_kernel checks the address; a bad one is an error, not a fault.
        unsafe { bpf_probe_read_kernel(base.wrapping_add(offset).cast::<T>()) }.ok()
    }

    /// Stores the current task's ids read through CO-RE queries.
    #[inline(always)]
    pub fn record() {
        // SAFETY: bpf_get_current_task has no preconditions in a tracing program.
        let task = unsafe { bpf_get_current_task() } as *const u8;
        let pid_offset = btf::field_byte_offset!(task_struct, pid);
        let tgid_offset = btf::field_byte_offset!(task_struct, tgid);
        let parent_offset = btf::field_byte_offset!(task_struct, real_parent);
        store(SLOT_CORE_PID_OFFSET, pid_offset as u64);
        if let Some(pid) = read_at::<i32>(task, pid_offset) {
            store(SLOT_CORE_PID, pid as u64);
        }
        if let Some(tgid) = read_at::<i32>(task, tgid_offset) {
            store(SLOT_CORE_TGID, tgid as u64);
        }
        if let Some(parent) = read_at::<*const u8>(task, parent_offset) {
            if let Some(tgid) = read_at::<i32>(parent, tgid_offset) {
                store(SLOT_CORE_PARENT_TGID, tgid as u64);
            }
        }
    }
}

#[inline(always)]
fn store(slot: u32, value: u64) {
    let _ = RESULTS.set(slot, value, 0);
}

/// GPL: `bpf_get_current_task` and `bpf_probe_read_kernel` are GPL-only helpers.
#[link_section = "license"]
#[no_mangle]
static LICENSE: [u8; 4] = *b"GPL\0";

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}
