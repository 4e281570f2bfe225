//! Program-side CO-RE for Rust eBPF: #[btf::relocatable] types and field/type/enum queries lowered to BTF relocations.
