fn main() {
    // Step 4 of the guide (instead of aya_build::build_ebpf).
    btfkit_build::BpfBuild::new("../myapp-ebpf").run_or_exit();
}
