#![allow(non_camel_case_types, dead_code)]

#[btf::relocatable]
pub struct task_struct {
    pub pid: i32,
    pub comm: [u8; 16],
    pub real_parent: *const task_struct,
}

fn main() {
    let t: *const task_struct = core::ptr::null();
    let _ = unsafe { btf::core_read!(t: task_struct, real_parent, pidd) };
}
