//! Parse → write is byte-identical for the `.BTF` and `.BTF.ext` of real
//! objects: clang-22, rustc + bpf-linker (as bpf-linker wrote it, and linked
//! by btfkit), and every BPF object embedded in Debian's libbpf-tools.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;

use btfkit_model::{Btf, BtfExt};
use btfkit_object::BpfObject;

fn assert_roundtrip(what: &str, data: &[u8]) -> (usize, usize) {
    let obj = BpfObject::parse(data).unwrap_or_else(|e| panic!("{what}: {e}"));
    let btf_bytes = obj.btf().unwrap_or_else(|| panic!("{what}: no .BTF"));
    let btf = Btf::parse(btf_bytes).unwrap_or_else(|e| panic!("{what}: .BTF: {e}"));
    btf.validate()
        .unwrap_or_else(|e| panic!("{what}: .BTF: {e}"));
    assert!(
        btf.to_bytes() == btf_bytes,
        "{what}: .BTF differs after a round trip"
    );
    let mut relos = 0;
    if let Some(ext_bytes) = obj.btf_ext() {
        let ext = BtfExt::parse(ext_bytes).unwrap_or_else(|e| panic!("{what}: .BTF.ext: {e}"));
        assert!(
            ext.to_bytes() == ext_bytes,
            "{what}: .BTF.ext differs after a round trip"
        );
        relos = ext.core_relo.len();
    }
    (btf.own_type_count(), relos)
}

#[test]
fn clang_object() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/every_kind.bpf.c");
    let obj = Path::new(env!("CARGO_TARGET_TMPDIR")).join("roundtrip_every_kind.o");
    let obj = btfkit_testkit::clang::compile(&src, &obj, &[]);
    assert_roundtrip("every_kind.bpf.o", &obj);
}

#[test]
fn rust_object_linked_by_btfkit() {
    let manifest =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../link/testdata/rust-kernel/Cargo.toml");
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("roundtrip-rust-kernel.o");
    let status = Command::new(env!("CARGO_BIN_EXE_btfkit"))
        .args(["build", "--release", "--manifest-path"])
        .arg(&manifest)
        .arg("-o")
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success(), "btfkit build failed");
    let (_, relos) = assert_roundtrip("rust-kernel", &std::fs::read(&out).unwrap());
    assert!(relos > 0, "the linked Rust object has CO-RE records");
}

#[test]
fn rust_object_as_bpf_linker_wrote_it() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tiny-bpf/Cargo.toml");
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("roundtrip-tiny-bpf.o");
    let status = Command::new(env!("CARGO_BIN_EXE_btfkit"))
        .args(["build", "--release", "--no-link", "--manifest-path"])
        .arg(&manifest)
        .arg("-o")
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success(), "btfkit build --no-link failed");
    let (types, _) = assert_roundtrip("tiny-bpf", &std::fs::read(&out).unwrap());
    assert!(types > 10, "bpf-linker wrote {types} types");
}

#[test]
fn every_libbpf_tools_object() {
    let mut objects = 0;
    let mut relos = 0;
    for obj in btfkit_testkit::data::libbpf_tools_objects() {
        let (_, r) = assert_roundtrip(&format!("{}#{}", obj.tool, obj.index), &obj.bytes);
        objects += 1;
        relos += r;
    }
    assert!(
        objects >= 50,
        "expected the ~52 libbpf-tools objects, found {objects}"
    );
    assert!(relos > 500, "expected many CO-RE records, found {relos}");
    eprintln!("round-tripped {objects} libbpf-tools objects with {relos} CO-RE records");
}
