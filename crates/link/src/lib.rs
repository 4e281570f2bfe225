//! The link step: turns btfkit's query markers in a compiled BPF object into standard .BTF and .BTF.ext CO-RE records.
