//! What btfkit's tests need, in one place: compiling C for BPF with clang-22
//! ([`clang`]), building BPF crates with the BPF toolchain ([`toolchain`]),
//! the repository's test data ([`data`]), libbpf's CO-RE decisions as an oracle
//! ([`oracle`]), objects' CO-RE records read back ([`records`]), and loading
//! into the running kernel ([`kernel`]).
//!
//! A missing prerequisite fails the calling test with a message saying what to
//! install (scripts/setup.sh installs all of it); nothing is skipped. Helpers
//! that fail panic: they run inside tests. Crates take it as a dev-dependency
//! only; it depends on the lower crates alone (model, object, reloc, loader).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod clang;
pub mod data;
pub mod kernel;
pub mod oracle;
pub mod records;
pub mod toolchain;
