//! A kprobe and an fentry program on `do_sys_openat2` (every open), both
//! reading the opening task's tgid and its parent's tgid through CO-RE
//! relocated offsets, into `.bss` for user space. Kernels without kprobes or
//! fentry (the host of btfkit's CI) report them as unsupported.
#![no_std]
#![no_main]

/// The fields read, in no kernel's order.
#[btf::relocatable]
pub struct task_struct {
    pub real_parent: *const task_struct,
    pub tgid: i32,
}

/// What each program saw last.
#[repr(C)]
pub struct Seen {
    /// Calls seen.
    pub hits: u64,
    /// The opener's tgid.
    pub tgid: i64,
    /// Its parent's tgid.
    pub ppid: i64,
}

#[no_mangle]
#[link_section = ".bss"]
pub static mut KPROBE: Seen = Seen { hits: 0, tgid: 0, ppid: 0 };

#[no_mangle]
#[link_section = ".bss"]
pub static mut FENTRY: Seen = Seen { hits: 0, tgid: 0, ppid: 0 };

#[inline(always)]
fn current_task() -> *const task_struct {
    // SAFETY: helper 35, bpf_get_current_task, takes no arguments.
    let helper: unsafe extern "C" fn() -> u64 = unsafe { core::mem::transmute(35usize) };
    unsafe { helper() as *const task_struct }
}

#[inline(always)]
fn record(seen: *mut Seen) {
    let task = current_task();
    // SAFETY: reads go through bpf_probe_read_kernel; a racing open on
    // another CPU can mix two samples at worst.
    unsafe {
        (*seen).hits += 1;
        (*seen).tgid = btf::core_read!(task: task_struct, tgid).map_or(-1, |v| v as i64);
        (*seen).ppid = btf::core_read!(task: task_struct, real_parent, tgid).map_or(-1, |v| v as i64);
    }
}

/// A kprobe on every open.
#[no_mangle]
#[link_section = "kprobe/do_sys_openat2"]
pub extern "C" fn open_kprobe(_regs: *mut u8) -> i32 {
    record(&raw mut KPROBE);
    0
}

/// An fentry program on every open.
#[no_mangle]
#[link_section = "fentry/do_sys_openat2"]
pub extern "C" fn open_fentry(_args: *mut u64) -> i32 {
    record(&raw mut FENTRY);
    0
}

#[link_section = "license"]
#[no_mangle]
pub static LICENSE: [u8; 4] = *b"GPL\0";

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}
