//! `btfkit dump` prints exactly what `bpftool btf dump file` prints (bpftool
//! 7.1 from Debian), for kernels, a clang object with every kind, and Rust
//! objects built by rustc + bpf-linker `--btf`, as bpf-linker wrote it and
//! after btfkit's link step.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;

fn btfkit() -> Command {
    Command::new(env!("CARGO_BIN_EXE_btfkit"))
}

fn run(cmd: &mut Command, what: &str) -> Vec<u8> {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what} could not run ({e}); scripts/setup.sh installs it"));
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn assert_same_as_bpftool(file: &Path) {
    let theirs = run(
        Command::new("bpftool")
            .args(["btf", "dump", "file"])
            .arg(file),
        "bpftool",
    );
    let ours = run(btfkit().arg("dump").arg(file), "btfkit dump");
    if theirs != ours {
        let (t, o) = (
            String::from_utf8_lossy(&theirs),
            String::from_utf8_lossy(&ours),
        );
        let (line, (a, b)) = t
            .lines()
            .zip(o.lines())
            .enumerate()
            .find(|(_, (a, b))| a != b)
            .unwrap_or((t.lines().count().min(o.lines().count()), ("<end>", "<end>")));
        panic!(
            "{}: first difference at line {}:\n bpftool: {a}\n btfkit:  {b}",
            file.display(),
            line + 1
        );
    }
    assert!(
        ours.len() > 100,
        "{}: suspiciously short dump",
        file.display()
    );
}

use btfkit_testkit::data::kernel_btf;

#[test]
fn running_kernel() {
    assert_same_as_bpftool(Path::new("/sys/kernel/btf/vmlinux"));
}

#[test]
fn debian_6_1_kernels() {
    assert_same_as_bpftool(&kernel_btf("vmlinux-6.1.0-47-amd64.btf"));
    assert_same_as_bpftool(&kernel_btf("vmlinux-6.1.0-47-cloud.btf"));
}

#[test]
fn kernel_7_1_with_32_byte_header_and_sorted_names() {
    assert_same_as_bpftool(&kernel_btf("vmlinux-7.1-sorted.btf"));
}

#[test]
fn clang_object_with_every_kind() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/every_kind.bpf.c");
    let obj = Path::new(env!("CARGO_TARGET_TMPDIR")).join("every_kind.bpf.o");
    btfkit_testkit::clang::clang_bpf(&src, &obj, &[]).unwrap_or_else(|e| panic!("{e}"));
    assert_same_as_bpftool(&obj);
    // The object really has the kinds this test is about.
    let dump = String::from_utf8(run(btfkit().arg("dump").arg(&obj), "btfkit dump")).unwrap();
    for kind in [
        " INT ",
        " PTR ",
        " ARRAY ",
        " STRUCT ",
        " UNION ",
        " ENUM ",
        " ENUM64 ",
        " FWD ",
        " TYPEDEF ",
        " VOLATILE ",
        " CONST ",
        " RESTRICT ",
        " FUNC ",
        " FUNC_PROTO ",
        " VAR ",
        " DATASEC ",
        " FLOAT ",
        " DECL_TAG ",
        " TYPE_TAG ",
        "bitfield_size=",
    ] {
        assert!(dump.contains(kind), "the clang object has no{kind}");
    }
}

#[test]
fn rust_object_built_and_linked_by_btfkit() {
    let manifest =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../link/testdata/rust-kernel/Cargo.toml");
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dump-rust-kernel.o");
    run(
        btfkit()
            .args(["build", "--release", "--manifest-path"])
            .arg(&manifest)
            .arg("-o")
            .arg(&out),
        "btfkit build",
    );
    assert_same_as_bpftool(&out);
}

#[test]
fn rust_object_as_bpf_linker_wrote_it() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tiny-bpf/Cargo.toml");
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dump-tiny-bpf.o");
    run(
        btfkit()
            .args(["build", "--release", "--no-link", "--manifest-path"])
            .arg(&manifest)
            .arg("-o")
            .arg(&out),
        "btfkit build --no-link",
    );
    assert_same_as_bpftool(&out);
    let dump = String::from_utf8(run(btfkit().arg("dump").arg(&out), "btfkit dump")).unwrap();
    for kind in [
        " STRUCT ",
        " ENUM ",
        " UNION ",
        " FUNC_PROTO ",
        " DATASEC ",
        " VAR ",
    ] {
        assert!(dump.contains(kind), "bpf-linker's BTF has no{kind}");
    }
}

#[test]
fn split_module_btf_over_its_base() {
    // bpftool 7.1 cannot read this distilled base; check the shape instead.
    let base = kernel_btf("btf_testmod.base.btf");
    let split = kernel_btf("btf_testmod.split.btf");
    let dump = String::from_utf8(run(
        btfkit().arg("dump").arg(&split).arg("--base").arg(&base),
        "btfkit dump --base",
    ))
    .unwrap();
    let base_types = String::from_utf8(run(btfkit().arg("dump").arg(&base), "btfkit dump"))
        .unwrap()
        .lines()
        .filter(|l| l.starts_with('['))
        .count();
    let first = dump.lines().next().unwrap();
    assert!(
        first.starts_with(&format!("[{}] ", base_types + 1)),
        "split ids continue after the base's {base_types} types: {first}"
    );
    assert!(dump.contains("'bpf_testmod"), "module types are named");
}

#[test]
fn bad_input_is_a_one_line_error_with_exit_2() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let bad = dir.join("not-btf.bin");
    std::fs::write(&bad, b"definitely not BTF").unwrap();
    let truncated = dir.join("truncated.btf");
    let data = std::fs::read(kernel_btf("btf_testmod.base.btf")).unwrap();
    std::fs::write(&truncated, &data[..data.len() / 2]).unwrap();
    for (file, expect) in [
        (bad.as_path(), "neither raw BTF nor an ELF file"),
        (truncated.as_path(), "runs past the end"),
        (Path::new("/nonexistent/btf"), "cannot read"),
    ] {
        let out = btfkit().arg("dump").arg(file).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", file.display());
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(err.contains(expect), "{}: {err}", file.display());
    }
}

#[test]
fn json_has_bpftools_fields_and_values() {
    let file = Path::new("/sys/kernel/btf/vmlinux");
    let theirs: serde_json::Value = serde_json::from_slice(&run(
        Command::new("bpftool")
            .args(["-j", "btf", "dump", "file"])
            .arg(file),
        "bpftool -j",
    ))
    .unwrap();
    let ours: serde_json::Value = serde_json::from_slice(&run(
        btfkit().args(["dump", "--json"]).arg(file),
        "btfkit dump --json",
    ))
    .unwrap();
    let (theirs, ours) = (
        theirs["types"].as_array().unwrap(),
        ours["types"].as_array().unwrap(),
    );
    assert_eq!(theirs.len(), ours.len());
    let mut quirks = 0;
    for (t, o) in theirs.iter().zip(ours) {
        if t == o {
            continue;
        }
        // bpftool sign-extends unsigned 32-bit enum values >= 2^31 in JSON only
        // (its text output prints them right); everything else must be equal.
        assert_eq!(t["kind"], "ENUM", "bpftool: {t}\nbtfkit:  {o}");
        for (tv, ov) in t["values"]
            .as_array()
            .unwrap()
            .iter()
            .zip(o["values"].as_array().unwrap())
        {
            let (tval, oval) = (tv["val"].as_u64().unwrap(), ov["val"].as_u64().unwrap());
            assert!(
                tval == oval || tval == oval as u32 as i32 as i64 as u64,
                "{tv} vs {ov}"
            );
        }
        quirks += 1;
    }
    assert!(quirks < 100);
}
