//! `include_safe` output compiles both ways: as a module file (`mod x;`) and
//! through `include!` (the build.rs + OUT_DIR pattern), at a crate's root and
//! inside a module, for BPF (relocatable, against the btf crate) and the host
//! (fixed layout).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use btfkit_gen::{generate, Layout, Options, Source};
use btfkit_model::Btf;
use common::{check, expect_success, toolchain, work_dir, write_if_changed};

const VMLINUX: &str = "/sys/kernel/btf/vmlinux";

fn gen(btf: &Btf<'_>, layout: Layout, source: &Source) -> String {
    let opts = Options {
        layout,
        roots: vec!["task_struct".into()],
        source: Some(source.clone()),
        include_safe: true,
        opaque_pointees: false,
    };
    generate(btf, &opts).unwrap_or_else(|e| panic!("{VMLINUX}: {e}"))
}

#[test]
fn include_safe_output_compiles_as_a_module_file_and_through_include() {
    toolchain();
    let data = std::fs::read(VMLINUX)
        .unwrap_or_else(|e| panic!("cannot read {VMLINUX} ({e}): the kernel has no BTF"));
    let source = Source::new(VMLINUX, &data);
    let btf = Btf::parse(&data).unwrap();
    let dir = work_dir().join("include-safe");
    std::fs::create_dir_all(&dir).unwrap();
    for (layout, name) in [(Layout::Relocatable, "reloc"), (Layout::Fixed, "fixed")] {
        let text = gen(&btf, layout, &source);
        for line in text.lines() {
            assert!(
                !line.starts_with("//!") && !line.starts_with("#!["),
                "{name}: an inner attribute or doc comment: {line}"
            );
        }
        write_if_changed(&dir.join(format!("{name}.rs")), &text);
    }
    // BPF: the relocatable bindings as a module file and included in a module.
    let lib = dir.join("bpf.rs");
    write_if_changed(
        &lib,
        "#![no_std]\n/// As a module file.\npub mod reloc;\n\
         /// Through include!.\npub mod included {\n    include!(\"reloc.rs\");\n}\n\
         /// Both name the same kernel type.\npub type Both = (reloc::task_struct, included::task_struct);\n",
    );
    expect_success(
        "include-safe relocatable bindings for BPF",
        &check(&lib, "incl_bpf", true),
    );
    // Host: the fixed bindings included at the crate root and as a module file.
    let lib = dir.join("host.rs");
    write_if_changed(
        &lib,
        "#![no_std]\ninclude!(\"fixed.rs\");\n/// As a module file.\npub mod fixed;\n\
         /// The same layout both ways.\npub const SAME: bool = \
         core::mem::size_of::<task_struct>() == core::mem::size_of::<fixed::task_struct>();\n",
    );
    expect_success(
        "include-safe fixed bindings for the host",
        &check(&lib, "incl_host", false),
    );
}
