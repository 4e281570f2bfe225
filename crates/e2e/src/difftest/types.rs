//! An owned, editable copy of a set of BTF types (the variant's types), imported
//! from a kernel BTF (or an object's local BTF), laid out again after edits and
//! encoded with the model's builder.

use std::collections::HashMap;

use btfkit_model::{Btf, IntEncoding, Kind, NewEnumValue, NewMember, NewParam, NewType};

/// Index of a type in [`Types::types`]; it is also its BTF id (0 is void).
pub type Idx = u32;

/// A struct or union member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Name ("" for an anonymous member).
    pub name: String,
    /// Member type.
    pub ty: Idx,
    /// Offset in bits.
    pub bit_offset: u32,
    /// Bitfield width (0: not a bitfield).
    pub bits: u32,
}

/// One type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ty {
    /// Id 0.
    Void,
    /// An integer.
    Int {
        /// Name.
        name: String,
        /// Bytes.
        size: u32,
        /// `BTF_INT_*` encoding bits.
        encoding: u32,
    },
    /// A pointer.
    Ptr(Idx),
    /// An array.
    Array {
        /// Element type.
        elem: Idx,
        /// Index type.
        index: Idx,
        /// Element count.
        nelems: u32,
    },
    /// A struct (or union).
    Composite {
        /// Name ("" anonymous).
        name: String,
        /// Union rather than struct.
        union: bool,
        /// Bytes.
        size: u32,
        /// Members.
        members: Vec<Member>,
    },
    /// An enum (or enum64).
    Enum {
        /// Name.
        name: String,
        /// ENUM64 rather than ENUM.
        is64: bool,
        /// Bytes.
        size: u32,
        /// Signed (kflag).
        signed: bool,
        /// Enumerators.
        values: Vec<(String, i64)>,
    },
    /// A forward declaration.
    Fwd {
        /// Name.
        name: String,
        /// Of a union.
        union: bool,
    },
    /// A typedef.
    Typedef {
        /// Name.
        name: String,
        /// Aliased type.
        target: Idx,
    },
    /// const / volatile / restrict / type_tag (layout-neutral qualifiers).
    Qualifier {
        /// Which one.
        kind: Kind,
        /// Tag name (type_tag only).
        name: String,
        /// Qualified type.
        target: Idx,
    },
    /// A float.
    Float {
        /// Name.
        name: String,
        /// Bytes.
        size: u32,
    },
    /// A function prototype.
    FuncProto {
        /// Return type.
        ret: Idx,
        /// Parameters.
        params: Vec<(String, Idx)>,
    },
}

impl Ty {
    /// The type's name ("" for unnamed kinds).
    pub fn name(&self) -> &str {
        match self {
            Ty::Int { name, .. }
            | Ty::Composite { name, .. }
            | Ty::Enum { name, .. }
            | Ty::Fwd { name, .. }
            | Ty::Typedef { name, .. }
            | Ty::Float { name, .. } => name,
            _ => "",
        }
    }
}

/// A whole set of types; index 0 is void.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Types {
    /// The types, by id.
    pub types: Vec<Ty>,
}

impl Default for Types {
    fn default() -> Self {
        Types {
            types: vec![Ty::Void],
        }
    }
}

/// Deepest chain of by-value references followed when sizing or aligning.
const MAX_DEPTH: usize = 64;

impl Types {
    /// Appends a type and returns its index.
    pub fn push(&mut self, ty: Ty) -> Idx {
        self.types.push(ty);
        (self.types.len() - 1) as Idx
    }

    /// The type at `idx` (void when out of range).
    pub fn get(&self, idx: Idx) -> &Ty {
        self.types.get(idx as usize).unwrap_or(&Ty::Void)
    }

    /// Follows typedefs and qualifiers.
    pub fn resolve(&self, mut idx: Idx) -> Idx {
        for _ in 0..MAX_DEPTH {
            match self.get(idx) {
                Ty::Typedef { target, .. } | Ty::Qualifier { target, .. } => idx = *target,
                _ => break,
            }
        }
        idx
    }

    /// Size in bytes.
    pub fn size_of(&self, idx: Idx) -> u32 {
        self.size_at(idx, 0)
    }

    fn size_at(&self, idx: Idx, depth: usize) -> u32 {
        if depth > MAX_DEPTH {
            return 0;
        }
        match self.get(idx) {
            Ty::Int { size, .. }
            | Ty::Composite { size, .. }
            | Ty::Enum { size, .. }
            | Ty::Float { size, .. } => *size,
            Ty::Ptr(_) => 8,
            Ty::Array { elem, nelems, .. } => {
                self.size_at(*elem, depth + 1).saturating_mul(*nelems)
            }
            Ty::Typedef { target, .. } | Ty::Qualifier { target, .. } => {
                self.size_at(*target, depth + 1)
            }
            Ty::Void | Ty::Fwd { .. } | Ty::FuncProto { .. } => 0,
        }
    }

    /// Alignment in bytes (C rules, at most 8).
    pub fn align_of(&self, idx: Idx) -> u32 {
        self.align_at(idx, 0)
    }

    fn align_at(&self, idx: Idx, depth: usize) -> u32 {
        if depth > MAX_DEPTH {
            return 1;
        }
        match self.get(idx) {
            Ty::Int { size, .. } | Ty::Enum { size, .. } | Ty::Float { size, .. } => {
                (*size).clamp(1, 8)
            }
            Ty::Ptr(_) => 8,
            Ty::Array { elem, .. } => self.align_at(*elem, depth + 1),
            Ty::Typedef { target, .. } | Ty::Qualifier { target, .. } => {
                self.align_at(*target, depth + 1)
            }
            Ty::Composite { members, .. } => members
                .iter()
                .map(|m| self.align_at(m.ty, depth + 1))
                .max()
                .unwrap_or(1),
            Ty::Void | Ty::Fwd { .. } | Ty::FuncProto { .. } => 1,
        }
    }

    /// Lays out the members of composite `idx` again by C rules (in order, each at
    /// its natural alignment; bitfields packed into their storage units) and sets
    /// its size. Unions keep every member at offset 0.
    pub fn relayout(&mut self, idx: Idx) {
        let Ty::Composite { union, members, .. } = self.get(idx).clone() else {
            return;
        };
        let mut placed = Vec::with_capacity(members.len());
        let mut cursor: u32 = 0; // bits
        let mut end: u32 = 0;
        for mut m in members {
            let size_bits = self.size_of(m.ty).saturating_mul(8);
            let align_bits = self.align_of(m.ty) * 8;
            if union {
                m.bit_offset = 0;
                end = end.max(if m.bits > 0 { m.bits } else { size_bits });
            } else if m.bits > 0 && size_bits > 0 {
                let unit = size_bits;
                if cursor % unit + m.bits > unit {
                    cursor = cursor.div_ceil(unit) * unit;
                }
                m.bit_offset = cursor;
                cursor += m.bits;
                end = cursor;
            } else {
                cursor = cursor.div_ceil(align_bits) * align_bits;
                m.bit_offset = cursor;
                cursor = cursor.saturating_add(size_bits);
                end = cursor;
            }
            placed.push(m);
        }
        let align = self.align_of(idx) * 8;
        let size = end.div_ceil(align) * align / 8;
        if let Some(Ty::Composite {
            members, size: s, ..
        }) = self.types.get_mut(idx as usize)
        {
            *members = placed;
            *s = size;
        }
    }

    /// The first struct/union/enum (or, failing that, any type) named `name`.
    pub fn find(&self, name: &str) -> Option<Idx> {
        let mut any = None;
        for (i, t) in self.types.iter().enumerate() {
            if t.name() == name {
                if matches!(t, Ty::Composite { .. } | Ty::Enum { .. }) {
                    return Some(i as Idx);
                }
                any.get_or_insert(i as Idx);
            }
        }
        any
    }

    /// An integer of `size` bytes and the given signedness: an existing one, else a new one.
    pub fn int(&mut self, size: u32, signed: bool) -> Idx {
        let encoding = if signed { IntEncoding::SIGNED } else { 0 };
        for (i, t) in self.types.iter().enumerate() {
            if let Ty::Int {
                size: s,
                encoding: e,
                ..
            } = t
            {
                if *s == size && *e == encoding {
                    return i as Idx;
                }
            }
        }
        let name = match (size, signed) {
            (1, true) => "signed char",
            (1, false) => "unsigned char",
            (2, true) => "short",
            (2, false) => "unsigned short",
            (4, true) => "int",
            (4, false) => "unsigned int",
            (8, true) => "long long",
            (8, false) => "long long unsigned int",
            (16, true) => "__int128",
            _ => "__int128 unsigned",
        };
        self.push(Ty::Int {
            name: name.into(),
            size,
            encoding,
        })
    }

    /// Finds member `name` of composite `idx`, looking inside anonymous members as
    /// CO-RE does: (the composite that holds it, its position there).
    pub fn find_member(&self, idx: Idx, name: &str) -> Option<(Idx, usize)> {
        self.find_member_at(idx, name, 0)
    }

    fn find_member_at(&self, idx: Idx, name: &str, depth: usize) -> Option<(Idx, usize)> {
        if depth > MAX_DEPTH {
            return None;
        }
        let Ty::Composite { members, .. } = self.get(idx) else {
            return None;
        };
        for (pos, m) in members.iter().enumerate() {
            if m.name == name {
                return Some((idx, pos));
            }
            if m.name.is_empty() {
                if let Some(found) = self.find_member_at(self.resolve(m.ty), name, depth + 1) {
                    return Some(found);
                }
            }
        }
        None
    }

    /// Encodes the types as raw BTF (little-endian, ids = indices).
    pub fn encode(&self) -> Result<Vec<u8>, btfkit_model::Error> {
        let mut btf = Btf::new();
        for t in self.types.iter().skip(1) {
            let new = match t {
                Ty::Void => NewType::Int {
                    name: "void",
                    size: 0,
                    encoding: IntEncoding(0),
                    offset: 0,
                    bits: 0,
                },
                Ty::Int {
                    name,
                    size,
                    encoding,
                } => NewType::Int {
                    name,
                    size: *size,
                    encoding: IntEncoding(*encoding),
                    offset: 0,
                    bits: if *encoding & IntEncoding::BOOL != 0 {
                        1
                    } else {
                        size * 8
                    },
                },
                Ty::Ptr(target) => NewType::Ptr { target: *target },
                Ty::Array {
                    elem,
                    index,
                    nelems,
                } => NewType::Array {
                    elem: *elem,
                    index: *index,
                    nelems: *nelems,
                },
                Ty::Composite {
                    name,
                    union: false,
                    size,
                    members: ms,
                } => NewType::Struct {
                    name,
                    size: *size,
                    members: new_members(ms),
                },
                Ty::Composite {
                    name,
                    size,
                    members: ms,
                    ..
                } => NewType::Union {
                    name,
                    size: *size,
                    members: new_members(ms),
                },
                Ty::Enum {
                    name,
                    is64,
                    size,
                    signed,
                    values,
                } => {
                    let values = values
                        .iter()
                        .map(|(n, v)| NewEnumValue { name: n, value: *v })
                        .collect();
                    if *is64 {
                        NewType::Enum64 {
                            name,
                            size: *size,
                            signed: *signed,
                            values,
                        }
                    } else {
                        NewType::Enum {
                            name,
                            size: *size,
                            signed: *signed,
                            values,
                        }
                    }
                }
                Ty::Fwd { name, union } => NewType::Fwd {
                    name,
                    union: *union,
                },
                Ty::Typedef { name, target } => NewType::Typedef {
                    name,
                    target: *target,
                },
                Ty::Qualifier { kind, name, target } => match kind {
                    Kind::Volatile => NewType::Volatile { target: *target },
                    Kind::Restrict => NewType::Restrict { target: *target },
                    Kind::TypeTag => NewType::TypeTag {
                        name,
                        target: *target,
                    },
                    _ => NewType::Const { target: *target },
                },
                Ty::Float { name, size } => NewType::Float { name, size: *size },
                Ty::FuncProto { ret, params } => NewType::FuncProto {
                    ret: *ret,
                    params: params
                        .iter()
                        .map(|(n, t)| NewParam {
                            name: n,
                            type_id: *t,
                        })
                        .collect(),
                },
            };
            btf.add(&new)?;
        }
        Ok(btf.to_bytes())
    }
}

fn new_members(ms: &[Member]) -> Vec<NewMember<'_>> {
    ms.iter()
        .map(|m| NewMember {
            name: &m.name,
            type_id: m.ty,
            bit_offset: m.bit_offset,
            bitfield_size: m.bits,
        })
        .collect()
}

/// Copies types out of a source BTF: `roots` (and every type they reach by value)
/// in full; a pointer to a named struct/union that is not a root becomes a pointer
/// to a forward declaration, to anything else unnamed a pointer to void.
pub struct Importer<'s, 'b> {
    src: &'s Btf<'b>,
    /// Source id → index in the destination.
    map: HashMap<u32, Idx>,
}

impl<'s, 'b> Importer<'s, 'b> {
    /// Imports from `src`.
    pub fn new(src: &'s Btf<'b>) -> Self {
        Importer {
            src,
            map: HashMap::new(),
        }
    }

    /// Imports `id` (and what it reaches) into `dst`; `full` says which named
    /// composites behind pointers are copied in full.
    pub fn import(&mut self, dst: &mut Types, id: u32, full: &dyn Fn(&str) -> bool) -> Idx {
        self.import_at(dst, id, full, 0)
    }

    fn name(&self, off: u32) -> String {
        self.src.name(off).unwrap_or("").to_owned()
    }

    fn import_at(
        &mut self,
        dst: &mut Types,
        id: u32,
        full: &dyn Fn(&str) -> bool,
        depth: usize,
    ) -> Idx {
        if id == 0 {
            return 0;
        }
        if let Some(&idx) = self.map.get(&id) {
            return idx;
        }
        let Ok(t) = self.src.type_by_id(id) else {
            return 0;
        };
        if depth > 200 {
            return 0;
        }
        // Reserve the slot first: references back to this type (through pointers) see it.
        let idx = dst.push(Ty::Void);
        self.map.insert(id, idx);
        let name = self.name(t.name_off());
        let ty = match t.kind() {
            Kind::Int => {
                let int = t.int();
                Ty::Int {
                    name,
                    size: t.size_or_type(),
                    encoding: int.map_or(0, |i| i.encoding.0),
                }
            }
            Kind::Ptr => {
                let target = t.size_or_type();
                let pointee = self.src.skip_mods_and_typedefs(target).ok();
                let keep = match pointee {
                    Some(p) if p.is_composite() => {
                        let pname = self.name(p.name_off());
                        if pname.is_empty() {
                            None
                        } else if full(&pname) {
                            Some(self.import_at(dst, p.id(), full, depth + 1))
                        } else {
                            Some(dst.push(Ty::Fwd {
                                name: pname,
                                union: p.kind() == Kind::Union,
                            }))
                        }
                    }
                    Some(p)
                        if matches!(
                            p.kind(),
                            Kind::Int | Kind::Enum | Kind::Enum64 | Kind::Float
                        ) =>
                    {
                        Some(self.import_at(dst, p.id(), full, depth + 1))
                    }
                    Some(p) if p.kind() == Kind::Ptr => {
                        Some(self.import_at(dst, p.id(), full, depth + 1))
                    }
                    _ => None,
                };
                Ty::Ptr(keep.unwrap_or(0))
            }
            Kind::Array => {
                let a = t.array();
                let (elem, index, nelems) =
                    a.map_or((0, 0, 0), |a| (a.elem_type, a.index_type, a.nelems));
                Ty::Array {
                    elem: self.import_at(dst, elem, full, depth + 1),
                    index: self.import_at(dst, index, full, depth + 1),
                    nelems,
                }
            }
            Kind::Struct | Kind::Union => {
                let members = t
                    .members()
                    .map(|m| Member {
                        name: self.name(m.name_off),
                        ty: self.import_at(dst, m.type_id, full, depth + 1),
                        bit_offset: m.bit_offset,
                        bits: m.bitfield_size,
                    })
                    .collect();
                Ty::Composite {
                    name,
                    union: t.kind() == Kind::Union,
                    size: t.size_or_type(),
                    members,
                }
            }
            Kind::Enum | Kind::Enum64 => Ty::Enum {
                values: t
                    .enum_values()
                    .map(|v| (self.name(v.name_off), v.value as i64))
                    .collect(),
                name,
                is64: t.kind() == Kind::Enum64,
                size: t.size_or_type(),
                signed: t.kflag(),
            },
            Kind::Fwd => Ty::Fwd {
                name,
                union: t.kflag(),
            },
            Kind::Typedef => Ty::Typedef {
                name,
                target: self.import_at(dst, t.size_or_type(), full, depth + 1),
            },
            Kind::Const | Kind::Volatile | Kind::Restrict | Kind::TypeTag => Ty::Qualifier {
                kind: t.kind(),
                name,
                target: self.import_at(dst, t.size_or_type(), full, depth + 1),
            },
            Kind::Float => Ty::Float {
                name,
                size: t.size_or_type(),
            },
            Kind::FuncProto => Ty::FuncProto {
                ret: self.import_at(dst, t.size_or_type(), full, depth + 1),
                params: t
                    .params()
                    .map(|p| {
                        (
                            self.name(p.name_off),
                            self.import_at(dst, p.type_id, full, depth + 1),
                        )
                    })
                    .collect(),
            },
            // FUNC, VAR, DATASEC, DECL_TAG are not reached from the types CO-RE looks at.
            _ => Ty::Int {
                name: "int".into(),
                size: 4,
                encoding: IntEncoding::SIGNED,
            },
        };
        dst.types[idx as usize] = ty;
        idx
    }
}
