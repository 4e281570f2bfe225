//! Errors of this crate: every failure names what was being read or written
//! (section, symbol, relocation, offset) so a bad object can be diagnosed.

use thiserror::Error;

/// Everything that can go wrong while reading or rewriting a BPF ELF object.
#[derive(Debug, Error)]
pub enum ObjectError {
    /// The data does not start with the ELF magic `\x7fELF`.
    #[error("not an ELF file (no \\x7fELF magic)")]
    NotElf,
    /// The ELF class is not 64-bit.
    #[error("unsupported ELF class {class} (BPF objects are ELF64)")]
    UnsupportedClass {
        /// `e_ident[EI_CLASS]`.
        class: u8,
    },
    /// The machine is not EM_BPF (247).
    #[error("not a BPF object: e_machine is {machine}, expected 247 (EM_BPF)")]
    NotBpf {
        /// `e_machine` of the file.
        machine: u16,
    },
    /// The `object` crate rejected a part of the file.
    #[error("malformed ELF ({context}): {error}")]
    Malformed {
        /// What was being read.
        context: String,
        /// The underlying parse error (in the message, not a `source()`: an
        /// error chain would print it twice).
        error: object::read::Error,
    },
    /// A structural problem found by this crate's own checks.
    #[error("invalid ELF: {0}")]
    Invalid(String),
    /// The file has no section with this name.
    #[error("no section named {0:?}")]
    MissingSection(String),
    /// A section index given by the caller does not exist.
    #[error("no section with index {0}")]
    NoSuchSection(usize),
    /// A symbol index given by the caller does not exist.
    #[error("no symbol with index {0}")]
    NoSuchSymbol(usize),
    /// A requested edit is not possible.
    #[error("cannot rewrite object: {0}")]
    Rewrite(String),
    /// A feature of the ELF format that this crate does not handle.
    #[error("unsupported ELF feature: {0}")]
    Unsupported(String),
}

/// Result type of this crate.
pub type Result<T, E = ObjectError> = std::result::Result<T, E>;

/// Adds context to a parse error of the `object` crate.
pub(crate) trait Context<T> {
    /// Wraps the error with a description of what was being read.
    fn context(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T> Context<T> for std::result::Result<T, object::read::Error> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|error| ObjectError::Malformed {
            context: what(),
            error,
        })
    }
}
