//! The BTF model: decode, encode, build and query BPF Type Format data. Knows nothing of ELF.
