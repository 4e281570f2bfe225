//! Builds {{name}}-ebpf for bpfel-unknown-none, runs btfkit's link step and
//! writes the object to OUT_DIR; cargo reruns this only when the BPF crate's
//! sources change.
fn main() {
    btfkit_build::BpfBuild::new("../{{name}}-ebpf").run_or_exit();
}
