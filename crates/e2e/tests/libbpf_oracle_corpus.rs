//! The libbpf oracle over the real CO-RE corpus: every BPF object embedded in Debian's
//! libbpf-tools, relocated by libbpf 1.7 against the running kernel's BTF and three
//! other kernels' BTF. Checks that the oracle's answer is sane (one decision per
//! core_relo record, each patched or poisoned, relocated bytes that agree with libbpf's
//! log) and prints a table; libbpf's own failures are listed, not hidden.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use btfkit_e2e::corpus::{self, CorpusObject};
use btfkit_e2e::libbpf_oracle::{self, CoreDecision, OracleResult, Outcome, PatchField};

/// The instruction libbpf writes over a poisoned one: `call 0xbad2310`.
const POISON: [u8; 8] = [0x85, 0, 0, 0, 0x10, 0x23, 0xad, 0x0b];

/// The target BTFs: the running kernel's and the test data's, by short name.
fn kernels() -> Vec<(String, PathBuf)> {
    btfkit_testkit::data::vmlinux_targets()
        .into_iter()
        .map(|(name, path)| {
            let label = name.trim_start_matches("vmlinux-").trim_end_matches(".btf");
            (label.to_owned(), path)
        })
        .collect()
}

/// The number of core_relo records per ELF section of `object`, read by btfkit.
fn core_relo_counts(object: &Path) -> BTreeMap<String, usize> {
    let bytes = std::fs::read(object).unwrap();
    let parsed = btfkit_object::BpfObject::parse(&bytes).unwrap();
    let Some(ext) = parsed.btf_ext() else {
        return BTreeMap::new();
    };
    let btf = btfkit_model::Btf::parse(parsed.btf().unwrap()).unwrap();
    let ext = btfkit_model::BtfExt::parse(ext).unwrap();
    ext.core_relo
        .sections
        .iter()
        .map(|s| {
            let name = btf.name(s.sec_name_off).unwrap().to_owned();
            (name, s.records.len())
        })
        .collect()
}

fn i16_at(bytes: &[u8; 8], at: usize) -> i16 {
    i16::from_le_bytes([bytes[at], bytes[at + 1]])
}

fn i32_at(bytes: &[u8; 8], at: usize) -> i32 {
    i32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// The relocated bytes say what the log says. Returns false when the site's bytes are
/// unknown (a subprogram no program calls).
fn check_bytes(what: &str, d: &CoreDecision) -> bool {
    if d.relocated.is_empty() {
        return false;
    }
    assert_eq!(
        d.relocated.len(),
        d.original.len(),
        "{what}: slots before/after differ: {d:?}"
    );
    match &d.decision.outcome {
        Outcome::Poisoned { .. } => {
            assert!(
                d.relocated.iter().all(|slot| *slot == POISON),
                "{what}: {d:?}"
            );
        }
        Outcome::Patched(patches) => {
            let slot = &d.relocated[0];
            for patch in patches {
                match patch.field {
                    PatchField::AluImm => {
                        assert_eq!(i32_at(slot, 4) as u32, patch.new as u32, "{what}: {d:?}")
                    }
                    PatchField::MemOff => {
                        assert_eq!(i16_at(slot, 2) as u16 as u64, patch.new, "{what}: {d:?}")
                    }
                    PatchField::MemSize => {
                        let size = match slot[0] & 0x18 {
                            0x00 => 4,
                            0x08 => 2,
                            0x10 => 1,
                            _ => 8,
                        };
                        assert_eq!(size, patch.new, "{what}: {d:?}");
                    }
                    PatchField::LdImm64 => {
                        let low = i32_at(slot, 4) as u32 as u64;
                        let high = i32_at(&d.relocated[1], 4) as u32 as u64;
                        assert_eq!(low | high << 32, patch.new, "{what}: {d:?}");
                    }
                }
            }
            // Nothing but the patched fields changed: same opcode class and registers.
            assert_eq!(slot[0] & 0x07, d.original[0][0] & 0x07, "{what}: {d:?}");
            assert_eq!(
                slot[1], d.original[0][1],
                "{what}: registers changed: {d:?}"
            );
        }
        other => panic!("{what}: bytes for an unfinished decision {other:?}"),
    }
    true
}

struct Row {
    tool: String,
    kernel: String,
    relocations: usize,
    patched: usize,
    poisoned: usize,
    failed: usize,
    changed: usize,
    unlocated: usize,
    error: Option<String>,
}

/// Checks one result; returns its table row.
fn check(
    object: &CorpusObject,
    kernel: &str,
    expected: &BTreeMap<String, usize>,
    result: &OracleResult,
) -> Row {
    let what = format!("{} against {kernel}", object.path.display());
    let counts = result.counts();
    let expected_total: usize = expected.values().sum();
    let mut unlocated = 0;
    match &result.error {
        None => {
            assert!(!result.programs.is_empty(), "{what}: no programs");
            // One decision per record, per section.
            let mut seen: BTreeMap<String, usize> = BTreeMap::new();
            for d in &result.decisions {
                *seen
                    .entry(d.decision.section.clone().unwrap_or_default())
                    .or_default() += 1;
            }
            assert_eq!(
                &seen, expected,
                "{what}: decisions per section != core_relo records"
            );
            assert_eq!(
                counts.patched + counts.poisoned,
                counts.total,
                "{what}: {counts:?}"
            );
            for d in &result.decisions {
                assert!(d.decision.local.is_some(), "{what}: no local spec: {d:?}");
                assert!(
                    d.section_insn.is_some() && !d.original.is_empty(),
                    "{what}: site unknown: {d:?}"
                );
                if !check_bytes(&what, d) {
                    unlocated += 1;
                }
            }
        }
        Some(error) => {
            // libbpf's failure is the answer; it must be explained in its log.
            assert!(!result.log.is_empty(), "{what}: {error} with an empty log");
            assert!(
                counts.total <= expected_total,
                "{what}: {counts:?} > {expected_total}"
            );
        }
    }
    Row {
        tool: object.tool.clone(),
        kernel: kernel.to_owned(),
        relocations: expected_total,
        patched: counts.patched,
        poisoned: counts.poisoned,
        failed: counts.failed,
        changed: result
            .decisions
            .iter()
            .filter(|d| {
                d.decision
                    .value_change()
                    .is_some_and(|(old, new)| old != new)
            })
            .count(),
        unlocated,
        error: result.error.clone(),
    }
}

#[test]
fn libbpf_oracle_over_libbpf_tools() {
    let kernels = kernels();
    let started = Instant::now();
    let corpus = corpus::load_or_extract(&corpus::default_cache_dir()).unwrap();
    let extraction = started.elapsed();
    let tools: std::collections::BTreeSet<_> = corpus.iter().map(|o| o.tool.as_str()).collect();
    assert!(
        tools.len() >= 40 && corpus.len() >= tools.len(),
        "only {} objects from {} libbpf-tools binaries",
        corpus.len(),
        tools.len()
    );
    let expected: Vec<BTreeMap<String, usize>> =
        corpus.iter().map(|o| core_relo_counts(&o.path)).collect();
    let total_records: usize = expected.iter().flat_map(|e| e.values()).sum();
    println!(
        "corpus: {} objects from {} tools, {} core_relo records (extracted/loaded in {:?})",
        corpus.len(),
        tools.len(),
        total_records,
        extraction
    );

    let mut rows = Vec::new();
    let mut times: Vec<(String, Duration)> = Vec::new();
    for (kernel, btf) in &kernels {
        let started = Instant::now();
        for (object, expected) in corpus.iter().zip(&expected) {
            let result = libbpf_oracle::relocate(&object.path, btf).unwrap();
            rows.push(check(object, kernel, expected, &result));
        }
        times.push((kernel.clone(), started.elapsed()));
    }

    println!(
        "{:<16} {:<14} {:>6} {:>7} {:>8} {:>6} {:>7} {:>9}  error",
        "object", "kernel", "relos", "patched", "poisoned", "failed", "changed", "unlocated"
    );
    for row in &rows {
        println!(
            "{:<16} {:<14} {:>6} {:>7} {:>8} {:>6} {:>7} {:>9}  {}",
            row.tool,
            row.kernel,
            row.relocations,
            row.patched,
            row.poisoned,
            row.failed,
            row.changed,
            row.unlocated,
            row.error.as_deref().unwrap_or("")
        );
    }
    for (kernel, time) in &times {
        let of_kernel: Vec<&Row> = rows.iter().filter(|r| &r.kernel == kernel).collect();
        println!(
            "{kernel}: {} objects in {time:?}; patched {} (value changed {}), poisoned {}, failed {}, \
             libbpf errors {}",
            of_kernel.len(),
            of_kernel.iter().map(|r| r.patched).sum::<usize>(),
            of_kernel.iter().map(|r| r.changed).sum::<usize>(),
            of_kernel.iter().map(|r| r.poisoned).sum::<usize>(),
            of_kernel.iter().map(|r| r.failed).sum::<usize>(),
            of_kernel.iter().filter(|r| r.error.is_some()).count(),
        );
    }
    // The corpus was compiled against other kernels' headers: every target moves fields.
    for (kernel, _) in &times {
        let changed: usize = rows
            .iter()
            .filter(|r| &r.kernel == kernel)
            .map(|r| r.changed)
            .sum();
        assert!(changed > 0, "{kernel}: libbpf changed no value at all");
    }
    let running_errors: Vec<&Row> = rows
        .iter()
        .filter(|r| r.kernel == "running" && r.error.is_some())
        .collect();
    // The tools are meant to run on any kernel; against the running one every object
    // should prepare.
    assert!(
        running_errors.is_empty(),
        "libbpf failed on the running kernel for: {:?}",
        running_errors
            .iter()
            .map(|r| (&r.tool, &r.error))
            .collect::<Vec<_>>()
    );
}

/// The first corpus object that has core_relo records in a subprogram (`.text`) and a
/// map, so both non-CO-RE steps show.
fn object_with_subprogram_relocations() -> CorpusObject {
    let corpus = corpus::load_or_extract(&corpus::default_cache_dir()).unwrap();
    corpus
        .into_iter()
        .find(|o| core_relo_counts(&o.path).contains_key(".text"))
        .expect("no libbpf-tools object has CO-RE relocations in .text")
}

/// Creating maps changes map `ld_imm64`s but no CO-RE site: the CO-RE bytes are the
/// same either way, and the programs differ only in `ld_imm64` slots.
#[test]
fn core_sites_do_not_depend_on_map_creation() {
    let object = object_with_subprogram_relocations();
    let btf = Path::new("/sys/kernel/btf/vmlinux");
    assert!(
        btf.is_file(),
        "the running kernel has no BTF at {}",
        btf.display()
    );
    let plain = libbpf_oracle::relocate(&object.path, btf).unwrap();
    let options = libbpf_oracle::OracleOptions { create_maps: true };
    let with_maps = libbpf_oracle::relocate_with(&object.path, btf, &options).unwrap();
    assert_eq!(plain.error, None, "{}", plain.log);
    assert_eq!(with_maps.error, None, "{}", with_maps.log);
    assert!(plain
        .decisions
        .iter()
        .any(|d| d.decision.section.as_deref() == Some(".text")));
    assert_eq!(plain.decisions.len(), with_maps.decisions.len());
    for (a, b) in plain.decisions.iter().zip(&with_maps.decisions) {
        assert_eq!(a.relocated, b.relocated, "{:?}", a.decision);
        assert!(!a.relocated.is_empty(), "{:?}", a.decision);
    }
    let mut differing = 0;
    for (a, b) in plain.programs.iter().zip(&with_maps.programs) {
        assert_eq!(a.name, b.name);
        assert_eq!(a.insns.len(), b.insns.len());
        for (index, (x, y)) in a.insns.iter().zip(&b.insns).enumerate() {
            if x != y {
                differing += 1;
                // With maps created, the slot is one of a real `ld_imm64`'s two.
                let in_ld_imm64 =
                    b.insns[index][0] == 0x18 || (index > 0 && b.insns[index - 1][0] == 0x18);
                assert!(
                    in_ld_imm64,
                    "{}: slot {index} differs and is no ld_imm64: {x:02x?} / {y:02x?}",
                    a.name
                );
            }
        }
    }
    assert!(
        differing > 0,
        "no map reference differs: were maps created?"
    );
}

/// A target BTF libbpf cannot parse is libbpf's answer (an error and its log), not a
/// crash.
#[test]
fn unreadable_target_btf_is_reported() {
    let object = object_with_subprogram_relocations();
    let bad = std::env::temp_dir().join(format!("btfkit-bad-{}.btf", std::process::id()));
    std::fs::write(&bad, [0x9fu8, 0xeb, 1, 0, 24, 0, 0, 0]).unwrap();
    let result = libbpf_oracle::relocate(&object.path, &bad).unwrap();
    std::fs::remove_file(&bad).unwrap();
    let error = result.error.expect("libbpf accepted a truncated BTF");
    assert!(error.starts_with("bpf_object__prepare"), "{error}");
    assert!(
        result.log.contains("failed to parse target BTF"),
        "{}",
        result.log
    );
    assert!(result.programs.is_empty());
    assert!(result.decisions.is_empty());
}

/// One core_relo record of an object: (section, index in the section) → byte
/// offset of its instruction in that section.
fn record_sites(object: &[u8]) -> BTreeMap<(String, usize), u64> {
    let parsed = btfkit_object::BpfObject::parse(object).unwrap();
    let Some(ext) = parsed.btf_ext() else {
        return BTreeMap::new();
    };
    let btf = btfkit_model::Btf::parse(parsed.btf().unwrap()).unwrap();
    let ext = btfkit_model::BtfExt::parse(ext).unwrap();
    let mut sites = BTreeMap::new();
    for s in &ext.core_relo.sections {
        let name = btf.name(s.sec_name_off).unwrap().to_owned();
        for (i, r) in s.records.iter().enumerate() {
            sites.insert((name.clone(), i), u64::from(r.insn_off));
        }
    }
    sites
}

/// btfkit's engine against libbpf over the whole corpus and every kernel: for
/// every core_relo record, the same outcome (patched, poisoned, failed) and
/// the same bytes at the relocated site (one slot, two for `ld_imm64`). Sites
/// in subprograms are found through the oracle's func_info mapping.
#[test]
fn btfkit_engine_decides_every_record_like_libbpf() {
    let kernels = kernels();
    let corpus = corpus::load_or_extract(&corpus::default_cache_dir()).unwrap();
    assert!(corpus.len() >= 40, "only {} objects", corpus.len());
    let mut mismatches = Vec::new();
    let mut rows = Vec::new();
    for (kernel, btf_path) in &kernels {
        let data = std::fs::read(btf_path).unwrap();
        let target_btf = btfkit_model::Btf::parse(&data).unwrap();
        // One target for all objects: its indexes are built once.
        let target = btfkit_reloc::Target::new(&target_btf);
        let (mut records, mut same_bytes, mut against_log, mut poisoned) = (0, 0, 0, 0);
        let (mut failed, mut after_libbpf_stop) = (0, 0);
        for object in &corpus {
            let bytes = std::fs::read(&object.path).unwrap();
            let sites = record_sites(&bytes);
            records += sites.len();
            let theirs = libbpf_oracle::relocate(&object.path, btf_path).unwrap();
            let ours = btfkit_reloc::relocate_object(&bytes, &target)
                .unwrap_or_else(|e| panic!("{}: btfkit: {e}", object.tool));
            let parsed = btfkit_object::BpfObject::parse(&bytes).unwrap();
            let what =
                |sec: &str, relo: usize| format!("{kernel} {} {sec} relo #{relo}", object.tool);
            for d in &ours.decisions {
                let Some(want) = theirs.decision_at(&d.section, d.relo_idx) else {
                    // libbpf stops at its first failure; later records have no answer.
                    assert!(
                        theirs.error.is_some(),
                        "{}: libbpf logged no decision",
                        what(&d.section, d.relo_idx)
                    );
                    after_libbpf_stop += 1;
                    continue;
                };
                let ours_outcome = match d.outcome {
                    btfkit_reloc::Outcome::Failed { .. } => "failed",
                    btfkit_reloc::Outcome::Poisoned { .. } => "poisoned",
                    btfkit_reloc::Outcome::Applied { .. } => "patched",
                };
                let their_outcome = match want.decision.outcome {
                    Outcome::Patched(_) => "patched",
                    Outcome::Poisoned { .. } => "poisoned",
                    Outcome::Failed { .. } => "failed",
                    Outcome::Unfinished => "unfinished",
                };
                if ours_outcome != their_outcome {
                    mismatches.push(format!(
                        "{}: libbpf {their_outcome}, btfkit {ours_outcome} ({d})",
                        what(&d.section, d.relo_idx)
                    ));
                    continue;
                }
                match ours_outcome {
                    "failed" => {
                        failed += 1;
                        continue;
                    }
                    "poisoned" => poisoned += 1,
                    _ => {}
                }
                // The site's bytes after both engines.
                let off = sites[&(d.section.clone(), d.relo_idx)] as usize;
                let section = parsed.program_section_by_name(&d.section).unwrap();
                let our_section = ours
                    .sections
                    .iter()
                    .find(|(i, _)| *i == section.section_index)
                    .map(|(_, b)| b)
                    .unwrap();
                let slots = want.original.len();
                let ours_bytes = &our_section[off..off + 8 * slots];
                if want.relocated.is_empty() {
                    // A subprogram no program calls: libbpf relocated it (its
                    // log says how) but its bytes are in no prepared program.
                    // Our bytes must say what libbpf's log says.
                    let mut mine = want.clone();
                    mine.relocated = ours_bytes
                        .chunks_exact(8)
                        .map(|c| c.try_into().unwrap())
                        .collect();
                    assert!(check_bytes(&what(&d.section, d.relo_idx), &mine));
                    against_log += 1;
                    continue;
                }
                let theirs_bytes: Vec<u8> = want.relocated.iter().flatten().copied().collect();
                if ours_bytes == theirs_bytes.as_slice() {
                    same_bytes += 1;
                } else {
                    mismatches.push(format!(
                        "{}: libbpf {:02x?} | btfkit {:02x?}",
                        what(&d.section, d.relo_idx),
                        theirs_bytes,
                        ours_bytes
                    ));
                }
            }
            assert_eq!(
                ours.decisions.len(),
                sites.len(),
                "{}: btfkit decided every record",
                object.tool
            );
        }
        rows.push(format!(
            "{kernel:<16} objects {:>3}  records {records:>4}  same bytes {same_bytes:>4}  \
             same as libbpf's log (uncalled subprograms) {against_log:>3}  (poisoned {poisoned:>3})  \
             failed in both {failed}  after a libbpf stop {after_libbpf_stop}",
            corpus.len()
        ));
    }
    for row in &rows {
        println!("{row}");
    }
    assert!(
        mismatches.is_empty(),
        "{} differences from libbpf:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}
