//! The libbpf leg itself, in the running kernel, on a small clang-built
//! object: globals set before load and read back after a test run, misuse
//! refused with a named error, and a program the verifier rejects reported
//! with libbpf's log (the verifier's own words) in the error.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use btfkit_e2e::libbpf_leg::{LibbpfLegError, LibbpfObject};

mod common;

const SOURCE: &str = r#"
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
volatile __u64 TARGET = 7;
__u64 OUT;
SEC("raw_tp/sys_enter")
int copy(void *ctx)
{
	OUT = TARGET + 1;
#ifdef BAD
	return *(volatile int *)(long)TARGET;
#else
	return 3;
#endif
}
char LICENSE[] SEC("license") = "GPL";
"#;

/// Compiles SOURCE with clang-22 (`-DBAD` for the rejected variant).
fn compile(bad: bool) -> Vec<u8> {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("libbpf-leg");
    // One source file per variant: the two tests compile concurrently.
    if bad {
        btfkit_testkit::clang::compile_source(&dir, "bad", SOURCE, &["-DBAD"])
    } else {
        btfkit_testkit::clang::compile_source(&dir, "good", SOURCE, &[])
    }
}

#[test]
fn globals_in_test_run_out() {
    common::require_root();
    let object = compile(false);
    let mut leg = LibbpfObject::open(&object, "leg-good").unwrap();
    assert!(matches!(
        leg.set_global("TARGET", &[0u8; 4]),
        Err(LibbpfLegError::GlobalSize {
            size: 8,
            given: 4,
            ..
        })
    ));
    assert!(matches!(
        leg.set_global("NOT_THERE", &[0u8; 8]),
        Err(LibbpfLegError::NoSuchGlobal(_))
    ));
    assert!(matches!(
        leg.attach_raw_tracepoint("copy", "sys_enter"),
        Err(LibbpfLegError::State(_))
    ));
    leg.set_global("TARGET", &41u64.to_ne_bytes()).unwrap();
    leg.load().unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        leg.set_global("TARGET", &[0u8; 8]),
        Err(LibbpfLegError::State(_))
    ));
    assert!(matches!(
        leg.test_run("nope"),
        Err(LibbpfLegError::NoSuchProgram(_))
    ));
    assert_eq!(leg.test_run("copy").unwrap(), 3);
    assert_eq!(leg.read_global("OUT").unwrap(), 42u64.to_ne_bytes());
    assert_eq!(leg.read_global("TARGET").unwrap(), 41u64.to_ne_bytes());
    // Attached, the program sees this process's own system calls.
    leg.attach_raw_tracepoint("copy", "sys_enter").unwrap();
    assert!(matches!(
        leg.attach_raw_tracepoint("copy", "btfkit_no_such_tracepoint"),
        Err(LibbpfLegError::Call { .. })
    ));
}

#[test]
fn verifier_rejection_carries_the_verifier_log() {
    common::require_root();
    let object = compile(true);
    let mut leg = LibbpfObject::open(&object, "leg-bad").unwrap();
    let error = leg.load().unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, LibbpfLegError::Load { .. }), "{text}");
    assert!(
        text.contains("BEGIN PROG LOAD LOG") && text.contains("invalid mem access"),
        "the verifier's log is missing from the error:\n{text}"
    );
}
