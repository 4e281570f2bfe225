//! Shared by the kernel tests: building and linking an example BPF crate.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub mod all_queries;
pub mod kernel_types;
pub mod task_core;

/// Builds `examples/<name>` for bpfel-unknown-none with the BPF toolchain of
/// scripts/env.sh and links it with btfkit; returns the linked object.
pub fn build_example(name: &str) -> Vec<u8> {
    build_example_with(name, &[])
}

/// [`build_example`] with extra cargo arguments (`--no-default-features`); each
/// set of arguments gets its own cached target directory under target/tmp.
pub fn build_example_with(name: &str, cargo_args: &[&str]) -> Vec<u8> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let tools = std::env::var("BTFKIT_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap()).join(".local/share/btfkit")
        });
    let cargo = std::env::var("BTFKIT_CARGO").unwrap_or_else(|_| "/usr/bin/cargo".into());
    let rustc = std::env::var("BTFKIT_RUSTC").unwrap_or_else(|_| "/usr/bin/rustc".into());
    assert!(
        tools.join("bin/bpf-linker").exists() && Path::new(&rustc).exists(),
        "the BPF toolchain is missing (bpf-linker in {}, {rustc}); run scripts/setup.sh",
        tools.display()
    );
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
    let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(dir);
    let out = Command::new(&cargo)
        .current_dir(root.join("examples").join(name))
        .args(["build", "--release", "--target", "bpfel-unknown-none"])
        .args(cargo_args)
        .env(
            "PATH",
            format!(
                "{}:{}",
                tools.join("bin").display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("RUSTC", &rustc)
        .env("RUSTFLAGS", "-C debuginfo=2 -C link-arg=--btf")
        .env("CARGO_TARGET_DIR", &target_dir)
        .env_remove("RUSTC_WRAPPER")
        .env_remove("CARGO_BUILD_TARGET")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "building examples/{name} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let built = std::fs::read(target_dir.join("bpfel-unknown-none/release").join(name)).unwrap();
    btfkit_link::link(&built).unwrap().object
}

/// `examples/<name>/twin.bpf.c` compiled by clang-22 with libbpf's headers.
pub fn clang_twin(example: &str) -> Vec<u8> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(example)
        .join("twin.bpf.c");
    clang_bpf(&src, &format!("{example}-twin.o"), &[])
}

/// `src` compiled by clang-22 for BPF with libbpf's headers and `extra`
/// arguments into `CARGO_TARGET_TMPDIR/<out>` (`btfkit_e2e::difftest::clang_bpf`);
/// the object's bytes.
pub fn clang_bpf(src: &Path, out: &str, extra: &[&str]) -> Vec<u8> {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(out);
    btfkit_e2e::difftest::clang_bpf(src, &out, extra).unwrap_or_else(|e| panic!("{e}"));
    std::fs::read(out).unwrap()
}

/// This thread's id.
pub fn tid() -> u64 {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::gettid() as u64 }
}

/// Fails loudly unless BPF programs can be loaded here.
pub fn require_root() {
    assert!(
        btfkit_loader::running_as_root(),
        "these tests load BPF programs and must run as root"
    );
    assert!(
        btfkit_loader::kernel_btf_available(),
        "the running kernel has no /sys/kernel/btf/vmlinux"
    );
}

/// The CO-RE records of a linked object.
pub fn core_relo_count(object: &[u8]) -> usize {
    let parsed = btfkit_object::BpfObject::parse(object).unwrap();
    btfkit_model::BtfExt::parse(parsed.btf_ext().expect("the object has no .BTF.ext"))
        .unwrap()
        .core_relo
        .len()
}

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

/// Fails unless the Rust object's `.BTF` has no more types and no more
/// bytes of types than its C twin's (lean BTF, as clang writes it), and,
/// with `whole`, no more bytes in all (strings included: in small programs
/// the strings are mostly line_info's source lines, longer in Rust); prints
/// both.
pub fn assert_btf_no_larger_than_twin(example: &str, rust: &[u8], twin: &[u8], whole: bool) {
    let (rt, rtb, rb) = btf_size(rust);
    let (ct, ctb, cb) = btf_size(twin);
    eprintln!(
        "{example}: .BTF of the Rust object {rt} types ({rtb} bytes), {rb} bytes in all; \
         C twin {ct} types ({ctb} bytes), {cb} bytes"
    );
    assert!(
        rt <= ct && rtb <= ctb && (!whole || rb <= cb),
        "{example}: .BTF of the Rust object ({rt} types, {rtb} bytes of types, {rb} in all) \
         is larger than its C twin's ({ct} types, {ctb} bytes of types, {cb} in all)"
    );
}

/// The running kernel's BTF.
pub const VMLINUX: &str = "/sys/kernel/btf/vmlinux";

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
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(path);
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
    let out = dir.join("twin.o");
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(example)
        .join("twin.bpf.c");
    let st = Command::new("clang-22")
        .args(["-target", "bpf", "-O2", "-g", "-c"])
        .arg(format!("-I{}", dir.display()))
        .arg("-I/usr/include/x86_64-linux-gnu")
        .arg(&src)
        .arg("-o")
        .arg(&out)
        .status()
        .expect("clang-22 is required (scripts/setup.sh installs it)");
    assert!(st.success(), "clang-22 failed on {}", src.display());
    std::fs::read(out).unwrap()
}

/// `object` relocated by btfkit's engine against the running kernel's BTF (one
/// decision per core_relo record) and loaded by btfkit-loader.
pub fn load_with_btfkit(object: &[u8]) -> btfkit_loader::LoadedObject {
    let kernel = std::fs::read(VMLINUX).unwrap();
    let kernel = btfkit_model::Btf::parse(&kernel).unwrap();
    let relocated =
        btfkit_reloc::relocate_object(object, &btfkit_reloc::Target::new(&kernel)).unwrap();
    assert_eq!(relocated.decisions.len(), core_relo_count(object));
    let out = btfkit_reloc::write::write_relocated(object, &relocated).unwrap();
    btfkit_loader::LoadedObject::load(&out).unwrap()
}
