//! `examples/all-queries` in the running kernel: every query beyond field
//! offsets, each answer compared with the running kernel's BTF (read by
//! btfkit-model, cross-checked with bpftool) or `/proc`. Loaded two ways:
//! relocated by btfkit's engine + btfkit-loader, by libbpf 1.7 (both run the
//! program with BPF_PROG_TEST_RUN, which executes it in this thread), and by
//! aya (attached to `raw_tp/sys_enter`; built without `type_matches!`, since
//! aya cannot load an object with a TYPE_MATCHES record).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::OnceLock;

mod common;
use btfkit_e2e::libbpf_leg::LibbpfObject;
use common::all_queries::{check, expected, set_reset_on_fork};
use common::{require_root, tid};

fn linked_object() -> &'static [u8] {
    static OBJ: OnceLock<Vec<u8>> = OnceLock::new();
    OBJ.get_or_init(|| common::build_example("all-queries"))
}

/// Built without `type_matches!`, which aya cannot relocate.
fn linked_object_for_aya() -> &'static [u8] {
    static OBJ: OnceLock<Vec<u8>> = OnceLock::new();
    OBJ.get_or_init(|| common::build_example_with("all-queries", &["--no-default-features"]))
}

#[test]
fn every_query_through_btfkit_engine_and_loader() {
    require_root();
    let obj = linked_object();
    let loaded = common::load_with_btfkit(obj);
    loaded
        .map(".data")
        .unwrap()
        .write(&tid().to_ne_bytes())
        .unwrap();
    set_reset_on_fork(true);
    let ran = loaded.program("all_queries").unwrap().test_run();
    set_reset_on_fork(false);
    ran.unwrap();
    check(
        "btfkit",
        &loaded.map(".bss").unwrap().read().unwrap(),
        &expected(obj),
    );
}

#[test]
fn every_query_through_libbpf() {
    require_root();
    let obj = linked_object();
    let mut leg = LibbpfObject::open(obj, "all-queries").unwrap();
    leg.set_global("TARGET_TID", &tid().to_ne_bytes()).unwrap();
    leg.load().unwrap_or_else(|e| panic!("{e}"));
    common::assert_libbpf_relocated_every_record(obj, leg.log());
    set_reset_on_fork(true);
    let ran = leg.test_run("all_queries");
    set_reset_on_fork(false);
    ran.unwrap();
    check(
        "libbpf",
        &leg.read_global("RESULTS").unwrap(),
        &expected(obj),
    );
}

#[test]
fn every_query_but_type_matches_through_aya() {
    use btfkit_e2e::aya_leg::{error_chain, Attachment, AyaLeg, LoadOptions};
    require_root();
    let obj = linked_object_for_aya();
    let t = tid().to_ne_bytes();
    let options = LoadOptions {
        target_btf: None,
        globals: vec![("TARGET_TID", &t[..])],
    };
    let mut leg =
        AyaLeg::load(obj, &options).unwrap_or_else(|e| panic!("aya: {}", error_chain(&e)));
    leg.attach("all_queries", Attachment::RawTracepoint("sys_enter"))
        .unwrap_or_else(|e| panic!("aya: {}", error_chain(&e)));
    // The program records at every system call of this thread; the bit is set
    // for the trigger and for aya's map read, both system calls.
    set_reset_on_fork(true);
    let _ = std::fs::metadata("/");
    let bss = leg.read_array::<[u8; 176]>(".bss");
    set_reset_on_fork(false);
    let bss = bss.unwrap_or_else(|e| panic!("aya: {}", error_chain(&e)));
    check("aya", &bss[0], &expected(obj));
}
