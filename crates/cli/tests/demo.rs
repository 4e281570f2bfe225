//! `btfkit demo` builds, relocates, loads and attaches its program in the
//! running kernel (as root), sees execs, and shows the relocations per kernel.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

#[test]
fn demo_sees_execs_and_shows_relocations_for_every_kernel() {
    let out = Command::new(env!("CARGO_BIN_EXE_btfkit"))
        .args(["demo", "--seconds", "2"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "demo failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(" true"),
        "the demo's own /bin/true execs are shown:\n{stdout}"
    );
    assert!(stdout.contains("exec(s) seen"), "{stdout}");
    for kernel in [
        "running kernel",
        "vmlinux-6.1.0-47-amd64",
        "vmlinux-6.1.0-47-cloud",
        "vmlinux-7.1-sorted",
    ] {
        assert!(
            stdout.contains(kernel),
            "relocations for {kernel}:\n{stdout}"
        );
    }
    assert!(stdout.contains("task_struct.comm"), "{stdout}");
}

#[test]
fn demo_without_loading_shows_the_relocations_for_every_kernel() {
    let out = Command::new(env!("CARGO_BIN_EXE_btfkit"))
        .args(["demo", "--no-load"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "demo --no-load failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("not loading the program (--no-load)"),
        "{stdout}"
    );
    assert!(!stdout.contains("exec(s) seen"), "{stdout}");
    for kernel in [
        "running kernel",
        "vmlinux-6.1.0-47-amd64",
        "vmlinux-7.1-sorted",
    ] {
        assert!(
            stdout.contains(kernel),
            "relocations for {kernel}:\n{stdout}"
        );
    }
    for field in [
        "task_struct.tgid",
        "task_struct.real_parent",
        "task_struct.comm",
    ] {
        assert!(stdout.contains(field), "{field}:\n{stdout}");
    }
}

#[test]
fn demo_shows_the_relocations_for_the_btf_files_given() {
    // A copy under another name and directory: nothing found by default.
    let src = btfkit_testkit::data::kernel_btf_dir().join("vmlinux-6.1.0-47-amd64.btf");
    let copy = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("wf-demo-other-kernel.btf");
    std::fs::copy(&src, &copy).unwrap_or_else(|e| {
        panic!(
            "{} is missing ({e}): the kernel BTF test data",
            src.display()
        )
    });
    let out = Command::new(env!("CARGO_BIN_EXE_btfkit"))
        .args(["demo", "--no-load", "--btf"])
        .arg(&copy)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "demo --btf failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("wf-demo-other-kernel"), "{stdout}");
    assert!(
        !stdout.contains("vmlinux-7.1-sorted"),
        "only the files given:\n{stdout}"
    );
    let row = stdout
        .lines()
        .find(|l| l.contains("task_struct.real_parent"))
        .unwrap_or_else(|| panic!("no real_parent row:\n{stdout}"));
    assert!(row.contains("-> 2432"), "6.1's real_parent offset: {row}");
}
