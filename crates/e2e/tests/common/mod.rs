//! Shared by the kernel tests: building and linking an example BPF crate.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Builds `examples/<name>` for bpfel-unknown-none with the BPF toolchain of
/// scripts/env.sh and links it with btfkit; returns the linked object.
pub fn build_example(name: &str) -> Vec<u8> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let tools = std::env::var("BTFKIT_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap()).join(".local/share/btfkit")
        });
    let cargo = std::env::var("BTFKIT_CARGO").unwrap_or_else(|_| "/usr/bin/cargo".into());
    let rustc = std::env::var("BTFKIT_RUSTC").unwrap_or_else(|_| "/usr/bin/rustc".into());
    assert!(
        tools.join("bin/bpf-linker").exists() && Path::new(&rustc).exists(),
        "the BPF toolchain is missing (bpf-linker in {}, {rustc}); run scripts/setup.sh",
        tools.display()
    );
    let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("examples-{name}"));
    let out = Command::new(&cargo)
        .current_dir(root.join("examples").join(name))
        .args(["build", "--release", "--target", "bpfel-unknown-none"])
        .env(
            "PATH",
            format!(
                "{}:{}",
                tools.join("bin").display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("RUSTC", &rustc)
        .env("RUSTFLAGS", "-C debuginfo=2 -C link-arg=--btf")
        .env("CARGO_TARGET_DIR", &target_dir)
        .env_remove("RUSTC_WRAPPER")
        .env_remove("CARGO_BUILD_TARGET")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "building examples/{name} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let built = std::fs::read(target_dir.join("bpfel-unknown-none/release").join(name)).unwrap();
    btfkit_link::link(&built).unwrap().object
}

/// This thread's id.
pub fn tid() -> u64 {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::gettid() as u64 }
}

/// Fails loudly unless BPF programs can be loaded here.
pub fn require_root() {
    assert!(
        btfkit_loader::running_as_root(),
        "these tests load BPF programs and must run as root"
    );
    assert!(
        btfkit_loader::kernel_btf_available(),
        "the running kernel has no /sys/kernel/btf/vmlinux"
    );
}

/// Opens `object` with libbpf (which copies it); the caller closes it.
pub fn libbpf_open(object: &[u8], name: &std::ffi::CStr) -> *mut libbpf_sys::bpf_object {
    let opts = libbpf_sys::bpf_object_open_opts {
        sz: std::mem::size_of::<libbpf_sys::bpf_object_open_opts>() as _,
        object_name: name.as_ptr(),
        ..Default::default()
    };
    // SAFETY: libbpf copies the object during open; `opts` and `name` outlive the call.
    let o = unsafe {
        libbpf_sys::bpf_object__open_mem(object.as_ptr().cast(), object.len() as _, &opts)
    };
    // SAFETY: libbpf_get_error accepts any pointer libbpf returned.
    assert!(
        !o.is_null() && unsafe { libbpf_sys::libbpf_get_error(o.cast()) } == 0,
        "libbpf could not open the object"
    );
    o
}

/// The map of an open libbpf object whose name ends with `suffix` (`.bss`, `.data`).
pub fn libbpf_map(o: *mut libbpf_sys::bpf_object, suffix: &str) -> *mut libbpf_sys::bpf_map {
    // SAFETY: `o` is an open object; map names are NUL-terminated strings it owns.
    unsafe {
        let mut m = libbpf_sys::bpf_object__next_map(o, std::ptr::null());
        while !m.is_null() {
            if std::ffi::CStr::from_ptr(libbpf_sys::bpf_map__name(m))
                .to_string_lossy()
                .ends_with(suffix)
            {
                return m;
            }
            m = libbpf_sys::bpf_object__next_map(o, m);
        }
    }
    panic!("libbpf has no {suffix} map");
}
