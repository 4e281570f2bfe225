//! One Rust program, written once with flat paths through anonymous members
//! (as C writes them), compiles unchanged against the bindings `btfkit gen`
//! writes from each kernel: the running kernel's BTF and each vmlinux BTF in
//! `../shared/testdata/kernel-btf/` (Debian 6.1 amd64, 6.1 cloud, 7.1
//! sorted). The kernels place these members differently (`file.f_path` is
//! a direct member on 6.1 and inside an anonymous union on 6.18;
//! `dentry.d_name` likewise), number their anonymous members differently,
//! and disagree on the signedness of `char`; none of it reaches the source.
//! It also names one anonymous member's own type by its kernel-independent
//! name (`sock_common__skc_portpair`: the parent and the anonymous member's
//! first named member).
//!
//! Each compile is metadata-only for `bpfel-unknown-none` (type checking,
//! every path check and const check), of bindings for six root types:
//! the four run two at a time in about 7 minutes on the shared 2-core
//! machine (1.5 to 3.5 minutes each, most of it rustc on the bindings).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use btfkit_gen::{generate, Btf, Layout, Options, Source};

mod common;
use common::*;

/// The program: every path crosses the kernels' anonymous members somewhere.
const PROGRAM: &str = r#"#![no_std]
#![allow(dead_code)]
pub mod vmlinux;
use vmlinux::{dentry, file, mm_struct, sock, sock_common__skc_portpair, socket, task_struct};

/// # Safety
/// BPF only; the pointers are kernel pointers.
pub unsafe fn probe(t: *const task_struct, f: *const file, so: *const socket) -> u64 {
    let comm: [u8; 16] = unsafe { btf::core_read!(t: task_struct, comm) }.unwrap_or([0; 16]);
    let pid: i32 = unsafe { btf::core_read!(t: task_struct, real_parent, pid) }.unwrap_or(0);
    let arg_start = unsafe { btf::core_read!(t: task_struct, mm, arg_start) }.unwrap_or(0);
    let mm = unsafe { btf::core_read!(t: task_struct, mm) }.unwrap_or(core::ptr::null_mut());
    let start_code = unsafe { btf::core_read!(mm: mm_struct, start_code) }.unwrap_or(0);
    let name = unsafe { btf::core_read!(f: file, f_path.dentry, d_name.name) };
    let sk = unsafe { btf::core_read!(so: socket, sk) }.unwrap_or(core::ptr::null_mut());
    let dport: u16 = unsafe { btf::core_read!(sk: sock, __sk_common.skc_dport) }.unwrap_or(0);
    let num: u16 = unsafe { btf::core_read!(sk: sock, __sk_common.skc_num) }.unwrap_or(0);
    let family = unsafe { btf::core_read!(sk: sock, __sk_common.skc_family) }.unwrap_or(0);
    let off = btf::field_byte_offset!(sock, __sk_common.skc_rcv_saddr).unwrap_or(0);
    let d = btf::field_byte_offset!(dentry, d_name.len).unwrap_or(0);
    let ports = btf::type_size!(sock_common__skc_portpair).unwrap_or(0);
    comm[0] as u64
        + pid as u64
        + arg_start
        + start_code
        + name.is_ok() as u64
        + dport as u64
        + num as u64
        + family as u64
        + (off + d + ports) as u64
}
"#;

const ROOTS: &[&str] = &[
    "task_struct",
    "mm_struct",
    "file",
    "sock",
    "socket",
    "dentry",
];

fn kernel(label: &str, path: &Path) {
    toolchain();
    let dir = work_dir().join(format!("portable-{label}"));
    std::fs::create_dir_all(&dir).unwrap();
    let data =
        std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let btf = Btf::parse(&data).unwrap();
    let opts = Options {
        layout: Layout::Relocatable,
        roots: ROOTS.iter().map(|s| s.to_string()).collect(),
        source: Some(Source::new(path.display().to_string(), &data)),
        include_safe: false,
        opaque_pointees: false,
    };
    let text = generate(&btf, &opts).unwrap();
    assert!(
        text.contains("    pub comm: [u8; 16],\n"),
        "{label}: task_struct.comm is not [u8; 16]"
    );
    write_if_changed(&dir.join("vmlinux.rs"), &text);
    write_if_changed(&dir.join("lib.rs"), PROGRAM);
    let start = std::time::Instant::now();
    let crate_name = format!("portable_{}", label.replace(['-', '.'], "_"));
    expect_success(
        &format!("{label}: compiling the flat-path program for {BPF_TARGET}"),
        &check(&dir.join("lib.rs"), &crate_name, true),
    );
    eprintln!("{label}: {:?}", start.elapsed());
}

#[test]
fn running_kernel() {
    kernel("running", Path::new("/sys/kernel/btf/vmlinux"));
}

#[test]
fn debian_6_1_amd64() {
    kernel("6.1-amd64", &testdata("vmlinux-6.1.0-47-amd64.btf"));
}

#[test]
fn debian_6_1_cloud() {
    kernel("6.1-cloud", &testdata("vmlinux-6.1.0-47-cloud.btf"));
}

#[test]
fn sorted_7_1() {
    kernel("7.1-sorted", &testdata("vmlinux-7.1-sorted.btf"));
}
