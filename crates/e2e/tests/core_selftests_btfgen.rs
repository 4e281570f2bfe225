//! The kernel CO-RE selftests' `btfgen` variant (`core_reloc.c`'s `test_core_btfgen`),
//! with btfkit's tailored BTF beside bpftool's: for each case that needs no kernel
//! module (cpu v3), the case's target BTF is tailored to the case's object two ways —
//! `bpftool gen min_core_btf TARGET OUT OBJECT` (what the selftest runs) and
//! `btfkit_minbtf::tailor_bytes` — and the object is relocated by libbpf 1.7
//! (`btf_custom_path`) and by btfkit's engine against the full target and each
//! tailored one. Every decision must equal the full target's (target type ids and raw
//! indices excepted; `btfkit_e2e::tailored_view`), and so must libbpf's verdict on the
//! whole object. The selftest skips the cases marked `run_btfgen_fails`; btfkit's file
//! must serve them too. Prints one row per case.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use btfkit_e2e::core_selftests::{CaseFiles, Suite};
use btfkit_e2e::libbpf_oracle::{self, OracleResult};
use btfkit_e2e::tailored_view::{engine_view, libbpf_decision_view, libbpf_view};
use btfkit_minbtf::Output;
use btfkit_model::Btf;
use btfkit_reloc::relocate::{relocate_object, Target};

/// The cpu version the cases are compiled for: v2 and v4 give the same decisions
/// here (the relocations do not depend on the instruction set; measured).
const CPU: &str = "v3";

/// Raw BTF of a target file: the `.BTF` of a `btf__core_reloc_*` object, or raw BTF.
fn raw_btf(path: &Path) -> Vec<u8> {
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if data.starts_with(b"\x7fELF") {
        btfkit_object::btf_from_elf(&data)
            .unwrap_or_else(|e| panic!("{}: no .BTF: {e}", path.display()))
            .to_vec()
    } else {
        data
    }
}

/// Who tailored the file, and what its comparison leaves out.
#[derive(Clone, Copy, PartialEq)]
enum By {
    /// `bpftool gen min_core_btf`: it keeps one of several compatible duplicate
    /// candidates, so libbpf's count of matching candidates is not compared.
    Bpftool,
    /// btfkit: the relocations it reports as failing on the full target (a failure is
    /// reported, not reproduced) are left out.
    Btfkit,
}

/// The relocations (section, record index) btfkit reports as failing on the full target.
type Failing = Vec<(String, usize)>;

/// The first difference between libbpf's relocation against the full target and
/// against a tailored one, if any.
fn libbpf_differs(
    full: &OracleResult,
    min: &OracleResult,
    by: By,
    failing: &Failing,
) -> Option<String> {
    let view = |d: &libbpf_oracle::Decision| match by {
        By::Bpftool => libbpf_decision_view(d),
        By::Btfkit => libbpf_view(d),
    };
    if !failing.is_empty() {
        // libbpf stops at the first failure with the full target: compare what it decided.
        for x in &full.decisions {
            let at = (
                x.decision.section.clone().unwrap_or_default(),
                x.decision.relo,
            );
            if failing.contains(&at) {
                continue;
            }
            let y = min.decision_at(&at.0, at.1);
            let (a, b) = (view(&x.decision), y.map(|y| view(&y.decision)));
            if Some(&a) != b.as_ref() {
                return Some(format!("libbpf: full {a}, tailored {b:?}"));
            }
        }
        return None;
    }
    if full.error.is_some() != min.error.is_some() {
        return Some(format!(
            "libbpf: full {:?}, tailored {:?}",
            full.error, min.error
        ));
    }
    if full.decisions.len() != min.decisions.len() {
        return Some(format!(
            "libbpf: {} decisions with the full target, {} with the tailored",
            full.decisions.len(),
            min.decisions.len()
        ));
    }
    for (x, y) in full.decisions.iter().zip(&min.decisions) {
        let (a, b) = (view(&x.decision), view(&y.decision));
        if a != b {
            return Some(format!("libbpf: full {a}, tailored {b}"));
        }
        if x.decision.kind() != Some("target_type_id") && x.relocated != y.relocated {
            return Some(format!(
                "libbpf: {a}: bytes {:02x?} / {:02x?}",
                x.relocated, y.relocated
            ));
        }
    }
    None
}

/// The first difference between the engine's decisions against the full target and
/// against a tailored one, if any.
fn engine_differs(
    object: &[u8],
    full: &Target<'_>,
    min: &[u8],
    failing: &Failing,
) -> Option<String> {
    let min = match Btf::parse(min) {
        Ok(min) => min,
        Err(e) => return Some(format!("btfkit: tailored BTF does not parse: {e}")),
    };
    let a = relocate_object(object, full).map_err(|e| e.to_string());
    let b = relocate_object(object, &Target::new(&min)).map_err(|e| e.to_string());
    let (a, b) = match (a, b) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(a), Err(b)) if a == b => return None,
        (a, b) => {
            return Some(format!(
                "btfkit: full {:?}, tailored {:?}",
                a.err(),
                b.err()
            ))
        }
    };
    if a.decisions.len() != b.decisions.len() {
        return Some("btfkit: decision counts differ".into());
    }
    a.decisions
        .iter()
        .zip(&b.decisions)
        .filter(|(x, _)| !failing.contains(&(x.section.clone(), x.relo_idx)))
        .map(|(x, y)| (engine_view(x), engine_view(y)))
        .find(|(x, y)| x != y)
        .map(|(x, y)| format!("btfkit: full {x}, tailored {y}"))
}

/// One case with one tailored file: `None` when every decision equals the full
/// target's, else the first difference.
fn differs(
    files: &CaseFiles,
    full: &OracleResult,
    target: &Target<'_>,
    min: &Path,
    by: By,
    failing: &Failing,
) -> Option<String> {
    let object = std::fs::read(&files.object).unwrap();
    let theirs = libbpf_oracle::relocate(&files.object, min).unwrap();
    if !failing.is_empty() && full.error.is_some() != theirs.error.is_some() {
        // A failure is reported, not reproduced: libbpf then poisons what it refused.
        println!(
            "{}: libbpf with the full target: {:?}; with btfkit's file: {:?} \
             (failing on the full target, reported: {failing:?})",
            files.case.name,
            full.error,
            theirs.error.as_deref().unwrap_or("relocated")
        );
    }
    libbpf_differs(full, &theirs, by, failing)
        .or_else(|| engine_differs(&object, target, &std::fs::read(min).unwrap(), failing))
}

/// One row of the table.
struct Row {
    case: String,
    run_btfgen_fails: bool,
    decisions: usize,
    /// bpftool's output: size, or why there is none; then the difference, if any.
    bpftool: (String, Option<String>),
    btfkit: (String, Option<String>),
    /// Relocations btfkit reports as failing on the full target.
    failing: Failing,
}

fn tmp_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tailor-btfgen");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run_case(i: usize, files: &CaseFiles, times: &mut [std::time::Duration; 2]) -> Row {
    let dir = tmp_dir();
    let full_raw = raw_btf(&files.target_btf);
    let full_btf = Btf::parse(&full_raw).unwrap();
    let target = Target::new(&full_btf);
    let full = libbpf_oracle::relocate(&files.object, &files.target_btf).unwrap();
    let mut row = Row {
        case: files.case.name.clone(),
        run_btfgen_fails: files.case.run_btfgen_fails,
        decisions: full.decisions.len(),
        bpftool: (String::new(), None),
        btfkit: (String::new(), None),
        failing: Vec::new(),
    };

    let by_bpftool = dir.join(format!("{i}.bpftool.btf"));
    let started = Instant::now();
    let out = Command::new("bpftool")
        .args(["gen", "min_core_btf"])
        .arg(&files.target_btf)
        .arg(&by_bpftool)
        .arg(&files.object)
        .output()
        .expect("bpftool is required (scripts/setup.sh installs it)");
    times[0] += started.elapsed();
    row.bpftool = if out.status.success() {
        let size = std::fs::metadata(&by_bpftool).unwrap().len();
        (
            format!("{size} B"),
            differs(files, &full, &target, &by_bpftool, By::Bpftool, &Vec::new()),
        )
    } else {
        let why = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        ("failed".into(), Some(format!("bpftool failed: {why}")))
    };

    let by_btfkit = dir.join(format!("{i}.btfkit.btf"));
    let object = std::fs::read(&files.object).unwrap();
    let started = Instant::now();
    let tailored = btfkit_minbtf::tailor(&full_btf, &[("case", &object)], Output::Standalone);
    times[1] += started.elapsed();
    row.btfkit = match tailored {
        Ok(t) => {
            std::fs::write(&by_btfkit, &t.btf).unwrap();
            row.failing = t
                .failures
                .iter()
                .map(|f| (f.decision.section.clone(), f.decision.relo_idx))
                .collect();
            (
                format!("{} B", t.btf.len()),
                differs(files, &full, &target, &by_btfkit, By::Btfkit, &row.failing),
            )
        }
        Err(e) => ("failed".into(), Some(format!("btfkit min-btf failed: {e}"))),
    };
    row
}

#[test]
fn tailored_btf_decides_every_core_selftest_case_like_the_full_target() {
    let started = Instant::now();
    let suite = Suite::prepare(&[CPU]).unwrap_or_else(|e| {
        panic!(
            "the kernel's CO-RE selftests could not be prepared (they come from Debian's \
             linux-source-6.12 package, cached in {}): {e}",
            btfkit_e2e::core_selftests::cache_dir().display()
        )
    });
    let cases = suite.case_files(CPU).unwrap();
    assert_eq!(
        cases.len(),
        75,
        "core_reloc.c has 75 cases without a module"
    );
    let mut times = [std::time::Duration::ZERO; 2];
    let rows: Vec<Row> = cases
        .iter()
        .enumerate()
        .map(|(i, f)| run_case(i, f, &mut times))
        .collect();
    println!(
        "{:<44} {:>5} {:<9} {:<16} {:<16} btfkit: failing on the full target",
        "case", "relos", "btfgen", "bpftool", "btfkit"
    );
    let verdict = |d: &Option<String>| if d.is_some() { "DIFFERS" } else { "same" };
    for r in &rows {
        println!(
            "{:<44} {:>5} {:<9} {:<16} {:<16} {}",
            r.case,
            r.decisions,
            if r.run_btfgen_fails { "skipped" } else { "run" },
            format!("{} {}", r.bpftool.0, verdict(&r.bpftool.1)),
            format!("{} {}", r.btfkit.0, verdict(&r.btfkit.1)),
            r.failing.len(),
        );
    }
    let mut problems = Vec::new();
    for r in &rows {
        if let Some(d) = &r.btfkit.1 {
            problems.push(format!("{} (btfkit): {d}", r.case));
        }
        match (&r.bpftool.1, r.run_btfgen_fails) {
            (Some(d), false) => problems.push(format!("{} (bpftool): {d}", r.case)),
            (d, true) => println!("{} (bpftool, the selftest skips it): {d:?}", r.case),
            (None, false) => {}
        }
    }
    let count = |f: &dyn Fn(&Row) -> bool| rows.iter().filter(|r| f(r)).count();
    println!(
        "{} cases, {} decisions; same as the full target: bpftool {}, btfkit {}; \
         run_btfgen_fails cases {}; tailoring: bpftool {:.1?}, btfkit {:.1?}; {:.1?} in all",
        rows.len(),
        rows.iter().map(|r| r.decisions).sum::<usize>(),
        count(&|r| r.bpftool.1.is_none()),
        count(&|r| r.btfkit.1.is_none()),
        count(&|r| r.run_btfgen_fails),
        times[0],
        times[1],
        started.elapsed()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
