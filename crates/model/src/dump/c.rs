//! BTF as compilable C declarations, like `bpftool btf dump file F format c`
//! (a `vmlinux.h`): every struct, union, enum and typedef, ordered so each is
//! declared before use, with padding and `packed` where the BTF layout needs
//! them, so the compiled layout equals the BTF's.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, Write};

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
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// Not emitted.
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
        if d.out.len() > 1 << 16 {
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

struct CDump<'b, 'a> {
    btf: &'b Btf<'a>,
    out: String,
    state: Vec<State>,
    /// Tag names (struct/union/enum) as emitted, by type id.
    tag_names: IdMap<String>,
    /// Ordinary identifiers (typedefs), by type id.
    ident_names: IdMap<String>,
    /// Enumerator names as emitted, by (enum id, index).
    enumerator_names: HashMap<(TypeId, usize), String>,
    /// Alignment of each type as this dump lays it out.
    align_memo: IdMap<u64>,
    packed_memo: IdMap<bool>,
    /// (type, need) pairs whose declarations are all emitted already: bit 0
    /// for `Need::Declared`, bit 1 for `Need::Complete`.
    refs_done: Vec<u8>,
    /// How many types are `State::Visiting` right now.
    visiting: usize,
    /// Anonymous types being inlined right now (a repeat is a cycle).
    inlining: Vec<TypeId>,
    /// Bytes of C produced so far (written out, plus each inline body as it
    /// is built), and the most allowed.
    written: usize,
    budget: usize,
}

/// A table indexed by type id (ids are dense, so a Vec beats hashing).
struct IdMap<T> {
    slots: Vec<Option<T>>,
}

impl<T> IdMap<T> {
    fn new(n: usize) -> Self {
        IdMap {
            slots: std::iter::repeat_with(|| None).take(n).collect(),
        }
    }
    fn get(&self, id: &TypeId) -> Option<&T> {
        self.slots.get(*id as usize).and_then(Option::as_ref)
    }
    fn insert(&mut self, id: TypeId, v: T) {
        if let Some(slot) = self.slots.get_mut(id as usize) {
            *slot = Some(v);
        }
    }
}

fn is_named_aggregate(t: &Type<'_>) -> bool {
    matches!(
        t.kind(),
        Kind::Struct | Kind::Union | Kind::Enum | Kind::Enum64
    ) && t.name_off() != 0
}

impl<'b, 'a> CDump<'b, 'a> {
    fn new(btf: &'b Btf<'a>) -> Self {
        let n = btf.last_id() as usize + 1;
        let mut d = CDump {
            btf,
            out: String::new(),
            state: vec![State::None; n],
            tag_names: IdMap::new(n),
            ident_names: IdMap::new(n),
            enumerator_names: HashMap::new(),
            align_memo: IdMap::new(n),
            packed_memo: IdMap::new(n),
            refs_done: vec![0; n],
            visiting: 0,
            inlining: Vec::new(),
            written: 0,
            budget: usize::MAX,
        };
        d.assign_names();
        d
    }

    fn name(&self, off: u32) -> &'b str {
        self.btf.name(off).unwrap_or("")
    }

    /// Gives duplicate names a `___N` suffix, as libbpf's btf_dump does.
    fn assign_names(&mut self) {
        let mut tags: HashMap<String, usize> = HashMap::new();
        let mut idents: HashMap<String, usize> = HashMap::new();
        let suffixed = |map: &mut HashMap<String, usize>, name: &str| -> String {
            let n = map.entry(name.to_string()).or_insert(0);
            *n += 1;
            if *n == 1 {
                name.to_string()
            } else {
                format!("{name}___{n}")
            }
        };
        // Definitions first, so a FWD takes the name of the type it announces.
        let mut fwds = Vec::new();
        for id in self.btf.type_ids() {
            let Ok(t) = self.btf.type_by_id(id) else {
                continue;
            };
            let name = self.name(t.name_off());
            match t.kind() {
                Kind::Fwd if !name.is_empty() => fwds.push((id, name)),
                Kind::Struct | Kind::Union | Kind::Enum | Kind::Enum64 if !name.is_empty() => {
                    let s = suffixed(&mut tags, name);
                    self.tag_names.insert(id, s);
                }
                Kind::Typedef => {
                    let s = suffixed(&mut idents, name);
                    self.ident_names.insert(id, s);
                }
                _ => {}
            }
            if matches!(t.kind(), Kind::Enum | Kind::Enum64) {
                for (i, v) in t.enum_values().enumerate() {
                    let s = suffixed(&mut idents, self.name(v.name_off));
                    self.enumerator_names.insert((id, i), s);
                }
            }
        }
        for (id, name) in fwds {
            let s = if tags.contains_key(name) {
                name.to_string()
            } else {
                suffixed(&mut tags, name)
            };
            self.tag_names.insert(id, s);
        }
    }

    fn state(&self, id: TypeId) -> State {
        self.state.get(id as usize).copied().unwrap_or(State::Done)
    }

    fn set_state(&mut self, id: TypeId, s: State) {
        if let Some(slot) = self.state.get_mut(id as usize) {
            match (*slot == State::Visiting, s == State::Visiting) {
                (false, true) => self.visiting += 1,
                (true, false) => self.visiting -= 1,
                _ => {}
            }
            *slot = s;
        }
    }

    /// Makes sure `id` is declared (or complete) at top level before its use.
    fn emit_top(&mut self, id: TypeId, need: Need, depth: u32) {
        if depth > MAX_DEPTH || id == 0 {
            return;
        }
        let Ok(t) = self.btf.type_by_id(id) else {
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
                        self.emit_composite_def(&t);
                        self.set_state(id, State::Done);
                    }
                }
            }
            Kind::Enum | Kind::Enum64 if t.name_off() != 0 && self.state(id) == State::None => {
                self.set_state(id, State::Done);
                if t.vlen() == 0 {
                    // A declaration without enumerators (clang accepts it).
                    let name = self.tag_names.get(&id).cloned().unwrap_or_default();
                    let _ = writeln!(self.out, "enum {name};\n");
                } else {
                    let body = self.enum_body(&t, 0);
                    let _ = writeln!(self.out, "{body};\n");
                }
            }
            Kind::Fwd if self.state(id) == State::None => {
                self.set_state(id, State::Done);
                let kw = if t.kflag() { "union" } else { "struct" };
                let name = self.tag_names.get(&id).cloned().unwrap_or_default();
                let _ = writeln!(self.out, "{kw} {name};\n");
            }
            Kind::Typedef => {
                if self.state(id) != State::None {
                    return;
                }
                if self.name(t.name_off()) == "__builtin_va_list" {
                    // The compiler's own typedef; redefining it is an error.
                    self.set_state(id, State::Done);
                    return;
                }
                self.set_state(id, State::Visiting);
                // A typedef needs its target declared; arrays and by-value
                // anonymous aggregates need more, which `emit_ref` works out.
                self.emit_ref(t.size_or_type(), Need::Declared, depth + 1);
                let name = self.ident_names.get(&id).cloned().unwrap_or_default();
                let decl = self.decl(t.size_or_type(), &name, 0, depth);
                let _ = writeln!(self.out, "typedef {decl};\n");
                self.set_state(id, State::Done);
            }
            Kind::Ptr
            | Kind::Const
            | Kind::Volatile
            | Kind::Restrict
            | Kind::TypeTag
            | Kind::Array
            | Kind::FuncProto => self.emit_ref(id, need, depth + 1),
            _ => {}
        }
    }

    /// The declarations a reference to `id` needs, `need` deep.
    fn emit_ref(&mut self, id: TypeId, need: Need, depth: u32) {
        if depth > MAX_DEPTH || id == 0 {
            return;
        }
        let bit = if need == Need::Complete { 2 } else { 1 };
        if self
            .refs_done
            .get(id as usize)
            .is_some_and(|b| b & bit != 0)
        {
            return;
        }
        self.emit_ref_uncached(id, need, depth);
        // Only a finished walk counts: a type still being visited may gain
        // declarations later.
        if self.visiting == 0 {
            if let Some(b) = self.refs_done.get_mut(id as usize) {
                *b |= bit;
            }
        }
    }

    fn emit_ref_uncached(&mut self, id: TypeId, need: Need, depth: u32) {
        let Ok(t) = self.btf.type_by_id(id) else {
            return;
        };
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
                let ret = t.size_or_type();
                self.emit_ref(ret, Need::Declared, depth + 1);
                let params: Vec<TypeId> = t.params().map(|p| p.type_id).collect();
                for p in params {
                    self.emit_ref(p, Need::Declared, depth + 1);
                }
            }
            Kind::Typedef => {
                self.emit_top(id, need, depth + 1);
                if need == Need::Complete {
                    self.emit_ref(t.size_or_type(), Need::Complete, depth + 1);
                }
            }
            Kind::Struct | Kind::Union | Kind::Enum | Kind::Enum64 | Kind::Fwd => {
                self.emit_top(id, need, depth + 1)
            }
            _ => {}
        }
    }

    fn emit_member_deps(&mut self, t: &Type<'_>, depth: u32) {
        let members: Vec<TypeId> = t.members().map(|m| m.type_id).collect();
        for m in members {
            self.emit_ref(m, Need::Complete, depth + 1);
        }
    }

    fn emit_forward(&mut self, t: &Type<'_>) {
        let kw = if t.kind() == Kind::Union {
            "union"
        } else {
            "struct"
        };
        let name = self.tag_names.get(&t.id()).cloned().unwrap_or_default();
        let _ = writeln!(self.out, "{kw} {name};\n");
        if self.state(t.id()) == State::None {
            self.set_state(t.id(), State::Forward);
        }
    }

    fn emit_composite_def(&mut self, t: &Type<'_>) {
        let body = self.composite_body(t, 0, 0);
        let _ = writeln!(self.out, "{body};\n");
    }

    fn enum_body(&self, t: &Type<'_>, indent: usize) -> String {
        let mut s = String::from("enum");
        if t.name_off() != 0 {
            let name = self.tag_names.get(&t.id()).cloned().unwrap_or_default();
            let _ = write!(s, " {name}");
        }
        s.push_str(" {\n");
        let signed = t.kflag();
        let is64 = t.kind() == Kind::Enum64;
        for (i, v) in t.enum_values().enumerate() {
            let name = self
                .enumerator_names
                .get(&(t.id(), i))
                .cloned()
                .unwrap_or_else(|| self.name(v.name_off).to_string());
            let val = match (is64, signed) {
                (false, true) => format!("{}", v.value as i32),
                (false, false) => format!("{}U", v.value as u32),
                (true, true) => format!("{}LL", v.value as i64),
                (true, false) => format!("{}ULL", v.value),
            };
            let _ = writeln!(s, "{}\t{name} = {val},", "\t".repeat(indent));
        }
        let _ = write!(s, "{}}}", "\t".repeat(indent));
        if t.size_or_type() != 4 && !is64 {
            // Non-int-sized 32-bit enums keep their size.
            let _ = write!(
                s,
                " __attribute__((mode({})))",
                match t.size_or_type() {
                    1 => "byte",
                    2 => "__HI__",
                    8 => "word",
                    _ => "__SI__",
                }
            );
        }
        s
    }

    /// Alignment as laid out by this dump (packed structs align to 1).
    fn align_of(&mut self, id: TypeId, depth: u32) -> u64 {
        if depth > MAX_DEPTH {
            return 1;
        }
        if let Some(&a) = self.align_memo.get(&id) {
            return a;
        }
        let Ok(t) = self.btf.type_by_id(id) else {
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
        self.align_memo.insert(id, a);
        a
    }

    fn natural_align(&mut self, t: &Type<'_>, depth: u32) -> u64 {
        let members: Vec<(TypeId, u32)> =
            t.members().map(|m| (m.type_id, m.bitfield_size)).collect();
        let mut a = 1;
        for (ty, _) in members {
            a = a.max(self.align_of(ty, depth + 1));
        }
        a
    }

    /// Whether the BTF layout needs `__attribute__((packed))`.
    fn is_packed(&mut self, t: &Type<'_>, depth: u32) -> bool {
        if let Some(&p) = self.packed_memo.get(&t.id()) {
            return p;
        }
        let align = self.natural_align(t, depth);
        let mut packed = t.size_or_type() as u64 % align != 0;
        let members: Vec<(TypeId, u32, u32)> = t
            .members()
            .map(|m| (m.type_id, m.bit_offset, m.bitfield_size))
            .collect();
        for (ty, off, bits) in members {
            if bits == 0 && off as u64 % (self.align_of(ty, depth + 1) * 8) != 0 {
                packed = true;
            }
        }
        self.packed_memo.insert(t.id(), packed);
        packed
    }

    fn size_of(&self, id: TypeId) -> u64 {
        self.btf.resolve_size(id).unwrap_or(0)
    }

    /// `struct name { members }` with padding so offsets match the BTF.
    fn composite_body(&mut self, t: &Type<'_>, indent: usize, depth: u32) -> String {
        let kw = if t.kind() == Kind::Union {
            "union"
        } else {
            "struct"
        };
        let mut s = String::from(kw);
        if t.name_off() != 0 {
            let name = self.tag_names.get(&t.id()).cloned().unwrap_or_default();
            let _ = write!(s, " {name}");
        }
        s.push_str(" {\n");
        let packed = self.is_packed(t, depth);
        let is_union = t.kind() == Kind::Union;
        let members: Vec<_> = t.members().collect();
        let pad = "\t".repeat(indent + 1);
        let mut pos: u64 = 0; // bit position reached in a struct
        for m in &members {
            let name = self.name(m.name_off).to_string();
            let mbits = m.bitfield_size as u64;
            let off = m.bit_offset as u64;
            if !is_union {
                let natural = if mbits > 0 {
                    let unit = self.size_of(m.type_id) * 8;
                    if packed || unit == 0 || pos / unit == (pos + mbits - 1) / unit {
                        pos
                    } else {
                        pos.div_ceil(unit) * unit
                    }
                } else {
                    let a = if packed {
                        8
                    } else {
                        self.align_of(m.type_id, depth + 1) * 8
                    };
                    pos.div_ceil(a) * a
                };
                if off > natural {
                    self.padding(&mut s, &pad, pos, off);
                }
            }
            let ms_anon = name.is_empty()
                && mbits == 0
                && self
                    .btf
                    .skip_mods(m.type_id)
                    .map(|t| !(t.is_composite() && t.name_off() == 0))
                    .unwrap_or(false);
            let decl = self.decl(m.type_id, &name, indent + 1, depth + 1);
            if ms_anon {
                // An anonymous member of a named type (`-fms-extensions`, as
                // newer kernels use): anonymous where the compiler accepts it,
                // else named so the layout still holds.
                let named = self.decl(
                    m.type_id,
                    &format!("__anon_member_{}", m.bit_offset),
                    indent + 1,
                    depth + 1,
                );
                let _ = writeln!(
                    s,
                    "#ifdef BTFKIT_MS_EXTENSIONS\n{pad}{decl};\n#else\n{pad}{named};\n#endif"
                );
            } else if mbits > 0 {
                let _ = writeln!(s, "{pad}{decl}: {mbits};");
            } else {
                let _ = writeln!(s, "{pad}{decl};");
            }
            if !is_union {
                pos = off
                    + if mbits > 0 {
                        mbits
                    } else {
                        self.size_of(m.type_id) * 8
                    };
            }
        }
        let size_bits = t.size_or_type() as u64 * 8;
        if !is_union {
            let align = if packed {
                8
            } else {
                self.natural_align(t, depth) * 8
            };
            if pos.div_ceil(align) * align < size_bits {
                self.padding(&mut s, &pad, pos, size_bits);
            }
        } else {
            let biggest = members
                .iter()
                .map(|m| self.size_of(m.type_id) * 8)
                .max()
                .unwrap_or(0);
            let align = self.natural_align(t, depth) * 8;
            if biggest.div_ceil(align) * align < size_bits {
                let _ = writeln!(s, "{pad}char __btfkit_union_pad[{}];", t.size_or_type());
            }
        }
        let _ = write!(s, "{}}}", "\t".repeat(indent));
        if packed {
            s.push_str(" __attribute__((packed))");
        }
        s
    }

    /// Padding from bit `from` to bit `to`: unnamed bitfields (they take no
    /// BTF member), or one byte array for a gap so large (hostile sizes) that
    /// bitfields would take millions of lines.
    fn padding(&self, s: &mut String, pad: &str, mut from: u64, to: u64) {
        const BITFIELD_PAD_LIMIT: u64 = 8 * 8192;
        while from < to {
            let gap = to - from;
            if gap > BITFIELD_PAD_LIMIT && from % 8 == 0 {
                let _ = writeln!(s, "{pad}char __btfkit_pad_{}[{}];", from / 8, gap / 8);
                from += gap / 8 * 8;
                continue;
            }
            let (ty, chunk) = [(64u64, "long"), (32, "int"), (16, "short"), (8, "char")]
                .iter()
                .find(|(w, _)| from % w == 0 && *w <= gap)
                .map(|(w, n)| (*n, *w))
                .unwrap_or(("char", gap.min(8 - from % 8)));
            let _ = writeln!(s, "{pad}{ty}: {chunk};");
            from += chunk;
        }
    }

    /// A C declarator: the type of `id` applied to `inner` (a name or nested declarator).
    fn decl(&mut self, id: TypeId, inner: &str, indent: usize, depth: u32) -> String {
        let sep = |inner: &str| {
            if inner.is_empty() {
                String::new()
            } else {
                format!(" {inner}")
            }
        };
        if depth > MAX_DEPTH {
            return format!("void{}", sep(inner));
        }
        let Ok(t) = self.btf.type_by_id(id) else {
            return format!("void{}", sep(inner));
        };
        match t.kind() {
            Kind::Void => format!("void{}", sep(inner)),
            Kind::Int | Kind::Float => format!("{}{}", self.name(t.name_off()), sep(inner)),
            Kind::Typedef => {
                let name = self.ident_names.get(&id).cloned().unwrap_or_default();
                format!("{name}{}", sep(inner))
            }
            Kind::Struct | Kind::Union | Kind::Enum | Kind::Enum64 if is_named_aggregate(&t) => {
                let kw = match t.kind() {
                    Kind::Struct => "struct",
                    Kind::Union => "union",
                    _ => "enum",
                };
                let name = self.tag_names.get(&id).cloned().unwrap_or_default();
                format!("{kw} {name}{}", sep(inner))
            }
            Kind::Struct | Kind::Union => {
                // An anonymous type inside itself (only hostile BTF does that),
                // or an expansion past the budget: stop inlining.
                if self.inlining.contains(&id) || self.written + self.out.len() > self.budget {
                    return format!("void /* anonymous [{id}] */{}", sep(inner));
                }
                self.inlining.push(id);
                let body = self.composite_body(&t, indent, depth + 1);
                self.inlining.pop();
                // Counts every inline expansion, so sharing cannot multiply unseen.
                self.written += body.len();
                format!("{body}{}", sep(inner))
            }
            Kind::Enum | Kind::Enum64 => {
                let body = self.enum_body(&t, indent);
                format!("{body}{}", sep(inner))
            }
            Kind::Fwd => {
                let kw = if t.kflag() { "union" } else { "struct" };
                let name = self.tag_names.get(&id).cloned().unwrap_or_default();
                format!("{kw} {name}{}", sep(inner))
            }
            Kind::Ptr => {
                let target = t.size_or_type();
                let wrap = self
                    .btf
                    .skip_mods(target)
                    .map(|tt| matches!(tt.kind(), Kind::Array | Kind::FuncProto))
                    .unwrap_or(false);
                let inner = if wrap {
                    format!("(*{inner})")
                } else {
                    format!("*{inner}")
                };
                self.decl(target, &inner, indent, depth + 1)
            }
            Kind::Const | Kind::Volatile | Kind::Restrict => {
                let q = match t.kind() {
                    Kind::Const => "const",
                    Kind::Volatile => "volatile",
                    _ => "restrict",
                };
                let target = t.size_or_type();
                let on_pointer = self
                    .btf
                    .skip_mods(target)
                    .map(|tt| tt.kind() == Kind::Ptr)
                    .unwrap_or(false);
                if on_pointer || t.kind() == Kind::Restrict {
                    self.decl(target, format!("{q} {inner}").trim_end(), indent, depth + 1)
                } else {
                    format!("{q} {}", self.decl(target, inner, indent, depth + 1))
                }
            }
            Kind::TypeTag => self.decl(t.size_or_type(), inner, indent, depth + 1),
            Kind::Array => {
                let a = t.array().map_or((0, 0), |a| (a.elem_type, a.nelems));
                self.decl(a.0, &format!("{inner}[{}]", a.1), indent, depth + 1)
            }
            Kind::FuncProto => {
                let params: Vec<_> = t.params().collect();
                let mut list = Vec::new();
                for (i, p) in params.iter().enumerate() {
                    if p.type_id == 0 && i + 1 == params.len() && i > 0 {
                        list.push("...".to_string());
                    } else {
                        list.push(self.decl(p.type_id, "", indent, depth + 1));
                    }
                }
                let list = if list.is_empty() {
                    "void".to_string()
                } else {
                    list.join(", ")
                };
                self.decl(
                    t.size_or_type(),
                    &format!("{inner}({list})"),
                    indent,
                    depth + 1,
                )
            }
            _ => format!("void{}", sep(inner)),
        }
    }
}
