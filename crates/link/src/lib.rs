//! The link step: turns btfkit's query markers in a compiled BPF object into
//! standard `.BTF` and `.BTF.ext` CO-RE records that libbpf, aya and
//! cilium/ebpf load unchanged.
//!
//! [`link`] reads the type descriptors in `.btfkit.types`, finds every
//! `call -1` to a `btfkit:v1:...` marker, builds local BTF for the types the
//! queries reach (laid out and named as clang would for the equivalent C),
//! adds one `core_relo` record per marker with clang's access string,
//! replaces the call with `mov32 w0, <local value>` (`mov64` for a signed
//! enumerator; the value libbpf computes for the local type), and removes
//! every trace of the mechanism:
//! marker symbols and relocations, the `.btfkit.types` section with its
//! symbols, and its DATASEC/VARs in `.BTF`. Unless asked to keep it
//! ([`LinkOptions::keep_debug`]), rustc's DWARF goes too ([`strip_debug`]).
//!
//! Divergences from clang, by design:
//! - Markers become `mov32`/`mov64` (one slot) where clang uses `ld_imm64`
//!   (two slots) for type-id and enum queries; libbpf patches both forms. An
//!   enumerator's value must therefore fit 32 bits (signed for a signed enum,
//!   unsigned otherwise), locally and in the target: loaders write only the
//!   low 32 bits of the target's value into an ALU immediate.
//! - For bitfields, `byte_off`/`byte_sz` local values follow libbpf's local
//!   computation (smallest aligned load of the storage type's size); clang
//!   uses the record's alignment. libbpf does not validate bitfield values.
//! - Integer names follow their size and sign (`int`, `unsigned long long`,
//!   `char` for `i8`); C typedefs (`pid_t`) are not reproduced.

mod access;
mod btf_edit;
mod debug_info;
mod descriptor;
mod error;
mod layout;
mod line_info;
mod local;
mod query;

use std::collections::{BTreeMap, HashMap, HashSet};

use btfkit_model::{Btf, BtfExt, CoreRelo, CoreReloKind, Kind, TypeId};
use btfkit_object::{BpfObject, Insn, ObjectRewriter, INSN_SIZE, R_BPF_64_32};

pub use access::{resolve, LocalValue, Resolution};
pub use debug_info::strip_debug;
pub use descriptor::{
    parse_record, parse_section, parse_section_at, Body, Descriptor, Enumerator, Field, TypeRef,
    RECORD_PREFIX, TYPES_SECTION,
};
pub use error::{LinkError, Result};
pub use layout::{Layout, MemberLayout, TypeTable};
pub use local::{float_name, int_name, Planned, ARRAY_INDEX_TYPE_NAME};
pub use query::{parse_marker, Access, Query, Segment, MARKER_PREFIX, MARKER_PREFIX_V1};

/// One CO-RE record the link step added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedRelocation {
    /// ELF section of the instruction.
    pub section: String,
    /// Byte offset of the instruction in the section.
    pub insn_off: u32,
    /// The relocation kind.
    pub kind: CoreReloKind,
    /// Local BTF id of the root type.
    pub type_id: TypeId,
    /// Name of the root type.
    pub type_name: String,
    /// clang's access string.
    pub access: String,
    /// The local value written into the move's immediate (libbpf's 64-bit view).
    pub local_value: u64,
    /// The marker symbol it came from.
    pub marker: String,
}

/// `mov32 w0, imm` (BPF_ALU | BPF_MOV | BPF_K).
const MOV32_IMM: u8 = 0xb4;
/// `mov64 r0, imm` (BPF_ALU64 | BPF_MOV | BPF_K).
const MOV64_IMM: u8 = 0xb7;

/// The instruction that replaces a marker call, as (opcode, immediate).
///
/// Every CO-RE value but a signed enumerator's is an unsigned 32-bit number
/// (offsets, sizes, shifts, 0/1 answers, type ids, unsigned enumerators):
/// `mov32` zero-extends it into r0, so whatever a loader patches in, the upper
/// half of r0 is zero, which the `btf` crate tells the compiler. A signed
/// enumerator's value becomes `mov64`, which sign-extends. Loaders patch the
/// immediate of either class (libbpf, aya and cilium/ebpf accept ALU and
/// ALU64). `None` when the local value does not fit 32 bits.
fn marker_mov(value: u64, signed: bool) -> Option<(u8, i32)> {
    if signed {
        i32::try_from(value as i64).ok().map(|imm| (MOV64_IMM, imm))
    } else {
        // libbpf views a 32-bit enumerator's value sign-extended to 64 bits;
        // its low half is the unsigned value.
        let low = u32::try_from(value)
            .ok()
            .or_else(|| i32::try_from(value as i64).ok().map(|v| v as u32))?;
        Some((MOV32_IMM, low as i32))
    }
}

/// The result of [`link`].
#[derive(Debug, Clone)]
pub struct LinkOutput {
    /// The linked ELF object.
    pub object: Vec<u8>,
    /// The records added, in section and instruction order.
    pub relocations: Vec<LinkedRelocation>,
    /// Type descriptor records read.
    pub descriptors: usize,
    /// Ids of the local types appended to `.BTF` (empty when none).
    pub local_types: std::ops::Range<TypeId>,
    /// Types removed from `.BTF` (the `.btfkit.types` DATASEC and its VARs,
    /// and what no record, func_info or data section reaches).
    pub removed_btf_types: usize,
    /// `.BTF` was created (the object had none).
    pub created_btf: bool,
    /// `.BTF.ext` was created (the object had none).
    pub created_btf_ext: bool,
}

/// A marker call site.
struct Site {
    section_index: usize,
    section: String,
    offset: u64,
    symbol: String,
}

fn model_endian(e: btfkit_object::Endian) -> btfkit_model::Endian {
    match e {
        btfkit_object::Endian::Little => btfkit_model::Endian::Little,
        btfkit_object::Endian::Big => btfkit_model::Endian::Big,
    }
}

/// The `call -1` of a marker: `BPF_JMP | BPF_CALL`, src_reg 1 (pseudo call), imm -1.
fn is_marker_call(insn: &Insn) -> bool {
    insn.code == 0x85 && insn.src_reg == 1 && insn.dst_reg == 0 && insn.off == 0 && insn.imm == -1
}

/// Finds every relocation against a marker and checks its instruction.
fn find_sites(object: &BpfObject<'_>) -> Result<Vec<Site>> {
    let endian = object.endian();
    let mut sites = Vec::new();
    for rel in object.relocation_sections() {
        let Some(target) = object.section(rel.target_section) else {
            continue;
        };
        for r in &rel.relocations {
            if !r.symbol_name.starts_with(MARKER_PREFIX) {
                continue;
            }
            let site_error = |message: String| LinkError::MarkerSite {
                section: target.name.to_string(),
                insn: r.offset / INSN_SIZE as u64,
                offset: r.offset,
                symbol: r.symbol_name.to_string(),
                message,
            };
            if !target.is_alloc() {
                // Debug info may mention a marker; that relocation is dropped
                // with the symbol.
                continue;
            }
            if !target.is_executable() {
                return Err(site_error(
                    "a marker is referenced from a section that is not a program".into(),
                ));
            }
            if let Some(symbol) = object.symbol(r.symbol_index) {
                if !symbol.is_undefined() {
                    return Err(site_error(
                        "the marker symbol is defined; markers must be undefined functions".into(),
                    ));
                }
            }
            if r.r_type != R_BPF_64_32 {
                return Err(site_error(format!(
                    "relocation type {} is not R_BPF_64_32 (a call)",
                    r.r_type
                )));
            }
            let at = usize::try_from(r.offset).unwrap_or(usize::MAX);
            let bytes: [u8; INSN_SIZE] = target
                .data
                .get(at..at.saturating_add(INSN_SIZE))
                .and_then(|b| b.try_into().ok())
                .filter(|_| at % INSN_SIZE == 0)
                .ok_or_else(|| {
                    site_error("the relocation is not on an instruction of the section".into())
                })?;
            let insn = Insn::decode(bytes, endian);
            if !is_marker_call(&insn) {
                let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
                return Err(site_error(format!(
                    "expected the marker instruction call -1 (85 10 00 00 ff ff ff ff), found {}",
                    hex.join(" ")
                )));
            }
            sites.push(Site {
                section_index: rel.target_section,
                section: target.name.to_string(),
                offset: r.offset,
                symbol: r.symbol_name.to_string(),
            });
        }
    }
    sites.sort_by_key(|s| (s.section_index, s.offset));
    sites.dedup_by_key(|s| (s.section_index, s.offset));
    Ok(sites)
}

/// Options of [`link_with`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkOptions {
    /// Keep rustc's DWARF (`.debug_*`). By default the link step drops it:
    /// no loader reads it (source lines reach the verifier and bpftool
    /// through `.BTF.ext`), and it makes most of a small program's object.
    pub keep_debug: bool,
}

/// Links `input` (a BPF ELF object from rustc + bpf-linker with btfkit
/// markers) with the default [`LinkOptions`]: see the crate documentation.
pub fn link(input: &[u8]) -> Result<LinkOutput> {
    link_with(input, &LinkOptions::default())
}

/// Links `input` with `options`: see the crate documentation.
pub fn link_with(input: &[u8], options: &LinkOptions) -> Result<LinkOutput> {
    let mut output = link_markers(input)?;
    if !options.keep_debug {
        output.object = strip_debug(&output.object)?;
    }
    Ok(output)
}

/// The link step proper, DWARF kept.
fn link_markers(input: &[u8]) -> Result<LinkOutput> {
    let object = BpfObject::parse(input)?;
    let endian = object.endian();

    // 1. Type descriptors.
    let mut descriptors = Vec::new();
    let mut type_sections = Vec::new();
    for section in object.sections() {
        if section.name == TYPES_SECTION {
            type_sections.push(section.index);
            if !section.is_nobits() {
                let first = descriptors.len();
                descriptors.extend(parse_section_at(section.data, section.index, first)?);
            }
        }
    }
    let descriptor_count = descriptors.len();
    let mut table = TypeTable::new(descriptors)?;

    // 2. Marker call sites and their queries.
    let sites = find_sites(&object)?;
    let marker_symbols: Vec<usize> = object
        .symbols()
        .iter()
        .filter(|s| s.name.starts_with(MARKER_PREFIX))
        .map(|s| s.index)
        .collect();
    if sites.is_empty() && type_sections.is_empty() && marker_symbols.is_empty() {
        return Ok(LinkOutput {
            object: input.to_vec(),
            relocations: Vec::new(),
            descriptors: 0,
            local_types: 0..0,
            removed_btf_types: 0,
            created_btf: false,
            created_btf_ext: false,
        });
    }
    let big_endian = endian == btfkit_object::Endian::Big;
    let mut resolutions: HashMap<String, (Query, Resolution)> = HashMap::new();
    for site in &sites {
        if !resolutions.contains_key(&site.symbol) {
            let query = parse_marker(&site.symbol)?;
            let resolution = resolve(&mut table, &query, &site.symbol, big_endian)?;
            resolutions.insert(site.symbol.clone(), (query, resolution));
        }
    }

    // 3. The object's BTF, without the .btfkit.types DATASEC.
    let original_btf = object.btf();
    let mut removed_btf_types = 0;
    let mut rebuilt = None;
    let mut btf: Btf<'static> = match original_btf {
        Some(bytes) => {
            let parsed = Btf::parse(bytes)?;
            let remove = btf_edit::datasec_and_vars(&parsed, TYPES_SECTION)?;
            if remove.is_empty() {
                Btf::parse_owned(bytes.to_vec())?
            } else {
                removed_btf_types = remove.len();
                let r = btf_edit::remove_types(&parsed, &remove)?;
                rebuilt = Some(r.remap);
                r.btf
            }
        }
        None => Btf::new_with_endian(model_endian(endian)),
    };

    // 4. Local types for the query roots, in order of first use.
    let roots: HashSet<String> = resolutions.values().map(|(_, r)| r.root.clone()).collect();
    let mut planner = local::LocalTypes::new(&mut table, &btf, roots);
    let mut root_ids: HashMap<String, TypeId> = HashMap::new();
    for site in &sites {
        if let Some((_, r)) = resolutions.get(&site.symbol) {
            if !root_ids.contains_key(&r.root) {
                let id = planner.plan_root(&r.root)?;
                root_ids.insert(r.root.clone(), id);
            }
        }
    }
    let (first_new, planned) = planner.finish()?;
    local::add_planned(&mut btf, first_new, &planned)?;
    let local_types = first_new..first_new + planned.len() as u32;

    // 5. .BTF.ext: keep func_info/line_info, add core_relo.
    let created_btf_ext = object.btf_ext().is_none() || original_btf.is_none();
    let mut ext = match (object.btf_ext(), original_btf) {
        (Some(bytes), Some(_)) => BtfExt::parse(bytes)?,
        _ => BtfExt::new(model_endian(endian)),
    };
    if let Some(remap) = &rebuilt {
        for section in &mut ext.func_info.sections {
            for record in &mut section.records {
                record.type_id = remap.get(record.type_id, "a func_info record")?;
            }
        }
        for section in &mut ext.core_relo.sections {
            for record in &mut section.records {
                record.type_id = remap.get(record.type_id, "a core_relo record")?;
            }
        }
    }
    // Lean BTF, as clang writes it: only what the records, func_info,
    // line_info and the object's data sections reach, with only the strings
    // they use (bpf-linker's BTF still names every descriptor static); and
    // lean line_info: inlined library lines folded, texts trimmed.
    line_info::fold_library_lines(&btf, &mut ext)?;
    let lean = btf_edit::compact(&btf, &mut ext, root_ids.values().copied())?;
    removed_btf_types += (btf.last_id() - lean.btf.last_id()) as usize;
    let kept: Vec<TypeId> = local_types
        .clone()
        .filter_map(|id| lean.remap.try_get(id))
        .collect();
    let local_types = match (kept.first(), kept.last()) {
        (Some(first), Some(last)) => *first..*last + 1,
        _ => first_new..first_new,
    };
    for id in root_ids.values_mut() {
        *id = lean.remap.get(*id, "a query root")?;
    }
    let mut btf = lean.btf;
    let mut relocations = Vec::with_capacity(sites.len());
    let mut rewriter = ObjectRewriter::new(&object)?;
    let mut touched_sections = BTreeMap::new();
    for site in &sites {
        let Some((query, resolution)) = resolutions.get(&site.symbol) else {
            continue;
        };
        let type_id = *root_ids.get(&resolution.root).ok_or_else(|| {
            LinkError::Check(format!("root type {} was not planned", resolution.root))
        })?;
        let value = match resolution.value {
            LocalValue::Const(v) => v,
            LocalValue::LocalTypeId => u64::from(type_id),
        };
        let (code, imm) =
            marker_mov(value, resolution.signed_value).ok_or_else(|| LinkError::Query {
                symbol: site.symbol.clone(),
                message: format!(
                    "the local value {value:#x} does not fit the 32-bit immediate of the \
                     move that replaces the marker"
                ),
            })?;
        let insn_off = u32::try_from(site.offset).map_err(|_| LinkError::MarkerSite {
            section: site.section.clone(),
            insn: site.offset / INSN_SIZE as u64,
            offset: site.offset,
            symbol: site.symbol.clone(),
            message: "instruction offset does not fit 32 bits".into(),
        })?;
        let mov = Insn {
            code,
            dst_reg: 0,
            src_reg: 0,
            off: 0,
            imm,
        };
        rewriter.patch_section(site.section_index, site.offset, &mov.encode(endian))?;
        rewriter.remove_relocation(site.section_index, site.offset)?;
        let sec_name_off = btf.add_string(&site.section)?;
        let access_str_off = btf.add_string(&resolution.access)?;
        touched_sections.insert(sec_name_off, ());
        ext.core_relo.section_mut(sec_name_off).push(CoreRelo {
            insn_off,
            type_id,
            access_str_off,
            kind: query.kind,
            tail: Vec::new(),
        });
        relocations.push(LinkedRelocation {
            section: site.section.clone(),
            insn_off,
            kind: query.kind,
            type_id,
            type_name: resolution.root.clone(),
            access: resolution.access.clone(),
            local_value: value,
            marker: site.symbol.clone(),
        });
    }
    for section in &mut ext.core_relo.sections {
        if touched_sections.contains_key(&section.sec_name_off) {
            section.records.sort_by_key(|r| r.insn_off);
        }
    }

    // 6. Remove the mechanism and write the new BTF.
    for &symbol in &marker_symbols {
        rewriter.remove_relocations_against_symbol(symbol);
        rewriter.remove_symbol(symbol)?;
    }
    for &section in &type_sections {
        rewriter.remove_section(section)?;
    }
    let created_btf = original_btf.is_none();
    if original_btf.is_some() || !relocations.is_empty() {
        rewriter.set_non_alloc_section(".BTF", btf.to_bytes())?;
    }
    if !ext.core_relo.is_empty() || !created_btf_ext {
        rewriter.set_non_alloc_section(".BTF.ext", ext.to_bytes())?;
    }
    let written = rewriter.write()?;
    check_output(&written, relocations.len())?;
    Ok(LinkOutput {
        object: written,
        relocations,
        descriptors: descriptor_count,
        local_types,
        removed_btf_types,
        created_btf: created_btf && !sites.is_empty(),
        created_btf_ext: created_btf_ext && !sites.is_empty(),
    })
}

/// Re-reads the written object: no marker symbol, no `.btfkit.types`, BTF
/// valid, every new record present.
fn check_output(data: &[u8], records: usize) -> Result<()> {
    let object = BpfObject::parse(data)?;
    if let Some(s) = object
        .symbols()
        .iter()
        .find(|s| s.name.starts_with(MARKER_PREFIX))
    {
        return Err(LinkError::Check(format!(
            "symbol {:?} is still there",
            s.name
        )));
    }
    if object.section_by_name(TYPES_SECTION).is_some() {
        return Err(LinkError::Check(format!(
            "section {TYPES_SECTION} is still there"
        )));
    }
    if let Some(bytes) = object.btf() {
        let btf = Btf::parse(bytes)?;
        btf.validate()?;
        if !btf
            .find_by_name_kind(TYPES_SECTION, Kind::Datasec)
            .is_empty()
        {
            return Err(LinkError::Check(format!(
                "DATASEC {TYPES_SECTION} is still in .BTF"
            )));
        }
        if let Some(ext) = object.btf_ext() {
            let ext = BtfExt::parse(ext)?;
            if ext.core_relo.len() < records {
                return Err(LinkError::Check(format!(
                    ".BTF.ext has {} core_relo records, expected at least {records}",
                    ext.core_relo.len()
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{marker_mov, MOV32_IMM, MOV64_IMM};

    #[test]
    fn markers_become_zero_extending_moves_but_signed_enumerators() {
        // Offsets, sizes, ids, 0/1: mov32 with the value.
        assert_eq!(marker_mov(1264, false), Some((MOV32_IMM, 1264)));
        assert_eq!(marker_mov(0, false), Some((MOV32_IMM, 0)));
        // An unsigned 32-bit enumerator of 2^31 or more (libbpf's view is
        // sign-extended): mov32 keeps its unsigned value.
        assert_eq!(
            marker_mov(0xffff_ffff_8000_0000, false),
            Some((MOV32_IMM, i32::MIN))
        );
        assert_eq!(marker_mov(0xffff_fffe, false), Some((MOV32_IMM, -2)));
        // A signed enumerator: mov64, sign-extending.
        assert_eq!(marker_mov((-2i64) as u64, true), Some((MOV64_IMM, -2)));
        // Too wide for either.
        assert_eq!(marker_mov(1 << 32, false), None);
        assert_eq!(marker_mov(1 << 31, true), None);
    }
}
