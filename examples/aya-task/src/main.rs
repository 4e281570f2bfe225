//! `aya-task`: a raw tracepoint on `sys_enter`, written with aya-ebpf.
//!
//! User space (crates/e2e, `aya_leg`) sets `TARGET_TID` to the id of the thread
//! that will trigger the program, attaches it and makes a syscall from that
//! thread. The program then fills `RESULTS` (see the `SLOT_*` constants).
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
    if let Some(hits) = RESULTS.get_ptr_mut(SLOT_HITS) {
        // SAFETY: the pointer comes from a successful array lookup and stays valid for this run.
        unsafe { *hits += 1 };
    }
    0
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
