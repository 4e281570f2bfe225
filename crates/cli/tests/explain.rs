//! `btfkit explain`: one row per relocation with libbpf's vocabulary, JSON
//! with the documented fields, and exit status 0 (all applied), 1 (some
//! poisoned or failed), 2 (unreadable input).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn clang(src: &Path, out: &str) -> PathBuf {
    clang_with(src, out, &[])
}

/// `src` compiled by clang-22 for BPF with `extra` arguments into `CARGO_TARGET_TMPDIR/<out>`.
fn clang_with(src: &Path, out: &str, extra: &[&str]) -> PathBuf {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(out);
    btfkit_testkit::clang::clang_bpf(src, &out, extra).unwrap_or_else(|e| panic!("{e}"));
    out
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../reloc/tests/data")
        .join(name)
}

fn explain(args: &[&std::ffi::OsStr]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_btfkit"))
        .arg("explain")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_relocation_applied_exits_0_with_json_rows() {
    let obj = clang(&data("rules.bpf.c"), "explain-rules.o");
    let target = clang(&data("target_moved.c"), "explain-moved.o");
    let (code, stdout, stderr) = explain(&[
        obj.as_os_str(),
        "--target".as_ref(),
        target.as_os_str(),
        "--json".as_ref(),
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout).unwrap();
    assert_eq!(rows.len(), 23);
    for field in [
        "prog",
        "insn",
        "kind",
        "local_type",
        "access",
        "target_type_id",
        "old",
        "new",
        "poisoned",
        "reason",
    ] {
        assert!(
            rows.iter().all(|r| r.get(field).is_some()),
            "every row has {field}"
        );
    }
    let first = &rows[0];
    assert_eq!(first["prog"], "rules");
    assert_eq!(first["kind"], "byte_off");
    assert!(
        first["local_type"]
            .as_str()
            .unwrap()
            .ends_with("] struct rs.a (0:0 @ offset 0)"),
        "{first}"
    );
    assert_eq!(
        (first["old"].as_u64(), first["new"].as_u64()),
        (Some(0), Some(32))
    );
    assert_eq!(first["poisoned"], false);
}

#[test]
fn poisoned_relocations_exit_1_and_say_why() {
    let obj = clang(&data("rules.bpf.c"), "explain-rules2.o");
    let target = clang(&data("target_missing.c"), "explain-missing.o");
    let (code, stdout, _) = explain(&[
        obj.as_os_str(),
        "--target".as_ref(),
        target.as_os_str(),
        "--json".as_ref(),
    ]);
    assert_eq!(code, Some(1));
    let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout).unwrap();
    let poisoned: Vec<_> = rows.iter().filter(|r| r["poisoned"] == true).collect();
    assert!(poisoned.len() >= 3);
    assert!(poisoned
        .iter()
        .all(|r| r["reason"].as_str().is_some_and(|s| !s.is_empty())));
    // The unsafe resize of `b` (int -> long) is reported as poisoned, with why.
    assert!(
        poisoned.iter().any(|r| r["outcome"] == "poisoned"
            && r["reason"].as_str().is_some_and(|s| s.starts_with(
                "field rs.b: 4-byte load of an 8-byte signed int field cannot be resized"
            ))),
        "{stdout}"
    );
    let (code, text, _) = explain(&[obj.as_os_str(), "--target".as_ref(), target.as_os_str()]);
    assert_eq!(code, Some(1));
    assert!(
        text.contains("POISONED") && text.contains("relocation(s):"),
        "{text}"
    );
}

#[test]
fn split_btf_without_base_asks_for_base() {
    let obj = clang(&data("module.bpf.c"), "explain-module.o");
    let dir = btfkit_testkit::data::kernel_btf_dir();
    let split = dir.join("btf_testmod.split.btf");
    let (code, _, stderr) = explain(&[obj.as_os_str(), "--target".as_ref(), split.as_os_str()]);
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("split BTF") && stderr.contains("--base"),
        "{stderr}"
    );
    // The same split BTF with strings that start with the empty string: its
    // type ids past its own are what gives it away.
    let mut data = std::fs::read(&split).unwrap();
    let word = |at: usize| u32::from_le_bytes(data[at..at + 4].try_into().unwrap()) as usize;
    let strings = word(4) + word(16);
    data[strings] = 0;
    let zero = Path::new(env!("CARGO_TARGET_TMPDIR")).join("explain-split-nul.btf");
    std::fs::write(&zero, &data).unwrap();
    let (code, _, stderr) = explain(&[obj.as_os_str(), "--target".as_ref(), zero.as_os_str()]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("split BTF") && stderr.contains("--base"),
        "{stderr}"
    );
    let base = dir.join("btf_testmod.base.btf");
    let (code, stdout, stderr) = explain(&[
        obj.as_os_str(),
        "--target".as_ref(),
        split.as_os_str(),
        "--base".as_ref(),
        base.as_os_str(),
    ]);
    assert!(code == Some(0) || code == Some(1), "{stderr}");
    assert!(stdout.contains("relocation(s):"), "{stdout}");
}

#[test]
fn unreadable_input_exits_2_with_one_line() {
    let (code, _, stderr) = explain(&["/nonexistent.o".as_ref()]);
    assert_eq!(code, Some(2));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("cannot read /nonexistent.o"), "{stderr}");
}

#[test]
fn unreachable_poisons_exit_0_and_name_their_guard() {
    let src = data("guards.bpf.c");
    let compile = |case: u32| {
        clang_with(
            &src,
            &format!("explain-guards{case}.o"),
            &[&format!("-DCASE={case}")],
        )
    };
    // Guarded: the poisoned read is unreachable, the object loads: exit 0.
    let guarded = compile(1);
    let (code, text, _) = explain(&[guarded.as_os_str()]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains(
            "poisoned (unreachable: guarded by insn 1 field_exists task_struct.btfkit_missing = 0"
        ),
        "{text}"
    );
    let (_, json, _) = explain(&[guarded.as_os_str(), "--json".as_ref()]);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    let poisoned: Vec<_> = rows.iter().filter(|r| r["poisoned"] == true).collect();
    assert_eq!(poisoned.len(), 1, "{json}");
    assert_eq!(poisoned[0]["reachable"], false);
    assert!(rows
        .iter()
        .filter(|r| r["poisoned"] == false)
        .all(|r| r["reachable"].is_null()));
    // Unguarded: reachable, exit 1.
    let unguarded = compile(2);
    let (code, text, _) = explain(&[unguarded.as_os_str()]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("POISONED (reachable"), "{text}");
    let (_, json, _) = explain(&[unguarded.as_os_str(), "--json".as_ref()]);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    assert!(rows.iter().any(|r| r["reachable"] == true), "{json}");
}
