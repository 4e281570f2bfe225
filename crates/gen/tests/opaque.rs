//! `Options::opaque_pointees` (`btfkit gen --opaque-pointees`) on a whole
//! kernel's BTF (Debian 6.1 amd64): what the roots hold by value is written
//! in full, a named struct or union they only point to is a `#[btf::opaque]`
//! pointee, what only such a pointee reaches is not written, and the module
//! compiles for BPF against the `btf` crate (metadata only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use btfkit_gen::{generate, Btf, Layout, Options, Source};

mod common;
use common::*;

const ROOTS: &[&str] = &["task_struct", "file", "sock"];

fn gen(btf: &Btf<'_>, source: &Source, opaque_pointees: bool) -> String {
    let opts = Options {
        layout: Layout::Relocatable,
        roots: ROOTS.iter().map(|s| s.to_string()).collect(),
        source: Some(source.clone()),
        include_safe: false,
        opaque_pointees,
    };
    generate(btf, &opts).unwrap()
}

#[test]
fn pointees_only_pointed_to_are_opaque_and_the_module_compiles() {
    let path = testdata("vmlinux-6.1.0-47-amd64.btf");
    let data = std::fs::read(&path).unwrap();
    let btf = Btf::parse(&data).unwrap();
    let source = Source::new(path.display().to_string(), &data);
    let full = gen(&btf, &source, false);
    let lean = gen(&btf, &source, true);
    let count = |text: &str, what: &str| text.matches(what).count();

    // Roots and what they hold by value: in full (task_struct holds its
    // `sched_entity se`, sock its `sock_common`).
    for s in ["task_struct", "file", "sock", "sched_entity", "sock_common"] {
        assert!(
            lean.contains(&format!("pub struct {s} {{")),
            "{s} is not written in full"
        );
    }
    // Only pointed to: opaque; and what only they reach is gone
    // (`vm_area_struct` only through `mm_struct`'s members).
    for s in ["mm_struct", "cred", "inode"] {
        assert!(
            lean.contains(&format!("#[::btf::opaque]\npub struct {s};\n")),
            "{s} is not opaque"
        );
    }
    assert!(full.contains("pub struct vm_area_struct {"));
    assert!(!lean.contains("vm_area_struct"));
    let (full_n, lean_n) = (
        count(&full, "#[::btf::relocatable]"),
        count(&lean, "#[::btf::relocatable]"),
    );
    assert!(
        lean_n * 4 < full_n,
        "{lean_n} relocatable types with opaque pointees, {full_n} without"
    );
    // Deterministic, formatted, and it compiles.
    assert!(gen(&btf, &source, true) == lean);
    let dir = work_dir().join("opaque-6.1-amd64");
    std::fs::create_dir_all(&dir).unwrap();
    let lib = dir.join("lib.rs");
    write_if_changed(&lib, &format!("#![no_std]\n{lean}"));
    rustfmt_check(&lib);
    expect_success(
        "compiling the opaque-pointee bindings for BPF",
        &check(&lib, "gen_opaque_6_1_amd64", true),
    );
    eprintln!("{lean_n} relocatable types with opaque pointees, {full_n} without");
}
