//! The loader in the running kernel: a clang-built program is loaded, run with
//! BPF_PROG_TEST_RUN, attached to a raw tracepoint and triggered.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use btfkit_loader::LoadedObject;
use btfkit_testkit::kernel::require_root;

fn build_c(name: &str) -> Vec<u8> {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("loader-{name}.o"));
    btfkit_testkit::clang::compile(&src, &out, &[])
}

fn bss_u32(bss: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes(bss[at..at + 4].try_into().unwrap())
}

#[test]
fn clang_program_loads_attaches_and_sees_this_process() {
    require_root();
    let obj = LoadedObject::load(&build_c("pid.bpf.c")).unwrap();
    let prog = obj.program("on_sys_enter").unwrap();
    let bss = obj.map(".bss").unwrap();
    let me = std::process::id();
    // .bss layout (clang, in order): target_tgid, seen_tgid, hits.
    let mut init = bss.read().unwrap();
    init[0..4].copy_from_slice(&me.to_ne_bytes());
    bss.write(&init).unwrap();

    // Test run: runs in this task.
    assert_eq!(prog.test_run().unwrap(), 0);
    let after = bss.read().unwrap();
    assert_eq!(bss_u32(&after, 4), me, "test run saw another tgid");

    // Attach and trigger a syscall from this process.
    bss.write(&init).unwrap();
    let link = prog.attach().unwrap();
    for _ in 0..3 {
        let _ = std::fs::metadata("/");
    }
    let after = bss.read().unwrap();
    drop(link);
    assert_eq!(bss_u32(&after, 4), me);
    let hits = u64::from_ne_bytes(after[8..16].try_into().unwrap());
    assert!(hits >= 3, "expected at least 3 syscalls seen, got {hits}");
}

#[test]
fn section_names_map_to_program_kinds() {
    use btfkit_loader::ProgramKind;
    assert_eq!(
        ProgramKind::from_section("raw_tp/sys_enter"),
        Some(ProgramKind::RawTracepoint("sys_enter".into()))
    );
    assert_eq!(
        ProgramKind::from_section("tp/sched/sched_process_exec"),
        Some(ProgramKind::Tracepoint(
            "sched".into(),
            "sched_process_exec".into()
        ))
    );
    assert_eq!(ProgramKind::from_section("xdp"), None);
}
