//! `examples/aya-task` and aya's user space: building the example (aya-ebpf,
//! `RUSTC_BOOTSTRAP`), loading an object with `aya::EbpfLoader` (aya does the
//! CO-RE relocation), attaching it to `sys_enter` for this thread, and the
//! check of what it recorded against `gettid()`, `getpid()`, `getppid()` and
//! the running kernel's offset of `task_struct.pid`.

use std::path::{Path, PathBuf};
use std::process::Command;

use btfkit_e2e::aya_leg::{self, Attachment, LoadOptions};

/// The BPF toolchain, as `scripts/env.sh` sets it up: `$BTFKIT_TOOLS/bin` holds
/// bpf-linker (default `$HOME/.local/share/btfkit`), `$BTFKIT_RUSTC` / `$BTFKIT_CARGO`
/// are Debian's rustc and cargo with the prebuilt BPF `core` (default `/usr/bin/...`).
pub struct BpfToolchain {
    pub linker_dir: PathBuf,
    pub rustc: PathBuf,
    pub cargo: PathBuf,
}

pub fn bpf_toolchain() -> BpfToolchain {
    let var = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
    let tools = var("BTFKIT_TOOLS").map(PathBuf::from).unwrap_or_else(|| {
        let home = var("HOME").unwrap_or_else(|| "/root".into());
        Path::new(&home).join(".local/share/btfkit")
    });
    BpfToolchain {
        linker_dir: tools.join("bin"),
        rustc: var("BTFKIT_RUSTC").map_or_else(|| "/usr/bin/rustc".into(), PathBuf::from),
        cargo: var("BTFKIT_CARGO").map_or_else(|| "/usr/bin/cargo".into(), PathBuf::from),
    }
}

/// Slots of the program's `RESULTS` array (see `examples/aya-task/src/main.rs`).
pub const SLOT_HITS: usize = 0;
pub const SLOT_HELPER_PID: usize = 1;
pub const SLOT_HELPER_TGID: usize = 2;
pub const SLOT_CORE_PID: usize = 3;
pub const SLOT_CORE_TGID: usize = 4;
pub const SLOT_CORE_PARENT_TGID: usize = 5;
pub const SLOT_CORE_PID_OFFSET: usize = 6;

/// Serializes builds of `examples/aya-task`: they share one target directory (so the
/// dependencies build once) and one output path, which a parallel build with other
/// features would overwrite before it is read.
pub static AYA_TASK_BUILD: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Builds `examples/aya-task` with `features` (cached under the target directory) and
/// returns the object as bpf-linker wrote it.
pub fn build_aya_task(features: &[&str]) -> Vec<u8> {
    let _build = AYA_TASK_BUILD
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/aya-task");
    let target_dir: PathBuf = Path::new(env!("CARGO_TARGET_TMPDIR")).join("examples-aya-task");
    let toolchain = bpf_toolchain();
    let path = format!(
        "{}:{}",
        toolchain.linker_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = Command::new(&toolchain.cargo)
        .current_dir(&crate_dir)
        .env("PATH", path)
        .env("RUSTC", &toolchain.rustc)
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
        .arg("--no-default-features")
        .arg(format!("--features={}", features.join(",")))
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", toolchain.cargo.display()));
    assert!(
        output.status.success(),
        "building examples/aya-task failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let object = target_dir.join("bpfel-unknown-none/release/aya-task");
    std::fs::read(&object).unwrap_or_else(|e| panic!("reading {}: {e}", object.display()))
}

pub fn gettid() -> u64 {
    // SAFETY: gettid has no preconditions and cannot fail.
    let tid = unsafe { libc::gettid() };
    u64::try_from(tid).expect("thread id is positive")
}

/// Byte offsets of `members` of struct `name` in a BTF file, as bpftool reads them.
pub fn member_offsets(btf: &Path, name: &str, members: &[&str]) -> Vec<u64> {
    let output = Command::new("bpftool")
        .args(["btf", "dump", "file"])
        .arg(btf)
        .args(["format", "raw"])
        .output()
        .unwrap_or_else(|e| panic!("prerequisite missing: bpftool (apt-get install bpftool): {e}"));
    assert!(
        output.status.success(),
        "bpftool failed on {}",
        btf.display()
    );
    let text = String::from_utf8_lossy(&output.stdout);
    let header = format!("] STRUCT '{name}' ");
    let mut lines = text.lines().skip_while(|line| !line.contains(&header));
    assert!(
        lines.next().is_some(),
        "no struct {name} in {}",
        btf.display()
    );
    let fields: Vec<(&str, u64)> = lines
        .take_while(|line| line.starts_with('\t'))
        .filter_map(|line| {
            let line = line.trim();
            let member = line.strip_prefix('\'')?.split('\'').next()?;
            let bits = line
                .split("bits_offset=")
                .nth(1)?
                .split_whitespace()
                .next()?;
            Some((member, bits.parse::<u64>().ok()?))
        })
        .collect();
    members
        .iter()
        .map(|member| {
            let bits = fields
                .iter()
                .find(|(name, _)| name == member)
                .unwrap_or_else(|| panic!("{name}.{member} not in {}", btf.display()))
                .1;
            assert_eq!(bits % 8, 0, "{name}.{member} is a bitfield");
            bits / 8
        })
        .collect()
}

/// Loads `object` with aya, attaches `aya_task` to `sys_enter` for this thread, makes a
/// syscall and returns `RESULTS`.
pub fn run_in_kernel(object: &[u8]) -> Vec<u64> {
    run_in_kernel_at(object, Attachment::RawTracepoint("sys_enter"))
}

/// [`run_in_kernel`] with a chosen attachment.
pub fn run_in_kernel_at(object: &[u8], attachment: Attachment<'_>) -> Vec<u64> {
    let tid = u32::try_from(gettid()).unwrap();
    let tid_bytes = tid.to_ne_bytes();
    let options = LoadOptions {
        target_btf: None,
        globals: vec![("TARGET_TID", &tid_bytes[..])],
    };
    let results = aya_leg::run_and_read_u64(
        object,
        &options,
        "aya_task",
        attachment,
        // Any syscall from this thread enters `sys_enter`.
        || {
            // SAFETY: getppid has no preconditions and cannot fail.
            unsafe { libc::getppid() };
        },
        "RESULTS",
    )
    .unwrap_or_else(|e| panic!("{}", aya_leg::error_chain(&e)));
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
    results
}

pub fn getppid() -> u64 {
    // SAFETY: getppid has no preconditions and cannot fail.
    u64::try_from(unsafe { libc::getppid() }).unwrap()
}

/// What a CO-RE build of `examples/aya-task` (or its C control) recorded
/// through [`run_in_kernel`] is this thread's truth: pid, tgid, the parent's
/// tgid, and the running kernel's offset of `task_struct.pid`.
pub fn check_core_results(results: &[u64]) {
    assert_eq!(results[SLOT_CORE_PID], gettid(), "task->pid: {results:?}");
    assert_eq!(
        results[SLOT_CORE_TGID],
        u64::from(std::process::id()),
        "task->tgid: {results:?}"
    );
    assert_eq!(
        results[SLOT_CORE_PARENT_TGID],
        getppid(),
        "task->real_parent->tgid: {results:?}"
    );
    let pid_offset = member_offsets(Path::new(aya_leg::VMLINUX_BTF), "task_struct", &["pid"]);
    assert_eq!(results[SLOT_CORE_PID_OFFSET], pid_offset[0], "{results:?}");
}
