//! Kernel types as `#[btf::relocatable]` definitions: CO-RE relocates every
//! field offset at load time. Regenerate with
//! `btfkit gen {{roots}} -o {{name}}-vmlinux/src/vmlinux.rs`.
#![no_std]

mod vmlinux;
pub use vmlinux::*;
