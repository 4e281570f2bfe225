//! `examples/kernel-types` in the running kernel: a program on `task_struct`,
//! `mm_struct`, `file`, `socket` and `sock` as `btfkit gen` writes them.
//!
//! The bindings are generated here, at test time, from the running kernel's
//! BTF (by `btfkit_gen::generate`, the library behind `btfkit gen`) into the
//! example's `src/vmlinux.rs` (gitignored; rewritten only when it changes).
//! Naming six types pulls in what `task_struct` reaches: about 2,100
//! relocatable types and 200 typedefs, 0.8 MB of Rust on kernel 6.18, which
//! the example's release build for `bpfel-unknown-none` compiles and links in
//! about 20 s (the whole file: about 40 s).
//!
//! The program is then relocated by btfkit's engine and loaded by
//! btfkit-loader, and relocated and loaded by libbpf 1.7; both run it with
//! BPF_PROG_TEST_RUN (in this thread), and every value it read must equal
//! what user space knows: `gettid()`, `getpid()`, `getppid()`,
//! `/proc/thread-self/comm`, `/proc/self/stat`, `lseek`, `fstat`, `fcntl`,
//! `getsockname`, `getsockopt`, and offsets and sizes from the kernel's BTF.
//!
//! Its C twin, compiled by clang-22 on a `vmlinux.h` from bpftool, must carry
//! the same CO-RE records: in particular the reads through anonymous members
//! (`mm->start_code` is in `mm_struct`'s anonymous struct, `skc_num` in an
//! anonymous struct inside an anonymous union of `sock_common`), which Rust
//! writes flat as C does, get clang's access strings.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Instant;

use btfkit_model::{Btf, BtfExt, Kind, TypeId};

mod common;
use btfkit_e2e::libbpf_leg::LibbpfObject;
use common::{require_root, tid};

const VMLINUX: &str = "/sys/kernel/btf/vmlinux";
/// The types the example names (`cgroup` for its member `self`).
const ROOTS: &[&str] = &[
    "task_struct",
    "mm_struct",
    "file",
    "socket",
    "sock",
    "cgroup",
];
/// Result slots of the program.
const SLOTS: usize = 32;

fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/kernel-types")
}

/// Writes the example's `src/vmlinux.rs` from the running kernel's BTF.
fn generate_bindings() {
    let data = std::fs::read(VMLINUX).unwrap();
    let btf = Btf::parse(&data).unwrap();
    let opts = btfkit_gen::Options {
        layout: btfkit_gen::Layout::Relocatable,
        roots: ROOTS.iter().map(|s| s.to_string()).collect(),
        source: Some(btfkit_gen::Source::new(VMLINUX, &data)),
        include_safe: false,
    };
    let start = Instant::now();
    let text = btfkit_gen::generate(&btf, &opts).unwrap();
    eprintln!(
        "kernel-types: generated {} bytes of bindings in {:?}",
        text.len(),
        start.elapsed()
    );
    let path = example_dir().join("src/vmlinux.rs");
    if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
        std::fs::write(&path, text).unwrap();
    }
}

/// Generates the bindings, builds and links the example, once per test run.
fn linked_object() -> &'static [u8] {
    static OBJ: OnceLock<Vec<u8>> = OnceLock::new();
    OBJ.get_or_init(|| {
        generate_bindings();
        let start = Instant::now();
        let obj = common::build_example("kernel-types");
        eprintln!("kernel-types: built and linked in {:?}", start.elapsed());
        obj
    })
}

/// A regular file and a bound UDP socket for the program to look at.
struct Fixtures {
    file: std::fs::File,
    socket: std::net::UdpSocket,
    file_pos: u64,
}

impl Fixtures {
    fn new(tag: &str) -> Fixtures {
        let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("kernel-types-{tag}"));
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
    fn inputs(&self) -> Vec<u8> {
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
fn stat_field(stat: &str, n: usize) -> u64 {
    // Fields after the command (which may hold spaces) start at field 3.
    let rest = stat.rsplit_once(") ").unwrap().1;
    rest.split_whitespace().nth(n - 3).unwrap().parse().unwrap()
}

/// Byte offset of `path` in the kernel's `root`, descending into anonymous
/// members where a name is not a direct member (as C names them).
fn kernel_offset(k: &Btf<'_>, root: &str, path: &[&str]) -> u64 {
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
fn expected(fx: &Fixtures) -> Vec<(usize, &'static str, u64)> {
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

fn check(leg: &str, results: &[u8], fx: &Fixtures) {
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

#[test]
fn generated_types_through_btfkit_engine_and_loader() {
    require_root();
    let obj = linked_object();
    let kernel = std::fs::read(VMLINUX).unwrap();
    let kernel = Btf::parse(&kernel).unwrap();
    let relocated =
        btfkit_reloc::relocate_object(obj, &btfkit_reloc::Target::new(&kernel)).unwrap();
    assert_eq!(relocated.decisions.len(), common::core_relo_count(obj));
    let out = btfkit_reloc::write::write_relocated(obj, &relocated).unwrap();
    let loaded = btfkit_loader::LoadedObject::load(&out).unwrap();
    let fx = Fixtures::new("btfkit");
    loaded.map(".data").unwrap().write(&fx.inputs()).unwrap();
    loaded.program("kernel_types").unwrap().test_run().unwrap();
    check("btfkit", &loaded.map(".bss").unwrap().read().unwrap(), &fx);
}

#[test]
fn generated_types_through_libbpf() {
    require_root();
    let obj = linked_object();
    let fx = Fixtures::new("libbpf");
    let mut leg = LibbpfObject::open(obj, "kernel-types").unwrap();
    leg.set_global("INPUTS", &fx.inputs()).unwrap();
    leg.load().unwrap_or_else(|e| panic!("{e}"));
    common::assert_libbpf_relocated_every_record(obj, leg.log());
    leg.test_run("kernel_types").unwrap();
    check("libbpf", &leg.read_global("RESULTS").unwrap(), &fx);
}

/// (kind, root type name, access string) of every record, and each root type's
/// shape (member names in order, bitfield widths).
type Records = (
    BTreeSet<(String, String, String)>,
    BTreeMap<String, Vec<String>>,
);

fn records(object: &[u8]) -> Records {
    let obj = btfkit_object::BpfObject::parse(object).unwrap();
    let btf = Btf::parse(obj.btf().unwrap()).unwrap();
    let ext = BtfExt::parse(obj.btf_ext().unwrap()).unwrap();
    let mut set = BTreeSet::new();
    let mut shapes = BTreeMap::new();
    for r in ext.core_relo.sections.iter().flat_map(|s| &s.records) {
        let t = btf.type_by_id(r.type_id).unwrap();
        let name = btf.type_name(&t).unwrap().to_string();
        set.insert((
            r.kind.short_name().to_string(),
            name.clone(),
            btf.name(r.access_str_off).unwrap().to_string(),
        ));
        let shape: Vec<String> = t
            .members()
            .map(|m| {
                let bits = if m.bitfield_size > 0 {
                    format!(":{}", m.bitfield_size)
                } else {
                    String::new()
                };
                format!("{}{bits}", btf.name(m.name_off).unwrap())
            })
            .collect();
        shapes.insert(name, shape);
    }
    (set, shapes)
}

/// clang-22 on the twin, with bpftool's `vmlinux.h` of the running kernel.
fn clang_twin() -> Vec<u8> {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("kernel-types-twin");
    std::fs::create_dir_all(&dir).unwrap();
    let header = Command::new("bpftool")
        .args(["btf", "dump", "file", VMLINUX, "format", "c"])
        .output()
        .expect("bpftool is required (scripts/setup.sh installs it)");
    assert!(header.status.success(), "bpftool btf dump failed");
    std::fs::write(dir.join("vmlinux.h"), &header.stdout).unwrap();
    let out = dir.join("twin.o");
    let st = Command::new("clang-22")
        .args(["-target", "bpf", "-O2", "-g", "-c"])
        .arg(format!("-I{}", dir.display()))
        .arg("-I/usr/include/x86_64-linux-gnu")
        .arg(example_dir().join("twin.bpf.c"))
        .arg("-o")
        .arg(&out)
        .status()
        .expect("clang-22 is required (scripts/setup.sh installs it)");
    assert!(st.success(), "clang-22 failed on the twin");
    std::fs::read(out).unwrap()
}

#[test]
fn generated_types_have_the_records_clang_writes_through_vmlinux_h() {
    let (rust_set, rust_shapes) = records(linked_object());
    let (c_set, c_shapes) = records(&clang_twin());
    assert_eq!(
        rust_set,
        c_set,
        "records differ\n only in Rust: {:?}\n only in C: {:?}",
        rust_set.difference(&c_set).collect::<Vec<_>>(),
        c_set.difference(&rust_set).collect::<Vec<_>>()
    );
    assert_eq!(rust_shapes, c_shapes, "local type shapes differ");
    // The reads through anonymous members are among them: mm_struct's fields
    // are one anonymous member deep, skc_num two (union, then struct).
    let depth = |ty: &str, min: usize| {
        rust_set
            .iter()
            .filter(|(_, t, a)| t == ty && a.split(':').count() > min)
            .count()
    };
    assert!(depth("mm_struct", 2) >= 10, "{rust_set:?}");
    assert!(depth("sock", 4) >= 2, "{rust_set:?}");
}
