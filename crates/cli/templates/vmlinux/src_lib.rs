//! Kernel types as `#[btf::relocatable]` definitions: CO-RE relocates every
//! field offset at load time. Regenerate with
//! `btfkit gen {{roots}} --opaque-pointees -o {{name}}-vmlinux/src/vmlinux.rs`.
#![no_std]

mod vmlinux;
pub use vmlinux::*;
