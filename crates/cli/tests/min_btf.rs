//! `btfkit min-btf`: one target (vmlinux ELF-held BTF, module BTF with its
//! base), a BTFHub-like tree (raw and `.btf.tar.xz`, a corrupt file), and the
//! output accepted by `btfkit explain/relocate --target`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn tmp(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("minbtf-cli-{name}"))
}

fn clang(src: &str, out: &str) -> PathBuf {
    let src = btfkit_testkit::data::crate_dir("reloc")
        .join("tests/data")
        .join(src);
    let out = tmp(out);
    btfkit_testkit::clang::clang_bpf(&src, &out, &[]).unwrap_or_else(|e| panic!("{e}"));
    out
}

fn btfkit(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_btfkit"))
        .args(args)
        .output()
        .unwrap()
}

use btfkit_testkit::data::kernel_btf;

/// Ambiguous relocations are listed one by one, the file is written, and
/// explain/relocate decide with it as with the full target.
#[test]
fn one_target_failures_listed_and_output_accepted() {
    let obj = clang("rules.bpf.c", "rules.o");
    for target in ["target_moved.c", "target_ambiguous.c"] {
        let full = clang(target, &format!("{target}.o"));
        let min = tmp(&format!("{target}.min.btf"));
        let out = btfkit(&[
            "min-btf".as_ref(),
            "--btf".as_ref(),
            full.as_os_str(),
            "-o".as_ref(),
            min.as_os_str(),
            obj.as_os_str(),
        ]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{target}: {err}");
        let failing = err.matches("does not resolve:").count();
        if target == "target_ambiguous.c" {
            assert!(failing > 0 && err.contains("ambiguity"), "{err}");
        } else {
            assert_eq!(failing, 0, "{err}");
        }
        assert!(std::fs::metadata(&min).unwrap().len() > 24);
        for cmd in ["explain", "relocate"] {
            let run = |t: &Path| {
                let o = tmp(&format!("{target}.{cmd}.o"));
                let mut args: Vec<&std::ffi::OsStr> = vec![
                    cmd.as_ref(),
                    obj.as_os_str(),
                    "--target".as_ref(),
                    t.as_os_str(),
                ];
                if cmd == "relocate" {
                    args.extend(["-o".as_ref(), o.as_os_str()]);
                }
                btfkit(&args).status.code()
            };
            let (a, b) = (run(&full), run(&min));
            assert_eq!(a, b, "{target}: btfkit {cmd}");
            assert_ne!(
                b,
                Some(2),
                "{target}: btfkit {cmd} refused the tailored BTF"
            );
        }
    }
}

/// Module BTF: --base, standalone and split over the base.
#[test]
fn module_btf_with_base() {
    let obj = clang("module.bpf.c", "module.o");
    let (base, split) = (
        kernel_btf("btf_testmod.base.btf"),
        kernel_btf("btf_testmod.split.btf"),
    );
    for split_out in [false, true] {
        let min = tmp(&format!("module-{split_out}.btf"));
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "min-btf".as_ref(),
            "--btf".as_ref(),
            split.as_os_str(),
            "--base".as_ref(),
            base.as_os_str(),
            "-o".as_ref(),
            min.as_os_str(),
            obj.as_os_str(),
        ];
        if split_out {
            args.push("--split-over-base".as_ref());
        }
        let out = btfkit(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut explain: Vec<&std::ffi::OsStr> = vec![
            "explain".as_ref(),
            obj.as_os_str(),
            "--target".as_ref(),
            min.as_os_str(),
        ];
        if split_out {
            explain.extend(["--base".as_ref(), base.as_os_str()]);
        }
        let out = btfkit(&explain);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A tree: raw and .btf.tar.xz kernels and a corrupt file; the corrupt one is
/// reported, the others are written, compressed like their input.
#[test]
fn tree_with_compressed_and_corrupt_files() {
    let root = tmp("tree");
    let out_dir = tmp("tree-out");
    let _ = std::fs::remove_dir_all(&root);
    let _ = std::fs::remove_dir_all(&out_dir);
    let raw_dir = root.join("debian/12/x86_64");
    std::fs::create_dir_all(&raw_dir).unwrap();
    std::fs::copy(
        kernel_btf("vmlinux-6.1.0-47-amd64.btf"),
        raw_dir.join("6.1.0-47-amd64.btf"),
    )
    .unwrap();
    // The cloud kernel as BTFHub ships it: <kernel>.btf in an xz tar.
    let stage = tmp("tree-stage");
    std::fs::create_dir_all(&stage).unwrap();
    std::fs::copy(
        kernel_btf("vmlinux-6.1.0-47-cloud.btf"),
        stage.join("6.1.0-47-cloud-amd64.btf"),
    )
    .unwrap();
    let st = Command::new("tar")
        .arg("-cJf")
        .arg(raw_dir.join("6.1.0-47-cloud-amd64.btf.tar.xz"))
        .arg("-C")
        .arg(&stage)
        .arg("6.1.0-47-cloud-amd64.btf")
        .status()
        .expect("tar and xz are required");
    assert!(st.success());
    let bad_dir = root.join("other/1/x86_64");
    std::fs::create_dir_all(&bad_dir).unwrap();
    std::fs::write(
        bad_dir.join("0.0.0-corrupt.btf"),
        b"\x9f\xeb\x01\x00garbage",
    )
    .unwrap();
    std::fs::write(bad_dir.join("0.0.1-corrupt.btf.tar.xz"), b"not xz").unwrap();

    // A crafted kernel whose candidates disagree: relocations failing there.
    let crafted_dir = root.join("crafted/1/x86_64");
    std::fs::create_dir_all(&crafted_dir).unwrap();
    let ambiguous = std::fs::read(clang("target_ambiguous.c", "tree-ambiguous.o")).unwrap();
    std::fs::write(
        crafted_dir.join("0.0.2-ambiguous.btf"),
        btfkit_object::btf_from_elf(&ambiguous).unwrap(),
    )
    .unwrap();

    let obj = clang("rules.bpf.c", "rules-tree.o");
    let out = btfkit(&[
        "min-btf".as_ref(),
        "--btf-dir".as_ref(),
        root.as_os_str(),
        "--out-dir".as_ref(),
        out_dir.as_os_str(),
        "--json".as_ref(),
        obj.as_os_str(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert_eq!(
        err.matches("] ").count(),
        5,
        "a progress line per kernel: {err}"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["kernels"], 5, "{v}");
    let failing = v["failing_relocations"].as_array().unwrap();
    assert!(!failing.is_empty(), "{v}");
    for f in failing {
        let on = serde_json::json!(["crafted/1/x86_64/0.0.2-ambiguous.btf"]);
        assert_eq!(f["kernels"], on, "{v}");
    }
    assert!(out_dir
        .join("crafted/1/x86_64/0.0.2-ambiguous.btf")
        .is_file());
    assert_eq!(v["errors"], 2, "{v}");
    assert!(v["bytes_out"].as_u64().unwrap() * 100 < v["bytes_in"].as_u64().unwrap());
    assert!(out_dir
        .join("debian/12/x86_64/6.1.0-47-amd64.btf")
        .is_file());
    let xz = out_dir.join("debian/12/x86_64/6.1.0-47-cloud-amd64.btf.tar.xz");
    let list = Command::new("tar").arg("-tJf").arg(&xz).output().unwrap();
    assert!(list.status.success());
    assert_eq!(
        String::from_utf8_lossy(&list.stdout).trim(),
        "6.1.0-47-cloud-amd64.btf"
    );
    assert!(!out_dir.join("other/1/x86_64/0.0.0-corrupt.btf").exists());
}
