//! Test data: paths of the repository, the kernel BTF files beside it, and the
//! CO-RE objects embedded in Debian's libbpf-tools.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository's root (the workspace folder).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `crates/<name>` (its tests' data lives in `tests/data` or `testdata`).
pub fn crate_dir(name: &str) -> PathBuf {
    repo_root().join("crates").join(name)
}

/// The kernel BTF test data: `BTFKIT_KERNEL_BTF_DIR`, or
/// `../shared/testdata/kernel-btf` beside the repository (TOOLCHAIN.md).
pub fn kernel_btf_dir() -> PathBuf {
    std::env::var_os("BTFKIT_KERNEL_BTF_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("../shared/testdata/kernel-btf"))
}

/// `name` in [`kernel_btf_dir`], which must exist.
pub fn kernel_btf(name: &str) -> PathBuf {
    let path = kernel_btf_dir().join(name);
    assert!(
        path.is_file(),
        "{} is missing: the kernel BTF test data (see TOOLCHAIN.md; or set BTFKIT_KERNEL_BTF_DIR)",
        path.display()
    );
    path
}

/// The programs Debian's libbpf-tools installs in `/usr/sbin` (each embeds
/// CO-RE objects), fails unless the package is installed.
pub fn libbpf_tools_binaries() -> Vec<PathBuf> {
    let list = Command::new("dpkg")
        .args(["-L", "libbpf-tools"])
        .output()
        .expect("dpkg");
    assert!(
        list.status.success(),
        "libbpf-tools is not installed (scripts/setup.sh installs it)"
    );
    String::from_utf8_lossy(&list.stdout)
        .lines()
        .map(Path::new)
        .filter(|p| p.starts_with("/usr/sbin/") && p.is_file() && !p.is_symlink())
        .map(Path::to_path_buf)
        .collect()
}

/// A CO-RE object embedded in a libbpf-tools program.
pub struct ToolObject {
    /// The program's file name (`biolatency`).
    pub tool: String,
    /// Which of the program's embedded objects (0 for most).
    pub index: usize,
    /// The object's bytes.
    pub bytes: Vec<u8>,
}

/// Every BPF object embedded in the [`libbpf_tools_binaries`].
pub fn libbpf_tools_objects() -> Vec<ToolObject> {
    let mut out = Vec::new();
    for path in libbpf_tools_binaries() {
        let binary = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let tool = path.file_name().unwrap().to_string_lossy().to_string();
        for (index, emb) in btfkit_object::find_embedded_bpf_objects(&binary)
            .iter()
            .enumerate()
        {
            out.push(ToolObject {
                tool: tool.clone(),
                index,
                bytes: emb.bytes(&binary).unwrap().to_vec(),
            });
        }
    }
    out
}

/// The vmlinux BTF files of the test data the comparison tests run on: Debian
/// 6.1 amd64 and cloud, and 7.1 (a 32-byte header, names sorted).
pub const TEST_KERNELS: [&str; 3] = [
    "vmlinux-6.1.0-47-amd64.btf",
    "vmlinux-6.1.0-47-cloud.btf",
    "vmlinux-7.1-sorted.btf",
];

/// The vmlinux targets of the comparison tests: `("running", /sys/kernel/btf/vmlinux)`
/// and each of [`TEST_KERNELS`] by file name; fails unless all are there.
pub fn vmlinux_targets() -> Vec<(String, PathBuf)> {
    let running = Path::new(crate::kernel::VMLINUX);
    assert!(
        running.is_file(),
        "{} is missing: the running kernel has no BTF",
        running.display()
    );
    let mut out = vec![("running".to_owned(), running.to_path_buf())];
    for name in TEST_KERNELS {
        out.push((name.to_owned(), kernel_btf(name)));
    }
    out
}
