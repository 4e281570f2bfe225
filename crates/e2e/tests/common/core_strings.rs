//! `examples/core-strings`: the `CONFIG` a test writes and the check of what
//! the program read (comm, the executable's name, a user buffer through an
//! `iovec`) against `/proc/thread-self/comm`, `/proc/self/exe` and the buffer.

use super::tid;

/// The user buffer the program reads through an `iovec`.
pub const USER_TEXT: &[u8] = b"btfkit strings user buffer\0";

/// `CONFIG`: this thread and the address of `iov` (which must outlive the run).
pub fn config(iov: &libc::iovec) -> Vec<u8> {
    let mut c = tid().to_ne_bytes().to_vec();
    c.extend_from_slice(&(iov as *const libc::iovec as u64).to_ne_bytes());
    c
}

pub fn iov() -> libc::iovec {
    libc::iovec {
        iov_base: USER_TEXT.as_ptr() as *mut libc::c_void,
        iov_len: USER_TEXT.len(),
    }
}

/// The C string at the start of `buf`.
fn c_str(buf: &[u8]) -> &[u8] {
    &buf[..buf.iter().position(|&b| b == 0).unwrap_or(buf.len())]
}

pub fn check(leg: &str, out: &[u8]) {
    assert_eq!(out.len(), 32 + 16 + 64 + 32, "{leg}: OUT's size");
    let results: Vec<i64> = out[..32]
        .chunks_exact(8)
        .map(|c| i64::from_ne_bytes(c.try_into().unwrap()))
        .collect();
    let (comm, exe, user) = (&out[32..48], &out[48..112], &out[112..144]);
    let want_comm = std::fs::read_to_string("/proc/thread-self/comm").unwrap();
    let want_comm = want_comm.trim_end_matches('\n').as_bytes();
    let exe_path = std::fs::read_link("/proc/self/exe").unwrap();
    let want_exe = exe_path.file_name().unwrap().as_encoded_bytes();
    let mut wrong = Vec::new();
    let mut expect = |what: &str, got: &[u8], want: &[u8], ret: i64| {
        if got != want || ret != want.len() as i64 + 1 {
            wrong.push(format!(
                "{what}: got {:?} (helper returned {ret}), expected {:?} ({})",
                String::from_utf8_lossy(got),
                String::from_utf8_lossy(want),
                want.len() + 1
            ));
        }
    };
    expect("comm", c_str(comm), want_comm, results[0]);
    expect(
        "exe name",
        c_str(exe),
        &want_exe[..want_exe.len().min(63)],
        results[1],
    );
    expect("user string", c_str(user), c_str(USER_TEXT), results[3]);
    if results[2] != USER_TEXT.len() as i64 {
        wrong.push(format!(
            "core_read_user!(iov_len): got {}, expected {}",
            results[2],
            USER_TEXT.len()
        ));
    }
    assert!(wrong.is_empty(), "{leg}:\n{}", wrong.join("\n"));
}

/// `object` relocated by btfkit's engine for the running kernel, loaded by
/// btfkit's loader, run once in this thread and checked.
pub fn through_btfkit(object: &[u8]) {
    let loaded = super::load_with_btfkit(object);
    let iov = iov();
    loaded.map(".data").unwrap().write(&config(&iov)).unwrap();
    loaded.program("core_strings").unwrap().test_run().unwrap();
    check("btfkit", &loaded.map(".bss").unwrap().read().unwrap());
}

/// `object` relocated and loaded by libbpf (`name` for its object), run once
/// in this thread and checked.
pub fn through_libbpf(object: &[u8], name: &str) {
    let mut leg = btfkit_e2e::libbpf_leg::LibbpfObject::open(object, name).unwrap();
    let iov = iov();
    leg.set_global("CONFIG", &config(&iov)).unwrap();
    leg.load().unwrap_or_else(|e| panic!("{e}"));
    super::assert_libbpf_relocated_every_record(object, leg.log());
    leg.test_run("core_strings").unwrap();
    check("libbpf", &leg.read_global("OUT").unwrap());
}
