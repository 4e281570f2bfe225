//! Loading an object into the running kernel with libbpf 1.7 and a custom
//! target BTF (`btf_custom_path`): what a tool does on a kernel without
//! `/sys/kernel/btf/vmlinux` that ships its own (tailored) BTF.

use std::ffi::CString;
use std::path::Path;

use crate::libbpf_leg::{start_capture, take_capture};

/// Opens `object` with `btf_custom_path` = `btf` and loads every program and
/// map into the running kernel (closed again before returning). `Err` holds
/// libbpf's errno and log.
pub fn load_with_custom_btf(object: &Path, btf: &Path) -> Result<(), String> {
    let c = |p: &Path| {
        p.to_str()
            .and_then(|s| CString::new(s).ok())
            .ok_or_else(|| format!("path {p:?} cannot be passed to libbpf"))
    };
    let (object_c, btf_c) = (c(object)?, c(btf)?);
    let opts = libbpf_sys::bpf_object_open_opts {
        sz: std::mem::size_of::<libbpf_sys::bpf_object_open_opts>() as _,
        btf_custom_path: btf_c.as_ptr(),
        ..Default::default()
    };
    start_capture();
    // SAFETY: the paths and options outlive the call; libbpf copies what it keeps.
    let raw = unsafe { libbpf_sys::bpf_object__open_file(object_c.as_ptr(), &opts) };
    // SAFETY: libbpf_get_error accepts any pointer libbpf returned (NULL included).
    let errno = unsafe { libbpf_sys::libbpf_get_error(raw.cast()) };
    if raw.is_null() || errno != 0 {
        return Err(format!("open: errno {errno}\n{}", take_capture()));
    }
    // SAFETY: `raw` is an open object, loaded at most once and closed once here.
    let rc = unsafe { libbpf_sys::bpf_object__load(raw) };
    // SAFETY: as above.
    unsafe { libbpf_sys::bpf_object__close(raw) };
    let log = take_capture();
    if rc < 0 {
        Err(format!("load: {rc}\n{log}"))
    } else {
        Ok(())
    }
}
