//! Helpers of btfkit-link's integration tests (also used by crates/cli's):
//! the C and Rust fixtures built with the real toolchains (btfkit-testkit,
//! failing loudly when one is missing), and CO-RE records read back.
#![allow(
    dead_code,
    unused_imports,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::path::{Path, PathBuf};

pub use btfkit_testkit::records::{
    function_insns, records, root_shapes, shape, show_records, Record,
};

/// `crates/link/testdata`.
pub fn testdata() -> PathBuf {
    btfkit_testkit::data::crate_dir("link").join("testdata")
}

/// Compiles a C file with clang-22 for BPF (`-O2 -g`), returns the object.
pub fn compile_c(source: &Path) -> Vec<u8> {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "{}.o",
        source.file_stem().unwrap().to_string_lossy()
    ));
    btfkit_testkit::clang::compile(source, &out, &[])
}

/// Builds the BPF crate `testdata/<name>` with Debian's rustc 1.96 and
/// bpf-linker (`--btf`), returns the object's path.
pub fn build_rust_fixture(name: &str) -> PathBuf {
    build_rust_fixture_with(name, "-C link-arg=--btf", "btf")
}

/// Like [`build_rust_fixture`] with other `RUSTFLAGS` (e.g. none: no `.BTF`),
/// in a target directory of its own named after `tag`.
pub fn build_rust_fixture_with(name: &str, rustflags: &str, tag: &str) -> PathBuf {
    let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{tag}-target"));
    btfkit_testkit::toolchain::build_bpf_lib(&testdata().join(name), &target_dir, rustflags)
}
