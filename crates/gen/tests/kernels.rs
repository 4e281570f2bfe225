//! Whole kernels through the generator: the running kernel's BTF and each
//! vmlinux BTF in `../shared/testdata/kernel-btf/` (Debian 6.1 amd64, 6.1
//! cloud, 7.1 sorted by name with the 32-byte header), in both layouts.
//!
//! For each kernel the test generates every type in both modes, twice (the
//! text must be the same: deterministic), checks the header names the BTF
//! (path, size, SHA-256), runs `rustfmt --check --edition 2021` on both files,
//! and compiles them:
//!
//! - for `bpfel-unknown-none`, both modules in one crate
//!   (`pub mod relocatable; pub mod fixed;`) against the `btf` crate, with
//!   the BPF toolchain of `scripts/env.sh` (`BTFKIT_RUSTC`, Debian's rustc
//!   with a prebuilt BPF `core`);
//! - for the host, the fixed module alone as a crate (it needs only `core`).
//!
//! Both compilations are metadata-only (`--emit=metadata`, what `cargo check`
//! does): type checking, trait resolution, and const evaluation, so every
//! `const _: () = assert!(...)` layout assertion of the fixed module and
//! every descriptor static of the relocatable one is evaluated; only code
//! generation is skipped. `a_wrong_layout_assertion_fails_metadata_only_compilation`
//! proves that the assertions are evaluated this way, on both targets, by
//! planting a wrong offset. (A full debug build of the running kernel's two
//! modules for BPF takes about twice the CPU time and writes a 250 MB rlib;
//! `crates/e2e/tests/kernel_gen_types.rs` builds and links generated types
//! into a program and runs it in the kernel.)
//!
//! Cost, measured on the CI machine kind (2 cores; the four kernels run two
//! at a time, so each compile shares the machine): per kernel, generating
//! both modes twice 4 to 5 s (debug build of the generator), rustfmt 5 to
//! 6 s, the BPF compile of both modules 200 to 280 s (100 to 130 s alone;
//! 3 to 4 GB of memory), the host compile of the fixed module 30 to 50 s.
//! The whole file: about 9.5 minutes, 8.7 minutes of CPU. The relocatable
//! module is the expensive one: rustc spends its time (coherence and type
//! checking) on the shadow structs, trait impls and const-evaluated
//! descriptors `#[btf::relocatable]` emits for each of the ~15,000 types.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::Instant;

use btfkit_gen::{generate, Btf, Layout, Options, Source};
use sha2::Digest;

mod common;
use common::*;

const RUNNING: &str = "/sys/kernel/btf/vmlinux";

fn gen(btf: &Btf<'_>, layout: Layout, roots: &[&str], source: &Source) -> String {
    let opts = Options {
        layout,
        roots: roots.iter().map(|s| s.to_string()).collect(),
        source: Some(source.clone()),
        include_safe: false,
        opaque_pointees: false,
    };
    generate(btf, &opts).unwrap_or_else(|e| panic!("{}: {e}", source.path))
}

/// Everything this file tests, for one kernel's BTF.
fn kernel(label: &str, path: &Path) {
    toolchain();
    let dir = work_dir().join(label);
    std::fs::create_dir_all(&dir).unwrap();
    let data =
        std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let source = Source::new(path.display().to_string(), &data);
    let btf = Btf::parse(&data).unwrap();

    let start = Instant::now();
    let reloc = gen(&btf, Layout::Relocatable, &[], &source);
    let fixed = gen(&btf, Layout::Fixed, &[], &source);
    let gen_time = start.elapsed();
    // Deterministic: the same bytes, parsed again, give the same text.
    let copy = data.clone();
    let btf2 = Btf::parse(&copy).unwrap();
    let again = Source::new(path.display().to_string(), &copy);
    assert!(
        gen(&btf2, Layout::Relocatable, &[], &again) == reloc,
        "{label}: relocatable output differs between two runs"
    );
    assert!(
        gen(&btf2, Layout::Fixed, &[], &again) == fixed,
        "{label}: fixed output differs between two runs"
    );

    // The header names the BTF.
    let sha: String = sha2::Sha256::digest(&data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    for (mode, text) in [("relocatable", &reloc), ("fixed", &fixed)] {
        let header: Vec<&str> = text.lines().take(8).collect();
        let header = header.join("\n");
        for want in [
            format!("`btfkit gen --layout {mode}`"),
            format!("//! BTF: {}", path.display()),
            format!("//! BTF size: {} bytes, SHA-256 {sha}", data.len()),
            "//! Types: all".to_string(),
        ] {
            assert!(
                header.contains(&want),
                "{label} {mode}: the header lacks {want:?}:\n{header}"
            );
        }
    }

    let reloc_rs = dir.join("relocatable.rs");
    let fixed_rs = dir.join("fixed.rs");
    write_if_changed(&reloc_rs, &reloc);
    write_if_changed(&fixed_rs, &fixed);
    let lib = dir.join("lib.rs");
    write_if_changed(
        &lib,
        "#![no_std]\n/// `btfkit gen --layout relocatable`.\npub mod relocatable;\n\
         /// `btfkit gen --layout fixed`.\npub mod fixed;\n",
    );

    let start = Instant::now();
    rustfmt_check(&reloc_rs);
    rustfmt_check(&fixed_rs);
    let fmt_time = start.elapsed();

    let start = Instant::now();
    let crate_name = format!("gen_{}", label.replace(['-', '.'], "_"));
    expect_success(
        &format!("{label}: compiling both modules for {BPF_TARGET}"),
        &check(&lib, &crate_name, true),
    );
    let bpf_time = start.elapsed();

    let start = Instant::now();
    expect_success(
        &format!("{label}: compiling the fixed module for the host"),
        &check(&fixed_rs, &format!("{crate_name}_fixed"), false),
    );
    let host_time = start.elapsed();
    eprintln!(
        "{label}: {} + {} bytes; generate both twice {gen_time:?}x2, rustfmt {fmt_time:?}, \
         {BPF_TARGET} (both) {bpf_time:?}, host (fixed) {host_time:?}",
        reloc.len(),
        fixed.len()
    );
}

#[test]
fn running_kernel() {
    assert!(
        Path::new(RUNNING).exists(),
        "the running kernel has no {RUNNING} (CONFIG_DEBUG_INFO_BTF)"
    );
    kernel("running", Path::new(RUNNING));
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
fn sorted_7_1_with_32_byte_header() {
    kernel("7.1-sorted", &testdata("vmlinux-7.1-sorted.btf"));
}

/// The compile checks above are metadata-only: this shows that they still
/// evaluate the layout assertions, on both targets, by compiling a fixed
/// module with one offset changed (and the unchanged one, which must pass).
#[test]
fn a_wrong_layout_assertion_fails_metadata_only_compilation() {
    let path = testdata("vmlinux-6.1.0-47-amd64.btf");
    let data = std::fs::read(&path).unwrap();
    let btf = Btf::parse(&data).unwrap();
    let source = Source::new(path.display().to_string(), &data);
    let text = gen(&btf, Layout::Fixed, &["list_head"], &source);
    let right = "assert!(offset_of!(list_head, prev) == 8);";
    assert!(text.contains(right), "{text}");
    let dir = work_dir().join("planted");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in [
        ("good", text.clone()),
        (
            "planted",
            text.replace(right, "assert!(offset_of!(list_head, prev) == 7);"),
        ),
    ] {
        let root = dir.join(format!("{name}.rs"));
        write_if_changed(&root, &format!("#![no_std]\n{text}"));
        for bpf in [false, true] {
            let out = check(&root, name, bpf);
            let stderr = String::from_utf8_lossy(&out.stderr);
            let target = if bpf { BPF_TARGET } else { "host" };
            if name == "good" {
                expect_success(&format!("the unchanged module ({target})"), &out);
            } else {
                assert!(
                    !out.status.success()
                        && stderr.contains("E0080")
                        && stderr.contains("offset_of!(list_head, prev) == 7"),
                    "the planted wrong offset was not caught ({target}):\n{stderr}"
                );
            }
        }
    }
}
