//! A Rust CO-RE program on kernel types nobody wrote by hand: `task_struct`,
//! `mm_struct`, `file`, `socket` and `sock` come from `btfkit gen`, which
//! writes `src/vmlinux.rs` (not committed) from kernel BTF:
//!
//! ```text
//! btfkit gen task_struct mm_struct file socket sock -o examples/kernel-types/src/vmlinux.rs
//! btfkit build --release --manifest-path examples/kernel-types/Cargo.toml -o kernel-types.o
//! ```
//!
//! For the thread whose id user space writes into `INPUTS[0]`, the raw
//! tracepoint `sys_enter` reads the task (pid, tgid, parent, comm), its
//! `mm_struct` (code, stack, argument and environment bounds, all behind the
//! anonymous struct that `__randomize_layout` puts in it, named flat as in
//! C), the open file at descriptor `INPUTS[1]` (position, flags, inode number) and the socket at
//! `INPUTS[2]` (`socket.type`, then its `sock`: family and port through
//! `sock_common`'s anonymous unions, receive buffer, protocol). User space
//! compares every value with `getpid()`, `/proc/self/stat`, `fstat` and
//! `getsockname`.
#![no_std]
#![no_main]

mod vmlinux;

use vmlinux::{cgroup, file, mm_struct, sock, socket, task_struct};

/// Written by user space before the run: the thread to look at, a
/// descriptor of a regular file and one of a bound UDP socket.
#[no_mangle]
#[link_section = ".data"]
pub static mut INPUTS: [u64; 3] = [u64::MAX; 3];

/// Number of result slots.
const SLOTS: usize = 32;

/// What the program read; slot meanings are listed in `kernel_types()`
/// (u64::MAX: the read failed).
#[no_mangle]
#[link_section = ".bss"]
pub static mut RESULTS: [u64; SLOTS] = [0; SLOTS];

/// `bpf_probe_read_kernel` of one `T` at `src`.
///
/// # Safety
/// Only callable from BPF; `src` is a kernel address (checked by the helper).
#[inline(always)]
unsafe fn read_kernel<T: Copy>(src: *const T) -> Result<T, i64> {
    let mut v = core::mem::MaybeUninit::<T>::uninit();
    // SAFETY: helper 113 writes at most size_of::<T>() bytes into `v`.
    let helper: unsafe extern "C" fn(*mut u8, u32, *const u8) -> i64 =
        unsafe { core::mem::transmute(113usize) };
    let ret = unsafe {
        helper(
            v.as_mut_ptr() as *mut u8,
            core::mem::size_of::<T>() as u32,
            src as *const u8,
        )
    };
    if ret != 0 {
        return Err(ret);
    }
    // SAFETY: the helper filled all of `v`.
    Ok(unsafe { v.assume_init() })
}

/// The `struct file` at descriptor `fd` of `task`: `task->files->fdt->fd[fd]`.
///
/// # Safety
/// Only callable from BPF; `task` is the current task.
#[inline(always)]
unsafe fn file_at(task: *const task_struct, fd: u64) -> Result<*const file, i64> {
    let table = unsafe { btf::core_read!(task: task_struct, files, fdt, fd) }?;
    unsafe { read_kernel(table.wrapping_add(fd as usize)) }.map(|f| f as *const file)
}

fn val<T: Into<i64>>(v: Result<T, i64>) -> u64 {
    v.map_or(u64::MAX, |v| v.into() as u64)
}

fn uval(v: Result<u64, i64>) -> u64 {
    v.unwrap_or(u64::MAX)
}

fn some(v: Option<usize>) -> u64 {
    v.map_or(u64::MAX, |v| v as u64)
}

/// Runs on every system call entry (and under BPF_PROG_TEST_RUN).
#[no_mangle]
#[link_section = "raw_tp/sys_enter"]
pub extern "C" fn kernel_types(_ctx: *mut u8) -> i32 {
    // SAFETY: helpers 14 and 35 take no arguments; every kernel read goes
    // through bpf_probe_read_kernel; the globals are only written here and
    // by user space before the run.
    unsafe {
        let pid_tgid: unsafe extern "C" fn() -> u64 = core::mem::transmute(14usize);
        let inputs = core::ptr::read_volatile(&raw const INPUTS);
        if pid_tgid() & 0xffff_ffff != inputs[0] {
            return 0;
        }
        let get_task: unsafe extern "C" fn() -> u64 = core::mem::transmute(35usize);
        let task = get_task() as *const task_struct;
        let r = &raw mut RESULTS;
        let put = |i: usize, v: u64| {
            if let Some(slot) = (*r).get_mut(i) {
                *slot = v;
            }
        };
        put(0, 1);

        // task_struct.
        put(1, val(btf::core_read!(task: task_struct, pid)));
        put(2, val(btf::core_read!(task: task_struct, tgid)));
        put(
            3,
            val(btf::core_read!(task: task_struct, real_parent, tgid)),
        );
        if let Ok(comm) = btf::core_read!(task: task_struct, comm) {
            let [head, tail]: [u64; 2] = core::mem::transmute(comm);
            put(4, head);
            put(5, tail);
        }

        // mm_struct: every field sits in an anonymous struct, named flat as in C.
        if let Ok(mm) = btf::core_read!(task: task_struct, mm) {
            let mm = mm as *const mm_struct;
            put(6, uval(btf::core_read!(mm: mm_struct, start_code)));
            put(7, uval(btf::core_read!(mm: mm_struct, end_code)));
            put(8, uval(btf::core_read!(mm: mm_struct, start_data)));
            put(9, uval(btf::core_read!(mm: mm_struct, end_data)));
            put(10, uval(btf::core_read!(mm: mm_struct, start_brk)));
            put(11, uval(btf::core_read!(mm: mm_struct, start_stack)));
            put(12, uval(btf::core_read!(mm: mm_struct, arg_start)));
            put(13, uval(btf::core_read!(mm: mm_struct, arg_end)));
            put(14, uval(btf::core_read!(mm: mm_struct, env_start)));
            put(15, uval(btf::core_read!(mm: mm_struct, env_end)));
        }

        // file.
        if let Ok(f) = file_at(task, inputs[1]) {
            put(16, val(btf::core_read!(f: file, f_pos)));
            put(17, val(btf::core_read!(f: file, f_flags)));
            put(18, uval(btf::core_read!(f: file, f_inode, i_ino)));
        }

        // socket and sock.
        if let Ok(f) = file_at(task, inputs[2]) {
            if let Ok(so) = btf::core_read!(f: file, private_data) {
                let so = so as *const socket;
                put(19, val(btf::core_read!(so: socket, r#type)));
                if let Ok(sk) = btf::core_read!(so: socket, sk) {
                    let sk = sk as *const sock;
                    put(20, val(btf::core_read!(sk: sock, __sk_common.skc_family)));
                    // skc_num is in an anonymous struct in an anonymous union.
                    put(21, val(btf::core_read!(sk: sock, __sk_common.skc_num)));
                    put(
                        22,
                        val(btf::core_read!(sk: sock, __sk_common.skc_rcv_saddr)),
                    );
                    put(23, val(btf::core_read!(sk: sock, sk_rcvbuf)));
                    put(24, val(btf::core_read!(sk: sock, sk_protocol)));
                    put(25, val(btf::core_read!(sk: sock, sk_type)));
                }
            }
        }

        // Queries on the generated types.
        put(26, some(btf::field_byte_offset!(sock, __sk_common.skc_num)));
        put(27, some(btf::field_byte_offset!(mm_struct, arg_start)));
        put(28, some(btf::type_size!(file)));
        put(29, some(btf::field_byte_size!(task_struct, comm)));
        put(30, btf::field_exists!(file, f_inode) as u64);
        // `cgroup.self`: a member whose BTF name is not a Rust identifier.
        put(31, some(btf::field_byte_offset!(cgroup, self_)));
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
