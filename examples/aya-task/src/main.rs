//! `aya-task`: a raw tracepoint on `sys_enter`, written with aya-ebpf.
//!
//! User space (crates/e2e, `aya_leg`) sets `TARGET_TID` to the id of the thread
//! that will trigger the program, attaches it and makes a syscall from that
//! thread. The program then fills `RESULTS` (see the `SLOT_*` constants).
//!
//! With a CO-RE feature it also reads the current task's `pid`, `tgid` and
//! `real_parent->tgid` at offsets given by btfkit CO-RE queries on a local
//! `task_struct` whose layout is deliberately wrong (three fields, wrong order):
//! only the relocation that aya performs at load time makes the reads right.
//! - `core`: `btf::core_read!` and `btf::field_byte_offset!` on a
//!   `#[btf::relocatable]` type (crates/btf).
//! - `markers`: the same queries written as what those macros compile to (the
//!   DESIGN.md contract): calls of undefined `btfkit:v1:...` functions and a
//!   `.btfkit.types` descriptor record. It needs no `btf` crate.
//!
//! Either object must go through `btfkit link` before a loader sees it.
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
/// Slot: `task_struct.pid` read through CO-RE.
#[cfg(any(feature = "core", feature = "markers"))]
const SLOT_CORE_PID: u32 = 3;
/// Slot: `task_struct.tgid` read through CO-RE.
#[cfg(any(feature = "core", feature = "markers"))]
const SLOT_CORE_TGID: u32 = 4;
/// Slot: `task_struct.real_parent->tgid` read through CO-RE.
#[cfg(any(feature = "core", feature = "markers"))]
const SLOT_CORE_PARENT_TGID: u32 = 5;
/// Slot: the relocated byte offset of `task_struct.pid`.
#[cfg(any(feature = "core", feature = "markers"))]
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
    btf_reads::record();
    #[cfg(feature = "markers")]
    marker_reads::record();
    if let Some(hits) = RESULTS.get_ptr_mut(SLOT_HITS) {
        // SAFETY: the pointer comes from a successful array lookup and stays valid for this run.
        unsafe { *hits += 1 };
    }
    0
}

#[cfg(all(feature = "core", feature = "markers"))]
compile_error!("features `core` and `markers` both define the queries; pick one");

/// The queries through crates/btf.
#[cfg(feature = "core")]
mod btf_reads {
    use aya_ebpf::helpers::bpf_get_current_task;

    use super::{
        store, SLOT_CORE_PARENT_TGID, SLOT_CORE_PID, SLOT_CORE_PID_OFFSET, SLOT_CORE_TGID,
    };

    /// The kernel's `task_struct`, as little of it as this program needs and in the
    /// wrong order on purpose: the local offsets (0, 8, 16) are never the kernel's.
    #[btf::relocatable]
    #[allow(non_camel_case_types)]
    pub struct task_struct {
        pub tgid: i32,
        pub real_parent: *const task_struct,
        pub pid: i32,
    }

    /// Stores the current task's ids read with `btf::core_read!`.
    #[inline(always)]
    pub fn record() {
        // SAFETY: bpf_get_current_task has no preconditions in a tracing program.
        let task = unsafe { bpf_get_current_task() } as *const task_struct;
        if let Some(offset) = btf::field_byte_offset!(task_struct, pid) {
            store(SLOT_CORE_PID_OFFSET, offset as u64);
        }
        // SAFETY: `task` is the current task; core_read! reads with bpf_probe_read_kernel.
        if let Ok(pid) = unsafe { btf::core_read!(task: task_struct, pid) } {
            store(SLOT_CORE_PID, pid as u64);
        }
        // SAFETY: as above.
        if let Ok(tgid) = unsafe { btf::core_read!(task: task_struct, tgid) } {
            store(SLOT_CORE_TGID, tgid as u64);
        }
        // SAFETY: as above; `real_parent` is followed with bpf_probe_read_kernel too.
        if let Ok(tgid) = unsafe { btf::core_read!(task: task_struct, real_parent, tgid) } {
            store(SLOT_CORE_PARENT_TGID, tgid as u64);
        }
    }
}

/// The queries as the `btf` macros compile them (DESIGN.md, "How a Rust query
/// becomes a CO-RE relocation"): one undefined function per query, whose name is
/// the query, and one descriptor record for the type.
#[cfg(feature = "markers")]
mod marker_queries {
    const DESCRIPTOR: &[u8] =
        b"BTFKIT1 struct task_struct{tgid:i4;real_parent:*struct task_struct;pid:i4;}\n";

    #[used]
    #[link_section = ".btfkit.types"]
    static TASK_STRUCT: [u8; DESCRIPTOR.len()] = {
        let mut bytes = [0u8; DESCRIPTOR.len()];
        let mut i = 0;
        while i < DESCRIPTOR.len() {
            bytes[i] = DESCRIPTOR[i];
            i += 1;
        }
        bytes
    };

    extern "C" {
        #[link_name = "btfkit:v1:byte_off:task_struct:pid"]
        fn byte_off_pid() -> usize;
        #[link_name = "btfkit:v1:byte_off:task_struct:tgid"]
        fn byte_off_tgid() -> usize;
        #[link_name = "btfkit:v1:byte_off:task_struct:real_parent"]
        fn byte_off_real_parent() -> usize;
        #[link_name = "btfkit:v1:byte_off:task_struct:real_parent->tgid"]
        fn byte_off_parent_tgid() -> usize;
    }

    /// Byte offset of `task_struct.pid` in the target kernel.
    #[inline(always)]
    pub fn pid() -> usize {
        // SAFETY: a marker; `btfkit link` replaces the call with `mov32 w0, <offset>`.
        unsafe { byte_off_pid() }
    }

    /// Byte offset of `task_struct.tgid` in the target kernel.
    #[inline(always)]
    pub fn tgid() -> usize {
        // SAFETY: as in `pid`.
        unsafe { byte_off_tgid() }
    }

    /// Byte offset of `task_struct.real_parent` in the target kernel.
    #[inline(always)]
    pub fn real_parent() -> usize {
        // SAFETY: as in `pid`.
        unsafe { byte_off_real_parent() }
    }

    /// Byte offset of `tgid` in the task `real_parent` points to.
    #[inline(always)]
    pub fn parent_tgid() -> usize {
        // SAFETY: as in `pid`.
        unsafe { byte_off_parent_tgid() }
    }
}

/// Reads the current task through the relocated offsets of the marker queries.
#[cfg(feature = "markers")]
mod marker_reads {
    use aya_ebpf::helpers::{bpf_get_current_task, bpf_probe_read_kernel};

    use super::{
        marker_queries as queries, store, SLOT_CORE_PARENT_TGID, SLOT_CORE_PID, SLOT_CORE_PID_OFFSET,
        SLOT_CORE_TGID,
    };

    /// Reads a `T` at `base + offset` in kernel memory.
    #[inline(always)]
    fn read_at<T>(base: *const u8, offset: usize) -> Option<T> {
        // SAFETY: bpf_probe_read_kernel checks the address; a bad one is an error, not a fault.
        unsafe { bpf_probe_read_kernel(base.wrapping_add(offset).cast::<T>()) }.ok()
    }

    /// Stores the current task's ids read at CO-RE offsets.
    #[inline(always)]
    pub fn record() {
        // SAFETY: bpf_get_current_task has no preconditions in a tracing program.
        let task = unsafe { bpf_get_current_task() } as *const u8;
        let pid_offset = queries::pid();
        store(SLOT_CORE_PID_OFFSET, pid_offset as u64);
        if let Some(pid) = read_at::<i32>(task, pid_offset) {
            store(SLOT_CORE_PID, pid as u64);
        }
        if let Some(tgid) = read_at::<i32>(task, queries::tgid()) {
            store(SLOT_CORE_TGID, tgid as u64);
        }
        if let Some(parent) = read_at::<*const u8>(task, queries::real_parent()) {
            if let Some(tgid) = read_at::<i32>(parent, queries::parent_tgid()) {
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
