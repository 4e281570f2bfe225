//! Hostile input: target BTF and objects with bytes overwritten give a
//! tailored BTF or an error, never a panic or a hang.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use btfkit_minbtf::{tailor_bytes, tree};

fn clang(src: &str) -> Vec<u8> {
    let src_path = btfkit_testkit::data::crate_dir("reloc")
        .join("tests/data")
        .join(src);
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("minbtf-hostile-{src}.o"));
    btfkit_testkit::clang::compile(&src_path, &out, &[])
}

/// xorshift: reproducible without a dependency.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn overwritten_bytes_never_panic() {
    let obj = clang("rules.bpf.c");
    let target_obj = clang("target_moved.c");
    let btf = btfkit_object::btf_from_elf(&target_obj).unwrap().to_vec();
    let good = tailor_bytes(&btf, None, &[&obj]).unwrap();
    assert!(!good.is_empty());
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let (mut ok, mut err, mut diverged) = (0, 0, 0);
    for round in 0..600 {
        let (mut t, mut o) = (btf.clone(), obj.clone());
        let victim = if round % 2 == 0 { &mut t } else { &mut o };
        for _ in 0..1 + next(&mut state) % 4 {
            let at = (next(&mut state) % victim.len() as u64) as usize;
            victim[at] = next(&mut state) as u8;
        }
        match tailor_bytes(&t, None, &[&o]) {
            Ok(_) => ok += 1,
            Err(e) => {
                err += 1;
                if matches!(e, btfkit_minbtf::Error::Diverged { .. }) {
                    diverged += 1;
                }
            }
        }
    }
    eprintln!("{ok} tailored, {err} refused ({diverged} by the output check)");
    assert!(ok > 0 && err > 0);
}

#[test]
fn archives_that_are_not_are_refused() {
    for bytes in [&b""[..], b"\xfd7zXZ\0garbage", b"not xz at all"] {
        assert!(tree::unpack(bytes, tree::Format::TarXz).is_err());
    }
    let packed = tree::pack(b"\x9f\xeb\x01\x00", tree::Format::TarXz, "k").unwrap();
    assert_eq!(
        tree::unpack(&packed, tree::Format::TarXz).unwrap(),
        b"\x9f\xeb\x01\x00"
    );
    let mut cut = packed.clone();
    cut.truncate(packed.len() / 2);
    assert!(tree::unpack(&cut, tree::Format::TarXz).is_err());
}
