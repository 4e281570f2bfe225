//! Procedural macros behind the btf crate.
