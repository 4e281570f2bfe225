//! A Rust CO-RE program. Its `task_struct` has a deliberately wrong layout —
//! few fields, wrong order, a field no kernel has — and it still reads the
//! right values on any kernel, because every access is relocated at load time.
//!
//! For the thread whose id user space writes into `TARGET_TID`, the raw
//! tracepoint `sys_enter` records pid, tgid, comm and the parent's tgid.
#![no_std]
#![no_main]

/// Only what the program needs, in an order no kernel uses.
#[btf::relocatable]
pub struct task_struct {
    pub comm: [u8; 16],
    pub btfkit_no_such_field: u64,
    pub tgid: i32,
    pub real_parent: *const task_struct,
    pub pid: i32,
}

/// What the program found, read back by user space from `.bss`.
#[repr(C)]
pub struct Results {
    /// How many times the target thread was seen.
    pub hits: u64,
    /// `task->pid` (the thread id).
    pub pid: i64,
    /// `task->tgid` (the process id).
    pub tgid: i64,
    /// `task->real_parent->tgid`.
    pub ppid: i64,
    /// 1 if the kernel has `task_struct.btfkit_no_such_field` (none has).
    pub absent_exists: u64,
    /// The kernel's offset of `task_struct.tgid`, or u64::MAX.
    pub tgid_offset: u64,
    /// `task->comm`.
    pub comm: [u8; 16],
}

/// Written by user space before attaching.
#[no_mangle]
#[link_section = ".data"]
pub static mut TARGET_TID: u64 = u64::MAX;

#[no_mangle]
#[link_section = ".bss"]
pub static mut RESULTS: Results = Results {
    hits: 0,
    pid: 0,
    tgid: 0,
    ppid: 0,
    absent_exists: 0,
    tgid_offset: 0,
    comm: [0; 16],
};

#[inline(always)]
fn current_pid_tgid() -> u64 {
    // SAFETY: helper 14, bpf_get_current_pid_tgid, takes no arguments.
    let helper: unsafe extern "C" fn() -> u64 = unsafe { core::mem::transmute(14usize) };
    unsafe { helper() }
}

#[inline(always)]
fn current_task() -> *const task_struct {
    // SAFETY: helper 35, bpf_get_current_task, takes no arguments.
    let helper: unsafe extern "C" fn() -> u64 = unsafe { core::mem::transmute(35usize) };
    unsafe { helper() as *const task_struct }
}

/// Runs on every system call entry.
#[no_mangle]
#[link_section = "raw_tp/sys_enter"]
pub extern "C" fn task_core(_ctx: *mut u8) -> i32 {
    // SAFETY: the globals are only touched by this program and user space;
    // a racing write loses one sample at worst.
    unsafe {
        let target = core::ptr::read_volatile(&raw const TARGET_TID);
        if current_pid_tgid() & 0xffff_ffff != target {
            return 0;
        }
        let task = current_task();
        let r = &raw mut RESULTS;
        (*r).hits += 1;
        (*r).pid = btf::core_read!(task: task_struct, pid).map_or(-1, |v| v as i64);
        (*r).tgid = btf::core_read!(task: task_struct, tgid).map_or(-1, |v| v as i64);
        (*r).ppid = btf::core_read!(task: task_struct, real_parent, tgid).map_or(-1, |v| v as i64);
        (*r).absent_exists = btf::field_exists!(task_struct, btfkit_no_such_field) as u64;
        (*r).tgid_offset = btf::field_byte_offset!(task_struct, tgid).map_or(u64::MAX, |o| o as u64);
        if let Ok(comm) = btf::core_read!(task: task_struct, comm) {
            (*r).comm = comm;
        }
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
