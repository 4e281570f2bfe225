//! String and user-memory reads, run in the kernel: the current task's
//! `comm` (a `char` array) with `core_read_str_into!`, its executable's name
//! through `mm->exe_file->f_path.dentry->d_name.name` (a `char *` at the end
//! of five hops), and an `iovec` that user space built, read with
//! `core_read_user!` and `core_read_user_str_into!`. User space compares the
//! strings with `/proc/self/comm`, `/proc/self/exe` and its own buffer.
#![no_std]
#![no_main]

#[btf::relocatable]
pub struct task_struct {
    pub comm: [u8; 16],
    pub mm: *const mm_struct,
}

#[btf::relocatable]
pub struct mm_struct {
    pub exe_file: *const file,
}

/// The kernel's `f_path` sits in an anonymous union; the local type may
/// name it directly (the loader searches anonymous members).
#[btf::relocatable]
pub struct file {
    pub f_path: path,
}

#[btf::relocatable]
pub struct path {
    pub dentry: *const dentry,
}

#[btf::relocatable]
pub struct dentry {
    pub d_name: qstr,
}

#[btf::relocatable]
pub struct qstr {
    pub name: *const u8,
}

/// The kernel's `void *iov_base` is any pointer for a field relocation.
#[btf::relocatable]
pub struct iovec {
    pub iov_base: *const u8,
    pub iov_len: u64,
}

/// The thread to record, and the user-space address of an `iovec`: both
/// written by the test.
#[no_mangle]
#[link_section = ".data"]
pub static mut CONFIG: [u64; 2] = [u64::MAX, 0];

/// What the program read.
#[repr(C)]
pub struct Out {
    /// The helpers' results: comm, exe name, iov_len, user string.
    pub results: [i64; 4],
    pub comm: [u8; 16],
    pub exe: [u8; 64],
    pub user: [u8; 32],
}

#[no_mangle]
#[link_section = ".bss"]
pub static mut OUT: Out = Out {
    results: [0; 4],
    comm: [0; 16],
    exe: [0; 64],
    user: [0; 32],
};

fn code<T: Into<i64>>(r: Result<T, i64>) -> i64 {
    match r {
        Ok(v) => v.into(),
        Err(e) => e,
    }
}

#[no_mangle]
#[link_section = "raw_tp/sys_enter"]
pub extern "C" fn core_strings(_ctx: *mut u8) -> i32 {
    // SAFETY: helpers 14 and 35 take no arguments; reads go through the
    // probe-read helpers; the globals are only written here.
    unsafe {
        let pid_tgid: unsafe extern "C" fn() -> u64 = core::mem::transmute(14usize);
        let config = core::ptr::read_volatile(&raw const CONFIG);
        if pid_tgid() & 0xffff_ffff != config[0] {
            return 0;
        }
        let get_task: unsafe extern "C" fn() -> u64 = core::mem::transmute(35usize);
        let task = get_task() as *const task_struct;
        let iov = config[1] as *const iovec;
        let out = &mut *(&raw mut OUT);
        let r = &mut out.results;
        r[0] = code(
            btf::core_read_str_into!(&mut out.comm, task: task_struct, comm).map(|n| n as i64),
        );
        r[1] = code(
            btf::core_read_str_into!(&mut out.exe, task: task_struct, mm, exe_file, f_path.dentry, d_name.name)
                .map(|n| n as i64),
        );
        r[2] = code(btf::core_read_user!(iov: iovec, iov_len).map(|n| n as i64));
        r[3] = code(
            btf::core_read_user_str_into!(&mut out.user, iov: iovec, iov_base).map(|n| n as i64),
        );
    }
    0
}

#[link_section = "license"]
#[no_mangle]
pub static LICENSE: [u8; 4] = *b"GPL\0";

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}
