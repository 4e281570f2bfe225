//! The BTF model: decode, encode, build and query BPF Type Format data.
//!
//! This crate knows BTF and `.BTF.ext` as byte formats and nothing of ELF: callers
//! hand it the bytes of a `.BTF` section or a raw BTF file such as
//! `/sys/kernel/btf/vmlinux`. The formats are specified in the kernel's
//! `Documentation/bpf/btf.rst`; this crate follows it, including the 32-byte
//! header with its `layout` section and name-sorted kernel BTF.
//!
//! - [`Btf`] borrows the input bytes, indexes type offsets in one pass and decodes
//!   a [`Type`] only when asked for it. It also owns types added with the builder
//!   API ([`Btf::add`]), so the link step can extend an object's BTF in place.
//! - [`BtfExt`] is the `.BTF.ext` section: func_info, line_info and core_relo.
//! - [`Btf::to_bytes`] / [`BtfExt::to_bytes`] write them back; parse → write is
//!   byte-identical for unmodified input.

mod btf;
mod builder;
mod bytes;
pub mod dump;
mod encode;
mod error;
pub mod ext;
mod header;
mod kind;
mod strings;
mod types;

pub use btf::{Btf, Endian, Limits};
pub use builder::{NewEnumValue, NewMember, NewParam, NewType, NewVarSecinfo};
pub use error::{Error, Result};
pub use ext::{BtfExt, CoreRelo, CoreReloKind, ExtInfo, ExtSection, FuncInfo, LineInfo};
pub use header::Header;
pub use kind::Kind;
pub use types::{
    Array, EnumValue, EnumValues, Int, IntEncoding, Linkage, Member, Members, Param, Params, Type,
    TypeId, VarSecinfo, VarSecinfos,
};
