#![allow(non_camel_case_types, dead_code)]

#[btf::relocatable]
#[repr(u8)]
pub enum small {
    A = 255,
    B,
}

fn main() {}
