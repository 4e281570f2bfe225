//! Subcommands, one module each.

pub mod build;
pub mod dump;
pub mod link;
