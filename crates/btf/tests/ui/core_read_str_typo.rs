#![allow(non_camel_case_types, dead_code)]

#[btf::relocatable]
pub struct task_struct {
    pub comm: [u8; 16],
}

fn main() {
    let task: *const task_struct = core::ptr::null();
    let mut buf = [0u8; 16];
    let _ = unsafe { btf::core_read_user_str_into!(&mut buf, task: task_struct, comn) };
}
