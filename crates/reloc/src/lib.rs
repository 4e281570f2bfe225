//! The CO-RE relocation engine: libbpf's semantics for every relocation kind.
//!
//! - [`spec`]: access strings resolved against a BTF, essential (flavor-less) names.
//! - [`compute`]: the pure part — candidate matching and [`Fixup`] computation
//!   (`byte_off=16->1268`, or a poison decision), rule for rule as libbpf's
//!   `relo_core.c`.
//! - [`patch`]: applying a fixup to one instruction (ALU immediates, LDX/ST/STX
//!   offsets with memory-size adjustment, `ld_imm64`, poisoning).
//! - [`reachability`]: whether the verifier may reach each poisoned
//!   instruction once the relocated constants decide the branches.
//! - [`relocate`]: a whole object against a [`Target`] (whose candidate index is
//!   built once and shared by every object), with one [`Decision`] per record.
//!
//! The kernel's `Documentation/bpf/llvm_reloc.rst` describes the records.

pub mod compute;
pub mod patch;
pub mod reachability;
pub mod relocate;
pub mod spec;
pub mod write;

pub use compute::Fixup;
pub use relocate::{
    relocate_object, Decision, Outcome, OutcomeCounts, Reachability, Relocated, Target,
};

/// What can go wrong relocating.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The object or its BTF cannot be read.
    #[error("{0}")]
    Input(String),
    /// An object-level problem.
    #[error("object: {0}")]
    Object(btfkit_object::ObjectError),
    /// BTF that cannot be decoded.
    #[error("BTF: {0}")]
    Btf(btfkit_model::Error),
    /// An access spec that does not resolve.
    #[error("{0}")]
    Spec(String),
    /// Several candidates that disagree (libbpf refuses these too).
    #[error("{0}")]
    Ambiguous(String),
    /// The instruction cannot take the fixup.
    #[error("{0}")]
    Patch(String),
}

// Not `#[from]`: that would also make the inner error the `source()`, and an
// error chain (`{:#}`) would print it twice.
impl From<btfkit_object::ObjectError> for Error {
    fn from(e: btfkit_object::ObjectError) -> Error {
        Error::Object(e)
    }
}

impl From<btfkit_model::Error> for Error {
    fn from(e: btfkit_model::Error) -> Error {
        Error::Btf(e)
    }
}
