//! `btfkit explain OBJ --target A --target B ...` (or a folder of BTF files):
//! every CO-RE relocation of the object against each target, one column per
//! target, without booting anything; cells are the value on that kernel,
//! `poisoned` or `FAILED`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};

/// The BTF files: each --target, a folder's files expanded (sorted).
fn targets(given: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for t in given {
        if t.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(t)
                .with_context(|| format!("{}", t.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            files.sort();
            out.extend(files);
        } else {
            out.push(t.clone());
        }
    }
    if out.is_empty() {
        bail!("no target BTF files given");
    }
    Ok(out)
}

fn column_name(p: &Path) -> String {
    let n = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if p == Path::new(btfkit_check::KERNEL_BTF) {
        return "running kernel".into();
    }
    n.trim_end_matches(".btf")
        .trim_start_matches("vmlinux-")
        .to_string()
}

/// The cell for one decision (the one place reading its outcome here).
fn cell(d: &btfkit_reloc::Decision) -> String {
    match &d.outcome {
        btfkit_reloc::Outcome::Applied { new, .. } => new.to_string(),
        btfkit_reloc::Outcome::Poisoned { .. } if !d.poisoned_reachable() => {
            "poisoned (unreachable)".into()
        }
        btfkit_reloc::Outcome::Poisoned { .. } => "poisoned".into(),
        btfkit_reloc::Outcome::Failed { .. } => "FAILED".into(),
    }
}

/// Runs the matrix; exit 1 when a relocation fails or a poisoned instruction is
/// reachable on any target (as `explain` with one target).
pub fn run(object: &Path, given: &[PathBuf], json: bool) -> anyhow::Result<ExitCode> {
    let bytes =
        std::fs::read(object).with_context(|| format!("cannot read {}", object.display()))?;
    let mut columns = Vec::new();
    for t in targets(given)? {
        // A file that is not BTF (a README in the folder) is named and skipped.
        let btf = match crate::cmd::relocate::load_target(&t, None) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("explain: skipping {}: {e:#}", t.display());
                continue;
            }
        };
        let target = btfkit_reloc::Target::new(&btf);
        let relocated = btfkit_reloc::relocate_object(&bytes, &target)
            .with_context(|| format!("{} against {}", object.display(), t.display()))?;
        columns.push((column_name(&t), relocated));
    }
    let Some((_, first)) = columns.first() else {
        bail!("none of the targets could be read as BTF")
    };
    let all_ok = columns.iter().all(|(_, r)| {
        r.decisions
            .iter()
            .all(|d| d.error().is_none() && !d.poisoned_reachable())
    });
    if json {
        let rows: Vec<serde_json::Value> = first
            .decisions
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let values: serde_json::Map<String, serde_json::Value> = columns
                    .iter()
                    .map(|(name, r)| {
                        (
                            name.clone(),
                            serde_json::Value::String(r.decisions.get(i).map_or("?".into(), cell)),
                        )
                    })
                    .collect();
                serde_json::json!({
                    "prog": d.prog, "insn": d.insn, "kind": d.kind.short_name(),
                    "local_type": d.local, "targets": values,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        print!(
            "{:<16} {:>5} {:<10} {:<44}",
            "prog", "insn", "kind", "local"
        );
        for (name, _) in &columns {
            print!(" {name:>22}");
        }
        println!();
        for (i, d) in first.decisions.iter().enumerate() {
            let local = d
                .local
                .split_once("] ")
                .map_or(d.local.as_str(), |(_, r)| r);
            let local = local.split(" (").next().unwrap_or(local);
            print!(
                "{:<16} {:>5} {:<10} {:<44}",
                d.prog,
                d.insn,
                d.kind.short_name(),
                local
            );
            for (_, r) in &columns {
                print!(" {:>22}", r.decisions.get(i).map_or("?".into(), cell));
            }
            println!();
        }
    }
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
