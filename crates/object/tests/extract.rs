//! Getting BTF and objects out of other files: `.BTF` of an ELF wrapping raw
//! kernel BTF, and the BPF objects embedded in Debian's libbpf-tools.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use btfkit_object::{
    btf_from_elf, detect_format, find_embedded_bpf_objects, is_elf, is_raw_btf, BpfObject,
    DataFormat, ObjectError, ObjectRewriter,
};
use common::*;

const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

fn kernel_btf() -> Vec<u8> {
    std::fs::read(VMLINUX_BTF).unwrap_or_else(|e| {
        panic!("this test needs the running kernel's BTF at {VMLINUX_BTF}: {e}")
    })
}

/// Wraps `btf` as a `.BTF` section of a tiny ELF built by clang-22 for `target`.
fn wrap_in_elf(btf_path: &Path, target: &str, dir: &Path) -> Vec<u8> {
    let source = dir.join("tiny.c");
    std::fs::write(&source, "int tiny;\n").unwrap();
    let tiny = dir.join(format!("tiny.{target}.o"));
    run(
        "clang-22",
        &[
            "-target",
            target,
            "-c",
            source.to_str().unwrap(),
            "-o",
            tiny.to_str().unwrap(),
        ],
    );
    let wrapped = dir.join(format!("wrapped.{target}.o"));
    run(
        "llvm-objcopy-22",
        &[
            &format!("--add-section=.BTF={}", btf_path.display()),
            tiny.to_str().unwrap(),
            wrapped.to_str().unwrap(),
        ],
    );
    std::fs::read(wrapped).unwrap()
}

#[test]
fn btf_from_elf_returns_the_wrapped_bytes() {
    let dir = temp_dir();
    let btf = kernel_btf();
    // sysfs files report a size of 4096; copy to a regular file for objcopy.
    let raw = dir.path().join("vmlinux.btf");
    std::fs::write(&raw, &btf).unwrap();
    assert!(is_raw_btf(&btf));
    assert!(!is_elf(&btf));
    assert_eq!(detect_format(&btf), DataFormat::RawBtf);
    for target in [
        "x86_64-linux-gnu",
        "i386-linux-gnu",
        "bpfel",
        "bpfeb",
        "aarch64_be-linux-gnu",
    ] {
        let elf = wrap_in_elf(&raw, target, dir.path());
        assert_eq!(detect_format(&elf), DataFormat::Elf);
        let found = btf_from_elf(&elf).unwrap_or_else(|e| panic!("{target}: {e}"));
        assert!(
            found == &btf[..],
            "{target}: .BTF differs from the wrapped bytes"
        );
    }
    // Kernel BTF of other kernels, from the shared test data.
    let shared = btfkit_testkit::data::kernel_btf("vmlinux-6.1.0-47-amd64.btf");
    let other = std::fs::read(&shared).unwrap();
    let elf = wrap_in_elf(&shared, "x86_64-linux-gnu", dir.path());
    assert!(btf_from_elf(&elf).unwrap() == &other[..]);

    // No .BTF, not ELF.
    let tiny = std::fs::read(dir.path().join("tiny.bpfel.o")).unwrap();
    assert!(matches!(
        btf_from_elf(&tiny),
        Err(ObjectError::MissingSection(_))
    ));
    assert!(matches!(btf_from_elf(&btf), Err(ObjectError::NotElf)));
    assert_eq!(detect_format(b"nothing"), DataFormat::Unknown);
}

/// The libbpf-tools executables (symlinks resolved, each once).
fn libbpf_tools() -> Vec<PathBuf> {
    let list = run("dpkg", &["-L", "libbpf-tools"]);
    let mut tools = BTreeSet::new();
    for line in list.lines().filter(|l| l.starts_with("/usr/sbin/")) {
        let path = std::fs::canonicalize(line).unwrap();
        if path.is_file() {
            tools.insert(path);
        }
    }
    assert!(
        tools.contains(Path::new("/usr/sbin/execsnoop")),
        "libbpf-tools is not installed (apt-get install libbpf-tools)"
    );
    tools.into_iter().collect()
}

#[test]
fn embedded_objects_of_libbpf_tools() {
    let tools = libbpf_tools();
    let mut objects = 0;
    let mut functions = 0;
    let mut core_tools = 0;
    for tool in &tools {
        let binary = std::fs::read(tool).unwrap();
        let found = find_embedded_bpf_objects(&binary);
        assert!(
            !found.is_empty(),
            "{}: no embedded BPF object",
            tool.display()
        );
        for embedded in &found {
            let bytes = embedded.bytes(&binary).unwrap();
            let what = format!(
                "{} @ {:#x}+{:#x}",
                tool.display(),
                embedded.offset,
                embedded.len
            );
            let object = BpfObject::parse(bytes).unwrap_or_else(|e| panic!("{what}: {e}"));
            let btf = object.btf().unwrap_or_else(|| panic!("{what}: no .BTF"));
            let btf_ext = object
                .btf_ext()
                .unwrap_or_else(|| panic!("{what}: no .BTF.ext"));
            assert!(is_raw_btf(btf), "{what}");
            assert!(is_raw_btf(btf_ext), "{what}");
            assert!(!object.programs().is_empty(), "{what}: no programs");
            functions += object
                .programs()
                .iter()
                .map(|p| p.functions.len())
                .sum::<usize>();
            // Every instruction of every function is nameable.
            for program in object.programs() {
                for function in &program.functions {
                    for i in 0..function.insn_count() {
                        let offset = function.offset + 8 * i as u64;
                        let location = object.locate_insn(program.section_index, offset).unwrap();
                        assert_eq!(location.function, function.name);
                        assert_eq!(location.insn_index, i);
                    }
                }
            }
            // The rewriter reproduces clang's layout of each object byte for byte.
            let written = ObjectRewriter::new(&object).unwrap().write().unwrap();
            assert!(written == bytes, "{what}: identity rewrite differs");
            objects += 1;
        }
        // CO-RE tools carry core_relo records: .BTF.ext header core_relo_len > 0.
        let first = BpfObject::parse(found[0].bytes(&binary).unwrap()).unwrap();
        let ext = first.btf_ext().unwrap();
        if ext.len() >= 32 && u32::from_le_bytes(ext[28..32].try_into().unwrap()) > 0 {
            core_tools += 1;
        }
    }
    eprintln!(
        "libbpf-tools: {} tools, {objects} embedded BPF objects, {functions} functions, \
         {core_tools} tools with CO-RE relocations",
        tools.len()
    );
    assert!(tools.len() >= 50, "only {} libbpf-tools found", tools.len());
    assert!(core_tools > 0);
}

#[test]
fn embedded_execsnoop_matches_readelf() {
    let dir = temp_dir();
    let binary = std::fs::read("/usr/sbin/execsnoop")
        .expect("libbpf-tools is not installed (apt-get install libbpf-tools)");
    let found = find_embedded_bpf_objects(&binary);
    assert_eq!(found.len(), 1);
    let bytes = found[0].bytes(&binary).unwrap();
    let path = dir.path().join("execsnoop.bpf.o");
    std::fs::write(&path, bytes).unwrap();
    let object = BpfObject::parse(bytes).unwrap();
    let sections = readelf_sections(&path);
    let names: Vec<&str> = sections.iter().map(|s| s.name.as_str()).collect();
    let ours: Vec<&str> = object.sections().iter().map(|s| s.name.as_ref()).collect();
    assert_eq!(ours, names);
    let symbols = readelf_symbols(&path);
    assert_eq!(symbols.len(), object.symbols().len());
    for (ours, theirs) in object.symbols().iter().zip(&symbols) {
        assert_eq!(object.symbol_display_name(ours), theirs.name);
        assert_eq!((ours.value, ours.size), (theirs.value, theirs.size));
    }
    let relocations = readelf_relocations(&path);
    let count: usize = object
        .relocation_sections()
        .iter()
        .map(|s| s.relocations.len())
        .sum();
    assert_eq!(count, relocations.len());
    let programs: Vec<&str> = object
        .programs()
        .iter()
        .flat_map(|p| p.functions.iter().map(|f| f.name.as_ref()))
        .collect();
    assert!(
        programs.contains(&"tracepoint__syscalls__sys_enter_execve"),
        "{programs:?}"
    );
    assert_eq!(
        bpftool_btf_dump(&path)
            .lines()
            .next()
            .map(|l| l.starts_with("[1]")),
        Some(true)
    );
}

#[test]
fn scanning_skips_lookalikes() {
    let dir = temp_dir();
    let object = std::fs::read(compile("sample", "bpfel", dir.path())).unwrap();
    let mut blob = b"\x7fELF but nothing else".to_vec();
    blob.extend_from_slice(&std::fs::read("/bin/true").unwrap()); // an x86-64 ELF: skipped
    let first = blob.len() + 3;
    blob.extend_from_slice(&[0; 3]);
    blob.extend_from_slice(&object);
    let second = blob.len();
    blob.extend_from_slice(&object);
    blob.extend_from_slice(&object[..100]); // truncated: skipped
    let found = find_embedded_bpf_objects(&blob);
    let spans: Vec<(usize, usize)> = found.iter().map(|f| (f.offset, f.len)).collect();
    assert_eq!(spans, [(first, object.len()), (second, object.len())]);
    assert!(found[0].bytes(&blob).unwrap() == &object[..]);
}
