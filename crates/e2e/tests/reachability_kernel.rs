//! btfkit's reachability verdicts against the verifier of the running kernel:
//! objects relocated by btfkit for the running kernel are loaded (`bpftool
//! prog loadall`); an object whose poisoned instructions btfkit calls all
//! unreachable must load (or fail for a reason other than a poisoned
//! instruction), and one with a reachable poisoned instruction must be
//! rejected with "invalid func unknown#195896080". Objects: the libbpf-tools
//! corpus, crafted C programs reading a field the kernel lacks behind a
//! `bpf_core_field_exists` guard (directly, through a stack spill, through
//! arithmetic, in a subprogram) and without one, and a Rust program
//! (`examples/guarded-read`) whose `btf::field_exists!` and `Option` queries
//! guard its reads of a field no kernel has.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

use btfkit_e2e::corpus;
use btfkit_model::Btf;
use btfkit_reloc::{relocate_object, Target};

mod common;

/// The crafted cases of guards.bpf.c: (CASE, whether a poison is reachable).
const GUARD_CASES: [(u32, bool); 7] = [
    (1, false),
    (2, true),
    (3, false),
    (4, false),
    (5, true),
    (6, false),
    (7, true),
];

fn guards(case: u32) -> Vec<u8> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../reloc/tests/data/guards.bpf.c");
    common::clang_bpf(
        &src,
        &format!("engine-guards{case}.o"),
        &[&format!("-DCASE={case}")],
    )
}

/// Loads every program of `object`: Ok, or Err(libbpf's and the verifier's output).
fn load(object: &Path, n: usize) -> Result<(), String> {
    let pin = PathBuf::from(format!(
        "/sys/fs/bpf/btfkit-engine-reach-{}-{n}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&pin);
    let out = Command::new("bpftool")
        .args(["prog", "loadall"])
        .arg(object)
        .arg(&pin)
        .output()
        .expect("bpftool is required (scripts/setup.sh installs it)");
    let _ = std::fs::remove_dir_all(&pin);
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

#[test]
fn poisoned_instructions_called_unreachable_never_stop_a_load_and_reachable_ones_do() {
    common::require_root();
    btfkit_testkit::kernel::ensure_bpffs();
    let vmlinux = std::fs::read("/sys/kernel/btf/vmlinux").expect("/sys/kernel/btf/vmlinux");
    let kernel = Btf::parse(&vmlinux).unwrap();
    let target = Target::new(&kernel);
    let mut objects: Vec<(String, Vec<u8>, Option<bool>)> = Vec::new();
    for (case, reachable) in GUARD_CASES {
        objects.push((
            format!("guards.bpf.c CASE={case}"),
            guards(case),
            Some(reachable),
        ));
    }
    // Rust: btf::field_exists! and the Option queries guard every read.
    objects.push((
        "examples/guarded-read".into(),
        common::build_example("guarded-read"),
        Some(false),
    ));
    let corpus = corpus::load_or_extract(&corpus::default_cache_dir()).unwrap();
    assert!(
        corpus.len() >= 40,
        "only {} libbpf-tools objects",
        corpus.len()
    );
    for o in corpus {
        objects.push((o.tool.clone(), std::fs::read(&o.path).unwrap(), None));
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("engine-reach");
    std::fs::create_dir_all(&dir).unwrap();
    let (mut agree, mut other_failure, mut with_poison) = (0, Vec::new(), 0);
    // Poisoned instructions called unreachable in objects the kernel loaded.
    let mut proven_unreachable = 0;
    let mut disagree = Vec::new();
    for (n, (name, obj, expected)) in objects.iter().enumerate() {
        let r = relocate_object(obj, &target).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(r.counts().failed, 0, "{name}: a relocation failed");
        let reachable = r.decisions.iter().any(|d| d.poisoned_reachable());
        with_poison += r.decisions.iter().any(|d| d.poisoned()) as usize;
        if let Some(e) = expected {
            assert_eq!(reachable, *e, "{name}: verdict");
        }
        let path = dir.join(format!("{n}.o"));
        std::fs::write(
            &path,
            btfkit_reloc::write::write_relocated(obj, &r).unwrap(),
        )
        .unwrap();
        match (load(&path, n), reachable) {
            (Ok(()), false) => {
                agree += 1;
                proven_unreachable += r.decisions.iter().filter(|d| d.poisoned()).count();
            }
            (Err(log), true) if log.contains("unknown#195896080") => agree += 1,
            (Err(log), false) if !log.contains("unknown#195896080") => {
                other_failure.push(name.clone())
            }
            (Err(log), true) if !expected.is_some() => {
                // libbpf stops at the first program that fails: another
                // failure may hide the poisoned one.
                let _ = log;
                other_failure.push(name.clone())
            }
            (result, reachable) => disagree.push(format!(
                "{name}: btfkit says a poison is {}reachable, the kernel {}",
                if reachable { "" } else { "not " },
                match result {
                    Ok(()) => "loads it".to_string(),
                    Err(log) => format!(
                        "rejects it:\n{}",
                        log.lines().rev().take(12).collect::<Vec<_>>().join("\n")
                    ),
                }
            )),
        }
    }
    println!(
        "reachability verdicts vs the verifier: {agree} of {} objects agree ({with_poison} with \
         poisoned instructions; {proven_unreachable} poisoned instructions called unreachable \
         in objects that loaded), {} failed to load for other reasons ({}), {} disagree",
        objects.len(),
        other_failure.len(),
        other_failure.join(", "),
        disagree.len()
    );
    assert!(disagree.is_empty(), "{}", disagree.join("\n\n"));
    assert!(agree >= GUARD_CASES.len(), "{agree}");
}

/// The running kernel's BTF with member `member` of type `root` made
/// anonymous (so no relocation finds it by name): the member's `name_off`,
/// located through the parsed type's view of `data`.
fn without_member(data: &[u8], root: u32, member: usize) -> Option<Vec<u8>> {
    let btf = Btf::parse(data).ok()?;
    let t = btf.type_by_id(root).ok()?;
    let extra = t.extra_bytes();
    let at = (extra.as_ptr() as usize).checked_sub(data.as_ptr() as usize)? + member * 12;
    let mut out = data.to_vec();
    out.get_mut(at..at + 4)?
        .copy_from_slice(&0u32.to_ne_bytes());
    Some(out)
}

/// Members removed by the test below: every 4th (all with `BTFKIT_REACH_ALL`).
const MEMBER_STRIDE: usize = 4;

/// The same verdicts on many more poisoned instructions: for non-composite
/// members the libbpf-tools objects access (guarded by `bpf_core_field_exists`
/// or not), the running kernel's BTF without that member; each object whose
/// relocation for it changes is relocated for it and loaded on the running
/// kernel (the other offsets stay right).
#[test]
fn verdicts_hold_when_guarded_members_go_missing() {
    common::require_root();
    let vmlinux = std::fs::read("/sys/kernel/btf/vmlinux").expect("/sys/kernel/btf/vmlinux");
    let kernel = Btf::parse(&vmlinux).unwrap();
    let target = Target::new(&kernel);
    let corpus = corpus::load_or_extract(&corpus::default_cache_dir()).unwrap();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("engine-reach-mutated");
    std::fs::create_dir_all(&dir).unwrap();
    // Objects that load as btfkit relocates them for the real kernel, and the
    // (root type, member index) of their field_exists relocations.
    let mut loadable = Vec::new();
    let mut members = std::collections::BTreeSet::new();
    for (n, o) in corpus.iter().enumerate() {
        let obj = std::fs::read(&o.path).unwrap();
        let r = relocate_object(&obj, &target).unwrap();
        let path = dir.join(format!("base-{n}.o"));
        std::fs::write(
            &path,
            btfkit_reloc::write::write_relocated(&obj, &r).unwrap(),
        )
        .unwrap();
        if load(&path, n).is_err() {
            continue;
        }
        for d in &r.decisions {
            let (Some(root), Some(t)) = (d.target_type_id, &d.target) else {
                continue;
            };
            if !d.kind.is_field() || !d.ok() {
                continue;
            }
            // "(0:N..." : N is the member of the root.
            let Some(idx) = t
                .rsplit_once(" (0:")
                .and_then(|(_, rest)| rest.split([':', ' ']).next())
                .and_then(|n| n.parse::<usize>().ok())
            else {
                continue;
            };
            let Some(m) = kernel
                .type_by_id(root)
                .ok()
                .and_then(|t| t.members().nth(idx))
            else {
                continue;
            };
            let composite = kernel
                .skip_mods_and_typedefs(m.type_id)
                .is_ok_and(|t| t.is_composite());
            if m.name_off != 0 && !composite {
                members.insert((root, idx));
            }
        }
        loadable.push((o.tool.clone(), obj, r));
    }
    let (mut runs, mut agree, mut poisons, mut other) = (0, 0, 0, 0);
    let (mut unreachable, mut rejected) = (0, 0);
    let mut disagree = Vec::new();
    // Every MEMBER_STRIDE-th member keeps the test short (set BTFKIT_REACH_ALL=1 for all).
    let stride = if std::env::var_os("BTFKIT_REACH_ALL").is_some() {
        1
    } else {
        MEMBER_STRIDE
    };
    for &(root, idx) in members.iter().step_by(stride) {
        let data = without_member(&vmlinux, root, idx).unwrap();
        let mutated = Btf::parse(&data).unwrap();
        let mtarget = Target::new(&mutated);
        for (tool, obj, base) in &loadable {
            let r = relocate_object(obj, &mtarget).unwrap();
            if r.decisions == base.decisions || r.counts().failed > 0 {
                continue;
            }
            runs += 1;
            poisons += r.decisions.iter().filter(|d| d.poisoned()).count();
            let reachable = r.decisions.iter().any(|d| d.poisoned_reachable());
            let path = dir.join(format!("{tool}-{root}-{idx}.o"));
            std::fs::write(
                &path,
                btfkit_reloc::write::write_relocated(obj, &r).unwrap(),
            )
            .unwrap();
            match (load(&path, runs), reachable) {
                (Ok(()), false) => {
                    agree += 1;
                    unreachable += r.decisions.iter().filter(|d| d.poisoned()).count();
                }
                (Err(log), true) if log.contains("unknown#195896080") => {
                    agree += 1;
                    rejected += 1;
                }
                (Err(_), _) if !reachable => other += 1,
                (result, _) => disagree.push(format!(
                    "{tool} without member {idx} of [{root}]: btfkit says {}reachable, the kernel {}",
                    if reachable { "" } else { "un" },
                    if result.is_ok() { "loads it" } else { "rejects it (not for the poison)" }
                )),
            }
        }
    }
    println!(
        "{} of {} members removed one at a time: {runs} relocated objects loaded, {agree} agree \
         with the verifier ({rejected} rejected for a reachable poison; {unreachable} poisoned \
         instructions called unreachable in objects that loaded; {poisons} poisoned in all), \
         {other} failed for other reasons, {} disagree",
        members.len().div_ceil(stride),
        members.len(),
        disagree.len()
    );
    assert!(disagree.is_empty(), "{}", disagree.join("\n"));
    assert!(runs > 0 && agree > 0);
}
