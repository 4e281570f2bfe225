//! Every CO-RE query beyond field offsets, run in the kernel: a bitfield read
//! through the shift pair and `field_signed!`, type existence, size, match and
//! ids, enumerator existence and values, a `___flavor` type, a pointer
//! chain of three hops, and the offset and size of a member whose local size
//! is wrong. User space compares each result with the running
//! kernel's BTF and `/proc`.
#![no_std]
#![no_main]

#[btf::relocatable]
pub struct task_struct {
    pub real_parent: *const task_struct,
    pub tgid: i32,
    pub pid: i32,
    pub comm: [u8; 16],
    #[btf(bits = 1)]
    pub sched_reset_on_fork: u32,
    /// The kernel's is `unsigned int`: a wrong local size is fine for
    /// offset and size queries (never read it with the local width).
    pub flags: u64,
}

/// A flavor: relocates against the kernel's `task_struct`.
#[btf::relocatable]
pub struct task_struct___btfkit {
    pub tgid: i32,
}

/// Matches the kernel's own definition (for `type_matches!`, feature `type-matches`).
#[btf::relocatable]
pub struct list_head {
    pub next: *mut list_head,
    pub prev: *mut list_head,
}

/// No kernel has this type.
#[btf::relocatable]
pub struct btfkit_no_such_type {
    pub x: u32,
}

#[btf::relocatable]
#[repr(u32)]
pub enum pid_type {
    PIDTYPE_PID,
    PIDTYPE_TGID,
    PIDTYPE_PGID,
    PIDTYPE_SID,
    BTFKIT_NOT_A_PID_TYPE,
}

#[no_mangle]
#[link_section = ".data"]
pub static mut TARGET_TID: u64 = u64::MAX;

#[no_mangle]
#[link_section = ".bss"]
pub static mut RESULTS: [u64; 22] = [0; 22];

fn some(v: Option<usize>) -> u64 {
    v.map_or(u64::MAX, |v| v as u64)
}

#[no_mangle]
#[link_section = "raw_tp/sys_enter"]
pub extern "C" fn all_queries(_ctx: *mut u8) -> i32 {
    // SAFETY: helpers 14 and 35 take no arguments; reads go through
    // bpf_probe_read_kernel; RESULTS is only written here.
    unsafe {
        let pid_tgid: unsafe extern "C" fn() -> u64 = core::mem::transmute(14usize);
        if pid_tgid() & 0xffff_ffff != core::ptr::read_volatile(&raw const TARGET_TID) {
            return 0;
        }
        let get_task: unsafe extern "C" fn() -> u64 = core::mem::transmute(35usize);
        let task = get_task() as *const task_struct;
        let r = &raw mut RESULTS;
        let put = |i: usize, v: u64| {
            if let Some(slot) = (*r).get_mut(i) {
                *slot = v;
            }
        };
        put(0, 1);
        put(1, btf::core_read_bitfield!(task: task_struct, sched_reset_on_fork).unwrap_or(u64::MAX));
        put(2, btf::field_signed!(task_struct, sched_reset_on_fork).map_or(u64::MAX, |s| s as u64));
        put(3, btf::field_lshift_u64!(task_struct, sched_reset_on_fork) as u64);
        put(4, btf::field_rshift_u64!(task_struct, sched_reset_on_fork) as u64);
        put(5, some(btf::field_byte_offset!(task_struct, sched_reset_on_fork)));
        put(6, some(btf::field_byte_size!(task_struct, sched_reset_on_fork)));
        put(7, btf::field_signed!(task_struct, pid).map_or(u64::MAX, |s| s as u64));
        put(8, some(btf::field_byte_size!(task_struct, comm)));
        put(9, btf::type_exists!(task_struct) as u64);
        put(10, btf::type_exists!(btfkit_no_such_type) as u64);
        put(11, some(btf::type_size!(task_struct)));
        #[cfg(feature = "type-matches")]
        put(12, btf::type_matches!(list_head) as u64);
        #[cfg(not(feature = "type-matches"))]
        put(12, u64::MAX);
        put(13, btf::type_id_local!(task_struct) as u64);
        put(14, btf::type_id_target!(task_struct).map_or(u64::MAX, |id| id as u64));
        put(15, btf::enum_value_exists!(pid_type, PIDTYPE_TGID) as u64);
        put(16, btf::enum_value!(pid_type, PIDTYPE_SID).map_or(u64::MAX, |v| v as u64));
        put(17, btf::enum_value_exists!(pid_type, BTFKIT_NOT_A_PID_TYPE) as u64);
        let flavored = task as *const task_struct___btfkit;
        put(18, btf::core_read!(flavored: task_struct___btfkit, tgid).map_or(u64::MAX, |v| v as u64));
        put(19, btf::core_read!(task: task_struct, real_parent, real_parent, tgid).map_or(u64::MAX, |v| v as u64));
        put(20, some(btf::field_byte_offset!(task_struct, flags)));
        put(21, some(btf::field_byte_size!(task_struct, flags)));
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
