//! `.BTF.ext`: per-instruction metadata that refers to `.BTF` — func_info,
//! line_info and CO-RE relocation records, grouped by ELF section name.
//!
//! Record sizes come from each subsection's `rec_size`; records longer than the
//! ones this crate knows keep their extra bytes and are written back unchanged.

use crate::btf::Endian;
use crate::error::{Error, Result};
use crate::header::{detect_endian, put_u16, put_u32, read_u32, MAGIC};

/// Size of the `.BTF.ext` header without core_relo fields.
pub const EXT_HEADER_LEN_V1: u32 = 24;
/// Size with `core_relo_off`/`core_relo_len`.
pub const EXT_HEADER_LEN_CORE: u32 = 32;
/// Most records in one subsection accepted from input (documented limit).
pub const MAX_EXT_RECORDS: usize = 1 << 24;

/// A func_info record: the BTF FUNC describing the function at `insn_off`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FuncInfo {
    /// Byte offset of the function's first instruction in its section.
    pub insn_off: u32,
    /// The FUNC type.
    pub type_id: u32,
    /// Bytes past the known fields (longer records).
    pub tail: Vec<u8>,
}

/// A line_info record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineInfo {
    /// Byte offset of the instruction.
    pub insn_off: u32,
    /// String offset of the file name.
    pub file_name_off: u32,
    /// String offset of the source line.
    pub line_off: u32,
    /// Line number << 10 | column.
    pub line_col: u32,
    /// Bytes past the known fields.
    pub tail: Vec<u8>,
}

impl LineInfo {
    /// The line number.
    pub fn line(&self) -> u32 {
        self.line_col >> 10
    }
    /// The column.
    pub fn column(&self) -> u32 {
        self.line_col & 0x3ff
    }
}

/// The CO-RE relocation kinds (`enum bpf_core_relo_kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CoreReloKind {
    /// 0: field byte offset.
    FieldByteOffset,
    /// 1: field byte size.
    FieldByteSize,
    /// 2: field existence.
    FieldExists,
    /// 3: field signedness.
    FieldSigned,
    /// 4: bitfield left shift.
    FieldLshiftU64,
    /// 5: bitfield right shift.
    FieldRshiftU64,
    /// 6: local type id.
    TypeIdLocal,
    /// 7: target type id.
    TypeIdTarget,
    /// 8: type existence.
    TypeExists,
    /// 9: type size.
    TypeSize,
    /// 10: enumerator existence.
    EnumvalExists,
    /// 11: enumerator value.
    EnumvalValue,
    /// 12: type match (a stricter compatibility check).
    TypeMatches,
    /// A kind newer than this crate.
    Unknown(u32),
}

impl CoreReloKind {
    /// All known kinds, in numeric order.
    pub const ALL: [CoreReloKind; 13] = [
        CoreReloKind::FieldByteOffset,
        CoreReloKind::FieldByteSize,
        CoreReloKind::FieldExists,
        CoreReloKind::FieldSigned,
        CoreReloKind::FieldLshiftU64,
        CoreReloKind::FieldRshiftU64,
        CoreReloKind::TypeIdLocal,
        CoreReloKind::TypeIdTarget,
        CoreReloKind::TypeExists,
        CoreReloKind::TypeSize,
        CoreReloKind::EnumvalExists,
        CoreReloKind::EnumvalValue,
        CoreReloKind::TypeMatches,
    ];

    /// The kind with this number.
    pub fn from_raw(raw: u32) -> CoreReloKind {
        Self::ALL
            .get(raw as usize)
            .copied()
            .unwrap_or(CoreReloKind::Unknown(raw))
    }

    /// The number.
    pub fn raw(self) -> u32 {
        match self {
            CoreReloKind::Unknown(raw) => raw,
            known => Self::ALL.iter().position(|k| *k == known).unwrap_or(0) as u32,
        }
    }

    /// libbpf's short name (`byte_off`, `type_exists`, ...).
    pub fn short_name(self) -> &'static str {
        use CoreReloKind::*;
        match self {
            FieldByteOffset => "byte_off",
            FieldByteSize => "byte_sz",
            FieldExists => "field_exists",
            FieldSigned => "signed",
            FieldLshiftU64 => "lshift_u64",
            FieldRshiftU64 => "rshift_u64",
            TypeIdLocal => "local_type_id",
            TypeIdTarget => "target_type_id",
            TypeExists => "type_exists",
            TypeMatches => "type_matches",
            TypeSize => "type_size",
            EnumvalExists => "enumval_exists",
            EnumvalValue => "enumval_value",
            Unknown(_) => "unknown",
        }
    }

    /// The kind with libbpf's short name.
    pub fn from_short_name(name: &str) -> Option<CoreReloKind> {
        Self::ALL.iter().copied().find(|k| k.short_name() == name)
    }

    /// A field relocation (kinds 0–5).
    pub fn is_field(self) -> bool {
        self.raw() <= 5
    }
    /// A type relocation (kinds 6–9, 12).
    pub fn is_type(self) -> bool {
        matches!(self.raw(), 6..=9 | 12)
    }
    /// An enumerator relocation (kinds 10–11).
    pub fn is_enumval(self) -> bool {
        matches!(self.raw(), 10 | 11)
    }
}

impl std::fmt::Display for CoreReloKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.short_name())
    }
}

/// A CO-RE relocation record (`struct bpf_core_relo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreRelo {
    /// Byte offset of the instruction in its section.
    pub insn_off: u32,
    /// The local (program's) root type.
    pub type_id: u32,
    /// String offset of the access string (`0:1:2`).
    pub access_str_off: u32,
    /// What to compute.
    pub kind: CoreReloKind,
    /// Bytes past the known fields.
    pub tail: Vec<u8>,
}

/// Records of one ELF section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtSection<R> {
    /// String offset (in `.BTF`) of the ELF section name.
    pub sec_name_off: u32,
    /// Its records.
    pub records: Vec<R>,
}

/// One subsection of `.BTF.ext`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtInfo<R> {
    /// Bytes per record as written (at least the known size).
    pub rec_size: u32,
    /// Records grouped by ELF section.
    pub sections: Vec<ExtSection<R>>,
    /// Offset in the input (kept so unmodified empty subsections round-trip).
    orig_off: Option<u32>,
    /// The input had a `rec_size` word but no sections.
    header_only: bool,
}

impl<R> ExtInfo<R> {
    fn empty(rec_size: u32) -> Self {
        ExtInfo {
            rec_size,
            sections: Vec::new(),
            orig_off: None,
            header_only: false,
        }
    }
    /// Total number of records.
    pub fn len(&self) -> usize {
        self.sections.iter().map(|s| s.records.len()).sum()
    }
    /// No records at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The records of the section whose name offset is `sec_name_off`, created if missing.
    pub fn section_mut(&mut self, sec_name_off: u32) -> &mut Vec<R> {
        let pos = match self
            .sections
            .iter()
            .position(|s| s.sec_name_off == sec_name_off)
        {
            Some(p) => p,
            None => {
                self.sections.push(ExtSection {
                    sec_name_off,
                    records: Vec::new(),
                });
                self.sections.len() - 1
            }
        };
        &mut self.sections[pos].records
    }
}

trait Record: Sized {
    const MIN: u32;
    fn decode(endian: Endian, b: &[u8]) -> Self;
    fn encode(&self, endian: Endian, rec_size: u32, out: &mut Vec<u8>);
}

fn put_tail(tail: &[u8], known: u32, rec_size: u32, out: &mut Vec<u8>) {
    let want = (rec_size - known) as usize;
    let n = tail.len().min(want);
    out.extend_from_slice(&tail[..n]);
    out.resize(out.len() + (want - n), 0);
}

impl Record for FuncInfo {
    const MIN: u32 = 8;
    fn decode(e: Endian, b: &[u8]) -> Self {
        FuncInfo {
            insn_off: read_u32(e, b, 0),
            type_id: read_u32(e, b, 4),
            tail: b[8..].to_vec(),
        }
    }
    fn encode(&self, e: Endian, rec_size: u32, out: &mut Vec<u8>) {
        put_u32(e, out, self.insn_off);
        put_u32(e, out, self.type_id);
        put_tail(&self.tail, Self::MIN, rec_size, out);
    }
}

impl Record for LineInfo {
    const MIN: u32 = 16;
    fn decode(e: Endian, b: &[u8]) -> Self {
        LineInfo {
            insn_off: read_u32(e, b, 0),
            file_name_off: read_u32(e, b, 4),
            line_off: read_u32(e, b, 8),
            line_col: read_u32(e, b, 12),
            tail: b[16..].to_vec(),
        }
    }
    fn encode(&self, e: Endian, rec_size: u32, out: &mut Vec<u8>) {
        for v in [
            self.insn_off,
            self.file_name_off,
            self.line_off,
            self.line_col,
        ] {
            put_u32(e, out, v);
        }
        put_tail(&self.tail, Self::MIN, rec_size, out);
    }
}

impl Record for CoreRelo {
    const MIN: u32 = 16;
    fn decode(e: Endian, b: &[u8]) -> Self {
        CoreRelo {
            insn_off: read_u32(e, b, 0),
            type_id: read_u32(e, b, 4),
            access_str_off: read_u32(e, b, 8),
            kind: CoreReloKind::from_raw(read_u32(e, b, 12)),
            tail: b[16..].to_vec(),
        }
    }
    fn encode(&self, e: Endian, rec_size: u32, out: &mut Vec<u8>) {
        for v in [
            self.insn_off,
            self.type_id,
            self.access_str_off,
            self.kind.raw(),
        ] {
            put_u32(e, out, v);
        }
        put_tail(&self.tail, Self::MIN, rec_size, out);
    }
}

/// A decoded `.BTF.ext` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BtfExt {
    /// Byte order.
    pub endian: Endian,
    /// Header version (1).
    pub version: u8,
    /// Header flags.
    pub flags: u8,
    /// Header length: 24, 32, or more.
    pub hdr_len: u32,
    /// Header bytes past the known fields.
    pub header_tail: Vec<u8>,
    /// func_info records.
    pub func_info: ExtInfo<FuncInfo>,
    /// line_info records.
    pub line_info: ExtInfo<LineInfo>,
    /// CO-RE relocation records.
    pub core_relo: ExtInfo<CoreRelo>,
}

fn parse_info<R: Record>(
    endian: Endian,
    body: &[u8],
    off: u32,
    len: u32,
    what: &str,
) -> Result<ExtInfo<R>> {
    let mut info = ExtInfo::empty(R::MIN);
    info.orig_off = Some(off);
    if len == 0 {
        return Ok(info);
    }
    let end = off as u64 + len as u64;
    if end > body.len() as u64 {
        return Err(Error::Ext(format!(
            "{what} subsection [{off}, {end}) runs past the end of the section ({} bytes)",
            body.len()
        )));
    }
    let data = &body[off as usize..end as usize];
    if data.len() < 4 {
        return Err(Error::Ext(format!(
            "{what} subsection is {} bytes, too short for rec_size",
            data.len()
        )));
    }
    let rec_size = read_u32(endian, data, 0);
    if rec_size < R::MIN || rec_size % 4 != 0 || rec_size > 1024 {
        return Err(Error::Ext(format!(
            "{what} rec_size {rec_size} is invalid (at least {}, a multiple of 4, at most 1024)",
            R::MIN
        )));
    }
    info.rec_size = rec_size;
    let mut pos = 4usize;
    if pos == data.len() {
        info.header_only = true;
    }
    let mut total = 0usize;
    while pos < data.len() {
        if data.len() - pos < 8 {
            return Err(Error::Ext(format!(
                "{what}: truncated section header at offset {}",
                off as usize + pos
            )));
        }
        let sec_name_off = read_u32(endian, data, pos);
        let num = read_u32(endian, data, pos + 4) as usize;
        pos += 8;
        if num == 0 {
            return Err(Error::Ext(format!(
                "{what}: section at offset {} has zero records",
                off as usize + pos - 8
            )));
        }
        let bytes = num
            .checked_mul(rec_size as usize)
            .filter(|&b| b <= data.len() - pos)
            .ok_or_else(|| {
                Error::Ext(format!(
                    "{what}: {num} records of {rec_size} bytes at offset {} run past the subsection",
                    off as usize + pos
                ))
            })?;
        total += num;
        if total > MAX_EXT_RECORDS {
            return Err(Error::Limit(format!(
                "{what} has more than {MAX_EXT_RECORDS} records (MAX_EXT_RECORDS)"
            )));
        }
        let records = data[pos..pos + bytes]
            .chunks_exact(rec_size as usize)
            .map(|r| R::decode(endian, r))
            .collect();
        pos += bytes;
        info.sections.push(ExtSection {
            sec_name_off,
            records,
        });
    }
    Ok(info)
}

fn encode_info<R: Record>(endian: Endian, info: &ExtInfo<R>, out: &mut Vec<u8>) {
    if info.sections.is_empty() && !info.header_only {
        return;
    }
    let rec_size = info.rec_size.max(R::MIN);
    put_u32(endian, out, rec_size);
    for sec in &info.sections {
        if sec.records.is_empty() {
            continue;
        }
        put_u32(endian, out, sec.sec_name_off);
        put_u32(endian, out, sec.records.len() as u32);
        for r in &sec.records {
            r.encode(endian, rec_size, out);
        }
    }
}

impl BtfExt {
    /// An empty `.BTF.ext` with a 32-byte header.
    pub fn new(endian: Endian) -> BtfExt {
        BtfExt {
            endian,
            version: 1,
            flags: 0,
            hdr_len: EXT_HEADER_LEN_CORE,
            header_tail: Vec::new(),
            func_info: ExtInfo::empty(8),
            line_info: ExtInfo::empty(16),
            core_relo: ExtInfo::empty(16),
        }
    }

    /// Decodes a `.BTF.ext` section.
    pub fn parse(data: &[u8]) -> Result<BtfExt> {
        let endian = detect_endian(data, ".BTF.ext header")?;
        if data.len() < 8 {
            return Err(Error::Ext(format!(
                "header truncated: {} bytes",
                data.len()
            )));
        }
        let version = data[2];
        if version != 1 {
            return Err(Error::Ext(format!("unsupported version {version}")));
        }
        let hdr_len = read_u32(endian, data, 4);
        if hdr_len < EXT_HEADER_LEN_V1 || hdr_len as usize > data.len() || hdr_len % 4 != 0 {
            return Err(Error::Ext(format!(
                "hdr_len {hdr_len} is invalid for a section of {} bytes",
                data.len()
            )));
        }
        let field = |i: usize| read_u32(endian, data, 8 + 4 * i);
        let body = &data[hdr_len as usize..];
        let func_info = parse_info(endian, body, field(0), field(1), "func_info")?;
        let line_info = parse_info(endian, body, field(2), field(3), "line_info")?;
        let core_relo = if hdr_len >= EXT_HEADER_LEN_CORE {
            parse_info(endian, body, field(4), field(5), "core_relo")?
        } else {
            ExtInfo::empty(16)
        };
        // Bytes past the fields read are kept: past 32, or past 24 when the
        // header is too short for the core_relo fields (hdr_len 28).
        let known = if hdr_len >= EXT_HEADER_LEN_CORE {
            EXT_HEADER_LEN_CORE
        } else {
            EXT_HEADER_LEN_V1
        } as usize;
        Ok(BtfExt {
            endian,
            version,
            flags: data[3],
            hdr_len,
            header_tail: data[known..hdr_len as usize].to_vec(),
            func_info,
            line_info,
            core_relo,
        })
    }

    /// Encodes the section. Subsections keep their input order and are packed.
    pub fn to_bytes(&self) -> Vec<u8> {
        let e = self.endian;
        let mut hdr_len = self.hdr_len.max(EXT_HEADER_LEN_V1);
        if !self.core_relo.is_empty() && hdr_len < EXT_HEADER_LEN_CORE {
            hdr_len = EXT_HEADER_LEN_CORE;
        }
        let mut bodies: [Vec<u8>; 3] = Default::default();
        encode_info(e, &self.func_info, &mut bodies[0]);
        encode_info(e, &self.line_info, &mut bodies[1]);
        encode_info(e, &self.core_relo, &mut bodies[2]);
        let orig = [
            self.func_info.orig_off,
            self.line_info.orig_off,
            self.core_relo.orig_off,
        ];
        let count = if hdr_len >= EXT_HEADER_LEN_CORE { 3 } else { 2 };
        let mut order: Vec<usize> = (0..count).collect();
        order.sort_by_key(|&i| (orig[i].unwrap_or(u32::MAX), i));
        let mut offs = [0u32; 3];
        let mut next = 0u32;
        for &i in &order {
            offs[i] = if bodies[i].is_empty() {
                orig[i].unwrap_or(next)
            } else {
                next
            };
            next += bodies[i].len() as u32;
        }
        let mut out = Vec::with_capacity(hdr_len as usize + next as usize);
        put_u16(e, &mut out, MAGIC);
        out.push(self.version);
        out.push(self.flags);
        put_u32(e, &mut out, hdr_len);
        for i in 0..count {
            put_u32(e, &mut out, offs[i]);
            put_u32(e, &mut out, bodies[i].len() as u32);
        }
        // The tail starts after the last field written: 32, or 24 (hdr_len 28).
        let tail_from = if count == 3 {
            EXT_HEADER_LEN_CORE
        } else {
            EXT_HEADER_LEN_V1
        };
        if self.hdr_len > tail_from && hdr_len == self.hdr_len {
            out.extend_from_slice(&self.header_tail);
        }
        out.resize(hdr_len as usize, 0);
        for &i in &order {
            out.extend_from_slice(&bodies[i]);
        }
        out
    }
}
