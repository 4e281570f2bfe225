//! Each example's C twin, compiled by clang-22 with libbpf's
//! `bpf_core_read.h`, has the same CO-RE records as the Rust example linked
//! by btfkit: the same set of (kind, root type, access string), and the same
//! local shape (member names in order, enumerators) for every root type.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};

use btfkit_model::{Btf, BtfExt, Kind};

mod common;

/// (kind, root type name, access) of every record, and each root type's shape.
type Records = (
    BTreeSet<(String, String, String)>,
    BTreeMap<String, Vec<String>>,
);

fn records(object: &[u8]) -> Records {
    let obj = btfkit_object::BpfObject::parse(object).unwrap();
    let btf = Btf::parse(obj.btf().unwrap()).unwrap();
    let ext = BtfExt::parse(obj.btf_ext().unwrap()).unwrap();
    let mut set = BTreeSet::new();
    let mut shapes = BTreeMap::new();
    for sec in &ext.core_relo.sections {
        for r in &sec.records {
            let t = btf.type_by_id(r.type_id).unwrap();
            let name = btf.type_name(&t).unwrap().to_string();
            set.insert((
                r.kind.short_name().to_string(),
                name.clone(),
                btf.name(r.access_str_off).unwrap().to_string(),
            ));
            let shape: Vec<String> = match t.kind() {
                Kind::Struct | Kind::Union => t
                    .members()
                    .map(|m| {
                        format!(
                            "{}{}",
                            btf.name(m.name_off).unwrap(),
                            if m.bitfield_size > 0 {
                                format!(":{}", m.bitfield_size)
                            } else {
                                String::new()
                            }
                        )
                    })
                    .collect(),
                Kind::Enum | Kind::Enum64 => t
                    .enum_values()
                    .map(|v| format!("{}={}", btf.name(v.name_off).unwrap(), v.value))
                    .collect(),
                other => vec![other.name().to_string()],
            };
            shapes.insert(name, shape);
        }
    }
    (set, shapes)
}

fn compare(example: &str) {
    let (rust_set, rust_shapes) = records(&common::build_example(example));
    let (c_set, c_shapes) = records(&common::clang_twin(example));
    assert_eq!(
        rust_set,
        c_set,
        "{example}: records differ\n only in Rust: {:?}\n only in C: {:?}",
        rust_set.difference(&c_set).collect::<Vec<_>>(),
        c_set.difference(&rust_set).collect::<Vec<_>>()
    );
    assert_eq!(rust_shapes, c_shapes, "{example}: local type shapes differ");
    assert!(!rust_set.is_empty());
}

#[test]
fn task_core_has_the_records_clang_writes() {
    compare("task-core");
}

#[test]
fn all_queries_has_the_records_clang_writes() {
    compare("all-queries");
}

#[test]
fn query_cost_has_the_records_clang_writes() {
    compare("query-cost");
}

#[test]
fn anon_members_has_the_records_clang_writes() {
    compare("anon-members");
}

/// Lean BTF: each example's `.BTF` has no more types, bytes of types and
/// bytes but the source texts of line_info than its C twin's, and no more
/// bytes in all where the example's source lines are no longer than the
/// twin's: all but `task-core`, whose Rust lines (`(*r).pid =
/// btf::core_read!(task: task_struct, pid).map_or(-1, |v| v as i64);`) are
/// longer than C's (`RESULTS.pid = BPF_CORE_READ(task, pid);`). Run with
/// `--nocapture` for the numbers.
#[test]
fn examples_carry_no_more_btf_than_their_c_twins() {
    for (example, whole) in [
        ("task-core", false),
        ("all-queries", true),
        ("query-cost", true),
    ] {
        common::assert_btf_no_larger_than_twin(
            example,
            &common::build_example(example),
            &common::clang_twin(example),
            whole,
        );
    }
    // `anon-members` takes its context as `*mut u8`, which needs an INT
    // `unsigned char` (16 bytes) where clang's `void *` needs none: its
    // types may be 4 bytes larger than the twin's (which has a 12-byte
    // TYPEDEF instead); their number and the whole `.BTF` may not.
    let (rust, twin) = (
        common::build_example("anon-members"),
        common::clang_twin("anon-members"),
    );
    let ((rt, rtb, rb), (ct, ctb, cb)) = (common::btf_size(&rust), common::btf_size(&twin));
    eprintln!("anon-members: .BTF {rt} types ({rtb} bytes), {rb} bytes; C twin {ct} ({ctb}), {cb}");
    assert!(
        rt <= ct && rtb <= ctb + 4 && rb <= cb,
        "anon-members: .BTF larger than its C twin's"
    );
}
