#![allow(non_camel_case_types, dead_code)]

// What `btfkit gen --opaque-pointees` writes for a type that is only
// pointed to: going into it names the fix.
#[btf::opaque]
pub struct mm_struct;

#[btf::relocatable]
pub struct task_struct {
    pub pid: i32,
    pub mm: *mut mm_struct,
}

fn main() {
    let t: *const task_struct = core::ptr::null();
    let _ = unsafe { btf::core_read!(t: task_struct, mm, arg_start) };
    let _ = btf::type_exists!(mm_struct);
}
