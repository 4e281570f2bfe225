//! The `btfkit` binary on hostile input. Every file of the regression corpus
//! (`crates/model/tests/regressions`: fuzzer findings) and the hand-made cases
//! built here (truncation at every offset, type ids out of range, string
//! offsets past the end, self-referential typedefs, 2^32-element arrays, a
//! struct of 65535 members, zero-sized `.BTF.ext` records, damaged objects) go
//! through `dump` (raw, C, JSON), `gen` (both layouts), `explain`,
//! `relocate` and `min-btf`. Each run must end within seconds with status 0, 1 or 2 — never
//! 101 (a panic) or a signal — and a failure is one line on stderr.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use btfkit_model::{Btf, BtfExt, CoreRelo, CoreReloKind, Endian, IntEncoding, NewMember, NewType};

/// How long one run may take (debug build, shared CI machine).
const TIMEOUT: Duration = Duration::from_secs(20);

struct Outcome {
    code: Option<i32>,
    stderr: String,
}

fn tmp(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("hostile");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Runs btfkit with `args`; fails the test on a panic, a signal or a hang.
fn btfkit(args: &[&str]) -> Outcome {
    let err_path = tmp(&format!("stderr-{}", std::process::id()))
        .with_extension(format!("{:?}", std::thread::current().id()).replace(['(', ')'], ""));
    let err_file = std::fs::File::create(&err_path).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_btfkit"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err_file)
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("btfkit {args:?} hangs (killed after {TIMEOUT:?})");
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    let code = status.code();
    assert!(
        code.is_some(),
        "btfkit {args:?} died of a signal ({status}): {stderr}"
    );
    assert!(
        matches!(code, Some(0..=2)),
        "btfkit {args:?} exited {code:?} (101 is a panic): {stderr}"
    );
    if code == Some(2) {
        assert_eq!(
            stderr.lines().count(),
            1,
            "btfkit {args:?}: the error is not one line: {stderr}"
        );
        assert!(stderr.starts_with("btfkit: "), "{stderr}");
    }
    Outcome { code, stderr }
}

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

/// A small real BTF to relocate against (kernel test module base, 3.8 KB).
fn target() -> String {
    repo("fuzz/seeds/btf_parse/btf_testmod.base.btf")
        .display()
        .to_string()
}

/// A clang-compiled object with 23 core_relo records (fuzz seed).
fn rules_object() -> Vec<u8> {
    std::fs::read(repo("fuzz/seeds/relocate/rules.bpf.o")).unwrap()
}

/// Every command that reads `path` as BTF.
fn as_btf(path: &str) -> Vec<Outcome> {
    let rules = repo("fuzz/seeds/relocate/rules.bpf.o")
        .display()
        .to_string();
    let min = tmp("min.btf").display().to_string();
    [
        &["dump", path][..],
        &["dump", "--format", "c", path],
        &["dump", "--json", path],
        &["gen", "--btf", path],
        &["gen", "--layout", "fixed", "--btf", path],
        &["min-btf", "--btf", path, "-o", &min, &rules],
    ]
    .iter()
    .map(|a| btfkit(a))
    .collect()
}

/// Every command that reads `path` as an object.
fn as_object(path: &str) -> Vec<Outcome> {
    let t = target();
    let out = tmp("relocated.o").display().to_string();
    vec![
        btfkit(&["explain", path, "--target", &t]),
        btfkit(&["explain", "--json", path, "--target", &t]),
        btfkit(&["relocate", path, "--target", &t, "-o", &out]),
        btfkit(&["dump", path]),
        btfkit(&["min-btf", "--btf", &t, "-o", &out, path]),
    ]
}

fn write(name: &str, data: &[u8]) -> String {
    let p = tmp(name);
    std::fs::write(&p, data).unwrap();
    p.display().to_string()
}

fn int(b: &mut Btf<'_>) -> u32 {
    b.add(&NewType::Int {
        name: "int",
        size: 4,
        encoding: IntEncoding(IntEncoding::SIGNED),
        offset: 0,
        bits: 32,
    })
    .unwrap()
}

fn member(name: &str, type_id: u32, bit_offset: u32) -> NewMember<'_> {
    NewMember {
        name,
        type_id,
        bit_offset,
        bitfield_size: 0,
    }
}

/// A BTF with a struct, a pointer, an array, a typedef and an enum.
fn sample() -> Vec<u8> {
    let mut b = Btf::new();
    let i = int(&mut b);
    let p = b.add(&NewType::Ptr { target: 0 }).unwrap();
    let a = b
        .add(&NewType::Array {
            elem: i,
            index: i,
            nelems: 4,
        })
        .unwrap();
    let s = b
        .add(&NewType::Struct {
            name: "s",
            size: 32,
            members: vec![member("a", i, 0), member("p", p, 64), member("arr", a, 128)],
        })
        .unwrap();
    b.add(&NewType::Typedef {
        name: "s_t",
        target: s,
    })
    .unwrap();
    b.to_bytes()
}

/// Hand-made hostile BTF: (file name, bytes).
fn hostile_btf() -> Vec<(String, Vec<u8>)> {
    let mut cases = Vec::new();

    // A pointer to type 99 of 1.
    let mut b = Btf::new();
    b.add(&NewType::Ptr { target: 99 }).unwrap();
    cases.push(("type-id-out-of-range".into(), b.to_bytes()));

    // A member of type 77.
    let mut b = Btf::new();
    b.add(&NewType::Struct {
        name: "s",
        size: 4,
        members: vec![member("x", 77, 0)],
    })
    .unwrap();
    cases.push(("member-type-out-of-range".into(), b.to_bytes()));

    // A name offset far past the string section.
    let mut v = sample();
    v[24..28].copy_from_slice(&0x00ff_ffffu32.to_le_bytes());
    cases.push(("name-past-strings".into(), v));

    // typedef loop = loop; typedef a = b, b = a; const → volatile → const.
    let mut b = Btf::new();
    b.add(&NewType::Typedef {
        name: "loop",
        target: 1,
    })
    .unwrap();
    cases.push(("self-referential-typedef".into(), b.to_bytes()));
    let mut b = Btf::new();
    b.add(&NewType::Typedef {
        name: "a",
        target: 2,
    })
    .unwrap();
    b.add(&NewType::Typedef {
        name: "b",
        target: 1,
    })
    .unwrap();
    b.add(&NewType::Struct {
        name: "holder",
        size: 8,
        members: vec![member("x", 1, 0)],
    })
    .unwrap();
    cases.push(("typedef-cycle".into(), b.to_bytes()));
    let mut b = Btf::new();
    b.add(&NewType::Const { target: 2 }).unwrap();
    b.add(&NewType::Volatile { target: 1 }).unwrap();
    b.add(&NewType::Typedef {
        name: "cv",
        target: 1,
    })
    .unwrap();
    cases.push(("modifier-cycle".into(), b.to_bytes()));

    // A struct that holds itself through a typedef (by value), and a list
    // node that points to itself through a typedef (legal).
    let mut b = Btf::new();
    b.add(&NewType::Struct {
        name: "me",
        size: 8,
        members: vec![member("me", 2, 0)],
    })
    .unwrap();
    b.add(&NewType::Typedef {
        name: "me_t",
        target: 1,
    })
    .unwrap();
    cases.push(("struct-holds-itself".into(), b.to_bytes()));
    let mut b = Btf::new();
    b.add(&NewType::Struct {
        name: "node",
        size: 8,
        members: vec![member("next", 3, 0)],
    })
    .unwrap();
    b.add(&NewType::Typedef {
        name: "node_t",
        target: 1,
    })
    .unwrap();
    b.add(&NewType::Ptr { target: 2 }).unwrap();
    cases.push(("pointer-cycle-through-typedef".into(), b.to_bytes()));

    // Arrays of 2^32 - 1 elements, nested three deep, held by a struct.
    let mut b = Btf::new();
    let i = int(&mut b);
    let mut elem = i;
    for _ in 0..3 {
        elem = b
            .add(&NewType::Array {
                elem,
                index: i,
                nelems: u32::MAX,
            })
            .unwrap();
    }
    b.add(&NewType::Struct {
        name: "huge",
        size: u32::MAX,
        members: vec![member("a", elem, 0)],
    })
    .unwrap();
    cases.push(("array-2-pow-32".into(), b.to_bytes()));

    // A struct of 65535 members.
    let mut b = Btf::new();
    let i = int(&mut b);
    let names: Vec<String> = (0..65535).map(|n| format!("m{n}")).collect();
    b.add(&NewType::Struct {
        name: "wide",
        size: 65535 * 4,
        members: names
            .iter()
            .enumerate()
            .map(|(n, name)| member(name, i, n as u32 * 32))
            .collect(),
    })
    .unwrap();
    cases.push(("struct-65535-members".into(), b.to_bytes()));

    // vlen 65535 announced, one member present.
    let mut v = sample();
    // struct s is type 4: after int (16), ptr (12), array (24).
    let at = 24 + 16 + 12 + 24 + 4;
    v[at..at + 2].copy_from_slice(&[0xff, 0xff]);
    cases.push(("vlen-past-the-end".into(), v));

    // Header lengths past the data.
    let mut v = sample();
    v[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
    cases.push(("type-len-past-the-end".into(), v));
    cases
}

#[test]
fn regression_corpus_through_every_command() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../model/tests/regressions");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path().display().to_string();
        as_btf(&path);
        as_object(&path);
        n += 1;
    }
    assert!(n >= 2, "the regression corpus is empty");
}

#[test]
fn hand_made_btf_through_every_command() {
    for (name, data) in hostile_btf() {
        let path = write(&format!("{name}.btf"), &data);
        as_btf(&path);
    }
}

#[test]
fn truncation_at_every_offset() {
    let data = sample();
    for len in 0..data.len() {
        let path = write(&format!("cut-{len}.btf"), &data[..len]);
        btfkit(&["dump", &path]);
        if len % 8 == 0 {
            as_btf(&path);
        }
    }
    let obj = rules_object();
    // Objects: every 64th offset (the object parser's own tests cut at all).
    for len in (0..obj.len()).step_by(64) {
        let path = write(&format!("cut-{len}.o"), &obj[..len]);
        btfkit(&["explain", &path, "--target", &target()]);
    }
}

/// `rules.bpf.o` with its `.BTF.ext` (or `.BTF`) replaced.
fn with_section(name: &str, data: Vec<u8>) -> Vec<u8> {
    let obj = rules_object();
    let parsed = btfkit_object::BpfObject::parse(&obj).unwrap();
    let mut rw = btfkit_object::ObjectRewriter::new(&parsed).unwrap();
    rw.set_non_alloc_section(name, data).unwrap();
    rw.write().unwrap()
}

/// The name offset of the first program section that has core_relo records.
fn prog_sec_name_off() -> u32 {
    let obj = rules_object();
    let parsed = btfkit_object::BpfObject::parse(&obj).unwrap();
    let ext = BtfExt::parse(parsed.btf_ext().unwrap()).unwrap();
    ext.core_relo.sections[0].sec_name_off
}

fn ext_with(records: Vec<CoreRelo>) -> Vec<u8> {
    let mut ext = BtfExt::new(Endian::Little);
    ext.core_relo
        .section_mut(prog_sec_name_off())
        .extend(records);
    ext.to_bytes()
}

fn relo(insn_off: u32, type_id: u32, access_str_off: u32) -> CoreRelo {
    CoreRelo {
        insn_off,
        type_id,
        access_str_off,
        kind: CoreReloKind::FieldByteOffset,
        tail: vec![],
    }
}

/// The offset of `s` in the object's `.BTF` strings.
fn string_off(s: &str) -> u32 {
    let obj = rules_object();
    let parsed = btfkit_object::BpfObject::parse(&obj).unwrap();
    let btf = Btf::parse(parsed.btf().unwrap()).unwrap();
    let table = btf.string_section();
    let needle = format!("\0{s}\0");
    table
        .windows(needle.len())
        .position(|w| w == needle.as_bytes())
        .map(|p| p as u32 + 1)
        .unwrap()
}

/// Hostile objects: (file name, bytes).
fn hostile_objects() -> Vec<(String, Vec<u8>)> {
    let good = BtfExt::parse(
        btfkit_object::BpfObject::parse(&rules_object())
            .unwrap()
            .btf_ext()
            .unwrap(),
    )
    .unwrap()
    .to_bytes();
    let core_off = 32 + u32::from_le_bytes(good[24..28].try_into().unwrap()) as usize;
    let mut cases = Vec::new();
    // core_relo rec_size 0; a section of 0 records; a record count past the end.
    let mut v = good.clone();
    v[core_off..core_off + 4].copy_from_slice(&0u32.to_le_bytes());
    cases.push(("ext-rec-size-0".into(), with_section(".BTF.ext", v)));
    let mut v = good.clone();
    v[core_off + 8..core_off + 12].copy_from_slice(&0u32.to_le_bytes());
    cases.push(("ext-zero-records".into(), with_section(".BTF.ext", v)));
    let mut v = good.clone();
    v[core_off + 8..core_off + 12].copy_from_slice(&u32::MAX.to_le_bytes());
    cases.push(("ext-count-past-the-end".into(), with_section(".BTF.ext", v)));
    // .BTF.ext cut at every 8th offset.
    for len in (0..good.len()).step_by(8) {
        cases.push((
            format!("ext-cut-{len}"),
            with_section(".BTF.ext", good[..len].to_vec()),
        ));
    }
    // Records: type id out of range, access string past the strings, an
    // access string that is not one, an instruction past the section, an
    // unaligned instruction offset, a 200-index access string.
    let zero = string_off("0:0");
    cases.push((
        "relo-type-id-out-of-range".into(),
        with_section(".BTF.ext", ext_with(vec![relo(0, 9999, zero)])),
    ));
    cases.push((
        "relo-access-past-strings".into(),
        with_section(".BTF.ext", ext_with(vec![relo(0, 1, 0x7fff_ffff)])),
    ));
    cases.push((
        "relo-insn-past-the-end".into(),
        with_section(".BTF.ext", ext_with(vec![relo(0x00ff_fff8, 1, zero)])),
    ));
    cases.push((
        "relo-insn-unaligned".into(),
        with_section(".BTF.ext", ext_with(vec![relo(3, 1, zero)])),
    ));
    // .BTF replaced by hostile BTF.
    for (name, btf) in hostile_btf() {
        if name.starts_with("struct-65535") {
            continue;
        }
        cases.push((format!("btf-{name}"), with_section(".BTF", btf)));
    }
    cases
}

#[test]
fn hand_made_objects_through_every_command() {
    for (name, data) in hostile_objects() {
        let path = write(&format!("{name}.o"), &data);
        as_object(&path);
    }
}

// Wording: errors point at the type id, section or instruction.

fn case<'a>(cases: &'a [(String, Vec<u8>)], name: &str) -> &'a [u8] {
    &cases.iter().find(|(n, _)| n == name).unwrap().1
}

#[test]
fn errors_name_what_is_wrong_and_where() {
    let btfs = hostile_btf();
    let path = write("w-loop.btf", case(&btfs, "self-referential-typedef"));
    let out = btfkit(&["gen", "--btf", &path]);
    assert_eq!(out.code, Some(2));
    assert_eq!(
        out.stderr.trim_end(),
        format!(
            "btfkit: generating bindings from {path}: malformed BTF: type [1]: reference chain \
             loops or is deeper than the limit (max_resolve_depth, 32 by default)"
        )
    );
    let path = write("w-member.btf", case(&btfs, "member-type-out-of-range"));
    let out = btfkit(&["gen", "--layout", "fixed", "--btf", &path]);
    assert!(
        out.stderr
            .ends_with("malformed BTF: type [1]: refers to type id 77, past the last id 1\n"),
        "{}",
        out.stderr
    );
    let path = write("w-vlen.btf", case(&btfs, "vlen-past-the-end"));
    let out = btfkit(&["dump", &path]);
    assert_eq!(out.code, Some(2));
    assert_eq!(
        out.stderr.trim_end(),
        format!(
            "btfkit: {path}: type [4]: truncated record: STRUCT with vlen 65535 needs 786432 \
             bytes at offset 52 of the type section, 60 left"
        )
    );

    let objs = hostile_objects();
    let t = target();
    let path = write("w-rec0.o", case(&objs, "ext-rec-size-0"));
    let out = btfkit(&["explain", &path, "--target", &t]);
    assert_eq!(out.code, Some(2));
    assert_eq!(
        out.stderr.trim_end(),
        format!(
            "btfkit: {path}: .BTF.ext: core_relo rec_size 0 is invalid (at least 16, a \
             multiple of 4, at most 1024)"
        )
    );
    let path = write("w-cut.o", &rules_object()[..1024]);
    let out = btfkit(&["explain", &path, "--target", &t]);
    assert_eq!(
        out.stderr.trim_end(),
        format!(
            "btfkit: {path}: object: malformed ELF (section header table): Invalid ELF section \
             header offset/size/alignment"
        )
    );
    // Per-record failures: exit 1, naming the program, record and instruction.
    let path = write("w-insn.o", case(&objs, "relo-insn-past-the-end"));
    let out = btfkit(&[
        "relocate",
        &path,
        "--target",
        &t,
        "-o",
        &tmp("w.o").display().to_string(),
    ]);
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr.starts_with(
            "btfkit relocate: prog 'raw_tp/sys_enter': relo #0: <byte_off> [1]: error: \
             instruction offset 16777208 is past the end of section raw_tp/sys_enter (58 instructions)\n"
        ),
        "{}",
        out.stderr
    );
    let path = write("w-type.o", case(&objs, "relo-type-id-out-of-range"));
    let out = btfkit(&[
        "relocate",
        &path,
        "--target",
        &t,
        "-o",
        &tmp("w.o").display().to_string(),
    ]);
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr.starts_with(
            "btfkit relocate: prog 'rules': relo #0: <byte_off> [9999] 0:0: error: BTF: type id \
             9999 out of range (last type id is 22)\n"
        ),
        "{}",
        out.stderr
    );
}
