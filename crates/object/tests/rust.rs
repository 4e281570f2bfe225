//! rustc + bpf-linker output: parsing, the identity rewrite and a
//! link-like rewrite of query markers and `.btfkit.types`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use btfkit_object::{BpfObject, Insn, ObjectRewriter, R_BPF_64_32};
use common::*;

const BPF_LINKER_DIR: &str = "/root/.local/share/btfkit/bin";

/// Builds `testdata/rust-markers` for `bpfel-unknown-none` with Debian's
/// rustc and bpf-linker (`--btf`), and returns the object path.
fn build_rust_object() -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/rust-markers");
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("btfkit-object-rust-markers");
    std::fs::create_dir_all(work.join("src")).unwrap();
    for file in ["Cargo.toml", "src/lib.rs"] {
        std::fs::copy(source.join(file), work.join(file)).unwrap();
    }
    for tool in ["/usr/bin/cargo", "/usr/bin/rustc"] {
        assert!(
            Path::new(tool).exists(),
            "{tool} is missing (apt-get install rustc-web cargo-web libstd-rust-web-dev-bpf)"
        );
    }
    let linker_on_path = std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .any(|d| Path::new(d).join("bpf-linker").exists());
    assert!(
        linker_on_path || Path::new(BPF_LINKER_DIR).join("bpf-linker").exists(),
        "bpf-linker is missing (not on PATH nor in {BPF_LINKER_DIR})"
    );
    let path = format!(
        "{BPF_LINKER_DIR}:{}",
        std::env::var("PATH").unwrap_or_default()
    );
    let output = Command::new("/usr/bin/cargo")
        .current_dir(&work)
        .env("PATH", path)
        .env("RUSTC", "/usr/bin/rustc")
        .env("RUSTFLAGS", "-C link-arg=--btf")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("CARGO_BUILD_TARGET")
        .args(["build", "--release", "--target", "bpfel-unknown-none"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "building the Rust BPF test crate failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    work.join("target/bpfel-unknown-none/release/libbtfkit_object_rust_markers.so")
}

#[test]
fn rust_object_parses_rewrites_and_links() {
    let path = build_rust_object();
    let data = std::fs::read(&path).unwrap();
    let object = BpfObject::parse(&data).unwrap();
    assert!(object.btf().is_some() && object.btf_ext().is_some());
    let (section, function) = object.function("rust_prog").unwrap();
    assert_eq!(section.name, "raw_tp/sys_enter");
    let markers: Vec<_> = object
        .symbols()
        .iter()
        .filter(|s| s.is_undefined())
        .collect();
    let names: Vec<&str> = markers.iter().map(|s| s.name.as_ref()).collect();
    assert_eq!(
        names.len(),
        2,
        "expected the two query markers as undefined symbols: {names:?}"
    );
    for name in [
        "btfkit:v1:byte_off:task_struct:pid",
        "btfkit:v1:field_exists:task_struct:tgid",
    ] {
        assert!(names.contains(&name), "{names:?}");
    }
    // Each marker is a `call -1` with an R_BPF_64_32 relocation.
    let calls: Vec<_> = object
        .relocations_for(section.section_index)
        .filter(|r| r.symbol_name.starts_with("btfkit:"))
        .collect();
    assert_eq!(calls.len(), 2);
    for call in &calls {
        assert_eq!(call.r_type, R_BPF_64_32);
        let location = object
            .locate_insn(section.section_index, call.offset)
            .unwrap();
        assert_eq!(location.function, "rust_prog");
        let insn = object
            .function_insn("rust_prog", location.insn_index)
            .unwrap();
        assert_eq!((insn.code, insn.src_reg, insn.imm), (0x85, 1, -1));
    }
    assert!(function.insn_count() >= 3);

    // Identity: byte for byte, and the same for llvm-readelf and bpftool.
    let written = ObjectRewriter::new(&object).unwrap().write().unwrap();
    assert!(
        written == data,
        "identity rewrite of the rustc object differs"
    );

    // Link-like rewrite.
    let mut rewriter = ObjectRewriter::new(&object).unwrap();
    for (i, call) in calls.iter().enumerate() {
        let mov = Insn {
            code: 0xb7,
            dst_reg: 0,
            src_reg: 0,
            off: 0,
            imm: 40 + i as i32,
        };
        rewriter
            .patch_section(
                section.section_index,
                call.offset,
                &mov.encode(object.endian()),
            )
            .unwrap();
        rewriter
            .remove_relocation(section.section_index, call.offset)
            .unwrap();
    }
    for marker in &markers {
        rewriter.remove_symbol(marker.index).unwrap();
    }
    let types = rewriter.section_index(".btfkit.types").unwrap();
    rewriter.remove_section(types).unwrap();
    let linked = rewriter.write().unwrap();
    let dir = temp_dir();
    let out = dir.path().join("linked.o");
    std::fs::write(&out, &linked).unwrap();
    let symbols = readelf_symbols(&out);
    assert!(symbols
        .iter()
        .all(|s| !s.name.starts_with("btfkit:") && s.name != "TASK_STRUCT"));
    assert!(symbols.iter().all(|s| s.ndx != "UND" || s.index == 0));
    assert!(readelf_sections(&out)
        .iter()
        .all(|s| s.name != ".btfkit.types"));
    assert!(readelf_relocations(&out)
        .iter()
        .all(|r| !r.symbol.starts_with("btfkit:") && r.symbol != ".btfkit.types"));
    let reparsed = BpfObject::parse(&linked).unwrap();
    let first = reparsed.function_insn("rust_prog", 0).unwrap();
    assert_eq!((first.code, first.imm), (0xb7, 40));
    assert_eq!(bpftool_btf_dump(&out), bpftool_btf_dump(&path));
}
