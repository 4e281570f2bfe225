//! `--layout fixed`: `#[repr(C)]` types with the BTF's exact layout.
//!
//! Every struct and union is laid out from the BTF member offsets: explicit
//! padding fields where C leaves gaps, bitfield runs in `[u8; N]` storage
//! units with getter/setter methods, `#[repr(C, packed)]` when a member sits
//! below its alignment, `#[repr(C, align(N))]` when the BTF size is only
//! explained by a larger alignment, and a zero-sized `[uN; 0]` field when
//! the C alignment comes from bitfield types the storage units lost. A shape
//! that Rust cannot express becomes opaque bytes of the right size. Each
//! composite asserts its size, alignment and field offsets at compile time.

use crate::names::FxHashSet as HashSet;
use std::borrow::Cow;
use std::fmt::Write as _;

use btfkit_model::{Kind, Type, TypeId};

use crate::names::{ident_cow, push_ident, push_u64, Scope};
use crate::plan::{Member, Plan, MAX_DEPTH};
use crate::render::{assert_line, brace_on_own_line, const_line, newtype_line, typed_line, RTy};
use crate::walk::{self, push_doc_name, push_literal, Emitter, Scratch};
use crate::{Error, Out};

/// Largest alignment Rust accepts in `#[repr(align(N))]`.
const MAX_ALIGN: u64 = 1 << 29;

/// Size and alignment of a Rust type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RLayout {
    size: u64,
    align: u64,
}

/// One bitfield member in a storage unit.
#[derive(Debug, Clone)]
struct BitMember<'a> {
    /// Plain name (for `set_` and docs).
    plain: Cow<'a, str>,
    /// BTF name.
    btf_name: &'a str,
    /// First bit, counted from the start of the storage unit.
    bit: u64,
    /// Width in bits.
    bits: u32,
    /// Declared type.
    type_id: TypeId,
}

/// A name made up for padding or bitfield storage: `base` (`N` = 0) or
/// `base_N`.
#[derive(Debug, Clone, Copy)]
struct Synthesized {
    base: &'static str,
    n: u32,
}

impl std::fmt::Display for Synthesized {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.base)?;
        if self.n != 0 {
            write!(f, "_{}", self.n)?;
        }
        Ok(())
    }
}

impl Synthesized {
    fn push(self, s: &mut String) {
        s.push_str(self.base);
        if self.n != 0 {
            s.push('_');
            push_u64(s, u64::from(self.n));
        }
    }
}

/// One field of the Rust struct or union.
#[derive(Debug, Clone)]
enum Item<'a> {
    /// A member (in an opaque composite: the bytes, `[u8; size]`).
    Field {
        /// Rust identifier (`r#` included).
        ident: Cow<'a, str>,
        type_id: TypeId,
        offset: u64,
        /// The BTF name when the Rust name is another ("": anonymous).
        note: Option<&'a str>,
    },
    /// A bitfield storage unit.
    Bits {
        ident: Synthesized,
        offset: u64,
        len: u64,
        members: Box<[BitMember<'a>]>,
    },
    /// Padding.
    Pad {
        ident: Synthesized,
        offset: u64,
        len: u64,
    },
}

/// How a struct or union is written.
#[derive(Debug, Clone)]
struct Composite<'a> {
    union: bool,
    packed: bool,
    align_attr: Option<u64>,
    /// Alignment given by a leading zero-sized `[uN; 0]` field.
    marker: Option<u64>,
    items: Vec<Item<'a>>,
    size: u64,
    align: u64,
    /// Why the type is opaque bytes, when it is.
    opaque: Option<String>,
}

/// What other layouts need of a composite's.
#[derive(Debug, Clone, Copy)]
struct Summary {
    size: u64,
    align: u64,
    packed: bool,
    /// Whether it has `#[repr(align(N))]`.
    over_aligned: bool,
}

impl Summary {
    fn of(c: &Composite<'_>) -> Summary {
        Summary {
            size: c.size,
            align: c.align,
            packed: c.packed,
            over_aligned: c.align_attr.is_some(),
        }
    }
}

struct Layouts<'p, 'a, 'b> {
    plan: &'p Plan<'a, 'b>,
    /// Per type id, 1 + the index of its layout in `store` (0: none yet).
    done: Vec<u32>,
    /// Laid out composites.
    store: Vec<Composite<'a>>,
    /// Composites being laid out (a by-value cycle when met again).
    busy: Vec<bool>,
    /// Types that may not get `#[repr(align(N))]` (a packed type holds them).
    demoted: HashSet<TypeId>,
    /// Per type id, 1 + its index in `memo` (0: none).
    memo_at: Vec<u32>,
    /// Exact [`Layouts::chain`] answers.
    memo: Vec<Chain>,
    /// Member buffers of finished layouts, for the next ones.
    pool: Vec<Vec<Member<'a>>>,
    /// Member names of the composite being laid out.
    names: Vec<(&'a str, Cow<'a, str>)>,
}

/// What [`Layouts::chain`] found.
#[derive(Debug, Clone, Copy)]
struct Chain {
    layout: Option<RLayout>,
    /// Typedefs, modifiers and arrays followed.
    hops: u32,
    /// Whether this is the answer at every depth up to `MAX_DEPTH - hops`.
    exact: bool,
}

fn round_up(v: u64, align: u64) -> Option<u64> {
    let a = align.max(1);
    v.checked_add(a - 1).map(|x| x / a * a)
}

/// Names for padding and bitfield storage that no member has, made when
/// first needed (most composites need none).
struct Synth<'m, 'a> {
    mems: &'m [Member<'a>],
    scope: Option<Scope<'a>>,
}

impl<'a> Synth<'_, 'a> {
    /// `base`, or the first free `base_N`.
    fn take_numbered(&mut self, base: &'static str) -> Synthesized {
        let mems = self.mems;
        let name = self
            .scope
            .get_or_insert_with(|| {
                let mut scope = Scope::with_capacity(mems.len() + 4);
                for m in mems {
                    scope.try_take_cow(m.plain.clone());
                }
                scope
            })
            .take_numbered(base, "_");
        let n = name
            .get(base.len() + 1..)
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        Synthesized { base, n }
    }
}

impl<'p, 'a, 'b> Layouts<'p, 'a, 'b> {
    fn ty(&self, id: TypeId) -> Result<Type<'a>, Error> {
        Ok(self.plan.btf.type_by_id(id)?)
    }

    /// Size and alignment of the Rust type that stands for `id`.
    fn rlayout(&mut self, id: TypeId, depth: u32) -> Result<Option<RLayout>, Error> {
        Ok(self.chain(id, depth)?.layout)
    }

    /// [`Layouts::rlayout`], with how many typedefs, modifiers and arrays
    /// lead to the type that decides, and whether the answer holds at any
    /// depth that leaves room for them (then it is kept in `memo`).
    fn chain(&mut self, id: TypeId, depth: u32) -> Result<Chain, Error> {
        let cut = Chain {
            layout: None,
            hops: 0,
            exact: false,
        };
        if depth > MAX_DEPTH {
            return Ok(cut);
        }
        if let Some(&slot) = self.memo_at.get(id as usize) {
            if let Some(m) = slot.checked_sub(1).and_then(|i| self.memo.get(i as usize)) {
                if depth + m.hops <= MAX_DEPTH {
                    return Ok(*m);
                }
            }
        }
        let ty = self.ty(id)?;
        let scalar = |size: u32| {
            let size = u64::from(size);
            let align = if matches!(size, 1 | 2 | 4 | 8 | 16) {
                size
            } else {
                1
            };
            Some(RLayout { size, align })
        };
        let leaf = |layout| Chain {
            layout,
            hops: 0,
            exact: true,
        };
        let c = match ty.kind() {
            Kind::Int | Kind::Float | Kind::Enum | Kind::Enum64 => {
                leaf(scalar(ty.size().unwrap_or(0)))
            }
            Kind::Ptr | Kind::FuncProto => leaf(Some(RLayout { size: 8, align: 8 })),
            Kind::Array => {
                let Some(a) = ty.array() else {
                    return Ok(leaf(None));
                };
                let elem = self.chain(a.elem_type, depth + 1)?;
                Chain {
                    layout: elem.layout.and_then(|e| {
                        e.size.checked_mul(u64::from(a.nelems)).map(|size| RLayout {
                            size,
                            align: e.align,
                        })
                    }),
                    hops: elem.hops + 1,
                    exact: elem.exact,
                }
            }
            Kind::Struct | Kind::Union => {
                let c = self.composite(id, depth + 1)?;
                // Exact once laid out and kept: later calls get that layout.
                let kept = self.done.get(id as usize).is_some_and(|&d| d != 0);
                Chain {
                    layout: Some(RLayout {
                        size: c.size,
                        align: c.align,
                    }),
                    hops: 0,
                    exact: kept,
                }
            }
            Kind::Fwd => leaf(None),
            Kind::Typedef | Kind::Const | Kind::Volatile | Kind::Restrict | Kind::TypeTag => {
                let inner = self.chain(ty.size_or_type(), depth + 1)?;
                Chain {
                    hops: inner.hops + 1,
                    ..inner
                }
            }
            _ => leaf(None),
        };
        if c.exact {
            if let Some(slot) = self.memo_at.get_mut(id as usize) {
                self.memo.push(c);
                *slot = self.memo.len() as u32;
            }
        }
        Ok(c)
    }

    /// The layout of a composite, laid out (and kept) if it was not yet.
    fn get(&self, id: TypeId) -> Option<&Composite<'a>> {
        let i = self.done.get(id as usize)?.checked_sub(1)?;
        self.store.get(i as usize)
    }

    fn composite(&mut self, id: TypeId, depth: u32) -> Result<Summary, Error> {
        if let Some(c) = self.get(id) {
            return Ok(Summary::of(c));
        }
        let ty = self.ty(id)?;
        let size = u64::from(ty.size().unwrap_or(0));
        let busy = self.busy.get(id as usize).copied().unwrap_or(true);
        if depth > MAX_DEPTH || busy {
            // A by-value cycle or absurd nesting: cannot be laid out.
            let why = "nested too deep or contains itself".to_string();
            return Ok(Summary::of(&opaque(size, 1, why)));
        }
        self.busy[id as usize] = true;
        let c = self.lay_out(&ty, size, depth)?;
        let summary = Summary::of(&c);
        self.busy[id as usize] = false;
        self.store.push(c);
        self.done[id as usize] = self.store.len() as u32;
        Ok(summary)
    }

    fn lay_out(&mut self, ty: &Type<'_>, size: u64, depth: u32) -> Result<Composite<'a>, Error> {
        // Nested layouts each take a buffer of their own.
        let mut mems = self.pool.pop().unwrap_or_default();
        self.plan.members_into(ty, &mut self.names, &mut mems);
        let c = self.lay_out_members(ty, size, depth, &mut mems);
        self.pool.push(mems);
        c
    }

    fn lay_out_members(
        &mut self,
        ty: &Type<'_>,
        size: u64,
        depth: u32,
        mems: &mut [Member<'a>],
    ) -> Result<Composite<'a>, Error> {
        let union = ty.kind() == Kind::Union;
        if !union {
            mems.sort_by_key(|m| m.bit_offset);
        }
        // C alignment and member layouts.
        let mut c_align = 1;
        let mut lays = Vec::with_capacity(mems.len());
        for m in mems.iter() {
            let Some(l) = self.rlayout(m.type_id, depth)? else {
                return Ok(opaque(
                    size,
                    1,
                    format!("member `{}` has no size", m.btf_name),
                ));
            };
            c_align = c_align.max(l.align);
            lays.push(l);
        }
        let mems = &*mems;
        let mut packed = size % c_align != 0;
        for (m, l) in mems.iter().zip(&lays) {
            if m.bits == 0 && (m.bit_offset % 8 != 0 || (m.bit_offset / 8) % l.align != 0) {
                packed = true;
            }
        }
        if mems.iter().any(|m| m.bits == 0 && m.bit_offset % 8 != 0) {
            return Ok(opaque(
                size,
                c_align,
                "a member not on a byte boundary".into(),
            ));
        }
        let mut items = Vec::with_capacity(mems.len());
        let mut synth = Synth { mems, scope: None };
        let mut rust_align = 1;
        let mut cur = 0u64;
        let mut i = 0;
        while i < mems.len() {
            let m = &mems[i];
            if m.bits > 0 {
                // A run of bitfields (one per member in a union).
                let mut j = i + 1;
                if !union {
                    while j < mems.len() && mems[j].bits > 0 {
                        j += 1;
                    }
                }
                let run = &mems[i..j];
                let start = if union {
                    0
                } else {
                    run.iter().map(|r| r.bit_offset).min().unwrap_or(0) / 8
                };
                let end_bit = run
                    .iter()
                    .map(|r| r.bit_offset + u64::from(r.bits))
                    .max()
                    .unwrap_or(0);
                let end = end_bit.div_ceil(8);
                if start < cur || end > size {
                    return Ok(opaque(size, c_align, "overlapping bitfields".into()));
                }
                if start > cur {
                    push_pad(&mut items, &mut synth, cur, start - cur);
                }
                let members = run
                    .iter()
                    .map(|r| BitMember {
                        plain: r.plain.clone(),
                        btf_name: r.btf_name,
                        bit: r.bit_offset - start * 8,
                        bits: r.bits,
                        type_id: r.type_id,
                    })
                    .collect();
                items.push(Item::Bits {
                    ident: synth.take_numbered("_bitfield"),
                    offset: start,
                    len: end - start,
                    members,
                });
                cur = if union { 0 } else { end };
                if union {
                    rust_align = rust_align.max(1);
                }
                i = j;
                continue;
            }
            let l = lays[i];
            let o = m.bit_offset / 8;
            if union && o != 0 {
                return Ok(opaque(size, c_align, "a union member past offset 0".into()));
            }
            if o < cur {
                return Ok(opaque(size, c_align, "overlapping members".into()));
            }
            let natural = if packed {
                Some(cur)
            } else {
                round_up(cur, l.align)
            };
            if natural != Some(o) {
                push_pad(&mut items, &mut synth, cur, o - cur);
            }
            items.push(Item::Field {
                ident: ident_cow(m.plain.clone()),
                type_id: m.type_id,
                offset: o,
                note: m.renamed(),
            });
            rust_align = rust_align.max(l.align);
            cur = if union { 0 } else { o + l.size };
            if o + l.size > size {
                return Ok(opaque(size, c_align, "a member past the end".into()));
            }
            i += 1;
        }
        if union {
            cur = mems
                .iter()
                .zip(&lays)
                .map(|(m, l)| {
                    if m.bits > 0 {
                        (m.bit_offset + u64::from(m.bits)).div_ceil(8)
                    } else {
                        l.size
                    }
                })
                .max()
                .unwrap_or(0);
            if mems.is_empty() {
                // Rust has no empty unions.
                return Ok(opaque(size, 1, "a union without members".into()));
            }
        }
        let mut c = Composite {
            union,
            packed,
            align_attr: None,
            marker: None,
            items,
            size,
            align: 1,
            opaque: None,
        };
        if packed {
            if cur < size {
                tail_pad(&mut c, &mut synth, cur, size);
            }
            return Ok(c);
        }
        let end = round_up(cur, c_align).unwrap_or(u64::MAX);
        let mut align = c_align;
        if end < size {
            let id = ty.id();
            let mut b = c_align * 2;
            let mut over = None;
            while b <= MAX_ALIGN && b <= size {
                if round_up(cur, b) == Some(size) {
                    over = Some(b);
                    break;
                }
                b *= 2;
            }
            match over {
                Some(b) if !self.demoted.contains(&id) => {
                    c.align_attr = Some(b);
                    align = b;
                }
                _ => tail_pad(&mut c, &mut synth, cur, size),
            }
        }
        if c.align_attr.is_none() && c_align > rust_align {
            if c_align <= 16 {
                c.marker = Some(c_align);
            } else {
                c.align_attr = Some(c_align);
            }
        }
        c.align = align;
        Ok(c)
    }

    /// Over-aligned types held by value (transitively) in `id`.
    fn held_over_aligned(
        &mut self,
        id: TypeId,
        out: &mut Vec<TypeId>,
        walked: &mut HashSet<TypeId>,
        depth: u32,
    ) -> Result<(), Error> {
        if depth > MAX_DEPTH || !walked.insert(id) {
            return Ok(());
        }
        let ty = self.ty(id)?;
        match ty.kind() {
            Kind::Struct | Kind::Union => {
                let c = self.composite(id, depth)?;
                if c.over_aligned {
                    out.push(id);
                }
                for m in ty.members() {
                    self.held_over_aligned(m.type_id, out, walked, depth + 1)?;
                }
            }
            Kind::Array => {
                if let Some(a) = ty.array() {
                    self.held_over_aligned(a.elem_type, out, walked, depth + 1)?;
                }
            }
            Kind::Typedef | Kind::Const | Kind::Volatile | Kind::Restrict | Kind::TypeTag => {
                self.held_over_aligned(ty.size_or_type(), out, walked, depth + 1)?;
            }
            _ => {}
        }
        Ok(())
    }
}

fn opaque<'a>(size: u64, c_align: u64, why: String) -> Composite<'a> {
    let marker = (c_align > 1 && c_align <= 16 && size % c_align == 0).then_some(c_align);
    Composite {
        union: false,
        packed: false,
        align_attr: None,
        marker,
        items: vec![Item::Field {
            ident: Cow::Borrowed("_opaque"),
            type_id: 0,
            offset: 0,
            note: None,
        }],
        size,
        align: marker.unwrap_or(1),
        opaque: Some(why),
    }
}

fn push_pad(items: &mut Vec<Item<'_>>, synth: &mut Synth<'_, '_>, offset: u64, len: u64) {
    items.push(Item::Pad {
        ident: synth.take_numbered("__pad"),
        offset,
        len,
    });
}

fn tail_pad(c: &mut Composite<'_>, synth: &mut Synth<'_, '_>, cur: u64, size: u64) {
    if c.union {
        push_pad(&mut c.items, synth, 0, size);
    } else {
        push_pad(&mut c.items, synth, cur, size - cur);
    }
}

/// Writes the fixed-layout module body.
pub(crate) fn emit(plan: &Plan<'_, '_>, out: &mut Out<'_>) -> Result<(), Error> {
    let n = plan.btf.last_id() as usize + 1;
    let mut lay = Layouts {
        plan,
        done: vec![0; n],
        store: Vec::with_capacity(plan.items.len() / 2),
        busy: vec![false; n],
        demoted: HashSet::default(),
        memo_at: vec![0; n],
        memo: Vec::with_capacity(plan.items.len()),
        pool: Vec::new(),
        names: Vec::new(),
    };
    // Lay out everything; a packed type may not hold an over-aligned one, so
    // demote those (they get tail padding instead) until nothing changes.
    let composites: Vec<TypeId> = plan
        .items
        .iter()
        .copied()
        .filter(|&id| matches!(plan.kind(id), Kind::Struct | Kind::Union))
        .collect();
    for _ in 0..16 {
        let mut demote = Vec::new();
        // Each type is walked once per pass (a type held along many paths
        // would otherwise be walked exponentially often).
        let mut walked = HashSet::default();
        for &id in &composites {
            let c = lay.composite(id, 0)?;
            if c.packed {
                let ty = lay.ty(id)?;
                for m in ty.members() {
                    lay.held_over_aligned(m.type_id, &mut demote, &mut walked, 1)?;
                }
            }
        }
        let before = lay.demoted.len();
        lay.demoted.extend(demote);
        if lay.demoted.len() == before {
            break;
        }
        lay.done.iter_mut().for_each(|d| *d = 0);
        lay.store.clear();
        lay.memo_at.iter_mut().for_each(|m| *m = 0);
        lay.memo.clear();
    }

    let mut values = Scope::with_capacity(plan.anon_enumerators() + plan.items.len() / 8);
    // Enum newtypes are tuple structs: their names are values too.
    for &id in &plan.items {
        if matches!(plan.kind(id), Kind::Enum | Kind::Enum64) && !plan.is_enum_as_int(id) {
            values.try_take(&plan.plain_name(id));
        }
    }
    let mut fixed = Fixed {
        lay,
        helpers_needed: false,
    };
    walk::emit(plan, out, &mut fixed, values)
}

/// The fixed layout's [`Emitter`].
struct Fixed<'p, 'a, 'b> {
    lay: Layouts<'p, 'a, 'b>,
    /// Whether a composite has bitfield accessors (they use the helpers).
    helpers_needed: bool,
}

impl<'a> Emitter<'a> for Fixed<'_, 'a, '_> {
    const CONSTS_APART: bool = false;

    fn composite(
        &mut self,
        plan: &Plan<'a, '_>,
        ty: &Type<'_>,
        out: &mut Out<'_>,
        scratch: &mut Scratch,
    ) -> Result<(), Error> {
        self.lay.composite(ty.id(), 0)?;
        if let Some(c) = self.lay.get(ty.id()) {
            self.helpers_needed |= write_composite(plan, ty, c, out, scratch)?;
        }
        Ok(())
    }

    fn enumeration(
        &mut self,
        plan: &Plan<'a, '_>,
        ty: &Type<'_>,
        out: &mut Out<'_>,
        scratch: &mut Scratch,
    ) {
        write_enum(plan, ty, out, scratch);
    }

    fn const_repr(&self, plan: &Plan<'a, '_>, ty: &Type<'_>) -> Option<Cow<'static, str>> {
        match enum_repr(plan, ty) {
            RTy::Array { .. } => None,
            repr => Some(Cow::Owned(repr.one_line())),
        }
    }

    fn fwd(&mut self, plan: &Plan<'a, '_>, ty: &Type<'_>, out: &mut Out<'_>) {
        let kw = if ty.fwd_is_union() { "union" } else { "struct" };
        out.push_str("/// `");
        out.push_str(kw);
        out.push(' ');
        out.push_str(plan.raw_name(ty));
        out.push_str("`: declared but not defined in this BTF (opaque).\n");
        out.push_str("#[repr(C)]\npub struct ");
        out.push_str(&plan.name(ty.id()));
        out.push_str(" {\n    _opaque: [");
        out.push_str(plan.prim("u8"));
        out.push_str("; 0],\n}\n");
    }

    fn finish(&mut self, plan: &Plan<'a, '_>, out: &mut Out<'_>) {
        if self.helpers_needed {
            write_helpers(plan, out);
        }
    }
}

fn enum_repr(plan: &Plan<'_, '_>, ty: &Type<'_>) -> RTy {
    plan.int_ty(ty.size().unwrap_or(4), ty.enum_signed())
}

fn write_enum(plan: &Plan<'_, '_>, ty: &Type<'_>, out: &mut Out<'_>, scratch: &mut Scratch) {
    let name = plan.name(ty.id());
    let raw = plan.raw_name(ty);
    let sign = if ty.enum_signed() {
        "signed"
    } else {
        "unsigned"
    };
    let kind = if ty.kind() == Kind::Enum64 {
        "enum64"
    } else {
        "enum"
    };
    if raw.is_empty() {
        out.push_str("/// An anonymous ");
        out.push_str(kind);
    } else {
        out.push_str("/// `enum ");
        out.push_str(raw);
        out.push('`');
    }
    out.push_str(" (");
    out.push_str(sign);
    out.push_str(", ");
    push_u64(out, u64::from(ty.size().unwrap_or(0)));
    out.push_str(" bytes): an integer newtype, since C enums may hold any value.\n");
    let repr_ty = enum_repr(plan, ty);
    let repr = repr_ty.one_line();
    out.push_str("#[repr(transparent)]\n#[derive(Clone, Copy, PartialEq, Eq, Hash)]\n");
    newtype_line(out, &name, &repr);
    if matches!(repr_ty, RTy::Array { .. }) || ty.vlen() == 0 {
        return;
    }
    out.push_str("impl ");
    out.push_str(&name);
    out.push_str(" {\n");
    let size = ty.size().unwrap_or(4);
    let Scratch { head, value, .. } = scratch;
    for (v, c) in plan.enumerators(ty) {
        head.clear();
        push_ident(head, &c);
        value.clear();
        value.push_str(&name);
        value.push('(');
        push_literal(value, v, size, ty.enum_signed());
        value.push(')');
        const_line(out, 4, head, &name, value);
    }
    out.push_str("}\n");
}

/// Writes a struct or union, its accessors and its assertions; returns
/// whether the bitfield helpers are needed.
fn write_composite(
    plan: &Plan<'_, '_>,
    ty: &Type<'_>,
    c: &Composite<'_>,
    out: &mut Out<'_>,
    scratch: &mut Scratch,
) -> Result<bool, Error> {
    let name = plan.name(ty.id());
    let raw = plan.raw_name(ty);
    let kw = if ty.kind() == Kind::Union {
        "union"
    } else {
        "struct"
    };
    push_doc_name(out, kw, raw);
    out.push_str(" (");
    push_u64(out, c.size);
    out.push_str(" bytes).\n");
    if let Some(why) = &c.opaque {
        out.push_str("///\n/// Opaque bytes: ");
        out.push_str(why);
        out.push_str(".\n");
    }
    match (c.packed, c.align_attr) {
        (true, _) => out.push_str("#[repr(C, packed)]"),
        (false, Some(a)) => {
            out.push_str("#[repr(C, align(");
            push_u64(out, a);
            out.push_str("))]");
        }
        (false, None) => out.push_str("#[repr(C)]"),
    }
    out.push_str("\n#[derive(Clone, Copy)]\npub ");
    out.push_str(if c.union { "union" } else { "struct" });
    out.push(' ');
    out.push_str(&name);
    if c.items.is_empty() && c.marker.is_none() {
        out.push_str(" {}\n");
    } else if brace_on_own_line(if c.union { "union" } else { "struct" }, &name) {
        out.push_str("\n{\n");
    } else {
        out.push_str(" {\n");
    }
    let u8_ty = plan.prim("u8");
    if let Some(a) = c.marker {
        let unit = match a {
            1 => "u8",
            2 => "u16",
            4 => "u32",
            8 => "u64",
            _ => "u128",
        };
        out.push_str("    pub __align: [");
        out.push_str(plan.prim(unit));
        out.push_str("; 0],\n");
    }
    let mut bitfields = false;
    for item in &c.items {
        match item {
            Item::Field {
                ident,
                type_id,
                note,
                ..
            } => {
                match note {
                    None => {}
                    Some("") => out.push_str("    /// (anonymous member)\n"),
                    Some(n) => {
                        out.push_str("    /// `");
                        out.push_str(n);
                        out.push_str("`\n");
                    }
                }
                let Scratch { head, ty: text, .. } = &mut *scratch;
                head.clear();
                head.push_str("pub ");
                head.push_str(ident);
                head.push(':');
                text.clear();
                match c.opaque {
                    None => {
                        let id = *type_id;
                        plan.write_ty(text, id, false, out.left(plan))?;
                        typed_line(out, 4, head, text, || plan.rty(id), ",");
                    }
                    Some(_) => {
                        let len = c.size;
                        text.push('[');
                        text.push_str(u8_ty);
                        text.push_str("; ");
                        push_u64(text, len);
                        text.push(']');
                        let tree = || RTy::Array {
                            elem: Box::new(RTy::Path(u8_ty.to_string())),
                            len,
                        };
                        typed_line(out, 4, head, text, tree, ",");
                    }
                }
            }
            Item::Bits {
                ident,
                len,
                members,
                ..
            } => {
                bitfields = true;
                out.push_str("    /// Bitfields: ");
                for (i, m) in members.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(m.btf_name);
                }
                out.push_str(".\n    pub ");
                ident.push(out);
                out.push_str(": [");
                out.push_str(u8_ty);
                out.push_str("; ");
                push_u64(out, *len);
                out.push_str("],\n");
            }
            Item::Pad { ident, len, .. } => {
                out.push_str("    pub ");
                ident.push(out);
                out.push_str(": [");
                out.push_str(u8_ty);
                out.push_str("; ");
                push_u64(out, *len);
                out.push_str("],\n");
            }
        }
    }
    if !c.items.is_empty() || c.marker.is_some() {
        out.push_str("}\n");
    }
    if bitfields {
        write_accessors(plan, &name, c, out)?;
    }
    // Assertions.
    if c.union || c.items.is_empty() {
        out.push_str("const _: () = {\n    use ::core::mem::{align_of, size_of};\n");
    } else {
        out.push_str("const _: () = {\n    use ::core::mem::{align_of, offset_of, size_of};\n");
    }
    let Scratch {
        lhs, value, head, ..
    } = scratch;
    lhs.clear();
    lhs.push_str("size_of::<");
    lhs.push_str(&name);
    lhs.push_str(">()");
    value.clear();
    push_u64(value, c.size);
    assert_line(out, lhs, value, None);
    lhs.clear();
    lhs.push_str("align_of::<");
    lhs.push_str(&name);
    lhs.push_str(">()");
    value.clear();
    push_u64(value, c.align.max(1));
    assert_line(out, lhs, value, None);
    if !c.union {
        let ident = head;
        for item in &c.items {
            ident.clear();
            let offset = match item {
                Item::Field {
                    ident: i, offset, ..
                } => {
                    ident.push_str(i);
                    *offset
                }
                Item::Bits {
                    ident: i, offset, ..
                }
                | Item::Pad {
                    ident: i, offset, ..
                } => {
                    i.push(ident);
                    *offset
                }
            };
            lhs.clear();
            lhs.push_str("offset_of!(");
            lhs.push_str(&name);
            lhs.push_str(", ");
            lhs.push_str(ident);
            lhs.push(')');
            value.clear();
            push_u64(value, offset);
            assert_line(out, lhs, value, Some((&name, ident)));
        }
    }
    out.push_str("};\n");
    Ok(bitfields)
}

/// How a bitfield's value converts from and to the storage bits.
enum BitKind {
    Unsigned(String),
    Signed(String),
    Bool(String),
    Enum {
        name: String,
        repr: String,
        signed: bool,
    },
}

fn bit_kind(plan: &Plan<'_, '_>, type_id: TypeId, limit: usize) -> Result<BitKind, Error> {
    let mut rty = String::new();
    plan.write_ty(&mut rty, type_id, false, limit)?;
    Ok(match plan.btf.skip_mods_and_typedefs(type_id) {
        Ok(t) if t.kind() == Kind::Int => {
            let int = t.int();
            if int.is_some_and(|i| i.encoding.is_bool()) && t.size() == Some(1) {
                BitKind::Bool(rty)
            } else if int.is_some_and(|i| i.encoding.is_signed()) {
                BitKind::Signed(rty)
            } else {
                BitKind::Unsigned(rty)
            }
        }
        Ok(t) if matches!(t.kind(), Kind::Enum | Kind::Enum64) => {
            let repr = plan.int_ty(t.size().unwrap_or(4), t.enum_signed());
            if plan.is_enum_as_int(t.id()) || matches!(repr, RTy::Array { .. }) {
                if t.enum_signed() {
                    BitKind::Signed(repr.one_line())
                } else {
                    BitKind::Unsigned(repr.one_line())
                }
            } else {
                BitKind::Enum {
                    name: rty,
                    repr: repr.one_line(),
                    signed: t.enum_signed(),
                }
            }
        }
        _ => BitKind::Unsigned(plan.prim("u64").to_string()),
    })
}

fn write_accessors(
    plan: &Plan<'_, '_>,
    name: &str,
    c: &Composite<'_>,
    out: &mut Out<'_>,
) -> Result<(), Error> {
    let _ = writeln!(out, "impl {name} {{");
    let mut methods = Scope::default();
    let unsafe_kw = if c.union { "unsafe " } else { "" };
    for item in &c.items {
        let Item::Bits {
            ident: storage,
            members,
            ..
        } = item
        else {
            continue;
        };
        for m in members {
            if m.bits > 64 {
                // The helpers move at most 64 bits: no accessor rather than a
                // wrong one (the storage bytes are still there).
                let _ = writeln!(
                    out,
                    "    // Bitfield `{}`: {} bits at bit {} of `{storage}`, wider than 64 bits: no accessor.",
                    m.btf_name, m.bits, m.bit
                );
                continue;
            }
            let getter = methods.take_numbered(&m.plain, "_");
            let setter = methods.take_numbered(&format!("set_{}", m.plain), "_");
            let kind = bit_kind(plan, m.type_id, out.left(plan))?;
            let (ty, get, set) = match &kind {
                BitKind::Unsigned(t) => (t, format!("raw as {t}"), "value"),
                BitKind::Signed(t) => (t, format!("raw as {t}"), "value"),
                BitKind::Bool(t) => (t, "raw != 0".to_string(), "value"),
                BitKind::Enum { name, repr, .. } => {
                    (name, format!("{name}(raw as {repr})"), "value.0")
                }
            };
            let signed = matches!(
                kind,
                BitKind::Signed(_) | BitKind::Enum { signed: true, .. }
            );
            let getfn = if signed {
                "__btfkit_bitfield::get_signed"
            } else {
                "__btfkit_bitfield::get"
            };
            let access = if c.union {
                format!("unsafe {{ &self.{storage} }}")
            } else {
                format!("&self.{storage}")
            };
            let access_mut = if c.union {
                format!("unsafe {{ &mut self.{storage} }}")
            } else {
                format!("&mut self.{storage}")
            };
            let _ = writeln!(
                out,
                "    /// Bitfield `{}`: {} bits at bit {} of `{storage}`.",
                m.btf_name, m.bits, m.bit
            );
            if c.union {
                out.push_str(
                    "    ///\n    /// # Safety\n    /// The storage must be initialised.\n",
                );
            }
            let _ = write!(out, "    #[inline]\n    pub {unsafe_kw}fn ");
            push_ident(out, &getter);
            let _ = writeln!(out, "(&self) -> {ty} {{");
            let _ = writeln!(
                out,
                "        let raw = {getfn}({access}, {}, {});",
                m.bit, m.bits
            );
            let _ = writeln!(out, "        {get}\n    }}");
            let _ = writeln!(out, "    /// Sets bitfield `{}`.", m.btf_name);
            if c.union {
                out.push_str("    ///\n    /// # Safety\n    /// Writes into union storage.\n");
            }
            let _ = write!(out, "    #[inline]\n    pub {unsafe_kw}fn ");
            push_ident(out, &setter);
            let _ = writeln!(out, "(&mut self, value: {ty}) {{");
            let _ = writeln!(
                out,
                "        __btfkit_bitfield::set({access_mut}, {}, {}, {set});\n    }}",
                m.bit, m.bits
            );
        }
    }
    out.push_str("}\n");
    Ok(())
}

fn write_helpers(plan: &Plan<'_, '_>, out: &mut String) {
    let big = plan.btf.endian() == btfkit_model::Endian::Big;
    let (byte, shift) = if big {
        ("(7 - at % 8)", "bits - 1 - i")
    } else {
        ("(at % 8)", "i")
    };
    // A module of its own: no generated type shadows a primitive in it.
    let _ = write!(
        out,
        r#"
/// Bitfield access for the accessors above (bit order of this BTF: {order}).
mod __btfkit_bitfield {{
    /// The values bitfields hold, as the bits stored.
    pub(super) trait Value {{
        /// The value's bits (the low `bits` are stored).
        fn to_bits(self) -> u64;
    }}

    macro_rules! value {{
        ($($t:ty)*) => {{$(
            impl Value for $t {{
                #[inline]
                fn to_bits(self) -> u64 {{
                    self as u64
                }}
            }}
        )*}};
    }}
    value!(u8 u16 u32 u64 u128 usize i8 i16 i32 i64 i128 isize bool);

    /// Reads `bits` bits (at most 64) at bit `bit` of a bitfield storage unit.
    #[inline]
    pub(super) const fn get(storage: &[u8], bit: usize, bits: usize) -> u64 {{
        let mut value = 0u64;
        let mut i = 0;
        while i < bits {{
            let at = bit + i;
            if (storage[at / 8] >> {byte}) & 1 != 0 {{
                value |= 1 << ({shift});
            }}
            i += 1;
        }}
        value
    }}

    /// Reads a signed bitfield, sign-extended to 64 bits.
    #[inline]
    pub(super) const fn get_signed(storage: &[u8], bit: usize, bits: usize) -> u64 {{
        let value = get(storage, bit, bits);
        let unused = 64 - bits as u32;
        ((value << unused) as i64 >> unused) as u64
    }}

    /// Writes the low `bits` bits (at most 64) of `value` at bit `bit` of a storage unit.
    #[inline]
    pub(super) fn set(storage: &mut [u8], bit: usize, bits: usize, value: impl Value) {{
        let value = value.to_bits();
        let mut i = 0;
        while i < bits {{
            let at = bit + i;
            let mask = 1u8 << {byte};
            if (value >> ({shift})) & 1 != 0 {{
                storage[at / 8] |= mask;
            }} else {{
                storage[at / 8] &= !mask;
            }}
            i += 1;
        }}
    }}
}}
"#,
        order = if big {
            "big-endian, bit 0 is the first byte's top bit"
        } else {
            "little-endian, bit 0 is the first byte's low bit"
        }
    );
}
