#![allow(non_camel_case_types, dead_code)]

#[btf::relocatable]
pub union s__anon {
    pub a: u32,
}

#[btf::relocatable]
pub struct s {
    #[btf(anon, name = "u")]
    pub __anon_1: s__anon,
}

fn main() {}
