//! Local BTF for the described types: plans the types a set of query roots
//! reaches (members, pointees, array elements), names them as clang names
//! the equivalent C types, and appends them to a [`Btf`].
//!
//! Ids are planned before anything is added, so a struct can be referenced
//! (by a pointer among its own members, say) before its record is written.
//! Composites are planned from a work list, never by recursion.

use std::collections::{HashMap, HashSet, VecDeque};

use btfkit_model::{Btf, IntEncoding, Kind, NewEnumValue, NewMember, NewType, TypeId};

use crate::descriptor::{Body, TypeRef};
use crate::error::{LinkError, Result};
use crate::layout::TypeTable;

/// The name of the index type of arrays, as clang emits it.
pub const ARRAY_INDEX_TYPE_NAME: &str = "__ARRAY_SIZE_TYPE__";

/// The C name clang gives an integer of this size and signedness.
pub fn int_name(size: u32, signed: bool) -> &'static str {
    match (size, signed) {
        (1, true) => "char",
        (1, false) => "unsigned char",
        (2, true) => "short",
        (2, false) => "unsigned short",
        (4, true) => "int",
        (4, false) => "unsigned int",
        (8, true) => "long long",
        (8, false) => "unsigned long long",
        (_, true) => "__int128",
        (_, false) => "unsigned __int128",
    }
}

/// The C name of a float of this size.
pub fn float_name(size: u32) -> &'static str {
    match size {
        2 => "_Float16",
        4 => "float",
        8 => "double",
        _ => "long double",
    }
}

/// A member of a planned struct or union.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedMember {
    /// BTF name ("" for an anonymous member).
    pub name: String,
    /// Its type.
    pub type_id: TypeId,
    /// Bit offset.
    pub bit_offset: u32,
    /// Bitfield width (0: none).
    pub bitfield_size: u32,
}

/// A type to be added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Planned {
    /// An INT.
    Int {
        /// C name.
        name: &'static str,
        /// Bytes.
        size: u32,
        /// `BTF_INT_*` bits.
        encoding: u32,
    },
    /// A FLOAT.
    Float {
        /// C name.
        name: &'static str,
        /// Bytes.
        size: u32,
    },
    /// A PTR.
    Ptr(TypeId),
    /// An ARRAY.
    Array {
        /// Element type.
        elem: TypeId,
        /// Index type.
        index: TypeId,
        /// Element count.
        nelems: u32,
    },
    /// A FWD (pointee without a descriptor).
    Fwd {
        /// Name.
        name: String,
        /// Of a union.
        union: bool,
    },
    /// A STRUCT or UNION.
    Composite {
        /// UNION rather than STRUCT.
        union: bool,
        /// BTF name ("" for the type of an anonymous member).
        name: String,
        /// Bytes.
        size: u32,
        /// Members.
        members: Vec<PlannedMember>,
    },
    /// An ENUM (size < 8) or ENUM64 (size 8).
    Enum {
        /// Name.
        name: String,
        /// Bytes.
        size: u32,
        /// Signed values (kflag).
        signed: bool,
        /// Enumerators.
        values: Vec<(String, i64)>,
    },
}

/// Plans local types, reusing what the object's BTF already has where easy.
pub struct LocalTypes<'t> {
    table: &'t mut TypeTable,
    first_id: TypeId,
    slots: Vec<Option<Planned>>,
    queue: VecDeque<(String, TypeId)>,
    named: HashMap<String, TypeId>,
    ints: HashMap<(&'static str, u32, u32), TypeId>,
    ptrs: HashMap<TypeId, TypeId>,
    arrays: HashMap<(TypeId, u32), TypeId>,
    fwds: HashMap<(String, bool), TypeId>,
    anonymous: HashSet<String>,
    roots: HashSet<String>,
    /// The types written in full: the roots and what they hold by value
    /// (members, array elements), transitively. Any other struct or union
    /// is only pointed to and becomes a FWD.
    complete: HashSet<String>,
}

impl<'t> LocalTypes<'t> {
    /// Starts planning types to append to `btf` (whose identical INTs are
    /// reused). `roots` are the query roots: they keep their names even if
    /// an anonymous member also holds them.
    pub fn new(table: &'t mut TypeTable, btf: &Btf<'_>, roots: HashSet<String>) -> Self {
        let mut ints = HashMap::new();
        for id in btf.own_type_ids() {
            let Ok(ty) = btf.type_by_id(id) else { continue };
            let (Some(int), Some(size), Ok(name)) = (ty.int(), ty.size(), btf.type_name(&ty))
            else {
                continue;
            };
            if ty.kind() != Kind::Int || int.offset != 0 || int.bits != size * 8 {
                continue;
            }
            if let Some(known) =
                known_int_name(name).or_else(|| c_name_of_rust_int(name, size, int.encoding.0))
            {
                ints.entry((known, size, int.encoding.0)).or_insert(id);
            }
        }
        let anonymous = table.anonymous_types();
        let complete = held_by_value(table, &roots);
        LocalTypes {
            table,
            first_id: btf.last_id() + 1,
            slots: Vec::new(),
            queue: VecDeque::new(),
            named: HashMap::new(),
            ints,
            ptrs: HashMap::new(),
            arrays: HashMap::new(),
            fwds: HashMap::new(),
            anonymous,
            roots,
            complete,
        }
    }

    fn reserve(&mut self, planned: Option<Planned>) -> Result<TypeId> {
        let id = u32::try_from(self.slots.len())
            .ok()
            .and_then(|n| self.first_id.checked_add(n))
            .ok_or_else(|| LinkError::Layout {
                name: "(local types)".into(),
                message: "too many types".into(),
            })?;
        self.slots.push(planned);
        Ok(id)
    }

    fn fill(&mut self, id: TypeId, planned: Planned) {
        if let Some(slot) = self.slots.get_mut((id - self.first_id) as usize) {
            *slot = Some(planned);
        }
    }

    /// Plans the described type `name` and everything it reaches; returns its id.
    pub fn plan_root(&mut self, name: &str) -> Result<TypeId> {
        let id = self.named_id(name)?;
        self.drain()?;
        Ok(id)
    }

    fn named_id(&mut self, name: &str) -> Result<TypeId> {
        if let Some(id) = self.named.get(name) {
            return Ok(*id);
        }
        let descriptor = self.table.get(name).ok_or_else(|| LinkError::Layout {
            name: name.to_string(),
            message: "no #[btf::relocatable] type describes it".into(),
        })?;
        let enum_plan = match &descriptor.body {
            Body::Enum {
                size,
                signed,
                values,
            } => Some(Planned::Enum {
                name: name.to_string(),
                size: *size,
                signed: *signed,
                values: values
                    .iter()
                    .map(|v| (v.name.clone(), v.value as i64))
                    .collect(),
            }),
            _ => None,
        };
        let queued = enum_plan.is_none();
        let id = self.reserve(enum_plan)?;
        self.named.insert(name.to_string(), id);
        if queued {
            self.queue.push_back((name.to_string(), id));
        }
        Ok(id)
    }

    fn drain(&mut self) -> Result<()> {
        while let Some((name, id)) = self.queue.pop_front() {
            let layout = self.table.layout(&name)?;
            let Some(descriptor) = self.table.get(&name).cloned() else {
                continue;
            };
            let (fields, union) = match &descriptor.body {
                Body::Struct(f) => (f, false),
                Body::Union(f) => (f, true),
                Body::Enum { .. } => continue,
            };
            let mut members = Vec::with_capacity(fields.len());
            for (field, place) in fields.iter().zip(layout.members.iter()) {
                let type_id = self.type_id(&field.ty, 0)?;
                let bit_offset = u32::try_from(place.bit_offset)
                    .ok()
                    .filter(|o| !(place.bitfield_size > 0 && *o >= 1 << 24))
                    .ok_or_else(|| LinkError::Layout {
                        name: name.clone(),
                        message: format!("member {} is too far from the start", field.name),
                    })?;
                members.push(PlannedMember {
                    name: if field.anonymous {
                        String::new()
                    } else {
                        field.btf_name.clone().unwrap_or_else(|| field.name.clone())
                    },
                    type_id,
                    bit_offset,
                    bitfield_size: place.bitfield_size,
                });
            }
            let btf_name = if self.anonymous.contains(&name) && !self.roots.contains(&name) {
                String::new()
            } else {
                name.clone()
            };
            self.fill(
                id,
                Planned::Composite {
                    union,
                    name: btf_name,
                    size: layout.size as u32,
                    members,
                },
            );
        }
        Ok(())
    }

    fn int(&mut self, name: &'static str, size: u32, encoding: u32) -> Result<TypeId> {
        if let Some(id) = self.ints.get(&(name, size, encoding)) {
            return Ok(*id);
        }
        let id = self.reserve(Some(Planned::Int {
            name,
            size,
            encoding,
        }))?;
        self.ints.insert((name, size, encoding), id);
        Ok(id)
    }

    /// The id of a field type, planning what it needs.
    fn type_id(&mut self, ty: &TypeRef, depth: usize) -> Result<TypeId> {
        if depth > crate::descriptor::MAX_TYPE_DEPTH + 1 {
            return Err(LinkError::Layout {
                name: ty.to_string(),
                message: "type nested too deeply".into(),
            });
        }
        match ty {
            TypeRef::Void => Ok(0),
            TypeRef::Bool => self.int("_Bool", 1, IntEncoding::BOOL),
            TypeRef::Int { size, signed } => self.int(
                int_name(*size, *signed),
                *size,
                if *signed { IntEncoding::SIGNED } else { 0 },
            ),
            TypeRef::Float { size } => self.reserve(Some(Planned::Float {
                name: float_name(*size),
                size: *size,
            })),
            TypeRef::Ptr(inner) => {
                let target = match &**inner {
                    TypeRef::Struct(n) | TypeRef::Union(n) | TypeRef::Enum(n)
                        if self.table.resolve_named(inner)?.is_none() =>
                    {
                        self.undescribed(inner, n)?
                    }
                    // Lean BTF, as clang writes it: a struct or union that is
                    // only pointed to (no query roots in it, nothing holds it
                    // by value) stays a forward declaration. Loaders compare
                    // pointer members as pointers and a pointee by its name.
                    TypeRef::Struct(n) | TypeRef::Union(n)
                        if !self.complete.contains(n) && !self.anonymous.contains(n) =>
                    {
                        self.pointee_fwd(inner, n)?
                    }
                    other => self.type_id(other, depth + 1)?,
                };
                if let Some(id) = self.ptrs.get(&target) {
                    return Ok(*id);
                }
                let id = self.reserve(Some(Planned::Ptr(target)))?;
                self.ptrs.insert(target, id);
                Ok(id)
            }
            TypeRef::Array(elem, nelems) => {
                let elem = self.type_id(elem, depth + 1)?;
                if let Some(id) = self.arrays.get(&(elem, *nelems)) {
                    return Ok(*id);
                }
                let id = self.reserve(None)?;
                let index = self.int(ARRAY_INDEX_TYPE_NAME, 4, 0)?;
                self.fill(
                    id,
                    Planned::Array {
                        elem,
                        index,
                        nelems: *nelems,
                    },
                );
                self.arrays.insert((elem, *nelems), id);
                Ok(id)
            }
            TypeRef::Struct(n) | TypeRef::Union(n) | TypeRef::Enum(n) => {
                if self.table.resolve_named(ty)?.is_none() {
                    return Err(LinkError::Layout {
                        name: n.clone(),
                        message: format!(
                            "{ty} is used by value but no #[btf::relocatable] type describes it"
                        ),
                    });
                }
                self.named_id(n)
            }
        }
    }

    /// A pointee without a descriptor: a FWD (or an empty enum, as clang
    /// emits an incomplete enum).
    fn undescribed(&mut self, ty: &TypeRef, name: &str) -> Result<TypeId> {
        if let TypeRef::Enum(_) = ty {
            let key = (format!("enum {name}"), false);
            if let Some(id) = self.fwds.get(&key) {
                return Ok(*id);
            }
            let id = self.reserve(Some(Planned::Enum {
                name: name.to_string(),
                size: 4,
                signed: false,
                values: Vec::new(),
            }))?;
            self.fwds.insert(key, id);
            return Ok(id);
        }
        let union = matches!(ty, TypeRef::Union(_));
        let key = (name.to_string(), union);
        if let Some(id) = self.fwds.get(&key) {
            return Ok(*id);
        }
        let id = self.reserve(Some(Planned::Fwd {
            name: name.to_string(),
            union,
        }))?;
        self.fwds.insert(key, id);
        Ok(id)
    }

    /// The target of a pointer to a described struct or union that is not
    /// complete in the local BTF: a FWD, as clang emits it.
    fn pointee_fwd(&mut self, ty: &TypeRef, name: &str) -> Result<TypeId> {
        let union = matches!(ty, TypeRef::Union(_));
        let key = (name.to_string(), union);
        if let Some(id) = self.fwds.get(&key) {
            return Ok(*id);
        }
        let id = self.reserve(Some(Planned::Fwd {
            name: name.to_string(),
            union,
        }))?;
        self.fwds.insert(key, id);
        Ok(id)
    }

    /// The planned types, in id order from the first new id.
    pub fn finish(self) -> Result<(TypeId, Vec<Planned>)> {
        let first = self.first_id;
        let planned = self
            .slots
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                p.ok_or_else(|| LinkError::Check(format!("local type #{i} was never planned")))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((first, planned))
    }
}

/// `roots` and every described type they hold by value, transitively
/// (members and array elements; pointers end the walk).
fn held_by_value(table: &TypeTable, roots: &HashSet<String>) -> HashSet<String> {
    let mut complete: HashSet<String> = HashSet::new();
    let mut work: Vec<String> = roots.iter().cloned().collect();
    while let Some(name) = work.pop() {
        if !complete.insert(name.clone()) {
            continue;
        }
        let Some(descriptor) = table.get(&name) else {
            continue;
        };
        let (Body::Struct(fields) | Body::Union(fields)) = &descriptor.body else {
            continue;
        };
        for field in fields {
            let mut ty = &field.ty;
            while let TypeRef::Array(elem, _) = ty {
                ty = elem;
            }
            if let TypeRef::Struct(n) | TypeRef::Union(n) | TypeRef::Enum(n) = ty {
                if !complete.contains(n) {
                    work.push(n.clone());
                }
            }
        }
    }
    complete
}

/// The C name of an INT that bpf-linker named after a Rust primitive (`u8`,
/// `i32`, `usize`, ...), when its size and signedness are the primitive's:
/// such an INT is reused for local types, and the link step renames it (see
/// `btf_edit::compact`), so the object has one INT per C integer, as clang's.
pub fn c_name_of_rust_int(name: &str, size: u32, encoding: u32) -> Option<&'static str> {
    let signed = match name.as_bytes().first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return None,
    };
    let bits: u32 = match &name[1..] {
        "size" => 64,
        digits => digits.parse().ok()?,
    };
    let want = if signed { IntEncoding::SIGNED } else { 0 };
    (bits == size * 8 && matches!(size, 1 | 2 | 4 | 8 | 16) && encoding == want)
        .then(|| int_name(size, signed))
}

fn known_int_name(name: &str) -> Option<&'static str> {
    const NAMES: [&str; 13] = [
        "char",
        "unsigned char",
        "short",
        "unsigned short",
        "int",
        "unsigned int",
        "long long",
        "unsigned long long",
        "__int128",
        "unsigned __int128",
        "_Bool",
        ARRAY_INDEX_TYPE_NAME,
        "signed char",
    ];
    NAMES.iter().copied().find(|n| *n == name)
}

/// Appends planned types to `btf`, checking each gets its planned id.
pub fn add_planned(btf: &mut Btf<'_>, first_id: TypeId, planned: &[Planned]) -> Result<()> {
    for (i, p) in planned.iter().enumerate() {
        let members;
        let values;
        let new = match p {
            Planned::Int {
                name,
                size,
                encoding,
            } => NewType::Int {
                name,
                size: *size,
                encoding: IntEncoding(*encoding),
                offset: 0,
                bits: size * 8,
            },
            Planned::Float { name, size } => NewType::Float { name, size: *size },
            Planned::Ptr(target) => NewType::Ptr { target: *target },
            Planned::Array {
                elem,
                index,
                nelems,
            } => NewType::Array {
                elem: *elem,
                index: *index,
                nelems: *nelems,
            },
            Planned::Fwd { name, union } => NewType::Fwd {
                name,
                union: *union,
            },
            Planned::Composite {
                union,
                name,
                size,
                members: planned_members,
            } => {
                members = planned_members
                    .iter()
                    .map(|m| NewMember {
                        name: &m.name,
                        type_id: m.type_id,
                        bit_offset: m.bit_offset,
                        bitfield_size: m.bitfield_size,
                    })
                    .collect::<Vec<_>>();
                if *union {
                    NewType::Union {
                        name,
                        size: *size,
                        members,
                    }
                } else {
                    NewType::Struct {
                        name,
                        size: *size,
                        members,
                    }
                }
            }
            Planned::Enum {
                name,
                size,
                signed,
                values: planned_values,
            } => {
                values = planned_values
                    .iter()
                    .map(|(n, v)| NewEnumValue { name: n, value: *v })
                    .collect::<Vec<_>>();
                if *size == 8 {
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
        };
        let id = btf.add(&new)?;
        let want = first_id + i as u32;
        if id != want {
            return Err(LinkError::Check(format!(
                "local type planned as [{want}] was added as [{id}]"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::descriptor::parse_record;

    /// Plans `roots` over the given records; returns the planned types.
    fn plan(records: &[&str], roots: &[&str]) -> Vec<Planned> {
        let descriptors = records
            .iter()
            .enumerate()
            .map(|(i, r)| parse_record(r, i, 0).unwrap())
            .collect();
        let mut table = TypeTable::new(descriptors).unwrap();
        let btf = Btf::new();
        let set = roots.iter().map(|r| r.to_string()).collect();
        let mut planner = LocalTypes::new(&mut table, &btf, set);
        for r in roots {
            planner.plan_root(r).unwrap();
        }
        planner.finish().unwrap().1
    }

    fn composites(planned: &[Planned]) -> Vec<&str> {
        planned
            .iter()
            .filter_map(|p| match p {
                Planned::Composite { name, .. } => Some(name.as_str()),
                _ => None,
            })
            .collect()
    }

    fn fwds(planned: &[Planned]) -> Vec<&str> {
        planned
            .iter()
            .filter_map(|p| match p {
                Planned::Fwd { name, .. } => Some(name.as_str()),
                _ => None,
            })
            .collect()
    }

    const RECORDS: [&str; 3] = [
        "BTFKIT1 struct task{pid:i4;mm:*struct mm;se:struct sched;}",
        "BTFKIT1 struct mm{start:u8;owner:*struct task;}",
        "BTFKIT1 struct sched{w:u4;}",
    ];

    #[test]
    fn only_pointed_to_types_are_forward_declarations() {
        // `sched` is held by value: complete; `mm` only pointed to: a FWD.
        let planned = plan(&RECORDS, &["task"]);
        assert_eq!(composites(&planned), ["task", "sched"]);
        assert_eq!(fwds(&planned), ["mm"]);
    }

    #[test]
    fn a_pointee_that_is_also_a_root_is_complete() {
        let planned = plan(&RECORDS, &["task", "mm"]);
        assert_eq!(composites(&planned), ["task", "mm", "sched"]);
        assert!(fwds(&planned).is_empty());
    }
}
