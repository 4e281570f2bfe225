//! The project's proof on real kernels: the example programs, built once with
//! `btfkit build`, checked by `btfkit check` on Debian 6.1 and 6.12 (plain,
//! -cloud and -rt) in QEMU guests and on the running kernel: every relocation
//! applied by btfkit's engine against that kernel's own BTF, every program
//! accepted by that kernel's verifier, field offsets that differ per kernel.
//! Needs what scripts/setup.sh installs (QEMU, virtme-ng, virtiofsd, the BPF
//! toolchain) and fails saying so when it is missing. `examples/probes` (a
//! kprobe and an fentry program) loads in the guests and is reported
//! unsupported on this host, which has no kprobes and refuses fentry.
//! `examples/aya-task` (aya-ebpf) relocates on every kernel; btfkit's loader
//! reports it unsupported (aya's legacy `maps` section: aya's own user space
//! loads it in `crates/e2e/tests/vm_examples.rs`). `examples/unguarded-read`
//! reads `task_struct.bpf_net_context` (Linux 6.11+) without a guard: the 6.1
//! verifiers reject its poisoned instruction and the report maps it back to
//! its relocation, in JSON and in text; 6.12 and the host load it.
//! `examples/guarded-read` reads a field no kernel has behind
//! `btf::field_exists!`: loads everywhere. On every kernel and program,
//! btfkit's reachability verdict (a poisoned instruction some path reaches)
//! agrees with the verifier (rejected).
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
    "aya-task",
    "unguarded-read",
    "guarded-read",
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
    // A generous timeout: CI's 2 cores also run other tests' guests.
    cmd.args(["check", "--json", "--timeout", "600"])
        .args(&objects);
    for k in KERNELS.iter().chain(&["host"]) {
        cmd.args(["--kernel", k]);
    }
    let started = std::time::Instant::now();
    let out = cmd.output().unwrap();
    eprintln!("vm_matrix: btfkit check took {:?}", started.elapsed());
    let stdout = String::from_utf8_lossy(&out.stdout);
    // Status 1: unguarded-read is rejected on 6.1, as it must be; every
    // other report is checked to be fine below.
    assert_eq!(
        out.status.code(),
        Some(1),
        "btfkit check ({:?}):\n{stdout}\n{}",
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
            let object = report["object"].as_str().unwrap();
            let probes = object.ends_with("vm-matrix-probes.o");
            reachability_agrees(report);
            if object.ends_with("vm-matrix-guarded-read.o") {
                // Its reads of a field no kernel has are poisoned and guarded.
                let p = &report["programs"][0];
                assert_eq!(p["verdict"], "accepted", "{kernel}: {p}");
                let poisoned = p["relocations"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|r| r["outcome"] == "poisoned")
                    .count();
                assert!(poisoned >= 2, "{kernel}: {p}");
                continue;
            }
            if object.ends_with("vm-matrix-unguarded-read.o") {
                check_unguarded_read(report);
                continue;
            }
            let aya = object.ends_with("vm-matrix-aya-task.o");
            for p in report["programs"].as_array().unwrap() {
                if aya {
                    // btfkit's loader does not do aya's legacy map definitions.
                    assert_eq!(p["verdict"], "unsupported", "{kernel}: {p}");
                    assert!(
                        p["log"][0].as_str().unwrap().contains("only global data"),
                        "{kernel}: {p}"
                    );
                    let relocations = p["relocations"].as_array().unwrap();
                    assert_eq!(relocations.len(), 6, "{kernel}: {p}");
                    for r in relocations {
                        assert_eq!(r["outcome"], "applied", "{kernel}: {r}");
                    }
                    continue;
                }
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

/// btfkit's reachability verdicts agree with the kernel's verifier: a
/// program with a poisoned instruction the engine calls reachable is
/// rejected, one whose poisons are all unreachable (or that has none) loads.
fn reachability_agrees(report: &serde_json::Value) {
    let kernel = report["kernel"].as_str().unwrap();
    for p in report["programs"].as_array().unwrap() {
        if !matches!(p["verdict"].as_str(), Some("accepted" | "rejected")) {
            continue;
        }
        let mut reachable = false;
        for r in p["relocations"].as_array().unwrap() {
            if r["outcome"] == "poisoned" {
                assert!(!r["reachable"].is_null(), "{kernel}: {r}");
                reachable |= r["reachable"] == "yes";
            } else {
                assert!(r["reachable"].is_null(), "{kernel}: {r}");
            }
        }
        assert_eq!(
            p["verdict"] == "rejected",
            reachable,
            "{kernel}: btfkit's reachability and the verifier disagree: {p}"
        );
    }
}

/// `examples/unguarded-read` on one kernel: on 6.1 its one relocation is
/// poisoned, the verifier rejects the program and the log maps the poisoned
/// instruction back to the field; elsewhere it is applied and the program loads.
fn check_unguarded_read(report: &serde_json::Value) {
    let kernel = report["kernel"].as_str().unwrap();
    let p = &report["programs"][0];
    let r = &p["relocations"][0];
    assert_eq!(r["field"], "task_struct.bpf_net_context", "{kernel}: {r}");
    if !kernel.starts_with("6.1.0-") {
        assert_eq!(r["outcome"], "applied", "{kernel}: {r}");
        assert_eq!(p["verdict"], "accepted", "{kernel}: {p}");
        return;
    }
    assert_eq!(r["outcome"], "poisoned", "{kernel}: {r}");
    assert_eq!(r["reachable"], "yes", "{kernel}: {r}");
    assert_eq!(p["verdict"], "rejected", "{kernel}: {p}");
    let log: Vec<&str> = p["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    // The guest names itself by its release, which is the package's name.
    let want = format!(
        "insn {}: the field task_struct.bpf_net_context does not exist on {}",
        r["insn"],
        kernel.split(" (").next().unwrap()
    );
    assert!(
        log.contains(&want.as_str()),
        "{kernel}: no `{want}` in {log:#?}"
    );
    assert!(
        log.iter().any(|l| l.contains("unknown#195896080")),
        "{kernel}: the verifier's own words about the poisoned call: {log:#?}"
    );
}

/// The same mapping in the text report: one more boot (6.1) and the host.
#[test]
fn poisoned_instruction_named_in_text() {
    let object = build("unguarded-read");
    let started = std::time::Instant::now();
    let out = btfkit()
        .args(["check", "--timeout", "600"])
        .arg(&object)
        .args(["--kernel", "6.1", "--kernel", "host"])
        .output()
        .unwrap();
    eprintln!(
        "vm_matrix: btfkit check (text) took {:?}",
        started.elapsed()
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.lines().any(|l| l.contains("insn ")
            && l.contains(": the field task_struct.bpf_net_context does not exist on 6.1.0-")),
        "{text}"
    );
    assert!(
        text.contains("REJECTED") && text.contains("loads ("),
        "{text}"
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
