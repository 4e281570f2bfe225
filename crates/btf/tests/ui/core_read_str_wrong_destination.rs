#![allow(non_camel_case_types, dead_code)]

#[btf::relocatable]
pub struct task_struct {
    pub comm: [u8; 16],
}

fn main() {
    let task: *const task_struct = core::ptr::null();
    let mut comm = [0u32; 4];
    let _ = unsafe { btf::core_read_str_into!(&mut comm, task: task_struct, comm) };
}
