//! aya's own loader on a btfkit program: builds `examples/aya-task` (aya-ebpf) for
//! `bpfel-unknown-none`, links it, loads it with `aya::EbpfLoader` (aya does the CO-RE
//! relocation), attaches it to the `sys_enter` raw tracepoint, triggers it from this
//! thread and compares what it recorded with `gettid()`, `getpid()` and `getppid()`.
//!
//! A C control program (clang-22 + libbpf's `bpf_core_read.h`, same slots) checks the leg
//! itself, aya-obj's offline relocation against Debian 6.1 kernels' BTF, and aya's refusal
//! of `TYPE_MATCHES` records.
//!
//! Needs root, the running kernel's BTF, Debian's rustc/cargo with the BPF `core`,
//! bpf-linker, clang-22, libbpf-dev and bpftool; a missing prerequisite fails the test
//! with its name.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

use btfkit_e2e::aya_leg::{self, Attachment, AyaLeg, LoadOptions};

mod common;
use common::aya_task::*;

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
    let toolchain = bpf_toolchain();
    for tool in [&toolchain.cargo, &toolchain.rustc] {
        require(
            tool.exists(),
            &format!(
                "{} (apt-get install rustc-web cargo-web libstd-rust-web-dev-bpf; scripts/setup.sh)",
                tool.display()
            ),
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
        on_path || toolchain.linker_dir.join("bpf-linker").exists(),
        &format!(
            "bpf-linker (neither on PATH nor in {}; scripts/setup.sh installs it)",
            toolchain.linker_dir.display()
        ),
    );
}

/// The C control: the same program as `examples/aya-task`, written with libbpf's CO-RE
/// macros and a deliberately wrong local `task_struct___aya` (flavored, reordered).
const CLANG_CONTROL: &str = r#"
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct task_struct___aya {
	int pid;
	struct task_struct___aya *real_parent;
	int tgid;
} __attribute__((preserve_access_index));

volatile const __u32 TARGET_TID = 0;
__u64 BSS_HITS = 0;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} RESULTS SEC(".maps");

static void store(__u32 slot, __u64 value)
{
	bpf_map_update_elem(&RESULTS, &slot, &value, BPF_ANY);
}

#ifdef TRACEPOINT
SEC("tracepoint/raw_syscalls/sys_enter")
#else
SEC("raw_tp/sys_enter")
#endif
int aya_task(void *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	if ((__u32)pid_tgid != TARGET_TID)
		return 0;
	struct task_struct___aya *task = (void *)bpf_get_current_task();
	__u32 zero = 0;
	__u64 *hits = bpf_map_lookup_elem(&RESULTS, &zero);
	if (hits)
		__sync_fetch_and_add(hits, 1);
	__sync_fetch_and_add(&BSS_HITS, 1);
	store(1, (__u32)pid_tgid);
	store(2, pid_tgid >> 32);
	store(3, BPF_CORE_READ(task, pid));
	store(4, BPF_CORE_READ(task, tgid));
	store(5, BPF_CORE_READ(task, real_parent, tgid));
	store(6, bpf_core_field_offset(task->pid));
#ifdef WITH_TYPE_MATCHES
	store(7, bpf_core_type_matches(struct task_struct___aya));
#endif
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
"#;

/// Compiles [`CLANG_CONTROL`] with clang-22 (`-D<define>` for each define).
fn compile_clang_control(name: &str, defines: &[&str]) -> Vec<u8> {
    require(
        Path::new("/usr/include/bpf/bpf_core_read.h").exists(),
        "libbpf headers /usr/include/bpf/bpf_core_read.h (apt-get install libbpf-dev)",
    );
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("aya-clang-control");
    let defines: Vec<String> = defines.iter().map(|d| format!("-D{d}")).collect();
    let defines: Vec<&str> = defines.iter().map(String::as_str).collect();
    btfkit_testkit::clang::compile_source(&dir, name, CLANG_CONTROL, &defines)
}

fn kernel_btf_files() -> Vec<PathBuf> {
    let testdata =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/kernel-btf");
    let mut files = vec![PathBuf::from(aya_leg::VMLINUX_BTF)];
    for name in ["vmlinux-6.1.0-47-amd64.btf", "vmlinux-6.1.0-47-cloud.btf"] {
        let file = testdata.join(name);
        require(
            file.exists(),
            &format!("kernel BTF test data {}", file.display()),
        );
        files.push(file);
    }
    files
}

/// aya-obj relocates `object` offline against each kernel's BTF; every instruction it
/// patches must now hold one of that kernel's offsets of `task_struct.{pid,tgid,real_parent}`,
/// and all three offsets must appear.
fn check_offline_relocation(object: &[u8]) {
    for btf in kernel_btf_files() {
        let expected = member_offsets(&btf, "task_struct", &["pid", "tgid", "real_parent"]);
        let functions = aya_leg::relocate_offline(object, &btf)
            .unwrap_or_else(|e| panic!("{} ({})", aya_leg::error_chain(&e), btf.display()));
        let patched: Vec<u64> = functions
            .iter()
            .filter(|f| f.name == "aya_task")
            .flat_map(|f| f.patched())
            .map(|(_, _, after)| u64::try_from(after.imm).unwrap())
            .collect();
        for imm in &patched {
            assert!(
                expected.contains(imm),
                "{}: aya patched an immediate to {imm}, not one of {expected:?}",
                btf.display()
            );
        }
        for offset in &expected {
            assert!(
                patched.contains(offset),
                "{}: offset {offset} never patched in ({patched:?})",
                btf.display()
            );
        }
    }
}

#[test]
fn clang_control_relocated_by_aya_reads_task_in_kernel() {
    check_prerequisites();
    let object = compile_clang_control("control", &[]);
    check_core_results(&run_in_kernel(&object));
}

#[test]
fn clang_control_relocated_offline_by_aya_obj_for_other_kernels() {
    let object = compile_clang_control("control", &[]);
    check_offline_relocation(&object);
}

#[test]
fn aya_rejects_objects_with_type_matches() {
    check_prerequisites();
    let object = compile_clang_control("type-matches", &["WITH_TYPE_MATCHES"]);
    let tid_bytes = 0u32.to_ne_bytes();
    let options = LoadOptions {
        target_btf: None,
        globals: vec![("TARGET_TID", &tid_bytes[..])],
    };
    let error = AyaLeg::load(&object, &options).expect_err("aya 0.14 accepted TYPE_MATCHES");
    let text = aya_leg::error_chain(&error);
    assert!(
        text.contains("relocation kind `12`"),
        "expected aya to reject relocation kind 12 (TYPE_MATCHES): {text}"
    );
}

#[test]
fn aya_task_helpers_loaded_by_aya() {
    check_prerequisites();
    let object = build_aya_task(&[]);
    // Without the `core` feature the object has no CO-RE records; aya loads it as is.
    run_in_kernel(&object);
}

/// The `byte_off` queries both CO-RE builds of `examples/aya-task` make.
const BYTE_OFF_MARKERS: [&str; 4] = [
    "btfkit:v1:byte_off:task_struct:pid",
    "btfkit:v1:byte_off:task_struct:tgid",
    "btfkit:v1:byte_off:task_struct:real_parent",
    "btfkit:v1:byte_off:task_struct:real_parent->tgid",
];

/// The link step: query markers and type descriptors → `.BTF` + `.BTF.ext` core_relo.
fn btfkit_link_step(object: &[u8], expected_markers: &[&str]) -> Vec<u8> {
    let output = btfkit_link::link(object).unwrap_or_else(|e| panic!("btfkit link failed: {e}"));
    let markers: Vec<&str> = output
        .relocations
        .iter()
        .map(|relocation| relocation.marker.as_str())
        .collect();
    for marker in expected_markers {
        assert!(
            markers.contains(marker),
            "no record for {marker}: {markers:?}"
        );
    }
    output.object
}

/// Builds `examples/aya-task` with `feature`, links it, and checks what aya makes of it:
/// in the running kernel (values) and offline for Debian 6.1 kernels (offsets).
fn check_core_build(feature: &str, expected_markers: &[&str]) {
    check_prerequisites();
    let compiled = build_aya_task(&[feature]);
    let linked = btfkit_link_step(&compiled, expected_markers);

    // In the kernel: aya relocates against the running kernel's BTF.
    check_core_results(&run_in_kernel(&linked));

    // Offline: aya-obj relocates the same object for Debian 6.1 kernels.
    check_offline_relocation(&linked);
}

/// The queries written as the markers the `btf` macros compile to (DESIGN.md contract).
#[test]
fn aya_task_markers_linked_and_relocated_by_aya() {
    check_core_build("markers", &BYTE_OFF_MARKERS);
}

/// The queries through crates/btf's `#[relocatable]`, `core_read!` and `field_byte_offset!`.
#[test]
fn aya_task_btf_queries_linked_and_relocated_by_aya() {
    // `field_byte_offset!` is `field_exists` + `byte_off`: both records must be there.
    let mut expected = BYTE_OFF_MARKERS.to_vec();
    expected.push("btfkit:v1:field_exists:task_struct:pid");
    check_core_build("core", &expected);
}

/// Mounts tracefs at /sys/kernel/tracing unless it is there (tracepoints need it).
fn ensure_tracefs() {
    if Path::new("/sys/kernel/tracing/events").exists() {
        return;
    }
    let status = Command::new("mount")
        .args(["-t", "tracefs", "nodev", "/sys/kernel/tracing"])
        .status()
        .unwrap_or_else(|e| panic!("prerequisite missing: mount(8): {e}"));
    require(
        status.success() && Path::new("/sys/kernel/tracing/events").exists(),
        "tracefs at /sys/kernel/tracing (mount -t tracefs nodev /sys/kernel/tracing failed)",
    );
}

#[test]
fn clang_control_as_tracepoint_and_bss_global() {
    check_prerequisites();
    ensure_tracefs();
    let object = compile_clang_control("tracepoint", &["TRACEPOINT"]);
    let tid = u32::try_from(gettid()).unwrap();
    let tid_bytes = tid.to_ne_bytes();
    let options = LoadOptions {
        target_btf: None,
        globals: vec![("TARGET_TID", &tid_bytes[..])],
    };
    let mut leg =
        AyaLeg::load(&object, &options).unwrap_or_else(|e| panic!("{}", aya_leg::error_chain(&e)));
    leg.attach(
        "aya_task",
        Attachment::Tracepoint {
            category: "raw_syscalls",
            name: "sys_enter",
        },
    )
    .unwrap_or_else(|e| panic!("{}", aya_leg::error_chain(&e)));
    let ppid = getppid();
    let results: Vec<u64> = leg
        .read_array("RESULTS")
        .unwrap_or_else(|e| panic!("{}", aya_leg::error_chain(&e)));
    let bss: Vec<[u8; 8]> = leg
        .read_array(".bss")
        .unwrap_or_else(|e| panic!("{} (maps: {:?})", aya_leg::error_chain(&e), leg.map_names()));
    drop(leg);
    assert!(results[SLOT_HITS] >= 1, "{results:?}");
    assert_eq!(results[SLOT_CORE_PID], u64::from(tid), "{results:?}");
    assert_eq!(results[SLOT_CORE_PARENT_TGID], ppid, "{results:?}");
    assert_eq!(bss.len(), 1, "global data maps have one element");
    // Reading the maps is itself a syscall from this thread, so the later read sees more.
    let bss_hits = u64::from_ne_bytes(bss[0]);
    assert!(
        bss_hits >= results[SLOT_HITS],
        "BSS_HITS {bss_hits} < RESULTS hits {}",
        results[SLOT_HITS]
    );
}
