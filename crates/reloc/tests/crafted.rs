//! Our own C program exercising every relocation kind, relocated against
//! targets built from C to make libbpf's rules fire — moved and resized
//! fields, flavors, candidate pruning, missing fields and enumerators,
//! a signed field that grows under a load, and disagreeing candidates — by
//! btfkit and by libbpf 1.7. Every decision libbpf logs must be btfkit's too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use btfkit_model::Btf;
use btfkit_reloc::{relocate_object, Target};

mod common;
use common::{clang_with, libbpf_relocate, our_decision};

fn clang(src: &str, out: &str) -> PathBuf {
    clang_with(src, out, &[])
}

/// (libbpf's decision, btfkit's decision) for every relocation libbpf logged.
fn compare(target_src: &str) -> Vec<(String, String)> {
    compare_object("rules.bpf.c", &[], target_src)
}

/// [`compare`] for object `obj_src` compiled with `extra` clang arguments;
/// the instruction slots at every site must be libbpf's, byte for byte.
fn compare_object(obj_src: &str, extra: &[&str], target_src: &str) -> Vec<(String, String)> {
    // One object file per test: the tests run in parallel.
    let flavor = extra.join("");
    let obj = std::fs::read(clang_with(
        obj_src,
        &format!("{obj_src}{flavor}-for-{target_src}.o"),
        extra,
    ))
    .unwrap();
    let target_path = clang(target_src, &format!("{target_src}.o"));
    let target_obj = std::fs::read(&target_path).unwrap();
    let target_btf = Btf::parse(btfkit_object::btf_from_elf(&target_obj).unwrap()).unwrap();
    let ours = relocate_object(&obj, &Target::new(&target_btf)).unwrap();
    let theirs = libbpf_relocate(&obj, &target_path);
    assert!(
        !theirs.decisions.is_empty(),
        "{target_src}: libbpf logged no decisions"
    );
    let parsed = btfkit_object::BpfObject::parse(&obj).unwrap();
    let mut pairs = Vec::new();
    let mut mismatches = Vec::new();
    for d in &ours.decisions {
        let Some(want) = theirs.decisions.get(&(d.prog.clone(), d.relo_idx)) else {
            continue;
        };
        let got = our_decision(d);
        if !(want == &got || (want.starts_with("error") && got.starts_with("error"))) {
            mismatches.push(format!("{d}: libbpf {want} | btfkit {got}"));
        }
        pairs.push((want.clone(), got));
        // The site's bytes (two slots for ld_imm64), ours and libbpf's.
        let (Some(their_prog), false) = (theirs.insns.get(&d.prog), want.starts_with("error"))
        else {
            continue;
        };
        let index = parsed
            .program_section_by_name(&d.section)
            .unwrap()
            .section_index;
        let our_sec = &ours.sections.iter().find(|(i, _)| *i == index).unwrap().1;
        let slots = if our_sec[d.section_insn * 8] == 0x18 {
            2
        } else {
            1
        };
        let mine = &our_sec[d.section_insn * 8..(d.section_insn + slots) * 8];
        let theirs_at = their_prog.get(d.insn * 8..(d.insn + slots) * 8);
        if theirs_at != Some(mine) {
            mismatches.push(format!(
                "{d}: libbpf bytes {theirs_at:02x?} | btfkit {mine:02x?}"
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{obj_src} {extra:?} for {target_src}:\n{}",
        mismatches.join("\n")
    );
    eprintln!(
        "{obj_src} {extra:?} for {target_src}: {} decisions equal to libbpf's, byte for byte: {pairs:?}",
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

/// Loads, stores of a register and stores of an immediate of every width
/// (1, 2, 4, 8 bytes) on fields widened, narrowed, made signed or unsigned, a
/// pointer, a bitfield, a 64-bit enum or missing in the target: resized only
/// between unsigned ints and between pointers, poisoned otherwise, like libbpf.
#[test]
fn loads_and_stores_of_every_width_resize_or_poison_like_libbpf() {
    for cpu in ["-mcpu=v3", "-mcpu=v4"] {
        let pairs = compare_object("widths.bpf.c", &[cpu], "target_widths.c");
        // 21 fields, each loaded, stored from a register and stored as an immediate.
        assert_eq!(pairs.len(), 63, "{cpu}: {pairs:?}");
        let poisoned = pairs.iter().filter(|(w, _)| w == "poison").count();
        let resized = pairs.iter().filter(|(w, _)| w.contains("mem_sz")).count();
        eprintln!("{cpu}: {poisoned} poisoned, {resized} resized");
        assert!(poisoned >= 30 && resized >= 12, "{cpu}: {pairs:?}");
    }
}

/// ENUM and ENUM64 are one kind (libbpf's `btf_kind_core_compat`): local
/// 32-bit and 64-bit enums, signed and unsigned, against targets where each
/// is the other kind or only a flavored copy of the other kind — value,
/// existence, type size, matches and target id like libbpf, byte for byte.
#[test]
fn enum_and_enum64_are_one_kind_like_libbpf() {
    let pairs = compare_object("enums.bpf.c", &[], "target_enums.c");
    assert!(pairs.len() >= 36, "{pairs:?}");
    // Only `amb`'s value is missing (it is not in this target).
    assert_eq!(
        pairs.iter().filter(|(w, _)| w == "poison").count(),
        1,
        "{pairs:?}"
    );
    assert!(
        !pairs.iter().any(|(w, _)| w.starts_with("error")),
        "{pairs:?}"
    );
    // enum64val___diff of the kernel selftests: -101 and -202 from a 32-bit target enum.
    for v in [-101i64, -202] {
        assert!(
            pairs
                .iter()
                .any(|(w, _)| w.ends_with(&format!("-> {}", v as u64))),
            "{v}: {pairs:?}"
        );
    }
}

/// A 32-bit enum beside a flavored ENUM64 copy with another value: two
/// candidates, a decision ambiguity in both engines.
#[test]
fn a_flavored_enum64_copy_is_a_candidate_beside_a_32_bit_enum() {
    let pairs = compare_object("enums.bpf.c", &[], "target_enums_ambiguous.c");
    assert!(
        pairs
            .iter()
            .any(|(w, g)| w.starts_with("error") && g.contains("ambiguity")),
        "{pairs:?}"
    );
}
