//! `btfkit explain`: every CO-RE relocation of an object against a target, with
//! the decision and its reason, in libbpf's vocabulary (or JSON).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use btfkit_reloc::{Decision, Outcome, OutcomeCounts, Reachability};

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
    /// A JSON array with fields prog, insn, kind, local_type, access, target_type_id, target, outcome (applied/poisoned/failed), old, new, poisoned, reachable (poisoned only: can the verifier reach it), guard (why not), rodata_dependent (unreachable only with the object's .rodata values), reason. Exit 0: loadable (nothing failed, every poison unreachable); 1: a reachable poison or a failure; 2: bad input.
    #[arg(long)]
    pub json: bool,
}

/// The JSON name of an outcome: `applied`, `poisoned` or `failed`.
fn outcome_name(o: &Outcome) -> &'static str {
    match o {
        Outcome::Applied { .. } => "applied",
        Outcome::Poisoned { .. } => "poisoned",
        Outcome::Failed { .. } => "failed",
    }
}

/// JSON `reachable`: for a poisoned instruction, whether the verifier may reach it.
fn reachable_json(d: &Decision) -> Option<bool> {
    d.poisoned().then(|| d.poisoned_reachable())
}

/// Runs `btfkit explain`: exit 0 when no relocation failed and every poisoned
/// instruction is unreachable, 1 when one is reachable or a relocation failed,
/// 2 when the input could not be read.
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
    // Loadable: nothing failed and no poisoned instruction can be reached.
    let all_ok = relocated
        .decisions
        .iter()
        .all(|d| d.error().is_none() && !d.poisoned_reachable());
    if args.json {
        let rows: Vec<serde_json::Value> = relocated
            .decisions
            .iter()
            .map(|d| {
                let (old, new) = match &d.outcome {
                    Outcome::Applied { old, new, .. } => (Some(*old), Some(*new)),
                    _ => (d.fixup.as_ref().map(|f| f.orig_val), None),
                };
                serde_json::json!({
                    "prog": d.prog,
                    "insn": d.insn,
                    "kind": d.kind.short_name(),
                    "local_type": d.local,
                    "access": d.access,
                    "target_type_id": d.target_type_id,
                    "target": d.target,
                    "outcome": outcome_name(&d.outcome),
                    "old": old,
                    "new": new,
                    "poisoned": d.poisoned(),
                    "reachable": reachable_json(d),
                    "rodata_dependent": matches!(
                        d.reachability,
                        Some(Reachability::Unreachable { rodata: true, .. })
                    ),
                    "guard": match &d.reachability {
                        Some(Reachability::Unreachable { guard, .. }) => Some(guard.as_str()),
                        _ => None,
                    },
                    "reason": d.reason(),
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
            let result = match (&d.outcome, &d.target) {
                (Outcome::Failed { reason }, _) => format!("FAILED: {reason}"),
                (Outcome::Poisoned { reason }, _) => match &d.reachability {
                    Some(Reachability::Unreachable { guard, .. }) => {
                        format!("poisoned (unreachable: {guard}): {reason}")
                    }
                    _ => format!("POISONED (reachable: fails verification): {reason}"),
                },
                (Outcome::Applied { old, new, .. }, Some(t)) => format!("{t}: {old} -> {new}"),
                (Outcome::Applied { old, new, .. }, None) => format!("no match: {old} -> {new}"),
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
        let OutcomeCounts {
            applied,
            poisoned,
            failed,
        } = relocated.counts();
        let reachable = relocated
            .decisions
            .iter()
            .filter(|d| d.poisoned_reachable())
            .count();
        println!(
            "{} relocation(s): {} applied, {poisoned} poisoned ({reachable} reachable), {failed} failed (target {})",
            relocated.decisions.len(),
            applied,
            target_path.display()
        );
    }
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
