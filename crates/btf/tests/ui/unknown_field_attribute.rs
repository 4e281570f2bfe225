#![allow(non_camel_case_types, dead_code)]

#[btf::relocatable]
pub struct s {
    #[btf(bitz = 3)]
    pub x: u32,
}

fn main() {}
