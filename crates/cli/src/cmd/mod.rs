//! Subcommands, one module each.

pub mod dump;
pub mod link;
