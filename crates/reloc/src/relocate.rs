//! Relocating a whole object for a target: walks `.BTF.ext` core_relo records
//! in libbpf's order, finds and caches candidates, computes each fixup, patches
//! the instruction and reports every decision.

use std::collections::HashMap;
use std::fmt;

use btfkit_model::{Btf, BtfExt, CoreReloKind, Kind, TypeId};
use btfkit_object::BpfObject;

use crate::compute::{calc, match_candidate, Fixup};
use crate::patch::patch_insn;
use crate::spec::{essential_name, essential_name_len, format_spec, parse_spec};
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

    /// Candidates for a local type of `kind` named `name` (flavor ignored): the
    /// base's first; a split target's own types only when the base has none.
    fn candidates(&self, kind: Kind, name: &str) -> Vec<TypeId> {
        let essential = essential_name(name);
        let mut ids = self.btf.find_by_name(essential);
        if let Some(more) = self.flavored.get(essential) {
            ids.extend(more);
            ids.sort_unstable();
        }
        let of_kind: Vec<TypeId> = ids
            .into_iter()
            .filter(|&id| self.btf.type_by_id(id).is_ok_and(|t| t.kind() == kind))
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

/// One relocation's decision, as `btfkit explain` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// ELF section of the instruction.
    pub section: String,
    /// The program (function) holding the instruction, as libbpf names it.
    pub prog: String,
    /// Instruction index within that program.
    pub insn: usize,
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
    /// The fixup (absent on failure).
    pub fixup: Option<Fixup>,
    /// What patching did.
    pub patched: Option<String>,
    /// Why it failed, in plain words (absent on success).
    pub error: Option<String>,
}

impl Decision {
    /// The relocation was applied as a value (not poisoned, no error).
    pub fn ok(&self) -> bool {
        self.error.is_none() && self.fixup.as_ref().is_some_and(|f| !f.poison)
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "prog '{}': relo #{}: <{}> {}",
            self.prog, self.relo_idx, self.kind, self.local
        )?;
        match (&self.target, &self.fixup, &self.error) {
            (_, _, Some(e)) => write!(f, ": error: {e}"),
            (Some(t), Some(x), None) => write!(f, " => {t}: {x}"),
            (None, Some(x), None) => write!(f, " => no target: {x}"),
            _ => Ok(()),
        }
    }
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
                relo_idx,
                kind: rec.kind,
                local: String::new(),
                access: report_name(access.as_deref().unwrap_or("?")),
                target_type_id: None,
                target: None,
                fixup: None,
                patched: None,
                error: None,
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
                d.error = Some(problem);
                decisions.push(d);
                continue;
            }
            match resolve(&local, target, rec.type_id, &d.access, rec.kind, &mut cands) {
                Ok((local_spec, targ, fixup)) => {
                    d.local = report_name(&format_spec(&local, &local_spec, rec.kind));
                    if let Some(t) = &targ {
                        d.target_type_id = Some(t.root_type_id);
                        d.target = Some(report_name(&format_spec(target.btf, t, rec.kind)));
                    }
                    match patch_insn(&mut insns, section_insn, &fixup, endian) {
                        Ok(note) => d.patched = Some(note),
                        Err(e) => d.error = Some(e.to_string()),
                    }
                    d.fixup = Some(fixup);
                }
                Err((local_desc, e)) => {
                    d.local = report_name(&local_desc);
                    d.error = Some(report_name(&e.to_string()));
                }
            }
            decisions.push(d);
        }
        sections.push((prog.section_index, insns));
    }
    Ok(Relocated {
        sections,
        decisions,
    })
}

type Resolved = (crate::spec::Spec, Option<crate::spec::Spec>, Fixup);

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
        return Ok((spec, None, f));
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
    match chosen {
        Some((t, f)) => Ok((spec, Some(t), f)),
        None => {
            let f = calc(local, &spec, target.btf, None, kind).map_err(|e| (desc.clone(), e))?;
            Ok((spec, None, f))
        }
    }
}
