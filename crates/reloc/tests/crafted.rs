//! Our own C program exercising every relocation kind, relocated against
//! targets built from C to make libbpf's rules fire — moved and resized
//! fields, flavors, candidate pruning, missing fields and enumerators,
//! a signed field that grows under a load, and disagreeing candidates — by
//! btfkit and by libbpf 1.7. Every decision libbpf logs must be btfkit's too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

use btfkit_model::Btf;
use btfkit_reloc::{relocate_object, Target};

mod common;
use common::{libbpf_relocate, our_decision};

fn clang(src: &str, out: &str) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(src);
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(out);
    let st = Command::new("clang-22")
        .args([
            "-target",
            "bpf",
            "-O2",
            "-g",
            "-c",
            "-I/usr/include/x86_64-linux-gnu",
        ])
        .arg(&src)
        .arg("-o")
        .arg(&out)
        .status()
        .expect("clang-22 is required (scripts/setup.sh installs it)");
    assert!(st.success(), "clang-22 failed on {}", src.display());
    out
}

/// (libbpf's decision, btfkit's decision) for every relocation libbpf logged.
fn compare(target_src: &str) -> Vec<(String, String)> {
    // One object file per test: the tests run in parallel.
    let obj = std::fs::read(clang("rules.bpf.c", &format!("rules-for-{target_src}.o"))).unwrap();
    let target_path = clang(target_src, &format!("{target_src}.o"));
    let target_obj = std::fs::read(&target_path).unwrap();
    let target_btf = Btf::parse(btfkit_object::btf_from_elf(&target_obj).unwrap()).unwrap();
    let ours = relocate_object(&obj, &Target::new(&target_btf)).unwrap();
    let theirs = libbpf_relocate(&obj, &target_path);
    assert!(
        !theirs.decisions.is_empty(),
        "{target_src}: libbpf logged no decisions"
    );
    let mut pairs = Vec::new();
    for d in &ours.decisions {
        if let Some(want) = theirs.decisions.get(&(d.prog.clone(), d.relo_idx)) {
            pairs.push((want.clone(), our_decision(d)));
        }
    }
    let mismatches: Vec<String> = pairs
        .iter()
        .filter(|(w, g)| !(w == g || (w.starts_with("error") && g.starts_with("error"))))
        .map(|(w, g)| format!("libbpf {w} | btfkit {g}"))
        .collect();
    assert!(
        mismatches.is_empty(),
        "{target_src}:\n{}",
        mismatches.join("\n")
    );
    eprintln!(
        "{target_src}: {} decisions equal to libbpf's: {pairs:?}",
        pairs.len()
    );
    pairs
}

#[test]
fn moved_resized_and_flavored_fields_with_candidate_pruning() {
    let pairs = compare("target_moved.c");
    assert!(
        pairs.len() >= 22,
        "every relocation was decided: {}",
        pairs.len()
    );
    assert!(
        pairs
            .iter()
            .all(|(w, _)| w != "poison" && !w.starts_with("error")),
        "{pairs:?}"
    );
}

#[test]
fn missing_fields_enumerators_and_unsafe_resize_poison_like_libbpf() {
    let pairs = compare("target_missing.c");
    assert!(
        pairs.iter().filter(|(w, _)| w == "poison").count() >= 3,
        "{pairs:?}"
    );
}

#[test]
fn disagreeing_candidates_are_an_error_in_both() {
    let pairs = compare("target_ambiguous.c");
    assert!(
        pairs
            .iter()
            .any(|(w, g)| w.starts_with("error") && g.contains("ambiguity")),
        "{pairs:?}"
    );
}
