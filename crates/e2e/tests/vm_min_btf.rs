//! Tailored BTF alone on a real kernel: one Debian 6.1 guest (QEMU, `btfkit-vm`)
//! runs this test binary's guest half, which tailors the guest kernel's BTF to
//! `examples/task-core` (`btfkit_minbtf::tailor`, as `btfkit min-btf` does), then,
//! from the tailored file alone, relocates the program with btfkit's engine and
//! loads it with btfkit's loader, and has libbpf 1.7 relocate and load it with the
//! tailored file as `btf_custom_path`. Both must read `gettid()`, `getpid()`,
//! `getppid()` and the thread's `comm` correctly in the guest.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use btfkit_e2e::libbpf_leg::LibbpfObject;
use btfkit_minbtf::{tailor, Output};
use btfkit_model::Btf;
use common::task_core::{assert_ground_truth, parse_results, trigger};
use common::{require_root, tid};

/// The kernel booted (`btfkit vm --kernel` spec).
const KERNEL: &str = "6.1";

/// The guest's last line when everything held.
const DONE: &str = "TAILORED-BTF-OK";

/// Host folder shared with the guest (read-write): the object in, the tailored BTF out.
fn shared_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("tailor-vm")
}

#[test]
fn task_core_runs_in_a_debian_guest_with_tailored_btf_alone() {
    require_root();
    btfkit_vm::check_host().unwrap_or_else(|e| {
        panic!("QEMU guests cannot run here (scripts/setup.sh installs what they need): {e}")
    });
    let kernel = btfkit_vm::resolve(KERNEL)
        .unwrap_or_else(|e| panic!("Debian kernel {KERNEL} (fetched with apt-get): {e}"));
    let dir = shared_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let _ = std::fs::remove_file(dir.join("min.btf"));
    std::fs::write(dir.join("task-core.o"), common::build_example("task-core")).unwrap();
    let exe = std::env::current_exe().unwrap();
    let argv: Vec<String> = [
        exe.display().to_string(),
        "--exact".into(),
        "guest_half".into(),
        "--ignored".into(),
        "--nocapture".into(),
    ]
    .into();
    let opts = btfkit_vm::Options {
        timeout: Duration::from_secs(300),
        memory: "1G".into(),
        jobs: 1,
        rw_dirs: vec![dir.clone()],
    };
    let out = btfkit_vm::run(&kernel, &argv, &opts).unwrap();
    println!("{}", out.stdout);
    eprintln!("{}", out.stderr);
    assert!(
        out.success() && out.stdout.contains(DONE),
        "the guest half failed on {} (status {:?}, timed out {}):\n{}\nconsole:\n{}",
        kernel.name,
        out.status,
        out.timed_out,
        out.stderr,
        out.console_tail.join("\n")
    );
    let min = std::fs::read(dir.join("min.btf")).unwrap();
    assert!(Btf::parse(&min).is_ok(), "the guest's tailored BTF parses");
    println!("{} guest: {:.1?}", kernel.name, out.elapsed);
}

/// Runs inside the guest (started by the test above, with `--ignored`).
#[test]
#[ignore = "the guest half of task_core_runs_in_a_debian_guest_with_tailored_btf_alone"]
fn guest_half() {
    let dir = shared_dir();
    let obj = std::fs::read(dir.join("task-core.o")).unwrap();
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    let full_bytes = std::fs::read("/sys/kernel/btf/vmlinux").unwrap();
    let full = Btf::parse(&full_bytes).unwrap();
    let t = tailor(&full, &[("task-core", &obj)], Output::Standalone).unwrap();
    assert!(t.failures.is_empty(), "{:?}", t.failures);
    let min_path = dir.join("min.btf");
    std::fs::write(&min_path, &t.btf).unwrap();
    drop(full);

    // From here on, the tailored BTF alone.
    let min = Btf::parse(&t.btf).unwrap();
    let relocated = btfkit_reloc::relocate_object(&obj, &btfkit_reloc::Target::new(&min)).unwrap();
    assert_eq!(relocated.decisions.len(), 8);
    let out = btfkit_reloc::write::write_relocated(&obj, &relocated).unwrap();
    let loaded = btfkit_loader::LoadedObject::load(&out).unwrap();
    loaded
        .map(".data")
        .unwrap()
        .write(&tid().to_ne_bytes())
        .unwrap();
    let prog = loaded.program("task_core").unwrap();
    prog.test_run().unwrap();
    assert_ground_truth(
        "btfkit (test run)",
        &parse_results(&loaded.map(".bss").unwrap().read().unwrap()),
    );
    loaded.map(".bss").unwrap().write(&[]).unwrap();
    let link = prog.attach().unwrap();
    trigger();
    let r = parse_results(&loaded.map(".bss").unwrap().read().unwrap());
    drop(link);
    assert_ground_truth("btfkit (attached)", &r);

    let mut leg = LibbpfObject::open_with_target(&obj, "tailor-vm", &min_path).unwrap();
    leg.set_global("TARGET_TID", &tid().to_ne_bytes()).unwrap();
    leg.load().unwrap_or_else(|e| panic!("{e}"));
    common::assert_libbpf_relocated_every_record(&obj, leg.log());
    leg.attach_raw_tracepoint("task_core", "sys_enter").unwrap();
    trigger();
    let results = leg.read_global("RESULTS").unwrap();
    assert_ground_truth("libbpf (btf_custom_path)", &parse_results(&results));
    println!(
        "{DONE}: {}: full BTF {} B, tailored {} B ({} types, {} relocations); \
         pid {} tgid {} ppid {} comm {:?}",
        release.trim(),
        full_bytes.len(),
        t.btf.len(),
        t.types,
        t.relocations,
        r.pid,
        r.tgid,
        r.ppid,
        r.comm
    );
}
