#![allow(non_camel_case_types, dead_code)]

#[btf::relocatable]
pub struct task_struct {
    pub pid: i32,
    pub comm: [u8; 16],
    pub real_parent: *const task_struct,
}

fn pid(t: &task_struct) -> i32 {
    t.pid
}

fn main() {}
