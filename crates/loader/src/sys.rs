//! Raw `bpf()` and `perf_event_open()` calls. Every `unsafe` block of the crate
//! lives here, each with its reason.

use std::ffi::CString;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

pub(crate) const BPF_MAP_CREATE: u32 = 0;
pub(crate) const BPF_MAP_LOOKUP_ELEM: u32 = 1;
pub(crate) const BPF_MAP_UPDATE_ELEM: u32 = 2;
pub(crate) const BPF_PROG_LOAD: u32 = 5;
pub(crate) const BPF_PROG_TEST_RUN: u32 = 10;
pub(crate) const BPF_RAW_TRACEPOINT_OPEN: u32 = 17;
pub(crate) const BPF_OBJ_GET_INFO_BY_FD: u32 = 15;

pub(crate) const BPF_MAP_TYPE_ARRAY: u32 = 2;

/// `union bpf_attr` is at most this big for the commands used here; the kernel
/// requires the unused tail to be zero.
const ATTR_SIZE: usize = 128;

/// A zeroed `bpf_attr` with typed field writers.
pub(crate) struct Attr {
    bytes: [u8; ATTR_SIZE],
}

impl Attr {
    pub(crate) fn new() -> Attr {
        Attr {
            bytes: [0; ATTR_SIZE],
        }
    }
    pub(crate) fn u32(&mut self, off: usize, v: u32) -> &mut Self {
        self.bytes[off..off + 4].copy_from_slice(&v.to_ne_bytes());
        self
    }
    pub(crate) fn u64(&mut self, off: usize, v: u64) -> &mut Self {
        self.bytes[off..off + 8].copy_from_slice(&v.to_ne_bytes());
        self
    }
    pub(crate) fn bytes(&mut self, off: usize, v: &[u8]) -> &mut Self {
        self.bytes[off..off + v.len()].copy_from_slice(v);
        self
    }
    pub(crate) fn read_u32(&self, off: usize) -> u32 {
        let mut b = [0u8; 4];
        b.copy_from_slice(&self.bytes[off..off + 4]);
        u32::from_ne_bytes(b)
    }
}

/// Calls `bpf(cmd, attr)`, returning its non-negative result.
pub(crate) fn bpf(cmd: u32, attr: &mut Attr) -> io::Result<i64> {
    // SAFETY: `attr` is a valid, initialised 128-byte buffer that outlives the
    // call; every pointer stored in it (by the callers) points to memory that
    // stays alive and correctly sized for the duration of the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd as libc::c_long,
            attr.bytes.as_mut_ptr(),
            ATTR_SIZE as libc::c_long,
        )
    };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Calls `bpf()` for a command that returns a new file descriptor.
pub(crate) fn bpf_fd(cmd: u32, attr: &mut Attr) -> io::Result<OwnedFd> {
    let fd = bpf(cmd, attr)?;
    // SAFETY: on success these bpf() commands return a fresh file descriptor
    // that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// The address of a buffer, as bpf_attr wants it.
pub(crate) fn ptr(p: *const u8) -> u64 {
    p as usize as u64
}

/// `PERF_FLAG_FD_CLOEXEC`.
const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 8;

/// Opens a perf event for tracepoint `id` on CPU
/// `cpu` for every process (pid -1), as BPF tracepoint attachment requires.
pub(crate) fn perf_event_open_tracepoint(id: u64, cpu: i32) -> io::Result<OwnedFd> {
    // struct perf_event_attr: type (u32), size (u32), config (u64), then
    // sample_period, sample_type, read_format, flags... 136 bytes (VER8) is enough.
    let mut attr = [0u8; 136];
    attr[0..4].copy_from_slice(&2u32.to_ne_bytes()); // PERF_TYPE_TRACEPOINT
    attr[4..8].copy_from_slice(&136u32.to_ne_bytes());
    attr[8..16].copy_from_slice(&id.to_ne_bytes());
    attr[16..24].copy_from_slice(&1u64.to_ne_bytes()); // sample_period
                                                       // SAFETY: `attr` is a zero-initialised perf_event_attr of the size it declares;
                                                       // pid -1 with a valid cpu is allowed for root; no group fd; the result is a
                                                       // new file descriptor on success.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            attr.as_ptr(),
            -1 as libc::pid_t,
            cpu as libc::c_int,
            -1 as libc::c_int,
            PERF_FLAG_FD_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: perf_event_open returned a fresh descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Opens a kprobe perf event on `function` (the `kprobe` PMU, type `pmu_type`
/// from /sys/bus/event_source/devices/kprobe/type) on CPU `cpu`, every process.
pub(crate) fn perf_event_open_kprobe(
    pmu_type: u32,
    function: &CString,
    cpu: i32,
) -> io::Result<OwnedFd> {
    let mut attr = [0u8; 136];
    attr[0..4].copy_from_slice(&pmu_type.to_ne_bytes());
    attr[4..8].copy_from_slice(&136u32.to_ne_bytes());
    attr[16..24].copy_from_slice(&1u64.to_ne_bytes()); // sample_period
    attr[56..64].copy_from_slice(&(function.as_ptr() as usize as u64).to_ne_bytes()); // config1: kprobe_func
                                                                                      // SAFETY: `attr` is a zero-initialised perf_event_attr of the size it
                                                                                      // declares; config1 points at `function`, alive for the whole call; the
                                                                                      // result is a new file descriptor on success.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            attr.as_ptr(),
            -1 as libc::pid_t,
            cpu as libc::c_int,
            -1 as libc::c_int,
            PERF_FLAG_FD_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: perf_event_open returned a fresh descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Attaches BPF program `prog_fd` to perf event `event_fd` and enables it.
pub(crate) fn perf_event_attach(event_fd: i32, prog_fd: i32) -> io::Result<()> {
    const PERF_EVENT_IOC_ENABLE: libc::c_ulong = 0x2400;
    const PERF_EVENT_IOC_SET_BPF: libc::c_ulong = 0x4004_2408;
    // SAFETY: both ioctls take an int argument (or none) on a perf event fd we own.
    let ret = unsafe { libc::ioctl(event_fd, PERF_EVENT_IOC_SET_BPF as _, prog_fd) };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    let ret = unsafe { libc::ioctl(event_fd, PERF_EVENT_IOC_ENABLE as _, 0) };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A NUL-terminated copy of `s` (interior NULs are an error).
pub(crate) fn cstring(s: &str) -> io::Result<CString> {
    CString::new(s).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "name contains NUL"))
}

/// Whether this process runs as root (bpf() needs CAP_BPF/CAP_SYS_ADMIN).
pub fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Whether the running kernel exposes its BTF.
pub fn kernel_btf_available() -> bool {
    std::path::Path::new("/sys/kernel/btf/vmlinux").exists()
}
