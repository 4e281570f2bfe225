//! A tcpconnect-like CO-RE program, written the way a new aya user writes
//! one, on kernel types from `btfkit gen` kept in their own crate
//! (`vmlinux/`, compiled once, so a one-line edit here recompiles only this
//! crate):
//!
//! ```text
//! btfkit gen --opaque-pointees task_struct mm_struct cred file files_struct \
//!     fdtable socket sock sock_common inode sock_type kuid_t \
//!     -o examples/tcpconnect/vmlinux/src/vmlinux.rs
//! btfkit build --release --manifest-path examples/tcpconnect/Cargo.toml -o tcpconnect.o
//! ```
//!
//! On a raw tracepoint (`sys_enter`; also run with BPF_PROG_TEST_RUN), for
//! the thread whose id user space writes into `INPUTS[0]`, it describes the
//! connected TCP socket at descriptor `INPUTS[1]` as tcpconnect does: who
//! (pid, tgid, parent, comm, uid through `task->cred`, the command line's
//! start in `mm_struct`), and the connection (`file->private_data` as a
//! `socket`, then its `sock`: family, ports and addresses through
//! `sock_common`'s anonymous unions, the TCP state, a bitfield, an enum value
//! and `sk_ino`, a field only newer kernels have). The event goes to
//! `EVENT` (`.bss`); user space compares every value with what it knows.
#![no_std]
#![no_main]

use vmlinux::{cred, file, mm_struct, sock, sock_type, socket, task_struct};

/// Written by user space before the run: the thread to look at and the
/// descriptor of a connected TCP socket.
#[no_mangle]
#[link_section = ".data"]
pub static mut INPUTS: [u64; 2] = [u64::MAX; 2];

/// Number of event slots.
const SLOTS: usize = 24;

/// The event: slot meanings are in `tcpconnect()` (u64::MAX: not read).
#[no_mangle]
#[link_section = ".bss"]
pub static mut EVENT: [u64; SLOTS] = [0; SLOTS];

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

fn val<T: Into<i64>>(v: Result<T, i64>) -> u64 {
    v.map_or(u64::MAX, |v| v.into() as u64)
}

fn uval(v: Result<u64, i64>) -> u64 {
    v.unwrap_or(u64::MAX)
}

/// Runs on every system call entry (and under BPF_PROG_TEST_RUN).
#[no_mangle]
#[link_section = "raw_tp/sys_enter"]
pub extern "C" fn tcpconnect(_ctx: *mut u8) -> i32 {
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
        let e = &raw mut EVENT;
        let put = |i: usize, v: u64| {
            if let Some(slot) = (*e).get_mut(i) {
                *slot = v;
            }
        };
        put(0, 1);

        // Who: the task, its parent, its credentials, its command line.
        put(1, val(btf::core_read!(task: task_struct, pid)));
        put(2, val(btf::core_read!(task: task_struct, tgid)));
        put(3, val(btf::core_read!(task: task_struct, real_parent, tgid)));
        if let Ok(comm) = btf::core_read!(task: task_struct, comm) {
            let [head, tail]: [u64; 2] = core::mem::transmute(comm);
            put(4, head);
            put(5, tail);
        }
        if let Ok(c) = btf::core_read!(task: task_struct, cred) {
            let c = c as *const cred;
            put(6, val(btf::core_read!(c: cred, uid.val)));
        }
        if let Ok(mm) = btf::core_read!(task: task_struct, mm) {
            let mm = mm as *const mm_struct;
            put(7, uval(btf::core_read!(mm: mm_struct, arg_start)));
        }

        // The connection: task->files->fdt->fd[fd]->private_data->sk.
        let Ok(table) = btf::core_read!(task: task_struct, files, fdt, fd) else {
            return 0;
        };
        let Ok(f) = read_kernel(table.wrapping_add(inputs[1] as usize)) else {
            return 0;
        };
        let f = f as *const file;
        put(8, uval(btf::core_read!(f: file, f_inode, i_ino)));
        let Ok(so) = btf::core_read!(f: file, private_data) else {
            return 0;
        };
        let so = so as *const socket;
        let so_type = val(btf::core_read!(so: socket, r#type));
        put(9, so_type);
        // An enum value: SOCK_STREAM as this kernel numbers it.
        put(
            10,
            btf::enum_value!(sock_type, SOCK_STREAM).map_or(u64::MAX, |v| v as u64),
        );
        let Ok(sk) = btf::core_read!(so: socket, sk) else {
            return 0;
        };
        let sk = sk as *const sock;
        put(11, val(btf::core_read!(sk: sock, __sk_common.skc_family)));
        put(12, val(btf::core_read!(sk: sock, __sk_common.skc_num)));
        put(13, val(btf::core_read!(sk: sock, __sk_common.skc_dport)));
        put(14, val(btf::core_read!(sk: sock, __sk_common.skc_daddr)));
        put(
            15,
            val(btf::core_read!(sk: sock, __sk_common.skc_rcv_saddr)),
        );
        put(16, val(btf::core_read!(sk: sock, __sk_common.skc_state)));
        put(17, val(btf::core_read!(sk: sock, sk_protocol)));
        // A bitfield: 0 for a socket user space opened.
        put(18, uval(btf::core_read_bitfield!(sk: sock, sk_kern_sock)));
        // A field only newer kernels have (6.1 has no `sk_ino`).
        if btf::field_exists!(sock, sk_ino) {
            put(19, uval(btf::core_read!(sk: sock, sk_ino)));
        } else {
            put(19, u64::MAX - 1);
        }
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
