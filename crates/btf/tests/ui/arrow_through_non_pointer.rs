#![allow(non_camel_case_types, dead_code)]

#[btf::relocatable]
pub struct task_struct {
    pub pid: i32,
    pub comm: [u8; 16],
    pub real_parent: *const task_struct,
}

fn main() {
    let _ = btf::field_exists!(task_struct, pid->x);
}
