//! btfkit's engine against libbpf 1.7 (libbpf-sys, vendored) on several
//! kernels: every libbpf-tools object is relocated for each kernel BTF by
//! libbpf (`btf_custom_path` + `bpf_object__prepare`, which relocates without
//! loading programs) and by btfkit. For every CO-RE record: the same decision
//! as libbpf's debug log states, and the same final instruction bytes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::path::PathBuf;

use btfkit_model::Btf;
use btfkit_reloc::{relocate_object, Target};

mod common;
use common::{libbpf_relocate, our_decision};

fn kernels() -> Vec<PathBuf> {
    btfkit_testkit::data::vmlinux_targets()
        .into_iter()
        .map(|(_, path)| path)
        .collect()
}

#[test]
fn libbpf_tools_on_four_kernels_match_libbpf_instruction_for_instruction() {
    let objects: Vec<(String, Vec<u8>)> = btfkit_testkit::data::libbpf_tools_objects()
        .into_iter()
        .map(|o| (o.tool, o.bytes))
        .collect();
    assert!(
        objects.len() >= 50,
        "found {} libbpf-tools objects",
        objects.len()
    );
    let mut mismatches = Vec::new();
    let mut table = Vec::new();
    for kernel_path in kernels() {
        let data = std::fs::read(&kernel_path)
            .unwrap_or_else(|e| panic!("{}: {e}", kernel_path.display()));
        let kernel = Btf::parse(&data).unwrap();
        let target = Target::new(&kernel);
        let (mut compared, mut relos, mut same_insn, mut skipped, mut poisoned) = (0, 0, 0, 0, 0);
        for (tool, obj) in &objects {
            let ours = relocate_object(obj, &target).unwrap_or_else(|e| panic!("{tool}: {e}"));
            if ours.decisions.is_empty() {
                continue;
            }
            let theirs = libbpf_relocate(obj, &kernel_path);
            if theirs.decisions.is_empty() {
                skipped += 1;
                continue;
            }
            compared += 1;
            let our_sections: HashMap<usize, &Vec<u8>> =
                ours.sections.iter().map(|(i, b)| (*i, b)).collect();
            let parsed = btfkit_object::BpfObject::parse(obj).unwrap();
            for d in &ours.decisions {
                let key = (d.prog.clone(), d.relo_idx);
                let Some(want) = theirs.decisions.get(&key) else {
                    continue;
                };
                relos += 1;
                let got = our_decision(d);
                if got == "poison" {
                    poisoned += 1;
                }
                let same = got == *want || (want.starts_with("error") && got.starts_with("error"));
                if !same {
                    mismatches.push(format!(
                        "{} {tool} prog '{}' relo #{}: libbpf {want} | btfkit {got}",
                        kernel_path.display(),
                        d.prog,
                        d.relo_idx
                    ));
                    continue;
                }
                // Instruction for instruction: our patched bytes vs libbpf's final program.
                let Some(sec) = parsed.program_section_by_name(&d.section) else {
                    continue;
                };
                let Some(func) = sec.function(&d.prog) else {
                    continue;
                };
                let (Some(lib), Some(our)) = (
                    theirs.insns.get(&d.prog),
                    our_sections.get(&sec.section_index),
                ) else {
                    continue;
                };
                let at = func.offset as usize + d.insn * 8;
                let (lib_insn, our_insn) =
                    (lib.get(d.insn * 8..d.insn * 8 + 8), our.get(at..at + 8));
                if lib_insn == our_insn {
                    same_insn += 1;
                } else {
                    mismatches.push(format!(
                        "{} {tool} prog '{}' insn #{}: libbpf {:02x?} | btfkit {:02x?}",
                        kernel_path.display(),
                        d.prog,
                        d.insn,
                        lib_insn,
                        our_insn
                    ));
                }
            }
        }
        table.push(format!(
            "{:<60} objects {compared:>3}  relocations {relos:>4}  same insn {same_insn:>4}  poisoned {poisoned:>3}  skipped {skipped}",
            kernel_path.display()
        ));
    }
    for row in &table {
        eprintln!("{row}");
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
