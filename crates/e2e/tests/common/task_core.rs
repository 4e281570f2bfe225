//! `examples/task-core`'s results (its `.bss`) and the ground truth they must
//! equal in the thread that triggered it.

use super::tid;

/// The program's `Results` in `.bss`, as user space reads it.
#[derive(Debug, PartialEq, Eq)]
pub struct Results {
    pub hits: u64,
    pub pid: i64,
    pub tgid: i64,
    pub ppid: i64,
    pub absent_exists: u64,
    pub tgid_offset: u64,
    pub comm: String,
}

/// Reads the `Results` out of the `.bss` bytes.
pub fn parse_results(bss: &[u8]) -> Results {
    let u = |i: usize| u64::from_ne_bytes(bss[i * 8..i * 8 + 8].try_into().unwrap());
    let comm = &bss[48..64];
    let end = comm.iter().position(|&b| b == 0).unwrap_or(16);
    Results {
        hits: u(0),
        pid: u(1) as i64,
        tgid: u(2) as i64,
        ppid: u(3) as i64,
        absent_exists: u(4),
        tgid_offset: u(5),
        comm: String::from_utf8_lossy(&comm[..end]).into_owned(),
    }
}

/// `r` must equal what this thread and the running kernel's BTF say.
pub fn assert_ground_truth(leg: &str, r: &Results) {
    assert!(
        r.hits > 0,
        "{leg}: the program never saw this thread: {r:?}"
    );
    assert_eq!(r.pid as u64, tid(), "{leg}: task->pid");
    assert_eq!(r.tgid as u32, std::process::id(), "{leg}: task->tgid");
    // SAFETY: getppid has no preconditions.
    assert_eq!(
        r.ppid as i32,
        unsafe { libc::getppid() },
        "{leg}: task->real_parent->tgid"
    );
    let comm = std::fs::read_to_string("/proc/thread-self/comm").unwrap();
    assert_eq!(r.comm, comm.trim_end(), "{leg}: task->comm");
    assert_eq!(
        r.absent_exists, 0,
        "{leg}: a field no kernel has must be reported absent"
    );
    let kernel = std::fs::read("/sys/kernel/btf/vmlinux").unwrap();
    let kernel = btfkit_model::Btf::parse(&kernel).unwrap();
    let ts = kernel
        .type_by_id(kernel.find_by_name_kind("task_struct", btfkit_model::Kind::Struct)[0])
        .unwrap();
    let tgid = ts
        .members()
        .find(|m| kernel.name(m.name_off).unwrap() == "tgid")
        .unwrap();
    assert_eq!(
        r.tgid_offset,
        tgid.bit_offset as u64 / 8,
        "{leg}: field_byte_offset!(task_struct, tgid)"
    );
}

/// Makes a few syscalls in this thread (the program runs on `raw_tp/sys_enter`).
pub fn trigger() {
    for _ in 0..3 {
        let _ = std::fs::metadata("/");
    }
}

/// Loads `relocated` (task-core relocated by btfkit) with btfkit's loader, runs it
/// once with `BPF_PROG_TEST_RUN` (in this thread) and once attached, checks both
/// against the ground truth and returns the attached run's results.
pub fn run_with_btfkit_loader(relocated: &[u8]) -> Results {
    run_loaded(btfkit_loader::LoadedObject::load(relocated).unwrap())
}

/// [`run_with_btfkit_loader`] for an object already loaded.
pub fn run_loaded(loaded: btfkit_loader::LoadedObject) -> Results {
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
    r
}
