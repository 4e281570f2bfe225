//! Relocating a whole object for a target: walks `.BTF.ext` core_relo records
//! in libbpf's order, finds and caches candidates, computes each fixup, patches
//! the instruction and reports every decision.

use std::collections::{HashMap, HashSet};
use std::fmt;

use btfkit_model::{Btf, BtfExt, CoreReloKind, Kind, TypeId};
use btfkit_object::BpfObject;

use crate::compute::{calc, kinds_compat, match_candidate, Fixup};
use crate::patch::{patch_insn, Patched, PoisonCause};
use crate::reachability::{poisoned_reach, Guard, Reach};
use crate::spec::{
    essential_name, essential_name_len, field_desc, format_spec, parse_spec, spec_name, Spec,
};
use crate::Error;

/// A target BTF with its candidate index (built once, reused for every object).
///
/// Unflavored names are found through the model's name index; the few target
/// types whose own names carry a `___flavor` are indexed by essential name here.
pub struct Target<'t> {
    btf: &'t Btf<'t>,
    /// essential name → ids of target types whose names have a flavor.
    flavored: HashMap<&'t str, Vec<TypeId>>,
}

/// Appends every string in `table` whose essential name is shorter.
///
/// Only strings holding `___` can have a flavor: the table is searched for
/// that (SIMD `memmem`), not walked string by string.
fn flavored_names<'s>(table: &'s [u8], out: &mut Vec<&'s str>) {
    let finder = memchr::memmem::Finder::new(b"___");
    let mut from = 0usize;
    while let Some(hit) = table.get(from..).and_then(|rest| finder.find(rest)) {
        let hit = from + hit;
        let start = memchr::memrchr(0, &table[..hit]).map_or(0, |nul| nul + 1);
        let end = memchr::memchr(0, &table[hit..]).map_or(table.len(), |nul| hit + nul);
        if let Ok(name) = std::str::from_utf8(&table[start..end]) {
            if essential_name_len(name) < name.len() {
                out.push(name);
            }
        }
        from = end + 1;
    }
}

impl<'t> Target<'t> {
    /// Indexes `btf` (a vmlinux, or split module BTF over its base).
    pub fn new(btf: &'t Btf<'t>) -> Target<'t> {
        let mut names = Vec::new();
        if let Some(base) = btf.base() {
            flavored_names(base.string_section(), &mut names);
        }
        flavored_names(btf.string_section(), &mut names);
        // A name may be stored more than once (base and split): look each up once.
        names.sort_unstable();
        names.dedup();
        let mut flavored: HashMap<&'t str, Vec<TypeId>> = HashMap::new();
        for name in names {
            let ids = btf.find_by_name(name);
            if !ids.is_empty() {
                flavored
                    .entry(essential_name(name))
                    .or_default()
                    .extend(ids);
            }
        }
        for ids in flavored.values_mut() {
            ids.sort_unstable();
        }
        Target { btf, flavored }
    }

    /// The target BTF.
    pub fn btf(&self) -> &'t Btf<'t> {
        self.btf
    }

    /// Candidates for a local type of `kind` named `name` (flavor ignored), of
    /// a kind libbpf deems compatible (`btf_kind_core_compat`: the same, or
    /// ENUM and ENUM64 either way): the base's first; a split target's own
    /// types only when the base has none.
    fn candidates(&self, kind: Kind, name: &str) -> Vec<TypeId> {
        let essential = essential_name(name);
        let mut ids = self.btf.find_by_name(essential);
        if let Some(more) = self.flavored.get(essential) {
            ids.extend(more);
            ids.sort_unstable();
        }
        let of_kind: Vec<TypeId> = ids
            .into_iter()
            .filter(|&id| {
                self.btf
                    .type_by_id(id)
                    .is_ok_and(|t| kinds_compat(t.kind(), kind))
            })
            .collect();
        let split_start = self.btf.start_id();
        let base: Vec<TypeId> = of_kind
            .iter()
            .copied()
            .filter(|&id| id < split_start)
            .collect();
        if !base.is_empty() {
            base
        } else {
            of_kind
        }
    }
}

/// What happened to one relocation's instruction: decided by the patch step,
/// and the only thing reports (`explain`, `relocate`, `check`) may show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The instruction holds the target's value.
    Applied {
        /// The local value (the fixup's original value).
        old: u64,
        /// The target's value now in the instruction.
        new: u64,
        /// libbpf's log text of the patch (`patched insn #6 (LDX/ST/STX) off 40 -> 48`).
        note: String,
    },
    /// The instruction was replaced by `call 0xbad2310`, which the verifier
    /// rejects if it is reachable.
    Poisoned {
        /// Why, in libbpf's terms.
        reason: String,
    },
    /// The relocation failed: the object cannot be relocated for this target.
    Failed {
        /// Why.
        reason: String,
    },
}

/// One relocation's decision, as `btfkit explain` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// ELF section of the instruction.
    pub section: String,
    /// The program (function) holding the instruction, as libbpf names it.
    pub prog: String,
    /// Instruction index within that program.
    pub insn: usize,
    /// Instruction index within its ELF section (`insn_off / 8` of the record).
    pub section_insn: usize,
    /// Index of the record within its section's core_relo records (libbpf's `relo #N`).
    pub relo_idx: usize,
    /// The kind.
    pub kind: CoreReloKind,
    /// Local type and access, C-like (`[15] struct task_struct.tgid (0:1 @ offset 16)`).
    pub local: String,
    /// The raw access string.
    pub access: String,
    /// The chosen target type and its spec, if any.
    pub target_type_id: Option<TypeId>,
    /// Target spec, C-like.
    pub target: Option<String>,
    /// The values computed for the relocation (absent when it could not be
    /// resolved). What was done with them is [`Decision::outcome`]: a fixup
    /// without `poison` may still have been poisoned by the patch step.
    pub fixup: Option<Fixup>,
    /// What happened to the instruction.
    pub outcome: Outcome,
    /// For a poisoned instruction: whether the verifier may reach it once the
    /// relocated constants decide the branches ([`crate::reachability`]).
    pub reachability: Option<Reachability>,
}

/// Whether a poisoned instruction can be reached (then the program fails to load).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reachability {
    /// Some path reaches it: the verifier rejects the program.
    Reachable,
    /// No path reaches it.
    Unreachable {
        /// Why, e.g. `guarded by insn 74 field_exists sock.sk_ino = 0 (jump at insn 75)`.
        guard: String,
        /// Only with the object's own `.rodata` contents (which the verifier
        /// reads as constants): a loader that changes them first may reach it.
        rodata: bool,
    },
}

impl Decision {
    /// The relocation was applied as a value (not poisoned, not failed).
    pub fn ok(&self) -> bool {
        matches!(self.outcome, Outcome::Applied { .. })
    }

    /// The instruction was poisoned.
    pub fn poisoned(&self) -> bool {
        matches!(self.outcome, Outcome::Poisoned { .. })
    }

    /// Why the relocation failed, if it did.
    pub fn error(&self) -> Option<&str> {
        match &self.outcome {
            Outcome::Failed { reason } => Some(reason),
            _ => None,
        }
    }

    /// The instruction is poisoned and the verifier may reach it.
    pub fn poisoned_reachable(&self) -> bool {
        self.poisoned() && !matches!(self.reachability, Some(Reachability::Unreachable { .. }))
    }

    /// Why the instruction was poisoned or the relocation failed.
    pub fn reason(&self) -> Option<&str> {
        match &self.outcome {
            Outcome::Applied { .. } => None,
            Outcome::Poisoned { reason } | Outcome::Failed { reason } => Some(reason),
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "prog '{}': relo #{}: <{}> {}",
            self.prog, self.relo_idx, self.kind, self.local
        )?;
        let to = self.target.as_deref().unwrap_or("no target");
        match &self.outcome {
            Outcome::Failed { reason } => write!(f, ": error: {reason}"),
            Outcome::Poisoned { reason } => write!(f, " => {to}: poisoned: {reason}"),
            Outcome::Applied { old, new, .. } => write!(f, " => {to}: {}={old}->{new}", self.kind),
        }
    }
}

/// Counts of a relocated object's decisions by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutcomeCounts {
    /// Applied relocations.
    pub applied: usize,
    /// Poisoned instructions.
    pub poisoned: usize,
    /// Failed relocations.
    pub failed: usize,
}

/// Most core_relo records relocated in one object (a documented limit; the
/// model's [`btfkit_model::ext::MAX_EXT_RECORDS`] bounds each subsection too).
pub const MAX_CORE_RELOS: usize = 1 << 20;

/// Longest access string accepted, in bytes: [`crate::spec::MAX_SPEC_LEN`]
/// indices of up to 10 digits and their separators fit.
pub const MAX_ACCESS_STR_LEN: usize = 1024;

/// Longest name or description kept in a [`Decision`], in bytes: past it the
/// text is cut (with `...`), so hostile names cannot multiply memory by the
/// number of records.
pub const MAX_REPORT_NAME_LEN: usize = 512;

/// `s`, cut to [`MAX_REPORT_NAME_LEN`] bytes on a character boundary.
fn report_name(s: &str) -> String {
    if s.len() <= MAX_REPORT_NAME_LEN {
        return s.to_string();
    }
    let mut end = MAX_REPORT_NAME_LEN - 3;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

/// A relocated object: patched program sections and the decisions.
#[derive(Debug, Clone)]
pub struct Relocated {
    /// (section index, patched instruction bytes) for every section with records.
    pub sections: Vec<(usize, Vec<u8>)>,
    /// One decision per core_relo record, in libbpf's order.
    pub decisions: Vec<Decision>,
}

impl Relocated {
    /// Counts of the decisions by outcome.
    pub fn counts(&self) -> OutcomeCounts {
        let mut c = OutcomeCounts::default();
        for d in &self.decisions {
            match d.outcome {
                Outcome::Applied { .. } => c.applied += 1,
                Outcome::Poisoned { .. } => c.poisoned += 1,
                Outcome::Failed { .. } => c.failed += 1,
            }
        }
        c
    }
}

/// Relocates every CO-RE record of `object` for `target`.
pub fn relocate_object(object: &[u8], target: &Target<'_>) -> Result<Relocated, Error> {
    let obj = BpfObject::parse(object)?;
    let btf_bytes = obj
        .btf()
        .ok_or_else(|| Error::Input("the object has no .BTF section".into()))?;
    let local = Btf::parse(btf_bytes).map_err(|e| Error::Input(format!(".BTF: {e}")))?;
    let Some(ext_bytes) = obj.btf_ext() else {
        return Ok(Relocated {
            sections: Vec::new(),
            decisions: Vec::new(),
        });
    };
    // The model's .BTF.ext errors already say ".BTF.ext: ".
    let ext = BtfExt::parse(ext_bytes).map_err(|e| match e {
        btfkit_model::Error::Ext(_) => Error::Input(e.to_string()),
        e => Error::Input(format!(".BTF.ext: {e}")),
    })?;
    if ext.core_relo.len() > MAX_CORE_RELOS {
        return Err(Error::Input(format!(
            ".BTF.ext has {} core_relo records, more than {MAX_CORE_RELOS} (MAX_CORE_RELOS)",
            ext.core_relo.len()
        )));
    }
    let endian = obj.endian();
    // libbpf's per-object candidate cache, pruned to the candidates that matched.
    let mut cands: HashMap<TypeId, Vec<TypeId>> = HashMap::new();
    let mut sections = Vec::new();
    let mut decisions = Vec::new();
    for sec in &ext.core_relo.sections {
        let sec_name = local
            .name(sec.sec_name_off)
            .map_err(|e| Error::Input(format!(".BTF.ext core_relo section name: {e}")))?;
        let prog = obj.program_section_by_name(sec_name).ok_or_else(|| {
            Error::Input(format!(
                ".BTF.ext names section {sec_name:?}, which the object does not have"
            ))
        })?;
        let mut insns = prog.insns.to_vec();
        for (relo_idx, rec) in sec.records.iter().enumerate() {
            let (prog_name, insn) = match obj.locate_insn(prog.section_index, rec.insn_off as u64) {
                Ok(loc) => (loc.function.to_string(), loc.insn_index),
                Err(_) => (sec_name.to_string(), rec.insn_off as usize / 8),
            };
            let section_insn = rec.insn_off as usize / 8;
            let access = local.name(rec.access_str_off);
            let mut d = Decision {
                section: report_name(sec_name),
                prog: report_name(&prog_name),
                insn,
                section_insn,
                relo_idx,
                kind: rec.kind,
                local: String::new(),
                access: report_name(access.as_deref().unwrap_or("?")),
                target_type_id: None,
                target: None,
                fixup: None,
                outcome: Outcome::Failed {
                    reason: String::new(),
                },
                reachability: None,
            };
            let problem = if rec.insn_off % 8 != 0 {
                Some(format!(
                    "instruction offset {} is not a multiple of 8",
                    rec.insn_off
                ))
            } else if section_insn >= insns.len() / 8 {
                Some(format!(
                    "instruction offset {} is past the end of section {} ({} instructions)",
                    rec.insn_off,
                    d.section,
                    insns.len() / 8
                ))
            } else {
                match access {
                    Err(e) => Some(format!("access string: {e}")),
                    Ok(a) if a.len() > MAX_ACCESS_STR_LEN => Some(format!(
                        "access string of {} bytes is longer than {MAX_ACCESS_STR_LEN} (MAX_ACCESS_STR_LEN)",
                        a.len()
                    )),
                    Ok(_) => None,
                }
            };
            if let Some(problem) = problem {
                d.local = format!("[{}]", rec.type_id);
                d.outcome = Outcome::Failed { reason: problem };
                decisions.push(d);
                continue;
            }
            match resolve(&local, target, rec.type_id, &d.access, rec.kind, &mut cands) {
                Ok(r) => {
                    d.local = report_name(&format_spec(&local, &r.local, rec.kind));
                    if let Some(t) = &r.target {
                        d.target_type_id = Some(t.root_type_id);
                        d.target = Some(report_name(&format_spec(target.btf, t, rec.kind)));
                    }
                    d.outcome = match patch_insn(&mut insns, section_insn, &r.fixup, endian) {
                        Ok(Patched::Applied(note)) => Outcome::Applied {
                            old: r.fixup.orig_val,
                            new: r.fixup.new_val,
                            note,
                        },
                        Ok(Patched::Poisoned(cause)) => Outcome::Poisoned {
                            reason: report_name(&poison_reason(&local, target.btf, &r, cause)),
                        },
                        Err(e) => Outcome::Failed {
                            reason: report_name(&e.to_string()),
                        },
                    };
                    d.fixup = Some(r.fixup);
                }
                Err((local_desc, e)) => {
                    d.local = report_name(&local_desc);
                    d.outcome = Outcome::Failed {
                        reason: report_name(&e.to_string()),
                    };
                }
            }
            decisions.push(d);
        }
        sections.push((prog.section_index, insns));
    }
    mark_reachability(&obj, &sections, &mut decisions);
    Ok(Relocated {
        sections,
        decisions,
    })
}

/// Sets [`Decision::reachability`] of every poisoned instruction.
fn mark_reachability(
    obj: &BpfObject<'_>,
    sections: &[(usize, Vec<u8>)],
    decisions: &mut [Decision],
) {
    let section_of = |name: &str| obj.program_section_by_name(name).map(|p| p.section_index);
    let mut applied = HashSet::new();
    let mut guards: HashMap<(usize, usize), String> = HashMap::new();
    let mut poisoned = Vec::new();
    let mut poisoned_at = Vec::new();
    for (n, d) in decisions.iter().enumerate() {
        let Some(sec) = section_of(&d.section) else {
            continue;
        };
        match &d.outcome {
            Outcome::Applied { new, .. } => {
                applied.insert((sec, d.section_insn));
                let name = d
                    .local
                    .split_once("] ")
                    .map_or(d.local.as_str(), |(_, rest)| rest);
                let name = name.split(" (").next().unwrap_or(name);
                let name = name.split_once(' ').map_or(name, |(_, n)| n);
                guards.insert(
                    (sec, d.section_insn),
                    format!("insn {} {} {name} = {new}", d.insn, d.kind.short_name()),
                );
            }
            Outcome::Poisoned { .. } => {
                poisoned.push((sec, d.section_insn));
                poisoned_at.push(n);
            }
            Outcome::Failed { .. } => {}
        }
    }
    if poisoned.is_empty() {
        return;
    }
    let reach = poisoned_reach(obj, sections, &applied, &poisoned);
    for (n, r) in poisoned_at.into_iter().zip(reach) {
        let guard = |g: Guard| match g {
            Guard::Branch { jump, relo } => {
                let sec = section_of(&decisions[n].section).unwrap_or(0);
                let jump = obj
                    .locate_insn(sec, (jump * 8) as u64)
                    .map_or(jump, |l| l.insn_index);
                match relo.and_then(|r| guards.get(&r)) {
                    Some(g) => format!("guarded by {g} (jump at insn {jump})"),
                    None => format!("guarded by the jump at insn {jump}"),
                }
            }
            Guard::NotCalled => "its function is called from no reachable instruction".into(),
            Guard::Other => {
                "no path reaches it once the relocated constants decide the branches".into()
            }
        };
        decisions[n].reachability = Some(match r {
            Reach::Reachable => Reachability::Reachable,
            Reach::Unreachable(g) => Reachability::Unreachable {
                guard: guard(g),
                rodata: false,
            },
            Reach::UnreachableWithRodata(g) => Reachability::Unreachable {
                guard: format!(
                    "{} with the object's .rodata values; reachable if a loader changes them",
                    guard(g)
                ),
                rodata: true,
            },
        });
    }
}

/// A resolved relocation: the local spec, the chosen target spec, the fixup,
/// and how many target types of the local type's name and kind were looked at.
struct Resolved {
    local: Spec,
    target: Option<Spec>,
    fixup: Fixup,
    candidates: usize,
}

/// Why the patch step poisoned a relocation's instruction, in libbpf's terms.
fn poison_reason(lb: &Btf<'_>, tb: &Btf<'_>, r: &Resolved, cause: PoisonCause) -> String {
    let kind = r.fixup.kind;
    match cause {
        PoisonCause::MemSize { class, insn_bytes } => {
            let what = if class == 0x01 { "load" } else { "store" };
            let name = match &r.target {
                Some(t) => spec_name(tb, t, kind),
                None => spec_name(lb, &r.local, kind),
            };
            let name = name.split_once(' ').map_or(name.as_str(), |(_, n)| n);
            let theirs = r.target.as_ref().map_or("?".into(), |t| field_desc(tb, t));
            let digits: String = theirs.chars().take_while(char::is_ascii_digit).collect();
            let article = if digits.starts_with('8') || digits == "11" || digits == "18" {
                "an"
            } else {
                "a"
            };
            format!(
                "field {name}: {insn_bytes}-byte {what} of {article} {theirs} field cannot be resized \
                 (local field: {}; only pointers and unsigned ints are resized)",
                field_desc(lb, &r.local)
            )
        }
        PoisonCause::NoTarget => {
            let local = spec_name(lb, &r.local, kind);
            let root = local.split(['.', ':']).next().unwrap_or(&local).to_string();
            if r.candidates == 0 {
                format!("no target type matches {local}: the target has no {root}")
            } else {
                format!(
                    "no target type matches {local}: none of the {} target candidate(s) for {root} has it",
                    r.candidates
                )
            }
        }
    }
}

/// libbpf's `bpf_core_calc_relo_insn`: local spec, candidates, matching, ambiguity.
fn resolve(
    local: &Btf<'_>,
    target: &Target<'_>,
    type_id: TypeId,
    access: &str,
    kind: CoreReloKind,
    cache: &mut HashMap<TypeId, Vec<TypeId>>,
) -> Result<Resolved, (String, Error)> {
    let local_desc = |s: &str| format!("[{type_id}] {s}");
    let spec = parse_spec(local, type_id, access, kind).map_err(|e| (local_desc(access), e))?;
    let desc = format_spec(local, &spec, kind);
    if kind == CoreReloKind::TypeIdLocal {
        let f = Fixup {
            kind,
            orig_val: type_id as u64,
            new_val: type_id as u64,
            poison: false,
            validate: true,
            fail_memsz_adjust: false,
            orig_sz: 0,
            new_sz: 0,
        };
        return Ok(Resolved {
            local: spec,
            target: None,
            fixup: f,
            candidates: 0,
        });
    }
    let lt = local
        .type_by_id(type_id)
        .map_err(|e| (desc.clone(), e.into()))?;
    let name = local
        .name(lt.name_off())
        .map_err(|e| (desc.clone(), e.into()))?;
    if essential_name_len(name) == 0 {
        return Err((
            desc,
            Error::Spec(format!(
                "<{kind}> relocations of anonymous types are not supported"
            )),
        ));
    }
    let cands = cache
        .entry(type_id)
        .or_insert_with(|| target.candidates(lt.kind(), name))
        .clone();
    let mut chosen: Option<(crate::spec::Spec, Fixup)> = None;
    let mut matched = Vec::new();
    for &cand in &cands {
        let Some(tspec) =
            match_candidate(local, &spec, kind, target.btf, cand).map_err(|e| (desc.clone(), e))?
        else {
            continue;
        };
        let f =
            calc(local, &spec, target.btf, Some(&tspec), kind).map_err(|e| (desc.clone(), e))?;
        match &chosen {
            None => chosen = Some((tspec, f)),
            Some((first, ff)) => {
                if kind.is_field() && tspec.bit_offset != first.bit_offset {
                    return Err((
                        desc,
                        Error::Ambiguous(format!(
                            "field offset ambiguity: {} != {} (candidates [{}] and [{}])",
                            first.bit_offset / 8,
                            tspec.bit_offset / 8,
                            first.root_type_id,
                            cand
                        )),
                    ));
                }
                if f.poison != ff.poison || f.new_val != ff.new_val {
                    return Err((
                        desc,
                        Error::Ambiguous(format!(
                            "relocation decision ambiguity: {} != {} (candidates [{}] and [{}])",
                            ff.new_val, f.new_val, first.root_type_id, cand
                        )),
                    ));
                }
            }
        }
        matched.push(cand);
    }
    if !matched.is_empty() {
        cache.insert(type_id, matched);
    }
    let (target_spec, fixup) = match chosen {
        Some((t, f)) => (Some(t), f),
        None => (
            None,
            calc(local, &spec, target.btf, None, kind).map_err(|e| (desc.clone(), e))?,
        ),
    };
    Ok(Resolved {
        local: spec,
        target: target_spec,
        fixup,
        candidates: cands.len(),
    })
}
