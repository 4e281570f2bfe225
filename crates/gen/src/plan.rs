//! What to emit and what to call it: the types reachable from the roots,
//! forward declarations resolved to their definitions, and a stable Rust
//! name for every emitted type (anonymous ones included).

use crate::names::{FxHashMap as HashMap, FxHashSet as HashSet};

use btfkit_model::{Btf, Kind, Type, TypeId};

use crate::names::{ident, plain, Scope, PRIMITIVES};
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
    /// Rust identifier (`r#` included) of each named item, by type id.
    names: Vec<Option<String>>,
    /// Forward declarations with a definition in this BTF.
    fwd_def: HashMap<TypeId, TypeId>,
    /// Typedefs whose name went to the type they name (emitted as that type).
    absorbed: HashSet<TypeId>,
    /// Anonymous enums without a type of their own: used as their integer.
    enum_as_int: HashSet<TypeId>,
    /// Primitive names that generated types shadow.
    shadowed: HashSet<&'static str>,
    /// Shadowed primitive names whose generated type is not that primitive
    /// (`struct u8`, not `typedef unsigned char u8`): always qualified.
    harmful: HashSet<&'static str>,
    /// Most bytes of output ([`crate::MAX_OUTPUT_PER_INPUT_BYTE`] times the input).
    budget: usize,
}

impl<'a, 'b> Plan<'a, 'b> {
    /// Reachability and names for `opts`.
    pub(crate) fn new(btf: &'a Btf<'b>, opts: &Options) -> Result<Plan<'a, 'b>, Error> {
        let mut plan = Plan {
            btf,
            layout: opts.layout,
            items: Vec::new(),
            names: vec![None; btf.last_id() as usize + 1],
            fwd_def: HashMap::default(),
            absorbed: HashSet::default(),
            enum_as_int: HashSet::default(),
            shadowed: HashSet::default(),
            harmful: HashSet::default(),
            budget: output_budget(btf),
        };
        let roots = plan.roots(&opts.roots)?;
        plan.reach(roots)?;
        plan.assign_names()?;
        plan.find_harmful_shadows()?;
        Ok(plan)
    }

    /// Fails once `out` is past the output budget (checked after each item).
    pub(crate) fn check_budget(&self, out: &str) -> Result<(), Error> {
        if out.len() > self.budget {
            return Err(Error::Limit(format!(
                "the bindings exceed {} bytes ({} per byte of BTF, MAX_OUTPUT_PER_INPUT_BYTE)",
                self.budget,
                crate::MAX_OUTPUT_PER_INPUT_BYTE
            )));
        }
        Ok(())
    }

    /// Fails on a name longer than [`crate::MAX_NAME_LEN`].
    fn check_name(&self, id: TypeId, off: u32, what: &str) -> Result<(), Error> {
        let len = self.str_at(off).len();
        if len > crate::MAX_NAME_LEN {
            return Err(Error::Limit(format!(
                "type [{id}]: {what} name of {len} bytes is longer than {} (MAX_NAME_LEN)",
                crate::MAX_NAME_LEN
            )));
        }
        Ok(())
    }

    fn ty(&self, id: TypeId) -> Result<Type<'a>, Error> {
        Ok(self.btf.type_by_id(id)?)
    }

    /// The raw BTF name of a type ("" when anonymous or unreadable).
    pub(crate) fn raw_name(&self, ty: &Type<'_>) -> &'a str {
        self.btf.name(ty.name_off()).unwrap_or("")
    }

    /// The raw name at a string offset ("" when unreadable).
    pub(crate) fn str_at(&self, off: u32) -> &'a str {
        self.btf.name(off).unwrap_or("")
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
                if emittable(self.ty(id)?.kind()) {
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

    /// Marks everything `roots` reach and resolves forward declarations.
    fn reach(&mut self, roots: Vec<TypeId>) -> Result<(), Error> {
        let n = self.btf.last_id() as usize + 1;
        let mut seen = vec![false; n];
        let mut work = roots;
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
                    let kind = if ty.fwd_is_union() {
                        Kind::Union
                    } else {
                        Kind::Struct
                    };
                    if !name.is_empty() {
                        if let Some(&def) = self.btf.find_by_name_kind(name, kind).first() {
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
            let kind = self.ty(id)?.kind();
            let item = match kind {
                Kind::Struct | Kind::Union | Kind::Enum | Kind::Enum64 | Kind::Typedef => true,
                Kind::Fwd => !self.fwd_def.contains_key(&id),
                _ => false,
            };
            if item {
                self.items.push(id);
            }
        }
        Ok(())
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
                && !self.absorbed.contains(&id)
                && self
                    .btf
                    .skip_mods_and_typedefs(ty.size_or_type())
                    .is_ok_and(|t| {
                        matches!(t.kind(), Kind::Int | Kind::Float)
                            && self.rty_at(t.id(), 0, false).one_line() == *p
                    });
            if !same {
                self.harmful.insert(p);
            }
        }
        Ok(())
    }

    fn set_name(&mut self, id: TypeId, plain_name: &str) {
        if PRIMITIVES.contains(&plain_name) {
            if let Some(p) = PRIMITIVES.iter().find(|p| **p == plain_name) {
                self.shadowed.insert(p);
            }
        }
        if let Some(slot) = self.names.get_mut(id as usize) {
            *slot = Some(ident(plain_name));
        }
    }

    fn has_name(&self, id: TypeId) -> bool {
        self.names.get(id as usize).is_some_and(Option::is_some)
    }

    fn is_item(&self, id: TypeId) -> bool {
        self.items.binary_search(&id).is_ok()
    }

    fn assign_names(&mut self) -> Result<(), Error> {
        let mut scope = Scope::default();
        // Names the generated code uses unqualified.
        scope.try_take("Option");
        // The module of the fixed layout's bitfield helpers.
        scope.try_take("__btfkit_bitfield");
        let items = self.items.clone();

        // 1. Named structs, unions, enums and opaque forward declarations keep
        //    their BTF name (relocatable types must: it is their BTF name);
        //    struct first, then union, enum, fwd; duplicates get a flavor.
        let mut tags = Vec::new();
        for &id in &items {
            let ty = self.ty(id)?;
            let rank = match ty.kind() {
                Kind::Struct => 0,
                Kind::Union => 1,
                Kind::Enum | Kind::Enum64 => 2,
                Kind::Fwd => 3,
                _ => continue,
            };
            let raw = self.raw_name(&ty);
            if !raw.is_empty() {
                tags.push((rank, id, plain(raw)));
            }
        }
        tags.sort();
        let mut first_kind: HashMap<String, u8> = HashMap::default();
        for (rank, id, name) in tags {
            let chosen = if scope.try_take(&name) {
                first_kind.insert(name.clone(), rank);
                name
            } else if first_kind.get(&name) == Some(&rank) {
                scope.take_numbered(&name, "___")
            } else {
                let kind = match rank {
                    0 => "struct",
                    1 => "union",
                    2 => "enum",
                    _ => "fwd",
                };
                scope.take_numbered(&format!("{name}___{kind}"), "_")
            };
            self.set_name(id, &chosen);
        }

        // 2. Typedefs of anonymous types give them their name; typedefs of a
        //    type of the same name (`typedef struct foo foo`) vanish.
        for &id in &items {
            let ty = self.ty(id)?;
            if ty.kind() != Kind::Typedef {
                continue;
            }
            let name = plain(self.raw_name(&ty));
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
                self.absorbed.insert(id);
            } else if self.has_name(tid) && self.plain_name(tid) == name {
                self.set_name(id, &name);
                self.absorbed.insert(id);
            }
        }

        // 3. Other typedefs.
        for &id in &items {
            let ty = self.ty(id)?;
            if ty.kind() != Kind::Typedef || self.absorbed.contains(&id) {
                continue;
            }
            let name = plain(self.raw_name(&ty));
            let chosen = if scope.try_take(&name) {
                name
            } else {
                scope.take_numbered(&format!("{name}__typedef"), "_")
            };
            self.set_name(id, &chosen);
        }

        // 4. Anonymous types held by members: `parent__member`, `parent__anon_N`.
        for &id in &items {
            if self.has_name(id) && self.ty(id)?.is_composite() {
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
                    self.enum_as_int.insert(id);
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
        let parent_name = self.plain_name(parent);
        let ty = self.ty(parent)?;
        let mut anon_index = 0;
        for m in ty.members() {
            let member = self.str_at(m.name_off);
            if member.is_empty() {
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
            let base = if member.is_empty() {
                format!("{parent_name}__anon_{anon_index}")
            } else {
                format!("{parent_name}__{}", plain(member))
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

    /// The struct, union or enum a member's type holds through modifiers,
    /// arrays and pointers (not typedefs).
    fn held_type(&self, id: TypeId) -> Result<Option<TypeId>, Error> {
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

    /// The plain Rust names of a composite's members, in BTF order:
    /// anonymous members are `__anon_N`, duplicates get `_2`, `_3`.
    pub(crate) fn member_names(&self, ty: &Type<'_>) -> Vec<String> {
        let mut raw_names = HashSet::default();
        for m in ty.members() {
            raw_names.insert(plain(self.str_at(m.name_off)));
        }
        let mut scope = Scope::default();
        let mut anon = 0;
        let mut out = Vec::with_capacity(ty.vlen() as usize);
        for m in ty.members() {
            let raw = self.str_at(m.name_off);
            let base = if raw.is_empty() {
                anon += 1;
                let mut n = format!("__anon_{anon}");
                while raw_names.contains(&n) {
                    n.push('_');
                }
                n
            } else {
                plain(raw)
            };
            out.push(scope.take_numbered(&base, "_"));
        }
        out
    }

    /// A member's bit offset and bitfield width (0: not a bitfield), with
    /// old-style bitfields (the width in the int type, no kflag) decoded.
    pub(crate) fn member_bits(&self, ty: &Type<'_>, m: &btfkit_model::Member) -> (u64, u32) {
        let mut bit_offset = u64::from(m.bit_offset);
        let mut bits = m.bitfield_size;
        if !ty.kflag() {
            if let Ok(t) = self.btf.skip_mods_and_typedefs(m.type_id) {
                if let (Some(int), Some(sz)) = (t.int(), t.size()) {
                    if u64::from(int.bits) != u64::from(sz) * 8 || int.offset != 0 {
                        bits = int.bits;
                        bit_offset += u64::from(int.offset);
                    }
                }
            }
        }
        (bit_offset, bits)
    }

    /// The Rust identifier of an item (`r#` included).
    pub(crate) fn name(&self, id: TypeId) -> String {
        let id = self.fwd_def.get(&id).copied().unwrap_or(id);
        self.names
            .get(id as usize)
            .and_then(Clone::clone)
            .unwrap_or_else(|| format!("__btf_type_{id}"))
    }

    /// The item's identifier without `r#`.
    pub(crate) fn plain_name(&self, id: TypeId) -> String {
        let n = self.name(id);
        n.strip_prefix("r#").map(str::to_string).unwrap_or(n)
    }

    /// Whether a typedef is emitted as the type it names.
    pub(crate) fn is_absorbed(&self, id: TypeId) -> bool {
        self.absorbed.contains(&id)
    }

    /// Whether an anonymous enum is used as its integer type (no type of its own).
    pub(crate) fn is_enum_as_int(&self, id: TypeId) -> bool {
        self.enum_as_int.contains(&id)
    }

    /// A primitive type's spelling: qualified when a generated type of that
    /// name is not the primitive itself (a typedef of it is: `u8` may name
    /// `typedef __u8 u8`).
    pub(crate) fn prim(&self, p: &'static str) -> String {
        self.prim_q(p, false)
    }

    /// [`Plan::prim`], or qualified whenever a generated name shadows it
    /// (`strict`: in typedef definitions, where `pub type __u8 = u8;` beside
    /// `pub type u8 = __u8;` would be a cycle).
    fn prim_q(&self, p: &'static str, strict: bool) -> String {
        let set = if strict {
            &self.shadowed
        } else {
            &self.harmful
        };
        if set.contains(p) {
            format!("::core::primitive::{p}")
        } else {
            p.to_string()
        }
    }

    /// The Rust integer type for an integer of `size` bytes.
    pub(crate) fn int_ty(&self, size: u32, signed: bool) -> RTy {
        self.int_ty_q(size, signed, false)
    }

    fn int_ty_q(&self, size: u32, signed: bool, strict: bool) -> RTy {
        let p = match (size, signed) {
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
            _ => {
                return RTy::Array {
                    elem: Box::new(RTy::Path(self.prim_q("u8", strict))),
                    len: u64::from(size),
                }
            }
        };
        RTy::Path(self.prim_q(p, strict))
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

    fn rty_at(&self, id: TypeId, depth: u32, strict: bool) -> RTy {
        let unit = || RTy::Path("()".to_string());
        if depth > MAX_DEPTH {
            return unit();
        }
        let Ok(ty) = self.btf.type_by_id(id) else {
            return unit();
        };
        match ty.kind() {
            Kind::Void => RTy::Path("::core::ffi::c_void".to_string()),
            Kind::Int => {
                let size = ty.size().unwrap_or(0);
                let int = ty.int();
                if int.is_some_and(|i| i.encoding.is_bool()) && size == 1 {
                    return RTy::Path(self.prim_q("bool", strict));
                }
                self.int_ty_q(size, int.is_some_and(|i| i.encoding.is_signed()), strict)
            }
            Kind::Float => match ty.size().unwrap_or(0) {
                4 => RTy::Path(self.prim_q("f32", strict)),
                8 => RTy::Path(self.prim_q("f64", strict)),
                s => self.int_ty_q(s, false, strict),
            },
            Kind::Ptr => {
                let target = ty.size_or_type();
                if let Ok(t) = self.btf.skip_mods_and_typedefs(target) {
                    if t.kind() == Kind::FuncProto {
                        return self.fn_ptr(&t, depth, strict);
                    }
                }
                let mutable = !self.points_to_const(target);
                RTy::Ptr {
                    mutable,
                    inner: Box::new(self.rty_at(target, depth + 1, strict)),
                }
            }
            Kind::Array => match ty.array() {
                Some(a) => RTy::Array {
                    elem: Box::new(self.rty_at(a.elem_type, depth + 1, strict)),
                    len: u64::from(a.nelems),
                },
                None => unit(),
            },
            Kind::Enum | Kind::Enum64 if self.enum_as_int.contains(&id) => {
                self.int_ty_q(ty.size().unwrap_or(4), ty.enum_signed(), strict)
            }
            Kind::Struct | Kind::Union | Kind::Enum | Kind::Enum64 | Kind::Fwd | Kind::Typedef => {
                RTy::Path(self.name(id))
            }
            Kind::Const | Kind::Volatile | Kind::Restrict | Kind::TypeTag => {
                self.rty_at(ty.size_or_type(), depth + 1, strict)
            }
            Kind::FuncProto => self.fn_ptr(&ty, depth, strict),
            _ => unit(),
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

    /// `Option<unsafe extern "C" fn(..) -> R>` for a function prototype.
    fn fn_ptr(&self, proto: &Type<'_>, depth: u32, strict: bool) -> RTy {
        let mut params = Vec::new();
        let mut variadic = false;
        let count = proto.vlen() as usize;
        for (i, p) in proto.params().enumerate() {
            if p.type_id == 0 && i + 1 == count {
                variadic = true;
            } else {
                params.push(self.rty_at(p.type_id, depth + 1, strict));
            }
        }
        let ret = match proto.ref_type() {
            Some(0) | None => None,
            Some(r) => Some(Box::new(self.rty_at(r, depth + 1, strict))),
        };
        let void_ptr = || RTy::Ptr {
            mutable: true,
            inner: Box::new(RTy::Path("::core::ffi::c_void".to_string())),
        };
        // C-variadic pointers need a named parameter; the btf crate knows
        // function pointers of up to 7 parameters and no variadic ones.
        if variadic && params.is_empty()
            || self.layout == Layout::Relocatable && (variadic || params.len() > 7)
        {
            return void_ptr();
        }
        RTy::FnPtr {
            params,
            variadic,
            ret,
        }
    }
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
