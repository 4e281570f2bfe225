//! The project's proof on real kernels: the example programs, built once with
//! `btfkit build`, checked by `btfkit check` on Debian 6.1 and 6.12 (plain,
//! -cloud and -rt) in QEMU guests and on the running kernel: every relocation
//! applied by btfkit's engine against that kernel's own BTF, every program
//! accepted by that kernel's verifier, field offsets that differ per kernel.
//! Needs what scripts/setup.sh installs (QEMU, virtme-ng, virtiofsd, the BPF
//! toolchain) and fails saying so when it is missing. `examples/probes` (a
//! kprobe and an fentry program) loads in the guests and is reported
//! unsupported on this host, which has no kprobes and refuses fentry.
//! Also: bad kernel specs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

const KERNELS: &[&str] = &[
    "6.1",
    "6.12",
    "6.1-cloud",
    "6.12-cloud",
    "6.1-rt",
    "6.12-rt",
];
const EXAMPLES: &[&str] = &[
    "task-core",
    "exec-events",
    "kernel-types",
    "all-queries",
    "query-cost",
    "probes",
];

fn btfkit() -> Command {
    Command::new(env!("CARGO_BIN_EXE_btfkit"))
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn tools() -> PathBuf {
    std::env::var_os("BTFKIT_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap()).join(".local/share/btfkit")
        })
}

/// Builds `examples/<name>` with `btfkit build --release` into the test's temp dir.
fn build(name: &str) -> PathBuf {
    let dir = root().join("examples").join(name);
    if name == "kernel-types" {
        // Its bindings come from the running kernel's BTF (as kernel_gen_types does).
        let st = btfkit()
            .args([
                "gen",
                "task_struct",
                "mm_struct",
                "file",
                "socket",
                "sock",
                "cgroup",
                "-o",
            ])
            .arg(dir.join("src/vmlinux.rs"))
            .status()
            .unwrap();
        assert!(st.success(), "btfkit gen for kernel-types failed");
    }
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("vm-matrix-{name}.o"));
    let path = format!(
        "{}:{}",
        tools().join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let o = btfkit()
        .args(["build", "--release", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .arg("-o")
        .arg(&out)
        .env("PATH", path)
        .env_remove("RUSTC_WRAPPER")
        .env_remove("CARGO_BUILD_TARGET")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "btfkit build examples/{name} failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

#[test]
fn examples_load_on_every_kernel() {
    let objects: Vec<PathBuf> = EXAMPLES.iter().map(|e| build(e)).collect();
    let mut cmd = btfkit();
    cmd.arg("check").arg("--json").args(&objects);
    for k in KERNELS.iter().chain(&["host"]) {
        cmd.args(["--kernel", k]);
    }
    let started = std::time::Instant::now();
    let out = cmd.output().unwrap();
    eprintln!("vm_matrix: btfkit check took {:?}", started.elapsed());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "btfkit check failed ({:?}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let columns: Vec<Vec<serde_json::Value>> = serde_json::from_str(&stdout).unwrap();
    assert_eq!(columns.len(), KERNELS.len() + 1);
    let mut pid_offsets = Vec::new();
    for col in &columns {
        assert_eq!(col.len(), EXAMPLES.len());
        for report in col {
            let kernel = report["kernel"].as_str().unwrap();
            assert!(report["error"].is_null(), "{kernel}: {}", report["error"]);
            let host = kernel.ends_with("(host)");
            let probes = report["object"]
                .as_str()
                .unwrap()
                .ends_with("vm-matrix-probes.o");
            for p in report["programs"].as_array().unwrap() {
                if probes && host {
                    // This host has no kprobes and refuses fentry: unsupported, not failed.
                    assert_eq!(p["verdict"], "unsupported", "{kernel}: {p}");
                    continue;
                }
                assert_eq!(p["verdict"], "accepted", "{kernel}: {p}");
                assert!(
                    p["verified_insns"].as_u64().unwrap_or(0) > 0,
                    "{kernel}: {p}"
                );
                for r in p["relocations"].as_array().unwrap() {
                    assert_eq!(r["outcome"], "applied", "{kernel}: {r}");
                }
            }
        }
        let task_core = &col[0]["programs"][0]["relocations"];
        let pid = task_core
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["field"] == "task_struct.pid")
            .expect("task-core reads task_struct.pid");
        pid_offsets.push(pid["value"].as_u64().unwrap());
    }
    // 6.1 and 6.12 lay task_struct out differently: the proof is not trivial.
    assert_ne!(
        pid_offsets[0], pid_offsets[1],
        "task_struct.pid offsets: {pid_offsets:?}"
    );
}

#[test]
fn unknown_kernel_lists_the_nearest() {
    let out = btfkit()
        .args(["vm", "--kernel", "6.1.0-999-amd64", "--", "true"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("nearest: 6.1.0-"), "{err}");
    let out = btfkit()
        .args(["vm", "--kernel", "9.9-cloud", "--", "true"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no kernel package matches") && err.contains("nearest"),
        "{err}"
    );
}
