//! BTF as text: bpftool's raw format ([`raw`]).
pub mod raw;
