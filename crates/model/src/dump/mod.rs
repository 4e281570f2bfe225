//! BTF as text: bpftool's raw format ([`raw`]) and C declarations ([`c`]).
pub mod c;
pub mod raw;
