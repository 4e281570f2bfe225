#![allow(non_camel_case_types, dead_code)]

#[btf::relocatable]
#[repr(u32)]
pub enum pid_type {
    PIDTYPE_PID,
    PIDTYPE_TGID,
}

fn main() {
    let _ = btf::enum_value!(pid_type, PIDTYPE_TGIDD);
}
