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

use crate::names::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::fmt::Write as _;
use std::rc::Rc;

use btfkit_model::{Kind, Type, TypeId};

use crate::names::{ident, plain, Scope};
use crate::plan::{Plan, MAX_DEPTH};
use crate::render::{assert_line, const_line, newtype_line, pad, typed_line, RTy};
use crate::Error;

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
struct BitMember {
    /// Plain name (for `set_` and docs).
    plain: String,
    /// BTF name.
    btf_name: String,
    /// First bit, counted from the start of the storage unit.
    bit: u64,
    /// Width in bits.
    bits: u32,
    /// Declared type.
    type_id: TypeId,
}

/// One field of the Rust struct or union.
#[derive(Debug, Clone)]
enum Item {
    /// A member.
    Field {
        ident: String,
        ty: RTy,
        offset: u64,
        /// BTF name when it differs from the Rust one (docs).
        note: Option<String>,
    },
    /// A bitfield storage unit.
    Bits {
        ident: String,
        offset: u64,
        len: u64,
        members: Vec<BitMember>,
    },
    /// Padding.
    Pad {
        ident: String,
        offset: u64,
        len: u64,
    },
}

/// How a struct or union is written.
#[derive(Debug, Clone)]
struct Composite {
    union: bool,
    packed: bool,
    align_attr: Option<u64>,
    /// Alignment given by a leading zero-sized `[uN; 0]` field.
    marker: Option<u64>,
    items: Vec<Item>,
    size: u64,
    align: u64,
    /// Why the type is opaque bytes, when it is.
    opaque: Option<String>,
}

/// A member as the layout sees it.
struct Mem {
    plain: String,
    btf_name: String,
    type_id: TypeId,
    bit_offset: u64,
    bits: u32,
}

struct Layouts<'p, 'a, 'b> {
    plan: &'p Plan<'a, 'b>,
    done: HashMap<TypeId, Rc<Composite>>,
    busy: HashSet<TypeId>,
    /// Types that may not get `#[repr(align(N))]` (a packed type holds them).
    demoted: HashSet<TypeId>,
}

fn round_up(v: u64, align: u64) -> Option<u64> {
    let a = align.max(1);
    v.checked_add(a - 1).map(|x| x / a * a)
}

impl<'p, 'a, 'b> Layouts<'p, 'a, 'b> {
    fn ty(&self, id: TypeId) -> Result<Type<'a>, Error> {
        Ok(self.plan.btf.type_by_id(id)?)
    }

    /// Size and alignment of the Rust type that stands for `id`.
    fn rlayout(&mut self, id: TypeId, depth: u32) -> Result<Option<RLayout>, Error> {
        if depth > MAX_DEPTH {
            return Ok(None);
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
        Ok(match ty.kind() {
            Kind::Int | Kind::Float | Kind::Enum | Kind::Enum64 => scalar(ty.size().unwrap_or(0)),
            Kind::Ptr | Kind::FuncProto => Some(RLayout { size: 8, align: 8 }),
            Kind::Array => {
                let Some(a) = ty.array() else { return Ok(None) };
                let Some(elem) = self.rlayout(a.elem_type, depth + 1)? else {
                    return Ok(None);
                };
                elem.size
                    .checked_mul(u64::from(a.nelems))
                    .map(|size| RLayout {
                        size,
                        align: elem.align,
                    })
            }
            Kind::Struct | Kind::Union => {
                let c = self.composite(id, depth + 1)?;
                Some(RLayout {
                    size: c.size,
                    align: c.align,
                })
            }
            Kind::Fwd => None,
            Kind::Typedef | Kind::Const | Kind::Volatile | Kind::Restrict | Kind::TypeTag => {
                self.rlayout(ty.size_or_type(), depth + 1)?
            }
            _ => None,
        })
    }

    fn composite(&mut self, id: TypeId, depth: u32) -> Result<Rc<Composite>, Error> {
        if let Some(c) = self.done.get(&id) {
            return Ok(Rc::clone(c));
        }
        let ty = self.ty(id)?;
        let size = u64::from(ty.size().unwrap_or(0));
        if depth > MAX_DEPTH || !self.busy.insert(id) {
            // A by-value cycle or absurd nesting: cannot be laid out.
            let why = "nested too deep or contains itself".to_string();
            return Ok(Rc::new(opaque(self.plan, size, 1, why)));
        }
        let c = Rc::new(self.lay_out(&ty, size, depth)?);
        self.busy.remove(&id);
        self.done.insert(id, Rc::clone(&c));
        Ok(c)
    }

    fn members(&self, ty: &Type<'_>) -> Vec<Mem> {
        let names = self.plan.member_names(ty);
        ty.members()
            .zip(names)
            .map(|(m, name)| {
                let (bit_offset, bits) = self.plan.member_bits(ty, &m);
                Mem {
                    plain: name,
                    btf_name: self.plan.str_at(m.name_off).to_string(),
                    type_id: m.type_id,
                    bit_offset,
                    bits,
                }
            })
            .collect()
    }

    fn lay_out(&mut self, ty: &Type<'_>, size: u64, depth: u32) -> Result<Composite, Error> {
        let union = ty.kind() == Kind::Union;
        let mut mems = self.members(ty);
        if !union {
            mems.sort_by_key(|m| m.bit_offset);
        }
        // C alignment and member layouts.
        let mut c_align = 1;
        let mut lays = Vec::with_capacity(mems.len());
        for m in &mems {
            let Some(l) = self.rlayout(m.type_id, depth)? else {
                return Ok(opaque(
                    self.plan,
                    size,
                    1,
                    format!("member `{}` has no size", m.btf_name),
                ));
            };
            c_align = c_align.max(l.align);
            lays.push(l);
        }
        let mut packed = size % c_align != 0;
        for (m, l) in mems.iter().zip(&lays) {
            if m.bits == 0 && (m.bit_offset % 8 != 0 || (m.bit_offset / 8) % l.align != 0) {
                packed = true;
            }
        }
        if mems.iter().any(|m| m.bits == 0 && m.bit_offset % 8 != 0) {
            return Ok(opaque(
                self.plan,
                size,
                c_align,
                "a member not on a byte boundary".into(),
            ));
        }
        let mut synth = Scope::default();
        for m in &mems {
            synth.try_take(&m.plain);
        }
        let mut items = Vec::new();
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
                    return Ok(opaque(
                        self.plan,
                        size,
                        c_align,
                        "overlapping bitfields".into(),
                    ));
                }
                if start > cur {
                    push_pad(&mut items, &mut synth, cur, start - cur);
                }
                let members = run
                    .iter()
                    .map(|r| BitMember {
                        plain: r.plain.clone(),
                        btf_name: r.btf_name.clone(),
                        bit: r.bit_offset - start * 8,
                        bits: r.bits,
                        type_id: r.type_id,
                    })
                    .collect();
                items.push(Item::Bits {
                    ident: synth.take_numbered("_bitfield", "_"),
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
                return Ok(opaque(
                    self.plan,
                    size,
                    c_align,
                    "a union member past offset 0".into(),
                ));
            }
            if o < cur {
                return Ok(opaque(
                    self.plan,
                    size,
                    c_align,
                    "overlapping members".into(),
                ));
            }
            let natural = if packed {
                Some(cur)
            } else {
                round_up(cur, l.align)
            };
            if natural != Some(o) {
                push_pad(&mut items, &mut synth, cur, o - cur);
            }
            let note = (m.btf_name != m.plain).then(|| {
                if m.btf_name.is_empty() {
                    "(anonymous member)".to_string()
                } else {
                    format!("`{}`", m.btf_name)
                }
            });
            items.push(Item::Field {
                ident: ident(&m.plain),
                ty: self.plan.rty(m.type_id),
                offset: o,
                note,
            });
            rust_align = rust_align.max(l.align);
            cur = if union { 0 } else { o + l.size };
            if o + l.size > size {
                return Ok(opaque(
                    self.plan,
                    size,
                    c_align,
                    "a member past the end".into(),
                ));
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
                return Ok(opaque(self.plan, size, 1, "a union without members".into()));
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
                if c.align_attr.is_some() {
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

fn opaque(plan: &Plan<'_, '_>, size: u64, c_align: u64, why: String) -> Composite {
    let marker = (c_align > 1 && c_align <= 16 && size % c_align == 0).then_some(c_align);
    Composite {
        union: false,
        packed: false,
        align_attr: None,
        marker,
        items: vec![Item::Field {
            ident: "_opaque".to_string(),
            ty: RTy::Array {
                elem: Box::new(RTy::Path(plan.prim("u8"))),
                len: size,
            },
            offset: 0,
            note: None,
        }],
        size,
        align: marker.unwrap_or(1),
        opaque: Some(why),
    }
}

fn push_pad(items: &mut Vec<Item>, synth: &mut Scope, offset: u64, len: u64) {
    items.push(Item::Pad {
        ident: synth.take_numbered("__pad", "_"),
        offset,
        len,
    });
}

fn tail_pad(c: &mut Composite, synth: &mut Scope, cur: u64, size: u64) {
    if c.union {
        push_pad(&mut c.items, synth, 0, size);
    } else {
        push_pad(&mut c.items, synth, cur, size - cur);
    }
}

/// Writes the fixed-layout module body.
pub(crate) fn emit(plan: &Plan<'_, '_>, out: &mut String) -> Result<(), Error> {
    let mut lay = Layouts {
        plan,
        done: HashMap::default(),
        busy: HashSet::default(),
        demoted: HashSet::default(),
    };
    // Lay out everything; a packed type may not hold an over-aligned one, so
    // demote those (they get tail padding instead) until nothing changes.
    let composites: Vec<TypeId> = plan
        .items
        .iter()
        .copied()
        .filter(|&id| plan.btf.type_by_id(id).is_ok_and(|t| t.is_composite()))
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
        lay.done.clear();
    }

    let mut helpers_needed = false;
    let mut values = Scope::default();
    // Enum newtypes are tuple structs: their names are values too.
    for &id in &plan.items {
        let ty = plan.btf.type_by_id(id)?;
        if matches!(ty.kind(), Kind::Enum | Kind::Enum64) && !plan.is_enum_as_int(id) {
            values.try_take(&plan.plain_name(id));
        }
    }
    let mut consts_seen: HashMap<String, u64> = HashMap::default();

    for &id in &plan.items {
        let ty = plan.btf.type_by_id(id)?;
        out.push('\n');
        let before = out.len();
        match ty.kind() {
            Kind::Struct | Kind::Union => {
                let c = lay.composite(id, 0)?;
                helpers_needed |= write_composite(plan, &ty, &c, out);
            }
            Kind::Enum | Kind::Enum64 => {
                if !plan.is_enum_as_int(id) {
                    write_enum(plan, &ty, out);
                }
                if plan.raw_name(&ty).is_empty() {
                    write_enum_consts(plan, &ty, &mut values, &mut consts_seen, out);
                }
            }
            Kind::Typedef if !plan.is_absorbed(id) => {
                let _ = writeln!(out, "/// `typedef {}`.", plan.raw_name(&ty));
                let head = format!("pub type {} =", plan.name(id));
                typed_line(out, 0, &head, &plan.rty_alias(ty.size_or_type()), ";");
            }
            Kind::Fwd => {
                let kw = if ty.fwd_is_union() { "union" } else { "struct" };
                let _ = writeln!(
                    out,
                    "/// `{kw} {}`: declared but not defined in this BTF (opaque).",
                    plan.raw_name(&ty)
                );
                let _ = writeln!(
                    out,
                    "#[repr(C)]\npub struct {} {{\n    _opaque: [{}; 0],\n}}",
                    plan.name(id),
                    plan.prim("u8")
                );
            }
            _ => {}
        }
        if out.len() == before {
            out.pop();
        }
        plan.check_budget(out)?;
    }
    if helpers_needed {
        write_helpers(plan, out);
    }
    Ok(())
}

/// Integer value of an enumerator as a Rust literal for its type.
fn enum_literal(value: u64, size: u32, signed: bool) -> String {
    // Hostile sizes: 0 or past 2^29 bytes (no overflow, no shift by 64).
    let bits = size.saturating_mul(8).clamp(1, 64);
    if signed {
        let shift = 64 - bits;
        (((value << shift) as i64) >> shift).to_string()
    } else if bits == 64 {
        value.to_string()
    } else {
        (value & ((1u64 << bits) - 1)).to_string()
    }
}

fn enum_repr(plan: &Plan<'_, '_>, ty: &Type<'_>) -> RTy {
    plan.int_ty(ty.size().unwrap_or(4), ty.enum_signed())
}

fn write_enum(plan: &Plan<'_, '_>, ty: &Type<'_>, out: &mut String) {
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
    let desc = if raw.is_empty() {
        format!("An anonymous {kind}")
    } else {
        format!("`enum {raw}`")
    };
    let _ = writeln!(
        out,
        "/// {desc} ({sign}, {} bytes): an integer newtype, since C enums may hold any value.",
        ty.size().unwrap_or(0)
    );
    let repr = enum_repr(plan, ty).one_line();
    out.push_str("#[repr(transparent)]\n#[derive(Clone, Copy, PartialEq, Eq, Hash)]\n");
    newtype_line(out, &name, &repr);
    if matches!(enum_repr(plan, ty), RTy::Array { .. }) || ty.vlen() == 0 {
        return;
    }
    let _ = writeln!(out, "impl {name} {{");
    let mut scope = Scope::default();
    let size = ty.size().unwrap_or(4);
    for v in ty.enum_values() {
        let c = ident(&scope.take_numbered(&plain(plan.str_at(v.name_off)), "_"));
        let lit = enum_literal(v.value, size, ty.enum_signed());
        const_line(out, 4, &c, &name, &format!("{name}({lit})"));
    }
    out.push_str("}\n");
}

/// Module-level constants for an anonymous enum's enumerators.
fn write_enum_consts(
    plan: &Plan<'_, '_>,
    ty: &Type<'_>,
    values: &mut Scope,
    seen: &mut HashMap<String, u64>,
    out: &mut String,
) {
    let repr = enum_repr(plan, ty);
    if matches!(repr, RTy::Array { .. }) {
        return;
    }
    let repr = repr.one_line();
    let size = ty.size().unwrap_or(4);
    for v in ty.enum_values() {
        let base = plain(plan.str_at(v.name_off));
        if seen.get(&base) == Some(&v.value) {
            continue;
        }
        let name = if values.try_take(&base) {
            seen.insert(base.clone(), v.value);
            base
        } else {
            values.take_numbered(&base, "__")
        };
        let lit = enum_literal(v.value, size, ty.enum_signed());
        const_line(out, 0, &ident(&name), &repr, &lit);
    }
}

/// Writes a struct or union, its accessors and its assertions; returns
/// whether the bitfield helpers are needed.
fn write_composite(plan: &Plan<'_, '_>, ty: &Type<'_>, c: &Composite, out: &mut String) -> bool {
    let name = plan.name(ty.id());
    let raw = plan.raw_name(ty);
    let kw = if ty.kind() == Kind::Union {
        "union"
    } else {
        "struct"
    };
    if raw.is_empty() {
        let _ = writeln!(out, "/// An anonymous {kw} ({} bytes).", c.size);
    } else {
        let _ = writeln!(out, "/// `{kw} {raw}` ({} bytes).", c.size);
    }
    if let Some(why) = &c.opaque {
        let _ = writeln!(out, "///\n/// Opaque bytes: {why}.");
    }
    let repr = match (c.packed, c.align_attr) {
        (true, _) => "#[repr(C, packed)]".to_string(),
        (false, Some(a)) => format!("#[repr(C, align({a}))]"),
        (false, None) => "#[repr(C)]".to_string(),
    };
    let rust_kw = if c.union { "union" } else { "struct" };
    let _ = write!(
        out,
        "{repr}\n#[derive(Clone, Copy)]\npub {rust_kw} {name} {{"
    );
    if c.items.is_empty() && c.marker.is_none() {
        out.push_str("}\n");
    } else {
        out.push('\n');
    }
    if let Some(a) = c.marker {
        let unit = match a {
            1 => "u8",
            2 => "u16",
            4 => "u32",
            8 => "u64",
            _ => "u128",
        };
        let _ = writeln!(out, "    pub __align: [{}; 0],", plan.prim(unit));
    }
    let mut bitfields = false;
    for item in &c.items {
        match item {
            Item::Field {
                ident, ty, note, ..
            } => {
                if let Some(n) = note {
                    let _ = writeln!(out, "    /// {n}");
                }
                typed_line(out, 4, &format!("pub {ident}:"), ty, ",");
            }
            Item::Bits {
                ident,
                len,
                members,
                ..
            } => {
                bitfields = true;
                let names: Vec<&str> = members.iter().map(|m| m.btf_name.as_str()).collect();
                let _ = writeln!(out, "    /// Bitfields: {}.", names.join(", "));
                let _ = writeln!(out, "    pub {ident}: [{}; {len}],", plan.prim("u8"));
            }
            Item::Pad { ident, len, .. } => {
                let _ = writeln!(out, "    pub {ident}: [{}; {len}],", plan.prim("u8"));
            }
        }
    }
    if !c.items.is_empty() || c.marker.is_some() {
        out.push_str("}\n");
    }
    if bitfields {
        write_accessors(plan, &name, c, out);
    }
    // Assertions.
    if c.union || c.items.is_empty() {
        out.push_str("const _: () = {\n    use ::core::mem::{align_of, size_of};\n");
    } else {
        out.push_str("const _: () = {\n    use ::core::mem::{align_of, offset_of, size_of};\n");
    }
    assert_line(
        out,
        &format!("size_of::<{name}>()"),
        &c.size.to_string(),
        None,
    );
    assert_line(
        out,
        &format!("align_of::<{name}>()"),
        &c.align.max(1).to_string(),
        None,
    );
    if !c.union {
        for item in &c.items {
            let (ident, offset) = match item {
                Item::Field { ident, offset, .. }
                | Item::Bits { ident, offset, .. }
                | Item::Pad { ident, offset, .. } => (ident, offset),
            };
            assert_line(
                out,
                &format!("offset_of!({name}, {ident})"),
                &offset.to_string(),
                Some((&name, ident)),
            );
        }
    }
    out.push_str("};\n");
    bitfields
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

fn bit_kind(plan: &Plan<'_, '_>, type_id: TypeId) -> BitKind {
    let rty = plan.rty(type_id).one_line();
    match plan.btf.skip_mods_and_typedefs(type_id) {
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
        _ => BitKind::Unsigned(plan.prim("u64")),
    }
}

fn write_accessors(plan: &Plan<'_, '_>, name: &str, c: &Composite, out: &mut String) {
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
            let kind = bit_kind(plan, m.type_id);
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
            let _ = writeln!(
                out,
                "    #[inline]\n    pub {unsafe_kw}fn {}(&self) -> {ty} {{",
                ident(&getter)
            );
            let call = format!("let raw = {getfn}({access}, {}, {});", m.bit, m.bits);
            pad(out, 8);
            out.push_str(&call);
            out.push('\n');
            pad(out, 8);
            out.push_str(&get);
            out.push_str("\n    }\n");
            let _ = writeln!(out, "    /// Sets bitfield `{}`.", m.btf_name);
            if c.union {
                out.push_str("    ///\n    /// # Safety\n    /// Writes into union storage.\n");
            }
            let _ = writeln!(
                out,
                "    #[inline]\n    pub {unsafe_kw}fn {}(&mut self, value: {ty}) {{",
                ident(&setter)
            );
            let _ = writeln!(
                out,
                "        __btfkit_bitfield::set({access_mut}, {}, {}, {set});\n    }}",
                m.bit, m.bits
            );
        }
    }
    out.push_str("}\n");
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
