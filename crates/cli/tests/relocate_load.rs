//! Objects relocated by `btfkit relocate` load into the running kernel (the
//! verifier accepts them) wherever libbpf's own CO-RE gets them loaded: every
//! libbpf-tools object is loaded by `bpftool prog loadall` as shipped (libbpf
//! relocates it) and after `btfkit relocate` (no CO-RE records left for libbpf).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;

fn loads(object: &Path, pin: &Path) -> bool {
    let _ = std::fs::remove_dir_all(pin);
    let ok = Command::new("bpftool")
        .args(["prog", "loadall"])
        .arg(object)
        .arg(pin)
        .output()
        .expect("bpftool is required (scripts/setup.sh installs it)")
        .status
        .success();
    let _ = std::fs::remove_dir_all(pin);
    ok
}

#[test]
fn btfkit_relocated_libbpf_tools_load_wherever_libbpfs_do() {
    btfkit_testkit::kernel::ensure_bpffs();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("relocate-load");
    std::fs::create_dir_all(&dir).unwrap();
    let (mut by_libbpf, mut by_btfkit, mut regressions) = (0, 0, Vec::new());
    for obj in btfkit_testkit::data::libbpf_tools_objects() {
        let (tool, i) = (&obj.tool, obj.index);
        let shipped = dir.join(format!("{tool}-{i}.o"));
        let relocated = dir.join(format!("{tool}-{i}.btfkit.o"));
        std::fs::write(&shipped, &obj.bytes).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_btfkit"))
            .arg("relocate")
            .arg(&shipped)
            .arg("-o")
            .arg(&relocated)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "btfkit relocate {tool}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let pin = Path::new("/sys/fs/bpf").join(format!("btfkit-test-{tool}-{i}"));
        let a = loads(&shipped, &pin);
        let b = loads(&relocated, &pin);
        by_libbpf += a as usize;
        by_btfkit += b as usize;
        if a && !b {
            regressions.push(tool.clone());
        }
    }
    eprintln!("objects the kernel accepted: {by_libbpf} relocated by libbpf, {by_btfkit} relocated by btfkit");
    assert!(
        regressions.is_empty(),
        "load with libbpf's CO-RE but not with btfkit's: {regressions:?}"
    );
    assert!(
        by_libbpf >= 25,
        "only {by_libbpf} objects load at all; is this root on a BTF kernel?"
    );
}
