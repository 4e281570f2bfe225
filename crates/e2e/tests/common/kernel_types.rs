//! `examples/kernel-types`' inputs (a file and a socket) and the answers every
//! slot of its RESULTS must hold, from `/proc`, system calls and the running
//! kernel's BTF.

use std::io::{Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

use btfkit_model::{Btf, Kind, TypeId};

use super::{tid, VMLINUX};

/// The types the example names (`cgroup` for its member `self`).
pub const ROOTS: &[&str] = &[
    "task_struct",
    "mm_struct",
    "file",
    "socket",
    "sock",
    "cgroup",
];
/// Result slots of the program.
pub const SLOTS: usize = 32;

/// A regular file and a bound UDP socket for the program to look at.
pub struct Fixtures {
    pub file: std::fs::File,
    pub socket: std::net::UdpSocket,
    pub file_pos: u64,
}

impl Fixtures {
    pub fn new(tag: &str) -> Fixtures {
        Fixtures::new_in(Path::new(env!("CARGO_TARGET_TMPDIR")), tag)
    }

    /// [`Fixtures::new`] with the file in `dir`.
    pub fn new_in(dir: &Path, tag: &str) -> Fixtures {
        let path = dir.join(format!("kernel-types-{tag}"));
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .custom_flags(libc::O_APPEND)
            .open(&path)
            .unwrap();
        file.write_all(&[7u8; 5000]).unwrap();
        let file_pos = 4242;
        file.seek(SeekFrom::Start(file_pos)).unwrap();
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let rcvbuf: libc::c_int = 65536;
        // SAFETY: a valid socket and an int option of the right size.
        let rc = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVBUF,
                (&raw const rcvbuf).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        assert_eq!(rc, 0, "setsockopt: {}", std::io::Error::last_os_error());
        Fixtures {
            file,
            socket,
            file_pos,
        }
    }

    /// `INPUTS`: this thread, the file's descriptor, the socket's.
    pub fn inputs(&self) -> Vec<u8> {
        [
            tid(),
            self.file.as_raw_fd() as u64,
            self.socket.as_raw_fd() as u64,
        ]
        .iter()
        .flat_map(|v| v.to_ne_bytes())
        .collect()
    }
}

/// Field `n` (1-based, as in proc(5)) of `/proc/self/stat`.
pub fn stat_field(stat: &str, n: usize) -> u64 {
    // Fields after the command (which may hold spaces) start at field 3.
    let rest = stat.rsplit_once(") ").unwrap().1;
    rest.split_whitespace().nth(n - 3).unwrap().parse().unwrap()
}

/// Byte offset of `path` in the kernel's `root`, descending into anonymous
/// members where a name is not a direct member (as C names them).
pub fn kernel_offset(k: &Btf<'_>, root: &str, path: &[&str]) -> u64 {
    fn find(k: &Btf<'_>, id: TypeId, name: &str) -> Option<(u64, TypeId)> {
        let ty = k.skip_mods_and_typedefs(id).unwrap();
        for m in ty.members() {
            let member = k.name(m.name_off).unwrap();
            if member == name {
                return Some((u64::from(m.bit_offset), m.type_id));
            }
            if member.is_empty() {
                if let Some((bits, t)) = find(k, m.type_id, name) {
                    return Some((u64::from(m.bit_offset) + bits, t));
                }
            }
        }
        None
    }
    let mut id = k.find_by_name_kind(root, Kind::Struct)[0];
    let mut bits = 0;
    for seg in path {
        let (b, t) = find(k, id, seg).unwrap_or_else(|| panic!("{root} has no {seg}"));
        bits += b;
        id = t;
    }
    bits / 8
}

/// What every slot of RESULTS must hold.
pub fn expected(fx: &Fixtures) -> Vec<(usize, &'static str, u64)> {
    let data = std::fs::read(VMLINUX).unwrap();
    let k = Btf::parse(&data).unwrap();
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let comm = std::fs::read_to_string("/proc/thread-self/comm").unwrap();
    let mut comm_bytes = [0u8; 16];
    let c = comm.trim_end().as_bytes();
    comm_bytes[..c.len()].copy_from_slice(c);
    let comm_word = |i: usize| u64::from_ne_bytes(comm_bytes[i * 8..i * 8 + 8].try_into().unwrap());
    // SAFETY: fcntl(F_GETFL) on a descriptor this process owns.
    let fl = unsafe { libc::fcntl(fx.file.as_raw_fd(), libc::F_GETFL) };
    assert!(fl >= 0 && fl & libc::O_APPEND != 0, "F_GETFL: {fl:#o}");
    let mut rcvbuf: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: getsockopt into an int of the right size.
    let rc = unsafe {
        libc::getsockopt(
            fx.socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&raw mut rcvbuf).cast(),
            &mut len,
        )
    };
    assert_eq!(rc, 0);
    let file_id = k.find_by_name_kind("file", Kind::Struct)[0];
    // SAFETY: getppid has no preconditions.
    let ppid = unsafe { libc::getppid() };
    vec![
        (0, "hits", 1),
        (1, "task->pid", tid()),
        (2, "task->tgid", u64::from(std::process::id())),
        (3, "task->real_parent->tgid", ppid as u64),
        (4, "task->comm[0..8]", comm_word(0)),
        (5, "task->comm[8..16]", comm_word(1)),
        (6, "mm->start_code", stat_field(&stat, 26)),
        (7, "mm->end_code", stat_field(&stat, 27)),
        (8, "mm->start_data", stat_field(&stat, 45)),
        (9, "mm->end_data", stat_field(&stat, 46)),
        (10, "mm->start_brk", stat_field(&stat, 47)),
        (11, "mm->start_stack", stat_field(&stat, 28)),
        (12, "mm->arg_start", stat_field(&stat, 48)),
        (13, "mm->arg_end", stat_field(&stat, 49)),
        (14, "mm->env_start", stat_field(&stat, 50)),
        (15, "mm->env_end", stat_field(&stat, 51)),
        (16, "file->f_pos (lseek)", fx.file_pos),
        (17, "file->f_flags (F_GETFL)", fl as u32 as u64),
        (
            18,
            "file->f_inode->i_ino (fstat)",
            fx.file.metadata().unwrap().ino(),
        ),
        (19, "socket->type", libc::SOCK_DGRAM as u64),
        (20, "sk->__sk_common.skc_family", libc::AF_INET as u64),
        (
            21,
            "sk->__sk_common.skc_num (getsockname)",
            u64::from(fx.socket.local_addr().unwrap().port()),
        ),
        (
            22,
            "sk->__sk_common.skc_rcv_saddr",
            u64::from(u32::from_ne_bytes([127, 0, 0, 1])),
        ),
        (23, "sk->sk_rcvbuf (getsockopt)", rcvbuf as u64),
        (24, "sk->sk_protocol", libc::IPPROTO_UDP as u64),
        (25, "sk->sk_type", libc::SOCK_DGRAM as u64),
        (
            26,
            "field_byte_offset!(sock, __sk_common.skc_num)",
            kernel_offset(&k, "sock", &["__sk_common", "skc_num"]),
        ),
        (
            27,
            "field_byte_offset!(mm_struct, arg_start)",
            kernel_offset(&k, "mm_struct", &["arg_start"]),
        ),
        (28, "type_size!(file)", k.resolve_size(file_id).unwrap()),
        (29, "field_byte_size!(task_struct, comm)", 16),
        (30, "field_exists!(file, f_inode)", 1),
        (
            31,
            "field_byte_offset!(cgroup, self_)",
            kernel_offset(&k, "cgroup", &["self"]),
        ),
    ]
}

pub fn check(leg: &str, results: &[u8], fx: &Fixtures) {
    assert_eq!(results.len(), SLOTS * 8, "{leg}: RESULTS has {SLOTS} slots");
    let got: Vec<u64> = results
        .chunks_exact(8)
        .map(|c| u64::from_ne_bytes(c.try_into().unwrap()))
        .collect();
    let want = expected(fx);
    assert_eq!(want.len(), SLOTS);
    let wrong: Vec<String> = want
        .iter()
        .filter(|(i, _, v)| got[*i] != *v)
        .map(|(i, what, v)| format!("{what}: got {:#x}, expected {v:#x}", got[*i]))
        .collect();
    assert!(wrong.is_empty(), "{leg}:\n{}", wrong.join("\n"));
}
