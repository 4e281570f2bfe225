//! `btfkit build`: compiles a BPF crate with the real toolchain (Debian's
//! rustc + bpf-linker here) and links it in one step.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;

use btfkit_model::BtfExt;
use btfkit_object::BpfObject;

#[test]
fn build_compiles_and_links_a_bpf_crate() {
    let manifest =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../link/testdata/rust-kernel/Cargo.toml");
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join("link-build");
    std::fs::create_dir_all(&tmp).unwrap();
    let out_path = tmp.join("kernel.btfkit.o");
    let _ = std::fs::remove_file(&out_path);
    let out = Command::new(env!("CARGO_BIN_EXE_btfkit"))
        .args(["build", "--release", "--manifest-path"])
        .arg(&manifest)
        .arg("-o")
        .arg(&out_path)
        .env("CARGO_TARGET_DIR", tmp.join("target"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "btfkit build failed (needs /usr/bin/cargo, /usr/bin/rustc with the BPF core, \
         bpf-linker):\n{stderr}"
    );
    assert!(stderr.contains("btfkit build: compiling"), "{stderr}");
    assert!(stderr.contains("btfkit build: linking"), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        out_path.display().to_string()
    );
    let data = std::fs::read(&out_path).unwrap();
    let object = BpfObject::parse(&data).unwrap();
    assert!(object
        .symbols()
        .iter()
        .all(|s| !s.name.starts_with("btfkit:")));
    assert!(object.section_by_name(".btfkit.types").is_none());
    let ext = BtfExt::parse(object.btf_ext().unwrap()).unwrap();
    assert_eq!(ext.core_relo.len(), 8);
}

#[test]
fn build_without_a_manifest_is_an_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_btfkit"))
        .args(["build", "--manifest-path", "/nonexistent/Cargo.toml"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no manifest at /nonexistent/Cargo.toml"),
        "{stderr}"
    );
}
