//! The 8-byte BPF instruction encoding, in either byte order, and the BPF
//! relocation types.

/// Size of one BPF instruction slot in bytes (`ld_imm64` takes two slots).
pub const INSN_SIZE: usize = 8;

/// `R_BPF_NONE`.
pub const R_BPF_NONE: u32 = 0;
/// `R_BPF_64_64`: `ld_imm64` of a map or global variable address.
pub const R_BPF_64_64: u32 = 1;
/// `R_BPF_64_ABS64`: 64-bit absolute (debug info).
pub const R_BPF_64_ABS64: u32 = 2;
/// `R_BPF_64_ABS32`: 32-bit absolute (debug info, BTF).
pub const R_BPF_64_ABS32: u32 = 3;
/// `R_BPF_64_NODYLD32`: 32-bit, ignored by the dynamic linker (`.BTF`, `.BTF.ext`).
pub const R_BPF_64_NODYLD32: u32 = 4;
/// `R_BPF_64_32`: call of a function (`call -1` to an extern or subprogram).
pub const R_BPF_64_32: u32 = 10;

/// Byte order of an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endian {
    /// Little-endian (`bpfel`).
    Little,
    /// Big-endian (`bpfeb`).
    Big,
}

impl Endian {
    /// Reads a `u16`.
    pub fn read_u16(self, bytes: [u8; 2]) -> u16 {
        match self {
            Endian::Little => u16::from_le_bytes(bytes),
            Endian::Big => u16::from_be_bytes(bytes),
        }
    }

    /// Reads a `u32`.
    pub fn read_u32(self, bytes: [u8; 4]) -> u32 {
        match self {
            Endian::Little => u32::from_le_bytes(bytes),
            Endian::Big => u32::from_be_bytes(bytes),
        }
    }

    /// Reads a `u64`.
    pub fn read_u64(self, bytes: [u8; 8]) -> u64 {
        match self {
            Endian::Little => u64::from_le_bytes(bytes),
            Endian::Big => u64::from_be_bytes(bytes),
        }
    }

    /// Encodes a `u16`.
    pub fn u16_bytes(self, value: u16) -> [u8; 2] {
        match self {
            Endian::Little => value.to_le_bytes(),
            Endian::Big => value.to_be_bytes(),
        }
    }

    /// Encodes a `u32`.
    pub fn u32_bytes(self, value: u32) -> [u8; 4] {
        match self {
            Endian::Little => value.to_le_bytes(),
            Endian::Big => value.to_be_bytes(),
        }
    }

    /// Encodes a `u64`.
    pub fn u64_bytes(self, value: u64) -> [u8; 8] {
        match self {
            Endian::Little => value.to_le_bytes(),
            Endian::Big => value.to_be_bytes(),
        }
    }
}

/// One decoded instruction slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    /// Opcode byte.
    pub code: u8,
    /// Destination register (0..=15).
    pub dst_reg: u8,
    /// Source register (0..=15).
    pub src_reg: u8,
    /// Signed 16-bit offset.
    pub off: i16,
    /// Signed 32-bit immediate.
    pub imm: i32,
}

impl Insn {
    /// Decodes an instruction slot. In little-endian objects the register
    /// byte holds `dst` in its low nibble; in big-endian ones, in its high nibble.
    pub fn decode(bytes: [u8; INSN_SIZE], endian: Endian) -> Self {
        let regs = bytes[1];
        let (dst_reg, src_reg) = match endian {
            Endian::Little => (regs & 0x0f, regs >> 4),
            Endian::Big => (regs >> 4, regs & 0x0f),
        };
        Insn {
            code: bytes[0],
            dst_reg,
            src_reg,
            off: endian.read_u16([bytes[2], bytes[3]]) as i16,
            imm: endian.read_u32([bytes[4], bytes[5], bytes[6], bytes[7]]) as i32,
        }
    }

    /// Encodes the instruction slot (registers are masked to 4 bits).
    pub fn encode(&self, endian: Endian) -> [u8; INSN_SIZE] {
        let (dst, src) = (self.dst_reg & 0x0f, self.src_reg & 0x0f);
        let regs = match endian {
            Endian::Little => dst | (src << 4),
            Endian::Big => (dst << 4) | src,
        };
        let off = endian.u16_bytes(self.off as u16);
        let imm = endian.u32_bytes(self.imm as u32);
        [
            self.code, regs, off[0], off[1], imm[0], imm[1], imm[2], imm[3],
        ]
    }

    /// True for `ld_imm64` (`BPF_LD | BPF_IMM | BPF_DW`, opcode 0x18), which
    /// occupies two slots.
    pub fn is_ld_imm64(&self) -> bool {
        self.code == 0x18
    }

    /// True for `call` (`BPF_JMP | BPF_CALL`, opcode 0x85).
    pub fn is_call(&self) -> bool {
        self.code == 0x85
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_encode_round_trip_both_orders() {
        let call_le = [0x85, 0x10, 0, 0, 0xff, 0xff, 0xff, 0xff];
        let insn = Insn::decode(call_le, Endian::Little);
        assert_eq!(
            insn,
            Insn {
                code: 0x85,
                dst_reg: 0,
                src_reg: 1,
                off: 0,
                imm: -1
            }
        );
        assert_eq!(insn.encode(Endian::Little), call_le);
        let call_be = insn.encode(Endian::Big);
        assert_eq!(call_be, [0x85, 0x01, 0, 0, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(Insn::decode(call_be, Endian::Big), insn);
        let mov = Insn {
            code: 0xb7,
            dst_reg: 0,
            src_reg: 0,
            off: 0,
            imm: 2512,
        };
        assert_eq!(
            mov.encode(Endian::Little),
            [0xb7, 0, 0, 0, 0xd0, 0x09, 0, 0]
        );
    }
}
