//! Subcommands, one module each.

pub mod dump;
