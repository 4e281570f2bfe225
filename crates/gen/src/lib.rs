//! Rust bindings generated straight from kernel BTF.
//!
//! [`generate`] turns the types of a [`Btf`] (all of them, or the named ones
//! and everything they reach) into one Rust module, in one of two layouts:
//!
//! - [`Layout::Relocatable`]: `#[btf::relocatable]` definitions for BPF
//!   programs (the `btf` crate), whose field offsets are fixed up by CO-RE
//!   when the program is loaded. Anonymous members are named `__anon_N` and
//!   marked `#[btf(anon)]` (programs name their members directly, as C
//!   does: `sk.__sk_common.skc_num`), bitfields `#[btf(bits = N)]`.
//! - [`Layout::Fixed`]: plain `#[repr(C)]` types with this BTF's exact layout
//!   (for user space and maps), depending only on `core`, with explicit
//!   padding, bitfield storage units and accessors, and compile-time
//!   assertions of every size and field offset.
//!
//! Names are stable for a given BTF: an anonymous type is named after the
//! typedef that names it (`atomic_t`), else after the member that holds it
//! (`page__mapping`); an anonymous member's type after its parent and its
//! first named member (its own, else looked up depth-first through its
//! anonymous members: `sock_common__skc_portpair`),
//! so the name is the same on every kernel with that member and does not
//! depend on how many anonymous members come first (`__anon_N` only when it
//! has no named member at all); else after its first member
//! (`__anon_struct__x`). Plain `char` is `u8` whatever the BTF says of its
//! signedness, so `comm` is `[u8; 16]` from every kernel. Names that collide get a libbpf flavor suffix
//! (`foo___2`, `foo___union`), which CO-RE ignores when it matches types.

mod fixed;
mod lean;
mod names;
mod plan;
mod reloc;
mod render;
mod walk;

use std::fmt::Write as _;

pub use btfkit_model::Btf;
use sha2::Digest;

/// Which kind of definitions to emit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// `#[btf::relocatable]` types for BPF programs (CO-RE).
    #[default]
    Relocatable,
    /// `#[repr(C)]` types with the exact layout of this BTF.
    Fixed,
}

/// Where the BTF came from, for the header of the generated file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The path as given.
    pub path: String,
    /// Size of the BTF bytes.
    pub size: u64,
    /// SHA-256 of the BTF bytes, lowercase hex.
    pub sha256: String,
}

impl Source {
    /// Describes `bytes`, read from `path`.
    pub fn new(path: impl Into<String>, bytes: &[u8]) -> Source {
        let digest = sha2::Sha256::digest(bytes);
        let mut sha256 = String::with_capacity(64);
        for b in digest {
            let _ = write!(sha256, "{b:02x}");
        }
        Source {
            path: path.into(),
            size: bytes.len() as u64,
            sha256,
        }
    }
}

/// What to generate.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Relocatable or fixed definitions.
    pub layout: Layout,
    /// Type names to start from (`task_struct`, or `struct foo`, `union foo`,
    /// `enum foo`, `typedef foo` to pick one kind); empty: every type.
    pub roots: Vec<String>,
    /// Described in the header when given.
    pub source: Option<Source>,
    /// Output usable through `include!` as well as a module file: the header
    /// in plain `//` comments and the items in a module carrying the
    /// `#[allow]`s, re-exported with `pub use` (no inner attributes).
    pub include_safe: bool,
    /// Relocatable layout: a named struct or union that the roots reach only
    /// through pointers is written as `#[btf::opaque]` (no members, no
    /// descriptor), and what only it reaches is not written: far fewer types
    /// to compile. A path going into one fails to compile, naming the type
    /// to add to the roots.
    pub opaque_pointees: bool,
}

/// Longest type, member or enumerator name the generator accepts, in bytes
/// (the kernel refuses names of 512 bytes and more, `KSYM_NAME_LEN`). Hostile
/// BTF could otherwise use one huge name for every member and multiply it.
pub const MAX_NAME_LEN: usize = 1024;

/// Most Rust text generated per byte of BTF (plus 1 MiB): a kernel's BTF needs
/// about 2.5 (fixed layout) or 1 (relocatable).
pub const MAX_OUTPUT_PER_INPUT_BYTE: usize = 64;

/// Why bindings could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A requested type does not exist.
    #[error("no type named `{0}` in this BTF")]
    UnknownType(String),
    /// The BTF exceeds one of the generator's limits ([`MAX_NAME_LEN`],
    /// [`MAX_OUTPUT_PER_INPUT_BYTE`]).
    #[error("limit exceeded: {0}")]
    Limit(String),
    /// The BTF is malformed where the generator looked.
    #[error("malformed BTF: {0}")]
    Model(btfkit_model::Error),
    /// Writing the bindings failed ([`generate_to`]).
    #[error("cannot write the bindings: {0}")]
    Io(std::io::Error),
}

// Not `#[from]`: that would make the model's error the source as well, and
// printed twice in an error chain.
impl From<btfkit_model::Error> for Error {
    fn from(e: btfkit_model::Error) -> Error {
        Error::Model(e)
    }
}

/// Generates the Rust module for `opts` from `btf`.
pub fn generate(btf: &Btf<'_>, opts: &Options) -> Result<String, Error> {
    let mut out = Out::new(None);
    run(btf, opts, &mut out)?;
    Ok(out.text)
}

/// Generates the Rust module for `opts` from `btf` into `w`, as it is
/// written (memory stays small). Nothing is written when the BTF is refused
/// before the first item (malformed, an unknown type, a name past
/// [`MAX_NAME_LEN`]); when the output budget is exceeded
/// ([`MAX_OUTPUT_PER_INPUT_BYTE`]) the text up to there has been written.
pub fn generate_to(btf: &Btf<'_>, opts: &Options, w: &mut dyn std::io::Write) -> Result<(), Error> {
    let mut out = Out::new(Some(w));
    run(btf, opts, &mut out)?;
    out.flush()
}

fn run(btf: &Btf<'_>, opts: &Options, out: &mut Out<'_>) -> Result<(), Error> {
    // Dangling ids and names, reference cycles (`typedef a a;`), bad records:
    // refused up front, with the type they are in (about 5 ms for a kernel).
    btf.validate()?;
    let plan = plan::Plan::new(btf, opts)?;
    header(out, opts);
    match opts.layout {
        Layout::Fixed => fixed::emit(&plan, out)?,
        Layout::Relocatable => reloc::emit(&plan, out)?,
    }
    if opts.include_safe {
        out.push_str(INCLUDE_SAFE_CLOSE);
    }
    Ok(())
}

/// Text goes to the sink in chunks of about this many bytes.
const CHUNK: usize = 1 << 16;

/// The generated text: a buffer, and where it goes when it is full.
pub(crate) struct Out<'w> {
    /// The text not yet written to the sink (all of it without a sink).
    pub(crate) text: String,
    /// Bytes written to the sink so far.
    flushed: usize,
    sink: Option<&'w mut dyn std::io::Write>,
}

impl<'w> Out<'w> {
    fn new(sink: Option<&'w mut dyn std::io::Write>) -> Out<'w> {
        let cap = if sink.is_some() { 2 * CHUNK } else { 1 << 20 };
        Out {
            text: String::with_capacity(cap),
            flushed: 0,
            sink,
        }
    }

    /// Bytes generated so far.
    pub(crate) fn len(&self) -> usize {
        self.flushed + self.text.len()
    }

    /// Bytes of the output budget left.
    pub(crate) fn left(&self, plan: &plan::Plan<'_, '_>) -> usize {
        plan.budget().saturating_sub(self.len())
    }

    /// After each item: fails past the output budget, and passes full
    /// chunks on to the sink.
    pub(crate) fn item_done(&mut self, plan: &plan::Plan<'_, '_>) -> Result<(), Error> {
        plan.check_budget(self.len())?;
        if self.text.len() >= CHUNK {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), Error> {
        if let Some(w) = self.sink.as_mut() {
            w.write_all(self.text.as_bytes()).map_err(Error::Io)?;
            self.flushed += self.text.len();
            self.text.clear();
        }
        Ok(())
    }
}

impl std::ops::Deref for Out<'_> {
    type Target = String;
    fn deref(&self) -> &String {
        &self.text
    }
}

impl std::ops::DerefMut for Out<'_> {
    fn deref_mut(&mut self) -> &mut String {
        &mut self.text
    }
}

/// The module that holds the items of `include_safe` output.
const INCLUDE_SAFE_OPEN: &str =
    "\n#[allow(non_camel_case_types, non_snake_case, non_upper_case_globals)]\n\
#[allow(dead_code, improper_ctypes_definitions, clippy::all)]\n\
mod __btfkit_bindings {\n";

/// Its end, and the items re-exported where the file is included.
const INCLUDE_SAFE_CLOSE: &str = "}\n\npub use __btfkit_bindings::*;\n";

fn header(out: &mut String, opts: &Options) {
    let start = out.len();
    header_lines(out, opts);
    if opts.include_safe {
        let text = out.split_off(start).replace("//!", "//");
        let text = text
            .lines()
            .filter(|l| !l.starts_with("#!["))
            .collect::<Vec<_>>()
            .join("\n");
        out.push_str(text.trim_end());
        out.push('\n');
        out.push_str(INCLUDE_SAFE_OPEN);
    }
}

fn header_lines(out: &mut String, opts: &Options) {
    let mode = match opts.layout {
        Layout::Relocatable => "relocatable",
        Layout::Fixed => "fixed",
    };
    let _ = writeln!(
        out,
        "//! Rust bindings generated by btfkit {} (`btfkit gen --layout {mode}`); do not edit.",
        env!("CARGO_PKG_VERSION")
    );
    out.push_str("//!\n");
    match &opts.source {
        Some(s) => {
            let _ = writeln!(out, "//! BTF: {}", s.path);
            let _ = writeln!(out, "//! BTF size: {} bytes, SHA-256 {}", s.size, s.sha256);
        }
        None => out.push_str("//! BTF: (in memory)\n"),
    }
    if opts.roots.is_empty() {
        out.push_str("//! Types: all\n");
    } else {
        let reach = if opts.opaque_pointees && opts.layout == Layout::Relocatable {
            "what they hold by value (structs and unions only pointed to are opaque: \
             `--opaque-pointees`)"
        } else {
            "what they reach"
        };
        let _ = writeln!(out, "//! Types: {} and {reach}", opts.roots.join(", "));
    }
    match opts.layout {
        Layout::Relocatable => out.push_str(
            "//!\n//! `#[btf::relocatable]` types: field offsets are relocated by CO-RE at load time.\n",
        ),
        Layout::Fixed => out.push_str(
            "//!\n//! `#[repr(C)]` types with this BTF's exact layout, asserted at compile time.\n",
        ),
    }
    out.push_str("\n#![allow(non_camel_case_types, non_snake_case, non_upper_case_globals)]\n");
    out.push_str("#![allow(dead_code, improper_ctypes_definitions, clippy::all)]\n");
}
