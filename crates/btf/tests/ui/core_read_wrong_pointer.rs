#![allow(non_camel_case_types, dead_code)]

#[btf::relocatable]
pub struct list_head {
    pub next: *mut list_head,
}

#[btf::relocatable]
pub struct task_struct {
    pub pid: i32,
}

fn main() {
    let head: *const list_head = core::ptr::null();
    let _ = unsafe { btf::core_read!(head: task_struct, pid) };
}
