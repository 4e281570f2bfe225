//! Dropping rustc's DWARF from a linked object: loaders (libbpf, aya,
//! cilium/ebpf, the kernel) read `.BTF` and `.BTF.ext`, never `.debug_*`,
//! which make most of a small program's object (DESIGN.md, "Lean BTF").

use btfkit_object::{BpfObject, ObjectRewriter};

use crate::error::Result;

/// Whether section `name` is DWARF (`.debug_info`, `.debug_line`, ...).
pub fn is_debug_section(name: &str) -> bool {
    name.starts_with(".debug_")
}

/// `input` without its non-allocated `.debug_*` sections, their relocation
/// sections and the symbols defined in them; `input` unchanged when it has
/// none.
pub fn strip_debug(input: &[u8]) -> Result<Vec<u8>> {
    let object = BpfObject::parse(input)?;
    let debug: Vec<usize> = object
        .sections()
        .iter()
        .filter(|s| is_debug_section(&s.name) && !s.is_alloc())
        .map(|s| s.index)
        .collect();
    if debug.is_empty() {
        return Ok(input.to_vec());
    }
    let mut rewriter = ObjectRewriter::new(&object)?;
    for index in debug {
        rewriter.remove_section(index)?;
    }
    Ok(rewriter.write()?)
}
