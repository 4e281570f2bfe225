//! `examples/tcpconnect` in the running kernel: a tcpconnect-like program on
//! `btfkit gen` bindings of a dozen kernel types, kept in their own crate.
//!
//! The bindings are generated here from the running kernel's BTF into
//! `examples/tcpconnect/vmlinux/src/vmlinux.rs` (gitignored), as `btfkit
//! gen --opaque-pointees` writes them (types only pointed to are opaque). The program is
//! relocated by btfkit's engine and loaded by btfkit-loader, and relocated
//! and loaded by libbpf 1.7; both run it with BPF_PROG_TEST_RUN in this
//! thread on a connected TCP socket, and every value must equal what user
//! space knows (`getpid()`, `getuid()`, `/proc/self/stat`, `fstat`,
//! `getsockname`, `getpeername`). Its C twin, built by clang-22 on a
//! `vmlinux.h`, must carry the same CO-RE records, and the Rust object's
//! `.BTF` must be no larger than the twin's (types and bytes).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::sync::OnceLock;

use btfkit_model::{Btf, BtfExt};

mod common;
use btfkit_e2e::libbpf_leg::LibbpfObject;
use common::{require_root, tid};

/// The types the program names (and what they hold by value comes along).
const ROOTS: &[&str] = &[
    "task_struct",
    "mm_struct",
    "cred",
    "file",
    "files_struct",
    "fdtable",
    "socket",
    "sock",
    "sock_common",
    "inode",
    "sock_type",
    "kuid_t",
];
/// Event slots of the program.
const SLOTS: usize = 24;

/// Generates the bindings, builds and links the example, once per test run.
fn linked_object() -> &'static [u8] {
    static OBJ: OnceLock<Vec<u8>> = OnceLock::new();
    OBJ.get_or_init(|| {
        common::generate_bindings(ROOTS, "tcpconnect/vmlinux/src/vmlinux.rs", true);
        common::build_example("tcpconnect")
    })
}

/// A connected TCP socket over loopback (both ends kept open).
struct Connection {
    client: TcpStream,
    _server: TcpStream,
    _listener: TcpListener,
}

impl Connection {
    fn new() -> Connection {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        Connection {
            client,
            _server: server,
            _listener: listener,
        }
    }

    /// `INPUTS`: this thread, the client socket's descriptor.
    fn inputs(&self) -> Vec<u8> {
        [tid(), self.client.as_raw_fd() as u64]
            .iter()
            .flat_map(|v| v.to_ne_bytes())
            .collect()
    }
}

/// Field `n` (1-based, as in proc(5)) of `/proc/self/stat`.
fn stat_field(n: usize) -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let rest = stat.rsplit_once(") ").unwrap().1;
    rest.split_whitespace().nth(n - 3).unwrap().parse().unwrap()
}

fn expected(c: &Connection) -> Vec<(usize, &'static str, u64)> {
    let comm = std::fs::read_to_string("/proc/thread-self/comm").unwrap();
    let mut comm_bytes = [0u8; 16];
    let cb = comm.trim_end().as_bytes();
    comm_bytes[..cb.len()].copy_from_slice(cb);
    let word = |i: usize| u64::from_ne_bytes(comm_bytes[i * 8..i * 8 + 8].try_into().unwrap());
    // SAFETY: getppid and getuid have no preconditions.
    let (ppid, uid) = unsafe { (libc::getppid(), libc::getuid()) };
    let ino = std::fs::metadata(format!("/proc/self/fd/{}", c.client.as_raw_fd()))
        .unwrap()
        .ino();
    let local = c.client.local_addr().unwrap();
    let peer = c.client.peer_addr().unwrap();
    let loopback = u64::from(u32::from_ne_bytes([127, 0, 0, 1]));
    vec![
        (0, "hits", 1),
        (1, "task->pid", tid()),
        (2, "task->tgid", u64::from(std::process::id())),
        (3, "task->real_parent->tgid", ppid as u64),
        (4, "task->comm[0..8]", word(0)),
        (5, "task->comm[8..16]", word(1)),
        (6, "task->cred->uid.val", u64::from(uid)),
        (7, "mm->arg_start", stat_field(48)),
        (8, "file->f_inode->i_ino (fstat)", ino),
        (9, "socket->type", libc::SOCK_STREAM as u64),
        (
            10,
            "enum_value!(sock_type, SOCK_STREAM)",
            libc::SOCK_STREAM as u64,
        ),
        (11, "skc_family", libc::AF_INET as u64),
        (12, "skc_num (getsockname)", u64::from(local.port())),
        (
            13,
            "skc_dport (getpeername, big endian)",
            u64::from(peer.port().to_be()),
        ),
        (14, "skc_daddr", loopback),
        (15, "skc_rcv_saddr", loopback),
        (16, "skc_state (TCP_ESTABLISHED)", 1),
        (17, "sk_protocol", libc::IPPROTO_TCP as u64),
        (18, "sk_kern_sock (bitfield)", 0),
        (19, "sk_ino (newer kernels)", ino),
    ]
}

fn check(leg: &str, event: &[u8], c: &Connection) {
    assert_eq!(event.len(), SLOTS * 8, "{leg}: EVENT has {SLOTS} slots");
    let got: Vec<u64> = event
        .chunks_exact(8)
        .map(|w| u64::from_ne_bytes(w.try_into().unwrap()))
        .collect();
    let wrong: Vec<String> = expected(c)
        .iter()
        .filter(|(i, _, v)| got[*i] != *v)
        .map(|(i, what, v)| format!("{what}: got {:#x}, expected {v:#x}", got[*i]))
        .collect();
    assert!(wrong.is_empty(), "{leg}:\n{}", wrong.join("\n"));
}

#[test]
fn tcpconnect_through_btfkit_engine_and_loader() {
    require_root();
    let obj = linked_object();
    let loaded = common::load_with_btfkit(obj);
    let c = Connection::new();
    loaded.map(".data").unwrap().write(&c.inputs()).unwrap();
    loaded.program("tcpconnect").unwrap().test_run().unwrap();
    check("btfkit", &loaded.map(".bss").unwrap().read().unwrap(), &c);
}

#[test]
fn tcpconnect_through_libbpf() {
    require_root();
    let obj = linked_object();
    let c = Connection::new();
    let mut leg = LibbpfObject::open(obj, "tcpconnect-lean").unwrap();
    leg.set_global("INPUTS", &c.inputs()).unwrap();
    leg.load().unwrap_or_else(|e| panic!("{e}"));
    common::assert_libbpf_relocated_every_record(obj, leg.log());
    leg.test_run("tcpconnect").unwrap();
    check("libbpf", &leg.read_global("EVENT").unwrap(), &c);
}

/// (kind, root type name, access string) of every record.
fn records(object: &[u8]) -> BTreeSet<(String, String, String)> {
    let obj = btfkit_object::BpfObject::parse(object).unwrap();
    let btf = Btf::parse(obj.btf().unwrap()).unwrap();
    let ext = BtfExt::parse(obj.btf_ext().unwrap()).unwrap();
    ext.core_relo
        .sections
        .iter()
        .flat_map(|s| &s.records)
        .map(|r| {
            let t = btf.type_by_id(r.type_id).unwrap();
            (
                r.kind.short_name().to_string(),
                btf.type_name(&t).unwrap().to_string(),
                btf.name(r.access_str_off).unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn tcpconnect_has_the_records_and_no_more_btf_than_its_c_twin() {
    let rust = linked_object();
    let twin = common::clang_twin_on_vmlinux_h("tcpconnect");
    let (r, c) = (records(rust), records(&twin));
    // clang reads a bitfield with BPF_CORE_READ_BITFIELD_PROBED's records in
    // one set; the Rust program's are the same five kinds.
    assert_eq!(
        r,
        c,
        "records differ\n only in Rust: {:?}\n only in C: {:?}",
        r.difference(&c).collect::<Vec<_>>(),
        c.difference(&r).collect::<Vec<_>>()
    );
    common::assert_btf_no_larger_than_twin("tcpconnect", rust, &twin, true);
}
