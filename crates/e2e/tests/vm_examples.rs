//! The example programs' answers on real kernels: `examples/task-core`,
//! `examples/all-queries`, `examples/exec-events`, `examples/kernel-types`
//! (`btfkit gen` bindings of the host kernel), `examples/query-cost` (and its
//! C twin), `examples/core-strings` and `examples/aya-task` are built once on the host,
//! then Debian's 6.1 and 6.12 kernels, plain and -cloud, are booted (QEMU,
//! `btfkit-vm`, two guests at once, one boot per kernel) and run this test
//! binary's guest half: each example relocated by btfkit's engine against the
//! guest's `/sys/kernel/btf/vmlinux` and loaded by btfkit's loader, and,
//! separately, relocated and loaded by libbpf 1.7 (aya-task: by aya's user
//! space, `aya::EbpfLoader`, as `aya_loader` does on the host; its legacy
//! `maps` section is neither btfkit's loader's nor libbpf 1.x's); each run in
//! the guest and its answers checked there against the ground truth (pid,
//! ppid, comm, the executable's name, a user buffer, the guest kernel's BTF;
//! query-cost: its C twin relocated by libbpf in the same guest), with the
//! checks the `kernel_*`, `query_cost`, `kernel_strings` and `aya_loader`
//! tests use on the running kernel (which covers the host). Prints a matrix kernel × example × loader and fails
//! on any wrong answer or any guest that does not boot.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::Duration;

use btfkit_e2e::libbpf_leg::LibbpfObject;
use common::{all_queries, aya_task, core_strings, kernel_types, query_cost, task_core, tid};

const KERNELS: &[&str] = &["6.1", "6.12", "6.1-cloud", "6.12-cloud"];
/// Each example and its loaders.
const EXAMPLES: &[(&str, &[&str])] = &[
    ("task-core", BOTH),
    ("all-queries", BOTH),
    ("exec-events", BOTH),
    ("kernel-types", BOTH),
    ("query-cost", BOTH),
    ("core-strings", BOTH),
    ("aya-task", &["aya"]),
];
const BOTH: &[&str] = &["btfkit", "libbpf"];

/// The guest half's lines: `CELL <example> <loader> ok|<what failed>`.
const CELL: &str = "CELL ";

/// Where the host leaves the linked objects for the guests (the host's
/// filesystem is visible in them) and the guests write kernel-types' file.
fn objects_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("vm-examples-guest")
}

#[test]
fn examples_answer_right_in_debian_guests() {
    common::require_root();
    btfkit_vm::check_host().unwrap_or_else(|e| {
        panic!("QEMU guests cannot run here (scripts/setup.sh installs what they need): {e}")
    });
    let kernels: Vec<_> = KERNELS
        .iter()
        .map(|k| {
            btfkit_vm::resolve(k)
                .unwrap_or_else(|e| panic!("Debian kernel {k} (fetched with apt-get): {e}"))
        })
        .collect();
    let dir = objects_dir();
    std::fs::create_dir_all(&dir).unwrap();
    // kernel-types' bindings are generated from the host kernel's BTF, as
    // kernel_gen_types does; the guests relocate them to their own kernels.
    common::generate_bindings(kernel_types::ROOTS, "kernel-types/src/vmlinux.rs", false);
    for (example, _) in EXAMPLES {
        let obj = if *example == "aya-task" {
            btfkit_link::link(&aya_task::build_aya_task(&["core"]))
                .unwrap()
                .object
        } else {
            common::build_example(example)
        };
        std::fs::write(dir.join(format!("{example}.o")), obj).unwrap();
    }
    std::fs::write(
        dir.join("query-cost-twin.o"),
        common::clang_twin("query-cost"),
    )
    .unwrap();
    let exe = std::env::current_exe().unwrap();
    let argv: Vec<String> = [
        exe.display().to_string(),
        "--exact".into(),
        "guest_half".into(),
        "--ignored".into(),
        "--nocapture".into(),
        "--test-threads=1".into(),
    ]
    .into();
    let opts = btfkit_vm::Options {
        timeout: Duration::from_secs(400),
        memory: "1G".into(),
        jobs: 2,
        // kernel-types' file fixture is written there (the rest is read-only).
        rw_dirs: vec![dir.clone()],
    };
    let outcomes = btfkit_vm::run_all(&kernels, &argv, &opts);
    let mut failures = Vec::new();
    let mut matrix = String::from("kernel                      example       loader  answer\n");
    for (kernel, outcome) in kernels.iter().zip(&outcomes) {
        let out = match outcome {
            Ok(out) => out,
            Err(e) => {
                failures.push(format!("{}: the guest did not run: {e}", kernel.name));
                continue;
            }
        };
        let cells: BTreeMap<(String, String), String> = out
            .stdout
            .lines()
            .filter_map(|l| l.strip_prefix(CELL))
            .filter_map(|l| {
                let mut f = l.splitn(3, ' ');
                Some((
                    (f.next()?.to_string(), f.next()?.to_string()),
                    f.next()?.to_string(),
                ))
            })
            .collect();
        for (example, loaders) in EXAMPLES {
            for loader in *loaders {
                let answer = cells
                    .get(&(example.to_string(), loader.to_string()))
                    .cloned()
                    .unwrap_or_else(|| "not run".into());
                matrix.push_str(&format!(
                    "{:<27} {example:<13} {loader:<7} {answer}\n",
                    kernel.name
                ));
                if answer != "ok" {
                    failures.push(format!("{} {example} {loader}: {answer}", kernel.name));
                }
            }
        }
        if !out.success() {
            failures.push(format!(
                "{}: the guest half failed (status {:?}, timed out {}):\n{}\nconsole:\n{}",
                kernel.name,
                out.status,
                out.timed_out,
                out.stderr,
                out.console_tail.join("\n")
            ));
        }
        println!("{} guest: {:.1?}", kernel.name, out.elapsed);
    }
    println!("{matrix}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Runs `f`, printing its cell: `ok` or the first failure, on one line.
fn cell(example: &str, loader: &str, f: impl FnOnce()) -> bool {
    let r = catch_unwind(AssertUnwindSafe(f));
    let answer = match &r {
        Ok(()) => "ok".to_string(),
        Err(e) => e
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panicked".into())
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
    };
    println!("{CELL}{example} {loader} {answer}");
    r.is_ok()
}

/// The guest's kernel BTF and `obj` relocated by btfkit's engine against it.
fn relocate_here(obj: &[u8]) -> Vec<u8> {
    let kernel = std::fs::read("/sys/kernel/btf/vmlinux").unwrap();
    let kernel = btfkit_model::Btf::parse(&kernel).unwrap();
    let relocated =
        btfkit_reloc::relocate_object(obj, &btfkit_reloc::Target::new(&kernel)).unwrap();
    btfkit_reloc::write::write_relocated(obj, &relocated).unwrap()
}

/// libbpf's object of `example`, opened with this thread as `TARGET_TID` and loaded.
fn libbpf_loaded(obj: &[u8], example: &str, target_tid: bool) -> LibbpfObject {
    let mut leg = LibbpfObject::open(obj, &format!("guest-{example}")).unwrap();
    if target_tid {
        leg.set_global("TARGET_TID", &tid().to_ne_bytes()).unwrap();
    }
    leg.load().unwrap_or_else(|e| panic!("{e}"));
    common::assert_libbpf_relocated_every_record(obj, leg.log());
    leg
}

/// exec-events' first slot after one test run in this thread: (count, pid, ppid, comm).
fn check_exec_event(leg: &str, ring: &[u8]) {
    let u32_at = |at: usize| u32::from_ne_bytes(ring[at..at + 4].try_into().unwrap());
    let count = u64::from_ne_bytes(ring[..8].try_into().unwrap());
    assert_eq!(count, 1, "{leg}: events recorded");
    assert_eq!(u32_at(8), std::process::id(), "{leg}: task->tgid");
    // SAFETY: getppid has no preconditions.
    assert_eq!(
        u32_at(12) as i32,
        unsafe { libc::getppid() },
        "{leg}: task->real_parent->tgid"
    );
    let comm = &ring[16..32];
    let end = comm.iter().position(|&b| b == 0).unwrap_or(16);
    let want = std::fs::read_to_string("/proc/thread-self/comm").unwrap();
    assert_eq!(
        String::from_utf8_lossy(&comm[..end]),
        want.trim_end(),
        "{leg}: task->comm"
    );
}

/// Runs inside each guest (started by the test above, with `--ignored`).
#[test]
#[ignore = "the guest half of examples_answer_right_in_debian_guests"]
fn guest_half() {
    let dir = objects_dir();
    let read = |example: &str| std::fs::read(dir.join(format!("{example}.o"))).unwrap();
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    println!("guest kernel {}", release.trim());
    let mut all = true;

    let obj = read("task-core");
    all &= cell("task-core", "btfkit", || {
        task_core::run_with_btfkit_loader(&relocate_here(&obj));
    });
    all &= cell("task-core", "libbpf", || {
        let mut leg = libbpf_loaded(&obj, "task-core", true);
        leg.attach_raw_tracepoint("task_core", "sys_enter").unwrap();
        task_core::trigger();
        let results = leg.read_global("RESULTS").unwrap();
        task_core::assert_ground_truth("libbpf", &task_core::parse_results(&results));
    });

    let obj = read("all-queries");
    all &= cell("all-queries", "btfkit", || {
        let loaded = btfkit_loader::LoadedObject::load(&relocate_here(&obj)).unwrap();
        loaded
            .map(".data")
            .unwrap()
            .write(&tid().to_ne_bytes())
            .unwrap();
        all_queries::set_reset_on_fork(true);
        let ran = loaded.program("all_queries").unwrap().test_run();
        all_queries::set_reset_on_fork(false);
        ran.unwrap();
        let bss = loaded.map(".bss").unwrap().read().unwrap();
        all_queries::check("btfkit", &bss, &all_queries::expected(&obj));
    });
    all &= cell("all-queries", "libbpf", || {
        let leg = libbpf_loaded(&obj, "all-queries", true);
        all_queries::set_reset_on_fork(true);
        let ran = leg.test_run("all_queries");
        all_queries::set_reset_on_fork(false);
        ran.unwrap();
        let results = leg.read_global("RESULTS").unwrap();
        all_queries::check("libbpf", &results, &all_queries::expected(&obj));
    });

    let obj = read("exec-events");
    all &= cell("exec-events", "btfkit", || {
        let loaded = btfkit_loader::LoadedObject::load(&relocate_here(&obj)).unwrap();
        loaded.program("exec_events").unwrap().test_run().unwrap();
        check_exec_event("btfkit", &loaded.map(".bss").unwrap().read().unwrap());
    });
    all &= cell("exec-events", "libbpf", || {
        let leg = libbpf_loaded(&obj, "exec-events", false);
        leg.test_run("exec_events").unwrap();
        check_exec_event("libbpf", &leg.read_global("RING").unwrap());
    });
    let obj = read("kernel-types");
    all &= cell("kernel-types", "btfkit", || {
        let loaded = btfkit_loader::LoadedObject::load(&relocate_here(&obj)).unwrap();
        let fx = kernel_types::Fixtures::new_in(&dir, &format!("{}-btfkit", release.trim()));
        loaded.map(".data").unwrap().write(&fx.inputs()).unwrap();
        loaded.program("kernel_types").unwrap().test_run().unwrap();
        kernel_types::check("btfkit", &loaded.map(".bss").unwrap().read().unwrap(), &fx);
    });
    all &= cell("kernel-types", "libbpf", || {
        let fx = kernel_types::Fixtures::new_in(&dir, &format!("{}-libbpf", release.trim()));
        let mut leg = LibbpfObject::open(&obj, "guest-kernel-types").unwrap();
        leg.set_global("INPUTS", &fx.inputs()).unwrap();
        leg.load().unwrap_or_else(|e| panic!("{e}"));
        common::assert_libbpf_relocated_every_record(&obj, leg.log());
        leg.test_run("kernel_types").unwrap();
        kernel_types::check("libbpf", &leg.read_global("RESULTS").unwrap(), &fx);
    });
    let obj = read("query-cost");
    let twin = read("query-cost-twin");
    // The ground truth: the C twin, relocated and loaded by libbpf here.
    let truth = catch_unwind(|| query_cost::answers(&twin, "guest-query-cost-twin"));
    for loader in BOTH {
        all &= cell("query-cost", loader, || {
            let theirs = truth.as_ref().expect("the C twin did not run");
            let ours = if *loader == "btfkit" {
                query_cost::answers_btfkit(&obj)
            } else {
                query_cost::answers(&obj, "guest-query-cost")
            };
            query_cost::check(loader, &obj, &ours, &twin, theirs);
        });
    }

    let obj = read("core-strings");
    all &= cell("core-strings", "btfkit", || {
        core_strings::through_btfkit(&obj)
    });
    all &= cell("core-strings", "libbpf", || {
        core_strings::through_libbpf(&obj, "guest-core-strings");
    });

    let obj = read("aya-task");
    all &= cell("aya-task", "aya", || {
        aya_task::check_core_results(&aya_task::run_in_kernel(&obj));
    });
    assert!(all, "some example answered wrong in {}", release.trim());
}
