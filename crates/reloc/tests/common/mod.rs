//! The engine's comparison tests: the libbpf 1.7 oracle (btfkit-testkit) and
//! this crate's C test programs compiled by clang-22.
#![allow(
    dead_code,
    unused_imports,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::path::{Path, PathBuf};

pub use btfkit_testkit::oracle::{libbpf_relocate, our_decision};

/// `tests/data/<src>` compiled by clang-22 for BPF (libbpf's headers) with
/// `extra` arguments into `CARGO_TARGET_TMPDIR/<out>`.
pub fn clang_with(src: &str, out: &str, extra: &[&str]) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(src);
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(out);
    btfkit_testkit::clang::clang_bpf(&src, &out, extra).unwrap_or_else(|e| panic!("{e}"));
    out
}
