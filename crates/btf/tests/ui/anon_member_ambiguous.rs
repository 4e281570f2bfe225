#![allow(non_camel_case_types, dead_code)]

// C rejects a struct whose anonymous members repeat a name; so does
// #[btf::relocatable], since a flat path could not say which one it means.

#[btf::relocatable]
pub struct inner_a {
    pub count: u32,
}

#[btf::relocatable]
pub struct inner_b {
    pub count: u64,
}

#[btf::relocatable]
pub struct outer {
    #[btf(anon)]
    pub __anon_1: inner_a,
    #[btf(anon)]
    pub __anon_2: inner_b,
}

fn main() {}
