//! What of a CO-RE decision must not change when the target BTF is tailored
//! (`btfkit min-btf`, `bpftool gen min_core_btf`): everything but the target's
//! type id and raw member indices, which name types of the file in hand.

use btfkit_model::CoreReloKind;
use btfkit_reloc::relocate::Decision;

use crate::libbpf_oracle::{self, Outcome, PatchField};

/// `[12] struct task_struct.pid (0:54 @ offset 1432)` without the type id and the raw indices.
pub fn strip(spec: &str) -> String {
    let s = match spec.strip_prefix('[') {
        Some(rest) => rest.split_once("] ").map_or(spec, |(_, r)| r),
        None => spec,
    };
    match (s.find(" ("), s.find(" @ ")) {
        (Some(a), Some(b)) if a < b => format!("{} (@{}", &s[..a], &s[b + 2..]),
        _ => s.to_owned(),
    }
}

/// An engine decision, target type id and raw indices left out.
pub fn engine_view(d: &Decision) -> String {
    let mut f = d.fixup.clone();
    if d.kind == CoreReloKind::TypeIdTarget {
        if let Some(f) = &mut f {
            f.new_val = 0;
        }
    }
    format!(
        "{} {} insn {} relo #{} <{}> {} => {:?} {:?} error={} poisoned={}",
        d.section,
        d.prog,
        d.insn,
        d.relo_idx,
        d.kind,
        d.local,
        d.target.as_deref().map(strip),
        f,
        d.error().is_some(),
        d.poisoned()
    )
}

/// A libbpf decision (from its log), target type id and raw indices left out.
pub fn libbpf_view(d: &libbpf_oracle::Decision) -> String {
    let matching = d.candidates.iter().filter(|c| c.matching).count();
    format!("{} ({matching} matching)", libbpf_decision_view(d))
}

/// [`libbpf_view`] without the number of matching candidates: what libbpf decided,
/// not how many equivalent candidates the file held (`bpftool gen min_core_btf`
/// keeps one of several compatible duplicates).
pub fn libbpf_decision_view(d: &libbpf_oracle::Decision) -> String {
    let outcome = match &d.outcome {
        Outcome::Patched(p) => {
            let p: Vec<_> = p
                .iter()
                .map(|p| {
                    let new = if d.kind() == Some("target_type_id") {
                        0
                    } else {
                        p.new
                    };
                    (p.insn, matches!(p.field, PatchField::MemSize), p.old, new)
                })
                .collect();
            format!("patched {p:?}")
        }
        Outcome::Poisoned { insn } => format!("poisoned {insn}"),
        Outcome::Failed { .. } => "failed".to_owned(),
        Outcome::Unfinished => "unfinished".to_owned(),
    };
    let target = d.target().map(|s| {
        (
            s.type_kind.clone(),
            s.type_name.clone(),
            s.access.clone(),
            s.bit_offset,
        )
    });
    format!(
        "{} {:?} relo #{} local {:?} target {target:?} {outcome}",
        d.program,
        d.section,
        d.relo,
        d.local.as_ref().map(|s| &s.text),
    )
}
