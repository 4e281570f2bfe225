//! Errors of the BTF model. Each names what is wrong and where (offset, type id).

/// A result with the model's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// What can go wrong reading, querying or building BTF.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The data ends before a structure it announces.
    #[error("truncated {what}: needs {need} bytes at offset {offset}, {have} available")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Byte offset where it starts.
        offset: usize,
        /// Bytes needed.
        need: usize,
        /// Bytes available from that offset.
        have: usize,
    },
    /// The magic number is not 0xeB9F in either byte order.
    #[error("not BTF: bad magic {0:#06x} (expected 0xeb9f)")]
    BadMagic(u16),
    /// A version this crate does not know.
    #[error("unsupported BTF version {0} (expected 1)")]
    BadVersion(u8),
    /// The header's lengths and offsets do not describe the data.
    #[error("bad BTF header: {0}")]
    BadHeader(String),
    /// A type record that cannot be decoded.
    #[error("type [{id}]: {msg}")]
    BadType {
        /// The type's id.
        id: TypeIdRaw,
        /// What is wrong with it.
        msg: String,
    },
    /// A string offset past the string section or not NUL-terminated.
    #[error("string offset {0} is outside the string section")]
    BadStringOffset(u32),
    /// A string that is not valid UTF-8.
    #[error("string at offset {0} is not valid UTF-8")]
    BadString(u32),
    /// A type id that names no type.
    #[error("type id {id} out of range (last type id is {last})")]
    BadTypeId {
        /// The id asked for.
        id: TypeIdRaw,
        /// The last valid id.
        last: TypeIdRaw,
    },
    /// A chain of references that loops or is deeper than the limit.
    #[error(
        "type [{0}]: reference chain loops or is deeper than the limit (max_resolve_depth, 32 by default)"
    )]
    Cycle(TypeIdRaw),
    /// An input exceeds one of the documented [`crate::Limits`].
    #[error("limit exceeded: {0}")]
    Limit(String),
    /// A `.BTF.ext` section that cannot be decoded.
    #[error(".BTF.ext: {0}")]
    Ext(String),
    /// Split BTF (a kernel module's) read without the base BTF it extends: its
    /// string section does not start with the empty string because its string
    /// offsets (and type ids) continue the base's.
    #[error("this looks like split BTF (a kernel module's): its strings and type ids continue a base BTF's, so it can only be read with that base (the vmlinux BTF it was built against)")]
    SplitWithoutBase,
    /// A type that the builder cannot encode.
    #[error("cannot build type: {0}")]
    Build(String),
}

/// A type id in error messages.
pub type TypeIdRaw = u32;
