//! The reachability analysis on hostile code: instructions of real objects
//! (guarded reads, subprograms, every load/store width) overwritten at random
//! with random opcodes, registers, offsets and immediates (deterministic
//! seeds), relocated for the running kernel: never a panic, always an answer
//! for every poisoned instruction, in bounded time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use btfkit_model::Btf;
use btfkit_reloc::{relocate_object, Target};

mod common;

fn clang(src: &str, define: &str, out: &str) -> Vec<u8> {
    std::fs::read(common::clang_with(src, out, &[define])).unwrap()
}

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

#[test]
fn random_instructions_never_break_the_reachability_analysis() {
    let vmlinux = std::fs::read("/sys/kernel/btf/vmlinux").expect("/sys/kernel/btf/vmlinux");
    let kernel = Btf::parse(&vmlinux).unwrap();
    let target = Target::new(&kernel);
    let objects = [
        clang("guards.bpf.c", "-DCASE=3", "hostile-guards3.o"),
        clang("guards.bpf.c", "-DCASE=4", "hostile-guards4.o"),
        clang("widths.bpf.c", "-DCASE=0", "hostile-widths.o"),
    ];
    // Opcodes worth hitting: jumps, calls, ALU, loads/stores of r10, ld_imm64.
    const CODES: [u8; 16] = [
        0x05, 0x06, 0x15, 0x55, 0x16, 0x85, 0x8d, 0x95, 0xb7, 0x07, 0x0f, 0x79, 0x7b, 0x18, 0xc3,
        0x62,
    ];
    let (mut runs, mut poisoned) = (0usize, 0usize);
    let start = Instant::now();
    for (n, obj) in objects.iter().enumerate() {
        let parsed = btfkit_object::BpfObject::parse(obj).unwrap();
        let ranges: Vec<(usize, usize)> = parsed
            .programs()
            .iter()
            .map(|p| {
                let s = parsed.section(p.section_index).unwrap();
                (s.offset as usize, s.size as usize)
            })
            .collect();
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ n as u64);
        for _ in 0..300 {
            let mut bytes = obj.clone();
            for _ in 0..1 + rng.next() % 6 {
                let (off, size) = ranges[(rng.next() % ranges.len() as u64) as usize];
                if size < 8 {
                    continue;
                }
                let at = off + (rng.next() as usize % (size / 8)) * 8;
                let r = rng.next();
                bytes[at] = CODES[(r % 16) as usize];
                bytes[at + 1] = (r >> 8) as u8 & if r & 0x10000 != 0 { 0xff } else { 0xaa };
                if r & 0x20000 != 0 {
                    bytes[at + 2..at + 4].copy_from_slice(&((r >> 24) as i16 % 24).to_le_bytes());
                }
                if r & 0x40000 != 0 {
                    bytes[at + 4..at + 8].copy_from_slice(&((r >> 40) as u32).to_le_bytes());
                }
            }
            let Ok(r) = relocate_object(&bytes, &target) else {
                continue;
            };
            runs += 1;
            for d in r.decisions.iter().filter(|d| d.poisoned()) {
                poisoned += 1;
                assert!(d.reachability.is_some(), "{d}");
            }
        }
    }
    let took = start.elapsed();
    println!("{runs} mutated objects relocated, {poisoned} poisoned instructions judged, {took:?}");
    assert!(runs > 500, "{runs}");
    assert!(took < Duration::from_secs(120), "{took:?}");
}
