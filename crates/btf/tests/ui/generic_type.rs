#![allow(non_camel_case_types, dead_code)]

#[btf::relocatable]
pub struct s<T> {
    pub x: T,
}

fn main() {}
