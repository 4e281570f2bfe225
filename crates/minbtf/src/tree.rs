//! BTFHub-like trees.
