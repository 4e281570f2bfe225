//! Tailored BTF: from a full target BTF (a vmlinux, or module BTF split over
//! its base) and CO-RE objects, the smallest BTF under which every relocation
//! of the objects resolves exactly as against the full one (libbpf's rules).
//!
//! What is kept follows bpftool's `gen min_core_btf` (the reference), per
//! relocation and per candidate that matches in the full BTF:
//!
//! - field relocations: the types the target access walks through, with only the
//!   members it names (struct and union sizes kept), and every type those
//!   members reach, pointers not followed (a pointer to a type nothing else
//!   keeps becomes `void *`);
//! - type relocations: the candidate and what it reaches through pointers,
//!   arrays and prototypes (struct members not kept); `type_matches` keeps what
//!   libbpf's matching compares (every member, recursively; behind a pointer a
//!   struct without members);
//! - enumerator relocations: the enum with the enumerators that match.
//!
//! Every candidate that matches is kept, not only the first, so libbpf's
//! ambiguity checks decide the same. Dropping members never makes a candidate
//! match that did not match in the full BTF (matching looks members up by
//! name), so decisions are the same, target type ids and raw member indices
//! aside (bpftool's output renumbers them as well).
//!
//! Split (module) targets: the output is one standalone BTF holding the kept
//! types of base and module ([`tailor`]), which libbpf takes as
//! `btf_custom_path` (libbpf reads no module BTF when a custom BTF is given,
//! and its custom BTF cannot be split); or split BTF over the same, unchanged
//! base ([`Output::SplitOverBase`]), for loaders that are given the base.

pub mod mark;
pub mod release;
pub mod tree;

use std::sync::Arc;

use btfkit_model::{Btf, TypeId};
use btfkit_reloc::relocate::Decision;

pub use mark::Marks;

/// What can keep a tailored BTF from being made (per-relocation failures are
/// not errors: see [`Tailored::failures`]).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The full BTF cannot be read.
    #[error("BTF: {0}")]
    Btf(#[from] btfkit_model::Error),
    /// The tailored BTF would decide some relocation differently from the
    /// full one (a bug, or a split target whose module repeats a base type's
    /// name: then try [`Output::SplitOverBase`]); nothing is returned.
    #[error("{object}: the tailored BTF decides differently from the full one: {detail}")]
    Diverged {
        /// The object's name as given.
        object: String,
        /// The first decision that differs, full then tailored.
        detail: String,
    },
    /// An object cannot be read at all.
    #[error("{object}: {message}")]
    Object {
        /// The object's name as given.
        object: String,
        /// What is wrong with it.
        message: String,
    },
}

/// The form of the output for a split (module) target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Output {
    /// One standalone BTF (base and module types that are kept, together):
    /// what libbpf's `btf_custom_path` accepts.
    #[default]
    Standalone,
    /// Split BTF over the same, unchanged base (type ids of the base kept):
    /// for loaders given the base too (btfkit `--base`, cilium/ebpf).
    SplitOverBase,
}

/// A relocation that does not resolve on the full BTF.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The object's name as given.
    pub object: String,
    /// The engine's decision (with its error).
    pub decision: Decision,
}

/// The result of [`tailor`].
#[derive(Debug, Clone)]
pub struct Tailored {
    /// The tailored BTF, raw (what `/sys/kernel/btf/vmlinux` holds).
    pub btf: Vec<u8>,
    /// Types kept (of the full BTF's own types, or base and module together).
    pub types: usize,
    /// CO-RE relocations seen.
    pub relocations: usize,
    /// Relocations that fail on the full BTF (the tailored BTF serves the others).
    pub failures: Vec<Failure>,
}

/// Tailors `full` (with its base, if split) for `objects` (name, bytes).
///
/// An object that cannot be parsed is an error; a relocation that cannot be
/// resolved is reported in [`Tailored::failures`].
pub fn tailor(
    full: &Btf<'_>,
    objects: &[(&str, &[u8])],
    output: Output,
) -> Result<Tailored, Error> {
    Tailor::new(full).tailor(objects, output)
}

/// A full BTF indexed once (engine target and candidate index), for tailoring
/// several sets of objects against it.
pub struct Tailor<'t> {
    full: &'t Btf<'t>,
    target: btfkit_reloc::Target<'t>,
    cands: mark::Candidates,
}

impl<'t> Tailor<'t> {
    /// Indexes `full`.
    pub fn new(full: &'t Btf<'t>) -> Tailor<'t> {
        Tailor {
            full,
            target: btfkit_reloc::Target::new(full),
            cands: mark::Candidates::new(full),
        }
    }

    /// [`tailor`] with the index built once.
    pub fn tailor(&self, objects: &[(&str, &[u8])], output: Output) -> Result<Tailored, Error> {
        tailor_indexed(self.full, &self.target, &self.cands, objects, output)
    }
}

fn tailor_indexed(
    full: &Btf<'_>,
    target: &btfkit_reloc::Target<'_>,
    cands: &mark::Candidates,
    objects: &[(&str, &[u8])],
    output: Output,
) -> Result<Tailored, Error> {
    let mut marks = Marks::new(full);
    let mut relocations = 0;
    let mut failures = Vec::new();
    let mut decisions = Vec::with_capacity(objects.len());
    for (name, bytes) in objects {
        let obj_err = |message: String| Error::Object {
            object: name.to_string(),
            message,
        };
        let relocated =
            btfkit_reloc::relocate_object(bytes, target).map_err(|e| obj_err(e.to_string()))?;
        relocations += relocated.decisions.len();
        failures.extend(
            relocated
                .decisions
                .iter()
                .filter(|d| failure(d).is_some())
                .map(|decision| Failure {
                    object: name.to_string(),
                    decision: decision.clone(),
                }),
        );
        decisions.push(relocated.decisions);
        mark::mark_object(bytes, full, cands, &mut marks).map_err(obj_err)?;
    }
    let (btf, types) = emit(full, &marks, output)?;
    verify(full, &btf, output, objects, &decisions)?;
    Ok(Tailored {
        btf,
        types,
        relocations,
        failures,
    })
}

/// Why the engine could not resolve or apply `d`, if it could not: the one
/// place that reads how a [`Decision`] says so.
pub fn failure(d: &Decision) -> Option<&str> {
    d.error()
}

/// What of a decision must not change with the tailored BTF: all but the
/// target's type id and raw indices.
fn same_decision(a: &Decision, b: &Decision) -> bool {
    let value = |d: &Decision| {
        d.fixup.as_ref().map(|f| {
            let new = if d.kind == btfkit_model::CoreReloKind::TypeIdTarget {
                0
            } else {
                f.new_val
            };
            (
                f.orig_val,
                new,
                f.poison,
                f.orig_sz,
                f.new_sz,
                f.fail_memsz_adjust,
            )
        })
    };
    a.kind == b.kind
        && a.local == b.local
        && failure(a).is_some() == failure(b).is_some()
        && a.poisoned() == b.poisoned()
        && a.target_type_id.is_some() == b.target_type_id.is_some()
        && value(a) == value(b)
}

/// Relocates every object against the tailored BTF and compares each decision
/// with the full BTF's.
fn verify(
    full: &Btf<'_>,
    btf: &[u8],
    output: Output,
    objects: &[(&str, &[u8])],
    want: &[Vec<Decision>],
) -> Result<(), Error> {
    let tailored = match (output, full.base()) {
        (Output::SplitOverBase, Some(base)) => Btf::parse_split(btf, base.clone())?,
        _ => Btf::parse(btf)?,
    };
    let target = btfkit_reloc::Target::new(&tailored);
    for ((name, bytes), want) in objects.iter().zip(want) {
        let diverged = |detail: String| Error::Diverged {
            object: name.to_string(),
            detail,
        };
        let got = btfkit_reloc::relocate_object(bytes, &target)
            .map_err(|e| diverged(e.to_string()))?
            .decisions;
        if got.len() != want.len() {
            return Err(diverged(format!(
                "{} decisions, not {}",
                got.len(),
                want.len()
            )));
        }
        // A relocation that fails on the full BTF is reported, not reproduced
        // (a corrupt candidate it trips over need not be kept).
        if let Some((a, b)) = want
            .iter()
            .zip(&got)
            .find(|(a, b)| failure(a).is_none() && !same_decision(a, b))
        {
            return Err(diverged(format!("{a} / {b}")));
        }
    }
    Ok(())
}

/// Tailored BTF for `objects` (raw object bytes) from the raw bytes of a full
/// BTF (split over `base` when given), as bytes: the function the kernel
/// selftests' `btfgen` variant calls.
pub fn tailor_bytes(full: &[u8], base: Option<&[u8]>, objects: &[&[u8]]) -> Result<Vec<u8>, Error> {
    let btf = match base {
        None => Btf::parse(full)?,
        Some(b) => Btf::parse_split(full, Arc::new(Btf::parse(b)?))?,
    };
    let named: Vec<(String, &[u8])> = objects
        .iter()
        .enumerate()
        .map(|(i, o)| (format!("object #{i}"), *o))
        .collect();
    let named: Vec<(&str, &[u8])> = named.iter().map(|(n, o)| (n.as_str(), *o)).collect();
    Ok(tailor(&btf, &named, Output::Standalone)?.btf)
}

/// A split BTF and its base as one standalone BTF, every type whole (base
/// ids kept, module ids following): what libbpf's `btf_custom_path` reads,
/// for a module's full BTF.
pub fn flatten(full: &Btf<'_>) -> Result<Vec<u8>, Error> {
    Ok(emit(full, &Marks::everything(full), Output::Standalone)?.0)
}

/// Writes the marked types: ids renumbered in their order, references to types
/// not kept become `void` (0).
fn emit(full: &Btf<'_>, marks: &Marks, output: Output) -> Result<(Vec<u8>, usize), Error> {
    let split_over_base = output == Output::SplitOverBase && full.base().is_some();
    let mut out = match (split_over_base, full.base()) {
        (true, Some(base)) => Btf::new_split(base.clone()),
        _ => Btf::new_with_endian(full.endian()),
    };
    let kept: Vec<TypeId> = marks
        .kept()
        .filter(|&id| !split_over_base || id >= full.start_id())
        .collect();
    // old id → new id.
    let map: std::collections::HashMap<TypeId, TypeId> =
        kept.iter().copied().zip(out.start_id()..).collect();
    let remap = |id: TypeId| -> TypeId {
        if split_over_base && id < full.start_id() {
            id
        } else {
            map.get(&id).copied().unwrap_or(0)
        }
    };
    for &id in &kept {
        let t = full.type_by_id(id)?;
        let name = full.name(t.name_off())?;
        let new = mark::rewrite(full, &t, name, marks, &remap)?;
        out.add(&new)?;
    }
    Ok((out.to_bytes(), kept.len()))
}
