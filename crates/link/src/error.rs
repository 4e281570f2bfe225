//! Errors of the link step. Each names the record, marker, section or
//! instruction it is about.

use btfkit_object::ObjectError;

/// A result with the link step's [`LinkError`].
pub type Result<T, E = LinkError> = core::result::Result<T, E>;

/// What can go wrong linking an object.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The ELF object cannot be read or written.
    #[error("object: {0}")]
    Object(ObjectError),
    /// The object's `.BTF` or `.BTF.ext` cannot be read, or the new types cannot be built.
    #[error("BTF: {0}")]
    Btf(btfkit_model::Error),
    /// A type descriptor record in `.btfkit.types` is malformed.
    #[error(
        "type descriptor record #{record} (.btfkit.types section #{section}, offset {offset:#x}): {message}"
    )]
    Descriptor {
        /// Record number (0-based, counted over all `.btfkit.types` sections).
        record: usize,
        /// ELF section index (bpf-linker keeps one section per static).
        section: usize,
        /// Byte offset in that section where the problem is.
        offset: usize,
        /// What is wrong.
        message: String,
    },
    /// Two descriptor records describe the same name differently.
    #[error("conflicting type descriptors for {name:?} (records #{first} and #{second})")]
    ConflictingDescriptors {
        /// The type name.
        name: String,
        /// The first record.
        first: usize,
        /// The other record.
        second: usize,
    },
    /// A descriptor describes a type that cannot be laid out.
    #[error("type {name:?}: {message}")]
    Layout {
        /// The type.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// A marker symbol does not follow the `btfkit:v1:<kind>:<type>:<access>` grammar.
    #[error("query marker {symbol:?}: {message}")]
    Marker {
        /// The symbol name.
        symbol: String,
        /// What is wrong.
        message: String,
    },
    /// A relocation against a marker is not on a `call -1` in a program.
    #[error("section {section:?}, instruction #{insn} (offset {offset:#x}), marker {symbol:?}: {message}")]
    MarkerSite {
        /// ELF section name.
        section: String,
        /// Instruction index in the section.
        insn: u64,
        /// Byte offset in the section.
        offset: u64,
        /// The marker symbol.
        symbol: String,
        /// What is wrong.
        message: String,
    },
    /// A query does not fit the types it names.
    #[error("query marker {symbol:?}: {message}")]
    Query {
        /// The marker symbol.
        symbol: String,
        /// What is wrong.
        message: String,
    },
    /// The rewritten object failed the final check.
    #[error("internal check of the linked object failed: {0}")]
    Check(String),
}

// Not `#[from]`: that would also make the inner error the `source()`, and an
// error chain (`{:#}`) would print it twice.
impl From<ObjectError> for LinkError {
    fn from(e: ObjectError) -> LinkError {
        LinkError::Object(e)
    }
}

impl From<btfkit_model::Error> for LinkError {
    fn from(e: btfkit_model::Error) -> LinkError {
        LinkError::Btf(e)
    }
}
