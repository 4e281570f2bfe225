//! One CO-RE program, written once with flat paths through anonymous
//! members (as C writes them), that compiles unchanged against the bindings
//! `btfkit gen` writes from any kernel whose types have the fields it names:
//!
//! ```text
//! btfkit gen task_struct mm_struct files_struct fdtable file dentry socket \
//!     sock sock_common -o examples/portable/src/vmlinux.rs [--btf vmlinux.btf]
//! btfkit build --release --manifest-path examples/portable/Cargo.toml -o portable.o
//! ```
//!
//! The kernels place these members differently (`file.f_path` is a direct
//! member on 6.1 and inside an anonymous union on 6.18; `task_struct.mm`'s
//! `arg_start` sits in an anonymous struct), number their anonymous members
//! differently and disagree on the signedness of `char`; none of it reaches
//! this source. It also names one anonymous member's own type by its
//! kernel-independent name (`sock_common__skc_portpair`: the parent and the
//! anonymous member's first named member).
//!
//! On a raw tracepoint (`sys_enter`; run with BPF_PROG_TEST_RUN), for the
//! thread whose id user space writes into `INPUTS[0]`, it reads the task,
//! its `mm`, the file at descriptor `INPUTS[1]` (its name through
//! `f_path.dentry->d_name.name`) and the connected TCP socket at descriptor
//! `INPUTS[2]` into `OUT` (`.bss`).
#![no_std]
#![no_main]

mod vmlinux;
use vmlinux::{dentry, file, mm_struct, sock, sock_common__skc_portpair, socket, task_struct};

/// Written by user space before the run: the thread to look at, the
/// descriptor of a regular file and that of a connected TCP socket.
#[no_mangle]
#[link_section = ".data"]
pub static mut INPUTS: [u64; 3] = [u64::MAX; 3];

/// Number of result slots.
const SLOTS: usize = 28;

/// What the program read.
#[repr(C)]
pub struct Out {
    /// Slot meanings are in `portable()` (u64::MAX: not read).
    pub results: [u64; SLOTS],
    /// The file's name, as `core_read_str_into!` copied it.
    pub name: [u8; 32],
}

/// The results (all of `.bss`).
#[no_mangle]
#[link_section = ".bss"]
pub static mut OUT: Out = Out {
    results: [0; SLOTS],
    name: [0; 32],
};

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

fn query(v: Option<usize>) -> u64 {
    v.map_or(u64::MAX, |v| v as u64)
}

/// Runs on every system call entry (and under BPF_PROG_TEST_RUN).
#[no_mangle]
#[link_section = "raw_tp/sys_enter"]
pub extern "C" fn portable(_ctx: *mut u8) -> i32 {
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
        let out = &mut *(&raw mut OUT);
        let r = &mut out.results;
        let mut put = |i: usize, v: u64| {
            if let Some(slot) = r.get_mut(i) {
                *slot = v;
            }
        };
        put(0, 1);

        // The task, its parent, its name, its memory map.
        put(1, val(btf::core_read!(task: task_struct, pid)));
        put(2, val(btf::core_read!(task: task_struct, tgid)));
        put(3, val(btf::core_read!(task: task_struct, real_parent, tgid)));
        if let Ok(comm) = btf::core_read!(task: task_struct, comm) {
            // `[u8; 16]` from every kernel's bindings.
            let comm: [u8; 16] = comm;
            let [head, tail]: [u64; 2] = core::mem::transmute(comm);
            put(4, head);
            put(5, tail);
        }
        put(6, uval(btf::core_read!(task: task_struct, mm, arg_start)));
        if let Ok(mm) = btf::core_read!(task: task_struct, mm) {
            let mm = mm as *const mm_struct;
            put(7, uval(btf::core_read!(mm: mm_struct, arg_end)));
            put(8, uval(btf::core_read!(mm: mm_struct, start_code)));
            put(9, uval(btf::core_read!(mm: mm_struct, end_code)));
        }

        // Queries: offsets through anonymous members, a size, an existence,
        // an anonymous member's own type by its kernel-independent name
        // (which no kernel type has: CO-RE matches types by name, and the
        // kernel's union is anonymous, so its size is `None` on every kernel).
        put(10, query(btf::field_byte_offset!(sock, __sk_common.skc_rcv_saddr)));
        put(11, query(btf::field_byte_offset!(dentry, d_name.len)));
        put(12, query(btf::field_byte_offset!(file, f_path.dentry)));
        put(13, query(btf::type_size!(sock_common__skc_portpair)));
        put(14, query(btf::type_size!(file)));
        put(15, btf::field_exists!(file, f_inode) as u64);

        // The file: task->files->fdt->fd[INPUTS[1]].
        let Ok(table) = btf::core_read!(task: task_struct, files, fdt, fd) else {
            return 0;
        };
        if let Ok(f) = read_kernel(table.wrapping_add(inputs[1] as usize)) {
            let f = f as *const file;
            put(16, uval(btf::core_read!(f: file, f_inode, i_ino)));
            put(17, uval(btf::core_read!(f: file, f_pos).map(|p| p as u64)));
            put(18, val(btf::core_read!(f: file, f_path.dentry, d_name.len)));
            let n = btf::core_read_str_into!(&mut out.name, f: file, f_path.dentry, d_name.name);
            put(19, val(n.map(|n| n as i64)));
        }

        // The socket: fd[INPUTS[2]]->private_data->sk.
        let Ok(f) = read_kernel(table.wrapping_add(inputs[2] as usize)) else {
            return 0;
        };
        let f = f as *const file;
        let Ok(so) = btf::core_read!(f: file, private_data) else {
            return 0;
        };
        let so = so as *const socket;
        put(20, val(btf::core_read!(so: socket, r#type)));
        let Ok(sk) = btf::core_read!(so: socket, sk) else {
            return 0;
        };
        let sk = sk as *const sock;
        put(21, val(btf::core_read!(sk: sock, __sk_common.skc_family)));
        put(22, val(btf::core_read!(sk: sock, __sk_common.skc_num)));
        put(23, val(btf::core_read!(sk: sock, __sk_common.skc_dport)));
        put(24, val(btf::core_read!(sk: sock, __sk_common.skc_daddr)));
        put(25, val(btf::core_read!(sk: sock, __sk_common.skc_rcv_saddr)));
        put(26, val(btf::core_read!(sk: sock, __sk_common.skc_state)));
        put(27, val(btf::core_read!(sk: sock, sk_protocol)));
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
