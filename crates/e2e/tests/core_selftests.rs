//! btfkit held to libbpf 1.7 on the kernel's own CO-RE test suite (`core_reloc.c` of
//! Debian's `linux-source-6.12`; see `btfkit_e2e::core_selftests`): each case that needs
//! no kernel module, on cpu v2, v3 and v4, is relocated by libbpf (`btf_custom_path` =
//! the case's target) and by btfkit's engine over the same BTF, and every decision is
//! compared (kind, local spec, target spec, outcome, the bytes at the site: both slots
//! of an `ld_imm64`), then the whole case's outcome (relocated, or refused and where).
//! Then the kernel's verdict on both relocated objects (libbpf's loaded by libbpf, btfkit's by
//! btfkit's loader, or for `tp_btf` by libbpf with its CO-RE records cut off) and one run
//! of each, outputs compared with each other and with the selftest's expected bytes.
//! Prints one row per case and cpu; any difference fails the test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use btfkit_e2e::core_selftests::{CaseFiles, Suite};
use btfkit_e2e::libbpf_leg::LibbpfObject;
use btfkit_e2e::libbpf_oracle::{self, OracleResult, Outcome};

const CPUS: [&str; 3] = ["v2", "v3", "v4"];

/// The target BTF bytes of a case: the `.BTF` of a `btf__core_reloc_*` object, or raw BTF.
fn target_bytes(path: &Path) -> Vec<u8> {
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if data.starts_with(b"\x7fELF") {
        let obj = btfkit_object::BpfObject::parse(&data).unwrap();
        obj.btf()
            .unwrap_or_else(|| panic!("{}: no .BTF", path.display()))
            .to_vec()
    } else {
        data
    }
}

/// A spec as libbpf prints it, without the leading `<kind> ` (btfkit's specs omit it).
fn spec_text(spec: &btfkit_e2e::libbpf_oracle::Spec) -> &str {
    spec.text
        .strip_prefix(&format!("<{}> ", spec.kind))
        .unwrap_or(&spec.text)
}

/// The instruction libbpf writes over a poisoned one: `call 0xbad2310`.
const POISON: [u8; 8] = [0x85, 0, 0, 0, 0x10, 0x23, 0xad, 0x0b];

fn imm(slot: &[u8]) -> u32 {
    u32::from_le_bytes([slot[4], slot[5], slot[6], slot[7]])
}

/// Whether `ours` (the site's slots) hold what libbpf's log says it wrote; the difference
/// when not.
fn against_log(outcome: &Outcome, ours: &[u8]) -> Option<String> {
    use btfkit_e2e::libbpf_oracle::PatchField;
    match outcome {
        Outcome::Poisoned { .. } => (ours.chunks(8).next() != Some(&POISON[..]))
            .then(|| format!("libbpf poisoned, btfkit {ours:02x?}")),
        Outcome::Patched(patches) => {
            for p in patches {
                let got = match p.field {
                    PatchField::AluImm => u64::from(imm(ours)),
                    PatchField::MemOff => u64::from(u16::from_le_bytes([ours[2], ours[3]])),
                    PatchField::MemSize => match ours[0] & 0x18 {
                        0x00 => 4,
                        0x08 => 2,
                        0x10 => 1,
                        _ => 8,
                    },
                    PatchField::LdImm64 => {
                        u64::from(imm(ours))
                            | u64::from(imm(ours.get(8..).unwrap_or(&[0; 8]))) << 32
                    }
                };
                let want = match p.field {
                    PatchField::AluImm => p.new & 0xffff_ffff,
                    PatchField::MemOff => p.new & 0xffff,
                    _ => p.new,
                };
                if got != want {
                    return Some(format!("{:?} libbpf {want}, btfkit {got}", p.field));
                }
            }
            None
        }
        other => Some(format!("libbpf {other:?}")),
    }
}

/// One record's comparison.
struct Compared {
    equal: bool,
    /// A readable difference when not equal.
    difference: Option<String>,
}

/// The whole case, one row of the table.
struct Row {
    case: String,
    cpu: String,
    total: usize,
    equal: usize,
    /// libbpf's outcome: `relocated`, or `refused @relo N` (`fails` cases).
    libbpf: String,
    btfkit: String,
    /// The kernel's verdict on libbpf's and on btfkit's relocated object.
    verdicts: (String, String),
    /// The test run: `same` (both wrote the same output), `expected` (and it is the
    /// case's expected output), `-` (no run).
    run: String,
    /// The run's output is the case's expected output.
    as_expected: bool,
    /// A `tp_btf` program (btfkit's object is loaded by libbpf, its CO-RE records cut).
    tp_btf: bool,
    differences: Vec<String>,
}

fn outcome_name(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Patched(_) => "patched",
        Outcome::Poisoned { .. } => "poisoned",
        Outcome::Failed { .. } => "failed",
        Outcome::Unfinished => "unfinished",
    }
}

/// btfkit's outcome of a decision (`patched`, `poisoned`, `failed`) and its note (the
/// only place this test reads the engine's outcome fields).
fn our_outcome(d: &btfkit_reloc::Decision) -> (&'static str, String) {
    match &d.outcome {
        btfkit_reloc::Outcome::Failed { reason } => ("failed", reason.clone()),
        btfkit_reloc::Outcome::Poisoned { reason } => ("poisoned", reason.clone()),
        btfkit_reloc::Outcome::Applied { note, .. } => ("patched", note.clone()),
    }
}

/// Compares one btfkit decision with libbpf's.
fn compare(
    theirs: &OracleResult,
    ours: &btfkit_reloc::Relocated,
    d: &btfkit_reloc::Decision,
    object: &btfkit_object::BpfObject<'_>,
    sites: &BTreeMap<(String, usize), usize>,
) -> Compared {
    let at = format!("{} relo #{} ({})", d.section, d.relo_idx, d.kind);
    let Some(want) = theirs.decision_at(&d.section, d.relo_idx) else {
        return Compared {
            equal: false,
            difference: Some(format!("{at}: libbpf logged no decision")),
        };
    };
    let mut diffs = Vec::new();
    let their_kind = want.decision.kind().unwrap_or("?");
    if their_kind != d.kind.short_name() {
        diffs.push(format!("kind: libbpf {their_kind}, btfkit {}", d.kind));
    }
    let their_local = want.decision.local.as_ref().map(spec_text);
    if their_local != Some(d.local.as_str()) {
        diffs.push(format!(
            "local: libbpf {their_local:?}, btfkit {:?}",
            d.local
        ));
    }
    let their_outcome = outcome_name(&want.decision.outcome);
    let (our_outcome, our_note) = our_outcome(d);
    if their_outcome != our_outcome {
        diffs.push(format!(
            "outcome: libbpf {their_outcome}, btfkit {our_outcome} ({})",
            our_note
        ));
    }
    if their_outcome == "patched" {
        let their_target = want.decision.target().map(spec_text);
        if their_target.is_some() && their_target != d.target.as_deref() {
            diffs.push(format!(
                "target: libbpf {their_target:?}, btfkit {:?}",
                d.target
            ));
        }
    }
    if their_outcome != "failed" && our_outcome != "failed" {
        let off = sites[&(d.section.clone(), d.relo_idx)];
        let section = object.program_section_by_name(&d.section).unwrap();
        let our_section = ours
            .sections
            .iter()
            .find(|(i, _)| *i == section.section_index)
            .map(|(_, b)| b)
            .unwrap();
        let slots = want.original.len().max(1);
        let our_bytes = &our_section[off..off + 8 * slots];
        let their_bytes: Vec<u8> = want.relocated.iter().flatten().copied().collect();
        if their_bytes.is_empty() {
            // libbpf refused the object later on: its log says what it wrote here.
            if let Some(diff) = against_log(&want.decision.outcome, our_bytes) {
                diffs.push(format!("bytes against libbpf's log: {diff}"));
            }
        } else if their_bytes != our_bytes {
            diffs.push(format!(
                "bytes: libbpf {their_bytes:02x?}, btfkit {our_bytes:02x?}"
            ));
        }
    }
    Compared {
        equal: diffs.is_empty(),
        difference: (!diffs.is_empty()).then(|| format!("{at}: {}", diffs.join("; "))),
    }
}

/// (section, record index) → byte offset of the record's instruction in its section.
fn record_sites(object: &[u8]) -> BTreeMap<(String, usize), usize> {
    let parsed = btfkit_object::BpfObject::parse(object).unwrap();
    let btf = btfkit_model::Btf::parse(parsed.btf().unwrap()).unwrap();
    let ext = btfkit_model::BtfExt::parse(parsed.btf_ext().unwrap()).unwrap();
    let mut sites = BTreeMap::new();
    for s in &ext.core_relo.sections {
        let name = btf.name(s.sec_name_off).unwrap().to_owned();
        for (i, r) in s.records.iter().enumerate() {
            sites.insert((name.clone(), i), r.insn_off as usize);
        }
    }
    sites
}

fn relocate_case(files: &CaseFiles) -> Row {
    let bytes = std::fs::read(&files.object).unwrap();
    let target_data = target_bytes(&files.target_btf);
    let target_btf = btfkit_model::Btf::parse(&target_data).unwrap();
    let target = btfkit_reloc::Target::new(&target_btf);
    let theirs = libbpf_oracle::relocate(&files.object, &files.target_btf).unwrap();
    let mut row = Row {
        case: files.case.name.clone(),
        cpu: files.cpu.clone(),
        total: 0,
        equal: 0,
        libbpf: String::new(),
        btfkit: String::new(),
        verdicts: (String::new(), String::new()),
        run: "-".into(),
        as_expected: false,
        tp_btf: !runnable(files),
        differences: Vec::new(),
    };
    let their_failure = theirs
        .decisions
        .iter()
        .find(|d| matches!(d.decision.outcome, Outcome::Failed { .. }));
    row.libbpf = match (&theirs.error, their_failure) {
        (None, _) => "relocated".into(),
        (Some(_), Some(f)) => format!("refused @{} relo #{}", f.decision.program, f.decision.relo),
        (Some(e), None) => format!("error: {e}"),
    };
    let ours = match btfkit_reloc::relocate_object(&bytes, &target) {
        Ok(ours) => ours,
        Err(e) => {
            row.btfkit = format!("error: {e}");
            row.differences
                .push(format!("btfkit refused the object: {e}"));
            return row;
        }
    };
    let our_failure = ours.decisions.iter().find(|d| our_outcome(d).0 == "failed");
    row.btfkit = match our_failure {
        None => "relocated".into(),
        Some(f) => format!("refused @{} relo #{}", f.prog, f.relo_idx),
    };
    if row.btfkit != row.libbpf {
        row.differences.push(format!(
            "case outcome: libbpf {} ({}), btfkit {} ({})",
            row.libbpf,
            their_failure
                .map(|f| format!("{:?}", f.decision.outcome))
                .unwrap_or_default(),
            row.btfkit,
            our_failure.map(|f| our_outcome(f).1).unwrap_or_default()
        ));
    }
    let object = btfkit_object::BpfObject::parse(&bytes).unwrap();
    let sites = record_sites(&bytes);
    assert_eq!(
        ours.decisions.len(),
        sites.len(),
        "{}: one decision per record",
        row.case
    );
    for d in &ours.decisions {
        // libbpf stops at its first failure: later records have no answer to compare.
        if their_failure.is_some() && theirs.decision_at(&d.section, d.relo_idx).is_none() {
            continue;
        }
        row.total += 1;
        let compared = compare(&theirs, &ours, d, &object, &sites);
        if compared.equal {
            row.equal += 1;
        }
        row.differences.extend(compared.difference);
    }
    if theirs.decisions.len() != row.total {
        row.differences.push(format!(
            "libbpf made {} decisions, {} compared",
            theirs.decisions.len(),
            row.total
        ));
    }
    let theirs_run = libbpf_verdict(files, &theirs, &bytes);
    let ours_run = btfkit_verdict(files, &ours, &bytes);
    row.verdicts = (theirs_run.what.clone(), ours_run.what.clone());
    if ours_run.what != theirs_run.what && !ours_run.what.starts_with("not loaded") {
        row.differences.push(format!(
            "verdict: libbpf's object {}, btfkit's {}",
            theirs_run.what, ours_run.what
        ));
    }
    if files.case.fails == (theirs_run.what == "loaded") {
        row.differences.push(format!(
            "the selftest expects fails = {}, libbpf's object was {}",
            files.case.fails, theirs_run.what
        ));
    }
    if let (Some(a), Some(b)) = (&theirs_run.out, &ours_run.out) {
        if a == b {
            row.run = "same".into();
            let want = &files.case.output;
            if !want.is_empty() && !files.case.has_setup && a.get(..want.len()) == Some(want) {
                row.run = "expected".into();
                row.as_expected = true;
            }
        } else {
            row.run = "DIFFERS".into();
            row.differences
                .push(format!("run output: libbpf {a:02x?}, btfkit {b:02x?}"));
        }
    }
    row
}

/// What the kernel made of one relocated object, and what its program wrote.
struct Verdict {
    /// `loaded`, `refused (CO-RE)`, `rejected by the kernel`, `not loaded: ...`.
    what: String,
    /// `data.out` (and `data.skip`) after one `BPF_PROG_TEST_RUN`, if run.
    out: Option<Vec<u8>>,
}

/// The program's `data` global: its size (513 bytes, or 528 with `my_pid_tgid`).
fn data_size(object: &[u8]) -> usize {
    let parsed = btfkit_object::BpfObject::parse(object).unwrap();
    parsed
        .symbols()
        .iter()
        .find(|s| s.name == "data")
        .map(|s| s.size as usize)
        .expect("the program has a `data` global")
}

/// `bpf_get_current_pid_tgid()` of this thread: tgid << 32 | tid.
fn pid_tgid() -> u64 {
    let link = std::fs::read_link("/proc/thread-self").unwrap();
    let tid: u64 = link.file_name().unwrap().to_string_lossy().parse().unwrap();
    u64::from(std::process::id()) << 32 | tid
}

/// The `data` global as the selftest sets it: the case's input, `my_pid_tgid`.
fn data_image(size: usize, case: &btfkit_e2e::core_selftests::Case) -> Vec<u8> {
    let mut image = vec![0u8; size];
    let n = case.input.len().min(256);
    image[..n].copy_from_slice(&case.input[..n]);
    if size >= 528 {
        image[520..528].copy_from_slice(&pid_tgid().to_ne_bytes());
    }
    image
}

/// `data.out` (and `data.skip`, where the program has it) from the `data` bytes.
fn out_of(data: &[u8]) -> Vec<u8> {
    data.get(256..data.len().min(513))
        .map(<[u8]>::to_vec)
        .unwrap_or_default()
}

/// Whether the selftest runs the program with a raw tracepoint (test-runnable here).
fn runnable(files: &CaseFiles) -> bool {
    files.case.raw_tp_name.is_some()
}

/// libbpf's object (relocated against the case's target) loaded and run.
fn libbpf_verdict(files: &CaseFiles, theirs: &OracleResult, bytes: &[u8]) -> Verdict {
    if theirs.error.is_some() {
        return Verdict {
            what: "refused (CO-RE)".into(),
            out: None,
        };
    }
    let mut leg = LibbpfObject::open_with_target(bytes, "core_reloc", &files.target_btf)
        .unwrap_or_else(|e| panic!("{}: libbpf open: {e}", files.case.name));
    if leg.load().is_err() {
        return Verdict {
            what: "rejected by the kernel".into(),
            out: None,
        };
    }
    let mut verdict = Verdict {
        what: "loaded".into(),
        out: None,
    };
    verdict.out = Some(run_with_libbpf(files, &mut leg, bytes));
    verdict
}

/// Sets `data` as the selftest does, runs the program once (`BPF_PROG_TEST_RUN` for a
/// raw tracepoint; attached and triggered by a syscall for `tp_btf`) and returns
/// `data.out`.
fn run_with_libbpf(files: &CaseFiles, leg: &mut LibbpfObject, bytes: &[u8]) -> Vec<u8> {
    let name = &files.case.name;
    leg.write_global("data", &data_image(data_size(bytes), &files.case))
        .unwrap();
    if runnable(files) {
        leg.test_run(&files.case.prog_name)
            .unwrap_or_else(|e| panic!("{name}: libbpf test run: {e}"));
    } else {
        leg.attach(&files.case.prog_name)
            .unwrap_or_else(|e| panic!("{name}: libbpf attach: {e}"));
        // Any task's syscall runs it (the selftest's usleep(1)); the output depends
        // only on the input.
        std::thread::sleep(std::time::Duration::from_micros(1));
    }
    out_of(&leg.read_global("data").unwrap())
}

/// `object` with its `.BTF.ext` CO-RE records cut off (`core_relo_len` = 0), so that
/// libbpf loads its instructions as they are.
fn without_core_relos(object: &[u8]) -> Vec<u8> {
    let parsed = btfkit_object::BpfObject::parse(object).unwrap();
    let ext = parsed.btf_ext().unwrap();
    let at = ext.as_ptr() as usize - object.as_ptr() as usize;
    let hdr_len = u32::from_le_bytes(ext[4..8].try_into().unwrap());
    assert!(hdr_len >= 32, ".BTF.ext header without core_relo fields");
    let mut out = object.to_vec();
    out[at + 28..at + 32].copy_from_slice(&0u32.to_le_bytes());
    out
}

/// btfkit's relocated object loaded by btfkit's loader and run.
fn btfkit_verdict(files: &CaseFiles, ours: &btfkit_reloc::Relocated, bytes: &[u8]) -> Verdict {
    let Ok(object) = btfkit_reloc::write::write_relocated(bytes, ours) else {
        return Verdict {
            what: "refused (CO-RE)".into(),
            out: None,
        };
    };
    let loaded = match btfkit_loader::LoadedObject::load(&object) {
        Ok(loaded) => loaded,
        Err(btfkit_loader::Error::Unsupported(what)) if what.contains("tp_btf") => {
            // btfkit's loader has no tp_btf: libbpf loads btfkit's instructions, its
            // own CO-RE step left nothing to do.
            let stripped = without_core_relos(&object);
            let mut leg = LibbpfObject::open(&stripped, "core_reloc_btfkit")
                .unwrap_or_else(|e| panic!("{}: libbpf open: {e}", files.case.name));
            if leg.load().is_err() {
                return Verdict {
                    what: "rejected by the kernel".into(),
                    out: None,
                };
            }
            assert!(
                !leg.log().contains("CO-RE relocating"),
                "{}: libbpf relocated btfkit's object again",
                files.case.name
            );
            return Verdict {
                what: "loaded".into(),
                out: Some(run_with_libbpf(files, &mut leg, bytes)),
            };
        }
        Err(btfkit_loader::Error::Unsupported(what)) => {
            return Verdict {
                what: format!("not loaded: {what}"),
                out: None,
            }
        }
        Err(_) => {
            return Verdict {
                what: "rejected by the kernel".into(),
                out: None,
            }
        }
    };
    let mut verdict = Verdict {
        what: "loaded".into(),
        out: None,
    };
    if runnable(files) {
        let bss = loaded.map(".bss").unwrap();
        let mut image = bss.read().unwrap();
        let data = data_image(data_size(bytes), &files.case);
        image[..data.len()].copy_from_slice(&data);
        bss.write(&image).unwrap();
        loaded
            .program(&files.case.prog_name)
            .unwrap()
            .test_run()
            .unwrap_or_else(|e| panic!("{}: btfkit test run: {e}", files.case.name));
        verdict.out = Some(out_of(&bss.read().unwrap()));
    }
    verdict
}

#[test]
fn btfkit_decides_every_core_selftest_case_like_libbpf() {
    assert!(
        btfkit_loader::running_as_root(),
        "the CO-RE selftests load programs into the running kernel: run as root"
    );
    let started = Instant::now();
    let suite = Suite::prepare(&CPUS).unwrap_or_else(|e| {
        panic!(
            "the kernel's CO-RE selftests could not be prepared (they come from Debian's \
             linux-source-6.12 package, cached in {}): {e}",
            btfkit_e2e::core_selftests::cache_dir().display()
        )
    });
    let t = suite.timings;
    println!(
        "suite: {} cases; download {:.1?}, extract {:.1?}, compile {:.1?} ({} objects compiled)",
        suite.cases.len(),
        t.download,
        t.extract,
        t.compile,
        t.compiled
    );
    assert_eq!(suite.cases.len(), 77, "core_reloc.c has 77 cases");
    let module_cases: Vec<&str> = suite
        .cases
        .iter()
        .filter(|c| c.needs_testmod)
        .map(|c| c.name.as_str())
        .collect();
    for name in &module_cases {
        println!("{name:<40} needs bpf_testmod (VM): not run here");
    }
    assert_eq!(module_cases.len(), 2);

    let mut rows = Vec::new();
    for cpu in CPUS {
        let cases = suite.case_files(cpu).unwrap();
        assert_eq!(cases.len(), 75);
        for files in &cases {
            rows.push(relocate_case(files));
        }
    }
    println!(
        "{:<44} {:<4} {:>9}  {:<28} {:<28} {:<24} {:<24} run",
        "case", "cpu", "equal", "libbpf", "btfkit", "kernel: libbpf's", "kernel: btfkit's"
    );
    let (mut total, mut equal, mut cases_equal) = (0, 0, 0);
    for row in &rows {
        total += row.total;
        equal += row.equal;
        if row.differences.is_empty() {
            cases_equal += 1;
        }
        println!(
            "{:<44} {:<4} {:>4}/{:<4}  {:<28} {:<28} {:<24} {:<24} {}{}",
            row.case,
            row.cpu,
            row.equal,
            row.total,
            row.libbpf,
            row.btfkit,
            row.verdicts.0,
            row.verdicts.1,
            row.run,
            if row.differences.is_empty() {
                ""
            } else {
                "  DIFFERS"
            }
        );
    }
    let differences: Vec<String> = rows
        .iter()
        .flat_map(|r| {
            r.differences
                .iter()
                .map(move |d| format!("{} [{}]: {d}", r.case, r.cpu))
        })
        .collect();
    let count = |f: &dyn Fn(&Row) -> bool| rows.iter().filter(|r| f(r)).count();
    println!(
        "cases equal {cases_equal}/{}; decisions equal {equal}/{total}; kernel verdicts equal \
         {}/{} (tp_btf, which btfkit's loader lacks: btfkit's object loaded by libbpf with its \
         CO-RE records cut off: {}); runs with the same output {}/{}, of \
         which the selftest's expected output {}; {:.1?} in all",
        rows.len(),
        count(&|r| r.verdicts.0 == r.verdicts.1),
        rows.len(),
        count(&|r| r.tp_btf),
        count(&|r| r.run == "same" || r.run == "expected"),
        count(&|r| r.run != "-"),
        count(&|r| r.as_expected),
        started.elapsed()
    );
    assert!(
        differences.is_empty(),
        "{} differences from libbpf:\n{}",
        differences.len(),
        differences.join("\n")
    );
}
