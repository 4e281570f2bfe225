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

mod common;
use common::query_cost::{answers, check, program_sizes};
use common::require_root;

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

#[test]
fn rust_and_c_programs_answer_the_same_in_the_kernel() {
    require_root();
    let rust = common::build_example("query-cost");
    let c = common::clang_twin("query-cost");
    let ours = answers(&rust, "query-cost");
    let theirs = answers(&c, "query-cost-twin");
    check("libbpf", &rust, &ours, &c, &theirs);
}
