//! Decoded views of BTF type records. A [`Type`] borrows its record's bytes and
//! decodes fields on demand; member, enumerator and parameter lists are
//! iterators over the raw records.

use crate::header::read_u32;
use crate::{Endian, Kind};

/// A BTF type id. 0 is `void`.
pub type TypeId = u32;

/// One type record, borrowed from its BTF.
#[derive(Clone, Copy)]
pub struct Type<'b> {
    pub(crate) id: TypeId,
    pub(crate) name_off: u32,
    pub(crate) info: u32,
    pub(crate) size_or_type: u32,
    /// The bytes after the 12-byte common record.
    pub(crate) extra: &'b [u8],
    pub(crate) endian: Endian,
}

impl std::fmt::Debug for Type<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Type")
            .field("id", &self.id)
            .field("kind", &self.kind())
            .field("name_off", &self.name_off)
            .field("vlen", &self.vlen())
            .field("size_or_type", &self.size_or_type)
            .finish()
    }
}

impl<'b> Type<'b> {
    pub(crate) fn void() -> Type<'static> {
        Type {
            id: 0,
            name_off: 0,
            info: 0,
            size_or_type: 0,
            extra: &[],
            endian: Endian::Little,
        }
    }

    /// This type's id.
    pub fn id(&self) -> TypeId {
        self.id
    }
    /// The kind.
    pub fn kind(&self) -> Kind {
        Kind::from_raw(((self.info >> 24) & 0x1f) as u8)
    }
    /// Offset of the name in the string section (0: anonymous).
    pub fn name_off(&self) -> u32 {
        self.name_off
    }
    /// `vlen`: number of members, enumerators, parameters or variables.
    pub fn vlen(&self) -> u16 {
        (self.info & 0xffff) as u16
    }
    /// `kind_flag`: bitfield offsets (struct/union), union (fwd), signed (enum), decl_tag attribute.
    pub fn kflag(&self) -> bool {
        self.info >> 31 == 1
    }
    /// The raw `info` word.
    pub fn info(&self) -> u32 {
        self.info
    }
    /// The raw third word: a size or a type id depending on the kind.
    pub fn size_or_type(&self) -> u32 {
        self.size_or_type
    }
    /// The size in bytes, for kinds that carry one (int, struct, union, enum, datasec, float).
    pub fn size(&self) -> Option<u32> {
        self.kind().has_size().then_some(self.size_or_type)
    }
    /// The referenced type, for kinds that carry one (ptr, typedef, modifiers, func,
    /// func_proto's return type, var, decl_tag, type_tag).
    pub fn ref_type(&self) -> Option<TypeId> {
        self.kind().has_type().then_some(self.size_or_type)
    }
    /// The raw bytes after the common record.
    pub fn extra_bytes(&self) -> &'b [u8] {
        self.extra
    }

    fn word(&self, off: usize) -> u32 {
        read_u32(self.endian, self.extra, off)
    }

    /// The INT details; `None` for other kinds.
    pub fn int(&self) -> Option<Int> {
        if self.kind() != Kind::Int || self.extra.len() < 4 {
            return None;
        }
        let v = self.word(0);
        Some(Int {
            encoding: IntEncoding((v >> 24) & 0x0f),
            offset: (v >> 16) & 0xff,
            bits: v & 0xff,
        })
    }

    /// The ARRAY details; `None` for other kinds.
    pub fn array(&self) -> Option<Array> {
        if self.kind() != Kind::Array || self.extra.len() < 12 {
            return None;
        }
        Some(Array {
            elem_type: self.word(0),
            index_type: self.word(4),
            nelems: self.word(8),
        })
    }

    /// Members of a struct or union (empty for other kinds).
    pub fn members(&self) -> Members<'b> {
        let records = match self.kind() {
            Kind::Struct | Kind::Union => self.extra,
            _ => &[],
        };
        Members {
            records,
            kflag: self.kflag(),
            endian: self.endian,
        }
    }

    /// Enumerators of an enum or enum64 (empty for other kinds).
    pub fn enum_values(&self) -> EnumValues<'b> {
        let (records, stride) = match self.kind() {
            Kind::Enum => (self.extra, 8),
            Kind::Enum64 => (self.extra, 12),
            _ => (&[][..], 8),
        };
        EnumValues {
            records,
            stride,
            signed: self.kflag(),
            endian: self.endian,
        }
    }

    /// Whether an enum or enum64 is signed (kflag).
    pub fn enum_signed(&self) -> bool {
        matches!(self.kind(), Kind::Enum | Kind::Enum64) && self.kflag()
    }

    /// Parameters of a func_proto (empty for other kinds).
    pub fn params(&self) -> Params<'b> {
        let records = match self.kind() {
            Kind::FuncProto => self.extra,
            _ => &[],
        };
        Params {
            records,
            endian: self.endian,
        }
    }

    /// Variables of a datasec (empty for other kinds).
    pub fn datasec_vars(&self) -> VarSecinfos<'b> {
        let records = match self.kind() {
            Kind::Datasec => self.extra,
            _ => &[],
        };
        VarSecinfos {
            records,
            endian: self.endian,
        }
    }

    /// Linkage of a var (its extra word) or func (its vlen).
    pub fn linkage(&self) -> Option<Linkage> {
        match self.kind() {
            Kind::Var if self.extra.len() >= 4 => Some(Linkage(self.word(0))),
            Kind::Func => Some(Linkage(self.vlen() as u32)),
            _ => None,
        }
    }

    /// `component_idx` of a decl_tag: -1 for the type itself, else a member/param index.
    pub fn decl_tag_component(&self) -> Option<i32> {
        (self.kind() == Kind::DeclTag && self.extra.len() >= 4).then(|| self.word(0) as i32)
    }

    /// Whether a fwd declares a union (kflag) rather than a struct.
    pub fn fwd_is_union(&self) -> bool {
        self.kind() == Kind::Fwd && self.kflag()
    }

    /// Whether this is a struct or union.
    pub fn is_composite(&self) -> bool {
        matches!(self.kind(), Kind::Struct | Kind::Union)
    }

    /// Whether this is a typedef, const, volatile, restrict or type_tag (a
    /// qualifier that does not change layout).
    pub fn is_mod_or_typedef(&self) -> bool {
        matches!(
            self.kind(),
            Kind::Typedef | Kind::Const | Kind::Volatile | Kind::Restrict | Kind::TypeTag
        )
    }
}

/// `BTF_INT_*` encoding bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IntEncoding(pub u32);

impl IntEncoding {
    /// `BTF_INT_SIGNED`.
    pub const SIGNED: u32 = 1;
    /// `BTF_INT_CHAR`.
    pub const CHAR: u32 = 2;
    /// `BTF_INT_BOOL`.
    pub const BOOL: u32 = 4;
    /// Signed integer.
    pub fn is_signed(self) -> bool {
        self.0 & Self::SIGNED != 0
    }
    /// Character type.
    pub fn is_char(self) -> bool {
        self.0 & Self::CHAR != 0
    }
    /// Boolean type.
    pub fn is_bool(self) -> bool {
        self.0 & Self::BOOL != 0
    }
}

/// The INT record after the common part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Int {
    /// Signedness, char, bool.
    pub encoding: IntEncoding,
    /// Bit offset of the value (legacy bitfield ints).
    pub offset: u32,
    /// Number of value bits.
    pub bits: u32,
}

/// The ARRAY record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Array {
    /// Element type.
    pub elem_type: TypeId,
    /// Index type.
    pub index_type: TypeId,
    /// Number of elements.
    pub nelems: u32,
}

/// A struct or union member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    /// Name offset (0: anonymous member).
    pub name_off: u32,
    /// The member's type.
    pub type_id: TypeId,
    /// Offset in bits from the start of the struct.
    pub bit_offset: u32,
    /// Bitfield size in bits (0: not a bitfield, or unknown without kflag).
    pub bitfield_size: u32,
    /// The raw `offset` word as stored.
    pub raw_offset: u32,
}

/// Iterator over a struct's members.
#[derive(Clone)]
pub struct Members<'b> {
    records: &'b [u8],
    kflag: bool,
    endian: Endian,
}

impl Iterator for Members<'_> {
    type Item = Member;
    fn next(&mut self) -> Option<Member> {
        if self.records.len() < 12 {
            return None;
        }
        let (rec, rest) = self.records.split_at(12);
        self.records = rest;
        let raw_offset = read_u32(self.endian, rec, 8);
        let (bit_offset, bitfield_size) = if self.kflag {
            (raw_offset & 0x00ff_ffff, raw_offset >> 24)
        } else {
            (raw_offset, 0)
        };
        Some(Member {
            name_off: read_u32(self.endian, rec, 0),
            type_id: read_u32(self.endian, rec, 4),
            bit_offset,
            bitfield_size,
            raw_offset,
        })
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.records.len() / 12;
        (n, Some(n))
    }
}
impl ExactSizeIterator for Members<'_> {}

/// An enumerator of an enum or enum64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnumValue {
    /// Name offset.
    pub name_off: u32,
    /// The value's 64 bits (enum: sign- or zero-extended from 32 bits per the kflag).
    pub value: u64,
}

impl EnumValue {
    /// The value as signed.
    pub fn signed(&self) -> i64 {
        self.value as i64
    }
}

/// Iterator over enumerators.
#[derive(Clone)]
pub struct EnumValues<'b> {
    records: &'b [u8],
    stride: usize,
    signed: bool,
    endian: Endian,
}

impl Iterator for EnumValues<'_> {
    type Item = EnumValue;
    fn next(&mut self) -> Option<EnumValue> {
        if self.records.len() < self.stride {
            return None;
        }
        let (rec, rest) = self.records.split_at(self.stride);
        self.records = rest;
        let name_off = read_u32(self.endian, rec, 0);
        let value = if self.stride == 12 {
            let lo = read_u32(self.endian, rec, 4) as u64;
            let hi = read_u32(self.endian, rec, 8) as u64;
            hi << 32 | lo
        } else {
            let v = read_u32(self.endian, rec, 4);
            if self.signed {
                v as i32 as i64 as u64
            } else {
                v as u64
            }
        };
        Some(EnumValue { name_off, value })
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.records.len() / self.stride;
        (n, Some(n))
    }
}
impl ExactSizeIterator for EnumValues<'_> {}

/// A func_proto parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param {
    /// Name offset (0: unnamed).
    pub name_off: u32,
    /// Type (0 with no name: the `...` of a variadic function).
    pub type_id: TypeId,
}

/// Iterator over func_proto parameters.
#[derive(Clone)]
pub struct Params<'b> {
    records: &'b [u8],
    endian: Endian,
}

impl Iterator for Params<'_> {
    type Item = Param;
    fn next(&mut self) -> Option<Param> {
        if self.records.len() < 8 {
            return None;
        }
        let (rec, rest) = self.records.split_at(8);
        self.records = rest;
        Some(Param {
            name_off: read_u32(self.endian, rec, 0),
            type_id: read_u32(self.endian, rec, 4),
        })
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.records.len() / 8;
        (n, Some(n))
    }
}
impl ExactSizeIterator for Params<'_> {}

/// A datasec entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VarSecinfo {
    /// The var (or func) type.
    pub type_id: TypeId,
    /// Offset in the section.
    pub offset: u32,
    /// Size in bytes.
    pub size: u32,
}

/// Iterator over datasec entries.
#[derive(Clone)]
pub struct VarSecinfos<'b> {
    records: &'b [u8],
    endian: Endian,
}

impl Iterator for VarSecinfos<'_> {
    type Item = VarSecinfo;
    fn next(&mut self) -> Option<VarSecinfo> {
        if self.records.len() < 12 {
            return None;
        }
        let (rec, rest) = self.records.split_at(12);
        self.records = rest;
        Some(VarSecinfo {
            type_id: read_u32(self.endian, rec, 0),
            offset: read_u32(self.endian, rec, 4),
            size: read_u32(self.endian, rec, 8),
        })
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.records.len() / 12;
        (n, Some(n))
    }
}
impl ExactSizeIterator for VarSecinfos<'_> {}

/// Linkage of a var or func (`BTF_VAR_*` / `BTF_FUNC_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Linkage(pub u32);

impl Linkage {
    /// bpftool's name for a func linkage: static, global, extern.
    pub fn func_name(self) -> &'static str {
        match self.0 {
            0 => "static",
            1 => "global",
            2 => "extern",
            _ => "(unknown)",
        }
    }
    /// bpftool's name for a var linkage: static, global-alloc, extern.
    pub fn var_name(self) -> &'static str {
        match self.0 {
            0 => "static",
            1 => "global",
            2 => "extern",
            _ => "(unknown)",
        }
    }
}
