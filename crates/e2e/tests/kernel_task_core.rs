//! The heart of the mission, proven in the running kernel: `examples/task-core`
//! (a Rust program whose `task_struct` has a deliberately wrong layout) is
//! built with the BPF toolchain, linked by btfkit, and loaded three ways —
//! relocated by btfkit's engine and loaded by btfkit-loader, relocated and
//! loaded by libbpf 1.7, relocated and loaded by aya. Each time it is attached
//! to `raw_tp/sys_enter`, triggered by this thread, and what it read must
//! equal `gettid()`, `getpid()`, `getppid()` and `/proc/thread-self/comm`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::OnceLock;

mod common;
use btfkit_e2e::libbpf_leg::LibbpfObject;
use common::task_core::{assert_ground_truth, parse_results, run_loaded, trigger};
use common::{require_root, tid};

/// Builds and links examples/task-core once per test run.
fn linked_object() -> &'static [u8] {
    static OBJ: OnceLock<Vec<u8>> = OnceLock::new();
    OBJ.get_or_init(|| common::build_example("task-core"))
}

#[test]
fn relocated_by_btfkit_loaded_by_btfkit_loader() {
    require_root();
    let obj = linked_object();
    assert_eq!(common::core_relo_count(obj), 8);
    run_loaded(common::load_with_btfkit(obj));
}

#[test]
fn relocated_and_loaded_by_libbpf() {
    require_root();
    let obj = linked_object();
    let mut leg = LibbpfObject::open(obj, "task-core").unwrap();
    leg.set_global("TARGET_TID", &tid().to_ne_bytes()).unwrap();
    leg.load().unwrap_or_else(|e| panic!("{e}"));
    common::assert_libbpf_relocated_every_record(obj, leg.log());
    leg.attach_raw_tracepoint("task_core", "sys_enter").unwrap();
    trigger();
    let results = leg.read_global("RESULTS").unwrap();
    assert_ground_truth("libbpf", &parse_results(&results));
}

#[test]
fn relocated_and_loaded_by_aya() {
    require_root();
    let obj = linked_object();
    let t = tid().to_ne_bytes();
    let options = btfkit_e2e::aya_leg::LoadOptions {
        target_btf: None,
        globals: vec![("TARGET_TID", &t[..])],
    };
    let mut leg = btfkit_e2e::aya_leg::AyaLeg::load(obj, &options)
        .unwrap_or_else(|e| panic!("aya: {}", btfkit_e2e::aya_leg::error_chain(&e)));
    leg.attach(
        "task_core",
        btfkit_e2e::aya_leg::Attachment::RawTracepoint("sys_enter"),
    )
    .unwrap_or_else(|e| panic!("aya: {}", btfkit_e2e::aya_leg::error_chain(&e)));
    trigger();
    let bss = leg.read_array::<[u8; 64]>(".bss").unwrap();
    assert_ground_truth("aya", &parse_results(&bss[0]));
}
