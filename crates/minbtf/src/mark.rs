//! Marking what each relocation reaches in the full BTF (bpftool's
//! `btfgen_record_*_relo` and `btfgen_mark_type*`), and rewriting a kept type
//! with only its marked members.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use btfkit_model::{
    Btf, BtfExt, CoreReloKind, Kind, NewEnumValue, NewMember, NewParam, NewType, NewVarSecinfo,
    Type, TypeId,
};
use btfkit_object::BpfObject;
use btfkit_reloc::compute::match_candidate;
use btfkit_reloc::spec::{essential_name, essential_name_len, parse_spec, Spec};

/// Most types followed from one root before giving up (hostile BTF).
const MAX_WALK: usize = 1 << 20;

/// Target types by essential name: the unflavored through the model's name
/// index, the few whose own names carry a `___flavor` indexed here.
pub struct Candidates {
    flavored: HashMap<String, Vec<TypeId>>,
}

fn core_compat(a: Kind, b: Kind) -> bool {
    a == b || (matches!(a, Kind::Enum | Kind::Enum64) && matches!(b, Kind::Enum | Kind::Enum64))
}

impl Candidates {
    /// Indexes the flavored names of `btf` (base included): the strings
    /// holding `___` whose essential name is shorter, looked up as type names.
    pub fn new(btf: &Btf<'_>) -> Candidates {
        let mut names: Vec<&str> = Vec::new();
        let sections = btf
            .base()
            .map(|b| b.string_section())
            .into_iter()
            .chain([btf.string_section()]);
        for table in sections {
            names.extend(
                table
                    .split(|&b| b == 0)
                    .filter(|s| memchr::memmem::find(s, b"___").is_some())
                    .filter_map(|s| std::str::from_utf8(s).ok())
                    .filter(|n| essential_name_len(n) < n.len()),
            );
        }
        names.sort_unstable();
        names.dedup();
        let mut flavored: HashMap<String, Vec<TypeId>> = HashMap::new();
        for name in names {
            let ids = btf.find_by_name(name);
            if !ids.is_empty() {
                flavored
                    .entry(essential_name(name).to_string())
                    .or_default()
                    .extend(ids);
            }
        }
        Candidates { flavored }
    }

    /// libbpf's candidates for a local type of `kind` named `name`: same
    /// essential name, compatible kind; the base's when it has any.
    pub fn of(&self, btf: &Btf<'_>, kind: Kind, name: &str) -> Vec<TypeId> {
        let essential = essential_name(name);
        let mut ids = btf.find_by_name(essential);
        if let Some(more) = self.flavored.get(essential) {
            ids.extend(more);
        }
        ids.sort_unstable();
        ids.dedup();
        ids.retain(|&id| {
            btf.type_by_id(id)
                .is_ok_and(|t| core_compat(t.kind(), kind))
        });
        let split_start = btf.start_id();
        if ids.iter().any(|&id| id < split_start) {
            ids.retain(|&id| id < split_start);
        }
        ids
    }
}

/// What of each type is kept.
#[derive(Debug, Default)]
struct Keep {
    /// Every member / enumerator.
    all: bool,
    /// Indices of the members / enumerators kept.
    members: BTreeSet<u32>,
}

/// The marked types of a full BTF and their kept members.
#[derive(Debug, Default)]
pub struct Marks {
    types: BTreeMap<TypeId, Keep>,
    /// (type, pointers followed) walked by `mark_type`.
    followed: HashSet<(TypeId, bool)>,
    /// (type, behind a pointer) walked by `mark_type_match`.
    matched: HashSet<(TypeId, bool)>,
}

impl Marks {
    /// No marks yet.
    pub fn new(_full: &Btf<'_>) -> Marks {
        Marks::default()
    }

    /// Every type of `full` (base included), whole.
    pub fn everything(full: &Btf<'_>) -> Marks {
        let mut m = Marks::default();
        for id in full.type_ids().filter(|&id| id != 0) {
            m.mark_all(id);
        }
        m
    }

    /// Kept type ids, ascending.
    pub fn kept(&self) -> impl Iterator<Item = TypeId> + '_ {
        self.types.keys().copied()
    }

    fn mark(&mut self, id: TypeId) -> bool {
        if id == 0 {
            return false;
        }
        self.types.entry(id).or_default();
        true
    }

    fn mark_member(&mut self, id: TypeId, idx: u32) {
        self.types.entry(id).or_default().members.insert(idx);
    }

    fn mark_all(&mut self, id: TypeId) {
        self.types.entry(id).or_default().all = true;
    }

    /// Whether member `idx` of `id` is kept.
    fn keeps(&self, id: TypeId, idx: u32) -> bool {
        self.types
            .get(&id)
            .is_some_and(|k| k.all || k.members.contains(&idx))
    }

    /// bpftool's `btfgen_mark_type`: `id` and what it needs (modifiers,
    /// typedefs, array elements, prototypes; pointees when `follow_ptrs`).
    fn mark_type(&mut self, btf: &Btf<'_>, id: TypeId, follow_ptrs: bool) -> Result<(), String> {
        let mut stack = vec![id];
        let mut steps = 0;
        while let Some(id) = stack.pop() {
            if !self.mark(id) || !self.followed.insert((id, follow_ptrs)) {
                continue;
            }
            steps += 1;
            if steps > MAX_WALK {
                return Err("type graph too large".into());
            }
            let t = btf.type_by_id(id).map_err(|e| e.to_string())?;
            match t.kind() {
                Kind::Ptr if follow_ptrs => stack.push(t.size_or_type()),
                Kind::Const
                | Kind::Volatile
                | Kind::Restrict
                | Kind::Typedef
                | Kind::TypeTag
                | Kind::Func
                | Kind::Var => stack.push(t.size_or_type()),
                Kind::Array => {
                    if let Some(a) = t.array() {
                        stack.push(a.elem_type);
                        stack.push(a.index_type);
                    }
                }
                Kind::FuncProto => {
                    stack.push(t.size_or_type());
                    stack.extend(t.params().map(|p| p.type_id));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// bpftool's `btfgen_mark_type_match`: what `type_matches` compares.
    fn mark_type_match(&mut self, btf: &Btf<'_>, id: TypeId, behind: bool) -> Result<(), String> {
        let mut stack = vec![(id, behind)];
        let mut steps = 0;
        while let Some((id, behind)) = stack.pop() {
            if !self.mark(id) || !self.matched.insert((id, behind)) {
                continue;
            }
            steps += 1;
            if steps > MAX_WALK {
                return Err("type graph too large".into());
            }
            let t = btf.type_by_id(id).map_err(|e| e.to_string())?;
            match t.kind() {
                Kind::Struct | Kind::Union if !behind => {
                    self.mark_all(id);
                    stack.extend(t.members().map(|m| (m.type_id, false)));
                }
                Kind::Enum | Kind::Enum64 => self.mark_all(id),
                Kind::Const | Kind::Volatile | Kind::Restrict | Kind::Typedef | Kind::TypeTag => {
                    stack.push((t.size_or_type(), behind))
                }
                Kind::Ptr => stack.push((t.size_or_type(), true)),
                Kind::Array => {
                    if let Some(a) = t.array() {
                        stack.push((a.elem_type, behind));
                        stack.push((a.index_type, behind));
                    }
                }
                Kind::FuncProto => {
                    stack.push((t.size_or_type(), behind));
                    stack.extend(t.params().map(|p| (p.type_id, behind)));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// bpftool's `btfgen_record_field_relo`: along the target spec's raw
    /// indices, every type passed and the one member taken in each struct.
    fn record_field(&mut self, btf: &Btf<'_>, spec: &Spec) -> Result<(), String> {
        let mut id = spec.root_type_id;
        self.mark_type(btf, id, false)?;
        for &idx in spec.raw.iter().skip(1) {
            let t = btf.skip_mods_and_typedefs(id).map_err(|e| e.to_string())?;
            id = t.id();
            match t.kind() {
                Kind::Struct | Kind::Union => {
                    let m = t
                        .members()
                        .nth(idx as usize)
                        .ok_or_else(|| format!("member {idx} out of range in [{id}]"))?;
                    self.mark_member(id, idx);
                    id = m.type_id;
                    self.mark_type(btf, id, false)?;
                }
                Kind::Array => {
                    id = t.array().map(|a| a.elem_type).unwrap_or(0);
                }
                k => return Err(format!("access steps into a {}", k.name())),
            }
        }
        Ok(())
    }

    /// Marks what `spec` (a candidate's matching target spec) needs for `kind`.
    fn record(&mut self, btf: &Btf<'_>, kind: CoreReloKind, spec: &Spec) -> Result<(), String> {
        if kind.is_field() {
            self.record_field(btf, spec)
        } else if kind.is_enumval() {
            self.mark_type(btf, spec.root_type_id, false)?;
            let t = btf
                .skip_mods_and_typedefs(spec.root_type_id)
                .map_err(|e| e.to_string())?;
            for acc in &spec.accessors {
                self.mark_member(t.id(), acc.idx);
            }
            Ok(())
        } else if kind == CoreReloKind::TypeMatches {
            self.mark_type_match(btf, spec.root_type_id, false)
        } else {
            self.mark_type(btf, spec.root_type_id, true)
        }
    }
}

/// Marks, for every CO-RE record of `object`, what every matching candidate
/// in `full` needs. Records that do not resolve mark what they can.
pub fn mark_object(
    object: &[u8],
    full: &Btf<'_>,
    cands: &Candidates,
    marks: &mut Marks,
) -> Result<(), String> {
    let obj = BpfObject::parse(object).map_err(|e| e.to_string())?;
    let Some(btf_bytes) = obj.btf() else {
        return Err("the object has no .BTF section".into());
    };
    let local = Btf::parse(btf_bytes).map_err(|e| format!(".BTF: {e}"))?;
    let Some(ext_bytes) = obj.btf_ext() else {
        return Ok(());
    };
    let ext = BtfExt::parse(ext_bytes).map_err(|e| format!(".BTF.ext: {e}"))?;
    let mut by_local: HashMap<(TypeId, Kind), Vec<TypeId>> = HashMap::new();
    for sec in &ext.core_relo.sections {
        for rec in &sec.records {
            if rec.kind == CoreReloKind::TypeIdLocal {
                continue;
            }
            // Failures are the engine's to report; nothing to keep for them.
            let Ok(access) = local.name(rec.access_str_off) else {
                continue;
            };
            let Ok(spec) = parse_spec(&local, rec.type_id, access, rec.kind) else {
                continue;
            };
            let Ok(lt) = local.type_by_id(rec.type_id) else {
                continue;
            };
            let Ok(name) = local.name(lt.name_off()) else {
                continue;
            };
            if essential_name_len(name) == 0 {
                continue;
            }
            let ids = by_local
                .entry((rec.type_id, lt.kind()))
                .or_insert_with(|| cands.of(full, lt.kind(), name));
            for &cand in ids.iter() {
                if let Ok(Some(tspec)) = match_candidate(&local, &spec, rec.kind, full, cand) {
                    marks.record(full, rec.kind, &tspec)?;
                }
            }
        }
    }
    Ok(())
}

/// `t` as it is written into the tailored BTF: references through `remap`,
/// struct/union members and enumerators reduced to those marked.
pub(crate) fn rewrite<'s>(
    full: &'s Btf<'_>,
    t: &Type<'_>,
    name: &'s str,
    marks: &Marks,
    remap: &dyn Fn(TypeId) -> TypeId,
) -> Result<NewType<'s>, btfkit_model::Error> {
    let id = t.id();
    let r = t.size_or_type();
    Ok(match t.kind() {
        Kind::Int => {
            let i = t.int().ok_or_else(|| bad(id, "truncated int"))?;
            NewType::Int {
                name,
                size: r,
                encoding: i.encoding,
                offset: i.offset,
                bits: i.bits,
            }
        }
        Kind::Ptr => NewType::Ptr { target: remap(r) },
        Kind::Array => {
            let a = t.array().ok_or_else(|| bad(id, "truncated array"))?;
            NewType::Array {
                elem: remap(a.elem_type),
                index: remap(a.index_type),
                nelems: a.nelems,
            }
        }
        Kind::Struct | Kind::Union => {
            let mut members = Vec::new();
            for (i, m) in t.members().enumerate() {
                if marks.keeps(id, i as u32) {
                    members.push(NewMember {
                        name: full.name(m.name_off)?,
                        type_id: remap(m.type_id),
                        bit_offset: m.bit_offset,
                        bitfield_size: m.bitfield_size,
                    });
                }
            }
            if t.kind() == Kind::Struct {
                NewType::Struct {
                    name,
                    size: r,
                    members,
                }
            } else {
                NewType::Union {
                    name,
                    size: r,
                    members,
                }
            }
        }
        Kind::Enum | Kind::Enum64 => {
            let mut values = Vec::new();
            for (i, v) in t.enum_values().enumerate() {
                if marks.keeps(id, i as u32) {
                    values.push(NewEnumValue {
                        name: full.name(v.name_off)?,
                        value: v.value as i64,
                    });
                }
            }
            let signed = t.kflag();
            if t.kind() == Kind::Enum {
                NewType::Enum {
                    name,
                    size: r,
                    signed,
                    values,
                }
            } else {
                NewType::Enum64 {
                    name,
                    size: r,
                    signed,
                    values,
                }
            }
        }
        Kind::Fwd => NewType::Fwd {
            name,
            union: t.kflag(),
        },
        Kind::Typedef => NewType::Typedef {
            name,
            target: remap(r),
        },
        Kind::Volatile => NewType::Volatile { target: remap(r) },
        Kind::Const => NewType::Const { target: remap(r) },
        Kind::Restrict => NewType::Restrict { target: remap(r) },
        Kind::TypeTag => NewType::TypeTag {
            name,
            target: remap(r),
        },
        Kind::Func => NewType::Func {
            name,
            proto: remap(r),
            linkage: btfkit_model::Linkage(t.vlen() as u32),
        },
        Kind::FuncProto => {
            let mut params = Vec::new();
            for p in t.params() {
                params.push(NewParam {
                    name: full.name(p.name_off)?,
                    type_id: remap(p.type_id),
                });
            }
            NewType::FuncProto {
                ret: remap(r),
                params,
            }
        }
        Kind::Var => NewType::Var {
            name,
            type_id: remap(r),
            linkage: t.linkage().unwrap_or(btfkit_model::Linkage(0)),
        },
        Kind::Datasec => NewType::Datasec {
            name,
            size: r,
            vars: Vec::<NewVarSecinfo>::new(),
        },
        Kind::Float => NewType::Float { name, size: r },
        Kind::DeclTag => NewType::DeclTag {
            name,
            target: remap(r),
            component_idx: t.decl_tag_component().unwrap_or(-1),
        },
        _ => return Err(bad(id, "a kind the tailored BTF cannot hold")),
    })
}

fn bad(id: TypeId, what: &str) -> btfkit_model::Error {
    btfkit_model::Error::Build(format!("type [{id}]: {what}"))
}
