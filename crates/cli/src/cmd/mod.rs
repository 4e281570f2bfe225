//! Subcommands, one module each.

pub mod build;
pub mod demo;
pub mod dump;
pub mod explain;
pub mod gen;
pub mod link;
pub mod new;
pub mod relocate;
pub mod version;
