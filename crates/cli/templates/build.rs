//! Builds {{name}}-ebpf for bpfel-unknown-none, runs btfkit's link step and
//! writes the object to OUT_DIR; tailors each kernel BTF in `btf/` to it
//! (OUT_DIR/tailored_btf.rs). Cargo reruns this only when the BPF crate's
//! sources or `btf/` change.
fn main() {
    btfkit_build::BpfBuild::new("../{{name}}-ebpf")
        .tailor_btf("btf")
        .run_or_exit();
}
