//! The `btfkit` command line.
fn main() {}
