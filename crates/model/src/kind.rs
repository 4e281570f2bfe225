//! The BTF kinds (`BTF_KIND_*`) and their on-disk record sizes.

/// A BTF type kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// Kind 0: only type id 0, `void`.
    Void,
    /// `BTF_KIND_INT`.
    Int,
    /// `BTF_KIND_PTR`.
    Ptr,
    /// `BTF_KIND_ARRAY`.
    Array,
    /// `BTF_KIND_STRUCT`.
    Struct,
    /// `BTF_KIND_UNION`.
    Union,
    /// `BTF_KIND_ENUM` (32-bit values).
    Enum,
    /// `BTF_KIND_FWD`.
    Fwd,
    /// `BTF_KIND_TYPEDEF`.
    Typedef,
    /// `BTF_KIND_VOLATILE`.
    Volatile,
    /// `BTF_KIND_CONST`.
    Const,
    /// `BTF_KIND_RESTRICT`.
    Restrict,
    /// `BTF_KIND_FUNC`.
    Func,
    /// `BTF_KIND_FUNC_PROTO`.
    FuncProto,
    /// `BTF_KIND_VAR`.
    Var,
    /// `BTF_KIND_DATASEC`.
    Datasec,
    /// `BTF_KIND_FLOAT`.
    Float,
    /// `BTF_KIND_DECL_TAG`.
    DeclTag,
    /// `BTF_KIND_TYPE_TAG`.
    TypeTag,
    /// `BTF_KIND_ENUM64`.
    Enum64,
    /// A kind newer than this crate, skipped using the header's layout section.
    Unknown(u8),
}

impl Kind {
    /// The kind with this `BTF_KIND_*` number.
    pub fn from_raw(raw: u8) -> Kind {
        use Kind::*;
        match raw {
            0 => Void,
            1 => Int,
            2 => Ptr,
            3 => Array,
            4 => Struct,
            5 => Union,
            6 => Enum,
            7 => Fwd,
            8 => Typedef,
            9 => Volatile,
            10 => Const,
            11 => Restrict,
            12 => Func,
            13 => FuncProto,
            14 => Var,
            15 => Datasec,
            16 => Float,
            17 => DeclTag,
            18 => TypeTag,
            19 => Enum64,
            other => Unknown(other),
        }
    }

    /// The `BTF_KIND_*` number.
    pub fn raw(self) -> u8 {
        use Kind::*;
        match self {
            Void => 0,
            Int => 1,
            Ptr => 2,
            Array => 3,
            Struct => 4,
            Union => 5,
            Enum => 6,
            Fwd => 7,
            Typedef => 8,
            Volatile => 9,
            Const => 10,
            Restrict => 11,
            Func => 12,
            FuncProto => 13,
            Var => 14,
            Datasec => 15,
            Float => 16,
            DeclTag => 17,
            TypeTag => 18,
            Enum64 => 19,
            Unknown(raw) => raw,
        }
    }

    /// bpftool's upper-case name (`STRUCT`, `FUNC_PROTO`, ...).
    pub fn name(self) -> &'static str {
        use Kind::*;
        match self {
            Void => "UNKN",
            Int => "INT",
            Ptr => "PTR",
            Array => "ARRAY",
            Struct => "STRUCT",
            Union => "UNION",
            Enum => "ENUM",
            Fwd => "FWD",
            Typedef => "TYPEDEF",
            Volatile => "VOLATILE",
            Const => "CONST",
            Restrict => "RESTRICT",
            Func => "FUNC",
            FuncProto => "FUNC_PROTO",
            Var => "VAR",
            Datasec => "DATASEC",
            Float => "FLOAT",
            DeclTag => "DECL_TAG",
            TypeTag => "TYPE_TAG",
            Enum64 => "ENUM64",
            Unknown(_) => "UNKN",
        }
    }

    /// Bytes that follow the 12-byte common record: fixed part and per-`vlen` element.
    /// `None` for kinds this crate does not know.
    pub(crate) fn record_layout(self) -> Option<(u32, u32)> {
        use Kind::*;
        Some(match self {
            Void | Ptr | Fwd | Typedef | Volatile | Const | Restrict | Func | Float | TypeTag => {
                (0, 0)
            }
            Int | Var | DeclTag => (4, 0),
            Array => (12, 0),
            Struct | Union | Datasec | Enum64 => (0, 12),
            Enum | FuncProto => (0, 8),
            Unknown(_) => return None,
        })
    }

    /// Whether the common record's third word is a size (not a type id).
    pub fn has_size(self) -> bool {
        matches!(
            self,
            Kind::Int
                | Kind::Struct
                | Kind::Union
                | Kind::Enum
                | Kind::Enum64
                | Kind::Datasec
                | Kind::Float
        )
    }

    /// Whether the common record's third word is a type id.
    pub fn has_type(self) -> bool {
        matches!(
            self,
            Kind::Ptr
                | Kind::Typedef
                | Kind::Volatile
                | Kind::Const
                | Kind::Restrict
                | Kind::Func
                | Kind::FuncProto
                | Kind::Var
                | Kind::DeclTag
                | Kind::TypeTag
        )
    }
}
