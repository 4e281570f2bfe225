//! End-to-end tests: Rust CO-RE programs built, linked, relocated and run in the running kernel, compared with libbpf.

pub mod aya_leg;
pub mod core_selftests;
pub mod corpus;
pub mod custom_btf;
pub mod difftest;
pub mod libbpf_leg;
pub mod libbpf_log;
pub mod libbpf_oracle;
pub mod tailored_view;
