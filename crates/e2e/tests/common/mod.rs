//! Shared by the kernel tests: building and linking an example BPF crate, the
//! C twins, and (re-exported from btfkit-testkit) loading into the kernel.
#![allow(dead_code, unused_imports)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub mod all_queries;
pub mod aya_task;
pub mod core_strings;
pub mod kernel_types;
pub mod query_cost;
pub mod task_core;

/// Builds `examples/<name>` for bpfel-unknown-none with the BPF toolchain of
/// scripts/env.sh and links it with btfkit; returns the linked object.
pub fn build_example(name: &str) -> Vec<u8> {
    build_example_with(name, &[])
}

/// [`build_example`] with extra cargo arguments (`--no-default-features`); each
/// set of arguments gets its own cached target directory under target/tmp.
pub fn build_example_with(name: &str, cargo_args: &[&str]) -> Vec<u8> {
    let flavor: String = cargo_args
        .iter()
        .map(|a| a.trim_start_matches('-'))
        .collect::<Vec<_>>()
        .join("-");
    let dir = if flavor.is_empty() {
        format!("examples-{name}")
    } else {
        format!("examples-{name}-{flavor}")
    };
    let release = btfkit_testkit::toolchain::cargo_build_bpf(
        &examples_dir().join(name),
        &Path::new(env!("CARGO_TARGET_TMPDIR")).join(dir),
        "-C debuginfo=2 -C link-arg=--btf",
        cargo_args,
    );
    let built = std::fs::read(release.join(name)).unwrap();
    btfkit_link::link(&built).unwrap().object
}

/// `examples/`.
pub fn examples_dir() -> PathBuf {
    btfkit_testkit::data::repo_root().join("examples")
}

/// `examples/<name>/twin.bpf.c` compiled by clang-22 with libbpf's headers.
pub fn clang_twin(example: &str) -> Vec<u8> {
    let src = examples_dir().join(example).join("twin.bpf.c");
    clang_bpf(&src, &format!("{example}-twin.o"), &[])
}

/// `src` compiled by clang-22 for BPF with libbpf's headers and `extra`
/// arguments into `CARGO_TARGET_TMPDIR/<out>` (`btfkit_testkit::clang`);
/// the object's bytes.
pub fn clang_bpf(src: &Path, out: &str, extra: &[&str]) -> Vec<u8> {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(out);
    btfkit_testkit::clang::compile(src, &out, extra)
}

/// This thread's id.
pub fn tid() -> u64 {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::gettid() as u64 }
}

pub use btfkit_testkit::kernel::{core_relo_count, load_with_btfkit, require_root, VMLINUX};

/// libbpf's log of a load says `relo #N:` for every record of `object`: libbpf,
/// not some earlier step, relocated each one.
pub fn assert_libbpf_relocated_every_record(object: &[u8], log: &str) {
    let mut relocated = std::collections::BTreeSet::new();
    for line in log.lines() {
        if let Some((_, rest)) = line.split_once("relo #") {
            if let Some((n, _)) = rest.split_once(':') {
                relocated.insert(n.to_string());
            }
        }
    }
    assert_eq!(
        relocated.len(),
        core_relo_count(object),
        "libbpf's log names a different number of CO-RE records:\n{log}"
    );
}

/// `.BTF` of a linked object: (number of types, bytes of the type section,
/// bytes of the whole section).
pub fn btf_size(object: &[u8]) -> (u32, usize, usize) {
    let parsed = btfkit_object::BpfObject::parse(object).unwrap();
    let bytes = parsed.btf().expect("the object has no .BTF");
    let btf = btfkit_model::Btf::parse(bytes).unwrap();
    let word = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
    // Header: magic, version, flags, hdr_len, type_off, type_len, ...
    (btf.last_id(), word(12), bytes.len())
}

/// Bytes of `.BTF`'s string section that only line_info's source texts
/// use (each distinct text with its NUL): the part of `.BTF` that depends
/// on how long the program's source lines are, not on the link step.
pub fn line_text_bytes(object: &[u8]) -> usize {
    let parsed = btfkit_object::BpfObject::parse(object).unwrap();
    let btf = btfkit_model::Btf::parse(parsed.btf().unwrap()).unwrap();
    let ext = btfkit_model::BtfExt::parse(parsed.btf_ext().unwrap()).unwrap();
    let mut other = std::collections::BTreeSet::new();
    for id in btf.type_ids() {
        let ty = btf.type_by_id(id).unwrap();
        other.insert(btf.type_name(&ty).unwrap().to_string());
    }
    let texts: std::collections::BTreeSet<&str> = ext
        .line_info
        .sections
        .iter()
        .flat_map(|s| s.records.iter())
        .map(|r| btf.name(r.line_off).unwrap())
        .collect();
    texts
        .iter()
        .filter(|t| !t.is_empty() && !other.contains(**t))
        .map(|t| t.len() + 1)
        .sum()
}

/// Fails unless the Rust object's `.BTF` has no more types, no more bytes
/// of types and no more bytes in all but the source texts of line_info
/// than its C twin's (lean BTF, as clang writes it), and, with `whole`, no
/// more bytes in all (the source texts included: Rust's lines are often
/// longer than C's); prints both.
pub fn assert_btf_no_larger_than_twin(example: &str, rust: &[u8], twin: &[u8], whole: bool) {
    let (rt, rtb, rb) = btf_size(rust);
    let (ct, ctb, cb) = btf_size(twin);
    let (rl, cl) = (line_text_bytes(rust), line_text_bytes(twin));
    eprintln!(
        "{example}: .BTF of the Rust object {rt} types ({rtb} bytes), {rb} bytes in all, \
         {rl} of them source texts; C twin {ct} types ({ctb} bytes), {cb} bytes, {cl} of them \
         source texts"
    );
    assert!(
        rt <= ct && rtb <= ctb && rb - rl <= cb - cl && (!whole || rb <= cb),
        "{example}: .BTF of the Rust object ({rt} types, {rtb} bytes of types, {rb} in all, \
         {rl} of source texts) is larger than its C twin's ({ct} types, {ctb} bytes of types, \
         {cb} in all, {cl} of source texts)"
    );
}

/// Writes `btfkit gen` bindings of the running kernel for `roots` to
/// `examples/<path>` (rewritten only when they change, so builds stay
/// incremental); `opaque_pointees` as `btfkit gen --opaque-pointees`.
pub fn generate_bindings(roots: &[&str], path: &str, opaque_pointees: bool) {
    let data = std::fs::read(VMLINUX).unwrap();
    let btf = btfkit_model::Btf::parse(&data).unwrap();
    let opts = btfkit_gen::Options {
        layout: btfkit_gen::Layout::Relocatable,
        roots: roots.iter().map(|s| s.to_string()).collect(),
        source: Some(btfkit_gen::Source::new(VMLINUX, &data)),
        include_safe: false,
        opaque_pointees,
    };
    let text = btfkit_gen::generate(&btf, &opts).unwrap();
    let path = examples_dir().join(path);
    if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
        std::fs::write(&path, text).unwrap();
    }
}

/// `examples/<example>/twin.bpf.c` compiled by clang-22 on bpftool's
/// `vmlinux.h` of the running kernel.
pub fn clang_twin_on_vmlinux_h(example: &str) -> Vec<u8> {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{example}-twin"));
    std::fs::create_dir_all(&dir).unwrap();
    let header = Command::new("bpftool")
        .args(["btf", "dump", "file", VMLINUX, "format", "c"])
        .output()
        .expect("bpftool is required (scripts/setup.sh installs it)");
    assert!(header.status.success(), "bpftool btf dump failed");
    std::fs::write(dir.join("vmlinux.h"), &header.stdout).unwrap();
    let src = examples_dir().join(example).join("twin.bpf.c");
    let include = format!("-I{}", dir.display());
    btfkit_testkit::clang::compile(&src, &dir.join("twin.o"), &[&include])
}
