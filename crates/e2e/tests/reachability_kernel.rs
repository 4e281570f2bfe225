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
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("engine-guards{case}.o"));
    let st = Command::new("clang-22")
        .args([
            "-target",
            "bpf",
            "-O2",
            "-g",
            "-c",
            "-I/usr/include/x86_64-linux-gnu",
        ])
        .arg(format!("-DCASE={case}"))
        .arg(&src)
        .arg("-o")
        .arg(&out)
        .status()
        .expect("clang-22 is required (scripts/setup.sh installs it)");
    assert!(st.success(), "clang-22 failed on {}", src.display());
    std::fs::read(out).unwrap()
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
    if !Command::new("mountpoint")
        .args(["-q", "/sys/fs/bpf"])
        .status()
        .unwrap()
        .success()
    {
        assert!(
            Command::new("mount")
                .args(["-t", "bpf", "bpf", "/sys/fs/bpf"])
                .status()
                .unwrap()
                .success(),
            "cannot mount bpffs (root needed)"
        );
    }
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
