//! Rewriting a BPF ELF object: patch or replace section contents, add or
//! replace non-allocated sections (`.BTF`, `.BTF.ext`), remove sections,
//! relocations and symbols, and write a new ELF64 relocatable file.
//!
//! The writer is deliberately conservative so that loaders (libbpf, aya,
//! bpftool) see the same object as before, apart from the requested edits:
//! section order, header fields, flags, alignment, symbol order and bindings
//! are kept; section contents are laid out in their original file order
//! (an unedited clang object is rewritten byte for byte); section and symbol
//! indices are renumbered everywhere they appear (`sh_link`, `sh_info`,
//! `st_shndx`, relocation entries, `SHT_GROUP` members, `.llvm_addrsig`).
//!
//! Identifiers passed to the rewriter are the indices of the parsed
//! [`BpfObject`]; sections added by the rewriter get indices after them.

use std::borrow::Cow;

use object::elf;

use crate::error::{ObjectError, Result};
use crate::insn::Endian;
use crate::read::{BpfObject, Section};

/// `SHT_LLVM_ADDRSIG`: a ULEB128 list of symbol indices.
const SHT_LLVM_ADDRSIG: u32 = 0x6fff_4c03;
/// Size of an ELF64 section header.
const SHDR_SIZE: usize = 64;
/// Size of an ELF64 symbol.
const SYM_SIZE: usize = 24;
/// Size of an ELF64 `Rel` entry.
const REL_SIZE: usize = 16;
/// Size of an ELF64 `Rela` entry.
const RELA_SIZE: usize = 24;
/// Size of the ELF64 file header.
const EHDR_SIZE: usize = 64;
/// Largest alignment the writer accepts.
const MAX_ALIGN: u64 = 1 << 16;

/// One relocation entry as the rewriter sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelocationEntry {
    /// Byte offset in the target section.
    pub offset: u64,
    /// Original symbol table index.
    pub symbol_index: usize,
    /// Relocation type.
    pub r_type: u32,
    /// Explicit addend (0 for `SHT_REL`).
    pub addend: i64,
}

#[derive(Debug, Clone)]
struct RelocationSlot {
    entry: RelocationEntry,
    removed: bool,
}

#[derive(Debug, Clone)]
struct SectionSlot<'data> {
    name: String,
    name_offset: u32,
    sh_type: u32,
    flags: u64,
    addr: u64,
    /// File offset in the original object; `None` for added sections.
    original_offset: Option<u64>,
    size: u64,
    link: u32,
    info: u32,
    addralign: u64,
    entsize: u64,
    data: Cow<'data, [u8]>,
    removed: bool,
    /// Decoded entries for `SHT_REL`/`SHT_RELA` sections.
    relocations: Vec<RelocationSlot>,
}

impl SectionSlot<'_> {
    fn is_alloc(&self) -> bool {
        self.flags & u64::from(elf::SHF_ALLOC) != 0
    }

    fn is_relocation(&self) -> bool {
        self.sh_type == elf::SHT_REL || self.sh_type == elf::SHT_RELA
    }
}

/// A rebuilt string table: its section, contents, and old → new offsets.
struct CompactNames {
    index: usize,
    data: Vec<u8>,
    offsets: std::collections::HashMap<u32, u32>,
}

#[derive(Debug, Clone)]
struct SymbolSlot {
    name: String,
    name_offset: u32,
    info: u8,
    other: u8,
    shndx: u16,
    value: u64,
    size: u64,
    removed: bool,
}

/// Edits a parsed BPF object and writes the result as new ELF bytes.
#[derive(Debug, Clone)]
pub struct ObjectRewriter<'data> {
    endian: Endian,
    header: [u8; EHDR_SIZE],
    shstrndx: usize,
    symtab_index: Option<usize>,
    first_global_symbol: usize,
    sections: Vec<SectionSlot<'data>>,
    symbols: Vec<SymbolSlot>,
}

fn align_to(value: u64, align: u64) -> Option<u64> {
    let align = align.max(1);
    value.checked_add(align - 1).map(|v| v / align * align)
}

impl<'data> ObjectRewriter<'data> {
    /// Starts a rewrite of `object` with no edits.
    pub fn new(object: &BpfObject<'data>) -> Result<Self> {
        let header: [u8; EHDR_SIZE] = object
            .data()
            .get(..EHDR_SIZE)
            .and_then(|h| h.try_into().ok())
            .ok_or_else(|| ObjectError::Invalid("ELF header is truncated".to_string()))?;
        let mut sections: Vec<SectionSlot<'data>> = object
            .sections()
            .iter()
            .map(|s: &Section<'data>| SectionSlot {
                name: s.name.to_string(),
                name_offset: s.name_offset,
                sh_type: s.sh_type,
                flags: s.flags,
                addr: s.addr,
                original_offset: Some(s.offset),
                size: s.size,
                link: s.link,
                info: s.info,
                addralign: s.addralign,
                entsize: s.entsize,
                data: Cow::Borrowed(s.data),
                removed: false,
                relocations: Vec::new(),
            })
            .collect();
        for section in object.sections() {
            if section.addralign > MAX_ALIGN || !section.addralign.max(1).is_power_of_two() {
                return Err(ObjectError::Unsupported(format!(
                    "section #{} {:?} has alignment {:#x}",
                    section.index, section.name, section.addralign
                )));
            }
            if section.sh_type == elf::SHT_SYMTAB_SHNDX {
                return Err(ObjectError::Unsupported(format!(
                    "extended section index table #{} {:?}",
                    section.index, section.name
                )));
            }
        }
        for rel in object.relocation_sections() {
            sections[rel.index].relocations = rel
                .relocations
                .iter()
                .map(|r| RelocationSlot {
                    entry: RelocationEntry {
                        offset: r.offset,
                        symbol_index: r.symbol_index,
                        r_type: r.r_type,
                        addend: r.addend,
                    },
                    removed: false,
                })
                .collect();
        }
        let mut symbols = Vec::with_capacity(object.symbols().len());
        for s in object.symbols() {
            if s.shndx == elf::SHN_XINDEX {
                return Err(ObjectError::Unsupported(format!(
                    "symbol #{} {:?} uses an extended section index",
                    s.index, s.name
                )));
            }
            symbols.push(SymbolSlot {
                name: s.name.to_string(),
                name_offset: s.name_offset,
                info: s.info,
                other: s.other,
                shndx: s.shndx,
                value: s.value,
                size: s.size,
                removed: false,
            });
        }
        if object.shstrndx() == 0 || object.shstrndx() >= sections.len() {
            return Err(ObjectError::Invalid(format!(
                "section name string table index {} is out of range",
                object.shstrndx()
            )));
        }
        Ok(ObjectRewriter {
            endian: object.endian(),
            header,
            shstrndx: object.shstrndx(),
            symtab_index: object.symtab_index(),
            first_global_symbol: object.first_global_symbol(),
            sections,
            symbols,
        })
    }

    fn live_section(&self, index: usize) -> Result<&SectionSlot<'data>> {
        match self.sections.get(index) {
            Some(s) if index != 0 && !s.removed => Ok(s),
            _ => Err(ObjectError::NoSuchSection(index)),
        }
    }

    fn live_section_mut(&mut self, index: usize) -> Result<&mut SectionSlot<'data>> {
        match self.sections.get_mut(index) {
            Some(s) if index != 0 && !s.removed => Ok(s),
            _ => Err(ObjectError::NoSuchSection(index)),
        }
    }

    /// Index of the first live section named `name`.
    pub fn section_index(&self, name: &str) -> Option<usize> {
        self.sections
            .iter()
            .enumerate()
            .skip(1)
            .find(|(_, s)| !s.removed && s.name == name)
            .map(|(i, _)| i)
    }

    /// Current contents of section `index`.
    pub fn section_data(&self, index: usize) -> Result<&[u8]> {
        Ok(&self.live_section(index)?.data)
    }

    /// Index of the first live symbol named `name`.
    pub fn symbol_index(&self, name: &str) -> Option<usize> {
        self.symbols
            .iter()
            .enumerate()
            .skip(1)
            .find(|(_, s)| !s.removed && s.name == name)
            .map(|(i, _)| i)
    }

    fn check_replaceable(&self, index: usize) -> Result<&SectionSlot<'data>> {
        let section = self.live_section(index)?;
        let structural = section.is_relocation()
            || index == self.shstrndx
            || Some(index) == self.symtab_index
            || matches!(
                section.sh_type,
                elf::SHT_SYMTAB | elf::SHT_STRTAB | elf::SHT_GROUP | SHT_LLVM_ADDRSIG
            );
        if structural {
            return Err(ObjectError::Rewrite(format!(
                "section #{index} {:?} is managed by the rewriter and cannot be replaced",
                section.name
            )));
        }
        if section.sh_type == elf::SHT_NOBITS {
            return Err(ObjectError::Rewrite(format!(
                "section #{index} {:?} is SHT_NOBITS and has no contents to replace",
                section.name
            )));
        }
        Ok(section)
    }

    /// Replaces the contents of section `index`. Allocated sections (code,
    /// data) must keep their size; non-allocated ones may change size. The
    /// section's relocations are kept.
    pub fn replace_section_data(&mut self, index: usize, data: Vec<u8>) -> Result<()> {
        let section = self.check_replaceable(index)?;
        if section.is_alloc() && data.len() as u64 != section.size {
            return Err(ObjectError::Rewrite(format!(
                "allocated section #{index} {:?} has {} bytes; the replacement has {}",
                section.name,
                section.size,
                data.len()
            )));
        }
        let section = self.live_section_mut(index)?;
        section.size = data.len() as u64;
        section.data = Cow::Owned(data);
        Ok(())
    }

    /// Overwrites `bytes.len()` bytes of section `index` at byte `offset`
    /// (e.g. one patched instruction).
    pub fn patch_section(&mut self, index: usize, offset: u64, bytes: &[u8]) -> Result<()> {
        let section = self.check_replaceable(index)?;
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        let end = start.saturating_add(bytes.len());
        if end > section.data.len() {
            return Err(ObjectError::Rewrite(format!(
                "patch of {} bytes at offset {offset:#x} is past the end of section #{index} \
                 {:?} ({} bytes)",
                bytes.len(),
                section.name,
                section.data.len()
            )));
        }
        let section = self.live_section_mut(index)?;
        section.data.to_mut()[start..end].copy_from_slice(bytes);
        Ok(())
    }

    /// Sets the contents of the non-allocated section `name` (such as `.BTF`
    /// or `.BTF.ext`). An existing section keeps its header and loses the
    /// relocation sections that applied to its old contents; a missing one
    /// is added at the end as `SHT_PROGBITS`, no flags, 4-byte alignment,
    /// as clang emits `.BTF` and `.BTF.ext`. Returns the section's index.
    pub fn set_non_alloc_section(&mut self, name: &str, data: Vec<u8>) -> Result<usize> {
        if let Some(index) = self.section_index(name) {
            let section = self.check_replaceable(index)?;
            if section.is_alloc() {
                return Err(ObjectError::Rewrite(format!(
                    "section #{index} {name:?} is allocated (SHF_ALLOC); \
                     use replace_section_data"
                )));
            }
            self.replace_section_data(index, data)?;
            for rel in 1..self.sections.len() {
                let slot = &mut self.sections[rel];
                if !slot.removed && slot.is_relocation() && slot.info as usize == index {
                    slot.removed = true;
                }
            }
            return Ok(index);
        }
        let name_offset = self.add_section_name(name)?;
        self.sections.push(SectionSlot {
            name: name.to_string(),
            name_offset,
            sh_type: elf::SHT_PROGBITS,
            flags: 0,
            addr: 0,
            original_offset: None,
            size: data.len() as u64,
            link: 0,
            info: 0,
            addralign: 4,
            entsize: 0,
            data: Cow::Owned(data),
            removed: false,
            relocations: Vec::new(),
        });
        Ok(self.sections.len() - 1)
    }

    /// Appends `name` to the section name string table and returns its offset.
    fn add_section_name(&mut self, name: &str) -> Result<u32> {
        if name.as_bytes().contains(&0) {
            return Err(ObjectError::Rewrite(format!(
                "section name {name:?} contains a NUL byte"
            )));
        }
        let shstrndx = self.shstrndx;
        let strtab = self.live_section_mut(shstrndx)?;
        let data = strtab.data.to_mut();
        if data.is_empty() {
            data.push(0);
        }
        let offset = u32::try_from(data.len()).map_err(|_| {
            ObjectError::Rewrite("section name string table exceeds 4 GiB".to_string())
        })?;
        data.extend_from_slice(name.as_bytes());
        data.push(0);
        strtab.size = data.len() as u64;
        Ok(offset)
    }

    /// Removes section `index`, the relocation sections that apply to it and
    /// the symbols defined in it (including its section symbol).
    ///
    /// Relocations elsewhere against those symbols are dropped if they apply
    /// to a non-allocated section (debug info, `.BTF`, `.BTF.ext`); if they
    /// apply to code or data, [`write`](Self::write) fails, because the
    /// result would not load correctly.
    pub fn remove_section(&mut self, index: usize) -> Result<()> {
        let section = self.live_section(index)?;
        if index == self.shstrndx
            || Some(index) == self.symtab_index
            || self
                .symtab_index
                .is_some_and(|s| self.sections[s].link as usize == index)
        {
            return Err(ObjectError::Rewrite(format!(
                "section #{index} {:?} is the symbol table or a string table it needs",
                section.name
            )));
        }
        self.sections[index].removed = true;
        for slot in self.sections.iter_mut() {
            if !slot.removed && slot.is_relocation() && slot.info as usize == index {
                slot.removed = true;
            }
        }
        for symbol in self.symbols.iter_mut().skip(1) {
            if usize::from(symbol.shndx) == index
                && symbol.shndx != elf::SHN_UNDEF
                && symbol.shndx < elf::SHN_LORESERVE
            {
                symbol.removed = true;
            }
        }
        Ok(())
    }

    /// Removes the relocation at byte `offset` of section `target_section`.
    pub fn remove_relocation(&mut self, target_section: usize, offset: u64) -> Result<()> {
        let removed = self.remove_relocations_where(|target, entry| {
            target == target_section && entry.offset == offset
        });
        if removed == 0 {
            return Err(ObjectError::Rewrite(format!(
                "no relocation at offset {offset:#x} of section #{target_section}"
            )));
        }
        Ok(())
    }

    /// Removes every live relocation for which `predicate(target_section,
    /// entry)` is true; returns how many were removed.
    pub fn remove_relocations_where(
        &mut self,
        mut predicate: impl FnMut(usize, &RelocationEntry) -> bool,
    ) -> usize {
        let mut count = 0;
        for section in self.sections.iter_mut().filter(|s| !s.removed) {
            let target = section.info as usize;
            for slot in section.relocations.iter_mut().filter(|r| !r.removed) {
                if predicate(target, &slot.entry) {
                    slot.removed = true;
                    count += 1;
                }
            }
        }
        count
    }

    /// Removes every relocation against symbol `symbol_index`; returns how many.
    pub fn remove_relocations_against_symbol(&mut self, symbol_index: usize) -> usize {
        self.remove_relocations_where(|_, entry| entry.symbol_index == symbol_index)
    }

    /// Live relocations that apply to section `target_section`.
    pub fn relocations_for(&self, target_section: usize) -> Vec<RelocationEntry> {
        self.sections
            .iter()
            .filter(|s| !s.removed && s.is_relocation() && s.info as usize == target_section)
            .flat_map(|s| s.relocations.iter().filter(|r| !r.removed))
            .map(|r| r.entry)
            .collect()
    }

    /// Removes symbol `index` (e.g. an undefined query marker). Relocations
    /// against it must be removed too, or [`write`](Self::write) fails for
    /// those in code or data (those in non-allocated sections are dropped).
    pub fn remove_symbol(&mut self, index: usize) -> Result<()> {
        match self.symbols.get_mut(index) {
            Some(symbol) if index != 0 && !symbol.removed => {
                symbol.removed = true;
                Ok(())
            }
            _ => Err(ObjectError::NoSuchSymbol(index)),
        }
    }

    /// Writes the edited object as ELF bytes.
    pub fn write(&self) -> Result<Vec<u8>> {
        let endian = self.endian;

        // Old → new section indices.
        let mut section_map = vec![None; self.sections.len()];
        let mut next = 0usize;
        for (old, section) in self.sections.iter().enumerate() {
            if old == 0 || !section.removed {
                section_map[old] = Some(next);
                next += 1;
            }
        }
        let section_count = next;
        if section_count >= usize::from(elf::SHN_LORESERVE) {
            return Err(ObjectError::Unsupported(format!(
                "{section_count} sections need extended section numbering"
            )));
        }
        let map_section = |old: usize, what: &dyn Fn() -> String| -> Result<usize> {
            section_map.get(old).copied().flatten().ok_or_else(|| {
                ObjectError::Rewrite(format!("{} refers to removed section #{old}", what()))
            })
        };

        // Old → new symbol indices.
        let mut symbol_map = vec![None; self.symbols.len()];
        let mut next = 0usize;
        let mut first_global = 0usize;
        for (old, symbol) in self.symbols.iter().enumerate() {
            if old == 0 || !symbol.removed {
                symbol_map[old] = Some(next);
                next += 1;
                if old < self.first_global_symbol {
                    first_global = next;
                }
            }
        }
        let symbol_count = next;

        // The symbols' string table, holding only the names still used.
        let names = self.compact_names(&section_map)?;
        let name_of = |table_user: bool, off: u32| -> u32 {
            match &names {
                Some(n) if table_user => n.offsets.get(&off).copied().unwrap_or(0),
                _ => off,
            }
        };

        // Contents of every live section, with indices renumbered.
        let mut contents: Vec<(usize, Cow<'_, [u8]>)> = Vec::with_capacity(section_count);
        for (old, section) in self.sections.iter().enumerate() {
            if section_map[old].is_none() || old == 0 {
                continue;
            }
            let data: Cow<'_, [u8]> = if section.is_relocation() {
                Cow::Owned(self.encode_relocations(old, section, &symbol_map)?)
            } else if Some(old) == self.symtab_index {
                Cow::Owned(
                    self.encode_symbols(&section_map, symbol_count, &|off| name_of(true, off))?,
                )
            } else if names.as_ref().is_some_and(|n| n.index == old) {
                Cow::Borrowed(names.as_ref().map_or(&[][..], |n| &n.data[..]))
            } else if section.sh_type == SHT_LLVM_ADDRSIG
                && self
                    .symtab_index
                    .is_some_and(|s| s == section.link as usize)
            {
                Cow::Owned(remap_addrsig(&section.data, &symbol_map, &section.name)?)
            } else if section.sh_type == elf::SHT_GROUP {
                Cow::Owned(self.remap_group(section, &section_map)?)
            } else {
                Cow::Borrowed(&section.data[..])
            };
            contents.push((old, data));
        }

        // Layout: header, section contents in their original file order
        // (added sections last), then the section header table.
        let mut order: Vec<usize> = (0..contents.len()).collect();
        order.sort_by_key(|&i| {
            let old = contents[i].0;
            (self.sections[old].original_offset.unwrap_or(u64::MAX), old)
        });
        let mut offsets = vec![0u64; self.sections.len()];
        let mut position = EHDR_SIZE as u64;
        for &i in &order {
            let (old, data) = &contents[i];
            let section = &self.sections[*old];
            position = align_to(position, section.addralign)
                .ok_or_else(|| ObjectError::Rewrite("file offset overflow".to_string()))?;
            offsets[*old] = position;
            if section.sh_type != elf::SHT_NOBITS {
                position += data.len() as u64;
            }
        }
        let shoff = align_to(position, 8)
            .ok_or_else(|| ObjectError::Rewrite("file offset overflow".to_string()))?;
        let total = usize::try_from(shoff)
            .ok()
            .and_then(|s| s.checked_add(section_count * SHDR_SIZE))
            .ok_or_else(|| ObjectError::Rewrite("output too large".to_string()))?;

        let mut out = vec![0u8; total];
        out[..EHDR_SIZE].copy_from_slice(&self.header);
        put(&mut out, 40, &endian.u64_bytes(shoff));
        put(&mut out, 58, &endian.u16_bytes(SHDR_SIZE as u16));
        put(&mut out, 60, &endian.u16_bytes(section_count as u16));
        let shstrndx = map_section(self.shstrndx, &|| "e_shstrndx".to_string())?;
        put(&mut out, 62, &endian.u16_bytes(shstrndx as u16));

        for (old, data) in &contents {
            let section = &self.sections[*old];
            if section.sh_type != elf::SHT_NOBITS {
                let start = offsets[*old] as usize;
                out[start..start + data.len()].copy_from_slice(data);
            }
        }

        // Section headers (the null header stays zero).
        for (old, data) in &contents {
            let section = &self.sections[*old];
            let describe = || format!("section #{old} {:?}", section.name);
            let link = if section.link == 0 {
                0
            } else {
                map_section(section.link as usize, &|| {
                    format!("sh_link of {}", describe())
                })?
            };
            let info = if Some(*old) == self.symtab_index {
                first_global
            } else if section.is_relocation()
                || (section.flags & u64::from(elf::SHF_INFO_LINK) != 0 && section.info != 0)
            {
                map_section(section.info as usize, &|| {
                    format!("sh_info of {}", describe())
                })?
            } else {
                section.info as usize
            };
            let size = if section.sh_type == elf::SHT_NOBITS {
                section.size
            } else {
                data.len() as u64
            };
            let new_index = section_map[*old].unwrap_or(0);
            let at = shoff as usize + new_index * SHDR_SIZE;
            let header = &mut out[at..at + SHDR_SIZE];
            let section_names_compacted = names.as_ref().is_some_and(|n| n.index == self.shstrndx);
            put(
                header,
                0,
                &endian.u32_bytes(name_of(section_names_compacted, section.name_offset)),
            );
            put(header, 4, &endian.u32_bytes(section.sh_type));
            put(header, 8, &endian.u64_bytes(section.flags));
            put(header, 16, &endian.u64_bytes(section.addr));
            put(header, 24, &endian.u64_bytes(offsets[*old]));
            put(header, 32, &endian.u64_bytes(size));
            put(header, 40, &endian.u32_bytes(link as u32));
            put(header, 44, &endian.u32_bytes(info as u32));
            put(header, 48, &endian.u64_bytes(section.addralign));
            put(header, 56, &endian.u64_bytes(section.entsize));
        }
        Ok(out)
    }

    fn encode_relocations(
        &self,
        index: usize,
        section: &SectionSlot<'_>,
        symbol_map: &[Option<usize>],
    ) -> Result<Vec<u8>> {
        let endian = self.endian;
        let is_rela = section.sh_type == elf::SHT_RELA;
        let target = self.sections.get(section.info as usize);
        let target_is_alloc = target.is_some_and(|t| t.is_alloc());
        let entry_size = if is_rela { RELA_SIZE } else { REL_SIZE };
        let mut out = Vec::with_capacity(section.relocations.len() * entry_size);
        for slot in section.relocations.iter().filter(|r| !r.removed) {
            let entry = &slot.entry;
            let symbol = match symbol_map.get(entry.symbol_index).copied().flatten() {
                Some(symbol) => symbol,
                None if target_is_alloc => {
                    let name = self
                        .symbols
                        .get(entry.symbol_index)
                        .map(|s| s.name.as_str())
                        .unwrap_or("?");
                    return Err(ObjectError::Rewrite(format!(
                        "relocation at offset {:#x} in {:?} (section #{index}) refers to \
                         removed symbol #{} {name:?}; remove the relocation first",
                        entry.offset, section.name, entry.symbol_index
                    )));
                }
                None => continue,
            };
            let info = ((symbol as u64) << 32) | u64::from(entry.r_type);
            out.extend_from_slice(&endian.u64_bytes(entry.offset));
            out.extend_from_slice(&endian.u64_bytes(info));
            if is_rela {
                out.extend_from_slice(&endian.u64_bytes(entry.addend as u64));
            }
        }
        Ok(out)
    }

    /// The string table the symbol table links to, rebuilt with only the
    /// names of live symbols (and of live sections when it also holds
    /// section names): the link step removes symbols whose names (a type
    /// descriptor each, with its record) would otherwise stay behind as
    /// most of a large program's object. `None` when there is no symbol
    /// table, nothing was removed (an unedited object is written back byte
    /// for byte), or its string table is shared in a way this does not
    /// handle.
    fn compact_names(&self, section_map: &[Option<usize>]) -> Result<Option<CompactNames>> {
        let Some(symtab) = self.symtab_index else {
            return Ok(None);
        };
        if !self.symbols.iter().skip(1).any(|s| s.removed)
            && !self.sections.iter().skip(1).any(|s| s.removed)
        {
            return Ok(None);
        }
        let index = self.sections[symtab].link as usize;
        let Some(table) = self.sections.get(index).filter(|t| !t.removed) else {
            return Ok(None);
        };
        if table.sh_type != elf::SHT_STRTAB
            || self.sections.iter().enumerate().any(|(i, s)| {
                // Another section naming this table (a second symbol table,
                // dynamic sections) keeps its offsets: leave it as it is.
                !s.removed && i != symtab && s.link as usize == index && !s.is_relocation()
            })
        {
            return Ok(None);
        }
        let old = &table.data[..];
        let name_at = |off: u32| -> Result<&[u8]> {
            let start = off as usize;
            let rest = old.get(start..).ok_or_else(|| {
                ObjectError::Rewrite(format!("name offset {off:#x} is outside the string table"))
            })?;
            let end = rest.iter().position(|&b| b == 0).ok_or_else(|| {
                ObjectError::Rewrite(format!("name at {off:#x} is not NUL-terminated"))
            })?;
            Ok(&rest[..end])
        };
        // Every name still used, by old offset.
        let mut used: Vec<u32> = Vec::new();
        for (old_index, symbol) in self.symbols.iter().enumerate() {
            if old_index != 0 && !symbol.removed {
                used.push(symbol.name_offset);
            }
        }
        if index == self.shstrndx {
            for (old_index, section) in self.sections.iter().enumerate() {
                if old_index != 0 && section_map.get(old_index).copied().flatten().is_some() {
                    used.push(section.name_offset);
                }
            }
        }
        let mut unique: Vec<&[u8]> = Vec::with_capacity(used.len());
        for &off in &used {
            if off != 0 {
                unique.push(name_at(off)?);
            }
        }
        // Names sorted by their reversed bytes, longest suffix family
        // first: a name that ends another one shares its bytes (as LLVM
        // writes string tables).
        unique.sort_by(|a, b| b.iter().rev().cmp(a.iter().rev()));
        unique.dedup();
        let mut data = vec![0u8];
        let mut by_name: std::collections::HashMap<&[u8], u32> = std::collections::HashMap::new();
        let mut previous: Option<(&[u8], usize)> = None;
        for name in unique {
            let at = match previous {
                Some((p, at)) if p.ends_with(name) => at + p.len() - name.len(),
                _ => {
                    let at = data.len();
                    data.extend_from_slice(name);
                    data.push(0);
                    previous = Some((name, at));
                    at
                }
            };
            let at = u32::try_from(at)
                .map_err(|_| ObjectError::Rewrite("string table exceeds 4 GiB".to_string()))?;
            by_name.insert(name, at);
        }
        if data.len() >= old.len() {
            return Ok(None);
        }
        let mut offsets = std::collections::HashMap::new();
        for off in used {
            let new = if off == 0 {
                0
            } else {
                by_name.get(name_at(off)?).copied().ok_or_else(|| {
                    ObjectError::Rewrite(format!("name at {off:#x} was not placed"))
                })?
            };
            offsets.insert(off, new);
        }
        Ok(Some(CompactNames {
            index,
            data,
            offsets,
        }))
    }

    fn encode_symbols(
        &self,
        section_map: &[Option<usize>],
        symbol_count: usize,
        name_of: &dyn Fn(u32) -> u32,
    ) -> Result<Vec<u8>> {
        let endian = self.endian;
        let mut out = Vec::with_capacity(symbol_count * SYM_SIZE);
        for (old, symbol) in self.symbols.iter().enumerate() {
            if old != 0 && symbol.removed {
                continue;
            }
            let shndx = if symbol.shndx == elf::SHN_UNDEF || symbol.shndx >= elf::SHN_LORESERVE {
                symbol.shndx
            } else {
                let new = section_map
                    .get(usize::from(symbol.shndx))
                    .copied()
                    .flatten()
                    .ok_or_else(|| {
                        ObjectError::Rewrite(format!(
                            "symbol #{old} {:?} is defined in removed section #{}",
                            symbol.name, symbol.shndx
                        ))
                    })?;
                new as u16
            };
            out.extend_from_slice(&endian.u32_bytes(name_of(symbol.name_offset)));
            out.push(symbol.info);
            out.push(symbol.other);
            out.extend_from_slice(&endian.u16_bytes(shndx));
            out.extend_from_slice(&endian.u64_bytes(symbol.value));
            out.extend_from_slice(&endian.u64_bytes(symbol.size));
        }
        Ok(out)
    }

    fn remap_group(
        &self,
        section: &SectionSlot<'_>,
        section_map: &[Option<usize>],
    ) -> Result<Vec<u8>> {
        let endian = self.endian;
        let mut words = section.data.chunks_exact(4);
        let mut out = Vec::with_capacity(section.data.len());
        if let Some(flag) = words.next() {
            out.extend_from_slice(flag);
        }
        for word in words.by_ref() {
            let old = endian.read_u32([word[0], word[1], word[2], word[3]]) as usize;
            // A removed member leaves the group; a member that never existed
            // is an error (dropping it would change the section's size).
            match section_map.get(old) {
                Some(Some(new)) => out.extend_from_slice(&endian.u32_bytes(*new as u32)),
                Some(None) => {}
                None => {
                    return Err(ObjectError::Invalid(format!(
                        "group section {:?} lists section #{old}, which does not exist",
                        section.name
                    )))
                }
            }
        }
        if !words.remainder().is_empty() {
            return Err(ObjectError::Invalid(format!(
                "group section {:?} size is not a multiple of 4",
                section.name
            )));
        }
        Ok(out)
    }
}

fn put(out: &mut [u8], at: usize, bytes: &[u8]) {
    out[at..at + bytes.len()].copy_from_slice(bytes);
}

/// Renumbers the ULEB128 symbol indices of a `.llvm_addrsig` section linked
/// to the symbol table, dropping removed symbols. (An unlinked list, as
/// `llvm-strip` leaves it, is copied unchanged.)
fn remap_addrsig(data: &[u8], symbol_map: &[Option<usize>], name: &str) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len());
    let mut pos = 0;
    while pos < data.len() {
        let mut value: u64 = 0;
        let mut shift = 0u32;
        loop {
            let byte = *data.get(pos).ok_or_else(|| {
                ObjectError::Invalid(format!("truncated ULEB128 in {name:?} at offset {pos:#x}"))
            })?;
            pos += 1;
            if shift >= 64 {
                return Err(ObjectError::Invalid(format!(
                    "ULEB128 too long in {name:?} at offset {pos:#x}"
                )));
            }
            value |= u64::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                break;
            }
        }
        // Indices past the table (stale lists) are kept as they are.
        let new = match usize::try_from(value)
            .ok()
            .and_then(|old| symbol_map.get(old))
        {
            Some(mapped) => *mapped,
            None => usize::try_from(value).ok(),
        };
        if let Some(mut new) = new {
            loop {
                let byte = (new & 0x7f) as u8;
                new >>= 7;
                if new == 0 {
                    out.push(byte);
                    break;
                }
                out.push(byte | 0x80);
            }
        }
    }
    Ok(out)
}
