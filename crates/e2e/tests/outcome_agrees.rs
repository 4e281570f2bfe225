//! One source of truth for each relocation's outcome: for every object of the
//! test corpora (the libbpf-tools objects, the engine's crafted C programs, the
//! examples and their clang twins) against every kernel BTF of the testdata,
//! the running kernel and the crafted C targets, the instructions `relocate`
//! writes agree with each [`Decision`]'s outcome: poisoned ⇔ `call 0xbad2310`
//! at the site, applied ⇔ the new value (and memory size) at the site, failed
//! ⇔ the site untouched and nothing written.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use btfkit_e2e::corpus;
use btfkit_model::Btf;
use btfkit_object::{BpfObject, Endian, Insn, INSN_SIZE};
use btfkit_reloc::patch::POISON_HELPER;
use btfkit_reloc::{relocate_object, Decision, Outcome, Target};

mod common;

fn reloc_data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../reloc/tests/data")
        .join(name)
}

/// `src` compiled by clang-22 for BPF (with libbpf's headers), as bytes.
fn clang(src: &Path) -> Vec<u8> {
    let name = src.file_name().unwrap().to_string_lossy();
    common::clang_bpf(src, &format!("outcome-{name}.o"), &[])
}

fn insn_at(bytes: &[u8], idx: usize, endian: Endian) -> Option<Insn> {
    let b: [u8; INSN_SIZE] = bytes
        .get(idx * INSN_SIZE..(idx + 1) * INSN_SIZE)?
        .try_into()
        .ok()?;
    Some(Insn::decode(b, endian))
}

fn is_poison(i: &Insn) -> bool {
    i.code == 0x85 && i.src_reg == 0 && i.dst_reg == 0 && i.off == 0 && i.imm == POISON_HELPER
}

fn size_bytes(code: u8) -> u32 {
    match code & 0x18 {
        0x00 => 4,
        0x08 => 2,
        0x10 => 1,
        _ => 8,
    }
}

/// What is wrong with the site of `d` (`before` the relocation, `after` as written), if anything.
fn disagreement(d: &Decision, before: &[u8], after: &[u8], endian: Endian) -> Option<String> {
    let i = d.section_insn;
    let (Some(was), Some(now)) = (insn_at(before, i, endian), insn_at(after, i, endian)) else {
        return Some("site out of range".into());
    };
    let ldimm64 = was.code == 0x18;
    let next_now = insn_at(after, i + 1, endian);
    match &d.outcome {
        Outcome::Poisoned { reason } => {
            if reason.is_empty() {
                return Some("poisoned without a reason".into());
            }
            if !is_poison(&now) || (ldimm64 && !next_now.as_ref().is_some_and(is_poison)) {
                return Some(format!("poisoned, but the site holds {now:?}"));
            }
        }
        Outcome::Applied { new, .. } => {
            if is_poison(&now) {
                return Some("applied, but the site is poisoned".into());
            }
            let ok = match was.code & 0x07 {
                0x04 | 0x07 => now.imm as u32 == *new as u32,
                0x01..=0x03 => {
                    let f = d.fixup.as_ref()?;
                    let size_ok = f.new_sz == f.orig_sz || size_bytes(now.code) == f.new_sz;
                    now.off as u16 as u64 == *new && size_ok
                }
                0x00 => {
                    let hi = next_now?;
                    (now.imm as u32 as u64 | (hi.imm as u32 as u64) << 32) == *new
                }
                _ => false,
            };
            if !ok {
                return Some(format!("applied {new}, but the site holds {now:?}"));
            }
        }
        Outcome::Failed { .. } => {
            if was != now {
                return Some("failed, but the site was changed".into());
            }
        }
    }
    None
}

/// Every (name, object) of the corpora.
fn objects() -> Vec<(String, Vec<u8>)> {
    let mut objects = Vec::new();
    let corpus = corpus::load_or_extract(&corpus::default_cache_dir()).unwrap();
    assert!(
        corpus.len() >= 40,
        "only {} libbpf-tools objects",
        corpus.len()
    );
    for o in corpus {
        objects.push((o.tool.clone(), std::fs::read(&o.path).unwrap()));
    }
    for c in ["rules.bpf.c", "module.bpf.c", "widths.bpf.c", "enums.bpf.c"] {
        objects.push((c.to_string(), clang(&reloc_data(c))));
    }
    for example in ["task-core", "all-queries", "query-cost"] {
        objects.push((example.to_string(), common::build_example(example)));
    }
    // kernel-types (and its twin) build on headers generated at test time (kernel_gen_types.rs).
    for example in ["task-core", "all-queries", "query-cost"] {
        objects.push((
            format!("{example} (clang twin)"),
            common::clang_twin(example),
        ));
    }
    objects
}

/// Every target: (name, BTF bytes, base BTF bytes for a split target).
fn targets() -> Vec<(String, Vec<u8>, Option<Vec<u8>>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/kernel-btf");
    let mut out = vec![(
        "running".to_string(),
        std::fs::read("/sys/kernel/btf/vmlinux").expect("/sys/kernel/btf/vmlinux"),
        None,
    )];
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with("vmlinux") && n.ends_with(".btf"))
        .collect();
    names.sort();
    for n in names {
        out.push((n.clone(), std::fs::read(dir.join(&n)).unwrap(), None));
    }
    out.push((
        "btf_testmod.split.btf".into(),
        std::fs::read(dir.join("btf_testmod.split.btf")).unwrap(),
        Some(std::fs::read(dir.join("btf_testmod.base.btf")).unwrap()),
    ));
    for c in [
        "target_moved.c",
        "target_missing.c",
        "target_ambiguous.c",
        "target_widths.c",
        "target_enums.c",
        "target_enums_ambiguous.c",
    ] {
        let elf = clang(&reloc_data(c));
        out.push((
            c.to_string(),
            btfkit_object::btf_from_elf(&elf).unwrap().to_vec(),
            None,
        ));
    }
    out
}

#[test]
fn written_instructions_agree_with_every_decision() {
    let objects = objects();
    let targets = targets();
    let (mut decisions, mut by_outcome, mut written) = (0usize, [0usize; 3], 0usize);
    let mut wrong = Vec::new();
    for (tname, bytes, base) in &targets {
        let btf = match base {
            None => Btf::parse(bytes).unwrap(),
            Some(b) => Btf::parse_split(bytes, Arc::new(Btf::parse(b).unwrap())).unwrap(),
        };
        let target = Target::new(&btf);
        for (oname, obj) in &objects {
            let r = relocate_object(obj, &target).unwrap_or_else(|e| panic!("{oname}: {e}"));
            let parsed = BpfObject::parse(obj).unwrap();
            let endian = parsed.endian();
            // What `relocate` writes (when nothing failed), else the patched sections.
            let out = btfkit_reloc::write::write_relocated(obj, &r);
            assert_eq!(
                out.is_ok(),
                r.counts().failed == 0,
                "{oname} for {tname}: written iff no relocation failed"
            );
            let out_obj = out.as_ref().ok().map(|b| BpfObject::parse(b).unwrap());
            written += out_obj.is_some() as usize;
            for d in &r.decisions {
                decisions += 1;
                by_outcome[match d.outcome {
                    Outcome::Applied { .. } => 0,
                    Outcome::Poisoned { .. } => 1,
                    Outcome::Failed { .. } => 2,
                }] += 1;
                let before = parsed.program_section_by_name(&d.section).unwrap();
                let after: Vec<u8> = match &out_obj {
                    Some(o) => o
                        .program_section_by_name(&d.section)
                        .unwrap()
                        .insns
                        .to_vec(),
                    None => r
                        .sections
                        .iter()
                        .find(|(i, _)| *i == before.section_index)
                        .map(|(_, b)| b.clone())
                        .unwrap(),
                };
                if let Some(why) = disagreement(d, before.insns, &after, endian) {
                    wrong.push(format!("{oname} for {tname}: {d}: {why}"));
                }
            }
        }
    }
    println!(
        "{} objects x {} targets: {decisions} decisions ({} applied, {} poisoned, {} failed), \
         {written} objects written; {} disagree with the written instructions",
        objects.len(),
        targets.len(),
        by_outcome[0],
        by_outcome[1],
        by_outcome[2],
        wrong.len()
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(by_outcome[1] > 0, "some instruction was poisoned");
}
