//! The CO-RE relocation engine: libbpf's semantics for every relocation kind, compute and patch kept apart.
