//! One program per CO-RE query, each returning the query's answer and doing
//! nothing else, so that the instructions of a program are what the query
//! costs (plus `exit`). `twin.bpf.c` has the same programs in C with libbpf's
//! `bpf_core_read.h`; crates/e2e/tests/query_cost.rs compares the two,
//! program by program. An `Option`/`Result` answer is returned as its value
//! or -1, which is what the C twin spells `exists ? value : -1`.
#![no_std]
#![no_main]

#[btf::relocatable]
pub struct task_struct {
    pub pid: i32,
    pub real_parent: *const task_struct,
    pub tgid: i32,
    #[btf(bits = 1)]
    pub sched_reset_on_fork: u32,
}

#[btf::relocatable]
pub struct list_head {
    pub next: *mut list_head,
    pub prev: *mut list_head,
}

#[btf::relocatable]
#[repr(u32)]
pub enum pid_type {
    PIDTYPE_PID,
    PIDTYPE_TGID,
}

/// `bpf_get_current_task()`.
fn current_task() -> *const task_struct {
    // SAFETY: helper 35 takes no arguments and returns the current task.
    unsafe {
        let get_task: unsafe extern "C" fn() -> u64 = core::mem::transmute(35usize);
        get_task() as *const task_struct
    }
}

fn or_minus_one(v: Option<usize>) -> i64 {
    v.map_or(-1, |v| v as i64)
}

macro_rules! program {
    ($section:literal, $name:ident, $body:expr) => {
        #[no_mangle]
        #[link_section = $section]
        pub extern "C" fn $name(_ctx: *mut u8) -> i64 {
            $body
        }
    };
}

program!("raw_tp/q_byte_off", q_byte_off, or_minus_one(btf::field_byte_offset!(task_struct, tgid)));
program!("raw_tp/q_byte_sz", q_byte_sz, or_minus_one(btf::field_byte_size!(task_struct, tgid)));
program!("raw_tp/q_field_exists", q_field_exists, btf::field_exists!(task_struct, tgid) as i64);
program!("raw_tp/q_signed", q_signed, btf::field_signed!(task_struct, tgid).map_or(-1, |s| s as i64));
program!("raw_tp/q_lshift_u64", q_lshift_u64, btf::field_lshift_u64!(task_struct, sched_reset_on_fork) as i64);
program!("raw_tp/q_rshift_u64", q_rshift_u64, btf::field_rshift_u64!(task_struct, sched_reset_on_fork) as i64);
program!("raw_tp/q_type_exists", q_type_exists, btf::type_exists!(task_struct) as i64);
program!("raw_tp/q_type_size", q_type_size, or_minus_one(btf::type_size!(task_struct)));
program!("raw_tp/q_type_matches", q_type_matches, btf::type_matches!(list_head) as i64);
program!("raw_tp/q_local_type_id", q_local_type_id, btf::type_id_local!(task_struct) as i64);
program!("raw_tp/q_target_type_id", q_target_type_id, btf::type_id_target!(task_struct).map_or(-1, |id| id as i64));
program!("raw_tp/q_enumval_exists", q_enumval_exists, btf::enum_value_exists!(pid_type, PIDTYPE_TGID) as i64);
program!("raw_tp/q_enumval_value", q_enumval_value, btf::enum_value!(pid_type, PIDTYPE_TGID).unwrap_or(-1));
// SAFETY (the three below): the task pointer comes from bpf_get_current_task;
// core_read! reads through bpf_probe_read_kernel.
program!("raw_tp/q_core_read_1", q_core_read_1, unsafe {
    btf::core_read!(current_task(): task_struct, pid).map_or(-1, |v| v as i64)
});
program!("raw_tp/q_core_read_2", q_core_read_2, unsafe {
    btf::core_read!(current_task(): task_struct, real_parent, tgid).map_or(-1, |v| v as i64)
});
program!("raw_tp/q_core_read_bitfield", q_core_read_bitfield, unsafe {
    btf::core_read_bitfield!(current_task(): task_struct, sched_reset_on_fork).map_or(-1, |v| v as i64)
});

#[link_section = "license"]
#[no_mangle]
pub static LICENSE: [u8; 4] = *b"GPL\0";

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}
