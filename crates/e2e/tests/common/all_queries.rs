//! `examples/all-queries`' results (its `.bss` RESULTS) and the answers every slot
//! must hold on the running kernel, from its BTF (cross-checked with bpftool) and `/proc`.

use std::process::Command;

use btfkit_model::{Btf, BtfExt, CoreReloKind, Kind};

/// Sets or clears SCHED_RESET_ON_FORK for this thread (the bitfield under test).
pub fn set_reset_on_fork(on: bool) {
    const SCHED_RESET_ON_FORK: i32 = 0x4000_0000;
    let param = libc::sched_param { sched_priority: 0 };
    let policy = libc::SCHED_OTHER | if on { SCHED_RESET_ON_FORK } else { 0 };
    // SAFETY: sched_setscheduler on the calling thread (0) with a valid param.
    let rc = unsafe { libc::sched_setscheduler(0, policy, &param) };
    assert_eq!(
        rc,
        0,
        "sched_setscheduler: {}",
        std::io::Error::last_os_error()
    );
}

/// What every slot of RESULTS in `obj` must hold on the running kernel.
pub fn expected(obj: &[u8]) -> Vec<(usize, &'static str, u64)> {
    let data = std::fs::read("/sys/kernel/btf/vmlinux").unwrap();
    let k = Btf::parse(&data).unwrap();
    let ts_id = k.find_by_name_kind("task_struct", Kind::Struct)[0];
    let ts = k.type_by_id(ts_id).unwrap();
    let m = ts
        .members()
        .find(|m| k.name(m.name_off).unwrap() == "sched_reset_on_fork")
        .unwrap();
    let (bit_off, bit_sz) = (m.bit_offset as u64, m.bitfield_size as u64);
    let byte_sz = k.resolve_size(m.type_id).unwrap();
    let byte_off = bit_off / 8 / byte_sz * byte_sz;
    // bpftool agrees on where the bitfield is.
    let dump = Command::new("bpftool")
        .args(["btf", "dump", "file", "/sys/kernel/btf/vmlinux"])
        .output()
        .expect("bpftool is required (scripts/setup.sh installs it)");
    let line = format!(
        "'sched_reset_on_fork' type_id={} bits_offset={bit_off} bitfield_size={bit_sz}",
        m.type_id
    );
    assert!(
        String::from_utf8_lossy(&dump.stdout).contains(&line),
        "bpftool disagrees on {line}"
    );
    let flags = ts
        .members()
        .find(|m| k.name(m.name_off).unwrap() == "flags")
        .unwrap();
    let pid_type = k
        .type_by_id(k.find_by_name_kind("pid_type", Kind::Enum)[0])
        .unwrap();
    let sid = pid_type
        .enum_values()
        .find(|v| k.name(v.name_off).unwrap() == "PIDTYPE_SID")
        .unwrap()
        .value;
    // The parent's parent, from /proc.
    // SAFETY: getppid has no preconditions.
    let ppid = unsafe { libc::getppid() };
    let stat = std::fs::read_to_string(format!("/proc/{ppid}/stat")).unwrap();
    let grandparent: u64 = stat
        .rsplit_once(") ")
        .unwrap()
        .1
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    // The local type id is whatever btfkit link gave task_struct in the object's .BTF.
    let obj = btfkit_object::BpfObject::parse(obj).unwrap();
    let local = Btf::parse(obj.btf().unwrap()).unwrap();
    let local_id = local.find_by_name_kind("task_struct", Kind::Struct)[0] as u64;
    let has_type_matches = BtfExt::parse(obj.btf_ext().unwrap())
        .unwrap()
        .core_relo
        .sections
        .iter()
        .flat_map(|s| &s.records)
        .any(|r| r.kind == CoreReloKind::TypeMatches);
    vec![
        (0, "hits", 1),
        (1, "sched_reset_on_fork (read through the shift pair)", 1),
        (2, "field_signed!(sched_reset_on_fork)", 0),
        (
            3,
            "field_lshift_u64!",
            64 - (bit_off + bit_sz - byte_off * 8),
        ),
        (4, "field_rshift_u64!", 64 - bit_sz),
        (5, "field_byte_offset!(bitfield)", byte_off),
        (6, "field_byte_size!(bitfield)", byte_sz),
        (7, "field_signed!(pid)", 1),
        (8, "field_byte_size!(comm)", 16),
        (9, "type_exists!(task_struct)", 1),
        (10, "type_exists!(btfkit_no_such_type)", 0),
        (
            11,
            "type_size!(task_struct)",
            k.resolve_size(ts_id).unwrap(),
        ),
        (
            12,
            "type_matches!(list_head) (u64::MAX: built without it)",
            if has_type_matches { 1 } else { u64::MAX },
        ),
        (13, "type_id_local!(task_struct)", local_id),
        (14, "type_id_target!(task_struct)", ts_id as u64),
        (15, "enum_value_exists!(pid_type, PIDTYPE_TGID)", 1),
        (16, "enum_value!(pid_type, PIDTYPE_SID)", sid),
        (17, "enum_value_exists!(pid_type, BTFKIT_NOT_A_PID_TYPE)", 0),
        (
            18,
            "core_read!(task_struct___btfkit, tgid) (flavor)",
            std::process::id() as u64,
        ),
        (
            19,
            "core_read!(task, real_parent, real_parent, tgid)",
            grandparent,
        ),
        (
            20,
            "field_byte_offset!(flags) (local u64)",
            flags.bit_offset as u64 / 8,
        ),
        (
            21,
            "field_byte_size!(flags) (local u64, kernel's u32)",
            k.resolve_size(flags.type_id).unwrap(),
        ),
    ]
}

pub fn check(leg: &str, results: &[u8], expected: &[(usize, &str, u64)]) {
    assert_eq!(results.len(), 22 * 8, "{leg}: RESULTS has 22 slots");
    let got: Vec<u64> = results
        .chunks_exact(8)
        .map(|c| u64::from_ne_bytes(c.try_into().unwrap()))
        .collect();
    let mut wrong = Vec::new();
    for &(i, what, want) in expected {
        if got[i] != want {
            wrong.push(format!("{what}: got {}, expected {want}", got[i]));
        }
    }
    assert!(wrong.is_empty(), "{leg}:\n{}", wrong.join("\n"));
}
