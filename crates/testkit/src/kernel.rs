//! The running kernel: its BTF, the root check, bpffs, and loading an object
//! relocated by btfkit's engine with btfkit-loader.

use std::process::Command;

/// The running kernel's BTF.
pub const VMLINUX: &str = "/sys/kernel/btf/vmlinux";

/// Fails loudly unless BPF programs can be loaded here.
pub fn require_root() {
    assert!(
        btfkit_loader::running_as_root(),
        "these tests load BPF programs and must run as root"
    );
    assert!(
        btfkit_loader::kernel_btf_available(),
        "the running kernel has no {VMLINUX}"
    );
}

/// Mounts bpffs on `/sys/fs/bpf` unless it is mounted (never unmounts it).
pub fn ensure_bpffs() {
    let mounted = Command::new("mountpoint")
        .args(["-q", "/sys/fs/bpf"])
        .status()
        .expect("mountpoint (util-linux) is required")
        .success();
    if !mounted {
        assert!(
            Command::new("mount")
                .args(["-t", "bpf", "bpf", "/sys/fs/bpf"])
                .status()
                .expect("mount (util-linux) is required")
                .success(),
            "cannot mount bpffs (root needed)"
        );
    }
}

/// The CO-RE records of a linked object.
pub fn core_relo_count(object: &[u8]) -> usize {
    let parsed = btfkit_object::BpfObject::parse(object).unwrap();
    btfkit_model::BtfExt::parse(parsed.btf_ext().expect("the object has no .BTF.ext"))
        .unwrap()
        .core_relo
        .len()
}

/// `object` relocated by btfkit's engine against the running kernel's BTF (one
/// decision per core_relo record) and loaded by btfkit-loader.
pub fn load_with_btfkit(object: &[u8]) -> btfkit_loader::LoadedObject {
    let kernel = std::fs::read(VMLINUX).unwrap();
    let kernel = btfkit_model::Btf::parse(&kernel).unwrap();
    let relocated =
        btfkit_reloc::relocate_object(object, &btfkit_reloc::Target::new(&kernel)).unwrap();
    assert_eq!(relocated.decisions.len(), core_relo_count(object));
    let out = btfkit_reloc::write::write_relocated(object, &relocated).unwrap();
    btfkit_loader::LoadedObject::load(&out).unwrap()
}
