//! `btfkit explain`: every CO-RE relocation of an object against a target, with
//! the decision and its reason, in libbpf's vocabulary (or JSON).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

/// Arguments of `btfkit explain`.
#[derive(clap::Args)]
pub struct Args {
    /// The BPF object (with .BTF and .BTF.ext).
    pub object: PathBuf,
    /// Target BTF: raw (/sys/kernel/btf/vmlinux), vmlinux ELF, or module BTF with --base.
    /// Several --target, or a folder of BTF files: the relocation matrix (see explain_matrix).
    #[arg(long, default_value = "/sys/kernel/btf/vmlinux")]
    pub target: Vec<PathBuf>,
    /// Base BTF when --target is split (module) BTF.
    #[arg(long)]
    pub base: Option<PathBuf>,
    /// A JSON array with fields prog, insn, kind, local_type, access, target_type_id, old, new, poisoned, reason.
    #[arg(long)]
    pub json: bool,
}

/// Runs `btfkit explain`: exit 0 when every relocation succeeded, 1 when some
/// were poisoned or failed, 2 when the input could not be read.
pub fn run(mut args: Args) -> anyhow::Result<ExitCode> {
    if args.target.len() != 1 || args.target[0].is_dir() {
        return crate::cmd::explain_matrix::run(&args.object, &args.target, args.json);
    }
    let target_path = args.target.remove(0);
    let object = std::fs::read(&args.object)
        .with_context(|| format!("cannot read {}", args.object.display()))?;
    let btf = crate::cmd::relocate::load_target(&target_path, args.base.as_deref())?;
    let target = btfkit_reloc::Target::new(&btf);
    let relocated = btfkit_reloc::relocate_object(&object, &target)
        .with_context(|| format!("{}", args.object.display()))?;
    let all_ok = relocated.decisions.iter().all(|d| d.ok());
    if args.json {
        let rows: Vec<serde_json::Value> = relocated
            .decisions
            .iter()
            .map(|d| {
                let reason = match (&d.error, &d.fixup) {
                    (Some(e), _) => Some(e.clone()),
                    (None, Some(f)) if f.poison => Some(format!(
                        "no target type matches {}; the instruction is poisoned and fails verification if reachable",
                        d.local
                    )),
                    (None, Some(_)) if d.target.is_none() => Some(format!("no target type matches {}", d.local)),
                    _ => None,
                };
                serde_json::json!({
                    "prog": d.prog,
                    "insn": d.insn,
                    "kind": d.kind.short_name(),
                    "local_type": d.local,
                    "access": d.access,
                    "target_type_id": d.target_type_id,
                    "target": d.target,
                    "old": d.fixup.as_ref().map(|f| f.orig_val),
                    "new": d.fixup.as_ref().filter(|f| !f.poison).map(|f| f.new_val),
                    "poisoned": d.fixup.as_ref().is_some_and(|f| f.poison),
                    "reason": reason,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        println!(
            "{:<24} {:>5}  {:<14} {:<52} TARGET / RESULT",
            "PROG", "INSN", "KIND", "LOCAL"
        );
        for d in &relocated.decisions {
            let result = match (&d.error, &d.fixup, &d.target) {
                (Some(e), _, _) => format!("FAILED: {e}"),
                (None, Some(f), _) if f.poison => {
                    "no match: POISONED (fails verification if reachable)".to_string()
                }
                (None, Some(f), Some(t)) => format!("{t}: {} -> {}", f.orig_val, f.new_val),
                (None, Some(f), None) => format!("no match: {} -> {}", f.orig_val, f.new_val),
                _ => String::new(),
            };
            println!(
                "{:<24} {:>5}  {:<14} {:<52} {}",
                d.prog,
                d.insn,
                d.kind.short_name(),
                d.local,
                result
            );
        }
        let failed = relocated
            .decisions
            .iter()
            .filter(|d| d.error.is_some())
            .count();
        let poisoned = relocated
            .decisions
            .iter()
            .filter(|d| d.fixup.as_ref().is_some_and(|f| f.poison))
            .count();
        println!(
            "{} relocation(s): {} applied, {poisoned} poisoned, {failed} failed (target {})",
            relocated.decisions.len(),
            relocated.decisions.len() - failed - poisoned,
            target_path.display()
        );
    }
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
