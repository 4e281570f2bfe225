//! Format detection and extraction: raw BTF vs ELF, the `.BTF` section of a
//! vmlinux or kernel module, and BPF ELF objects embedded in other binaries
//! (libbpf skeletons such as Debian's libbpf-tools).

use object::elf;
use object::read::elf::{FileHeader, SectionHeader};
use object::Endianness;

use crate::error::{Context, ObjectError, Result};
use crate::read::EM_BPF;

/// Index of the class byte in `e_ident`.
pub(crate) const EI_CLASS: usize = 4;
/// Index of the byte-order byte in `e_ident`.
const EI_DATA: usize = 5;

/// The ELF magic.
pub const ELF_MAGIC: [u8; 4] = *b"\x7fELF";

/// The BTF magic `0xeB9F` as a `u16`.
pub const BTF_MAGIC: u16 = 0xeb9f;

/// What a blob of bytes looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataFormat {
    /// An ELF file.
    Elf,
    /// Raw BTF (starts with the BTF magic in either byte order).
    RawBtf,
    /// Neither.
    Unknown,
}

/// True if `data` starts with the ELF magic.
pub fn is_elf(data: &[u8]) -> bool {
    data.starts_with(&ELF_MAGIC)
}

/// True if `data` starts with the BTF magic, little- or big-endian.
pub fn is_raw_btf(data: &[u8]) -> bool {
    matches!(data, [0x9f, 0xeb, ..] | [0xeb, 0x9f, ..])
}

/// Tells ELF from raw BTF.
pub fn detect_format(data: &[u8]) -> DataFormat {
    if is_elf(data) {
        DataFormat::Elf
    } else if is_raw_btf(data) {
        DataFormat::RawBtf
    } else {
        DataFormat::Unknown
    }
}

/// The contents of the `.BTF` section of any ELF file (vmlinux, a `.ko`, a
/// BPF object), 32- or 64-bit, either byte order.
pub fn btf_from_elf(data: &[u8]) -> Result<&[u8]> {
    section_from_elf(data, ".BTF")
}

/// The contents of the first section named `name` of any ELF file, 32- or
/// 64-bit, either byte order. `SHT_NOBITS` sections have no contents and are an error.
pub fn section_from_elf<'data>(data: &'data [u8], name: &str) -> Result<&'data [u8]> {
    if !is_elf(data) {
        return Err(ObjectError::NotElf);
    }
    match data.get(EI_CLASS).copied().unwrap_or(0) {
        elf::ELFCLASS64 => section_by_name::<elf::FileHeader64<Endianness>>(data, name),
        elf::ELFCLASS32 => section_by_name::<elf::FileHeader32<Endianness>>(data, name),
        class => Err(ObjectError::UnsupportedClass { class }),
    }
}

fn section_by_name<'data, Elf: FileHeader<Endian = Endianness>>(
    data: &'data [u8],
    name: &str,
) -> Result<&'data [u8]> {
    let header = Elf::parse(data).context(|| "ELF header".to_string())?;
    let endian = header
        .endian()
        .context(|| "ELF header byte order".to_string())?;
    let table = header
        .sections(endian, data)
        .context(|| "section header table".to_string())?;
    let (index, section) = table
        .section_by_name(endian, name.as_bytes())
        .ok_or_else(|| ObjectError::MissingSection(name.to_string()))?;
    if section.sh_type(endian) == elf::SHT_NOBITS {
        return Err(ObjectError::Invalid(format!(
            "section #{} {name:?} is SHT_NOBITS and has no contents",
            index.0
        )));
    }
    section
        .data(endian, data)
        .context(|| format!("contents of section #{} {name:?}", index.0))
}

/// A BPF ELF object found inside a larger binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmbeddedObject {
    /// Byte offset of the object's ELF header in the binary.
    pub offset: usize,
    /// Length of the object: the end of its section header table or of its
    /// last section, whichever is further.
    pub len: usize,
}

impl EmbeddedObject {
    /// The object's bytes within `binary` (the slice it was found in).
    pub fn bytes<'a>(&self, binary: &'a [u8]) -> Option<&'a [u8]> {
        binary.get(self.offset..self.offset.checked_add(self.len)?)
    }
}

/// Finds every ELF64 BPF object (`e_machine == 247`) embedded in `binary`,
/// such as the objects libbpf skeletons carry in `.rodata`. Each hit's
/// header and section table must lie inside `binary`; candidates that do not
/// are skipped. Objects are returned in file order and do not overlap.
pub fn find_embedded_bpf_objects(binary: &[u8]) -> Vec<EmbeddedObject> {
    let mut found = Vec::new();
    let mut pos = 0;
    while let Some(hit) = memchr::memmem::find(binary.get(pos..).unwrap_or(&[]), &ELF_MAGIC) {
        let offset = pos + hit;
        match embedded_object_len(binary.get(offset..).unwrap_or(&[])) {
            Some(len) if len > 0 => {
                found.push(EmbeddedObject { offset, len });
                pos = offset + len;
            }
            _ => pos = offset + 1,
        }
    }
    found
}

/// Length of the ELF64 BPF object at the start of `data`, if it looks like one.
fn embedded_object_len(data: &[u8]) -> Option<usize> {
    let header: &[u8; 64] = data.get(..64)?.try_into().ok()?;
    if header[EI_CLASS] != elf::ELFCLASS64 {
        return None;
    }
    let big = match header[EI_DATA] {
        elf::ELFDATA2LSB => false,
        elf::ELFDATA2MSB => true,
        _ => return None,
    };
    let u16_at = |b: &[u8], at: usize| -> Option<u16> {
        let bytes: [u8; 2] = b.get(at..at + 2)?.try_into().ok()?;
        Some(if big {
            u16::from_be_bytes(bytes)
        } else {
            u16::from_le_bytes(bytes)
        })
    };
    let u32_at = |b: &[u8], at: usize| -> Option<u32> {
        let bytes: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
        Some(if big {
            u32::from_be_bytes(bytes)
        } else {
            u32::from_le_bytes(bytes)
        })
    };
    let u64_at = |b: &[u8], at: usize| -> Option<u64> {
        let bytes: [u8; 8] = b.get(at..at + 8)?.try_into().ok()?;
        Some(if big {
            u64::from_be_bytes(bytes)
        } else {
            u64::from_le_bytes(bytes)
        })
    };
    if u16_at(header, 18)? != EM_BPF {
        return None;
    }
    let shoff = usize::try_from(u64_at(header, 40)?).ok()?;
    let shentsize = usize::from(u16_at(header, 58)?);
    if shoff == 0 || shentsize != 64 {
        return None;
    }
    let mut shnum = usize::from(u16_at(header, 60)?);
    if shnum == 0 {
        // Extended numbering: the count is in section 0's sh_size.
        shnum = usize::try_from(u64_at(data, shoff.checked_add(32)?)?).ok()?;
    }
    let table_end = shoff.checked_add(shnum.checked_mul(shentsize)?)?;
    if table_end > data.len() {
        return None;
    }
    let mut end = table_end;
    for index in 1..shnum {
        let sh = shoff + index * shentsize;
        let sh_type = u32_at(data, sh + 4)?;
        if sh_type == elf::SHT_NOBITS || sh_type == elf::SHT_NULL {
            continue;
        }
        let sh_offset = usize::try_from(u64_at(data, sh + 24)?).ok()?;
        let sh_size = usize::try_from(u64_at(data, sh + 32)?).ok()?;
        let section_end = sh_offset.checked_add(sh_size)?;
        if section_end > data.len() {
            return None;
        }
        end = end.max(section_end);
    }
    Some(end)
}
