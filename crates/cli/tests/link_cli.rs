//! `btfkit link` on the command line: default output path, verbose records,
//! errors that name the bad record, and linking a linked object.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../link/tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn btfkit(args: &[&Path]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_btfkit"));
    cmd.arg("link");
    for a in args {
        cmd.arg(a);
    }
    cmd.output().unwrap()
}

fn copy_to_tmp(from: &Path, name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("link-cli");
    std::fs::create_dir_all(&dir).unwrap();
    let to = dir.join(name);
    std::fs::copy(from, &to).unwrap();
    to
}

#[test]
fn default_output_and_verbose_records() {
    let built = common::build_rust_fixture("rust-reference");
    let input = copy_to_tmp(&built, "reference.so");
    let expected = input.with_file_name("reference.btfkit.o");
    let _ = std::fs::remove_file(&expected);
    let out = Command::new(env!("CARGO_BIN_EXE_btfkit"))
        .args(["link", "-v"])
        .arg(&input)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(expected.exists(), "no {}: {stderr}", expected.display());
    assert!(
        stderr.contains("<byte_off>") && stderr.contains("task_struct 0:6:1 = 24"),
        "{stderr}"
    );
    assert!(stderr.contains("26 CO-RE record(s)"), "{stderr}");

    // Linking a linked object changes nothing.
    let again = expected.with_file_name("again.o");
    let out = btfkit(&[&expected, Path::new("-o"), &again]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read(&again).unwrap(),
        std::fs::read(&expected).unwrap()
    );
}

#[test]
fn a_bad_descriptor_is_named_with_its_record_and_offset() {
    let built = common::build_rust_fixture("rust-reference");
    let mut data = std::fs::read(&built).unwrap();
    let object = btfkit_object::BpfObject::parse(&data).unwrap();
    // bpf-linker keeps one .btfkit.types section per static: corrupt the
    // version of the record in the second one.
    let sections: Vec<(usize, usize)> = object
        .sections()
        .iter()
        .filter(|s| s.name == ".btfkit.types")
        .map(|s| (s.index, s.offset as usize))
        .collect();
    assert!(sections.len() >= 2, "{sections:?}");
    let (second_index, second_offset) = sections[1];
    drop(object);
    assert_eq!(&data[second_offset..second_offset + 8], b"BTFKIT1 ");
    data[second_offset + 6] = b'9';
    let input = Path::new(env!("CARGO_TARGET_TMPDIR")).join("link-cli-bad.so");
    std::fs::write(&input, &data).unwrap();
    let out = btfkit(&[&input, Path::new("-o"), &input.with_extension("o")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "type descriptor record #1 (.btfkit.types section #{second_index}, offset 0x0)"
        )) && stderr.contains("unsupported record version"),
        "{stderr}"
    );
}

#[test]
fn garbage_input_is_an_error() {
    let input = Path::new(env!("CARGO_TARGET_TMPDIR")).join("link-cli-garbage.o");
    std::fs::write(&input, b"not an ELF file").unwrap();
    let out = btfkit(&[&input]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("linking"), "{stderr}");
}
