//! Tailored BTF alone on a real kernel, as for a kernel without BTF of its own: the
//! full BTF of Debian's 6.1 kernel is taken from its package (the `.BTF` of the
//! vmlinux in the vmlinuz, as BTFHub's files are made), tailored on the host to
//! `examples/task-core` (`btfkit_minbtf::tailor`, as `btfkit min-btf` does), and the
//! program is relocated by btfkit's engine from the tailored file alone. One guest
//! of that kernel (QEMU, `btfkit-vm`) runs this test binary's guest half: btfkit's
//! relocated object loaded by btfkit's loader, and the original object relocated and
//! loaded by libbpf 1.7 with the tailored file as `btf_custom_path`. Both must read
//! `gettid()`, `getpid()`, `getppid()` and the thread's `comm` in the guest.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use btfkit_e2e::libbpf_leg::LibbpfObject;
use btfkit_minbtf::{tailor, Output};
use btfkit_model::Btf;
use common::task_core::{assert_ground_truth, parse_results, run_with_btfkit_loader, trigger};
use common::{require_root, tid};

/// The kernel booted (`btfkit vm --kernel` spec).
const KERNEL: &str = "6.1";

/// The guest's last line when everything held.
const DONE: &str = "TAILORED-BTF-OK";

/// Host folder shared with the guest (read-write): the object in, the tailored BTF out.
fn shared_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("tailor-vm")
}

/// The raw `.BTF` of the vmlinux inside a bzImage (`vmlinuz`): the payload (offset
/// and length at 0x248 of the setup header, after the setup sectors) is decompressed
/// with `xz` or `lz4`, and its `.BTF` section read.
fn package_btf(vmlinuz: &Path) -> Vec<u8> {
    let image = std::fs::read(vmlinuz).unwrap_or_else(|e| panic!("{}: {e}", vmlinuz.display()));
    let u32_at = |at: usize| u32::from_le_bytes(image[at..at + 4].try_into().unwrap()) as usize;
    assert!(
        image.len() > 0x250 && &image[0x202..0x206] == b"HdrS",
        "{}: not a bzImage",
        vmlinuz.display()
    );
    let setup_sects = match image[0x1f1] {
        0 => 4,
        n => usize::from(n),
    };
    let start = (setup_sects + 1) * 512 + u32_at(0x248);
    let payload = &image[start..start + u32_at(0x24c)];
    let tool = if payload.starts_with(b"\xfd7zXZ\0") {
        ["xz", "-dc", "--single-stream"]
    } else if payload.starts_with(&[0x02, 0x21, 0x4c, 0x18]) {
        ["lz4", "-dc", "-q"]
    } else {
        panic!(
            "{}: payload compressed with neither xz nor lz4",
            vmlinuz.display()
        )
    };
    let packed = shared_dir().join("vmlinux.payload");
    std::fs::write(&packed, payload).unwrap();
    let out = Command::new(tool[0])
        .args(&tool[1..])
        .arg(&packed)
        .output()
        .unwrap_or_else(|e| panic!("{} is required to unpack the kernel: {e}", tool[0]));
    let _ = std::fs::remove_file(&packed);
    assert!(
        !out.stdout.is_empty(),
        "{}: {}",
        tool[0],
        String::from_utf8_lossy(&out.stderr)
    );
    btfkit_object::btf_from_elf(&out.stdout)
        .unwrap_or_else(|e| panic!("{}: the vmlinux has no .BTF: {e}", vmlinuz.display()))
        .to_vec()
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
    let obj = common::build_example("task-core");
    let full_bytes = package_btf(&kernel.vmlinuz);
    let full = Btf::parse(&full_bytes).unwrap();
    let t = tailor(&full, &[("task-core", &obj)], Output::Standalone).unwrap();
    assert!(t.failures.is_empty(), "{:?}", t.failures);
    drop(full);
    // From here on, the tailored BTF alone.
    let min = Btf::parse(&t.btf).unwrap();
    let relocated = btfkit_reloc::relocate_object(&obj, &btfkit_reloc::Target::new(&min)).unwrap();
    assert_eq!(relocated.decisions.len(), 8);
    let out = btfkit_reloc::write::write_relocated(&obj, &relocated).unwrap();
    std::fs::write(dir.join("min.btf"), &t.btf).unwrap();
    std::fs::write(dir.join("task-core.o"), &obj).unwrap();
    std::fs::write(dir.join("task-core.relocated.o"), &out).unwrap();
    std::fs::write(dir.join("release"), &kernel.name).unwrap();
    std::fs::write(dir.join("package.btf"), &full_bytes).unwrap();
    println!(
        "{}: package BTF {} B, tailored {} B ({} types, {} relocations)",
        kernel.name,
        full_bytes.len(),
        t.btf.len(),
        t.types,
        t.relocations
    );
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
    println!("{} guest: {:.1?}", kernel.name, out.elapsed);
}

/// Runs inside the guest (started by the test above, with `--ignored`).
#[test]
#[ignore = "the guest half of task_core_runs_in_a_debian_guest_with_tailored_btf_alone"]
fn guest_half() {
    let dir = shared_dir();
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    let want = std::fs::read_to_string(dir.join("release")).unwrap();
    assert_eq!(
        release.trim(),
        want,
        "the guest runs the kernel the BTF was tailored from"
    );
    assert!(
        std::fs::read("/sys/kernel/btf/vmlinux").unwrap()
            == std::fs::read(dir.join("package.btf")).unwrap(),
        "the package's BTF is the guest kernel's"
    );
    let obj = std::fs::read(dir.join("task-core.o")).unwrap();
    let out = std::fs::read(dir.join("task-core.relocated.o")).unwrap();
    let min_path = dir.join("min.btf");
    let r = run_with_btfkit_loader(&out);

    let mut leg = LibbpfObject::open_with_target(&obj, "tailor-vm", &min_path).unwrap();
    leg.set_global("TARGET_TID", &tid().to_ne_bytes()).unwrap();
    leg.load().unwrap_or_else(|e| panic!("{e}"));
    common::assert_libbpf_relocated_every_record(&obj, leg.log());
    leg.attach_raw_tracepoint("task_core", "sys_enter").unwrap();
    trigger();
    let results = leg.read_global("RESULTS").unwrap();
    assert_ground_truth("libbpf (btf_custom_path)", &parse_results(&results));
    println!(
        "{DONE}: {}: pid {} tgid {} ppid {} comm {:?}",
        release.trim(),
        r.pid,
        r.tgid,
        r.ppid,
        r.comm
    );
}
