//! Subcommands, one module each.

pub mod build;
pub mod check;
pub mod demo;
pub mod dump;
pub mod explain;
pub mod explain_matrix;
pub mod gen;
pub mod link;
pub mod min_btf;
pub mod new;
pub mod relocate;
pub mod version;
pub mod vm;
