//! Reading a BPF ELF object: sections, programs and their functions, data
//! sections, the symbol table and relocations.
//!
//! Everything borrows from the input bytes; names are `Cow<str>` that borrow
//! whenever the bytes are valid UTF-8. The input is treated as hostile: every
//! table, offset and index is bounds-checked and an error names the part of
//! the file that is wrong.

use std::borrow::Cow;

use object::elf;
use object::read::elf::{FileHeader, Rel, Rela, SectionHeader, Sym};
use object::read::StringTable;
use object::Endianness;

use crate::detect::EI_CLASS;
use crate::error::{Context, ObjectError, Result};
use crate::insn::{Endian, Insn, INSN_SIZE};

/// The ELF64 file header type used for parsing.
pub(crate) type Header64 = elf::FileHeader64<Endianness>;

/// `e_machine` of BPF objects.
pub const EM_BPF: u16 = 247;

/// One section of the object, with its raw header fields.
#[derive(Debug, Clone)]
pub struct Section<'data> {
    /// Index in the section header table.
    pub index: usize,
    /// Section name.
    pub name: Cow<'data, str>,
    /// `sh_name`: offset of the name in the section name string table.
    pub name_offset: u32,
    /// `sh_type` (`SHT_*`).
    pub sh_type: u32,
    /// `sh_flags` (`SHF_*`).
    pub flags: u64,
    /// `sh_addr`.
    pub addr: u64,
    /// `sh_offset`: file offset of the contents.
    pub offset: u64,
    /// `sh_size`: size in bytes (also for `SHT_NOBITS`, which has no file bytes).
    pub size: u64,
    /// `sh_link`.
    pub link: u32,
    /// `sh_info`.
    pub info: u32,
    /// `sh_addralign`.
    pub addralign: u64,
    /// `sh_entsize`.
    pub entsize: u64,
    /// File contents (empty for `SHT_NOBITS` and the null section).
    pub data: &'data [u8],
}

impl Section<'_> {
    /// True if the section occupies memory at run time (`SHF_ALLOC`).
    pub fn is_alloc(&self) -> bool {
        self.flags & u64::from(elf::SHF_ALLOC) != 0
    }

    /// True if the section holds instructions (`SHF_EXECINSTR`).
    pub fn is_executable(&self) -> bool {
        self.flags & u64::from(elf::SHF_EXECINSTR) != 0
    }

    /// True if the section is writable (`SHF_WRITE`).
    pub fn is_writable(&self) -> bool {
        self.flags & u64::from(elf::SHF_WRITE) != 0
    }

    /// True for `SHT_NOBITS` (e.g. `.bss`).
    pub fn is_nobits(&self) -> bool {
        self.sh_type == elf::SHT_NOBITS
    }

    /// True for `SHT_REL` and `SHT_RELA`.
    pub fn is_relocation(&self) -> bool {
        self.sh_type == elf::SHT_REL || self.sh_type == elf::SHT_RELA
    }
}

/// Kinds of allocated data sections, named the way libbpf classifies them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataSectionKind {
    /// `.data` and `.data.*`.
    Data,
    /// `.rodata` and `.rodata.*`.
    Rodata,
    /// `.bss` and `.bss.*`.
    Bss,
    /// `.maps` (BTF-defined maps) or the legacy `maps`.
    Maps,
    /// `license`.
    License,
    /// `version`.
    Version,
    /// Any other allocated, non-executable section.
    Other,
}

impl DataSectionKind {
    /// Classifies a section by name (and `SHT_NOBITS`).
    pub fn classify(name: &str, nobits: bool) -> Self {
        let family = |prefix: &str| name == prefix || name.starts_with(&format!("{prefix}."));
        if family(".bss") || (nobits && family(".data")) {
            DataSectionKind::Bss
        } else if family(".data") {
            DataSectionKind::Data
        } else if family(".rodata") {
            DataSectionKind::Rodata
        } else if name == ".maps" || name == "maps" {
            DataSectionKind::Maps
        } else if name == "license" {
            DataSectionKind::License
        } else if name == "version" {
            DataSectionKind::Version
        } else {
            DataSectionKind::Other
        }
    }
}

/// An allocated, non-executable section (`.data`, `.rodata`, `.bss`, `.maps`, ...).
#[derive(Debug, Clone)]
pub struct DataSection<'data> {
    /// Index of the section.
    pub section_index: usize,
    /// Section name.
    pub name: Cow<'data, str>,
    /// Classification by name.
    pub kind: DataSectionKind,
    /// Size in bytes (for `.bss` this is larger than `data`).
    pub size: u64,
    /// File contents (empty for `SHT_NOBITS`).
    pub data: &'data [u8],
}

/// Symbol binding (`STB_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SymbolBinding {
    /// `STB_LOCAL`.
    Local,
    /// `STB_GLOBAL`.
    Global,
    /// `STB_WEAK`.
    Weak,
    /// Any other value.
    Other(u8),
}

impl SymbolBinding {
    fn from_raw(bind: u8) -> Self {
        match bind {
            elf::STB_LOCAL => SymbolBinding::Local,
            elf::STB_GLOBAL => SymbolBinding::Global,
            elf::STB_WEAK => SymbolBinding::Weak,
            other => SymbolBinding::Other(other),
        }
    }
}

/// Symbol type (`STT_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SymbolKind {
    /// `STT_NOTYPE`.
    NoType,
    /// `STT_OBJECT`.
    Object,
    /// `STT_FUNC`.
    Func,
    /// `STT_SECTION`.
    Section,
    /// `STT_FILE`.
    File,
    /// Any other value.
    Other(u8),
}

impl SymbolKind {
    fn from_raw(kind: u8) -> Self {
        match kind {
            elf::STT_NOTYPE => SymbolKind::NoType,
            elf::STT_OBJECT => SymbolKind::Object,
            elf::STT_FUNC => SymbolKind::Func,
            elf::STT_SECTION => SymbolKind::Section,
            elf::STT_FILE => SymbolKind::File,
            other => SymbolKind::Other(other),
        }
    }
}

/// One entry of the symbol table, with its raw fields.
#[derive(Debug, Clone)]
pub struct Symbol<'data> {
    /// Index in the symbol table (0 is the null symbol).
    pub index: usize,
    /// Symbol name (for section symbols, usually empty in the table: see
    /// [`BpfObject::symbol_display_name`]).
    pub name: Cow<'data, str>,
    /// `st_name`.
    pub name_offset: u32,
    /// `st_info` (binding << 4 | type).
    pub info: u8,
    /// `st_other` (visibility).
    pub other: u8,
    /// `st_shndx` as stored (`SHN_UNDEF`, `SHN_ABS`, `SHN_COMMON`, `SHN_XINDEX` or an index).
    pub shndx: u16,
    /// The section the symbol is defined in, if any.
    pub section_index: Option<usize>,
    /// `st_value` (offset in the section for relocatable objects).
    pub value: u64,
    /// `st_size`.
    pub size: u64,
    /// Binding.
    pub binding: SymbolBinding,
    /// Type.
    pub kind: SymbolKind,
}

impl Symbol<'_> {
    /// True for a named symbol with `SHN_UNDEF` (an extern; e.g. a btfkit query marker).
    pub fn is_undefined(&self) -> bool {
        self.index != 0 && self.shndx == elf::SHN_UNDEF
    }

    /// True for `SHN_ABS`.
    pub fn is_absolute(&self) -> bool {
        self.shndx == elf::SHN_ABS
    }
}

/// One relocation entry.
#[derive(Debug, Clone)]
pub struct Relocation<'data> {
    /// `r_offset`: byte offset in the target section.
    pub offset: u64,
    /// Symbol table index of the referenced symbol (0 for none).
    pub symbol_index: usize,
    /// Name of the referenced symbol (the section name for section symbols).
    pub symbol_name: Cow<'data, str>,
    /// Relocation type (`R_BPF_*`).
    pub r_type: u32,
    /// Explicit addend (`SHT_RELA`); 0 for `SHT_REL`, whose addend lives in the target bytes.
    pub addend: i64,
}

/// A `SHT_REL` or `SHT_RELA` section with its decoded entries.
#[derive(Debug, Clone)]
pub struct RelocationSection<'data> {
    /// Index of the relocation section itself.
    pub index: usize,
    /// Name of the relocation section (e.g. `.rel.text`).
    pub name: Cow<'data, str>,
    /// Index of the section the relocations apply to (`sh_info`).
    pub target_section: usize,
    /// True for `SHT_RELA`.
    pub is_rela: bool,
    /// The entries, in file order.
    pub relocations: Vec<Relocation<'data>>,
}

/// A function symbol inside an executable section: a program or a subprogram.
#[derive(Debug, Clone)]
pub struct Function<'data> {
    /// Symbol table index.
    pub symbol_index: usize,
    /// Symbol name (libbpf names programs by this).
    pub name: Cow<'data, str>,
    /// Byte offset in the section.
    pub offset: u64,
    /// Size in bytes as recorded in the symbol (may be 0).
    pub size: u64,
    /// Byte offset where the function ends: `offset + size`, or for a
    /// size-0 symbol the start of the next function (or the section end).
    pub end: u64,
    /// Binding: global functions in non-`.text` sections are entry points.
    pub binding: SymbolBinding,
}

impl Function<'_> {
    /// Number of instructions in the function.
    pub fn insn_count(&self) -> usize {
        usize::try_from((self.end - self.offset) / INSN_SIZE as u64).unwrap_or(usize::MAX)
    }
}

/// An executable section and the functions defined in it.
#[derive(Debug, Clone)]
pub struct ProgramSection<'data> {
    /// Section index.
    pub section_index: usize,
    /// Section name (e.g. `raw_tp/sys_enter`, `.text`).
    pub name: Cow<'data, str>,
    /// Instruction bytes of the whole section.
    pub insns: &'data [u8],
    /// `STT_FUNC` symbols of the section, sorted by offset.
    pub functions: Vec<Function<'data>>,
}

impl<'data> ProgramSection<'data> {
    /// Number of instructions in the section.
    pub fn insn_count(&self) -> usize {
        self.insns.len() / INSN_SIZE
    }

    /// Raw bytes of instruction `index` of the section.
    pub fn insn_bytes(&self, index: usize) -> Option<[u8; INSN_SIZE]> {
        let start = index.checked_mul(INSN_SIZE)?;
        let bytes = self.insns.get(start..start.checked_add(INSN_SIZE)?)?;
        bytes.try_into().ok()
    }

    /// The function containing byte offset `offset` of the section.
    pub fn function_at(&self, offset: u64) -> Option<&Function<'data>> {
        self.functions
            .iter()
            .find(|f| f.offset <= offset && offset < f.end)
    }

    /// The function named `name`.
    pub fn function(&self, name: &str) -> Option<&Function<'data>> {
        self.functions.iter().find(|f| f.name == name)
    }

    /// Instruction bytes of one function of this section.
    pub fn function_bytes(&self, function: &Function<'_>) -> &'data [u8] {
        let start = usize::try_from(function.offset).unwrap_or(usize::MAX);
        let end = usize::try_from(function.end).unwrap_or(usize::MAX);
        self.insns.get(start..end).unwrap_or(&[])
    }
}

/// Where an instruction is, named the way libbpf's log names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsnLocation<'a> {
    /// Index of the executable section.
    pub section_index: usize,
    /// Name of the executable section.
    pub section_name: &'a str,
    /// Name of the function (program or subprogram) containing the instruction.
    pub function: &'a str,
    /// Symbol table index of that function.
    pub function_symbol: usize,
    /// Instruction index relative to the start of the function (libbpf's `insn #N`).
    pub insn_index: usize,
    /// Instruction index relative to the start of the section.
    pub section_insn_index: usize,
}

/// A parsed BPF ELF object (ELF64, `e_machine == EM_BPF`, either endianness).
#[derive(Debug, Clone)]
pub struct BpfObject<'data> {
    data: &'data [u8],
    endian: Endian,
    e_type: u16,
    shstrndx: usize,
    sections: Vec<Section<'data>>,
    symtab_index: Option<usize>,
    first_global_symbol: usize,
    symbols: Vec<Symbol<'data>>,
    relocation_sections: Vec<RelocationSection<'data>>,
    programs: Vec<ProgramSection<'data>>,
}

fn lossy(bytes: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

/// Checks the magic and class and returns the parsed ELF64 header and endianness.
pub(crate) fn parse_header64(data: &[u8]) -> Result<(&Header64, Endianness)> {
    if !crate::is_elf(data) {
        return Err(ObjectError::NotElf);
    }
    let class = data.get(EI_CLASS).copied().unwrap_or(0);
    if class != elf::ELFCLASS64 {
        return Err(ObjectError::UnsupportedClass { class });
    }
    let header = Header64::parse(data).context(|| "ELF header".to_string())?;
    let endian = header
        .endian()
        .context(|| "ELF header byte order".to_string())?;
    Ok((header, endian))
}

impl<'data> BpfObject<'data> {
    /// Parses a BPF ELF object.
    pub fn parse(data: &'data [u8]) -> Result<Self> {
        let (header, endian) = parse_header64(data)?;
        let machine = header.e_machine(endian);
        if machine != EM_BPF {
            return Err(ObjectError::NotBpf { machine });
        }
        if header.e_phnum(endian) != 0 {
            return Err(ObjectError::Unsupported(
                "program headers in a BPF object".to_string(),
            ));
        }
        let table = header
            .sections(endian, data)
            .context(|| "section header table".to_string())?;
        let shstrndx = header
            .shstrndx(endian, data)
            .context(|| "section name string table index".to_string())?;
        let shstrndx = usize::try_from(shstrndx).unwrap_or(usize::MAX);

        let mut sections = Vec::with_capacity(table.len());
        for (index, sh) in table.enumerate() {
            let index = index.0;
            let name = if index == 0 {
                &[][..]
            } else {
                table
                    .section_name(endian, sh)
                    .context(|| format!("name of section #{index}"))?
            };
            let sh_type = sh.sh_type(endian);
            let file_data = if index == 0 || sh_type == elf::SHT_NOBITS {
                &[][..]
            } else {
                sh.data(endian, data)
                    .context(|| format!("contents of section #{index} {:?}", lossy(name)))?
            };
            sections.push(Section {
                index,
                name: lossy(name),
                name_offset: sh.sh_name(endian),
                sh_type,
                flags: sh.sh_flags(endian),
                addr: sh.sh_addr(endian),
                offset: sh.sh_offset(endian),
                size: sh.sh_size(endian),
                link: sh.sh_link(endian),
                info: sh.sh_info(endian),
                addralign: sh.sh_addralign(endian),
                entsize: sh.sh_entsize(endian),
                data: file_data,
            });
        }

        let symtab_sections: Vec<usize> = sections
            .iter()
            .filter(|s| s.sh_type == elf::SHT_SYMTAB)
            .map(|s| s.index)
            .collect();
        if symtab_sections.len() > 1 {
            return Err(ObjectError::Invalid(format!(
                "{} symbol tables (sections {symtab_sections:?}); expected one",
                symtab_sections.len()
            )));
        }
        let symtab_index = symtab_sections.first().copied();
        let mut symbols = Vec::new();
        let mut first_global_symbol = 0;
        if let Some(symtab_index) = symtab_index {
            let symtab = table
                .symbols(endian, data, elf::SHT_SYMTAB)
                .context(|| format!("symbol table (section #{symtab_index})"))?;
            first_global_symbol = sections[symtab_index].info as usize;
            let strings: StringTable<'data> = symtab.strings();
            symbols.reserve(symtab.len());
            for (index, sym) in symtab.enumerate() {
                let index = index.0;
                let name = if index == 0 {
                    &[][..]
                } else {
                    sym.name(endian, strings)
                        .context(|| format!("name of symbol #{index}"))?
                };
                let name = lossy(name);
                let section = symtab
                    .symbol_section(endian, sym, object::SymbolIndex(index))
                    .context(|| format!("section index of symbol #{index} {name:?}"))?
                    .map(|s| s.0);
                if let Some(section) = section {
                    if section >= sections.len() {
                        return Err(ObjectError::Invalid(format!(
                            "symbol #{index} {name:?} refers to section #{section}, \
                             but there are {} sections",
                            sections.len()
                        )));
                    }
                }
                symbols.push(Symbol {
                    index,
                    name,
                    name_offset: sym.st_name(endian),
                    info: sym.st_info(),
                    other: sym.st_other(),
                    shndx: sym.st_shndx(endian),
                    section_index: section,
                    value: sym.st_value(endian),
                    size: sym.st_size(endian),
                    binding: SymbolBinding::from_raw(sym.st_bind()),
                    kind: SymbolKind::from_raw(sym.st_type()),
                });
            }
        }

        let mut object = BpfObject {
            data,
            endian: if endian == Endianness::Little {
                Endian::Little
            } else {
                Endian::Big
            },
            e_type: header.e_type(endian),
            shstrndx,
            sections,
            symtab_index,
            first_global_symbol,
            symbols,
            relocation_sections: Vec::new(),
            programs: Vec::new(),
        };
        object.relocation_sections = object.parse_relocations(&table, endian)?;
        object.programs = object.collect_programs()?;
        Ok(object)
    }

    fn parse_relocations(
        &self,
        table: &object::read::elf::SectionTable<'data, Header64>,
        endian: Endianness,
    ) -> Result<Vec<RelocationSection<'data>>> {
        let mut result = Vec::new();
        for (index, sh) in table.enumerate() {
            let index = index.0;
            let section = &self.sections[index];
            if !section.is_relocation() {
                continue;
            }
            let name = &section.name;
            let target_section = section.info as usize;
            if target_section == 0 || target_section >= self.sections.len() {
                return Err(ObjectError::Invalid(format!(
                    "relocation section #{index} {name:?} targets section #{target_section}, \
                     which does not exist"
                )));
            }
            if Some(section.link as usize) != self.symtab_index {
                return Err(ObjectError::Invalid(format!(
                    "relocation section #{index} {name:?} links to section #{}, \
                     which is not the symbol table",
                    section.link
                )));
            }
            let target_size = self.sections[target_section].size;
            let is_rela = section.sh_type == elf::SHT_RELA;
            let raw: Vec<(u64, u32, u32, i64)> = if is_rela {
                let (entries, _) = sh
                    .rela(endian, self.data)
                    .context(|| format!("entries of relocation section #{index} {name:?}"))?
                    .unwrap_or((&[], object::SectionIndex(0)));
                entries
                    .iter()
                    .map(|r| {
                        (
                            r.r_offset(endian),
                            r.r_sym(endian, false),
                            r.r_type(endian, false),
                            r.r_addend(endian),
                        )
                    })
                    .collect()
            } else {
                let (entries, _) = sh
                    .rel(endian, self.data)
                    .context(|| format!("entries of relocation section #{index} {name:?}"))?
                    .unwrap_or((&[], object::SectionIndex(0)));
                entries
                    .iter()
                    .map(|r| (r.r_offset(endian), r.r_sym(endian), r.r_type(endian), 0))
                    .collect()
            };
            let mut relocations = Vec::with_capacity(raw.len());
            for (entry, (offset, sym, r_type, addend)) in raw.into_iter().enumerate() {
                let symbol_index = sym as usize;
                let Some(symbol) = self.symbols.get(symbol_index) else {
                    return Err(ObjectError::Invalid(format!(
                        "relocation #{entry} of {name:?} (offset {offset:#x}) refers to \
                         symbol #{symbol_index}, but there are {} symbols",
                        self.symbols.len()
                    )));
                };
                if offset >= target_size && !self.sections[target_section].is_nobits() {
                    return Err(ObjectError::Invalid(format!(
                        "relocation #{entry} of {name:?} has offset {offset:#x}, beyond the \
                         {target_size:#x} bytes of section {:?}",
                        self.sections[target_section].name
                    )));
                }
                relocations.push(Relocation {
                    offset,
                    symbol_index,
                    symbol_name: self.symbol_display_name_of(symbol),
                    r_type,
                    addend,
                });
            }
            result.push(RelocationSection {
                index,
                name: name.clone(),
                target_section,
                is_rela,
                relocations,
            });
        }
        Ok(result)
    }

    fn collect_programs(&self) -> Result<Vec<ProgramSection<'data>>> {
        let mut programs = Vec::new();
        for section in &self.sections {
            if section.sh_type != elf::SHT_PROGBITS || !section.is_executable() {
                continue;
            }
            if section.data.len() % INSN_SIZE != 0 {
                return Err(ObjectError::Invalid(format!(
                    "executable section #{} {:?} has {} bytes, not a multiple of {INSN_SIZE}",
                    section.index,
                    section.name,
                    section.data.len()
                )));
            }
            let section_size = section.data.len() as u64;
            let mut functions: Vec<Function<'data>> = self
                .symbols
                .iter()
                .filter(|s| s.kind == SymbolKind::Func && s.section_index == Some(section.index))
                .map(|s| Function {
                    symbol_index: s.index,
                    name: s.name.clone(),
                    offset: s.value,
                    size: s.size,
                    end: 0,
                    binding: s.binding,
                })
                .collect();
            functions.sort_by_key(|f| (f.offset, f.symbol_index));
            let starts: Vec<u64> = functions.iter().map(|f| f.offset).collect();
            for (i, function) in functions.iter_mut().enumerate() {
                let bad = |what: &str| {
                    ObjectError::Invalid(format!(
                        "function {:?} (symbol #{}) in section {:?}: {what} \
                         (offset {:#x}, size {:#x}, section size {section_size:#x})",
                        function.name,
                        function.symbol_index,
                        section.name,
                        function.offset,
                        function.size
                    ))
                };
                if function.offset % INSN_SIZE as u64 != 0 {
                    return Err(bad("offset is not a multiple of the instruction size"));
                }
                let end = if function.size == 0 {
                    starts
                        .iter()
                        .skip(i + 1)
                        .copied()
                        .find(|&s| s > function.offset)
                        .unwrap_or(section_size)
                } else {
                    function
                        .offset
                        .checked_add(function.size)
                        .ok_or_else(|| bad("offset + size overflows"))?
                };
                if end > section_size || function.offset > section_size {
                    return Err(bad("extends past the end of the section"));
                }
                function.end = end;
            }
            programs.push(ProgramSection {
                section_index: section.index,
                name: section.name.clone(),
                insns: section.data,
                functions,
            });
        }
        Ok(programs)
    }

    /// The bytes the object was parsed from.
    pub fn data(&self) -> &'data [u8] {
        self.data
    }

    /// Byte order of the object.
    pub fn endian(&self) -> Endian {
        self.endian
    }

    /// `e_type` (1 = `ET_REL` for compiled BPF objects).
    pub fn e_type(&self) -> u16 {
        self.e_type
    }

    /// Index of the section name string table.
    pub fn shstrndx(&self) -> usize {
        self.shstrndx
    }

    /// All sections, including the null section at index 0.
    pub fn sections(&self) -> &[Section<'data>] {
        &self.sections
    }

    /// The section at `index`.
    pub fn section(&self, index: usize) -> Option<&Section<'data>> {
        self.sections.get(index)
    }

    /// The first section named `name`.
    pub fn section_by_name(&self, name: &str) -> Option<&Section<'data>> {
        self.sections.iter().skip(1).find(|s| s.name == name)
    }

    /// Contents of the `.BTF` section, if present.
    pub fn btf(&self) -> Option<&'data [u8]> {
        self.section_by_name(".BTF").map(|s| s.data)
    }

    /// Contents of the `.BTF.ext` section, if present.
    pub fn btf_ext(&self) -> Option<&'data [u8]> {
        self.section_by_name(".BTF.ext").map(|s| s.data)
    }

    /// Executable sections with their functions, in section order.
    pub fn programs(&self) -> &[ProgramSection<'data>] {
        &self.programs
    }

    /// The executable section with index `section_index`.
    pub fn program_section(&self, section_index: usize) -> Option<&ProgramSection<'data>> {
        self.programs
            .iter()
            .find(|p| p.section_index == section_index)
    }

    /// The executable section named `name` (`.BTF.ext` records name sections).
    pub fn program_section_by_name(&self, name: &str) -> Option<&ProgramSection<'data>> {
        self.programs.iter().find(|p| p.name == name)
    }

    /// Entry points as libbpf sees them: the functions of executable sections
    /// other than `.text` (whose functions are subprograms).
    pub fn entry_points(&self) -> impl Iterator<Item = (&ProgramSection<'data>, &Function<'data>)> {
        self.programs
            .iter()
            .filter(|p| p.name != ".text")
            .flat_map(|p| p.functions.iter().map(move |f| (p, f)))
    }

    /// The function (program or subprogram) named `name` and its section.
    pub fn function(&self, name: &str) -> Option<(&ProgramSection<'data>, &Function<'data>)> {
        self.programs
            .iter()
            .find_map(|p| p.function(name).map(|f| (p, f)))
    }

    /// Instruction `index` of function `name`, counted from the function's start.
    pub fn function_insn(&self, name: &str, index: usize) -> Result<Insn> {
        let (section, function) = self
            .function(name)
            .ok_or_else(|| ObjectError::Invalid(format!("no function named {name:?}")))?;
        if index >= function.insn_count() {
            return Err(ObjectError::Invalid(format!(
                "function {name:?} has {} instructions; there is no instruction #{index}",
                function.insn_count()
            )));
        }
        let section_index = (function.offset as usize / INSN_SIZE) + index;
        let bytes = section.insn_bytes(section_index).ok_or_else(|| {
            ObjectError::Invalid(format!("instruction #{index} of {name:?} is out of bounds"))
        })?;
        Ok(Insn::decode(bytes, self.endian))
    }

    /// Names the instruction at byte `offset` of executable section
    /// `section_index` as libbpf does: function name and index within it.
    pub fn locate_insn(&self, section_index: usize, offset: u64) -> Result<InsnLocation<'_>> {
        let section = self.program_section(section_index).ok_or_else(|| {
            ObjectError::Invalid(format!(
                "section #{section_index} is not an executable section"
            ))
        })?;
        if offset % INSN_SIZE as u64 != 0 || offset >= section.insns.len() as u64 {
            return Err(ObjectError::Invalid(format!(
                "offset {offset:#x} is not an instruction of section {:?} ({} bytes)",
                section.name,
                section.insns.len()
            )));
        }
        let function = section.function_at(offset).ok_or_else(|| {
            ObjectError::Invalid(format!(
                "offset {offset:#x} of section {:?} is not inside any function symbol",
                section.name
            ))
        })?;
        Ok(InsnLocation {
            section_index,
            section_name: &section.name,
            function: &function.name,
            function_symbol: function.symbol_index,
            insn_index: ((offset - function.offset) / INSN_SIZE as u64) as usize,
            section_insn_index: (offset / INSN_SIZE as u64) as usize,
        })
    }

    /// Allocated, non-executable sections (`.data`, `.rodata`, `.bss`, `.maps`, `license`, ...).
    pub fn data_sections(&self) -> Vec<DataSection<'data>> {
        self.sections
            .iter()
            .filter(|s| {
                s.is_alloc()
                    && !s.is_executable()
                    && (s.sh_type == elf::SHT_PROGBITS || s.sh_type == elf::SHT_NOBITS)
            })
            .map(|s| DataSection {
                section_index: s.index,
                name: s.name.clone(),
                kind: DataSectionKind::classify(&s.name, s.is_nobits()),
                size: s.size,
                data: s.data,
            })
            .collect()
    }

    /// Index of the symbol table section, if any.
    pub fn symtab_index(&self) -> Option<usize> {
        self.symtab_index
    }

    /// Index of the first non-local symbol (`sh_info` of the symbol table).
    pub fn first_global_symbol(&self) -> usize {
        self.first_global_symbol
    }

    /// All symbols, including the null symbol at index 0.
    pub fn symbols(&self) -> &[Symbol<'data>] {
        &self.symbols
    }

    /// The symbol at `index`.
    pub fn symbol(&self, index: usize) -> Option<&Symbol<'data>> {
        self.symbols.get(index)
    }

    /// The first symbol named `name`.
    pub fn symbol_by_name(&self, name: &str) -> Option<&Symbol<'data>> {
        self.symbols.iter().skip(1).find(|s| s.name == name)
    }

    /// The name to show for a symbol: its own name, or its section's name for
    /// an unnamed section symbol (as `llvm-readelf` shows relocations).
    pub fn symbol_display_name(&self, symbol: &Symbol<'data>) -> Cow<'data, str> {
        self.symbol_display_name_of(symbol)
    }

    fn symbol_display_name_of(&self, symbol: &Symbol<'data>) -> Cow<'data, str> {
        if symbol.name.is_empty() && symbol.kind == SymbolKind::Section {
            if let Some(section) = symbol.section_index.and_then(|i| self.sections.get(i)) {
                return section.name.clone();
            }
        }
        symbol.name.clone()
    }

    /// All relocation sections, in section order.
    pub fn relocation_sections(&self) -> &[RelocationSection<'data>] {
        &self.relocation_sections
    }

    /// Relocations that apply to section `target_section` (from every
    /// relocation section targeting it).
    pub fn relocations_for(
        &self,
        target_section: usize,
    ) -> impl Iterator<Item = &Relocation<'data>> + '_ {
        self.relocation_sections
            .iter()
            .filter(move |r| r.target_section == target_section)
            .flat_map(|r| r.relocations.iter())
    }

    /// The relocation at byte `offset` of section `target_section`, if any.
    pub fn relocation_at(&self, target_section: usize, offset: u64) -> Option<&Relocation<'data>> {
        self.relocations_for(target_section)
            .find(|r| r.offset == offset)
    }
}
