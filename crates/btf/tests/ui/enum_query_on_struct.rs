#![allow(non_camel_case_types, dead_code)]

#[btf::relocatable]
pub struct task_struct {
    pub pid: i32,
}

fn main() {
    let _ = btf::enum_value_exists!(task_struct, PIDTYPE_TGID);
}
