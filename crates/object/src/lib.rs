//! BPF ELF objects: find `.BTF`, `.BTF.ext`, programs, symbols and
//! relocations; rewrite an object with patched sections.
//!
//! This crate knows ELF and the BPF instruction encoding, and nothing of BTF
//! semantics: it hands out raw `.BTF` / `.BTF.ext` bytes for others to parse.
//!
//! - [`BpfObject::parse`] reads an object (zero-copy, hostile input safe).
//! - [`ObjectRewriter`] edits one and writes new ELF bytes.
//! - [`btf_from_elf`], [`detect_format`] and [`find_embedded_bpf_objects`]
//!   get BTF or objects out of other files.

mod detect;
mod error;
mod insn;
mod read;
mod rewrite;

pub use detect::{
    btf_from_elf, detect_format, find_embedded_bpf_objects, is_elf, is_raw_btf, section_from_elf,
    DataFormat, EmbeddedObject, BTF_MAGIC, ELF_MAGIC,
};
pub use error::{ObjectError, Result};
pub use insn::{
    Endian, Insn, INSN_SIZE, R_BPF_64_32, R_BPF_64_64, R_BPF_64_ABS32, R_BPF_64_ABS64,
    R_BPF_64_NODYLD32, R_BPF_NONE,
};
pub use read::{
    BpfObject, DataSection, DataSectionKind, Function, InsnLocation, ProgramSection, Relocation,
    RelocationSection, Section, Symbol, SymbolBinding, SymbolKind, EM_BPF,
};
pub use rewrite::{ObjectRewriter, RelocationEntry};
