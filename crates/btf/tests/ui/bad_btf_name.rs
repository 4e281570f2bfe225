#![allow(non_camel_case_types, dead_code)]

#[btf::relocatable]
pub struct s {
    #[btf(name = "not-a-c-name")]
    pub x: u32,
}

fn main() {}
