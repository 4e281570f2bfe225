//! The `.BTF` header: 24 bytes classically, 32 with the `layout` section, and
//! whatever `hdr_len` says beyond that (unknown trailing fields are kept).

use crate::error::{Error, Result};
use crate::Endian;

/// The BTF magic number, 0xeB9F.
pub const MAGIC: u16 = 0xeb9f;
/// Size of the classic header.
pub const HEADER_LEN_V1: u32 = 24;
/// Size of the header with `layout_off`/`layout_len`.
pub const HEADER_LEN_LAYOUT: u32 = 32;

/// A decoded BTF header. Offsets are relative to the end of the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// `version`, always 1.
    pub version: u8,
    /// `flags`, 0 today.
    pub flags: u8,
    /// `hdr_len`: 24, 32 or more.
    pub hdr_len: u32,
    /// Offset of the type section.
    pub type_off: u32,
    /// Length of the type section.
    pub type_len: u32,
    /// Offset of the string section.
    pub str_off: u32,
    /// Length of the string section.
    pub str_len: u32,
    /// Offset of the layout section (32-byte headers).
    pub layout_off: u32,
    /// Length of the layout section (32-byte headers).
    pub layout_len: u32,
    /// Header bytes past the fields above, kept verbatim.
    pub unknown_tail: Vec<u8>,
}

pub(crate) fn read_u16(endian: Endian, b: &[u8], off: usize) -> u16 {
    let bytes = [b[off], b[off + 1]];
    match endian {
        Endian::Little => u16::from_le_bytes(bytes),
        Endian::Big => u16::from_be_bytes(bytes),
    }
}

#[inline(always)]
pub(crate) fn read_u32(endian: Endian, b: &[u8], off: usize) -> u32 {
    let bytes = [b[off], b[off + 1], b[off + 2], b[off + 3]];
    match endian {
        Endian::Little => u32::from_le_bytes(bytes),
        Endian::Big => u32::from_be_bytes(bytes),
    }
}

pub(crate) fn put_u32(endian: Endian, out: &mut Vec<u8>, v: u32) {
    match endian {
        Endian::Little => out.extend_from_slice(&v.to_le_bytes()),
        Endian::Big => out.extend_from_slice(&v.to_be_bytes()),
    }
}

pub(crate) fn put_u16(endian: Endian, out: &mut Vec<u8>, v: u16) {
    match endian {
        Endian::Little => out.extend_from_slice(&v.to_le_bytes()),
        Endian::Big => out.extend_from_slice(&v.to_be_bytes()),
    }
}

/// Detects the byte order from the magic at the start of `data`.
pub(crate) fn detect_endian(data: &[u8], what: &'static str) -> Result<Endian> {
    if data.len() < 2 {
        return Err(Error::Truncated {
            what,
            offset: 0,
            need: 2,
            have: data.len(),
        });
    }
    match [data[0], data[1]] {
        [0x9f, 0xeb] => Ok(Endian::Little),
        [0xeb, 0x9f] => Ok(Endian::Big),
        other => Err(Error::BadMagic(u16::from_le_bytes(other))),
    }
}

impl Header {
    /// Decodes and checks a header; sections must lie inside `data`.
    pub(crate) fn parse(data: &[u8]) -> Result<(Endian, Header)> {
        let endian = detect_endian(data, "BTF header")?;
        if data.len() < HEADER_LEN_V1 as usize {
            return Err(Error::Truncated {
                what: "BTF header",
                offset: 0,
                need: HEADER_LEN_V1 as usize,
                have: data.len(),
            });
        }
        let version = data[2];
        if version != 1 {
            return Err(Error::BadVersion(version));
        }
        let hdr_len = read_u32(endian, data, 4);
        if hdr_len < HEADER_LEN_V1 {
            return Err(Error::BadHeader(format!(
                "hdr_len {hdr_len} is shorter than the minimum 24"
            )));
        }
        if hdr_len as usize > data.len() {
            return Err(Error::Truncated {
                what: "BTF header",
                offset: 0,
                need: hdr_len as usize,
                have: data.len(),
            });
        }
        let field = |i: usize| read_u32(endian, data, 8 + 4 * i);
        let (layout_off, layout_len) = if hdr_len >= HEADER_LEN_LAYOUT {
            (field(4), field(5))
        } else {
            (0, 0)
        };
        // Bytes past the fields read here are kept verbatim: past 32, or past
        // 24 when the header is too short for the layout fields (25..=31).
        let known = if hdr_len >= HEADER_LEN_LAYOUT {
            HEADER_LEN_LAYOUT
        } else {
            HEADER_LEN_V1
        } as usize;
        let header = Header {
            version,
            flags: data[3],
            hdr_len,
            type_off: field(0),
            type_len: field(1),
            str_off: field(2),
            str_len: field(3),
            layout_off,
            layout_len,
            unknown_tail: data[known..hdr_len as usize].to_vec(),
        };
        let body = data.len() - hdr_len as usize;
        for (name, off, len) in header.sections() {
            let end = off as u64 + len as u64;
            if end > body as u64 {
                return Err(Error::BadHeader(format!(
                    "{name} section [{off}, {end}) runs past the end of the data ({body} bytes after the header)"
                )));
            }
        }
        if header.type_off % 4 != 0 {
            return Err(Error::BadHeader(format!(
                "type section offset {} is not 4-byte aligned",
                header.type_off
            )));
        }
        // Sections must not overlap.
        let mut spans: Vec<(u32, u32, &str)> = header
            .sections()
            .filter(|(_, _, len)| *len > 0)
            .map(|(n, o, l)| (o, o + l, n))
            .collect();
        spans.sort_unstable();
        for pair in spans.windows(2) {
            if pair[1].0 < pair[0].1 {
                return Err(Error::BadHeader(format!(
                    "{} and {} sections overlap",
                    pair[0].2, pair[1].2
                )));
            }
        }
        Ok((endian, header))
    }

    /// The sections the header describes: (name, offset, length).
    pub(crate) fn sections(&self) -> impl Iterator<Item = (&'static str, u32, u32)> {
        let mut v = vec![
            ("type", self.type_off, self.type_len),
            ("string", self.str_off, self.str_len),
        ];
        if self.hdr_len >= HEADER_LEN_LAYOUT {
            v.push(("layout", self.layout_off, self.layout_len));
        }
        v.into_iter()
    }

    /// Encodes the header.
    pub(crate) fn write(&self, endian: Endian, out: &mut Vec<u8>) {
        put_u16(endian, out, MAGIC);
        out.push(self.version);
        out.push(self.flags);
        put_u32(endian, out, self.hdr_len);
        for v in [self.type_off, self.type_len, self.str_off, self.str_len] {
            put_u32(endian, out, v);
        }
        if self.hdr_len >= HEADER_LEN_LAYOUT {
            put_u32(endian, out, self.layout_off);
            put_u32(endian, out, self.layout_len);
        }
        out.extend_from_slice(&self.unknown_tail);
    }

    /// A fresh 24-byte header with empty sections.
    pub(crate) fn empty() -> Header {
        Header {
            version: 1,
            flags: 0,
            hdr_len: HEADER_LEN_V1,
            type_off: 0,
            type_len: 0,
            str_off: 0,
            str_len: 0,
            layout_off: 0,
            layout_len: 0,
            unknown_tail: Vec::new(),
        }
    }
}
