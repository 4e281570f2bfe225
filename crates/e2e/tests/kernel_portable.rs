//! Kernel-independent bindings: `examples/portable`, one program written
//! with flat paths through anonymous members (task, mm, file, dentry,
//! socket, sock), built unchanged against the bindings `btfkit gen` writes
//! from each kernel: the running kernel's BTF and each vmlinux BTF in
//! `../shared/testdata/kernel-btf/` (Debian 6.1 amd64, 6.1 cloud, 7.1
//! sorted). The kernels place these members differently (`file.f_path` is a
//! direct member on 6.1 and inside an anonymous union on 6.18), number their
//! anonymous members differently and disagree on the signedness of `char`.
//!
//! Each build is compiled for `bpfel-unknown-none` the way `btfkit build`
//! does it (`btfkit_build::build_crate`, release, with BTF; the four crates
//! are members of one workspace, so they share one target directory and the
//! `btf` crate is compiled once) and linked by btfkit. Then:
//!
//! - each object is relocated by btfkit's engine for the running kernel,
//!   loaded by btfkit-loader and run with BPF_PROG_TEST_RUN in this thread;
//!   every build must read the same values, and they must equal what user
//!   space knows (`gettid()`, `getpid()`, `getppid()`, `/proc/thread-self/comm`,
//!   `/proc/self/stat`, `fstat`, `lseek`, the file's name, `getsockname`,
//!   `getpeername`, and offsets and sizes from the kernel's BTF);
//! - each object is relocated by btfkit's engine against each kernel (the
//!   three testdata BTFs and the running one): per kernel, every build must
//!   get the same decisions (kind, target spec, new value or poison) and the
//!   same relocated instructions: the object does not depend on which
//!   kernel the bindings came from.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Seek, SeekFrom, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

use btfkit_model::{Btf, Kind};
use btfkit_reloc::{relocate_object, Outcome, Target};

mod common;
use common::kernel_types::{kernel_offset, stat_field};
use common::{load_with_btfkit, require_root, tid, VMLINUX};

/// The types the program names (what they reach comes along).
const ROOTS: &[&str] = &[
    "task_struct",
    "mm_struct",
    "files_struct",
    "fdtable",
    "file",
    "dentry",
    "socket",
    "sock",
    "sock_common",
];
/// Result slots of the program (`Out.results`), then 32 bytes of name.
const SLOTS: usize = 28;
const NAME_LEN: usize = 32;

/// (label, BTF file) of every kernel the bindings are generated from.
fn kernels() -> Vec<(&'static str, PathBuf)> {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/kernel-btf");
    vec![
        ("running", PathBuf::from(VMLINUX)),
        ("6-1-amd64", data.join("vmlinux-6.1.0-47-amd64.btf")),
        ("6-1-cloud", data.join("vmlinux-6.1.0-47-cloud.btf")),
        ("7-1-sorted", data.join("vmlinux-7.1-sorted.btf")),
    ]
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn write_if_changed(path: &Path, text: &str) {
    if std::fs::read_to_string(path).ok().as_deref() != Some(text) {
        std::fs::write(path, text).unwrap();
    }
}

/// A workspace under `CARGO_TARGET_TMPDIR/portable` with one member per
/// kernel: the example's `src/main.rs` and that kernel's bindings.
fn write_workspace() -> PathBuf {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("portable");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let program = std::fs::read_to_string(repo.join("examples/portable/src/main.rs")).unwrap();
    let btf_crate = repo.join("crates/btf").canonicalize().unwrap();
    let mut members = Vec::new();
    for (label, path) in kernels() {
        let data = read(&path);
        let btf = Btf::parse(&data).unwrap();
        let opts = btfkit_gen::Options {
            layout: btfkit_gen::Layout::Relocatable,
            roots: ROOTS.iter().map(|s| s.to_string()).collect(),
            source: Some(btfkit_gen::Source::new(path.display().to_string(), &data)),
            include_safe: false,
            opaque_pointees: false,
        };
        let text = btfkit_gen::generate(&btf, &opts).unwrap();
        // `char` arrays are one Rust type whatever the kernel's `char` is.
        assert!(
            text.contains("    pub comm: [u8; 16],\n"),
            "{label}: task_struct.comm is not [u8; 16]"
        );
        let dir = root.join(label);
        std::fs::create_dir_all(dir.join("src")).unwrap();
        write_if_changed(
            &dir.join("Cargo.toml"),
            &format!(
                "[package]\nname = \"portable-{label}\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\
                 publish = false\n\n[dependencies]\nbtf = {{ path = {btf_crate:?} }}\n"
            ),
        );
        write_if_changed(&dir.join("src/main.rs"), &program);
        write_if_changed(&dir.join("src/vmlinux.rs"), &text);
        members.push(format!("{label:?}"));
    }
    let example = std::fs::read_to_string(repo.join("examples/portable/Cargo.toml")).unwrap();
    let profiles = &example[example.find("[profile.release]").unwrap()..];
    let profiles = &profiles[..profiles.find("[workspace]").unwrap()];
    write_if_changed(
        &root.join("Cargo.toml"),
        &format!(
            "[workspace]\nresolver = \"2\"\nmembers = [{}]\n\n{profiles}",
            members.join(", ")
        ),
    );
    // The workspace's lock file pins the macro crates' versions.
    if !root.join("Cargo.lock").exists() {
        std::fs::copy(repo.join("Cargo.lock"), root.join("Cargo.lock")).unwrap();
    }
    root
}

/// (label, linked object) of every build, built once per test run.
fn objects() -> &'static [(&'static str, Vec<u8>)] {
    static OBJS: OnceLock<Vec<(&'static str, Vec<u8>)>> = OnceLock::new();
    OBJS.get_or_init(|| {
        let start = Instant::now();
        let root = write_workspace();
        eprintln!("portable: bindings generated in {:?}", start.elapsed());
        let start = Instant::now();
        let toolchain = btfkit_build::find_toolchain().unwrap_or_else(|e| panic!("{e:#}"));
        let options = btfkit_build::BuildOptions {
            release: true,
            ..Default::default()
        };
        let built = btfkit_build::build_crate(&toolchain, &root.join("Cargo.toml"), &options)
            .unwrap_or_else(|e| {
                panic!("building the program against every kernel's bindings: {e:#}")
            });
        eprintln!("portable: {} builds in {:?}", built.len(), start.elapsed());
        kernels()
            .into_iter()
            .map(|(label, _)| {
                let exe = root
                    .join("target")
                    .join(btfkit_build::TARGET)
                    .join("release")
                    .join(format!("portable-{label}"));
                assert!(
                    built.contains(&exe),
                    "{} was not built: {built:?}",
                    exe.display()
                );
                let linked = btfkit_link::link(&read(&exe))
                    .unwrap_or_else(|e| panic!("{label}: linking: {e}"));
                (label, linked.object)
            })
            .collect()
    })
}

/// A regular file with a known name and position, and a connected TCP
/// socket over loopback (both ends kept open).
struct Fixtures {
    path: PathBuf,
    file: std::fs::File,
    client: TcpStream,
    _server: TcpStream,
    _listener: TcpListener,
}

impl Fixtures {
    fn new() -> Fixtures {
        let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("portable-kernel-file");
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        file.write_all(&[7u8; 3000]).unwrap();
        file.seek(SeekFrom::Start(1234)).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        Fixtures {
            path,
            file,
            client,
            _server: server,
            _listener: listener,
        }
    }

    /// `INPUTS`: this thread, the file's descriptor, the socket's.
    fn inputs(&self) -> Vec<u8> {
        [
            tid(),
            self.file.as_raw_fd() as u64,
            self.client.as_raw_fd() as u64,
        ]
        .iter()
        .flat_map(|v| v.to_ne_bytes())
        .collect()
    }

    /// What every slot must hold, from user space and the running kernel's BTF.
    fn expected(&self) -> Vec<(usize, &'static str, u64)> {
        let data = read(Path::new(VMLINUX));
        let k = Btf::parse(&data).unwrap();
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
        let comm = std::fs::read_to_string("/proc/thread-self/comm").unwrap();
        let mut comm_bytes = [0u8; 16];
        let c = comm.trim_end().as_bytes();
        comm_bytes[..c.len()].copy_from_slice(c);
        let word = |i: usize| u64::from_ne_bytes(comm_bytes[i * 8..i * 8 + 8].try_into().unwrap());
        // SAFETY: getppid has no preconditions.
        let ppid = unsafe { libc::getppid() };
        let name = self.path.file_name().unwrap().len() as u64;
        let local = self.client.local_addr().unwrap();
        let peer = self.client.peer_addr().unwrap();
        let loopback = u64::from(u32::from_ne_bytes([127, 0, 0, 1]));
        let file_id = k.find_by_name_kind("file", Kind::Struct)[0];
        vec![
            (0, "hits", 1),
            (1, "task->pid", tid()),
            (2, "task->tgid", u64::from(std::process::id())),
            (3, "task->real_parent->tgid", ppid as u64),
            (4, "task->comm[0..8]", word(0)),
            (5, "task->comm[8..16]", word(1)),
            (6, "task->mm->arg_start", stat_field(&stat, 48)),
            (7, "mm->arg_end", stat_field(&stat, 49)),
            (8, "mm->start_code", stat_field(&stat, 26)),
            (9, "mm->end_code", stat_field(&stat, 27)),
            (
                10,
                "field_byte_offset!(sock, __sk_common.skc_rcv_saddr)",
                kernel_offset(&k, "sock", &["__sk_common", "skc_rcv_saddr"]),
            ),
            (
                11,
                "field_byte_offset!(dentry, d_name.len)",
                kernel_offset(&k, "dentry", &["d_name", "len"]),
            ),
            (
                12,
                "field_byte_offset!(file, f_path.dentry)",
                kernel_offset(&k, "file", &["f_path", "dentry"]),
            ),
            // The name is the same in every build's bindings, but CO-RE matches
            // types by name and the kernel's union is anonymous: no target.
            (
                13,
                "type_size!(sock_common__skc_portpair) (no kernel type of that name)",
                u64::MAX,
            ),
            (14, "type_size!(file)", k.resolve_size(file_id).unwrap()),
            (15, "field_exists!(file, f_inode)", 1),
            (
                16,
                "file->f_inode->i_ino (fstat)",
                self.file.metadata().unwrap().ino(),
            ),
            (17, "file->f_pos (lseek)", 1234),
            (18, "file->f_path.dentry->d_name.len", name),
            (
                19,
                "core_read_str_into!(file->f_path.dentry->d_name.name)",
                name + 1,
            ),
            (20, "socket->type", libc::SOCK_STREAM as u64),
            (21, "skc_family", libc::AF_INET as u64),
            (22, "skc_num (getsockname)", u64::from(local.port())),
            (
                23,
                "skc_dport (getpeername, big endian)",
                u64::from(peer.port().to_be()),
            ),
            (24, "skc_daddr", loopback),
            (25, "skc_rcv_saddr", loopback),
            (26, "skc_state (TCP_ESTABLISHED)", 1),
            (27, "sk_protocol", libc::IPPROTO_TCP as u64),
        ]
    }
}

impl Drop for Fixtures {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[test]
fn every_build_reads_the_same_true_values_in_the_running_kernel() {
    require_root();
    let objects = objects();
    let fx = Fixtures::new();
    let name = fx.path.file_name().unwrap().as_encoded_bytes().to_vec();
    let mut first: Option<(&str, Vec<u8>)> = None;
    for (label, object) in objects {
        let start = Instant::now();
        let loaded = load_with_btfkit(object);
        loaded.map(".data").unwrap().write(&fx.inputs()).unwrap();
        loaded.program("portable").unwrap().test_run().unwrap();
        let out = loaded.map(".bss").unwrap().read().unwrap();
        assert_eq!(out.len(), SLOTS * 8 + NAME_LEN, "{label}: .bss is Out");
        let got: Vec<u64> = out[..SLOTS * 8]
            .chunks_exact(8)
            .map(|c| u64::from_ne_bytes(c.try_into().unwrap()))
            .collect();
        let want = fx.expected();
        assert_eq!(want.len(), SLOTS);
        let mut wrong: Vec<String> = want
            .iter()
            .filter(|(i, _, v)| got[*i] != *v)
            .map(|(i, what, v)| format!("{what}: got {:#x}, expected {v:#x}", got[*i]))
            .collect();
        let read_name = &out[SLOTS * 8..];
        if read_name[..name.len()] != name[..] || read_name[name.len()] != 0 {
            wrong.push(format!(
                "file name: got {:?}, expected {:?}",
                String::from_utf8_lossy(read_name),
                String::from_utf8_lossy(&name)
            ));
        }
        assert!(
            wrong.is_empty(),
            "bindings of {label}, relocated for the running kernel:\n{}",
            wrong.join("\n")
        );
        eprintln!(
            "portable: {label}: relocated, loaded and run in {:?}",
            start.elapsed()
        );
        match &first {
            None => first = Some((label, out)),
            // Values that the fixtures do not pin (none today) must agree too.
            Some((l, o)) => assert_eq!(o, &out, "{label} and {l} read different values"),
        }
    }
}

/// What a relocation decided, without what belongs to the local side (the
/// local type id, access string and value, which follow the bindings).
fn decisions(object: &[u8], target: &Target<'_>) -> (Vec<String>, Vec<Vec<u8>>) {
    let relocated = relocate_object(object, target).unwrap();
    let decided = relocated
        .decisions
        .iter()
        .map(|d| {
            let outcome = match &d.outcome {
                Outcome::Applied { new, .. } => format!("= {new}"),
                Outcome::Poisoned { reason } => format!("poisoned: {reason}"),
                Outcome::Failed { reason } => format!("failed: {reason}"),
            };
            format!(
                "{} insn {}: <{}> {} {outcome}",
                d.prog,
                d.insn,
                d.kind,
                d.target.as_deref().unwrap_or("no target")
            )
        })
        .collect();
    let sections = relocated.sections.into_iter().map(|(_, s)| s).collect();
    (decided, sections)
}

#[test]
fn every_build_relocates_alike_for_each_kernel() {
    let objects = objects();
    for (kernel, path) in kernels() {
        let data = read(&path);
        let btf = Btf::parse(&data).unwrap();
        let target = Target::new(&btf);
        let (first, objects) = objects.split_first().unwrap();
        let (want, want_insns) = decisions(&first.1, &target);
        assert!(!want.is_empty());
        for (label, object) in objects {
            let (got, insns) = decisions(object, &target);
            let differ: Vec<String> = want
                .iter()
                .zip(&got)
                .filter(|(a, b)| a != b)
                .map(|(a, b)| format!("  {}: {a}\n  {label}: {b}", first.0))
                .collect();
            assert!(
                want.len() == got.len() && differ.is_empty(),
                "for kernel {kernel}, the builds on {} and {label} bindings decide differently \
                 ({} and {} decisions):\n{}",
                first.0,
                want.len(),
                got.len(),
                differ.join("\n")
            );
            assert!(
                want_insns == insns,
                "for kernel {kernel}, the builds on {} and {label} bindings relocate to \
                 different instructions",
                first.0
            );
        }
        eprintln!(
            "portable: kernel {kernel}: {} builds, {} decisions each, alike",
            objects.len() + 1,
            want.len()
        );
    }
}
