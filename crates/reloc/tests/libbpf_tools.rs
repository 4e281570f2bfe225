//! btfkit's engine against libbpf on real programs: every BPF object embedded
//! in Debian's libbpf-tools is relocated for the running kernel by btfkit and
//! by libbpf (`bpftool -d prog loadall`, whose debug log states each decision);
//! every relocation libbpf decided must get the same decision from btfkit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use btfkit_model::Btf;
use btfkit_reloc::{relocate_object, Target};

/// libbpf's decision for one relocation: "imm 16 -> 1268", "off 8 -> 24", "poison", ...
fn libbpf_decisions(log: &str) -> BTreeMap<(String, usize), String> {
    let mut out = BTreeMap::new();
    for line in log.lines() {
        let Some(rest) = line.strip_prefix("libbpf: prog '") else {
            continue;
        };
        let Some((prog, rest)) = rest.split_once("': relo #") else {
            continue;
        };
        let Some((idx, rest)) = rest.split_once(": ") else {
            continue;
        };
        let Ok(idx) = idx.parse::<usize>() else {
            continue;
        };
        let key = (prog.to_string(), idx);
        if let Some(p) = rest.strip_prefix("patched insn #") {
            // "12 (ALU/ALU64) imm 16 -> 1268" → "imm 16 -> 1268"; keep the first patch line.
            let what = p.split_once(") ").map(|x| x.1).unwrap_or(p).to_string();
            out.entry(key)
                .and_modify(|e: &mut String| {
                    if what.starts_with("mem_sz") {
                        e.push_str(&format!(", {what}"));
                    }
                })
                .or_insert(what);
        } else if rest.starts_with("substituting insn") {
            out.insert(key, "poison".to_string());
        }
    }
    out
}

/// btfkit's decision in the same words.
fn our_decision(d: &btfkit_reloc::Decision) -> Option<String> {
    let f = d.fixup.as_ref()?;
    if f.poison || d.patched.as_deref().is_some_and(|p| p.contains("poisoned")) {
        return Some("poison".to_string());
    }
    let p = d.patched.as_deref()?;
    let what = p.split_once(") ").map(|x| x.1).unwrap_or(p);
    Some(what.to_string())
}

#[test]
fn every_libbpf_tools_object_matches_libbpf_on_the_running_kernel() {
    assert!(
        std::env::var("USER").map_or(true, |u| u == "root")
            && Path::new("/sys/kernel/btf/vmlinux").exists(),
        "needs root and the running kernel's BTF"
    );
    let list = Command::new("dpkg")
        .args(["-L", "libbpf-tools"])
        .output()
        .expect("dpkg");
    assert!(
        list.status.success(),
        "libbpf-tools is not installed (scripts/setup.sh installs it)"
    );
    let kernel = std::fs::read("/sys/kernel/btf/vmlinux").unwrap();
    let kernel = Btf::parse(&kernel).unwrap();
    let target = Target::new(&kernel);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("libbpf-tools");
    std::fs::create_dir_all(&dir).unwrap();
    if !Path::new("/sys/fs/bpf").join(".").exists()
        || !Command::new("mountpoint")
            .args(["-q", "/sys/fs/bpf"])
            .status()
            .unwrap()
            .success()
    {
        Command::new("mount")
            .args(["-t", "bpf", "bpf", "/sys/fs/bpf"])
            .status()
            .unwrap();
    }
    let (mut objects, mut compared, mut relocations, mut skipped) = (0, 0, 0, Vec::new());
    let mut mismatches = Vec::new();
    for path in String::from_utf8_lossy(&list.stdout).lines() {
        let p = Path::new(path);
        if !path.starts_with("/usr/sbin/") || !p.is_file() || p.is_symlink() {
            continue;
        }
        let binary = std::fs::read(p).unwrap();
        for (i, emb) in btfkit_object::find_embedded_bpf_objects(&binary)
            .iter()
            .enumerate()
        {
            let bytes = emb.bytes(&binary).unwrap();
            let tool = p.file_name().unwrap().to_string_lossy().to_string();
            let obj_path = dir.join(format!("{tool}-{i}.o"));
            std::fs::write(&obj_path, bytes).unwrap();
            objects += 1;
            let ours = relocate_object(bytes, &target).unwrap_or_else(|e| panic!("{tool}: {e}"));
            if ours.decisions.is_empty() {
                continue;
            }
            let pin = Path::new("/sys/fs/bpf").join(format!("btfkit-cmp-{tool}-{i}"));
            let _ = std::fs::remove_dir_all(&pin);
            let out = Command::new("bpftool")
                .args(["-d", "prog", "loadall"])
                .arg(&obj_path)
                .arg(&pin)
                .output()
                .expect("bpftool is required (scripts/setup.sh installs it)");
            let _ = std::fs::remove_dir_all(&pin);
            let log = String::from_utf8_lossy(&out.stderr);
            let theirs = libbpf_decisions(&log);
            if theirs.is_empty() {
                // libbpf stopped before CO-RE (maps, externs, program types).
                let why = log
                    .lines()
                    .filter(|l| l.contains("rror") || l.contains("failed"))
                    .take(1)
                    .collect::<String>();
                skipped.push(format!("{tool}: {why}"));
                continue;
            }
            compared += 1;
            for d in &ours.decisions {
                let key = (d.prog.clone(), d.relo_idx);
                let Some(want) = theirs.get(&key) else {
                    continue;
                };
                relocations += 1;
                let got = our_decision(d)
                    .unwrap_or_else(|| format!("error: {}", d.error.clone().unwrap_or_default()));
                if &got != want {
                    mismatches.push(format!(
                        "{tool} prog '{}' relo #{}: libbpf {want}, btfkit {got} ({d})",
                        d.prog, d.relo_idx
                    ));
                }
            }
        }
    }
    eprintln!(
        "libbpf-tools: {objects} objects, {compared} compared with libbpf, {relocations} relocations, {} identical, {} skipped (libbpf did not reach CO-RE)",
        relocations - mismatches.len(),
        skipped.len()
    );
    for s in &skipped {
        eprintln!("  skipped {s}");
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    assert!(
        compared >= 30,
        "only {compared} objects reached CO-RE in libbpf"
    );
    assert!(
        relocations >= 300,
        "only {relocations} relocations compared"
    );
}
