//! `btfkit link` → libbpf: the linked object of `crates/link/testdata/rust-kernel`
//! loads with bpftool (libbpf), which relocates every btfkit record against
//! the running kernel's BTF. Needs root, bpftool, the BPF toolchain.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../link/tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::process::Command;

use btfkit_model::{Btf, Kind};

/// The byte offset of `task_struct.<field>` in the running kernel.
fn kernel_offset(field: &str) -> u32 {
    let data = std::fs::read("/sys/kernel/btf/vmlinux")
        .expect("prerequisite missing: /sys/kernel/btf/vmlinux (a kernel with BTF)");
    let btf = Btf::parse(&data).unwrap();
    let id = btf.find_by_name_kind("task_struct", Kind::Struct)[0];
    let ty = btf.type_by_id(id).unwrap();
    let member = ty
        .members()
        .find(|m| btf.name(m.name_off).unwrap() == field)
        .unwrap_or_else(|| panic!("task_struct.{field} is not a direct member"));
    member.bit_offset / 8
}

fn require_root_and_bpftool() {
    let uid = Command::new("id").arg("-u").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&uid.stdout).trim(),
        "0",
        "prerequisite missing: this test loads BPF programs and must run as root"
    );
    let bpftool = Command::new("bpftool").arg("version").output();
    assert!(
        bpftool.map(|o| o.status.success()).unwrap_or(false),
        "prerequisite missing: bpftool (apt-get install bpftool)"
    );
    if !Path::new("/sys/fs/bpf").join(".").exists()
        || !std::fs::read_to_string("/proc/mounts")
            .unwrap()
            .lines()
            .any(|l| l.contains(" /sys/fs/bpf bpf "))
    {
        let status = Command::new("mount")
            .args(["-t", "bpf", "bpf", "/sys/fs/bpf"])
            .status()
            .unwrap();
        assert!(status.success(), "could not mount bpffs on /sys/fs/bpf");
    }
}

#[test]
fn linked_object_loads_with_libbpf_and_is_relocated() {
    require_root_and_bpftool();
    let unlinked = common::build_rust_fixture("rust-kernel");
    link_load_and_check(&unlinked, "btf");
}

/// Without `--btf` the object has no `.BTF`: the link step creates it, and a
/// `.BTF.ext` with only core_relo records.
#[test]
fn linked_object_without_compiler_btf_loads_with_libbpf() {
    require_root_and_bpftool();
    let unlinked = common::build_rust_fixture_with("rust-kernel", "", "nobtf");
    link_load_and_check(&unlinked, "nobtf");
}

fn link_load_and_check(unlinked: &Path, tag: &str) {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("rust-kernel.{tag}.linked.o"));
    let link = Command::new(env!("CARGO_BIN_EXE_btfkit"))
        .arg("link")
        .arg(unlinked)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        link.status.success(),
        "btfkit link failed:\n{}",
        String::from_utf8_lossy(&link.stderr)
    );

    let pin = format!("/sys/fs/bpf/btfkit-link-test-{tag}-{}", std::process::id());
    let load = Command::new("bpftool")
        .args(["-d", "prog", "loadall"])
        .arg(&out)
        .arg(&pin)
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&load.stderr).into_owned();
    let xlated = Command::new("bpftool")
        .args(["prog", "dump", "xlated", "pinned"])
        .arg(format!("{pin}/read_task"))
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&pin);
    let core_lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("relo #") || l.contains("CO-RE"))
        .collect();
    assert!(
        load.status.success(),
        "bpftool (libbpf) refused the linked object:\n{log}"
    );
    eprintln!("{}", core_lines.join("\n"));

    // libbpf found all 8 records and relocated them against the kernel.
    assert!(
        log.contains("found 8 CO-RE relocations"),
        "libbpf did not see the 8 records:\n{log}"
    );
    let pid = kernel_offset("pid");
    let tgid = kernel_offset("tgid");
    let parent = kernel_offset("real_parent");
    for expected in [
        "struct task_struct.pid (0:0 @ offset 0)".to_string(),
        format!("imm 0 -> {pid}"),
        format!("imm 4 -> {tgid}"),
        format!("imm 8 -> {parent}"),
        // field_exists of a field the kernel lacks: 1 locally, 0 relocated.
        "imm 1 -> 0".to_string(),
    ] {
        assert!(
            log.contains(&expected),
            "libbpf log lacks {expected:?}:\n{}",
            core_lines.join("\n")
        );
    }
    let xlated = String::from_utf8_lossy(&xlated.stdout);
    assert!(
        xlated.contains(&format!("w0 = {pid}")),
        "the loaded program does not use the kernel's pid offset {pid}:\n{xlated}"
    );
}
