//! Adding types and strings to a [`Btf`]: the API the link step uses to describe
//! local types. Strings are deduplicated; type ids are handed out in order.

use crate::btf::{hash_name, Btf};
use crate::error::{Error, Result};
use crate::header::put_u32;
use crate::strings::StringIndex;
use crate::types::{IntEncoding, Linkage, TypeId};
use crate::Kind;

/// A struct or union member to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMember<'s> {
    /// Name ("" for an anonymous member).
    pub name: &'s str,
    /// Member type.
    pub type_id: TypeId,
    /// Offset from the start of the struct, in bits.
    pub bit_offset: u32,
    /// Bitfield width in bits, 0 when not a bitfield.
    pub bitfield_size: u32,
}

/// An enumerator to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEnumValue<'s> {
    /// Name.
    pub name: &'s str,
    /// Value (its low 32 bits for a 32-bit enum).
    pub value: i64,
}

/// A func_proto parameter to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewParam<'s> {
    /// Name ("" for unnamed).
    pub name: &'s str,
    /// Type.
    pub type_id: TypeId,
}

/// A datasec entry to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVarSecinfo {
    /// The var or func.
    pub type_id: TypeId,
    /// Offset in the section.
    pub offset: u32,
    /// Size in bytes.
    pub size: u32,
}

/// A type to add with [`Btf::add`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewType<'s> {
    /// An integer.
    Int {
        /// Name (`int`, `unsigned char`, ...).
        name: &'s str,
        /// Size in bytes.
        size: u32,
        /// Signed / char / bool bits.
        encoding: IntEncoding,
        /// Value bit offset (0).
        offset: u32,
        /// Value bits.
        bits: u32,
    },
    /// A pointer.
    Ptr {
        /// Pointee.
        target: TypeId,
    },
    /// An array.
    Array {
        /// Element type.
        elem: TypeId,
        /// Index type.
        index: TypeId,
        /// Element count.
        nelems: u32,
    },
    /// A struct.
    Struct {
        /// Name ("" for anonymous).
        name: &'s str,
        /// Size in bytes.
        size: u32,
        /// Members.
        members: Vec<NewMember<'s>>,
    },
    /// A union.
    Union {
        /// Name ("" for anonymous).
        name: &'s str,
        /// Size in bytes.
        size: u32,
        /// Members.
        members: Vec<NewMember<'s>>,
    },
    /// A 32-bit enum.
    Enum {
        /// Name.
        name: &'s str,
        /// Size in bytes (1, 2, 4).
        size: u32,
        /// Signed values.
        signed: bool,
        /// Enumerators.
        values: Vec<NewEnumValue<'s>>,
    },
    /// A 64-bit enum.
    Enum64 {
        /// Name.
        name: &'s str,
        /// Size in bytes (8).
        size: u32,
        /// Signed values.
        signed: bool,
        /// Enumerators.
        values: Vec<NewEnumValue<'s>>,
    },
    /// A forward declaration.
    Fwd {
        /// Name.
        name: &'s str,
        /// Of a union (else a struct).
        union: bool,
    },
    /// A typedef.
    Typedef {
        /// Name.
        name: &'s str,
        /// Aliased type.
        target: TypeId,
    },
    /// `volatile`.
    Volatile {
        /// Qualified type.
        target: TypeId,
    },
    /// `const`.
    Const {
        /// Qualified type.
        target: TypeId,
    },
    /// `restrict`.
    Restrict {
        /// Qualified type.
        target: TypeId,
    },
    /// A function.
    Func {
        /// Name.
        name: &'s str,
        /// Its func_proto.
        proto: TypeId,
        /// static / global / extern.
        linkage: Linkage,
    },
    /// A function prototype.
    FuncProto {
        /// Return type.
        ret: TypeId,
        /// Parameters.
        params: Vec<NewParam<'s>>,
    },
    /// A variable.
    Var {
        /// Name.
        name: &'s str,
        /// Type.
        type_id: TypeId,
        /// static / global / extern.
        linkage: Linkage,
    },
    /// A data section.
    Datasec {
        /// Section name.
        name: &'s str,
        /// Size in bytes.
        size: u32,
        /// Entries.
        vars: Vec<NewVarSecinfo>,
    },
    /// A float.
    Float {
        /// Name.
        name: &'s str,
        /// Size in bytes.
        size: u32,
    },
    /// A declaration tag.
    DeclTag {
        /// Tag value.
        name: &'s str,
        /// Tagged type.
        target: TypeId,
        /// -1 for the type, else a member or parameter index.
        component_idx: i32,
    },
    /// A type tag.
    TypeTag {
        /// Tag value.
        name: &'s str,
        /// Tagged type.
        target: TypeId,
    },
}

fn vlen_of(n: usize, what: &str) -> Result<u32> {
    u16::try_from(n)
        .map(u32::from)
        .map_err(|_| Error::Build(format!("{n} {what} exceed the BTF maximum of 65535")))
}

impl<'a> Btf<'a> {
    /// Adds `s` to the string section (or finds it there) and returns its offset.
    pub fn add_string(&mut self, s: &str) -> Result<u32> {
        if s.contains('\0') {
            return Err(Error::Build(format!("string {s:?} contains a NUL byte")));
        }
        if s.is_empty() && (self.base.is_some() || self.strings.first() == Some(&0)) {
            return Ok(0);
        }
        if self.string_index.is_none() {
            self.string_index = Some(StringIndex::build(&self.strings));
        }
        if let Some(index) = &self.string_index {
            if let Some(off) = index.find(&self.strings, s.as_bytes()) {
                return Ok(self.start_str_off + off);
            }
        }
        let table = self.strings.to_mut();
        let off = table.len() as u32;
        table.extend_from_slice(s.as_bytes());
        table.push(0);
        if let Some(index) = &mut self.string_index {
            index.insert(s.as_bytes(), off);
        }
        self.modified = true;
        Ok(self.start_str_off + off)
    }

    /// Appends a type and returns its id.
    pub fn add(&mut self, t: &NewType<'_>) -> Result<TypeId> {
        let e = self.endian;
        let mut rec = Vec::with_capacity(16);
        let common =
            |rec: &mut Vec<u8>, name_off: u32, kind: Kind, kflag: bool, vlen: u32, third: u32| {
                put_u32(e, rec, name_off);
                put_u32(
                    e,
                    rec,
                    (kflag as u32) << 31 | (kind.raw() as u32) << 24 | vlen,
                );
                put_u32(e, rec, third);
            };
        match t {
            NewType::Int {
                name,
                size,
                encoding,
                offset,
                bits,
            } => {
                let n = self.add_string(name)?;
                common(&mut rec, n, Kind::Int, false, 0, *size);
                put_u32(
                    e,
                    &mut rec,
                    (encoding.0 & 0xf) << 24 | (offset & 0xff) << 16 | (bits & 0xff),
                );
            }
            NewType::Ptr { target } => common(&mut rec, 0, Kind::Ptr, false, 0, *target),
            NewType::Array {
                elem,
                index,
                nelems,
            } => {
                common(&mut rec, 0, Kind::Array, false, 0, 0);
                for v in [*elem, *index, *nelems] {
                    put_u32(e, &mut rec, v);
                }
            }
            NewType::Struct {
                name,
                size,
                members,
            }
            | NewType::Union {
                name,
                size,
                members,
            } => {
                let kind = if matches!(t, NewType::Struct { .. }) {
                    Kind::Struct
                } else {
                    Kind::Union
                };
                let n = self.add_string(name)?;
                let kflag = members.iter().any(|m| m.bitfield_size > 0);
                let vlen = vlen_of(members.len(), "members")?;
                let mut body = Vec::with_capacity(members.len() * 12);
                for m in members {
                    let mn = self.add_string(m.name)?;
                    put_u32(e, &mut body, mn);
                    put_u32(e, &mut body, m.type_id);
                    let off = if kflag {
                        if m.bit_offset >= 1 << 24 || m.bitfield_size > 255 {
                            return Err(Error::Build(format!(
                                "member {:?}: bit offset {} or bitfield size {} does not fit the kflag encoding",
                                m.name, m.bit_offset, m.bitfield_size
                            )));
                        }
                        m.bitfield_size << 24 | m.bit_offset
                    } else {
                        m.bit_offset
                    };
                    put_u32(e, &mut body, off);
                }
                common(&mut rec, n, kind, kflag, vlen, *size);
                rec.extend_from_slice(&body);
            }
            NewType::Enum {
                name,
                size,
                signed,
                values,
            }
            | NewType::Enum64 {
                name,
                size,
                signed,
                values,
            } => {
                let is64 = matches!(t, NewType::Enum64 { .. });
                let n = self.add_string(name)?;
                let vlen = vlen_of(values.len(), "enumerators")?;
                let mut body = Vec::new();
                for v in values {
                    let vn = self.add_string(v.name)?;
                    put_u32(e, &mut body, vn);
                    put_u32(e, &mut body, v.value as u64 as u32);
                    if is64 {
                        put_u32(e, &mut body, ((v.value as u64) >> 32) as u32);
                    }
                }
                let kind = if is64 { Kind::Enum64 } else { Kind::Enum };
                common(&mut rec, n, kind, *signed, vlen, *size);
                rec.extend_from_slice(&body);
            }
            NewType::Fwd { name, union } => {
                let n = self.add_string(name)?;
                common(&mut rec, n, Kind::Fwd, *union, 0, 0);
            }
            NewType::Typedef { name, target } => {
                let n = self.add_string(name)?;
                common(&mut rec, n, Kind::Typedef, false, 0, *target);
            }
            NewType::Volatile { target } => common(&mut rec, 0, Kind::Volatile, false, 0, *target),
            NewType::Const { target } => common(&mut rec, 0, Kind::Const, false, 0, *target),
            NewType::Restrict { target } => common(&mut rec, 0, Kind::Restrict, false, 0, *target),
            NewType::Func {
                name,
                proto,
                linkage,
            } => {
                let n = self.add_string(name)?;
                common(&mut rec, n, Kind::Func, false, linkage.0 & 0xffff, *proto);
            }
            NewType::FuncProto { ret, params } => {
                let vlen = vlen_of(params.len(), "parameters")?;
                let mut body = Vec::new();
                for p in params {
                    let pn = self.add_string(p.name)?;
                    put_u32(e, &mut body, pn);
                    put_u32(e, &mut body, p.type_id);
                }
                common(&mut rec, 0, Kind::FuncProto, false, vlen, *ret);
                rec.extend_from_slice(&body);
            }
            NewType::Var {
                name,
                type_id,
                linkage,
            } => {
                let n = self.add_string(name)?;
                common(&mut rec, n, Kind::Var, false, 0, *type_id);
                put_u32(e, &mut rec, linkage.0);
            }
            NewType::Datasec { name, size, vars } => {
                let n = self.add_string(name)?;
                let vlen = vlen_of(vars.len(), "datasec entries")?;
                common(&mut rec, n, Kind::Datasec, false, vlen, *size);
                for v in vars {
                    for w in [v.type_id, v.offset, v.size] {
                        put_u32(e, &mut rec, w);
                    }
                }
            }
            NewType::Float { name, size } => {
                let n = self.add_string(name)?;
                common(&mut rec, n, Kind::Float, false, 0, *size);
            }
            NewType::DeclTag {
                name,
                target,
                component_idx,
            } => {
                let n = self.add_string(name)?;
                common(&mut rec, n, Kind::DeclTag, false, 0, *target);
                put_u32(e, &mut rec, *component_idx as u32);
            }
            NewType::TypeTag { name, target } => {
                let n = self.add_string(name)?;
                common(&mut rec, n, Kind::TypeTag, false, 0, *target);
            }
        }
        if self.offsets.len() as u64 >= self.limits.max_types as u64 {
            return Err(Error::Limit(format!(
                "more than {} types (max_types)",
                self.limits.max_types
            )));
        }
        let types = self.types.to_mut();
        let off = u32::try_from(types.len())
            .map_err(|_| Error::Build("type section exceeds 4 GiB".into()))?;
        types.extend_from_slice(&rec);
        self.offsets.push(off);
        self.modified = true;
        let id = self.last_id();
        if self.name_index.get().is_some() {
            let name_off = crate::header::read_u32(e, &rec, 0);
            let raw_kind = (crate::header::read_u32(e, &rec, 4) >> 24) & 0x1f;
            let hash = (name_off != 0)
                .then(|| self.name(name_off).ok().map(|n| hash_name(n.as_bytes())))
                .flatten();
            if let (Some(h), Some(index)) = (hash, self.name_index.get_mut()) {
                index.insert(h, raw_kind, id, name_off);
            }
        }
        Ok(id)
    }
}
