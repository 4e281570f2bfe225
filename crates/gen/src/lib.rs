//! Rust bindings generated straight from kernel BTF.
