//! Applying a [`Fixup`] to one instruction, the way libbpf's
//! `bpf_core_patch_insn` does: ALU/ALU64 immediates, LDX/ST/STX offsets (with
//! memory-size adjustment), `ld_imm64`, and poisoning.

use btfkit_object::{Endian, Insn, INSN_SIZE};

use crate::compute::Fixup;
use crate::Error;

/// The helper id of a poisoned instruction: `call 0xbad2310`, which the
/// verifier rejects only if the instruction is reachable ("invalid func unknown#195896080").
pub const POISON_HELPER: i32 = 0xbad2310;

const BPF_LD: u8 = 0x00;
const BPF_LDX: u8 = 0x01;
const BPF_ST: u8 = 0x02;
const BPF_STX: u8 = 0x03;
const BPF_ALU: u8 = 0x04;
const BPF_ALU64: u8 = 0x07;
const BPF_K: u8 = 0x00;

fn load(insns: &[u8], idx: usize, endian: Endian) -> Result<Insn, Error> {
    let at = idx
        .checked_mul(INSN_SIZE)
        .ok_or_else(|| Error::Patch(format!("insn #{idx} out of range")))?;
    let bytes: [u8; INSN_SIZE] = insns
        .get(at..at + INSN_SIZE)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| Error::Patch(format!("insn #{idx} is past the end of the program")))?;
    Ok(Insn::decode(bytes, endian))
}

fn store(insns: &mut [u8], idx: usize, insn: &Insn, endian: Endian) {
    let at = idx * INSN_SIZE;
    insns[at..at + INSN_SIZE].copy_from_slice(&insn.encode(endian));
}

fn poison(insns: &mut [u8], idx: usize, endian: Endian) -> Result<(), Error> {
    let insn = load(insns, idx, endian)?;
    let call = Insn {
        code: 0x85,
        dst_reg: 0,
        src_reg: 0,
        off: 0,
        imm: POISON_HELPER,
    };
    if insn.code == 0x18 {
        // Poison the second half of an ld_imm64 too (else "unknown opcode 00").
        load(insns, idx + 1, endian)?;
        store(insns, idx + 1, &call, endian);
    }
    store(insns, idx, &call, endian);
    Ok(())
}

fn bytes_of_size(code: u8) -> u32 {
    match code & 0x18 {
        0x00 => 4,
        0x08 => 2,
        0x10 => 1,
        _ => 8,
    }
}

fn size_bits(bytes: u32) -> Option<u8> {
    Some(match bytes {
        4 => 0x00,
        2 => 0x08,
        1 => 0x10,
        8 => 0x18,
        _ => return None,
    })
}

/// What patching did to the instruction: the one outcome a report may show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Patched {
    /// The instruction now holds the new value; libbpf's log text
    /// (`patched insn #6 (LDX/ST/STX) off 40 -> 48, mem_sz 4 -> 8`).
    Applied(String),
    /// The instruction was replaced by `call 0xbad2310` (both slots of an `ld_imm64`).
    Poisoned(PoisonCause),
}

/// Why the patch step poisoned an instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoisonCause {
    /// The fixup says so: no target has the field, enumerator or type.
    NoTarget,
    /// An LDX/ST/STX would have to change its memory size, and the field is not
    /// a pointer or unsigned int on both sides (libbpf: "accesses field incorrectly").
    MemSize {
        /// The instruction's class: `BPF_LDX` (1), `BPF_ST` (2) or `BPF_STX` (3).
        class: u8,
        /// The instruction's access size in bytes.
        insn_bytes: u32,
    },
}

/// Patches instruction `idx` of `insns` with `fixup` (libbpf's `bpf_core_patch_insn`).
pub fn patch_insn(
    insns: &mut [u8],
    idx: usize,
    fixup: &Fixup,
    endian: Endian,
) -> Result<Patched, Error> {
    let mut insn = load(insns, idx, endian)?;
    if fixup.poison {
        poison(insns, idx, endian)?;
        return Ok(Patched::Poisoned(PoisonCause::NoTarget));
    }
    let (orig, new) = (fixup.orig_val, fixup.new_val);
    match insn.code & 0x07 {
        BPF_ALU | BPF_ALU64 => {
            if insn.code & 0x08 != BPF_K {
                return Err(Error::Patch(format!(
                    "insn #{idx} (ALU/ALU64) has a register source, not an immediate"
                )));
            }
            if fixup.validate && insn.imm as u32 as u64 != orig & 0xffff_ffff {
                return Err(Error::Patch(format!(
                    "unexpected insn #{idx} (ALU/ALU64) value: got {}, exp {orig} -> {new}",
                    insn.imm as u32
                )));
            }
            let was = insn.imm as u32;
            insn.imm = new as u32 as i32;
            store(insns, idx, &insn, endian);
            Ok(Patched::Applied(format!(
                "patched insn #{idx} (ALU/ALU64) imm {was} -> {}",
                new as u32
            )))
        }
        BPF_LDX | BPF_ST | BPF_STX => {
            if fixup.validate && insn.off as u16 as u64 != orig {
                return Err(Error::Patch(format!(
                    "unexpected insn #{idx} (LDX/ST/STX) value: got {}, exp {orig} -> {new}",
                    insn.off as u16
                )));
            }
            if new > i16::MAX as u64 {
                return Err(Error::Patch(format!(
                    "insn #{idx} (LDX/ST/STX) value too big: {new}"
                )));
            }
            if fixup.fail_memsz_adjust {
                poison(insns, idx, endian)?;
                return Ok(Patched::Poisoned(PoisonCause::MemSize {
                    class: insn.code & 0x07,
                    insn_bytes: bytes_of_size(insn.code),
                }));
            }
            let was = insn.off as u16;
            insn.off = new as i16;
            let mut note = format!("patched insn #{idx} (LDX/ST/STX) off {was} -> {new}");
            if fixup.new_sz != fixup.orig_sz {
                let have = bytes_of_size(insn.code);
                if have != fixup.orig_sz {
                    return Err(Error::Patch(format!(
                        "insn #{idx} (LDX/ST/STX) unexpected mem size: got {have}, exp {}",
                        fixup.orig_sz
                    )));
                }
                let bits = size_bits(fixup.new_sz).ok_or_else(|| {
                    Error::Patch(format!(
                        "insn #{idx} (LDX/ST/STX) invalid new mem size: {}",
                        fixup.new_sz
                    ))
                })?;
                insn.code = (insn.code & !0x18) | bits;
                note.push_str(&format!(", mem_sz {} -> {}", fixup.orig_sz, fixup.new_sz));
            }
            store(insns, idx, &insn, endian);
            Ok(Patched::Applied(note))
        }
        BPF_LD => {
            let hi = load(insns, idx + 1, endian)?;
            if insn.code != 0x18
                || insn.src_reg != 0
                || insn.off != 0
                || hi.code != 0
                || hi.dst_reg != 0
                || hi.src_reg != 0
                || hi.off != 0
            {
                return Err(Error::Patch(format!(
                    "insn #{idx} (LDIMM64) has unexpected form"
                )));
            }
            let imm = insn.imm as u32 as u64 | (hi.imm as u32 as u64) << 32;
            if fixup.validate && imm != orig {
                return Err(Error::Patch(format!(
                    "unexpected insn #{idx} (LDIMM64) value: got {imm}, exp {orig} -> {new}"
                )));
            }
            insn.imm = new as u32 as i32;
            let hi = Insn {
                imm: (new >> 32) as u32 as i32,
                ..hi
            };
            store(insns, idx, &insn, endian);
            store(insns, idx + 1, &hi, endian);
            Ok(Patched::Applied(format!(
                "patched insn #{idx} (LDIMM64) imm64 {imm} -> {new}"
            )))
        }
        _ => Err(Error::Patch(format!(
            "trying to relocate unrecognized insn #{idx}, code:{:#x}",
            insn.code
        ))),
    }
}
