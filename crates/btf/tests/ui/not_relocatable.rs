#![allow(dead_code)]

#[repr(C)]
pub struct plain {
    pub x: i32,
}

fn main() {
    let _ = btf::field_exists!(plain, x);
}
