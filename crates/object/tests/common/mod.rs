//! Shared helpers of the integration tests: compiling the C test programs
//! with clang-22 (btfkit-testkit) and reading objects back with llvm-readelf-22 and bpftool.
//! A missing tool fails the test with a message; nothing is skipped.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs `program args` and returns stdout; panics with stderr on failure.
pub fn run(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {program} (is it installed? this test needs it): {e}")
        });
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A fresh temporary directory for one test.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("btfkit-object-test")
        .tempdir()
        .expect("create temp dir")
}

/// Compiles `crates/object/testdata/<name>.bpf.c` with
/// `clang-22 -target <target> -O2 -g -c` into `dir` and returns the object path.
pub fn compile(name: &str, target: &str, dir: &Path) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(format!("{name}.bpf.c"));
    let out = dir.join(format!("{name}.{target}.o"));
    btfkit_testkit::clang::clang_bpf(&source, &out, &["-target", target])
        .unwrap_or_else(|e| panic!("{e}"));
    out
}

/// One row of `llvm-readelf -S`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadelfSection {
    pub index: usize,
    pub name: String,
    pub sh_type: String,
    pub offset: u64,
    pub size: u64,
    pub entsize: u64,
    pub flags: String,
    pub link: u32,
    pub info: u32,
    pub align: u64,
}

/// Sections as `llvm-readelf-22 -S -W` prints them.
pub fn readelf_sections(path: &Path) -> Vec<ReadelfSection> {
    let text = run("llvm-readelf-22", &["-S", "-W", path.to_str().unwrap()]);
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim_start();
        let Some(rest) = line.strip_prefix('[') else {
            continue;
        };
        let Some((index, rest)) = rest.split_once(']') else {
            continue;
        };
        let Ok(index) = index.trim().parse::<usize>() else {
            continue;
        };
        let mut tokens: Vec<&str> = rest.split_whitespace().collect();
        if index == 0 {
            tokens.insert(0, "");
        }
        let (flags, tail) = match tokens.len() {
            9 => ("", &tokens[6..]),
            10 => (tokens[6], &tokens[7..]),
            n => panic!("unexpected section line with {n} fields: {line}"),
        };
        out.push(ReadelfSection {
            index,
            name: tokens[0].to_string(),
            sh_type: tokens[1].to_string(),
            offset: u64::from_str_radix(tokens[3], 16).unwrap(),
            size: u64::from_str_radix(tokens[4], 16).unwrap(),
            entsize: u64::from_str_radix(tokens[5], 16).unwrap(),
            flags: flags.to_string(),
            link: tail[0].parse().unwrap(),
            info: tail[1].parse().unwrap(),
            align: tail[2].parse().unwrap(),
        });
    }
    out
}

/// One row of `llvm-readelf -s`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadelfSymbol {
    pub index: usize,
    pub value: u64,
    pub size: u64,
    pub kind: String,
    pub bind: String,
    pub ndx: String,
    pub name: String,
}

/// Symbols as `llvm-readelf-22 -s -W` prints them.
pub fn readelf_symbols(path: &Path) -> Vec<ReadelfSymbol> {
    let text = run("llvm-readelf-22", &["-s", "-W", path.to_str().unwrap()]);
    let mut out = Vec::new();
    for line in text.lines() {
        let tokens: Vec<&str> = line.split_whitespace().collect();
        let Some(index) = tokens.first().and_then(|t| t.strip_suffix(':')) else {
            continue;
        };
        let Ok(index) = index.parse::<usize>() else {
            continue;
        };
        out.push(ReadelfSymbol {
            index,
            value: u64::from_str_radix(tokens[1], 16).unwrap(),
            size: tokens[2].parse().unwrap(),
            kind: tokens[3].to_string(),
            bind: tokens[4].to_string(),
            ndx: tokens[6].to_string(),
            name: tokens.get(7).unwrap_or(&"").to_string(),
        });
    }
    out
}

/// One row of `llvm-readelf -r`, with the relocation section's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadelfRelocation {
    pub section: String,
    pub offset: u64,
    pub r_type: String,
    pub symbol: String,
}

/// Relocations as `llvm-readelf-22 -r -W` prints them.
pub fn readelf_relocations(path: &Path) -> Vec<ReadelfRelocation> {
    let text = run("llvm-readelf-22", &["-r", "-W", path.to_str().unwrap()]);
    let mut out = Vec::new();
    let mut section = String::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("Relocation section '") {
            section = rest.split('\'').next().unwrap().to_string();
            continue;
        }
        let tokens: Vec<&str> = line.split_whitespace().collect();
        if tokens.len() < 3 || !tokens[2].starts_with("R_") {
            continue;
        }
        out.push(ReadelfRelocation {
            section: section.clone(),
            offset: u64::from_str_radix(tokens[0], 16).unwrap(),
            r_type: tokens[2].to_string(),
            symbol: tokens.get(4).unwrap_or(&"").to_string(),
        });
    }
    out
}

/// `bpftool btf dump file <path>` output.
pub fn bpftool_btf_dump(path: &Path) -> String {
    run("bpftool", &["btf", "dump", "file", path.to_str().unwrap()])
}

/// Name of a BPF relocation type as llvm-readelf prints it.
pub fn bpf_reloc_name(r_type: u32) -> &'static str {
    match r_type {
        0 => "R_BPF_NONE",
        1 => "R_BPF_64_64",
        2 => "R_BPF_64_ABS64",
        3 => "R_BPF_64_ABS32",
        4 => "R_BPF_64_NODYLD32",
        10 => "R_BPF_64_32",
        _ => "?",
    }
}

/// Loads every program of `object` with `bpftool prog loadall` (pinning under
/// a fresh directory of bpffs, removed afterwards) and returns the pinned
/// program names. Needs root and bpffs; fails loudly otherwise.
pub fn bpftool_loadall(object: &Path, tag: &str) -> Vec<String> {
    let bpffs = Path::new("/sys/fs/bpf");
    if !bpffs.join(".").exists()
        || run("stat", &["-f", "-c", "%T", "/sys/fs/bpf"]).trim() != "bpf_fs"
    {
        run("mount", &["-t", "bpf", "bpf", "/sys/fs/bpf"]);
    }
    let pin = bpffs.join(format!("btfkit-object-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&pin);
    let output = Command::new("bpftool")
        .args([
            "prog",
            "loadall",
            object.to_str().unwrap(),
            pin.to_str().unwrap(),
        ])
        .output()
        .expect("cannot run bpftool (this test needs it)");
    let mut names: Vec<String> = std::fs::read_dir(&pin)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let _ = std::fs::remove_dir_all(&pin);
    assert!(
        output.status.success(),
        "bpftool prog loadall {} failed (needs root and bpf()): {}",
        object.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    names
}

/// Symbol names of `.llvm_addrsig` as `llvm-readelf-22 --addrsig` prints them.
pub fn readelf_addrsig(path: &Path) -> Vec<String> {
    let text = run("llvm-readelf-22", &["--addrsig", path.to_str().unwrap()]);
    text.lines()
        .filter_map(|line| {
            let (index, name) = line.trim().split_once(": ")?;
            index.parse::<usize>().ok()?;
            Some(name.to_string())
        })
        .collect()
}
