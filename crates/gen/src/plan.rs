//! What to emit and what to call it: the types reachable from the roots,
//! forward declarations resolved to their definitions, and a stable Rust
//! name for every emitted type (anonymous ones included).

use std::borrow::Cow;
use std::cell::RefCell;

use crate::names::{FxHashMap as HashMap, FxHashSet as HashSet};

use btfkit_model::{Btf, Kind, Type, TypeId};

use crate::names::{
    dedup_in_order, is_ident_byte, plain, plain_known, primitive_bit, push_ident, push_u64,
    scan_len, scan_name, Scope, PRIMITIVES,
};
use crate::render::RTy;
use crate::{Error, Layout, Options};

/// Deepest chain of pointers, arrays, modifiers and nested anonymous types followed.
pub(crate) const MAX_DEPTH: u32 = 64;

/// The emission plan: which types, under which names.
pub(crate) struct Plan<'a, 'b> {
    pub(crate) btf: &'a Btf<'b>,
    pub(crate) layout: Layout,
    /// Emitted items (struct, union, enum, typedef, unresolved fwd), in id order.
    pub(crate) items: Vec<TypeId>,
    /// Where the Rust identifier (`r#` included) of each named item is in
    /// `name_text`, by type id: start << 16 | length (names are shorter
    /// than 2^16 bytes: [`crate::MAX_NAME_LEN`] and a suffix), 0 when unnamed.
    names: Vec<u64>,
    /// Every identifier given, one after the other.
    name_text: String,
    /// Forward declarations with a definition in this BTF.
    fwd_def: HashMap<TypeId, TypeId>,
    /// Per type id: [`ITEM`], [`ABSORBED`], [`ENUM_AS_INT`].
    flags: Vec<u8>,
    /// Per type id, its raw kind (one pass over the types, so the passes
    /// that look for one kind decode only those).
    kinds: Vec<u8>,
    /// Primitive names that generated types shadow (bits of [`PRIMITIVES`]).
    shadowed: u32,
    /// Shadowed primitive names whose generated type is not that primitive
    /// (`struct u8`, not `typedef unsigned char u8`): always qualified.
    harmful: u32,
    /// Most bytes of output ([`crate::MAX_OUTPUT_PER_INPUT_BYTE`] times the input).
    budget: usize,
    /// This BTF's own string section when it is all UTF-8 (checked once).
    own_strings: Option<&'a str>,
    /// The string offset where [`Plan::own_strings`] starts (past the base's).
    str_start: u32,
    /// Whether [`Plan::own_strings`] ends with a NUL.
    nul_ended: bool,
    /// Whether a string of this BTF or its bases is longer than
    /// [`crate::MAX_NAME_LEN`] (else no name needs checking).
    long_names: bool,
    /// Per type id, 1 + what [`Plan::member_bits`] finds through it (an
    /// old-style bitfield's int); 0 until asked. (All per-type tables start
    /// as zeros: their pages are only touched where they are used.)
    int_bits: RefCell<Vec<u32>>,
    /// Per type id, what [`Plan::held_type`] finds through it (0 until
    /// asked, [`NONE`]: nothing).
    held: Vec<u32>,
    /// Field types written so far ([`Plan::write_ty`]).
    ty_memo: RefCell<TyMemo>,
}

/// A member of a struct or union as both layouts see it ([`Plan::members_into`]).
#[derive(Debug, Clone)]
pub(crate) struct Member<'a> {
    /// Its plain Rust name: the BTF name made an identifier (without `r#`),
    /// `__anon_N` when anonymous, `_2`, `_3` appended to duplicates.
    pub(crate) plain: Cow<'a, str>,
    /// Its BTF name ("": anonymous).
    pub(crate) btf_name: &'a str,
    pub(crate) type_id: TypeId,
    /// Bits from the start of the composite (old-style bitfields decoded).
    pub(crate) bit_offset: u64,
    /// Bitfield width (0: not a bitfield).
    pub(crate) bits: u32,
}

impl<'a> Member<'a> {
    /// The BTF name when the Rust name is another ("": anonymous).
    pub(crate) fn renamed(&self) -> Option<&'a str> {
        (self.plain != self.btf_name).then_some(self.btf_name)
    }
}

/// The one-line text of field types, by type id.
struct TyMemo {
    /// start << 24 | (length + 1) in `text`; 0: not written yet (texts of
    /// 2^24 bytes and more, or past 2^40 bytes of memo, are not kept).
    spans: Vec<u64>,
    text: String,
}

/// No type (in [`Plan::held`]).
const NONE: u32 = u32::MAX;

/// An emitted item.
const ITEM: u8 = 1;
/// A typedef whose name went to the type it names (emitted as that type).
const ABSORBED: u8 = 2;
/// An anonymous enum without a type of its own: used as its integer.
const ENUM_AS_INT: u8 = 4;
/// A named struct or union only pointed to ([`Options::opaque_pointees`]).
const OPAQUE: u8 = 8;

/// [`PRIMITIVES`] qualified, in the same order.
const QUALIFIED: [&str; 17] = [
    "::core::primitive::u8",
    "::core::primitive::u16",
    "::core::primitive::u32",
    "::core::primitive::u64",
    "::core::primitive::u128",
    "::core::primitive::usize",
    "::core::primitive::i8",
    "::core::primitive::i16",
    "::core::primitive::i32",
    "::core::primitive::i64",
    "::core::primitive::i128",
    "::core::primitive::isize",
    "::core::primitive::f32",
    "::core::primitive::f64",
    "::core::primitive::bool",
    "::core::primitive::char",
    "::core::primitive::str",
];

impl<'a, 'b> Plan<'a, 'b> {
    /// Reachability and names for `opts`.
    pub(crate) fn new(btf: &'a Btf<'b>, opts: &Options) -> Result<Plan<'a, 'b>, Error> {
        let mut plan = Plan {
            btf,
            layout: opts.layout,
            items: Vec::new(),
            names: vec![0; btf.last_id() as usize + 1],
            name_text: String::with_capacity(btf.own_type_count() * 8),
            fwd_def: HashMap::default(),
            flags: vec![0; btf.last_id() as usize + 1],
            kinds: kinds(btf),
            shadowed: 0,
            harmful: 0,
            budget: output_budget(btf),
            own_strings: std::str::from_utf8(btf.string_section()).ok(),
            str_start: str_start(btf),
            nul_ended: btf.string_section().last() == Some(&0),
            long_names: long_names(btf),
            int_bits: RefCell::new(vec![0; btf.last_id() as usize + 1]),
            held: vec![0; btf.last_id() as usize + 1],
            ty_memo: RefCell::new(TyMemo {
                spans: vec![0; btf.last_id() as usize + 1],
                text: String::with_capacity(1 << 20),
            }),
        };
        let roots = plan.roots(&opts.roots)?;
        let held = match (opts.opaque_pointees, opts.layout) {
            (true, Layout::Relocatable) => Some(crate::lean::held_by_value(btf, &roots)?),
            _ => None,
        };
        plan.reach(roots, held.as_deref())?;
        plan.assign_names()?;
        plan.find_harmful_shadows()?;
        Ok(plan)
    }

    /// Fails once `len` bytes of output are past the output budget (checked
    /// after each item, and while a type is written).
    pub(crate) fn check_budget(&self, len: usize) -> Result<(), Error> {
        if len > self.budget {
            return Err(self.budget_error());
        }
        Ok(())
    }

    /// The output budget.
    pub(crate) fn budget(&self) -> usize {
        self.budget
    }

    fn budget_error(&self) -> Error {
        Error::Limit(format!(
            "the bindings exceed {} bytes ({} per byte of BTF, MAX_OUTPUT_PER_INPUT_BYTE)",
            self.budget,
            crate::MAX_OUTPUT_PER_INPUT_BYTE
        ))
    }

    /// Fails on a name longer than [`crate::MAX_NAME_LEN`].
    fn check_name(&self, id: TypeId, off: u32, what: &str) -> Result<(), Error> {
        if !self.long_names {
            return Ok(());
        }
        let len = self.str_at(off).len();
        if len > crate::MAX_NAME_LEN {
            return Err(Error::Limit(format!(
                "type [{id}]: {what} name of {len} bytes is longer than {} (MAX_NAME_LEN)",
                crate::MAX_NAME_LEN
            )));
        }
        Ok(())
    }

    /// The kind of a type (void for an id past the last).
    pub(crate) fn kind(&self, id: TypeId) -> Kind {
        Kind::from_raw(self.kinds.get(id as usize).copied().unwrap_or(0))
    }

    fn ty(&self, id: TypeId) -> Result<Type<'a>, Error> {
        Ok(self.btf.type_by_id(id)?)
    }

    /// The raw BTF name of a type ("" when anonymous or unreadable).
    pub(crate) fn raw_name(&self, ty: &Type<'_>) -> &'a str {
        self.str_at(ty.name_off())
    }

    /// The raw name at a string offset ("" when unreadable).
    pub(crate) fn str_at(&self, off: u32) -> &'a str {
        if let (Some(s), Some(start)) = (self.own_strings, off.checked_sub(self.str_start)) {
            let start = start as usize;
            return match scan_len(s.as_bytes(), start) {
                Some(len) => s.get(start..start + len).unwrap_or(""),
                None => "",
            };
        }
        self.btf.name(off).unwrap_or("")
    }

    /// Whether the name at a string offset is not "" ([`Plan::str_at`]),
    /// mostly without reading more than its first byte.
    fn name_nonempty(&self, off: u32) -> bool {
        if let (Some(s), Some(start)) = (self.own_strings, off.checked_sub(self.str_start)) {
            // The section ends with a NUL (`nul_ended`): an ASCII first byte
            // other than NUL starts a name.
            if let Some(&c) = s.as_bytes().get(start as usize) {
                if self.nul_ended && (1..0x80).contains(&c) {
                    return true;
                }
            }
        }
        !self.str_at(off).is_empty()
    }

    /// The raw name at a string offset ("" when unreadable), and whether all
    /// its bytes are identifier bytes (then [`plain_known`] borrows it).
    fn name_at(&self, off: u32) -> (&'a str, bool) {
        if let (Some(s), Some(start)) = (self.own_strings, off.checked_sub(self.str_start)) {
            let start = start as usize;
            return match scan_name(s.as_bytes(), start) {
                // A NUL is a character of its own, so the name is valid UTF-8
                // exactly when it starts on a character boundary.
                Some((len, clean)) => match s.get(start..start + len) {
                    Some(name) => (name, clean),
                    None => ("", true),
                },
                None => ("", true),
            };
        }
        let name = self.btf.name(off).unwrap_or("");
        (name, name.bytes().all(is_ident_byte))
    }

    /// The plain identifier of the name at a string offset, and the raw name.
    pub(crate) fn plain_at(&self, off: u32) -> (&'a str, Cow<'a, str>) {
        let (raw, clean) = self.name_at(off);
        (raw, plain_known(raw, clean))
    }

    fn roots(&self, wanted: &[String]) -> Result<Vec<TypeId>, Error> {
        let emittable = |k: Kind| {
            matches!(
                k,
                Kind::Struct | Kind::Union | Kind::Enum | Kind::Enum64 | Kind::Typedef | Kind::Fwd
            )
        };
        if wanted.is_empty() {
            let mut out = Vec::new();
            for id in self.btf.own_type_ids() {
                if emittable(self.kind(id)) {
                    out.push(id);
                }
            }
            return Ok(out);
        }
        let mut out = Vec::new();
        for w in wanted {
            let (kinds, name): (&[Kind], &str) = match w.split_once(' ') {
                Some(("struct", n)) => (&[Kind::Struct], n.trim()),
                Some(("union", n)) => (&[Kind::Union], n.trim()),
                Some(("enum", n)) => (&[Kind::Enum, Kind::Enum64], n.trim()),
                Some(("typedef", n)) => (&[Kind::Typedef], n.trim()),
                _ => (&[], w.as_str()),
            };
            let found: Vec<TypeId> = self
                .btf
                .find_by_name(name)
                .into_iter()
                .filter(|&id| {
                    self.btf.type_by_id(id).is_ok_and(|t| {
                        emittable(t.kind()) && (kinds.is_empty() || kinds.contains(&t.kind()))
                    })
                })
                .collect();
            if found.is_empty() {
                return Err(Error::UnknownType(w.clone()));
            }
            out.extend(found);
        }
        Ok(out)
    }

    /// Marks everything `roots` reach and resolves forward declarations;
    /// with `held` ([`crate::lean`]), a named struct or union not held by
    /// value is opaque and its members are not followed.
    fn reach(&mut self, roots: Vec<TypeId>, held: Option<&[bool]>) -> Result<(), Error> {
        let n = self.btf.last_id() as usize + 1;
        let mut seen = vec![false; n];
        let mut work = roots;
        // Built when the first forward declaration is met.
        let mut definitions = None;
        while let Some(id) = work.pop() {
            let Some(slot) = seen.get_mut(id as usize) else {
                continue;
            };
            if *slot || id == 0 {
                continue;
            }
            *slot = true;
            let ty = self.ty(id)?;
            self.check_name(id, ty.name_off(), "type")?;
            match ty.kind() {
                Kind::Ptr
                | Kind::Typedef
                | Kind::Const
                | Kind::Volatile
                | Kind::Restrict
                | Kind::TypeTag => work.extend(ty.ref_type()),
                Kind::Array => work.extend(ty.array().map(|a| a.elem_type)),
                Kind::Struct | Kind::Union
                    if held.is_some_and(|h| !h[id as usize]) && ty.name_off() != 0 =>
                {
                    self.flags[id as usize] |= OPAQUE;
                }
                Kind::Struct | Kind::Union => {
                    for m in ty.members() {
                        self.check_name(id, m.name_off, "member")?;
                        work.push(m.type_id);
                    }
                }
                Kind::Enum | Kind::Enum64 => {
                    for v in ty.enum_values() {
                        self.check_name(id, v.name_off, "enumerator")?;
                    }
                }
                Kind::FuncProto => {
                    work.extend(ty.ref_type());
                    work.extend(ty.params().map(|p| p.type_id));
                }
                Kind::Fwd => {
                    let name = self.raw_name(&ty);
                    if !name.is_empty() {
                        let defs = definitions.get_or_insert_with(|| self.definitions());
                        let def = defs
                            .get(name)
                            .map_or(0, |d| d[usize::from(ty.fwd_is_union())]);
                        if def != 0 {
                            self.fwd_def.insert(id, def);
                            work.push(def);
                        }
                    }
                }
                _ => {}
            }
        }
        for id in 1..n as TypeId {
            if !seen[id as usize] {
                continue;
            }
            let kind = self.kind(id);
            let item = match kind {
                Kind::Struct | Kind::Union | Kind::Enum | Kind::Enum64 | Kind::Typedef => true,
                Kind::Fwd => !self.fwd_def.contains_key(&id),
                _ => false,
            };
            if item {
                self.items.push(id);
                self.flags[id as usize] |= ITEM;
            }
        }
        Ok(())
    }

    /// The first struct and the first union of each name (0: none), base
    /// types included: what a forward declaration resolves to.
    fn definitions(&self) -> HashMap<&'a str, [TypeId; 2]> {
        // Only the names forward declarations have (a few hundred in a kernel).
        let mut defs: HashMap<&'a str, [TypeId; 2]> = HashMap::default();
        for id in self.btf.type_ids() {
            if self.kind(id) != Kind::Fwd {
                continue;
            }
            if let Ok(ty) = self.btf.type_by_id(id) {
                let name = self.raw_name(&ty);
                if !name.is_empty() {
                    defs.insert(name, [0, 0]);
                }
            }
        }
        if defs.is_empty() {
            return defs;
        }
        for id in self.btf.type_ids() {
            let slot = match self.kind(id) {
                Kind::Struct => 0,
                Kind::Union => 1,
                _ => continue,
            };
            let Ok(ty) = self.btf.type_by_id(id) else {
                continue;
            };
            let name = self.raw_name(&ty);
            if let Some(d) = defs.get_mut(name) {
                if d[slot] == 0 {
                    d[slot] = id;
                }
            }
        }
        defs
    }

    /// Fills `harmful`: a primitive's name is harmless to reuse only for a
    /// typedef of that very primitive (the kernel's `typedef __u8 u8`), which
    /// Rust code may name instead of the primitive.
    fn find_harmful_shadows(&mut self) -> Result<(), Error> {
        for &id in &self.items {
            let name = self.plain_name(id);
            let Some(p) = PRIMITIVES.iter().find(|p| **p == name) else {
                continue;
            };
            let ty = self.ty(id)?;
            let same = ty.kind() == Kind::Typedef
                && !self.is_absorbed(id)
                && self
                    .btf
                    .skip_mods_and_typedefs(ty.size_or_type())
                    .is_ok_and(|t| {
                        matches!(t.kind(), Kind::Int | Kind::Float)
                            && self.rty_at(t.id(), 0, false).one_line() == *p
                    });
            if !same {
                self.harmful |= primitive_bit(p).unwrap_or(0);
            }
        }
        Ok(())
    }

    fn set_name(&mut self, id: TypeId, plain_name: &str) {
        if let Some(bit) = primitive_bit(plain_name) {
            self.shadowed |= bit;
        }
        if let Some(slot) = self.names.get_mut(id as usize) {
            let start = self.name_text.len();
            push_ident(&mut self.name_text, plain_name);
            let len = (self.name_text.len() - start).min(0xffff);
            *slot = (start as u64) << 16 | len as u64;
        }
    }

    fn has_name(&self, id: TypeId) -> bool {
        self.names
            .get(id as usize)
            .is_some_and(|&n| n & 0xffff != 0)
    }

    fn is_item(&self, id: TypeId) -> bool {
        self.flag(id, ITEM)
    }

    fn flag(&self, id: TypeId, flag: u8) -> bool {
        self.flags.get(id as usize).is_some_and(|f| f & flag != 0)
    }

    fn set_flag(&mut self, id: TypeId, flag: u8) {
        if let Some(f) = self.flags.get_mut(id as usize) {
            *f |= flag;
        }
    }

    fn assign_names(&mut self) -> Result<(), Error> {
        let mut scope = Scope::with_capacity(self.items.len());
        // Names the generated code uses unqualified.
        scope.try_take("Option");
        // The module of the fixed layout's bitfield helpers.
        scope.try_take("__btfkit_bitfield");
        let items = self.items.clone();

        // 1. Named structs, unions, enums and opaque forward declarations keep
        //    their BTF name (relocatable types must: it is their BTF name);
        //    struct first, then union, enum, fwd; duplicates get a flavor.
        //    Items are in id order: a pass per rank gives (rank, id) order.
        for rank in 0..4u8 {
            for &id in &items {
                let r = match self.kind(id) {
                    Kind::Struct => 0,
                    Kind::Union => 1,
                    Kind::Enum | Kind::Enum64 => 2,
                    Kind::Fwd => 3,
                    _ => continue,
                };
                if r != rank {
                    continue;
                }
                let ty = self.ty(id)?;
                let (raw, name) = self.plain_at(ty.name_off());
                if raw.is_empty() {
                    continue;
                }
                // The tag is the rank of the type that took the name first.
                let chosen = match scope.try_take_tagged(name.clone(), rank) {
                    None => name,
                    Some(first) if first == rank => Cow::Owned(scope.take_numbered(&name, "___")),
                    Some(_) => {
                        let kind = match rank {
                            0 => "struct",
                            1 => "union",
                            2 => "enum",
                            _ => "fwd",
                        };
                        Cow::Owned(scope.take_numbered(&format!("{name}___{kind}"), "_"))
                    }
                };
                self.set_name(id, &chosen);
            }
        }

        // 2. Typedefs of anonymous types give them their name; typedefs of a
        //    type of the same name (`typedef struct foo foo`) vanish.
        for &id in &items {
            if self.kind(id) != Kind::Typedef {
                continue;
            }
            let ty = self.ty(id)?;
            let name = self.plain_at(ty.name_off()).1;
            let Ok(target) = self.btf.skip_mods(ty.size_or_type()) else {
                continue;
            };
            let tid = target.id();
            let anon_target = matches!(
                target.kind(),
                Kind::Struct | Kind::Union | Kind::Enum | Kind::Enum64
            ) && target.name_off() == 0
                && !self.has_name(tid)
                && self.is_item(tid);
            if anon_target {
                let chosen = scope.take_numbered(&name, "___");
                self.set_name(tid, &chosen);
                self.set_name(id, &chosen);
                self.set_flag(id, ABSORBED);
            } else if self.has_name(tid) && self.plain_name(tid) == name {
                self.set_name(id, &name);
                self.set_flag(id, ABSORBED);
            }
        }

        // 3. Other typedefs.
        for &id in &items {
            if self.kind(id) != Kind::Typedef || self.is_absorbed(id) {
                continue;
            }
            let ty = self.ty(id)?;
            let name = self.plain_at(ty.name_off()).1;
            let chosen = if scope.try_take_cow(name.clone()) {
                name
            } else {
                Cow::Owned(scope.take_numbered(&format!("{name}__typedef"), "_"))
            };
            self.set_name(id, &chosen);
        }

        // 4. Anonymous types held by members: `parent__member`, `parent__anon_N`.
        for &id in &items {
            if self.has_name(id) && matches!(self.kind(id), Kind::Struct | Kind::Union) {
                self.name_children(id, &mut scope, 0)?;
            }
        }

        // 5. The rest (anonymous types reached only through function
        //    prototypes, or not at all): after their first member.
        for &id in &items {
            if self.has_name(id) {
                continue;
            }
            let ty = self.ty(id)?;
            let (prefix, first) = match ty.kind() {
                Kind::Struct | Kind::Union => {
                    let first = ty.members().next().map(|m| self.str_at(m.name_off));
                    let kind = if ty.kind() == Kind::Struct {
                        "struct"
                    } else {
                        "union"
                    };
                    (kind, first)
                }
                Kind::Enum | Kind::Enum64 => {
                    self.set_flag(id, ENUM_AS_INT);
                    (
                        "enum",
                        ty.enum_values().next().map(|v| self.str_at(v.name_off)),
                    )
                }
                _ => ("type", None),
            };
            let base = match first {
                Some(f) if !f.is_empty() => format!("__anon_{prefix}__{}", plain(f)),
                _ => format!("__anon_{prefix}"),
            };
            let chosen = scope.take_numbered(&base, "___");
            self.set_name(id, &chosen);
            let is_composite = ty.is_composite();
            if is_composite {
                self.name_children(id, &mut scope, 0)?;
            }
        }
        Ok(())
    }

    /// Names the anonymous types that `parent`'s members hold.
    fn name_children(
        &mut self,
        parent: TypeId,
        scope: &mut Scope,
        depth: u32,
    ) -> Result<(), Error> {
        if depth > MAX_DEPTH {
            return Ok(());
        }
        let ty = self.ty(parent)?;
        let mut anon_index = 0;
        for m in ty.members() {
            let anonymous = !self.name_nonempty(m.name_off);
            if anonymous {
                anon_index += 1;
            }
            let Some(held) = self.held_type(m.type_id)? else {
                continue;
            };
            if self.has_name(held) || !self.is_item(held) {
                continue;
            }
            let held_ty = self.ty(held)?;
            if held_ty.name_off() != 0 {
                continue;
            }
            let first = if anonymous {
                match self.first_direct_member(held)? {
                    Some(direct) => Some(direct),
                    None => self.first_named_member(held, 0)?,
                }
            } else {
                None
            };
            let parent_name = self.plain_name(parent);
            let base = if anonymous {
                // After its first named member of its own, else the first
                // found depth-first through anonymous members
                // (`sock_common__skc_addrpair`): what C code names, the same
                // on every kernel that has it, and independent of how many
                // anonymous members come before. A direct member first: an
                // anonymous member that leads its anonymous parent would
                // otherwise repeat the parent's suffix
                // (`mm_struct__mm_count__mm_count`).
                match first {
                    Some(first) => format!("{parent_name}__{}", plain(first)),
                    None => format!("{parent_name}__anon_{anon_index}"),
                }
            } else {
                format!("{parent_name}__{}", plain(self.str_at(m.name_off)))
            };
            // Deeply nested anonymous types would get ever longer names.
            let base = if base.len() > crate::MAX_NAME_LEN {
                "__anon_nested".to_string()
            } else {
                base
            };
            let chosen = scope.take_numbered(&base, "___");
            self.set_name(held, &chosen);
            if held_ty.is_composite() {
                self.name_children(held, scope, depth + 1)?;
            }
        }
        Ok(())
    }

    /// The first named member of struct or union `id` itself (not inside
    /// its anonymous members).
    fn first_direct_member(&self, id: TypeId) -> Result<Option<&'a str>, Error> {
        let ty = self.ty(id)?;
        if !ty.is_composite() {
            return Ok(None);
        }
        Ok(ty
            .members()
            .map(|m| self.str_at(m.name_off))
            .find(|name| !name.is_empty()))
    }

    /// The first named member of struct or union `id`, looking into leading
    /// anonymous members (their own first named member) depth-first.
    fn first_named_member(&mut self, id: TypeId, depth: u32) -> Result<Option<&'a str>, Error> {
        if depth > MAX_DEPTH {
            return Ok(None);
        }
        let ty = self.ty(id)?;
        if !ty.is_composite() {
            return Ok(None);
        }
        for m in ty.members() {
            let name = self.str_at(m.name_off);
            if !name.is_empty() {
                return Ok(Some(name));
            }
            if let Some(held) = self.held_type(m.type_id)? {
                if let Some(n) = self.first_named_member(held, depth + 1)? {
                    return Ok(Some(n));
                }
            }
        }
        Ok(None)
    }

    /// The struct, union or enum a member's type holds through modifiers,
    /// arrays and pointers (not typedefs).
    fn held_type(&mut self, id: TypeId) -> Result<Option<TypeId>, Error> {
        match self.held.get(id as usize) {
            Some(&NONE) => return Ok(None),
            Some(&h) if h != 0 => return Ok(Some(h)),
            _ => {}
        }
        let held = self.held_type_walk(id)?;
        if let Some(slot) = self.held.get_mut(id as usize) {
            *slot = held.unwrap_or(NONE);
        }
        Ok(held)
    }

    fn held_type_walk(&self, id: TypeId) -> Result<Option<TypeId>, Error> {
        let mut id = id;
        for _ in 0..MAX_DEPTH {
            let ty = self.ty(id)?;
            match ty.kind() {
                Kind::Struct | Kind::Union | Kind::Enum | Kind::Enum64 => return Ok(Some(id)),
                Kind::Const | Kind::Volatile | Kind::Restrict | Kind::TypeTag | Kind::Ptr => {
                    id = ty.size_or_type();
                }
                Kind::Array => match ty.array() {
                    Some(a) => id = a.elem_type,
                    None => return Ok(None),
                },
                _ => return Ok(None),
            }
        }
        Ok(None)
    }

    /// How many enumerators the anonymous enums among the items have.
    pub(crate) fn anon_enumerators(&self) -> usize {
        self.items
            .iter()
            .filter(|&&id| matches!(self.kind(id), Kind::Enum | Kind::Enum64))
            .filter_map(|&id| self.btf.type_by_id(id).ok())
            .filter(|t| matches!(t.kind(), Kind::Enum | Kind::Enum64) && t.name_off() == 0)
            .map(|t| usize::from(t.vlen()))
            .sum()
    }

    /// The members of a struct or union, in BTF order, into `out` (cleared
    /// first): the one walk over members both layouts make. `names` is a
    /// buffer reused from call to call.
    pub(crate) fn members_into(
        &self,
        ty: &Type<'_>,
        names: &mut Vec<(&'a str, Cow<'a, str>)>,
        out: &mut Vec<Member<'a>>,
    ) {
        out.clear();
        self.member_names_into(ty, names);
        out.extend(
            ty.members()
                .zip(names.drain(..))
                .map(|(m, (btf_name, plain))| {
                    let (bit_offset, bits) = self.member_bits(ty, &m);
                    Member {
                        plain,
                        btf_name,
                        type_id: m.type_id,
                        bit_offset,
                        bits,
                    }
                }),
        );
    }

    /// The enumerators of an enum, in BTF order: each value, and its plain
    /// Rust name (duplicates get `_2`, `_3`).
    pub(crate) fn enumerators(&self, ty: &Type<'_>) -> Vec<(u64, Cow<'a, str>)> {
        let mut names: Vec<(&str, Cow<'_, str>)> = ty
            .enum_values()
            .map(|v| self.plain_at(v.name_off))
            .collect();
        dedup_in_order(&mut names, "_");
        ty.enum_values()
            .zip(names)
            .map(|(v, (_, name))| (v.value, name))
            .collect()
    }

    /// The plain Rust names of a composite's members, in BTF order:
    /// anonymous members are `__anon_N`, duplicates get `_2`, `_3`.
    /// Into `out` (cleared first), each with the member's raw BTF name.
    fn member_names_into(&self, ty: &Type<'_>, out: &mut Vec<(&'a str, Cow<'a, str>)>) {
        out.clear();
        let mut anon = 0;
        // Whether a member's own name could be an anonymous member's.
        let mut clash = false;
        for m in ty.members() {
            let (raw, p) = self.plain_at(m.name_off);
            if raw.is_empty() {
                anon += 1;
                let mut n = String::with_capacity(10);
                n.push_str("__anon_");
                push_u64(&mut n, anon);
                out.push((raw, Cow::Owned(n)));
            } else {
                clash |= p.starts_with("__anon_");
                out.push((raw, p));
            }
        }
        if clash && anon > 0 {
            // `__anon_N` is taken by a member's own name: the next free one
            // with `_` appended (the names as they were before numbering).
            let mut raw_names = HashSet::default();
            for m in ty.members() {
                raw_names.insert(plain(self.str_at(m.name_off)));
            }
            for (raw, n) in out.iter_mut() {
                if raw.is_empty() {
                    while raw_names.contains(&**n) {
                        n.to_mut().push('_');
                    }
                }
            }
        }
        dedup_in_order(out, "_");
    }

    /// A member's bit offset and bitfield width (0: not a bitfield), with
    /// old-style bitfields (the width in the int type, no kflag) decoded.
    fn member_bits(&self, ty: &Type<'_>, m: &btfkit_model::Member) -> (u64, u32) {
        let mut bit_offset = u64::from(m.bit_offset);
        let mut bits = m.bitfield_size;
        if !ty.kflag() {
            // 0: a whole int or no int; else 1 << 16 | offset << 8 | bits.
            let cached = self.int_bits.borrow().get(m.type_id as usize).copied();
            let found = match cached {
                Some(v) if v != 0 => v - 1,
                _ => {
                    let mut v = 0;
                    if let Ok(t) = self.btf.skip_mods_and_typedefs(m.type_id) {
                        if let (Some(int), Some(sz)) = (t.int(), t.size()) {
                            if u64::from(int.bits) != u64::from(sz) * 8 || int.offset != 0 {
                                // Both fields are 8 bits wide in the record.
                                v = 1 << 16 | (int.offset & 0xff) << 8 | (int.bits & 0xff);
                            }
                        }
                    }
                    if let Some(c) = self.int_bits.borrow_mut().get_mut(m.type_id as usize) {
                        *c = v + 1;
                    }
                    v
                }
            };
            if found != 0 {
                bits = found & 0xff;
                bit_offset += u64::from((found >> 8) & 0xff);
            }
        }
        (bit_offset, bits)
    }

    /// The Rust identifier of an item (`r#` included).
    pub(crate) fn name(&self, id: TypeId) -> Cow<'_, str> {
        // A forward declaration with a definition never has a name itself.
        if let Some(n) = self.name_of(id) {
            return Cow::Borrowed(n);
        }
        let id = self.fwd_def.get(&id).copied().unwrap_or(id);
        match self.name_of(id) {
            Some(n) => Cow::Borrowed(n),
            None => Cow::Owned(format!("__btf_type_{id}")),
        }
    }

    fn name_of(&self, id: TypeId) -> Option<&str> {
        let &n = self.names.get(id as usize)?;
        let (start, len) = ((n >> 16) as usize, (n & 0xffff) as usize);
        if len == 0 {
            return None;
        }
        self.name_text.get(start..start + len)
    }

    /// The item's identifier without `r#`.
    pub(crate) fn plain_name(&self, id: TypeId) -> Cow<'_, str> {
        match self.name(id) {
            Cow::Borrowed(n) => Cow::Borrowed(n.strip_prefix("r#").unwrap_or(n)),
            Cow::Owned(n) => Cow::Owned(n),
        }
    }

    /// Whether a typedef is emitted as the type it names.
    pub(crate) fn is_absorbed(&self, id: TypeId) -> bool {
        self.flag(id, ABSORBED)
    }

    /// A struct or union written as an opaque pointee.
    pub(crate) fn is_opaque(&self, id: TypeId) -> bool {
        self.flag(id, OPAQUE)
    }

    /// Whether an anonymous enum is used as its integer type (no type of its own).
    pub(crate) fn is_enum_as_int(&self, id: TypeId) -> bool {
        self.flag(id, ENUM_AS_INT)
    }

    /// A primitive type's spelling: qualified when a generated type of that
    /// name is not the primitive itself (a typedef of it is: `u8` may name
    /// `typedef __u8 u8`).
    pub(crate) fn prim(&self, p: &'static str) -> &'static str {
        self.prim_q(p, false)
    }

    /// [`Plan::prim`], or qualified whenever a generated name shadows it
    /// (`strict`: in typedef definitions, where `pub type __u8 = u8;` beside
    /// `pub type u8 = __u8;` would be a cycle).
    fn prim_q(&self, p: &'static str, strict: bool) -> &'static str {
        let set = if strict { self.shadowed } else { self.harmful };
        if set != 0 {
            if let Some(i) = PRIMITIVES.iter().position(|q| *q == p) {
                if set & (1 << i) != 0 {
                    return QUALIFIED[i];
                }
            }
        }
        p
    }

    /// Whether an INT maps to a signed Rust integer. C's plain `char` is
    /// always `u8`, whatever its BTF says: kernels disagree on its
    /// signedness (pahole writes what the compiler chose, and `-funsigned-char`
    /// came with 6.2), and bindings must not change type from one kernel to
    /// the next (`comm: [u8; 16]` everywhere). `signed char` and `unsigned
    /// char` keep theirs.
    pub(crate) fn int_signed(&self, ty: &Type<'_>) -> bool {
        let Some(int) = ty.int() else { return false };
        if ty.size() == Some(1) && self.str_at(ty.name_off()) == "char" {
            return false;
        }
        int.encoding.is_signed()
    }

    /// The Rust integer type for an integer of `size` bytes.
    pub(crate) fn int_ty(&self, size: u32, signed: bool) -> RTy {
        self.int_ty_q(size, signed, false)
    }

    fn int_ty_q(&self, size: u32, signed: bool, strict: bool) -> RTy {
        match int_prim(size, signed) {
            Some(p) => RTy::Path(self.prim_q(p, strict).to_string()),
            None => RTy::Array {
                elem: Box::new(RTy::Path(self.prim_q("u8", strict).to_string())),
                len: u64::from(size),
            },
        }
    }

    /// The Rust type for a BTF type id in a field or parameter.
    pub(crate) fn rty(&self, id: TypeId) -> RTy {
        self.rty_at(id, 0, false)
    }

    /// The Rust type a typedef stands for (`pub type X = ...;`): primitives
    /// are qualified whenever a generated name shadows them.
    pub(crate) fn rty_alias(&self, id: TypeId) -> RTy {
        self.rty_at(id, 0, true)
    }

    /// Appends the Rust type for a BTF type id on one line (the text of
    /// `rty(id).one_line()`, or of [`Plan::rty_alias`] when `strict`), and
    /// fails once `s` is longer than `limit` (the output budget left): a
    /// small BTF can describe exponentially long types (a prototype whose
    /// parameters point to itself).
    pub(crate) fn write_ty(
        &self,
        s: &mut String,
        id: TypeId,
        strict: bool,
        limit: usize,
    ) -> Result<(), Error> {
        // Field types repeat (`u32`, `*mut task_struct`): their text is kept
        // per type id (the same text every time: the plan does not change).
        if !strict {
            let memo = self.ty_memo.borrow();
            if let Some(&span) = memo.spans.get(id as usize) {
                if span != 0 {
                    let (start, len) = ((span >> 24) as usize, ((span & 0xff_ffff) - 1) as usize);
                    let text = memo.text.get(start..start + len).unwrap_or("");
                    if s.len() + text.len() > limit {
                        return Err(self.budget_error());
                    }
                    s.push_str(text);
                    return Ok(());
                }
            }
        }
        let from = s.len();
        self.write_ty_at(s, id, 0, strict, limit)?;
        if s.len() > limit {
            return Err(self.budget_error());
        }
        if !strict {
            let mut memo = self.ty_memo.borrow_mut();
            let TyMemo { spans, text } = &mut *memo;
            if let (Some(span), Some(new)) = (spans.get_mut(id as usize), s.get(from..)) {
                if new.len() < 0xff_ffff && (text.len() as u64) < 1 << 40 {
                    *span = (text.len() as u64) << 24 | (new.len() as u64 + 1);
                    text.push_str(new);
                }
            }
        }
        Ok(())
    }

    /// One level of the type `id` (`depth` levels down), as both
    /// [`Plan::write_ty`] and [`Plan::rty`] spell it: the one place that
    /// reads BTF types as Rust field types.
    fn shape(&self, id: TypeId, depth: u32, strict: bool) -> Shape<'a> {
        let unit = Shape::Path("()");
        if depth > MAX_DEPTH {
            return unit;
        }
        let Ok(ty) = self.btf.type_by_id(id) else {
            return unit;
        };
        match ty.kind() {
            Kind::Void => Shape::Path("::core::ffi::c_void"),
            Kind::Int => {
                let size = ty.size().unwrap_or(0);
                if ty.int().is_some_and(|i| i.encoding.is_bool()) && size == 1 {
                    return Shape::Path(self.prim_q("bool", strict));
                }
                Shape::Int {
                    size,
                    signed: self.int_signed(&ty),
                }
            }
            Kind::Float => match ty.size().unwrap_or(0) {
                4 => Shape::Path(self.prim_q("f32", strict)),
                8 => Shape::Path(self.prim_q("f64", strict)),
                size => Shape::Int {
                    size,
                    signed: false,
                },
            },
            Kind::Ptr => {
                let target = ty.size_or_type();
                if let Ok(t) = self.btf.skip_mods_and_typedefs(target) {
                    if t.kind() == Kind::FuncProto {
                        return Shape::Fn(t);
                    }
                }
                Shape::Ptr {
                    mutable: !self.points_to_const(target),
                    target,
                }
            }
            Kind::Array => match ty.array() {
                Some(a) => Shape::Array {
                    elem: a.elem_type,
                    len: u64::from(a.nelems),
                },
                None => unit,
            },
            Kind::Enum | Kind::Enum64 if self.is_enum_as_int(id) => Shape::Int {
                size: ty.size().unwrap_or(4),
                signed: ty.enum_signed(),
            },
            Kind::Struct | Kind::Union | Kind::Enum | Kind::Enum64 | Kind::Fwd | Kind::Typedef => {
                Shape::Item(id)
            }
            Kind::Const | Kind::Volatile | Kind::Restrict | Kind::TypeTag => {
                Shape::Same(ty.size_or_type())
            }
            Kind::FuncProto => Shape::Fn(ty),
            _ => unit,
        }
    }

    /// A function pointer's parameters and return type; `None` when it is
    /// `*mut c_void`: C-variadic pointers need a named parameter, and the
    /// btf crate knows function pointers of up to 7 parameters and no
    /// variadic ones.
    fn fn_sig(&self, proto: &Type<'_>) -> Option<FnSig> {
        let count = proto.vlen() as usize;
        let mut params = Vec::with_capacity(count);
        let mut variadic = false;
        for (i, p) in proto.params().enumerate() {
            if p.type_id == 0 && i + 1 == count {
                variadic = true;
            } else {
                params.push(p.type_id);
            }
        }
        if variadic && params.is_empty()
            || self.layout == Layout::Relocatable && (variadic || params.len() > 7)
        {
            return None;
        }
        let ret = match proto.ref_type() {
            Some(0) | None => None,
            Some(r) => Some(r),
        };
        Some(FnSig {
            params,
            variadic,
            ret,
        })
    }

    fn write_ty_at(
        &self,
        s: &mut String,
        id: TypeId,
        depth: u32,
        strict: bool,
        limit: usize,
    ) -> Result<(), Error> {
        if s.len() > limit {
            return Err(self.budget_error());
        }
        match self.shape(id, depth, strict) {
            Shape::Path(p) => s.push_str(p),
            Shape::Item(id) => s.push_str(&self.name(id)),
            Shape::Int { size, signed } => match int_prim(size, signed) {
                Some(p) => s.push_str(self.prim_q(p, strict)),
                None => {
                    s.push('[');
                    s.push_str(self.prim_q("u8", strict));
                    s.push_str("; ");
                    push_u64(s, u64::from(size));
                    s.push(']');
                }
            },
            Shape::Ptr { mutable, target } => {
                s.push_str(if mutable { "*mut " } else { "*const " });
                self.write_ty_at(s, target, depth + 1, strict, limit)?;
            }
            Shape::Array { elem, len } => {
                s.push('[');
                self.write_ty_at(s, elem, depth + 1, strict, limit)?;
                s.push_str("; ");
                push_u64(s, len);
                s.push(']');
            }
            Shape::Same(inner) => self.write_ty_at(s, inner, depth + 1, strict, limit)?,
            Shape::Fn(proto) => {
                let Some(sig) = self.fn_sig(&proto) else {
                    s.push_str("*mut ::core::ffi::c_void");
                    return Ok(());
                };
                s.push_str("Option<unsafe extern \"C\" fn(");
                for (i, &p) in sig.params.iter().enumerate() {
                    if i > 0 {
                        s.push_str(", ");
                    }
                    self.write_ty_at(s, p, depth + 1, strict, limit)?;
                }
                if sig.variadic {
                    s.push_str(", ...");
                }
                s.push(')');
                if let Some(r) = sig.ret {
                    s.push_str(" -> ");
                    self.write_ty_at(s, r, depth + 1, strict, limit)?;
                }
                s.push('>');
            }
        }
        Ok(())
    }

    fn rty_at(&self, id: TypeId, depth: u32, strict: bool) -> RTy {
        match self.shape(id, depth, strict) {
            Shape::Path(p) => RTy::Path(p.to_string()),
            Shape::Item(id) => RTy::Path(self.name(id).into_owned()),
            Shape::Int { size, signed } => self.int_ty_q(size, signed, strict),
            Shape::Ptr { mutable, target } => RTy::Ptr {
                mutable,
                inner: Box::new(self.rty_at(target, depth + 1, strict)),
            },
            Shape::Array { elem, len } => RTy::Array {
                elem: Box::new(self.rty_at(elem, depth + 1, strict)),
                len,
            },
            Shape::Same(inner) => self.rty_at(inner, depth + 1, strict),
            Shape::Fn(proto) => match self.fn_sig(&proto) {
                None => RTy::Ptr {
                    mutable: true,
                    inner: Box::new(RTy::Path("::core::ffi::c_void".to_string())),
                },
                Some(sig) => RTy::FnPtr {
                    params: (sig.params.iter())
                        .map(|&p| self.rty_at(p, depth + 1, strict))
                        .collect(),
                    variadic: sig.variadic,
                    ret: sig.ret.map(|r| Box::new(self.rty_at(r, depth + 1, strict))),
                },
            },
        }
    }

    /// Whether a pointer's target is `const` (through modifiers and type tags).
    fn points_to_const(&self, mut id: TypeId) -> bool {
        for _ in 0..MAX_DEPTH {
            let Ok(t) = self.btf.type_by_id(id) else {
                return false;
            };
            match t.kind() {
                Kind::Const => return true,
                Kind::Volatile | Kind::Restrict | Kind::TypeTag => id = t.size_or_type(),
                _ => return false,
            }
        }
        false
    }
}

/// One level of a field type ([`Plan::shape`]).
enum Shape<'a> {
    /// A path or primitive.
    Path(&'static str),
    /// An emitted item, by its name.
    Item(TypeId),
    /// An integer of `size` bytes (`[u8; size]` when Rust has none).
    Int {
        size: u32,
        signed: bool,
    },
    Ptr {
        mutable: bool,
        target: TypeId,
    },
    Array {
        elem: TypeId,
        len: u64,
    },
    /// What a modifier or type tag leaves as it is.
    Same(TypeId),
    /// A function pointer, from its prototype.
    Fn(Type<'a>),
}

/// What [`Plan::fn_sig`] finds.
struct FnSig {
    /// Parameter types (without a trailing `...`).
    params: Vec<TypeId>,
    /// A trailing `...`.
    variadic: bool,
    /// Return type (`None`: void).
    ret: Option<TypeId>,
}

/// The Rust integer of `size` bytes (`None`: there is none).
fn int_prim(size: u32, signed: bool) -> Option<&'static str> {
    Some(match (size, signed) {
        (1, false) => "u8",
        (1, true) => "i8",
        (2, false) => "u16",
        (2, true) => "i16",
        (4, false) => "u32",
        (4, true) => "i32",
        (8, false) => "u64",
        (8, true) => "i64",
        (16, false) => "u128",
        (16, true) => "i128",
        _ => return None,
    })
}

/// [`crate::MAX_OUTPUT_PER_INPUT_BYTE`] times the size of the BTF (base
/// included; types counted at 16 bytes or their section's size), plus 1 MiB.
fn output_budget(btf: &Btf<'_>) -> usize {
    let mut input = 0usize;
    let mut b = Some(btf);
    while let Some(x) = b {
        let types = (x.header().type_len as usize).max(x.own_type_count().saturating_mul(16));
        input = input
            .saturating_add(x.string_section().len())
            .saturating_add(types);
        b = x.base().map(|a| &**a);
    }
    input
        .saturating_mul(crate::MAX_OUTPUT_PER_INPUT_BYTE)
        .saturating_add(1 << 20)
}

/// The first string offset of a BTF's own strings (past its bases').
fn str_start(btf: &Btf<'_>) -> u32 {
    let mut start = 0u32;
    let mut b = btf.base();
    while let Some(x) = b {
        start = start.saturating_add(x.string_section().len() as u32);
        b = x.base();
    }
    start
}

/// Whether a string section of `btf` or its bases may have a string (a run
/// of bytes without NUL) longer than [`crate::MAX_NAME_LEN`]: every name is
/// a part of one, so without one no name can be. A run of more than
/// `2 * HALF` bytes holds a whole window of `HALF + 1` bytes starting at a
/// multiple of `HALF`, so windows that all hold a NUL rule it out (a window
/// without one may be a shorter run: then every name is checked).
fn long_names(btf: &Btf<'_>) -> bool {
    const HALF: usize = crate::MAX_NAME_LEN / 2;
    let mut b = Some(btf);
    while let Some(x) = b {
        let table = x.string_section();
        let mut at = 0;
        while let Some(window) = table.get(at..at + HALF + 1) {
            if memchr::memchr(0, window).is_none() {
                return true;
            }
            at += HALF;
        }
        b = x.base().map(|a| &**a);
    }
    false
}

/// The raw kind of every type, by id (void for 0 and unreadable ids).
fn kinds(btf: &Btf<'_>) -> Vec<u8> {
    let mut kinds = vec![0; btf.last_id() as usize + 1];
    for (id, k) in btf.type_ids().zip(kinds.iter_mut().skip(1)) {
        if let Ok(ty) = btf.type_by_id(id) {
            *k = ty.kind().raw();
        }
    }
    kinds
}
