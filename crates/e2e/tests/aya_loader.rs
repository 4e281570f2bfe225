//! aya's own loader on a btfkit program: builds `examples/aya-task` (aya-ebpf) for
//! `bpfel-unknown-none`, links it, loads it with `aya::EbpfLoader` (aya does the CO-RE
//! relocation), attaches it to the `sys_enter` raw tracepoint, triggers it from this
//! thread and compares what it recorded with `gettid()`, `getpid()` and `getppid()`.
//!
//! Needs root, the running kernel's BTF, Debian's rustc/cargo with the BPF `core`, and
//! bpf-linker; a missing prerequisite fails the test with its name.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

use btfkit_e2e::aya_leg::{self, Attachment, AyaLeg, LoadOptions};

/// Where `cargo install bpf-linker --root ...` puts the linker on the project's machines.
const BPF_LINKER_DIR: &str = "/root/.local/share/btfkit/bin";
/// Debian's compiler with the prebuilt BPF `core` (package `rustc-web`).
const BPF_RUSTC: &str = "/usr/bin/rustc";
/// Debian's cargo (package `cargo-web`).
const BPF_CARGO: &str = "/usr/bin/cargo";

/// Slots of the program's `RESULTS` array (see `examples/aya-task/src/main.rs`).
const SLOT_HITS: usize = 0;
const SLOT_HELPER_PID: usize = 1;
const SLOT_HELPER_TGID: usize = 2;

fn require(condition: bool, what: &str) {
    assert!(condition, "prerequisite missing: {what}");
}

fn check_prerequisites() {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    require(euid == 0, "root (the aya leg loads BPF programs)");
    require(
        Path::new(aya_leg::VMLINUX_BTF).exists(),
        "kernel BTF at /sys/kernel/btf/vmlinux (CONFIG_DEBUG_INFO_BTF)",
    );
    for tool in [BPF_CARGO, BPF_RUSTC] {
        require(
            Path::new(tool).exists(),
            &format!("{tool} (apt-get install rustc-web cargo-web libstd-rust-web-dev-bpf)"),
        );
    }
    require(
        Path::new("/usr/lib/rustlib/bpfel-unknown-none").exists(),
        "the prebuilt BPF core under /usr/lib/rustlib/bpfel-unknown-none \
         (apt-get install libstd-rust-web-dev-bpf)",
    );
    let on_path = std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .any(|dir| Path::new(dir).join("bpf-linker").exists());
    require(
        on_path || Path::new(BPF_LINKER_DIR).join("bpf-linker").exists(),
        &format!("bpf-linker (neither on PATH nor in {BPF_LINKER_DIR})"),
    );
}

/// Builds `examples/aya-task` (cached under the target directory) and returns the object.
fn build_aya_task() -> Vec<u8> {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/aya-task");
    let target_dir: PathBuf = Path::new(env!("CARGO_TARGET_TMPDIR")).join("examples-aya-task");
    let path = format!(
        "{BPF_LINKER_DIR}:{}",
        std::env::var("PATH").unwrap_or_default()
    );
    let output = Command::new(BPF_CARGO)
        .current_dir(&crate_dir)
        .env("PATH", path)
        .env("RUSTC", BPF_RUSTC)
        // aya-ebpf uses `asm_experimental_arch`; Debian's rustc is a stable release.
        .env("RUSTC_BOOTSTRAP", "1")
        .env("CARGO_TARGET_DIR", &target_dir)
        // RUSTFLAGS from the environment would replace the crate's config; set them here.
        .env("RUSTFLAGS", "-C debuginfo=2 -C link-arg=--btf")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CARGO_BUILD_TARGET")
        .args(["build", "--release", "--target", "bpfel-unknown-none"])
        .output()
        .expect("running /usr/bin/cargo");
    assert!(
        output.status.success(),
        "building examples/aya-task failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let object = target_dir.join("bpfel-unknown-none/release/aya-task");
    std::fs::read(&object).unwrap_or_else(|e| panic!("reading {}: {e}", object.display()))
}

fn gettid() -> u64 {
    // SAFETY: gettid has no preconditions and cannot fail.
    let tid = unsafe { libc::gettid() };
    u64::try_from(tid).expect("thread id is positive")
}

#[test]
fn aya_loads_attaches_and_reads_task_ids() {
    check_prerequisites();
    let object = build_aya_task();

    let tid = u32::try_from(gettid()).unwrap();
    let tid_bytes = tid.to_ne_bytes();
    let options = LoadOptions {
        target_btf: None,
        globals: vec![("TARGET_TID", &tid_bytes[..])],
    };
    let mut leg =
        AyaLeg::load(&object, &options).unwrap_or_else(|e| panic!("{}", aya_leg::error_chain(&e)));
    leg.attach("aya_task", Attachment::RawTracepoint("sys_enter"))
        .unwrap_or_else(|e| panic!("{}", aya_leg::error_chain(&e)));

    // Trigger: any syscall from this thread enters `sys_enter`.
    // SAFETY: getppid has no preconditions and cannot fail.
    let ppid = unsafe { libc::getppid() };
    let results: Vec<u64> = leg
        .read_array("RESULTS")
        .unwrap_or_else(|e| panic!("{}", aya_leg::error_chain(&e)));
    drop(leg);

    assert!(
        results[SLOT_HITS] >= 1,
        "the program never ran for thread {tid}: {results:?}"
    );
    assert_eq!(results[SLOT_HELPER_PID], u64::from(tid), "{results:?}");
    assert_eq!(
        results[SLOT_HELPER_TGID],
        u64::from(std::process::id()),
        "{results:?}"
    );
    let _ = ppid;
}
