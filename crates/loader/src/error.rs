//! Loader errors: each names the object part and the kernel's answer.

/// A result with the loader's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// What can go wrong loading or running a program.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The object could not be read.
    #[error("object: {0}")]
    Object(btfkit_object::ObjectError),
    /// A bpf() or perf syscall failed.
    #[error("{what}: {source}")]
    Syscall {
        /// The operation.
        what: String,
        /// The kernel's errno.
        source: std::io::Error,
    },
    /// The verifier rejected a program; the log's tail explains why.
    #[error("the kernel rejected program {program}: {source}\nverifier log (tail):\n{log}")]
    Verifier {
        /// Program name.
        program: String,
        /// errno.
        source: std::io::Error,
        /// The end of the verifier log.
        log: String,
    },
    /// Something in the object this loader does not support.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// A name that is not in the object.
    #[error("not found: {0}")]
    NotFound(String),
}

// Not `#[from]`: that would also make the inner error the `source()`, and an
// error chain (`{:#}`) would print it twice.
impl From<btfkit_object::ObjectError> for Error {
    fn from(e: btfkit_object::ObjectError) -> Error {
        Error::Object(e)
    }
}
