//! The descriptor records `#[btf::relocatable]` produces (what the link step reads).
#![allow(non_camel_case_types, dead_code, clippy::unwrap_used)]

use btf::__private::{assemble, pieces_len};
use btf::Relocatable;

/// The record the `.btfkit.types` static holds, assembled from the pieces
/// the macro spells.
fn record<T: Relocatable>() -> String {
    const MAX: usize = 512;
    let len = pieces_len(T::PIECES);
    assert!(len <= MAX);
    let bytes: [u8; MAX] = assemble::<MAX>(T::PIECES);
    String::from_utf8(bytes[..len].to_vec()).unwrap()
}

type pid_t = i32;

#[btf::relocatable]
pub struct list_head {
    pub next: *mut list_head,
    pub prev: *mut list_head,
}

#[btf::relocatable]
pub union task_struct__anon_1 {
    pub a: u32,
    pub b: [u16; 2],
}

#[btf::relocatable]
pub struct task_struct {
    pub pid: pid_t,
    pub comm: [u8; 16],
    pub real_parent: *const task_struct,
    pub tasks: list_head,
    #[btf(anon)]
    pub __anon_1: task_struct__anon_1,
    #[btf(bits = 3)]
    pub flags: u32,
    pub r#type: core::ffi::c_uint,
    pub data: *const core::ffi::c_void,
    pub ok: bool,
    pub ratio: f64,
    pub kind: pid_type,
    pub cb: Option<unsafe extern "C" fn(i32) -> i64>,
    #[btf(name = "self")]
    pub self_: *const task_struct,
}

#[btf::relocatable]
#[repr(i32)]
pub enum pid_type {
    PIDTYPE_PID,
    PIDTYPE_TGID = 4,
    PIDTYPE_PGID,
    NEGATIVE = -2,
}

#[btf::relocatable]
#[repr(u64)]
pub enum wide {
    SMALL = 1,
    TOP = 0xffff_ffff_ffff_ffff,
}

#[btf::relocatable]
pub enum no_repr {
    A = 7,
    B,
}

#[btf::relocatable]
pub struct task_struct___v1 {
    pub pid: i32,
}

#[test]
fn struct_record_lists_fields_in_order_with_resolved_aliases() {
    assert_eq!(
        record::<task_struct>(),
        "BTFKIT1 struct task_struct{pid:i4;comm:[u1;16];real_parent:*struct task_struct;\
tasks:struct list_head;?__anon_1:union task_struct__anon_1;flags:u4/3;type:u4;data:*void;\
ok:bool;ratio:f8;kind:enum pid_type;cb:*void;self_@self:*struct task_struct;}\n"
    );
}

#[test]
fn union_and_self_referential_records() {
    assert_eq!(
        record::<task_struct__anon_1>(),
        "BTFKIT1 union task_struct__anon_1{a:u4;b:[u2;2];}\n"
    );
    assert_eq!(
        record::<list_head>(),
        "BTFKIT1 struct list_head{next:*struct list_head;prev:*struct list_head;}\n"
    );
}

#[test]
fn enum_record_has_size_sign_and_values() {
    assert_eq!(
        record::<pid_type>(),
        "BTFKIT1 enum pid_type:4:s{PIDTYPE_PID=0;PIDTYPE_TGID=4;PIDTYPE_PGID=5;NEGATIVE=-2;}\n"
    );
}

#[test]
fn unsigned_enum_values_are_printed_unsigned() {
    assert_eq!(
        record::<wide>(),
        "BTFKIT1 enum wide:8:u{SMALL=1;TOP=18446744073709551615;}\n"
    );
    assert_eq!(record::<no_repr>(), "BTFKIT1 enum no_repr:4:u{A=7;B=8;}\n");
}

#[test]
fn flavor_names_are_kept_verbatim() {
    assert_eq!(
        record::<task_struct___v1>(),
        "BTFKIT1 struct task_struct___v1{pid:i4;}\n"
    );
}

#[test]
fn const_evaluation_assembles_the_same_record() {
    // As the BPF static is built.
    const LEN: usize = pieces_len(<task_struct as Relocatable>::PIECES);
    const REC: [u8; LEN] = assemble::<LEN>(<task_struct as Relocatable>::PIECES);
    assert_eq!(REC[..], *record::<task_struct>().as_bytes());
}

#[test]
fn relocatable_types_are_opaque_and_zero_sized() {
    assert_eq!(core::mem::size_of::<task_struct>(), 0);
    assert_eq!(core::mem::align_of::<task_struct>(), 1);
    assert_eq!(core::mem::size_of::<*const task_struct>(), 8);
}

#[test]
fn compile_fail_forms_are_rejected_with_their_messages() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}

/// The pattern for a type shared with user space: relocatable only in BPF
/// code, an ordinary `#[repr(C)]` struct on the host.
#[cfg_attr(target_arch = "bpf", btf::relocatable)]
#[repr(C)]
pub struct shared_event {
    pub pid: i32,
    pub comm: [u8; 16],
}

#[test]
fn cfg_attr_pattern_leaves_an_ordinary_struct_on_the_host() {
    let e = shared_event {
        pid: 7,
        comm: [0; 16],
    };
    assert_eq!(e.pid, 7);
    assert_eq!(core::mem::offset_of!(shared_event, comm), 4);
    assert_eq!(core::mem::size_of::<shared_event>(), 20);
}
