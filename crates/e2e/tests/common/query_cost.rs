//! `examples/query-cost`: its programs, their answers when run, and the check
//! that the Rust programs answer what their C twin (clang-22, libbpf's
//! `bpf_core_read.h`) answers on the same kernel.

use std::collections::BTreeMap;

use btfkit_e2e::libbpf_leg::LibbpfObject;

/// Instructions of each query program (`q_*`) of `object`, by name.
pub fn program_sizes(object: &[u8]) -> BTreeMap<String, usize> {
    let obj = btfkit_object::BpfObject::parse(object).unwrap();
    obj.entry_points()
        .map(|(_, f)| (f.name.to_string(), f.insn_count()))
        .filter(|(name, _)| name.starts_with("q_"))
        .collect()
}

/// Every query program's return value in the running kernel, loaded by libbpf.
pub fn answers(object: &[u8], name: &str) -> BTreeMap<String, u32> {
    let mut leg = LibbpfObject::open(object, name).unwrap();
    leg.load().unwrap_or_else(|e| panic!("{name}: {e}"));
    program_sizes(object)
        .keys()
        .map(|p| {
            let ret = leg
                .test_run(p)
                .unwrap_or_else(|e| panic!("{name}: running {p}: {e}"));
            (p.to_string(), ret)
        })
        .collect()
}

/// Every query program's return value in the running kernel, relocated by
/// btfkit's engine and loaded by btfkit's loader.
pub fn answers_btfkit(object: &[u8]) -> BTreeMap<String, u32> {
    let loaded = super::load_with_btfkit(object);
    program_sizes(object)
        .keys()
        .map(|p| {
            let ret = loaded
                .program(p)
                .and_then(|prog| prog.test_run())
                .unwrap_or_else(|e| panic!("btfkit: running {p}: {e}"));
            (p.to_string(), ret)
        })
        .collect()
}

/// `ours` (the Rust object `rust`, by `leg`) answers what `theirs` (the C
/// twin `c`) answers; each local type id is task_struct's id in its own
/// object; tgid's offset is not trivially small.
pub fn check(
    leg: &str,
    rust: &[u8],
    ours: &BTreeMap<String, u32>,
    c: &[u8],
    theirs: &BTreeMap<String, u32>,
) {
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        theirs.keys().collect::<Vec<_>>(),
        "{leg}: the Rust example and its C twin have the same programs"
    );
    for (object, got) in [(rust, ours), (c, theirs)] {
        let obj = btfkit_object::BpfObject::parse(object).unwrap();
        let btf = btfkit_model::Btf::parse(obj.btf().unwrap()).unwrap();
        let id = btf.find_by_name_kind("task_struct", btfkit_model::Kind::Struct)[0];
        assert_eq!(
            got["q_local_type_id"], id,
            "{leg}: type_id_local!(task_struct)"
        );
    }
    let differ: Vec<String> = ours
        .keys()
        .filter(|p| p.as_str() != "q_local_type_id" && ours[*p] != theirs[*p])
        .map(|p| format!("{p}: Rust {}, C {}", ours[p], theirs[p]))
        .collect();
    assert!(differ.is_empty(), "{leg}: {}", differ.join("; "));
    // Not all trivially equal: the kernel's task_struct moved every field.
    assert!(
        ours["q_byte_off"] > 100,
        "{leg}: tgid's offset in the kernel's task_struct: {}",
        ours["q_byte_off"]
    );
}
