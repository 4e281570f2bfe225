//! Editing an object's existing `.BTF`: removing types (the `.btfkit.types`
//! DATASEC and its VARs) while keeping the string section as it is, so that
//! string offsets in `.BTF.ext` (file names, source lines, section names)
//! stay valid. Later type ids move down; [`Rebuilt::remap`] maps them.

use std::collections::HashSet;

use btfkit_model::{
    Btf, BtfExt, Endian, Kind, NewEnumValue, NewMember, NewParam, NewType, NewVarSecinfo, TypeId,
};

use crate::error::{LinkError, Result};

/// The BTF magic.
const BTF_MAGIC: u16 = 0xeb9f;
/// Size of the version 1 header.
const HEADER_LEN: u32 = 24;

/// BTF with some types removed.
pub struct Rebuilt {
    /// The new BTF (same strings, appended to later).
    pub btf: Btf<'static>,
    /// Old ids → new ids.
    pub remap: Remap,
}

/// Old id → new id (`None`: removed). Index 0 is void.
pub struct Remap(Vec<Option<TypeId>>);

impl Remap {
    /// The new id of old type `id`, `None` if it was removed.
    pub fn try_get(&self, id: TypeId) -> Option<TypeId> {
        self.0.get(id as usize).copied().flatten()
    }

    /// The new id of old type `id`; an error if it was removed or unknown.
    pub fn get(&self, id: TypeId, what: &str) -> Result<TypeId> {
        self.0.get(id as usize).copied().flatten().ok_or_else(|| {
            LinkError::Check(format!(
                "{what} refers to type [{id}], which the link step removed"
            ))
        })
    }
}

/// The ids of the DATASEC named `section`, of the VARs only it lists, and of
/// the types of those VARs that nothing else refers to (the descriptor
/// statics' byte arrays).
pub fn datasec_and_vars(btf: &Btf<'_>, section: &str) -> Result<HashSet<TypeId>> {
    let mut remove = HashSet::new();
    for id in btf.own_type_ids() {
        let ty = btf.type_by_id(id)?;
        if ty.kind() == Kind::Datasec && btf.type_name(&ty)? == section {
            remove.insert(id);
            remove.extend(ty.datasec_vars().map(|v| v.type_id));
        }
    }
    if remove.is_empty() {
        return Ok(remove);
    }
    // Keep whatever a kept type refers to; then drop what only removed
    // types referred to, one level down (the VARs' array types).
    let referenced_by_kept = |remove: &HashSet<TypeId>| -> Result<HashSet<TypeId>> {
        let mut out = HashSet::new();
        for id in btf.own_type_ids() {
            if !remove.contains(&id) {
                out.extend(references(btf, id)?);
            }
        }
        Ok(out)
    };
    let kept = referenced_by_kept(&remove)?;
    remove.retain(|id| !kept.contains(id));
    let mut candidates = HashSet::new();
    for &id in &remove {
        if btf.type_by_id(id)?.kind() == Kind::Var {
            candidates.extend(references(btf, id)?);
        }
    }
    candidates.retain(|id| *id != 0 && !remove.contains(id));
    let mut with_candidates = remove.clone();
    with_candidates.extend(candidates.iter().copied());
    let kept = referenced_by_kept(&with_candidates)?;
    for id in candidates {
        if !kept.contains(&id) && btf.type_by_id(id)?.kind() == Kind::Array {
            remove.insert(id);
        }
    }
    Ok(remove)
}

/// The type ids type `id` refers to.
pub fn references(btf: &Btf<'_>, id: TypeId) -> Result<Vec<TypeId>> {
    let ty = btf.type_by_id(id)?;
    let mut out = Vec::new();
    match ty.kind() {
        Kind::Struct | Kind::Union => out.extend(ty.members().map(|m| m.type_id)),
        Kind::Array => {
            if let Some(a) = ty.array() {
                out.push(a.elem_type);
                out.push(a.index_type);
            }
        }
        Kind::FuncProto => {
            out.push(ty.size_or_type());
            out.extend(ty.params().map(|p| p.type_id));
        }
        Kind::Datasec => out.extend(ty.datasec_vars().map(|v| v.type_id)),
        _ => out.extend(ty.ref_type()),
    }
    Ok(out)
}

/// An empty BTF whose string section is `strings`.
fn with_strings(endian: Endian, strings: &[u8]) -> Result<Btf<'static>> {
    let put16 = |v: u16| match endian {
        Endian::Little => v.to_le_bytes(),
        Endian::Big => v.to_be_bytes(),
    };
    let put32 = |v: u32| match endian {
        Endian::Little => v.to_le_bytes(),
        Endian::Big => v.to_be_bytes(),
    };
    let str_len = u32::try_from(strings.len())
        .map_err(|_| LinkError::Check("BTF string section exceeds 4 GiB".into()))?;
    let mut raw = Vec::with_capacity(HEADER_LEN as usize + strings.len());
    raw.extend_from_slice(&put16(BTF_MAGIC));
    raw.push(1); // version
    raw.push(0); // flags
    for word in [HEADER_LEN, 0, 0, 0, str_len] {
        raw.extend_from_slice(&put32(word));
    }
    raw.extend_from_slice(strings);
    Ok(Btf::parse_owned(raw)?)
}

/// Copies `btf` without the types in `remove`, renumbering the others.
pub fn remove_types(btf: &Btf<'_>, remove: &HashSet<TypeId>) -> Result<Rebuilt> {
    copy_types(btf, remove, false)
}

/// Lean BTF, as clang writes it: keeps only the types that `ext` and the
/// object's data need — every DATASEC (maps, globals) and FUNC, the types of
/// func_info and core_relo records, the DECL_TAGs of kept types, and what
/// those reach — and only the strings they and `ext` use (file names, source
/// lines, section names, access strings). INTs named after Rust primitives
/// get their C names (`u8` becomes `unsigned char`), which local types reuse
/// (`LocalTypes::new`). `roots` are more types to keep
/// (the local types of records not yet in `ext`). Type ids and string
/// offsets in `ext` are rewritten, line_info's file names and texts as
/// `line_info` writes them (library paths shortened, texts trimmed);
/// returns the new BTF and the old → new id map.
pub fn compact(
    btf: &Btf<'_>,
    ext: &mut BtfExt,
    roots: impl IntoIterator<Item = TypeId>,
) -> Result<Rebuilt> {
    let mut keep: HashSet<TypeId> = HashSet::new();
    let mut work: Vec<TypeId> = roots.into_iter().collect();
    for id in btf.own_type_ids() {
        let kind = btf.type_by_id(id)?.kind();
        if matches!(kind, Kind::Datasec | Kind::Func) {
            work.push(id);
        }
    }
    work.extend(
        ext.func_info
            .sections
            .iter()
            .flat_map(|s| s.records.iter().map(|r| r.type_id)),
    );
    work.extend(
        ext.core_relo
            .sections
            .iter()
            .flat_map(|s| s.records.iter().map(|r| r.type_id)),
    );
    let reach = |work: &mut Vec<TypeId>, keep: &mut HashSet<TypeId>| -> Result<()> {
        while let Some(id) = work.pop() {
            if id == 0 || !keep.insert(id) {
                continue;
            }
            work.extend(references(btf, id)?);
        }
        Ok(())
    };
    reach(&mut work, &mut keep)?;
    // Declaration tags of kept types, and what the tags reach.
    for id in btf.own_type_ids() {
        let ty = btf.type_by_id(id)?;
        if ty.kind() == Kind::DeclTag && keep.contains(&ty.size_or_type()) {
            work.push(id);
        }
    }
    reach(&mut work, &mut keep)?;
    let remove: HashSet<TypeId> = btf.own_type_ids().filter(|id| !keep.contains(id)).collect();
    let rebuilt = copy_types(btf, &remove, true)?;
    let mut out = rebuilt.btf;
    let remap = rebuilt.remap;
    let string =
        |off: u32, out: &mut Btf<'static>| -> Result<u32> { Ok(out.add_string(btf.name(off)?)?) };
    for section in &mut ext.func_info.sections {
        section.sec_name_off = string(section.sec_name_off, &mut out)?;
        for r in &mut section.records {
            r.type_id = remap.get(r.type_id, "a func_info record")?;
        }
    }
    for section in &mut ext.line_info.sections {
        section.sec_name_off = string(section.sec_name_off, &mut out)?;
        for r in &mut section.records {
            r.file_name_off =
                out.add_string(crate::line_info::file_name(btf.name(r.file_name_off)?))?;
            r.line_off = out.add_string(crate::line_info::line_text(btf.name(r.line_off)?))?;
        }
    }
    for section in &mut ext.core_relo.sections {
        section.sec_name_off = string(section.sec_name_off, &mut out)?;
        for r in &mut section.records {
            r.type_id = remap.get(r.type_id, "a core_relo record")?;
            r.access_str_off = string(r.access_str_off, &mut out)?;
        }
    }
    Ok(Rebuilt { btf: out, remap })
}

/// Copies `btf` without the types in `remove`, renumbering the others; with
/// `fresh_strings`, into a new string section holding only the names of the
/// copied types (else the whole string section is kept as it is).
fn copy_types(btf: &Btf<'_>, remove: &HashSet<TypeId>, fresh_strings: bool) -> Result<Rebuilt> {
    if btf.base().is_some() {
        return Err(LinkError::Check(
            "an object's .BTF cannot be split BTF".into(),
        ));
    }
    let last = btf.last_id();
    let mut remap = vec![None; last as usize + 1];
    remap[0] = Some(0);
    let mut next = 1;
    for id in 1..=last {
        if !remove.contains(&id) {
            remap[id as usize] = Some(next);
            next += 1;
        }
    }
    let mut out = if fresh_strings {
        Btf::new_with_endian(btf.endian())
    } else {
        with_strings(btf.endian(), btf.string_section())?
    };
    let map = |id: TypeId, owner: TypeId| -> Result<TypeId> {
        remap.get(id as usize).copied().flatten().ok_or_else(|| {
            LinkError::Check(format!(
                "type [{owner}] refers to [{id}], which is removed or out of range"
            ))
        })
    };
    for id in 1..=last {
        if remove.contains(&id) {
            continue;
        }
        let ty = btf.type_by_id(id)?;
        let mut name = btf.type_name(&ty)?;
        if fresh_strings && ty.kind() == Kind::Int {
            if let (Some(int), Some(size)) = (ty.int(), ty.size()) {
                if int.offset == 0 && int.bits == size * 8 {
                    name = crate::local::c_name_of_rust_int(name, size, int.encoding.0)
                        .unwrap_or(name);
                }
            }
        }
        let target = || map(ty.size_or_type(), id);
        let size = ty.size_or_type();
        let members = || -> Result<Vec<NewMember<'_>>> {
            ty.members()
                .map(|m| {
                    Ok(NewMember {
                        name: btf.name(m.name_off)?,
                        type_id: map(m.type_id, id)?,
                        bit_offset: m.bit_offset,
                        bitfield_size: m.bitfield_size,
                    })
                })
                .collect()
        };
        let values = || -> Result<Vec<NewEnumValue<'_>>> {
            ty.enum_values()
                .map(|v| {
                    Ok(NewEnumValue {
                        name: btf.name(v.name_off)?,
                        value: v.value as i64,
                    })
                })
                .collect()
        };
        let bad = |what: &str| LinkError::Check(format!("type [{id}]: {what}"));
        let new = match ty.kind() {
            Kind::Int => {
                let int = ty
                    .int()
                    .ok_or_else(|| bad("INT without its encoding word"))?;
                NewType::Int {
                    name,
                    size,
                    encoding: int.encoding,
                    offset: int.offset,
                    bits: int.bits,
                }
            }
            Kind::Ptr => NewType::Ptr { target: target()? },
            Kind::Typedef => NewType::Typedef {
                name,
                target: target()?,
            },
            Kind::Volatile => NewType::Volatile { target: target()? },
            Kind::Const => NewType::Const { target: target()? },
            Kind::Restrict => NewType::Restrict { target: target()? },
            Kind::TypeTag => NewType::TypeTag {
                name,
                target: target()?,
            },
            Kind::Array => {
                let a = ty.array().ok_or_else(|| bad("ARRAY without its record"))?;
                NewType::Array {
                    elem: map(a.elem_type, id)?,
                    index: map(a.index_type, id)?,
                    nelems: a.nelems,
                }
            }
            Kind::Struct => NewType::Struct {
                name,
                size,
                members: members()?,
            },
            Kind::Union => NewType::Union {
                name,
                size,
                members: members()?,
            },
            Kind::Enum => NewType::Enum {
                name,
                size,
                signed: ty.kflag(),
                values: values()?,
            },
            Kind::Enum64 => NewType::Enum64 {
                name,
                size,
                signed: ty.kflag(),
                values: values()?,
            },
            Kind::Fwd => NewType::Fwd {
                name,
                union: ty.kflag(),
            },
            Kind::Func => NewType::Func {
                name,
                proto: target()?,
                linkage: ty.linkage().ok_or_else(|| bad("FUNC without linkage"))?,
            },
            Kind::FuncProto => NewType::FuncProto {
                ret: target()?,
                params: ty
                    .params()
                    .map(|p| {
                        Ok(NewParam {
                            name: btf.name(p.name_off)?,
                            type_id: map(p.type_id, id)?,
                        })
                    })
                    .collect::<Result<Vec<_>>>()?,
            },
            Kind::Var => NewType::Var {
                name,
                type_id: target()?,
                linkage: ty.linkage().ok_or_else(|| bad("VAR without linkage"))?,
            },
            Kind::Datasec => NewType::Datasec {
                name,
                size,
                vars: ty
                    .datasec_vars()
                    .map(|v| {
                        Ok(NewVarSecinfo {
                            type_id: map(v.type_id, id)?,
                            offset: v.offset,
                            size: v.size,
                        })
                    })
                    .collect::<Result<Vec<_>>>()?,
            },
            Kind::Float => NewType::Float { name, size },
            Kind::DeclTag => NewType::DeclTag {
                name,
                target: target()?,
                component_idx: ty
                    .decl_tag_component()
                    .ok_or_else(|| bad("DECL_TAG without component"))?,
            },
            Kind::Void | Kind::Unknown(_) => {
                return Err(bad(&format!("kind {} cannot be copied", ty.kind().name())))
            }
        };
        let new_id = out.add(&new)?;
        if Some(new_id) != remap[id as usize] {
            return Err(LinkError::Check(format!(
                "type [{id}] was copied as [{new_id}], expected {:?}",
                remap[id as usize]
            )));
        }
    }
    Ok(Rebuilt {
        btf: out,
        remap: Remap(remap),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use btfkit_model::{IntEncoding, Linkage};

    #[test]
    fn removes_a_datasec_and_its_vars_and_renumbers() {
        let mut btf = Btf::new();
        let int = btf
            .add(&NewType::Int {
                name: "int",
                size: 4,
                encoding: IntEncoding(1),
                offset: 0,
                bits: 32,
            })
            .unwrap();
        let bytes_array = btf
            .add(&NewType::Array {
                elem: int,
                index: int,
                nelems: 4,
            })
            .unwrap();
        let var = btf
            .add(&NewType::Var {
                name: "TYPES",
                type_id: bytes_array,
                linkage: Linkage(0),
            })
            .unwrap();
        let sec = btf
            .add(&NewType::Datasec {
                name: ".btfkit.types",
                size: 0,
                vars: vec![NewVarSecinfo {
                    type_id: var,
                    offset: 0,
                    size: 4,
                }],
            })
            .unwrap();
        let lic = btf
            .add(&NewType::Var {
                name: "LICENSE",
                type_id: int,
                linkage: Linkage(1),
            })
            .unwrap();
        let ptr = btf.add(&NewType::Ptr { target: lic }).unwrap();
        let bytes = btf.to_bytes();
        let btf = Btf::parse(&bytes).unwrap();
        let remove = datasec_and_vars(&btf, ".btfkit.types").unwrap();
        // The VAR's array goes with it; `int` stays (LICENSE refers to it).
        assert_eq!(remove, HashSet::from([bytes_array, var, sec]));
        let rebuilt = remove_types(&btf, &remove).unwrap();
        assert_eq!(rebuilt.btf.last_id(), 3);
        assert_eq!(rebuilt.remap.get(lic, "test").unwrap(), 2);
        assert_eq!(rebuilt.remap.get(ptr, "test").unwrap(), 3);
        assert!(rebuilt.remap.get(var, "test").is_err());
        let p = rebuilt.btf.type_by_id(3).unwrap();
        assert_eq!(p.ref_type(), Some(2));
        // Strings keep their offsets.
        assert_eq!(
            &rebuilt.btf.string_section()[..btf.string_section().len()],
            btf.string_section()
        );
        rebuilt.btf.validate().unwrap();
    }

    #[test]
    fn compact_keeps_what_records_and_data_reach_with_their_strings_only() {
        use btfkit_model::{CoreRelo, CoreReloKind, FuncInfo};
        let mut btf = Btf::new();
        let u8_ = btf
            .add(&NewType::Int {
                name: "u8",
                size: 1,
                encoding: IntEncoding(0),
                offset: 0,
                bits: 8,
            })
            .unwrap();
        // An orphan struct (a descriptor static's leftover), then what stays.
        let orphan = btf
            .add(&NewType::Struct {
                name: "a_very_long_descriptor_static_name",
                size: 1,
                members: vec![NewMember {
                    name: "x",
                    type_id: u8_,
                    bit_offset: 0,
                    bitfield_size: 0,
                }],
            })
            .unwrap();
        let root = btf
            .add(&NewType::Struct {
                name: "task_struct",
                size: 1,
                members: vec![NewMember {
                    name: "pid",
                    type_id: u8_,
                    bit_offset: 0,
                    bitfield_size: 0,
                }],
            })
            .unwrap();
        let proto = btf
            .add(&NewType::FuncProto {
                ret: u8_,
                params: vec![],
            })
            .unwrap();
        let func = btf
            .add(&NewType::Func {
                name: "prog",
                proto,
                linkage: Linkage(1),
            })
            .unwrap();
        let var = btf
            .add(&NewType::Var {
                name: "COUNT",
                type_id: u8_,
                linkage: Linkage(1),
            })
            .unwrap();
        btf.add(&NewType::Datasec {
            name: ".bss",
            size: 1,
            vars: vec![NewVarSecinfo {
                type_id: var,
                offset: 0,
                size: 1,
            }],
        })
        .unwrap();
        let sec = btf.add_string("raw_tp/x").unwrap();
        let access = btf.add_string("0:0").unwrap();
        let mut ext = BtfExt::new(Endian::Little);
        ext.func_info.section_mut(sec).push(FuncInfo {
            insn_off: 0,
            type_id: func,
            tail: Vec::new(),
        });
        ext.core_relo.section_mut(sec).push(CoreRelo {
            insn_off: 8,
            type_id: root,
            access_str_off: access,
            kind: CoreReloKind::FieldByteOffset,
            tail: Vec::new(),
        });
        let bytes = btf.to_bytes();
        let btf = Btf::parse(&bytes).unwrap();
        let lean = compact(&btf, &mut ext, []).unwrap();
        let out = &lean.btf;
        out.validate().unwrap();
        assert_eq!(out.last_id(), btf.last_id() - 1);
        assert!(lean.remap.try_get(orphan).is_none());
        // The Rust-named INT takes its C name; the orphan's strings are gone.
        assert_eq!(
            out.type_name(&out.type_by_id(1).unwrap()).unwrap(),
            "unsigned char"
        );
        let strings = String::from_utf8_lossy(out.string_section()).into_owned();
        assert!(!strings.contains("descriptor_static"), "{strings:?}");
        // .BTF.ext follows: ids and string offsets.
        let fi = &ext.func_info.sections[0];
        assert_eq!(out.name(fi.sec_name_off).unwrap(), "raw_tp/x");
        assert_eq!(fi.records[0].type_id, lean.remap.get(func, "test").unwrap());
        let cr = &ext.core_relo.sections[0].records[0];
        assert_eq!(cr.type_id, lean.remap.get(root, "test").unwrap());
        assert_eq!(out.name(cr.access_str_off).unwrap(), "0:0");
        let t = out.type_by_id(cr.type_id).unwrap();
        assert_eq!(out.type_name(&t).unwrap(), "task_struct");
    }
}
