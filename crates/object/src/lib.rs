//! BPF ELF objects: find .BTF, .BTF.ext, programs, symbols and relocations; rewrite an object with patched sections.
