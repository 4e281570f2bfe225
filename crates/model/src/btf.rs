//! [`Btf`]: a whole BTF blob (base or split), indexed by type id, decoded lazily.

use std::sync::{Arc, OnceLock};

use crate::bytes::Bytes;
use crate::error::{Error, Result};
use crate::header::{read_u32, Header};
use crate::strings::{self, StringIndex};
use crate::types::{Type, TypeId};
use crate::Kind;

/// Byte order of a BTF blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endian {
    /// Little-endian (bpfel, x86_64, arm64).
    Little,
    /// Big-endian (bpfeb, s390x).
    Big,
}

impl Endian {
    /// The byte order of the machine running this code.
    pub fn native() -> Endian {
        if cfg!(target_endian = "big") {
            Endian::Big
        } else {
            Endian::Little
        }
    }
}

/// Documented limits applied to hostile input (the crate's LIMITS section
/// and `DESIGN.md` list them all). An input past one is refused with
/// [`Error::Limit`] or [`Error::Cycle`], whose message names the limit.
///
/// Limits that the format itself sets are not configurable: at most 65535
/// members, enumerators or parameters per type (`vlen` is 16 bits), and every
/// count, offset and length fits in 32 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most types in one blob: 2^24 (16,777,216). A kernel has ~130k; the
    /// kernel's own BTF verifier allows 2^20 (`BTF_MAX_TYPE`).
    pub max_types: u32,
    /// Longest chain of typedefs, modifiers and arrays followed when resolving
    /// a type's size, alignment or underlying type: 32 (libbpf's
    /// `MAX_RESOLVE_DEPTH`). Loops (`typedef a a;`) stop here too.
    pub max_resolve_depth: u32,
    /// Largest string section: 2^28 bytes (256 MiB). A kernel has ~2.5 MiB.
    pub max_strings_len: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_types: 1 << 24,
            max_resolve_depth: 32,
            max_strings_len: 1 << 28,
        }
    }
}

/// A BTF blob: the type and string sections of a `.BTF` section or raw BTF file,
/// possibly split on top of a base BTF (a kernel module on vmlinux).
///
/// Type ids run from 1 to [`Btf::last_id`]; ids below [`Btf::start_id`] belong
/// to the base. Decoding is lazy: parsing records where each type starts, and
/// [`Btf::type_by_id`] decodes on demand.
pub struct Btf<'a> {
    pub(crate) endian: Endian,
    pub(crate) header: Header,
    pub(crate) types: Bytes<'a>,
    pub(crate) strings: Bytes<'a>,
    pub(crate) layout: Bytes<'a>,
    /// Byte offset of each own type in `types`.
    pub(crate) offsets: Vec<u32>,
    pub(crate) base: Option<Arc<Btf<'a>>>,
    pub(crate) start_id: u32,
    pub(crate) start_str_off: u32,
    pub(crate) limits: Limits,
    /// name hash → own type ids; built on the first lookup by name.
    pub(crate) name_index: OnceLock<NameIndex>,
    /// Deduplication index of own strings; built on the first added string.
    pub(crate) string_index: Option<StringIndex>,
    /// Whether the blob was modified since parsing (then sections are laid out anew).
    pub(crate) modified: bool,
}

impl std::fmt::Debug for Btf<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Btf")
            .field("endian", &self.endian)
            .field("start_id", &self.start_id)
            .field("types", &self.offsets.len())
            .field("strings_len", &self.strings.len())
            .field("split", &self.base.is_some())
            .finish()
    }
}

/// A fast, non-cryptographic hash of a name's bytes (index keys only; every hit
/// is confirmed by comparing the names).
pub(crate) fn hash_name(name: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ name.len() as u64;
    let mut chunks = name.chunks_exact(8);
    for chunk in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    h
}

/// One named type in the [`NameIndex`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct NameEntry {
    /// The name's hash with its low 5 bits replaced by the raw kind.
    key: u64,
    id: TypeId,
    name_off: u32,
}

const KIND_BITS: u64 = 0x1f;

/// The directory bucket of a hash: its top `bits` bits.
fn bucket_of(hash: u64, bits: u32) -> usize {
    hash.checked_shr(64 - bits).unwrap_or(0) as usize
}

/// Own types by name: sorted by (name hash, kind), then id, with a directory
/// from the hash's top bits to where its entries start, so that a lookup
/// reads one or two cache lines instead of binary-searching them all, and
/// checks kind and name without decoding the type.
#[derive(Debug, Default, Clone)]
pub(crate) struct NameIndex {
    entries: Vec<NameEntry>,
    /// `starts[b]`: index of the first entry whose hash's top `bits` bits are
    /// `>= b`; `2^bits + 1` slots.
    starts: Vec<u32>,
    bits: u32,
}

impl NameIndex {
    /// Builds the index from the entries `each` yields, counted per bucket
    /// as they come (which gives the directory), then placed in their
    /// buckets (a counting sort), then each bucket's few entries sorted.
    fn from_entries(len_hint: usize, each: impl FnOnce(&mut dyn FnMut(NameEntry))) -> Self {
        let bits = Self::bits_for(len_hint);
        let buckets = 1usize << bits;
        let mut starts = vec![0u32; buckets + 1];
        let mut unsorted = Vec::with_capacity(len_hint);
        each(&mut |e| {
            starts[bucket_of(e.key, bits) + 1] += 1;
            unsorted.push(e);
        });
        for b in 1..starts.len() {
            starts[b] += starts[b - 1];
        }
        let empty = NameEntry {
            key: 0,
            id: 0,
            name_off: 0,
        };
        let mut entries = vec![empty; unsorted.len()];
        let mut next = starts[..buckets].to_vec();
        for e in unsorted {
            let slot = &mut next[bucket_of(e.key, bits)];
            entries[*slot as usize] = e;
            *slot += 1;
        }
        for w in starts.windows(2) {
            if w[1] - w[0] > 1 {
                entries[w[0] as usize..w[1] as usize].sort_unstable();
            }
        }
        NameIndex {
            entries,
            starts,
            bits,
        }
    }

    fn entry(hash: u64, raw_kind: u32, id: TypeId, name_off: u32) -> NameEntry {
        NameEntry {
            key: (hash & !KIND_BITS) | (u64::from(raw_kind) & KIND_BITS),
            id,
            name_off,
        }
    }

    /// The directory size for this many entries: about two per bucket, so the
    /// directory is a quarter of the entries' own size.
    fn bits_for(len: usize) -> u32 {
        (usize::BITS - (len / 2).leading_zeros()).min(24)
    }

    fn bucket(&self, hash: u64) -> usize {
        bucket_of(hash, self.bits)
    }

    /// Entries whose name hashes to `hash`, any kind.
    fn matching(&self, hash: u64) -> impl Iterator<Item = &NameEntry> + '_ {
        let b = self.bucket(hash);
        let range = match (self.starts.get(b), self.starts.get(b + 1)) {
            (Some(&lo), Some(&hi)) => lo as usize..hi as usize,
            _ => 0..0,
        };
        let hash = hash & !KIND_BITS;
        self.entries[range]
            .iter()
            .skip_while(move |e| e.key & !KIND_BITS < hash)
            .take_while(move |e| e.key & !KIND_BITS == hash)
    }

    pub(crate) fn insert(&mut self, hash: u64, raw_kind: u32, id: TypeId, name_off: u32) {
        let new = Self::entry(hash, raw_kind, id, name_off);
        let at = self.entries.partition_point(|e| *e < new);
        self.entries.insert(at, new);
        if Self::bits_for(self.entries.len()) > self.bits + 1 {
            // Grown fourfold since the directory was sized: rebuilt for the
            // new size (amortized O(1); the buckets are already sorted).
            let entries = std::mem::take(&mut self.entries);
            *self = Self::from_entries(entries.len(), |push| entries.into_iter().for_each(push));
            return;
        }
        let b = self.bucket(hash);
        for start in self.starts.iter_mut().skip(b + 1) {
            *start += 1;
        }
    }
}

impl<'a> Btf<'a> {
    /// Parses a base BTF blob (raw BTF file or `.BTF` section contents).
    pub fn parse(data: &'a [u8]) -> Result<Btf<'a>> {
        Self::parse_with(data, None, Limits::default())
    }

    /// Parses split BTF (a module's) on top of `base`.
    pub fn parse_split(data: &'a [u8], base: Arc<Btf<'a>>) -> Result<Btf<'a>> {
        Self::parse_with(data, Some(base), Limits::default())
    }

    /// Parses with an optional base and explicit limits.
    pub fn parse_with(
        data: &'a [u8],
        base: Option<Arc<Btf<'a>>>,
        limits: Limits,
    ) -> Result<Btf<'a>> {
        let (endian, header) = Header::parse(data)?;
        if let Some(b) = &base {
            if b.endian != endian {
                return Err(Error::BadHeader(
                    "split BTF and its base differ in byte order".into(),
                ));
            }
        }
        let ranges = SectionRanges::of(&header);
        let at = |r: &std::ops::Range<usize>| Bytes::Borrowed(&data[r.clone()]);
        Self::from_sections(
            endian,
            header,
            at(&ranges.types),
            at(&ranges.strings),
            at(&ranges.layout),
            base,
            limits,
        )
    }

    /// Parses BTF from owned bytes, without copying them.
    pub fn parse_owned(data: Vec<u8>) -> Result<Btf<'static>> {
        let (endian, header) = Header::parse(&data)?;
        let ranges = SectionRanges::of(&header);
        let buf = Arc::new(data);
        let at = |r: &std::ops::Range<usize>| Bytes::Shared(buf.clone(), r.clone());
        Btf::from_sections(
            endian,
            header,
            at(&ranges.types),
            at(&ranges.strings),
            at(&ranges.layout),
            None,
            Limits::default(),
        )
    }

    /// The same base BTF with no borrow of the input (copies borrowed sections).
    pub fn to_static(&self) -> Result<Btf<'static>> {
        if self.base.is_some() {
            return Err(Error::Build(
                "to_static: split BTF keeps a borrowed base; parse the base owned".into(),
            ));
        }
        Ok(Btf {
            endian: self.endian,
            header: self.header.clone(),
            types: self.types.clone().into_static(),
            strings: self.strings.clone().into_static(),
            layout: self.layout.clone().into_static(),
            offsets: self.offsets.clone(),
            base: None,
            start_id: self.start_id,
            start_str_off: self.start_str_off,
            limits: self.limits,
            name_index: OnceLock::new(),
            string_index: self.string_index.clone(),
            modified: self.modified,
        })
    }

    pub(crate) fn from_sections(
        endian: Endian,
        header: Header,
        types: Bytes<'a>,
        strings: Bytes<'a>,
        layout: Bytes<'a>,
        base: Option<Arc<Btf<'a>>>,
        limits: Limits,
    ) -> Result<Btf<'a>> {
        if strings.len() as u64 > limits.max_strings_len as u64 {
            return Err(Error::Limit(format!(
                "string section of {} bytes is larger than {} (max_strings_len)",
                strings.len(),
                limits.max_strings_len
            )));
        }
        strings::check_table(&strings, base.is_none())?;
        let (start_id, start_str_off) = match &base {
            Some(b) => (b.last_id() + 1, b.strings_end()),
            None => (1, 0),
        };
        let offsets = index_types(endian, &types, &layout, start_id, limits)?;
        Ok(Btf {
            endian,
            header,
            types,
            strings,
            layout,
            offsets,
            base,
            start_id,
            start_str_off,
            limits,
            name_index: OnceLock::new(),
            string_index: None,
            modified: false,
        })
    }

    /// An empty little-endian base BTF, to build types into.
    pub fn new() -> Btf<'static> {
        Btf::new_with_endian(Endian::Little)
    }

    /// An empty base BTF of the given byte order.
    pub fn new_with_endian(endian: Endian) -> Btf<'static> {
        Btf {
            endian,
            header: Header::empty(),
            types: Bytes::Owned(Vec::new()),
            strings: Bytes::Owned(vec![0]),
            layout: Bytes::Owned(Vec::new()),
            offsets: Vec::new(),
            base: None,
            start_id: 1,
            start_str_off: 0,
            limits: Limits::default(),
            name_index: OnceLock::new(),
            string_index: None,
            modified: true,
        }
    }

    /// An empty split BTF on top of `base`.
    pub fn new_split(base: Arc<Btf<'a>>) -> Btf<'a> {
        let start_id = base.last_id() + 1;
        let start_str_off = base.strings_end();
        Btf {
            endian: base.endian,
            header: Header::empty(),
            types: Bytes::Owned(Vec::new()),
            strings: Bytes::Owned(Vec::new()),
            layout: Bytes::Owned(Vec::new()),
            offsets: Vec::new(),
            base: Some(base),
            start_id,
            start_str_off,
            limits: Limits::default(),
            name_index: OnceLock::new(),
            string_index: None,
            modified: true,
        }
    }

    /// Byte order.
    pub fn endian(&self) -> Endian {
        self.endian
    }
    /// The header as parsed (or as it will be written, after [`Btf::to_bytes`]).
    pub fn header(&self) -> &Header {
        &self.header
    }
    /// The base of split BTF.
    pub fn base(&self) -> Option<&Arc<Btf<'a>>> {
        self.base.as_ref()
    }
    /// The first id of this blob's own types (1 for base BTF).
    pub fn start_id(&self) -> TypeId {
        self.start_id
    }
    /// The last valid type id (base types included).
    pub fn last_id(&self) -> TypeId {
        self.start_id + self.offsets.len() as u32 - 1
    }
    /// Number of own types (not counting void or base types).
    pub fn own_type_count(&self) -> usize {
        self.offsets.len()
    }
    /// The limits applied.
    pub fn limits(&self) -> Limits {
        self.limits
    }
    /// The raw string section of this blob (not the base's).
    pub fn string_section(&self) -> &[u8] {
        &self.strings
    }
    /// The raw layout section (empty without a 32-byte header).
    pub fn layout_section(&self) -> &[u8] {
        &self.layout
    }
    /// First string offset past this blob's strings (base included).
    pub(crate) fn strings_end(&self) -> u32 {
        self.start_str_off + self.strings.len() as u32
    }

    /// The type with id `id` (0 is void). Base types are found in the base.
    pub fn type_by_id(&self, id: TypeId) -> Result<Type<'_>> {
        if id == 0 {
            return Ok(Type::void());
        }
        if id < self.start_id {
            return match &self.base {
                Some(base) => base.type_by_id(id),
                None => Err(Error::BadTypeId {
                    id,
                    last: self.last_id(),
                }),
            };
        }
        let idx = (id - self.start_id) as usize;
        let Some(&off) = self.offsets.get(idx) else {
            return Err(Error::BadTypeId {
                id,
                last: self.last_id(),
            });
        };
        let end = self
            .offsets
            .get(idx + 1)
            .map_or(self.types.len(), |&e| e as usize);
        let off = off as usize;
        let rec = &self.types[off..end];
        Ok(Type {
            id,
            name_off: read_u32(self.endian, rec, 0),
            info: read_u32(self.endian, rec, 4),
            size_or_type: read_u32(self.endian, rec, 8),
            extra: &rec[12..],
            endian: self.endian,
        })
    }

    /// Every type id, base types first, void excluded.
    pub fn type_ids(&self) -> std::ops::RangeInclusive<TypeId> {
        1..=self.last_id()
    }

    /// This blob's own type ids (split BTF: the module's types only).
    pub fn own_type_ids(&self) -> std::ops::Range<TypeId> {
        self.start_id..self.last_id() + 1
    }

    /// The string at offset `off` (base strings included for split BTF).
    pub fn name(&self, off: u32) -> Result<&str> {
        if off < self.start_str_off {
            return match &self.base {
                Some(base) => base.name(off),
                None => Err(Error::BadStringOffset(off)),
            };
        }
        strings::str_at(&self.strings, off - self.start_str_off, off)
    }

    /// The name of a type ("" when anonymous).
    pub fn type_name(&self, ty: &Type<'_>) -> Result<&str> {
        self.name(ty.name_off())
    }

    /// The raw bytes of the name at `off`, without UTF-8 checks.
    fn raw_name(&self, off: u32) -> Option<&[u8]> {
        if off < self.start_str_off {
            return self.base.as_ref()?.raw_name(off);
        }
        let rest = self.strings.get((off - self.start_str_off) as usize..)?;
        let len = memchr::memchr(0, rest)?;
        Some(&rest[..len])
    }

    fn own_name_index(&self) -> &NameIndex {
        self.name_index.get_or_init(|| {
            NameIndex::from_entries(self.offsets.len(), |push| {
                for (i, &off) in self.offsets.iter().enumerate() {
                    let name_off = read_u32(self.endian, &self.types, off as usize);
                    if name_off == 0 {
                        continue;
                    }
                    if let Some(name) = self.raw_name(name_off) {
                        let info = read_u32(self.endian, &self.types, off as usize + 4);
                        push(NameIndex::entry(
                            hash_name(name),
                            (info >> 24) & 0x1f,
                            self.start_id + i as u32,
                            name_off,
                        ));
                    }
                }
            })
        })
    }

    /// Every type named `name`, in id order (base types first).
    pub fn find_by_name(&self, name: &str) -> Vec<TypeId> {
        let mut out = Vec::new();
        self.collect_named(name.as_bytes(), None, &mut out);
        out
    }

    /// Every type named `name` of kind `kind`, in id order (base types first).
    pub fn find_by_name_kind(&self, name: &str, kind: Kind) -> Vec<TypeId> {
        let mut out = Vec::new();
        self.collect_named(name.as_bytes(), Some(kind), &mut out);
        out
    }

    fn collect_named(&self, name: &[u8], kind: Option<Kind>, out: &mut Vec<TypeId>) {
        if let Some(base) = &self.base {
            base.collect_named(name, kind, out);
        }
        let own = out.len();
        out.extend(
            self.own_name_index()
                .matching(hash_name(name))
                .filter(|e| {
                    kind.is_none_or(|k| Kind::from_raw((e.key & KIND_BITS) as u8) == k)
                        && self.raw_name(e.name_off) == Some(name)
                })
                .map(|e| e.id),
        );
        // Entries of one name are in kind order: back to id order.
        if out.len() - own > 1 {
            out[own..].sort_unstable();
        }
    }

    /// Follows typedef, const, volatile, restrict and type_tag to the type they name.
    pub fn skip_mods_and_typedefs(&self, id: TypeId) -> Result<Type<'_>> {
        self.skip_while(id, |t| t.is_mod_or_typedef())
    }

    /// Follows const, volatile, restrict and type_tag (not typedefs).
    pub fn skip_mods(&self, id: TypeId) -> Result<Type<'_>> {
        self.skip_while(id, |t| {
            matches!(
                t.kind(),
                Kind::Const | Kind::Volatile | Kind::Restrict | Kind::TypeTag
            )
        })
    }

    fn skip_while(&self, id: TypeId, follow: impl Fn(&Type<'_>) -> bool) -> Result<Type<'_>> {
        let mut ty = self.type_by_id(id)?;
        let mut depth = 0;
        while follow(&ty) {
            depth += 1;
            if depth > self.limits.max_resolve_depth {
                return Err(Error::Cycle(id));
            }
            ty = self.type_by_id(ty.size_or_type())?;
        }
        Ok(ty)
    }

    /// The size in bytes of a type, through typedefs, modifiers and arrays
    /// (pointers are 8 bytes).
    pub fn resolve_size(&self, id: TypeId) -> Result<u64> {
        let mut ty = self.type_by_id(id)?;
        let mut multiplier: u64 = 1;
        for _ in 0..=self.limits.max_resolve_depth {
            match ty.kind() {
                Kind::Int
                | Kind::Struct
                | Kind::Union
                | Kind::Enum
                | Kind::Enum64
                | Kind::Datasec
                | Kind::Float => {
                    return multiplier
                        .checked_mul(ty.size_or_type() as u64)
                        .ok_or_else(|| Error::BadType {
                            id,
                            msg: "size overflows 64 bits".into(),
                        })
                }
                Kind::Ptr => {
                    return multiplier.checked_mul(8).ok_or_else(|| Error::BadType {
                        id,
                        msg: "size overflows 64 bits".into(),
                    })
                }
                Kind::Typedef
                | Kind::Volatile
                | Kind::Const
                | Kind::Restrict
                | Kind::TypeTag
                | Kind::Var
                | Kind::DeclTag => ty = self.type_by_id(ty.size_or_type())?,
                Kind::Array => {
                    let arr = ty.array().ok_or_else(|| Error::BadType {
                        id: ty.id(),
                        msg: "truncated array record".into(),
                    })?;
                    multiplier = multiplier.checked_mul(arr.nelems as u64).ok_or_else(|| {
                        Error::BadType {
                            id,
                            msg: "array size overflows 64 bits".into(),
                        }
                    })?;
                    ty = self.type_by_id(arr.elem_type)?;
                }
                other => {
                    return Err(Error::BadType {
                        id: ty.id(),
                        msg: format!("{} has no size", other.name()),
                    })
                }
            }
        }
        Err(Error::Cycle(id))
    }

    /// The alignment in bytes of a type (as a C compiler for BPF would use it).
    pub fn resolve_align(&self, id: TypeId) -> Result<u64> {
        let mut ty = self.type_by_id(id)?;
        for _ in 0..=self.limits.max_resolve_depth {
            match ty.kind() {
                Kind::Int | Kind::Enum | Kind::Enum64 | Kind::Float => {
                    return Ok((ty.size_or_type() as u64).clamp(1, 8))
                }
                Kind::Ptr => return Ok(8),
                Kind::Typedef | Kind::Volatile | Kind::Const | Kind::Restrict | Kind::TypeTag => {
                    ty = self.type_by_id(ty.size_or_type())?
                }
                Kind::Array => {
                    let arr = ty.array().ok_or_else(|| Error::BadType {
                        id: ty.id(),
                        msg: "truncated array record".into(),
                    })?;
                    ty = self.type_by_id(arr.elem_type)?;
                }
                Kind::Struct | Kind::Union => {
                    let mut align = 1;
                    for m in ty.members() {
                        if m.bitfield_size == 0 {
                            align = align.max(self.resolve_align_depth(m.type_id, 1)?);
                        }
                    }
                    return Ok(align);
                }
                other => {
                    return Err(Error::BadType {
                        id: ty.id(),
                        msg: format!("{} has no alignment", other.name()),
                    })
                }
            }
        }
        Err(Error::Cycle(id))
    }

    fn resolve_align_depth(&self, id: TypeId, depth: u32) -> Result<u64> {
        if depth > self.limits.max_resolve_depth {
            return Err(Error::Cycle(id));
        }
        let ty = self.skip_mods_and_typedefs(id)?;
        match ty.kind() {
            Kind::Struct | Kind::Union => {
                let mut align = 1;
                for m in ty.members() {
                    if m.bitfield_size == 0 {
                        align = align.max(self.resolve_align_depth(m.type_id, depth + 1)?);
                    }
                }
                Ok(align)
            }
            Kind::Array => {
                let arr = ty.array().ok_or_else(|| Error::BadType {
                    id: ty.id(),
                    msg: "truncated array record".into(),
                })?;
                self.resolve_align_depth(arr.elem_type, depth + 1)
            }
            _ => self.resolve_align(ty.id()),
        }
    }

    /// Checks every own type deeply: known kinds, names and type ids in range,
    /// no reference loops except through pointers and function prototypes.
    pub fn validate(&self) -> Result<()> {
        let last = self.last_id();
        let check_id = |from: TypeId, id: TypeId| -> Result<()> {
            if id > last {
                Err(Error::BadType {
                    id: from,
                    msg: format!("refers to type id {id}, past the last id {last}"),
                })
            } else {
                Ok(())
            }
        };
        // The own string section is checked for UTF-8 once: a name in it is
        // then valid exactly when it starts on a character boundary (the
        // section ends with a NUL, itself a character), and when the section
        // is all ASCII (kernels) every offset is one, so no string byte is
        // read. Anything else takes the ordinary lookup, which says why.
        let own_strings = std::str::from_utf8(&self.strings)
            .ok()
            .filter(|s| s.as_bytes().last() == Some(&0));
        let ascii = own_strings.is_some_and(|s| s.is_ascii());
        let check_name = |id: TypeId, off: u32, what: &str| -> Result<()> {
            if let (Some(s), Some(rel)) = (own_strings, off.checked_sub(self.start_str_off)) {
                let rel = rel as usize;
                if rel < s.len() && (ascii || s.is_char_boundary(rel)) {
                    return Ok(());
                }
            }
            match self.name(off) {
                Ok(_) => Ok(()),
                Err(e) => Err(Error::BadType {
                    id,
                    msg: format!("{what}{e}"),
                }),
            }
        };
        // Types that hold nothing by value cannot be on a value cycle: marked
        // done for the cycle search up front, which then never decodes them.
        let mut color = vec![WHITE; self.offsets.len()];
        for (id, c) in self.own_type_ids().zip(color.iter_mut()) {
            let ty = self.type_by_id(id)?;
            let kind = ty.kind();
            if matches!(
                kind,
                Kind::Int
                    | Kind::Ptr
                    | Kind::Enum
                    | Kind::Enum64
                    | Kind::Fwd
                    | Kind::FuncProto
                    | Kind::Float
            ) {
                *c = BLACK;
            }
            check_name(id, ty.name_off(), "name: ")?;
            if let Kind::Unknown(raw) = kind {
                return Err(Error::BadType {
                    id,
                    msg: format!("unknown kind {raw}"),
                });
            }
            if kind == Kind::Void {
                return Err(Error::BadType {
                    id,
                    msg: "kind 0 (void) is only valid as type id 0".into(),
                });
            }
            if kind.has_type() {
                check_id(id, ty.size_or_type())?;
            }
            match kind {
                Kind::Array => {
                    if let Some(a) = ty.array() {
                        check_id(id, a.elem_type)?;
                        check_id(id, a.index_type)?;
                    }
                }
                Kind::Struct | Kind::Union => {
                    for m in ty.members() {
                        check_id(id, m.type_id)?;
                        check_name(id, m.name_off, "member name: ")?;
                    }
                }
                Kind::Enum | Kind::Enum64 => {
                    for v in ty.enum_values() {
                        check_name(id, v.name_off, "enumerator name: ")?;
                    }
                }
                Kind::FuncProto => {
                    for p in ty.params() {
                        check_id(id, p.type_id)?;
                        check_name(id, p.name_off, "parameter name: ")?;
                    }
                }
                Kind::Datasec => {
                    for v in ty.datasec_vars() {
                        check_id(id, v.type_id)?;
                    }
                }
                Kind::Int => {
                    let int = ty.int().ok_or_else(|| Error::BadType {
                        id,
                        msg: "truncated int record".into(),
                    })?;
                    if int.bits > 128
                        || int.offset as u64 + int.bits as u64 > ty.size_or_type() as u64 * 8
                    {
                        return Err(Error::BadType {
                            id,
                            msg: format!(
                                "int of {} bytes cannot hold {} bits at bit offset {}",
                                ty.size_or_type(),
                                int.bits,
                                int.offset
                            ),
                        });
                    }
                }
                _ => {}
            }
        }
        self.check_value_cycles(color)
    }

    /// Finds loops that do not pass through a pointer or a function prototype
    /// (a typedef naming itself, a struct containing itself by value).
    /// `color` has one entry per own type: [`WHITE`], or [`BLACK`] for types
    /// without value edges.
    fn check_value_cycles(&self, mut color: Vec<u8>) -> Result<()> {
        let n = self.offsets.len();
        let start = self.start_id;
        let own = |id: TypeId| -> Option<usize> {
            let i = id.checked_sub(start)? as usize;
            (i < n).then_some(i)
        };
        // Iterative DFS; each frame holds its type's remaining value edges
        // (no allocation per type).
        let mut stack: Vec<(TypeId, ValueEdges<'_>)> = Vec::new();
        for root in self.own_type_ids() {
            let Some(ri) = own(root) else { continue };
            if color[ri] != WHITE {
                continue;
            }
            color[ri] = GREY;
            stack.push((root, self.value_edges(root)));
            while let Some((id, edges)) = stack.last_mut() {
                if let Some(child) = edges.next() {
                    if let Some(ci) = own(child) {
                        match color[ci] {
                            WHITE => {
                                color[ci] = GREY;
                                let e = self.value_edges(child);
                                stack.push((child, e));
                            }
                            GREY => return Err(Error::Cycle(child)),
                            _ => {}
                        }
                    }
                } else {
                    if let Some(i) = own(*id) {
                        color[i] = BLACK;
                    }
                    stack.pop();
                }
            }
        }
        Ok(())
    }

    /// The types `id` holds by value (what a value cycle would run through).
    fn value_edges(&self, id: TypeId) -> ValueEdges<'_> {
        let Ok(ty) = self.type_by_id(id) else {
            return ValueEdges::One(None);
        };
        match ty.kind() {
            Kind::Typedef
            | Kind::Const
            | Kind::Volatile
            | Kind::Restrict
            | Kind::TypeTag
            | Kind::DeclTag
            | Kind::Var
            | Kind::Func => ValueEdges::One(Some(ty.size_or_type())),
            Kind::Array => ValueEdges::One(ty.array().map(|a| a.elem_type)),
            Kind::Struct | Kind::Union => ValueEdges::Members(ty.members()),
            Kind::Datasec => ValueEdges::Vars(ty.datasec_vars()),
            _ => ValueEdges::One(None),
        }
    }
}

/// Cycle search: not reached yet.
const WHITE: u8 = 0;
/// Cycle search: on the current path.
const GREY: u8 = 1;
/// Cycle search: done, on no cycle.
const BLACK: u8 = 2;

/// The value edges of one type, in order (see [`Btf::check_value_cycles`]).
enum ValueEdges<'b> {
    One(Option<TypeId>),
    Members(crate::types::Members<'b>),
    Vars(crate::types::VarSecinfos<'b>),
}

impl Iterator for ValueEdges<'_> {
    type Item = TypeId;
    fn next(&mut self) -> Option<TypeId> {
        match self {
            ValueEdges::One(e) => e.take(),
            ValueEdges::Members(m) => m.next().map(|m| m.type_id),
            ValueEdges::Vars(v) => v.next().map(|v| v.type_id),
        }
    }
}

impl Default for Btf<'static> {
    fn default() -> Self {
        Btf::new()
    }
}

/// Record sizes by raw kind: (fixed bytes after the common record, bytes per
/// `vlen` element); `None` for a kind neither this crate nor the layout section knows.
fn record_sizes(endian: Endian, layout: &[u8]) -> [Option<(u32, u32)>; 32] {
    let mut table = [None; 32];
    for (raw, slot) in table.iter_mut().enumerate() {
        *slot = Kind::from_raw(raw as u8)
            .record_layout()
            .or_else(|| layout_entry(endian, layout, raw as u8));
    }
    table
}

/// Walks the type section once, recording where each type starts.
fn index_types(
    endian: Endian,
    types: &[u8],
    layout: &[u8],
    start_id: u32,
    limits: Limits,
) -> Result<Vec<u32>> {
    let sizes = record_sizes(endian, layout);
    let packed = packed_record_sizes(&sizes);
    let max_types = limits.max_types as usize;
    let (offsets, stop) = match endian {
        Endian::Little => scan_records::<false>(types, &packed),
        Endian::Big => scan_records::<true>(types, &packed),
    };
    // As if the scan had stopped at the limit: more records than the limit,
    // or the limit reached with bytes left over.
    if offsets.len() > max_types || (offsets.len() == max_types && stop < types.len()) {
        return Err(Error::Limit(format!(
            "more than {} types (max_types)",
            limits.max_types
        )));
    }
    if stop == types.len() {
        return Ok(offsets);
    }
    // The scan stopped early: say why, at the record where it stopped.
    let off = stop;
    let id = start_id.saturating_add(offsets.len() as u32);
    let Some(common) = types.get(off..off + 12) else {
        return Err(Error::BadType {
            id,
            msg: format!(
                "truncated record: needs 12 bytes at offset {off} of the type section, {} left",
                types.len() - off
            ),
        });
    };
    let info = read_u32(endian, common, 4);
    let raw_kind = ((info >> 24) & 0x1f) as usize;
    let vlen = (info & 0xffff) as usize;
    let Some((fixed, per)) = sizes[raw_kind] else {
        return Err(Error::BadType {
            id,
            msg: format!(
                "unknown kind {raw_kind} at offset {off}, not described by a layout section"
            ),
        });
    };
    let size = 12 + fixed as usize + vlen * per as usize;
    Err(Error::BadType {
        id,
        msg: format!(
            "truncated record: {} with vlen {vlen} needs {size} bytes at offset {off} of the type section, {} left",
            Kind::from_raw(raw_kind as u8).name(),
            types.len() - off
        ),
    })
}

/// [`record_sizes`] packed for the scan, indexed by the top byte of a
/// record's `info` word (kind and kflag, so no mask on the hot path): the
/// whole fixed part (12 + fixed) in the low 16 bits, the per-element size in
/// the high 16; 0 for an unknown kind (a known kind's entry is at least 12).
fn packed_record_sizes(sizes: &[Option<(u32, u32)>; 32]) -> [u32; 256] {
    let mut packed = [0u32; 256];
    for (top, slot) in packed.iter_mut().enumerate() {
        if let Some((fixed, per)) = sizes[top & 0x1f] {
            // Layout-section sizes are single bytes, this crate's are small.
            *slot = ((12 + fixed) & 0xffff) | (per & 0xffff) << 16;
        }
    }
    packed
}

/// Section length from which [`scan_records`] runs a second, speculative
/// chain (below it, one chain is fast enough). Fuzzing builds use it on
/// small inputs too, so that fuzzers reach it.
const TWO_CHAINS_FROM: usize = if cfg!(fuzzing) { 64 } else { 64 * 1024 };

/// How often the speculative chain restarts 4 bytes further on when it breaks
/// at once (it started inside a record).
const SPECULATIVE_RESTARTS: usize = 64;

/// The hot loop of [`index_types`]: the offset of every whole, known record
/// from the start, and where that stopped (the section's length when every
/// record was whole).
///
/// Each record's offset depends on the one before (its kind and `vlen` give
/// its size), so one chain is as slow as that dependency. For a large
/// section, a second chain runs interleaved with the first from a guess in
/// the middle; the first stops where it lands on an offset the second
/// found, and takes the rest of the second's offsets. That is exact, because
/// the step from an offset depends on nothing else. When the chains never
/// meet (the guess started inside a record and never fell into step), the
/// first chain goes on alone: slower, never different.
#[inline(never)]
fn scan_records<const BIG: bool>(types: &[u8], packed: &[u32; 256]) -> (Vec<u32>, usize) {
    let len = types.len();
    // The offset after the record at `off`, if it is whole and of a known kind.
    let next = |off: usize| -> Option<usize> {
        if len - off < 12 {
            return None;
        }
        let b = &types[off + 4..off + 8];
        let bytes = [b[0], b[1], b[2], b[3]];
        let info = if BIG {
            u32::from_be_bytes(bytes)
        } else {
            u32::from_le_bytes(bytes)
        };
        let entry = packed[(info >> 24) as usize];
        let size = (entry & 0xffff) as usize + (info & 0xffff) as usize * (entry >> 16) as usize;
        (entry != 0 && size <= len - off).then_some(off + size)
    };
    // One chain from `off` to its end. Offsets fit u32: the section's length
    // is a u32 of the header.
    let run = |offsets: &mut Vec<u32>, mut off: usize| -> usize {
        while off < len {
            let Some(after) = next(off) else { break };
            offsets.push(off as u32);
            off = after;
        }
        off
    };
    // A type record is at least 12 bytes: this bounds the allocation by the input.
    let mut offsets = Vec::with_capacity(len / 24);
    if len < TWO_CHAINS_FROM {
        let stop = run(&mut offsets, 0);
        return (offsets, stop);
    }
    let middle = (len / 2) & !3;
    let (mut guess, mut restarts) = (Vec::with_capacity(len / 48), 0);
    let (mut off, mut off_guess, mut guess_alive) = (0usize, middle, true);
    // Both chains, until the first reaches the middle.
    while off < middle {
        let Some(after) = next(off) else {
            return (offsets, off);
        };
        offsets.push(off as u32);
        off = after;
        if guess_alive && off_guess < len {
            match next(off_guess) {
                Some(after) => {
                    guess.push(off_guess as u32);
                    off_guess = after;
                }
                None if guess.len() < 8 && restarts < SPECULATIVE_RESTARTS => {
                    // Started inside a record: try 4 bytes further on.
                    restarts += 1;
                    guess.clear();
                    off_guess = middle + 4 * restarts;
                }
                None => guess_alive = false,
            }
        }
    }
    // The first chain walks on until it lands on an offset the guess found.
    let mut at = guess.partition_point(|&g| (g as usize) < off);
    while at < guess.len() {
        if guess[at] as usize == off {
            offsets.extend_from_slice(&guess[at..]);
            let stop = run(&mut offsets, off_guess);
            return (offsets, stop);
        }
        let Some(after) = next(off) else {
            return (offsets, off);
        };
        offsets.push(off as u32);
        off = after;
        while at < guess.len() && (guess[at] as usize) < off {
            at += 1;
        }
    }
    let stop = run(&mut offsets, off);
    (offsets, stop)
}

/// The (fixed, per-element) record sizes the layout section gives a kind.
fn layout_entry(endian: Endian, layout: &[u8], kind: u8) -> Option<(u32, u32)> {
    let at = kind as usize * 4;
    let entry = layout.get(at..at + 4)?;
    let _flags = crate::header::read_u16(endian, entry, 2);
    Some((entry[0] as u32, entry[1] as u32))
}

/// Byte ranges of the sections inside the whole input (header included).
struct SectionRanges {
    types: std::ops::Range<usize>,
    strings: std::ops::Range<usize>,
    layout: std::ops::Range<usize>,
}

impl SectionRanges {
    /// Ranges of a header that [`Header::parse`] accepted (so they are in bounds).
    fn of(header: &Header) -> SectionRanges {
        let base = header.hdr_len as usize;
        let range = |off: u32, len: u32| base + off as usize..base + off as usize + len as usize;
        let layout = if header.hdr_len >= crate::header::HEADER_LEN_LAYOUT {
            range(header.layout_off, header.layout_len)
        } else {
            base..base
        };
        SectionRanges {
            types: range(header.type_off, header.type_len),
            strings: range(header.str_off, header.str_len),
            layout,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    /// The one-chain scan that [`scan_records`] must always agree with.
    fn reference_scan(types: &[u8], packed: &[u32; 256]) -> (Vec<u32>, usize) {
        let mut offsets = Vec::new();
        let mut off = 0;
        while off < types.len() && types.len() - off >= 12 {
            let b = &types[off + 4..off + 8];
            let info = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            let entry = packed[(info >> 24) as usize];
            let size =
                (entry & 0xffff) as usize + (info & 0xffff) as usize * (entry >> 16) as usize;
            if entry == 0 || size > types.len() - off {
                break;
            }
            offsets.push(off as u32);
            off += size;
        }
        (offsets, off)
    }

    /// xorshift64: deterministic corruption positions.
    fn rng(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn two_chain_scan_equals_one_chain_on_real_and_corrupted_types() {
        let kernel = std::fs::read("/sys/kernel/btf/vmlinux")
            .expect("the running kernel's BTF (/sys/kernel/btf/vmlinux) is this test's input");
        let (_, header) = Header::parse(&kernel).unwrap();
        let ranges = SectionRanges::of(&header);
        let types = &kernel[ranges.types];
        let packed = packed_record_sizes(&record_sizes(Endian::Little, &[]));
        let whole = reference_scan(types, &packed);
        assert_eq!(whole.1, types.len());
        assert_eq!(scan_records::<false>(types, &packed), whole);
        let mut state = 0x9e37_79b9_7f4a_7c15;
        for round in 0..300 {
            let mut bad = types.to_vec();
            // Corrupt 1 to 3 words anywhere (info words or not), or cut the end.
            for _ in 0..1 + round % 3 {
                let at = (rng(&mut state) as usize % (bad.len() / 4)) * 4;
                let word = rng(&mut state) as u32;
                bad[at..at + 4].copy_from_slice(&word.to_le_bytes());
            }
            if round % 5 == 0 {
                bad.truncate(rng(&mut state) as usize % bad.len());
            }
            assert_eq!(
                scan_records::<false>(&bad, &packed),
                reference_scan(&bad, &packed),
                "round {round}"
            );
        }
        // Every cut of a small prefix region and around the middle.
        for cut in (TWO_CHAINS_FROM - 64..TWO_CHAINS_FROM + 64)
            .chain(types.len() / 2 - 64..types.len() / 2 + 64)
        {
            let bad = &types[..cut];
            assert_eq!(
                scan_records::<false>(bad, &packed),
                reference_scan(bad, &packed),
                "cut {cut}"
            );
        }
    }
}
