//! BTF as compilable C declarations, like `bpftool btf dump file F format c`
//! (a `vmlinux.h`): every struct, union, enum and typedef, ordered so each is
//! declared before use, with padding and `packed` where the BTF layout needs
//! them, so the compiled layout equals the BTF's.
//!
//! The text goes straight into one output buffer: declarators are written
//! from a small stack of steps (no string per declarator), names come from
//! the string section as borrowed slices with their `___N` suffix as a number,
//! and the per-type state lives in one table of small slots.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{self, Write};

use super::decimal::{push_i64, push_u64};
use crate::{Btf, Kind, Type, TypeId};

/// How far a type must be declared before a use.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Need {
    /// The name must be known (a pointer to it, a function parameter).
    Declared,
    /// The type must be complete (a member or array element by value).
    Complete,
}

/// Emission state of a named type.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
enum State {
    /// Not emitted.
    #[default]
    None,
    /// A forward declaration was emitted.
    Forward,
    /// Being emitted (its dependencies are being resolved).
    Visiting,
    /// Fully emitted.
    Done,
}

/// Most C text a dump may produce per byte of BTF (plus a fixed allowance):
/// real kernels need about 1; hostile BTF that shares anonymous types between
/// members could otherwise expand exponentially.
const MAX_TEXT_PER_INPUT_BYTE: usize = 64;

/// Output is handed to the writer in chunks of about this size.
const CHUNK: usize = 1 << 16;

/// Writes every type of `btf` as C declarations. Fails on BTF whose C text
/// would exceed [`MAX_TEXT_PER_INPUT_BYTE`] times its size.
pub fn write_all(btf: &Btf<'_>, out: &mut impl Write) -> io::Result<()> {
    let mut d = CDump::new(btf);
    let input = btf.string_section().len() + btf.own_type_count() * 16;
    d.budget = input
        .saturating_mul(MAX_TEXT_PER_INPUT_BYTE)
        .saturating_add(1 << 20);
    d.out.push_str(
        "#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n\n\
         #ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n\
         #pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n\
         #endif\n\n",
    );
    for id in btf.type_ids() {
        d.emit_top(id, Need::Complete, 0);
        if d.written + d.out.len() > d.budget {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "the BTF expands into more than {} bytes of C (anonymous types shared or nested too deeply)",
                    d.budget
                ),
            ));
        }
        if d.out.len() > CHUNK {
            d.written += d.out.len();
            out.write_all(d.out.as_bytes())?;
            d.out.clear();
        }
    }
    d.out.push_str(
        "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n\n\
         #endif /* __VMLINUX_H__ */\n",
    );
    out.write_all(d.out.as_bytes())
}

/// Deepest recursion through type references (hostile input stops here).
const MAX_DEPTH: u32 = 256;

/// What this dump knows about one type id (4 bytes: the table is walked at
/// random, so its size is cache misses and page faults).
#[derive(Clone, Copy, Default)]
struct Slot {
    state: State,
    /// (type, need) walks whose declarations are all emitted already: bit 0
    /// for `Need::Declared`, bit 1 for `Need::Complete`.
    refs_done: u8,
    /// Alignment as this dump lays it out; 0 until computed.
    align: u8,
    /// `PACKED_*`, `RENAMED`, `ENUMERATORS_RENAMED`.
    flags: u8,
}

/// `Slot::flags`: whether the layout needs `packed` is known, and its answer.
const PACKED_KNOWN: u8 = 1;
const PACKED: u8 = 2;
/// The type's name takes a `___N` suffix (in `CDump::suffix`).
const RENAMED: u8 = 4;
/// Some enumerator of this enum takes a `___N` suffix.
const ENUMERATORS_RENAMED: u8 = 8;

/// One step of a declarator, from the name outwards.
#[derive(Clone, Copy)]
enum Step {
    /// A pointer: `*` before the name, or `(*` and `)` around it (a pointer
    /// to an array or function).
    Ptr { wrap: bool },
    /// A qualifier after a `*` (`*const p`), or `restrict`: before the name,
    /// with a space unless it ends the declarator.
    InnerQual { q: &'static str, space: bool },
    /// A qualifier before the base type (`const int *p`).
    OuterQual(&'static str),
    /// `[n]` after the name.
    Array(u32),
    /// A parameter list after the name: the func_proto and the depth it was
    /// reached at.
    Func { id: TypeId, depth: u32 },
}

/// A `Hasher` for names (short byte strings): multiply-rotate over 8-byte
/// words, then a final mix so the low bits, which pick the bucket, depend on
/// every input byte.
#[derive(Default)]
struct NameHasher(u64);

impl Hasher for NameHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut h = self.0;
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(chunk);
            h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            h = (h.rotate_left(5) ^ u64::from_le_bytes(w) ^ (rest.len() as u64) << 59)
                .wrapping_mul(0x517c_c1b7_2722_0a95);
        }
        self.0 = h;
    }
    fn write_u8(&mut self, i: u8) {
        self.0 = (self.0.rotate_left(5) ^ i as u64).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    fn write_u32(&mut self, i: u32) {
        self.0 = (self.0.rotate_left(5) ^ i as u64).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    fn write_usize(&mut self, i: usize) {
        self.0 = (self.0.rotate_left(5) ^ i as u64).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    fn finish(&self) -> u64 {
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^ (h >> 33)
    }
}

type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<NameHasher>>;

struct CDump<'b, 'a> {
    btf: &'b Btf<'a>,
    /// This blob's own string section, when it is valid UTF-8 as a whole
    /// (then every name in it is, and needs no check of its own).
    own_strings: Option<&'b str>,
    out: String,
    slots: Vec<Slot>,
    /// `N` of each type renamed `NAME___N` (a repeated name), by id.
    suffix: FastMap<TypeId, u32>,
    /// `N` of each enumerator renamed `NAME___N`, by (enum id, index).
    enumerator_suffix: FastMap<(TypeId, u32), u32>,
    /// Declarator steps of the declarators being written (nested ones, for
    /// parameters and inline bodies, above their parent's).
    steps: Vec<Step>,
    /// How many types are `State::Visiting` right now.
    visiting: usize,
    /// Counts the stretches during which some type is `Visiting` (each starts
    /// when `visiting` leaves 0).
    visit_epoch: u32,
    /// Per type: `(epoch << 2) | need bits` of the (type, need) walks
    /// finished in that stretch. Within one stretch a finished walk is never
    /// redone (states only advance, so it would emit nothing new); without
    /// this, hostile prototypes listing themselves among their parameters
    /// made the walk exponential in its depth.
    walked_in_epoch: Vec<u32>,
    /// Anonymous types being inlined right now (a repeat is a cycle).
    inlining: Vec<TypeId>,
    /// Bytes of C produced so far (written out, plus each inline body as it
    /// is built), and the most allowed.
    written: usize,
    budget: usize,
    /// Length of `out` when the top-level declaration being written began
    /// (what the budget counts of it while it is still being written).
    decl_start: usize,
}

fn is_named_aggregate(t: &Type<'_>) -> bool {
    matches!(
        t.kind(),
        Kind::Struct | Kind::Union | Kind::Enum | Kind::Enum64
    ) && t.name_off() != 0
}

fn push_tabs(out: &mut String, n: usize) {
    for _ in 0..n {
        out.push('\t');
    }
}

impl<'b, 'a> CDump<'b, 'a> {
    fn new(btf: &'b Btf<'a>) -> Self {
        let n = btf.last_id() as usize + 1;
        let mut d = CDump {
            btf,
            own_strings: std::str::from_utf8(btf.string_section()).ok(),
            out: String::with_capacity(2 * CHUNK),
            slots: vec![Slot::default(); n],
            suffix: FastMap::default(),
            enumerator_suffix: FastMap::default(),
            steps: Vec::new(),
            visiting: 0,
            visit_epoch: 0,
            walked_in_epoch: vec![0; n],
            inlining: Vec::new(),
            written: 0,
            budget: usize::MAX,
            decl_start: 0,
        };
        d.assign_names();
        d
    }

    /// The name at `off`, "" when it is missing or not UTF-8.
    fn name(&self, off: u32) -> &'b str {
        let btf: &'b Btf<'a> = self.btf;
        if let (Some(s), Some(start)) = (self.own_strings, off.checked_sub(btf.start_str_off)) {
            let start = start as usize;
            let Some(rest) = s.as_bytes().get(start..) else {
                return "";
            };
            return match memchr::memchr(0, rest) {
                // A NUL is a character of its own, so the name is valid UTF-8
                // exactly when it starts on a character boundary.
                Some(len) => s.get(start..start + len).unwrap_or(""),
                None => "",
            };
        }
        btf.name(off).unwrap_or("")
    }

    fn slot(&self, id: TypeId) -> Slot {
        self.slots.get(id as usize).copied().unwrap_or(Slot {
            state: State::Done,
            ..Slot::default()
        })
    }

    fn slot_mut(&mut self, id: TypeId) -> Option<&mut Slot> {
        self.slots.get_mut(id as usize)
    }

    /// Gives duplicate names a `___N` suffix, as libbpf's btf_dump does.
    /// Struct, union and enum tags share one namespace, typedefs and
    /// enumerators another. A FWD keeps its plain name: the first of a name
    /// takes `___1`, which is no suffix, and later ones find it taken by the
    /// definition or the first FWD.
    fn assign_names(&mut self) {
        // Sized for kernels (about 1 tag per 10 types, 1 typedef or
        // enumerator per 6), so the tables rarely grow.
        let n = self.btf.own_type_count();
        let mut tags: FastMap<&'b str, u32> =
            FastMap::with_capacity_and_hasher(n / 8, Default::default());
        let mut idents: FastMap<&'b str, u32> =
            FastMap::with_capacity_and_hasher(n / 5, Default::default());
        let suffixed = |map: &mut FastMap<&'b str, u32>, name: &'b str| -> u32 {
            let n = map.entry(name).or_insert(0);
            *n += 1;
            if *n == 1 {
                0
            } else {
                *n
            }
        };
        let btf: &'b Btf<'a> = self.btf;
        for id in btf.type_ids() {
            let Ok(t) = btf.type_by_id(id) else {
                continue;
            };
            let suffix = match t.kind() {
                Kind::Struct | Kind::Union | Kind::Enum | Kind::Enum64 if t.name_off() != 0 => {
                    let name = self.name(t.name_off());
                    if name.is_empty() {
                        0
                    } else {
                        suffixed(&mut tags, name)
                    }
                }
                Kind::Typedef => suffixed(&mut idents, self.name(t.name_off())),
                _ => 0,
            };
            let mut flags = 0;
            if suffix != 0 {
                self.suffix.insert(id, suffix);
                flags |= RENAMED;
            }
            if matches!(t.kind(), Kind::Enum | Kind::Enum64) {
                for (i, v) in t.enum_values().enumerate() {
                    let n = suffixed(&mut idents, self.name(v.name_off));
                    if n != 0 {
                        self.enumerator_suffix.insert((id, i as u32), n);
                        flags |= ENUMERATORS_RENAMED;
                    }
                }
            }
            if let Some(slot) = self.slot_mut(id) {
                slot.flags |= flags;
            }
        }
    }

    /// Writes the name of type `t` as this dump spells it (with its suffix).
    fn push_type_name(&mut self, t: &Type<'_>) {
        let name = self.name(t.name_off());
        self.out.push_str(name);
        let n = self.suffix_of(t.id());
        self.push_suffix(n);
    }

    /// `N` of the `___N` suffix of type `id`'s name, 0 for none.
    fn suffix_of(&self, id: TypeId) -> u32 {
        if self.slot(id).flags & RENAMED == 0 {
            return 0;
        }
        self.suffix.get(&id).copied().unwrap_or(0)
    }

    fn push_suffix(&mut self, n: u32) {
        if n != 0 {
            self.out.push_str("___");
            push_u64(&mut self.out, n as u64);
        }
    }

    fn state(&self, id: TypeId) -> State {
        self.slot(id).state
    }

    fn set_state(&mut self, id: TypeId, s: State) {
        if let Some(slot) = self.slots.get_mut(id as usize) {
            match (slot.state == State::Visiting, s == State::Visiting) {
                (false, true) => {
                    if self.visiting == 0 {
                        self.visit_epoch = self.visit_epoch.wrapping_add(1) & (u32::MAX >> 2);
                    }
                    self.visiting += 1
                }
                (true, false) => self.visiting -= 1,
                _ => {}
            }
            slot.state = s;
        }
    }

    /// Makes sure `id` is declared (or complete) at top level before its use.
    fn emit_top(&mut self, id: TypeId, need: Need, depth: u32) {
        if depth > MAX_DEPTH || id == 0 {
            return;
        }
        let btf: &'b Btf<'a> = self.btf;
        let Ok(t) = btf.type_by_id(id) else {
            return;
        };
        match t.kind() {
            Kind::Struct | Kind::Union => {
                if t.name_off() == 0 {
                    // Anonymous: emitted inline where used; its members' needs
                    // come first, once (hostile BTF may share or nest it).
                    if self.state(id) == State::None {
                        self.set_state(id, State::Visiting);
                        self.emit_member_deps(&t, depth);
                        self.set_state(id, State::Done);
                    }
                    return;
                }
                match (self.state(id), need) {
                    (State::Done, _) | (State::Forward, Need::Declared) => {}
                    // Needed again while its own members are being resolved:
                    // a pointer cycle, so a forward declaration is enough.
                    (State::Visiting, _) => self.emit_forward(&t),
                    (State::None, Need::Declared) => self.emit_forward(&t),
                    (State::None | State::Forward, Need::Complete) => {
                        self.set_state(id, State::Visiting);
                        self.emit_member_deps(&t, depth);
                        self.decl_start = self.out.len();
                        self.composite_body(&t, 0, 0);
                        self.out.push_str(";\n\n");
                        self.set_state(id, State::Done);
                    }
                }
            }
            Kind::Enum | Kind::Enum64 if t.name_off() != 0 && self.state(id) == State::None => {
                self.set_state(id, State::Done);
                if t.vlen() == 0 {
                    // A declaration without enumerators (clang accepts it).
                    self.out.push_str("enum ");
                    self.push_type_name(&t);
                } else {
                    self.enum_body(&t, 0);
                }
                self.out.push_str(";\n\n");
            }
            Kind::Fwd if self.state(id) == State::None => {
                self.set_state(id, State::Done);
                self.out
                    .push_str(if t.kflag() { "union " } else { "struct " });
                self.push_type_name(&t);
                self.out.push_str(";\n\n");
            }
            Kind::Typedef => {
                if self.state(id) != State::None {
                    return;
                }
                let name = self.name(t.name_off());
                if name == "__builtin_va_list" {
                    // The compiler's own typedef; redefining it is an error.
                    self.set_state(id, State::Done);
                    return;
                }
                self.set_state(id, State::Visiting);
                // A typedef needs its target declared; arrays and by-value
                // anonymous aggregates need more, which `emit_ref` works out.
                self.emit_ref(t.size_or_type(), Need::Declared, depth + 1);
                self.decl_start = self.out.len();
                self.out.push_str("typedef ");
                let suffix = self.suffix_of(id);
                if suffix == 0 {
                    self.decl(t.size_or_type(), name, 0, depth);
                } else {
                    let named = format!("{name}___{suffix}");
                    self.decl(t.size_or_type(), &named, 0, depth);
                }
                self.out.push_str(";\n\n");
                self.set_state(id, State::Done);
            }
            Kind::Ptr
            | Kind::Const
            | Kind::Volatile
            | Kind::Restrict
            | Kind::TypeTag
            | Kind::Array
            | Kind::FuncProto => self.emit_ref_of(id, Some(t), need, depth + 1),
            _ => {}
        }
    }

    /// The declarations a reference to `id` needs, `need` deep.
    fn emit_ref(&mut self, id: TypeId, need: Need, depth: u32) {
        self.emit_ref_of(id, None, need, depth)
    }

    /// [`Self::emit_ref`], with the type record when the caller has it.
    fn emit_ref_of(&mut self, id: TypeId, known: Option<Type<'b>>, need: Need, depth: u32) {
        if depth > MAX_DEPTH || id == 0 {
            return;
        }
        let bit = if need == Need::Complete { 2 } else { 1 };
        if self
            .slots
            .get(id as usize)
            .is_some_and(|s| s.refs_done & bit != 0)
        {
            return;
        }
        let epoch = self.visit_epoch;
        if self.visiting > 0
            && self
                .walked_in_epoch
                .get(id as usize)
                .is_some_and(|&w| w >> 2 == epoch && w & u32::from(bit) != 0)
        {
            return;
        }
        let btf: &'b Btf<'a> = self.btf;
        if let Some(t) = known.or_else(|| btf.type_by_id(id).ok()) {
            self.emit_ref_uncached(&t, need, depth);
        }
        // Only a finished walk counts: a type still being visited may gain
        // declarations later.
        if self.visiting == 0 {
            if let Some(s) = self.slot_mut(id) {
                s.refs_done |= bit;
            }
        } else if let Some(w) = self.walked_in_epoch.get_mut(id as usize) {
            if *w >> 2 != epoch {
                *w = epoch << 2;
            }
            *w |= u32::from(bit);
        }
    }

    fn emit_ref_uncached(&mut self, t: &Type<'b>, need: Need, depth: u32) {
        match t.kind() {
            Kind::Ptr => {
                // Through a pointer, names need only be declared.
                self.emit_ref(t.size_or_type(), Need::Declared, depth + 1)
            }
            Kind::Const | Kind::Volatile | Kind::Restrict | Kind::TypeTag => {
                self.emit_ref(t.size_or_type(), need, depth + 1)
            }
            Kind::Array => {
                if let Some(a) = t.array() {
                    self.emit_ref(a.elem_type, Need::Complete, depth + 1)
                }
            }
            Kind::FuncProto => {
                self.emit_ref(t.size_or_type(), Need::Declared, depth + 1);
                for p in t.params() {
                    self.emit_ref(p.type_id, Need::Declared, depth + 1);
                }
            }
            Kind::Typedef => {
                self.emit_top(t.id(), need, depth + 1);
                if need == Need::Complete {
                    self.emit_ref(t.size_or_type(), Need::Complete, depth + 1);
                }
            }
            Kind::Struct | Kind::Union | Kind::Enum | Kind::Enum64 | Kind::Fwd => {
                self.emit_top(t.id(), need, depth + 1)
            }
            _ => {}
        }
    }

    fn emit_member_deps(&mut self, t: &Type<'b>, depth: u32) {
        for m in t.members() {
            self.emit_ref(m.type_id, Need::Complete, depth + 1);
        }
    }

    fn emit_forward(&mut self, t: &Type<'_>) {
        self.out.push_str(if t.kind() == Kind::Union {
            "union "
        } else {
            "struct "
        });
        self.push_type_name(t);
        self.out.push_str(";\n\n");
        if self.state(t.id()) == State::None {
            self.set_state(t.id(), State::Forward);
        }
    }

    /// `enum name { enumerators }`, the closing brace `indent` tabs in.
    fn enum_body(&mut self, t: &Type<'b>, indent: usize) {
        self.out.push_str("enum");
        if t.name_off() != 0 {
            self.out.push(' ');
            self.push_type_name(t);
        }
        self.out.push_str(" {\n");
        let signed = t.kflag();
        let is64 = t.kind() == Kind::Enum64;
        let renamed = self.slot(t.id()).flags & ENUMERATORS_RENAMED != 0;
        for (i, v) in t.enum_values().enumerate() {
            push_tabs(&mut self.out, indent + 1);
            self.out.push_str(self.name(v.name_off));
            if renamed {
                let n = self
                    .enumerator_suffix
                    .get(&(t.id(), i as u32))
                    .copied()
                    .unwrap_or(0);
                self.push_suffix(n);
            }
            self.out.push_str(" = ");
            match (is64, signed) {
                (false, true) => push_i64(&mut self.out, v.value as i32 as i64),
                (false, false) => {
                    push_u64(&mut self.out, v.value as u32 as u64);
                    self.out.push('U');
                }
                (true, true) => {
                    push_i64(&mut self.out, v.value as i64);
                    self.out.push_str("LL");
                }
                (true, false) => {
                    push_u64(&mut self.out, v.value);
                    self.out.push_str("ULL");
                }
            }
            self.out.push_str(",\n");
        }
        push_tabs(&mut self.out, indent);
        self.out.push('}');
        if t.size_or_type() != 4 && !is64 {
            // Non-int-sized 32-bit enums keep their size.
            self.out.push_str(" __attribute__((mode(");
            self.out.push_str(match t.size_or_type() {
                1 => "byte",
                2 => "__HI__",
                8 => "word",
                _ => "__SI__",
            });
            self.out.push_str(")))");
        }
    }

    /// Alignment as laid out by this dump (packed structs align to 1).
    fn align_of(&mut self, id: TypeId, depth: u32) -> u64 {
        if depth > MAX_DEPTH {
            return 1;
        }
        if let Some(s) = self.slots.get(id as usize) {
            if s.align != 0 {
                return s.align as u64;
            }
        }
        let btf: &'b Btf<'a> = self.btf;
        let Ok(t) = btf.type_by_id(id) else {
            return 1;
        };
        let a = match t.kind() {
            Kind::Int | Kind::Float | Kind::Enum | Kind::Enum64 => {
                (t.size_or_type() as u64).clamp(1, 8)
            }
            Kind::Ptr => 8,
            Kind::Typedef | Kind::Const | Kind::Volatile | Kind::Restrict | Kind::TypeTag => {
                self.align_of(t.size_or_type(), depth + 1)
            }
            Kind::Array => t
                .array()
                .map_or(1, |a| self.align_of(a.elem_type, depth + 1)),
            Kind::Struct | Kind::Union => {
                if self.is_packed(&t, depth + 1) {
                    1
                } else {
                    self.natural_align(&t, depth + 1)
                }
            }
            _ => 1,
        };
        if let Some(s) = self.slot_mut(id) {
            s.align = a as u8;
        }
        a
    }

    fn natural_align(&mut self, t: &Type<'b>, depth: u32) -> u64 {
        let mut a = 1;
        for m in t.members() {
            a = a.max(self.align_of(m.type_id, depth + 1));
        }
        a
    }

    /// Whether the BTF layout needs `__attribute__((packed))`.
    fn is_packed(&mut self, t: &Type<'b>, depth: u32) -> bool {
        if let Some(s) = self.slots.get(t.id() as usize) {
            if s.flags & PACKED_KNOWN != 0 {
                return s.flags & PACKED != 0;
            }
        }
        let align = self.natural_align(t, depth);
        let mut packed = t.size_or_type() as u64 % align != 0;
        for m in t.members() {
            if m.bitfield_size == 0
                && m.bit_offset as u64 % (self.align_of(m.type_id, depth + 1) * 8) != 0
            {
                packed = true;
            }
        }
        if let Some(s) = self.slot_mut(t.id()) {
            s.flags |= PACKED_KNOWN | if packed { PACKED } else { 0 };
        }
        packed
    }

    fn size_of(&self, id: TypeId) -> u64 {
        self.btf.resolve_size(id).unwrap_or(0)
    }

    /// The size in bits, saturated: hostile arrays reach 2^64 bytes.
    fn size_bits(&self, id: TypeId) -> u64 {
        self.size_of(id).saturating_mul(8)
    }

    /// `struct name { members }` with padding so offsets match the BTF, the
    /// closing brace `indent` tabs in.
    fn composite_body(&mut self, t: &Type<'b>, indent: usize, depth: u32) {
        let is_union = t.kind() == Kind::Union;
        self.out.push_str(if is_union { "union" } else { "struct" });
        if t.name_off() != 0 {
            self.out.push(' ');
            self.push_type_name(t);
        }
        self.out.push_str(" {\n");
        let packed = self.is_packed(t, depth);
        let btf: &'b Btf<'a> = self.btf;
        let mut pos: u64 = 0; // bit position reached in a struct
        for m in t.members() {
            // One long name shared by every member: stop before the text
            // outgrows the budget (write_all then fails).
            if self.written + self.out.len() > self.budget {
                break;
            }
            let name = self.name(m.name_off);
            let mbits = m.bitfield_size as u64;
            let off = m.bit_offset as u64;
            if !is_union {
                let natural = if mbits > 0 {
                    let unit = self.size_bits(m.type_id);
                    if packed || unit == 0 || pos / unit == (pos.saturating_add(mbits) - 1) / unit {
                        pos
                    } else {
                        pos.div_ceil(unit).saturating_mul(unit)
                    }
                } else {
                    let a = if packed {
                        8
                    } else {
                        self.align_of(m.type_id, depth + 1) * 8
                    };
                    pos.div_ceil(a).saturating_mul(a)
                };
                if off > natural {
                    self.padding(indent + 1, pos, off);
                }
            }
            let ms_anon = name.is_empty()
                && mbits == 0
                && btf
                    .skip_mods(m.type_id)
                    .map(|t| !(t.is_composite() && t.name_off() == 0))
                    .unwrap_or(false);
            if ms_anon {
                // An anonymous member of a named type (`-fms-extensions`, as
                // newer kernels use): anonymous where the compiler accepts it,
                // else named so the layout still holds.
                self.out.push_str("#ifdef BTFKIT_MS_EXTENSIONS\n");
                push_tabs(&mut self.out, indent + 1);
                self.decl(m.type_id, name, indent + 1, depth + 1);
                self.out.push_str(";\n#else\n");
                push_tabs(&mut self.out, indent + 1);
                let named = format!("__anon_member_{}", m.bit_offset);
                self.decl(m.type_id, &named, indent + 1, depth + 1);
                self.out.push_str(";\n#endif\n");
            } else {
                push_tabs(&mut self.out, indent + 1);
                self.decl(m.type_id, name, indent + 1, depth + 1);
                if mbits > 0 {
                    self.out.push_str(": ");
                    push_u64(&mut self.out, mbits);
                }
                self.out.push_str(";\n");
            }
            if !is_union {
                pos = off.saturating_add(if mbits > 0 {
                    mbits
                } else {
                    self.size_bits(m.type_id)
                });
            }
        }
        let size_bits = t.size_or_type() as u64 * 8;
        if !is_union {
            let align = if packed {
                8
            } else {
                self.natural_align(t, depth) * 8
            };
            if pos.div_ceil(align).saturating_mul(align) < size_bits {
                self.padding(indent + 1, pos, size_bits);
            }
        } else {
            let biggest = t
                .members()
                .map(|m| self.size_bits(m.type_id))
                .max()
                .unwrap_or(0);
            let align = self.natural_align(t, depth) * 8;
            if biggest.div_ceil(align).saturating_mul(align) < size_bits {
                push_tabs(&mut self.out, indent + 1);
                self.out.push_str("char __btfkit_union_pad[");
                push_u64(&mut self.out, t.size_or_type() as u64);
                self.out.push_str("];\n");
            }
        }
        push_tabs(&mut self.out, indent);
        self.out.push('}');
        if packed {
            self.out.push_str(" __attribute__((packed))");
        }
    }

    /// Padding from bit `from` to bit `to`, `tabs` in: unnamed bitfields
    /// (they take no BTF member), or one byte array for a gap so large
    /// (hostile sizes) that bitfields would take millions of lines.
    fn padding(&mut self, tabs: usize, mut from: u64, to: u64) {
        const BITFIELD_PAD_LIMIT: u64 = 8 * 8192;
        while from < to {
            let gap = to - from;
            push_tabs(&mut self.out, tabs);
            if gap > BITFIELD_PAD_LIMIT && from % 8 == 0 {
                self.out.push_str("char __btfkit_pad_");
                push_u64(&mut self.out, from / 8);
                self.out.push('[');
                push_u64(&mut self.out, gap / 8);
                self.out.push_str("];\n");
                from += gap / 8 * 8;
                continue;
            }
            let (ty, chunk) = [(64u64, "long"), (32, "int"), (16, "short"), (8, "char")]
                .iter()
                .find(|(w, _)| from % w == 0 && *w <= gap)
                .map(|(w, n)| (*n, *w))
                .unwrap_or(("char", gap.min(8 - from % 8)));
            self.out.push_str(ty);
            self.out.push_str(": ");
            push_u64(&mut self.out, chunk);
            self.out.push_str(";\n");
            from += chunk;
        }
    }

    /// Writes a C declarator: the type of `id` applied to `name` (empty for
    /// an abstract declarator, as in a parameter list).
    ///
    /// The type chain is walked once from `id` to its base type (a name, an
    /// inline body or `void`), recording each pointer, qualifier, array and
    /// parameter list as a step; then come the qualifiers that precede the
    /// base, the base, and the declarator proper: prefixes (`*`, `(*`,
    /// `const `) innermost last, the name, suffixes (`)`, `[n]`, `(params)`)
    /// innermost first.
    fn decl(&mut self, id: TypeId, name: &str, indent: usize, depth: u32) {
        let btf: &'b Btf<'a> = self.btf;
        let first = self.steps.len();
        let mut name = name;
        let (mut has_prefix, mut has_suffix) = (false, false);
        let mut cur = id;
        let mut d = depth;
        let base = loop {
            if d > MAX_DEPTH {
                break None;
            }
            let Ok(t) = btf.type_by_id(cur) else {
                break None;
            };
            match t.kind() {
                Kind::Ptr => {
                    let target = t.size_or_type();
                    let wrap = btf
                        .skip_mods(target)
                        .map(|tt| matches!(tt.kind(), Kind::Array | Kind::FuncProto))
                        .unwrap_or(false);
                    self.steps.push(Step::Ptr { wrap });
                    has_prefix = true;
                    has_suffix |= wrap;
                    cur = target;
                }
                Kind::Const | Kind::Volatile | Kind::Restrict => {
                    let q = match t.kind() {
                        Kind::Const => "const",
                        Kind::Volatile => "volatile",
                        _ => "restrict",
                    };
                    let target = t.size_or_type();
                    let on_pointer = btf
                        .skip_mods(target)
                        .map(|tt| tt.kind() == Kind::Ptr)
                        .unwrap_or(false);
                    if on_pointer || t.kind() == Kind::Restrict {
                        // `q` goes in front of what the declarator holds so
                        // far, and the whole is trimmed at its end: that end
                        // is the name when no suffix follows it.
                        if !has_suffix {
                            name = name.trim_end();
                        }
                        let empty = name.is_empty() && !has_prefix && !has_suffix;
                        self.steps.push(Step::InnerQual { q, space: !empty });
                        has_prefix = true;
                    } else {
                        self.steps.push(Step::OuterQual(q));
                    }
                    cur = target;
                }
                Kind::TypeTag => cur = t.size_or_type(),
                Kind::Array => {
                    let (elem, n) = t.array().map_or((0, 0), |a| (a.elem_type, a.nelems));
                    self.steps.push(Step::Array(n));
                    has_suffix = true;
                    cur = elem;
                }
                Kind::FuncProto => {
                    self.steps.push(Step::Func { id: cur, depth: d });
                    has_suffix = true;
                    cur = t.size_or_type();
                }
                _ => break Some((t, d)),
            }
            d += 1;
        };
        let last = self.steps.len();
        for i in first..last {
            if let Step::OuterQual(q) = self.steps[i] {
                self.out.push_str(q);
                self.out.push(' ');
            }
        }
        match base {
            None => self.out.push_str("void"),
            Some((t, d)) => self.decl_base(&t, indent, d),
        }
        if !(name.is_empty() && !has_prefix && !has_suffix) {
            self.out.push(' ');
            for i in (first..last).rev() {
                match self.steps[i] {
                    Step::Ptr { wrap } => self.out.push_str(if wrap { "(*" } else { "*" }),
                    Step::InnerQual { q, space } => {
                        self.out.push_str(q);
                        if space {
                            self.out.push(' ');
                        }
                    }
                    _ => {}
                }
            }
            self.out.push_str(name);
            for i in first..last {
                match self.steps[i] {
                    Step::Ptr { wrap: true } => self.out.push(')'),
                    Step::Array(n) => {
                        self.out.push('[');
                        push_u64(&mut self.out, n as u64);
                        self.out.push(']');
                    }
                    Step::Func { id, depth } => self.params(id, indent, depth),
                    _ => {}
                }
            }
        }
        self.steps.truncate(first);
    }

    /// The type a declarator ends in, reached at `depth`.
    fn decl_base(&mut self, t: &Type<'b>, indent: usize, depth: u32) {
        let id = t.id();
        match t.kind() {
            Kind::Int | Kind::Float => self.out.push_str(self.name(t.name_off())),
            Kind::Typedef => self.push_type_name(t),
            Kind::Struct | Kind::Union | Kind::Enum | Kind::Enum64 if is_named_aggregate(t) => {
                self.out.push_str(match t.kind() {
                    Kind::Struct => "struct ",
                    Kind::Union => "union ",
                    _ => "enum ",
                });
                self.push_type_name(t);
            }
            Kind::Struct | Kind::Union => {
                // An anonymous type inside itself (only hostile BTF does that),
                // or an expansion past the budget: stop inlining.
                if self.inlining.contains(&id) || self.written + self.decl_start > self.budget {
                    self.out.push_str("void /* anonymous [");
                    push_u64(&mut self.out, id as u64);
                    self.out.push_str("] */");
                    return;
                }
                self.inlining.push(id);
                let start = self.out.len();
                self.composite_body(t, indent, depth + 1);
                self.inlining.pop();
                // Counts every inline expansion, so sharing cannot multiply unseen.
                self.written += self.out.len() - start;
            }
            Kind::Enum | Kind::Enum64 => self.enum_body(t, indent),
            Kind::Fwd => {
                self.out
                    .push_str(if t.kflag() { "union " } else { "struct " });
                self.push_type_name(t);
            }
            _ => self.out.push_str("void"),
        }
    }

    /// `(params)` of the func_proto `id`, reached at `depth`.
    fn params(&mut self, id: TypeId, indent: usize, depth: u32) {
        // Prototypes whose parameters share prototypes nest exponentially in
        // hostile BTF: stop expanding past the budget (write_all then fails).
        if self.written + self.out.len() > self.budget {
            self.out.push_str("(/* past the budget */)");
            return;
        }
        let btf: &'b Btf<'a> = self.btf;
        let params = btf.type_by_id(id).map(|t| t.params()).ok();
        let n = params.as_ref().map_or(0, |p| p.len());
        self.out.push('(');
        if n == 0 {
            self.out.push_str("void");
        }
        for (i, p) in params.into_iter().flatten().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            if p.type_id == 0 && i + 1 == n && i > 0 {
                self.out.push_str("...");
            } else {
                self.decl(p.type_id, "", indent, depth + 1);
            }
        }
        self.out.push(')');
    }
}
