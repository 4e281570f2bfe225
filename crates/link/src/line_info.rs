//! Lean line_info: the source lines a loader and the verifier log show, and
//! nothing they drop (DESIGN.md, "Lean line_info").
//!
//! rustc's line table attributes inlined code to where it was written: a
//! `core::ptr::read` or a `btf` crate helper gets a line_info record of its
//! own, with the path of a library file (whose text is empty when its source
//! was not installed, as with Debian's and rustup's `core`). The link step
//! folds such records into the record before them, the user's line whose
//! call was inlined, unless a function starts there (the kernel requires a
//! record at every function start); there, a path inside the toolchain or
//! cargo's cache loses its machine-specific prefix. Line texts lose their
//! surrounding whitespace: the kernel's verifier log and bpftool trim it
//! anyway.

use std::collections::HashSet;

use btfkit_model::{Btf, BtfExt};

use crate::error::Result;

/// Whether `file` is the source of a library rather than of the program:
/// Rust's standard library or a cargo dependency ([`toolchain_relative`]),
/// or btfkit's program-side crate `btf` as a path dependency
/// (`…/crates/btf/src/…`).
pub fn is_library_file(file: &str) -> bool {
    toolchain_relative(file).is_some() || file.contains("/crates/btf/src/")
}

/// The part of `file` that names it inside the Rust toolchain or cargo's
/// download cache, when it lies there: Rust's standard library
/// (`/rustc/<hash>/library/core/src/ptr/mod.rs`,
/// `/usr/src/rustc-<version>/library/…`, rustup's
/// `…/lib/rustlib/src/rust/library/…`: `core/src/ptr/mod.rs`) or a cargo
/// dependency (`~/.cargo/registry/src/<index>/aya-ebpf-0.1.1/src/lib.rs`:
/// `aya-ebpf-0.1.1/src/lib.rs`; `~/.cargo/git/checkouts/<repo>/<rev>/…`).
fn toolchain_relative(file: &str) -> Option<&str> {
    let after = |marker: &str, skip: usize| -> Option<&str> {
        let (_, rest) = file.split_once(marker)?;
        let mut rest = rest;
        for _ in 0..skip {
            rest = rest.split_once('/')?.1;
        }
        Some(rest).filter(|r| !r.is_empty())
    };
    if file.starts_with("/rustc/") || file.contains("/rustc-") || file.contains("/rustlib/") {
        if let Some(rest) = after("/library/", 0) {
            return Some(rest);
        }
    }
    after("/.cargo/registry/src/", 1).or_else(|| after("/.cargo/git/checkouts/", 2))
}

/// The file name a line_info record keeps: the path inside the toolchain or
/// cargo's cache for library files there (the prefix names a directory of
/// the machine that built the program, which usually does not even hold
/// the sources: rustc records `core`'s path whether or not they are
/// installed), else `file` as it is.
pub fn file_name(file: &str) -> &str {
    toolchain_relative(file).unwrap_or(file)
}

/// A line text as written: without the indentation and trailing blanks that
/// the verifier log and bpftool trim.
pub fn line_text(text: &str) -> &str {
    text.trim()
}

/// Drops the line_info records of inlined library code ([`is_library_file`])
/// that do not start a function (a func_info record's instruction, or the
/// first record of a section), and then every record that repeats the file,
/// line and column of the record kept before it. Offsets in `ext` refer to
/// `btf`'s strings. Returns how many records were dropped.
pub fn fold_library_lines(btf: &Btf<'_>, ext: &mut BtfExt) -> Result<usize> {
    let mut starts: HashSet<(String, u32)> = HashSet::new();
    for section in &ext.func_info.sections {
        let name = btf.name(section.sec_name_off)?;
        for r in &section.records {
            starts.insert((name.to_string(), r.insn_off));
        }
    }
    let mut dropped = 0;
    for section in &mut ext.line_info.sections {
        let name = btf.name(section.sec_name_off)?.to_string();
        let mut kept: Vec<btfkit_model::LineInfo> = Vec::with_capacity(section.records.len());
        for r in section.records.drain(..) {
            let start = kept.is_empty() || starts.contains(&(name.clone(), r.insn_off));
            if !start {
                let library = is_library_file(btf.name(r.file_name_off)?);
                let repeat = kept.last().is_some_and(|p| {
                    p.file_name_off == r.file_name_off && p.line_col == r.line_col
                });
                if library || repeat {
                    dropped += 1;
                    continue;
                }
            }
            kept.push(r);
        }
        section.records = kept;
    }
    Ok(dropped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use btfkit_model::{Endian, FuncInfo, LineInfo};

    #[test]
    fn library_files_are_told_from_the_program_s() {
        for lib in [
            "/usr/src/rustc-1.96.0/library/core/src/ptr/mod.rs",
            "/rustc/4d91de4e48198da2e33413efdcd9cd2cc0c46688/library/core/src/ptr/const_ptr.rs",
            "/root/.rustup/toolchains/nightly-x86_64-unknown-linux-gnu/lib/rustlib/src/rust/library/core/src/result.rs",
            "/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/aya-ebpf-0.1.1/src/helpers.rs",
            "/root/.cargo/git/checkouts/aya-c55fbc69175ac116/1e5a0c2/ebpf/aya-ebpf/src/lib.rs",
            "/work/btfkit/crates/btf/src/lib.rs",
        ] {
            assert!(is_library_file(lib), "{lib}");
        }
        for own in [
            "/work/btfkit/examples/task-core/src/main.rs",
            "/home/me/library/tool/src/main.rs",
            "src/main.rs",
        ] {
            assert!(!is_library_file(own), "{own}");
        }
        assert_eq!(line_text("\t    x += 1; \t"), "x += 1;");
        for (path, short) in [
            (
                "/usr/src/rustc-1.96.0/library/core/src/ptr/mod.rs",
                "core/src/ptr/mod.rs",
            ),
            (
                "/rustc/4d91de4e48198da2e33413efdcd9cd2cc0c46688/library/core/src/result.rs",
                "core/src/result.rs",
            ),
            (
                "/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/aya-ebpf-0.1.1/src/helpers.rs",
                "aya-ebpf-0.1.1/src/helpers.rs",
            ),
            (
                "/root/.cargo/git/checkouts/aya-c55fbc69175ac116/1e5a0c2/ebpf/aya-ebpf/src/lib.rs",
                "ebpf/aya-ebpf/src/lib.rs",
            ),
            ("/work/btfkit/crates/btf/src/lib.rs", "/work/btfkit/crates/btf/src/lib.rs"),
            ("/p/examples/task-core/src/main.rs", "/p/examples/task-core/src/main.rs"),
            ("/usr/src/rustc-1.96.0/library/", "/usr/src/rustc-1.96.0/library/"),
        ] {
            assert_eq!(file_name(path), short);
        }
    }

    fn line(btf: &mut Btf<'static>, insn: u32, file: &str, line: u32, col: u32) -> LineInfo {
        LineInfo {
            insn_off: insn * 8,
            file_name_off: btf.add_string(file).unwrap(),
            line_off: btf.add_string("text").unwrap(),
            line_col: (line << 10) | col,
            tail: Vec::new(),
        }
    }

    #[test]
    fn library_lines_fold_into_the_user_line_before_them_but_at_function_starts() {
        let mut btf = Btf::new();
        let sec = btf.add_string("raw_tp/x").unwrap();
        let main = "/p/src/main.rs";
        let core = "/usr/src/rustc-1.96.0/library/core/src/ptr/mod.rs";
        let recs = vec![
            line(&mut btf, 0, core, 2095, 9), // the section's first: kept
            line(&mut btf, 3, main, 60, 14),
            line(&mut btf, 5, core, 468, 18), // folded
            line(&mut btf, 7, "/b/crates/btf/src/lib.rs", 215, 18), // folded
            line(&mut btf, 9, main, 60, 14),  // repeats the kept one: dropped
            line(&mut btf, 10, main, 60, 20), // another column: kept
            line(&mut btf, 12, core, 874, 5), // a function starts here: kept
            line(&mut btf, 13, main, 61, 1),
        ];
        let mut ext = BtfExt::new(Endian::Little);
        ext.line_info.section_mut(sec).extend(recs);
        for insn in [0, 12] {
            ext.func_info.section_mut(sec).push(FuncInfo {
                insn_off: insn * 8,
                type_id: 1,
                tail: Vec::new(),
            });
        }
        assert_eq!(fold_library_lines(&btf, &mut ext).unwrap(), 3);
        let kept: Vec<(u32, u32)> = ext.line_info.sections[0]
            .records
            .iter()
            .map(|r| (r.insn_off / 8, r.line_col >> 10))
            .collect();
        assert_eq!(
            kept,
            vec![(0, 2095), (3, 60), (10, 60), (12, 874), (13, 61)]
        );
    }
}
