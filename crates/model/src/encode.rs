//! Writing a [`Btf`] back to bytes. Unmodified input is reproduced byte for
//! byte (sections at their original offsets); modified or built BTF is laid
//! out contiguously in the original section order.

use crate::btf::Btf;
use crate::header::HEADER_LEN_LAYOUT;

impl Btf<'_> {
    /// Encodes the header, type, layout and string sections.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut header = self.header.clone();
        let has_layout = header.hdr_len >= HEADER_LEN_LAYOUT;
        header.type_len = self.types.len() as u32;
        header.str_len = self.strings.len() as u32;
        if has_layout {
            header.layout_len = self.layout.len() as u32;
        }
        if self.modified {
            // Keep the original order of the sections, packed one after another.
            let mut order: Vec<(u32, u8)> =
                vec![(self.header.type_off, 0), (self.header.str_off, 1)];
            if has_layout {
                order.push((self.header.layout_off, 2));
            }
            order.sort_unstable();
            let mut next = 0u32;
            for (_, which) in order {
                match which {
                    0 => {
                        header.type_off = next;
                        next += header.type_len;
                    }
                    1 => {
                        header.str_off = next;
                        next += header.str_len;
                    }
                    _ => {
                        header.layout_off = next;
                        next += header.layout_len;
                    }
                }
            }
        }
        let mut sections: Vec<(u32, &[u8])> = vec![
            (header.type_off, &self.types),
            (header.str_off, &self.strings),
        ];
        if has_layout {
            sections.push((header.layout_off, &self.layout));
        }
        let body_len = sections
            .iter()
            .map(|(off, bytes)| *off as usize + bytes.len())
            .max()
            .unwrap_or(0);
        let mut out = Vec::with_capacity(header.hdr_len as usize + body_len);
        header.write(self.endian, &mut out);
        let body_start = out.len();
        out.resize(body_start + body_len, 0);
        for (off, bytes) in sections {
            let at = body_start + off as usize;
            out[at..at + bytes.len()].copy_from_slice(bytes);
        }
        out
    }
}
