//! What each query costs: `examples/query-cost` has one program per query
//! (the query's answer is the program's return value), and its C twin the
//! same programs written with libbpf's `bpf_core_read.h` and compiled by
//! clang-22. This test counts the instructions of every program on both
//! sides and prints the table (`cargo test -p btfkit-e2e --test query_cost --
//! --nocapture`); the goal is at most 1.2× clang's instructions over all
//! queries. Then both objects are loaded into the running kernel by libbpf
//! and every program is run: the Rust and the C program of each query must
//! answer the same.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use btfkit_e2e::libbpf_leg::LibbpfObject;

mod common;
use common::require_root;

/// Instructions of each entry point (program) of `object`, by name.
fn program_sizes(object: &[u8]) -> BTreeMap<String, usize> {
    let obj = btfkit_object::BpfObject::parse(object).unwrap();
    obj.entry_points()
        .map(|(_, f)| (f.name.to_string(), f.insn_count()))
        .filter(|(name, _)| name.starts_with("q_"))
        .collect()
}

#[test]
fn each_query_costs_about_what_clang_spends() {
    let rust = program_sizes(&common::build_example("query-cost"));
    let c = program_sizes(&common::clang_twin("query-cost"));
    assert_eq!(
        rust.keys().collect::<Vec<_>>(),
        c.keys().collect::<Vec<_>>(),
        "the Rust example and its C twin have the same programs"
    );
    assert!(rust.len() >= 16, "one program per query: {rust:?}");
    let (mut total_rust, mut total_c) = (0, 0);
    println!(
        "{:<24} {:>5} {:>5} {:>6}",
        "program", "Rust", "clang", "ratio"
    );
    for (name, &r) in &rust {
        let c = c[name];
        total_rust += r;
        total_c += c;
        println!("{name:<24} {r:>5} {c:>5} {:>6.2}", r as f64 / c as f64);
    }
    let ratio = total_rust as f64 / total_c as f64;
    println!(
        "{:<24} {total_rust:>5} {total_c:>5} {ratio:>6.2}",
        "all queries"
    );
    assert!(
        ratio <= 1.2,
        "the queries cost {ratio:.2}x clang's instructions (goal: 1.2x)"
    );
}

/// Every program's return value in the running kernel, loaded by libbpf.
fn answers(object: &[u8], name: &str, programs: &[&String]) -> BTreeMap<String, u32> {
    let mut leg = LibbpfObject::open(object, name).unwrap();
    leg.load().unwrap_or_else(|e| panic!("{name}: {e}"));
    programs
        .iter()
        .map(|p| {
            let ret = leg
                .test_run(p)
                .unwrap_or_else(|e| panic!("{name}: running {p}: {e}"));
            (p.to_string(), ret)
        })
        .collect()
}

#[test]
fn rust_and_c_programs_answer_the_same_in_the_kernel() {
    require_root();
    let rust = common::build_example("query-cost");
    let c = common::clang_twin("query-cost");
    let sizes = program_sizes(&rust);
    let programs: Vec<&String> = sizes.keys().collect();
    let ours = answers(&rust, "query-cost", &programs);
    let theirs = answers(&c, "query-cost-twin", &programs);
    // A local type id is each object's own: each must be task_struct's id in
    // that object's .BTF.
    for (object, got) in [(&rust, &ours), (&c, &theirs)] {
        let obj = btfkit_object::BpfObject::parse(object).unwrap();
        let btf = btfkit_model::Btf::parse(obj.btf().unwrap()).unwrap();
        let id = btf.find_by_name_kind("task_struct", btfkit_model::Kind::Struct)[0];
        assert_eq!(got["q_local_type_id"], id, "type_id_local!(task_struct)");
    }
    let differ: Vec<String> = programs
        .iter()
        .filter(|p| p.as_str() != "q_local_type_id" && ours[**p] != theirs[**p])
        .map(|p| format!("{p}: Rust {}, C {}", ours[*p], theirs[*p]))
        .collect();
    assert!(differ.is_empty(), "{}", differ.join("\n"));
    // Not all trivially equal: the kernel's task_struct moved every field.
    assert!(
        ours["q_byte_off"] > 100,
        "tgid's offset in the kernel's task_struct: {}",
        ours["q_byte_off"]
    );
}
