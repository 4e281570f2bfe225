//! The pure part of CO-RE: matching a local spec against a candidate type in
//! the target BTF, and computing the relocation's original and new values.
//! Follows libbpf's `relo_core.c` rule by rule.

use std::fmt;

use btfkit_model::{Btf, CoreReloKind, IntEncoding, Kind, TypeId};

use crate::spec::{essential_name_len, skip, Accessor, Spec, MAX_SPEC_LEN};
use crate::Error;

/// Recursion limit for type compatibility checks (libbpf's 32).
const MAX_COMPAT_DEPTH: i32 = 32;

/// What one relocation resolves to. Computing it and patching an instruction
/// with it are separate steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fixup {
    /// The relocation kind.
    pub kind: CoreReloKind,
    /// The value the instruction holds (computed from the local BTF).
    pub orig_val: u64,
    /// The value for the target.
    pub new_val: u64,
    /// The instruction must be poisoned (no target and the value has no default).
    pub poison: bool,
    /// Whether the instruction's current value must equal `orig_val`.
    pub validate: bool,
    /// A load/store would change size in a way that loses the value.
    pub fail_memsz_adjust: bool,
    /// Local field size (loads/stores).
    pub orig_sz: u32,
    /// Target field size (loads/stores).
    pub new_sz: u32,
}

impl fmt::Display for Fixup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.poison {
            write!(f, "{}=poison", self.kind)
        } else {
            write!(f, "{}={}->{}", self.kind, self.orig_val, self.new_val)
        }
    }
}

fn names_match(a: &str, b: &str) -> bool {
    if b.is_empty() {
        return a.is_empty();
    }
    let (la, lb) = (essential_name_len(a), essential_name_len(b));
    la == lb && a.as_bytes()[..la] == b.as_bytes()[..lb]
}

fn any_enum(k: Kind) -> bool {
    matches!(k, Kind::Enum | Kind::Enum64)
}

/// libbpf's `btf_kind_core_compat`: the same kind, or ENUM and ENUM64 either way.
pub fn kinds_compat(a: Kind, b: Kind) -> bool {
    a == b || (any_enum(a) && any_enum(b))
}

/// libbpf's `bpf_core_fields_are_compat`.
fn fields_compat(
    lb: &Btf<'_>,
    mut lid: TypeId,
    tb: &Btf<'_>,
    mut tid: TypeId,
) -> Result<bool, Error> {
    for _ in 0..MAX_COMPAT_DEPTH {
        let (_, lt) = skip(lb, lid)?;
        let (_, tt) = skip(tb, tid)?;
        if lt.is_composite() && tt.is_composite() {
            return Ok(true);
        }
        if !kinds_compat(lt.kind(), tt.kind()) {
            return Ok(false);
        }
        return Ok(match lt.kind() {
            Kind::Ptr | Kind::Float => true,
            Kind::Fwd | Kind::Enum | Kind::Enum64 => {
                let (ln, tn) = (lb.name(lt.name_off())?, tb.name(tt.name_off())?);
                let (ll, tl) = (essential_name_len(ln), essential_name_len(tn));
                ll == 0 || tl == 0 || (ll == tl && ln.as_bytes()[..ll] == tn.as_bytes()[..tl])
            }
            Kind::Int => {
                lt.int().is_some_and(|i| i.offset == 0) && tt.int().is_some_and(|i| i.offset == 0)
            }
            Kind::Array => {
                let (la, ta) = (lt.array(), tt.array());
                match (la, ta) {
                    (Some(la), Some(ta)) => {
                        lid = la.elem_type;
                        tid = ta.elem_type;
                        continue;
                    }
                    _ => false,
                }
            }
            _ => false,
        });
    }
    Err(Error::Spec("type nesting too deep".into()))
}

/// libbpf's `bpf_core_types_are_compat`.
pub fn types_compat(lb: &Btf<'_>, lid: TypeId, tb: &Btf<'_>, tid: TypeId) -> Result<bool, Error> {
    types_compat_depth(lb, lid, tb, tid, MAX_COMPAT_DEPTH)
}

fn types_compat_depth(
    lb: &Btf<'_>,
    mut lid: TypeId,
    tb: &Btf<'_>,
    mut tid: TypeId,
    mut depth: i32,
) -> Result<bool, Error> {
    loop {
        depth -= 1;
        if depth < 0 {
            return Err(Error::Spec("type nesting too deep".into()));
        }
        let (_, lt) = skip(lb, lid)?;
        let (_, tt) = skip(tb, tid)?;
        if !kinds_compat(lt.kind(), tt.kind()) {
            return Ok(false);
        }
        match lt.kind() {
            Kind::Void | Kind::Struct | Kind::Union | Kind::Enum | Kind::Fwd | Kind::Enum64 => {
                return Ok(true)
            }
            Kind::Int => {
                return Ok(lt.int().is_some_and(|i| i.offset == 0)
                    && tt.int().is_some_and(|i| i.offset == 0))
            }
            Kind::Ptr => {
                lid = lt.size_or_type();
                tid = tt.size_or_type();
            }
            Kind::Array => match (lt.array(), tt.array()) {
                (Some(la), Some(ta)) => {
                    lid = la.elem_type;
                    tid = ta.elem_type;
                }
                _ => return Ok(false),
            },
            Kind::FuncProto => {
                if lt.vlen() != tt.vlen() {
                    return Ok(false);
                }
                for (lp, tp) in lt.params().zip(tt.params()) {
                    if !types_compat_depth(lb, lp.type_id, tb, tp.type_id, depth)? {
                        return Ok(false);
                    }
                }
                lid = lt.size_or_type();
                tid = tt.size_or_type();
            }
            _ => return Ok(false),
        }
    }
}

/// libbpf's `__bpf_core_types_match` (TYPE_MATCHES).
pub fn types_match(lb: &Btf<'_>, lid: TypeId, tb: &Btf<'_>, tid: TypeId) -> Result<bool, Error> {
    types_match_rec(lb, lid, tb, tid, false, MAX_COMPAT_DEPTH)
}

fn types_match_rec(
    lb: &Btf<'_>,
    mut lid: TypeId,
    tb: &Btf<'_>,
    mut tid: TypeId,
    mut behind_ptr: bool,
    level: i32,
) -> Result<bool, Error> {
    if level <= 0 {
        return Err(Error::Spec("type nesting too deep".into()));
    }
    loop {
        let (_, lt) = skip(lb, lid)?;
        let (_, tt) = skip(tb, tid)?;
        if !names_match(lb.name(lt.name_off())?, tb.name(tt.name_off())?) {
            return Ok(false);
        }
        let (lk, tk) = (lt.kind(), tt.kind());
        return Ok(match lk {
            Kind::Void => lk == tk,
            Kind::Fwd => {
                let lf = lt.kflag();
                if behind_ptr {
                    if lk == tk {
                        lf == tt.kflag()
                    } else {
                        (tk == Kind::Struct && !lf) || (tk == Kind::Union && lf)
                    }
                } else {
                    lk == tk && lf == tt.kflag()
                }
            }
            Kind::Enum | Kind::Enum64 => {
                if !any_enum(tk) || lt.size_or_type() != tt.size_or_type() || lt.vlen() > tt.vlen()
                {
                    false
                } else {
                    let mut all = true;
                    for lv in lt.enum_values() {
                        let ln = lb.name(lv.name_off)?;
                        let mut found = false;
                        for tv in tt.enum_values() {
                            if names_match(ln, tb.name(tv.name_off)?) {
                                found = true;
                                break;
                            }
                        }
                        if !found {
                            all = false;
                            break;
                        }
                    }
                    all
                }
            }
            Kind::Struct | Kind::Union => {
                if behind_ptr {
                    if lk == tk {
                        true
                    } else if tk != Kind::Fwd {
                        false
                    } else {
                        (lk == Kind::Union) == tt.kflag()
                    }
                } else if lk != tk || lt.vlen() > tt.vlen() {
                    false
                } else {
                    let mut all = true;
                    for lm in lt.members() {
                        let ln = lb.name(lm.name_off)?;
                        let mut found = false;
                        for tm in tt.members() {
                            if !names_match(ln, tb.name(tm.name_off)?) {
                                continue;
                            }
                            if types_match_rec(
                                lb,
                                lm.type_id,
                                tb,
                                tm.type_id,
                                behind_ptr,
                                level - 1,
                            )? {
                                found = true;
                                break;
                            }
                        }
                        if !found {
                            all = false;
                            break;
                        }
                    }
                    all
                }
            }
            Kind::Int => {
                let sign = |t: &btfkit_model::Type<'_>| {
                    t.int().map_or(0, |i| i.encoding.0 & IntEncoding::SIGNED)
                };
                lk == tk && lt.size_or_type() == tt.size_or_type() && sign(&lt) == sign(&tt)
            }
            Kind::Ptr => {
                if lk != tk {
                    return Ok(false);
                }
                behind_ptr = true;
                lid = lt.size_or_type();
                tid = tt.size_or_type();
                continue;
            }
            Kind::Array => match (lt.array(), tt.array()) {
                (Some(la), Some(ta)) if lk == tk && la.nelems == ta.nelems => {
                    lid = la.elem_type;
                    tid = ta.elem_type;
                    continue;
                }
                _ => false,
            },
            Kind::FuncProto => {
                if lk != tk || lt.vlen() != tt.vlen() {
                    return Ok(false);
                }
                for (lp, tp) in lt.params().zip(tt.params()) {
                    if !types_match_rec(lb, lp.type_id, tb, tp.type_id, behind_ptr, level - 1)? {
                        return Ok(false);
                    }
                }
                lid = lt.size_or_type();
                tid = tt.size_or_type();
                continue;
            }
            _ => false,
        });
    }
}

/// libbpf's `bpf_core_match_member`: finds the local member named by `local_acc`
/// in target type `tid`, descending into anonymous members.
fn match_member(
    lb: &Btf<'_>,
    local_acc: &Accessor,
    tb: &Btf<'_>,
    tid: TypeId,
    spec: &mut Spec,
    next: &mut TypeId,
    depth: u32,
) -> Result<bool, Error> {
    if depth > MAX_SPEC_LEN as u32 {
        return Err(Error::Spec("anonymous member nesting too deep".into()));
    }
    let local_t = lb.type_by_id(local_acc.type_id)?;
    let local_m = local_t
        .members()
        .nth(local_acc.idx as usize)
        .ok_or_else(|| Error::Spec("local member index out of range".into()))?;
    let local_name = local_acc.name.as_deref().unwrap_or("");
    let (tid, tt) = skip(tb, tid)?;
    if !tt.is_composite() {
        return Ok(false);
    }
    for (i, m) in tt.members().enumerate() {
        if spec.raw.len() >= MAX_SPEC_LEN {
            return Err(Error::Spec("access too deep".into()));
        }
        // Wrapping both ways: the subtractions below restore it exactly.
        spec.bit_offset = spec.bit_offset.wrapping_add(m.bit_offset as u64);
        spec.raw.push(i as u32);
        let name = tb.name(m.name_off)?;
        if name.is_empty() {
            if match_member(lb, local_acc, tb, m.type_id, spec, next, depth + 1)? {
                return Ok(true);
            }
        } else if name == local_name {
            spec.accessors.push(Accessor {
                type_id: tid,
                idx: i as u32,
                name: Some(name.to_string()),
            });
            *next = m.type_id;
            if fields_compat(lb, local_m.type_id, tb, m.type_id)? {
                return Ok(true);
            }
            spec.accessors.pop();
            spec.bit_offset = spec.bit_offset.wrapping_sub(m.bit_offset as u64);
            spec.raw.pop();
            return Ok(false);
        }
        spec.bit_offset = spec.bit_offset.wrapping_sub(m.bit_offset as u64);
        spec.raw.pop();
    }
    Ok(false)
}

/// Matches `local` against candidate `cand` of the target (libbpf's
/// `bpf_core_spec_match`): `Some(target spec)` when it matches.
pub fn match_candidate(
    lb: &Btf<'_>,
    local: &Spec,
    kind: CoreReloKind,
    tb: &Btf<'_>,
    cand: TypeId,
) -> Result<Option<Spec>, Error> {
    let mut t = Spec {
        root_type_id: cand,
        accessors: Vec::new(),
        raw: Vec::new(),
        bit_offset: 0,
    };
    if kind.is_type() {
        let ok = if kind == CoreReloKind::TypeMatches {
            types_match(lb, local.root_type_id, tb, cand)?
        } else {
            types_compat(lb, local.root_type_id, tb, cand)?
        };
        return Ok(ok.then_some(t));
    }
    if kind.is_enumval() {
        let (tid, tt) = skip(tb, cand)?;
        if !any_enum(tt.kind()) {
            return Ok(None);
        }
        let Some(acc) = local.accessors.first() else {
            return Ok(None);
        };
        let lname = acc.name.as_deref().unwrap_or("");
        let ll = essential_name_len(lname);
        for (i, v) in tt.enum_values().enumerate() {
            let tn = tb.name(v.name_off)?;
            if essential_name_len(tn) == ll && tn.as_bytes()[..ll] == lname.as_bytes()[..ll] {
                t.accessors.push(Accessor {
                    type_id: tid,
                    idx: i as u32,
                    name: Some(tn.to_string()),
                });
                t.raw.push(i as u32);
                return Ok(Some(t));
            }
        }
        return Ok(None);
    }
    let mut tid = cand;
    for (i, lacc) in local.accessors.iter().enumerate() {
        let (id, tt) = skip(tb, tid)?;
        tid = id;
        if lacc.name.is_some() {
            let mut next = 0;
            if !match_member(lb, lacc, tb, tid, &mut t, &mut next, 0)? {
                return Ok(None);
            }
            tid = next;
        } else {
            if i > 0 {
                let Some(a) = tt.array() else { return Ok(None) };
                let flex = a.nelems == 0 && is_last_member(tb, t.accessors.last());
                if !flex && lacc.idx >= a.nelems {
                    return Ok(None);
                }
                tid = skip(tb, a.elem_type)?.0;
            }
            if t.raw.len() >= MAX_SPEC_LEN {
                return Err(Error::Spec("access too deep".into()));
            }
            t.accessors.push(Accessor {
                type_id: tid,
                idx: lacc.idx,
                name: None,
            });
            t.raw.push(lacc.idx);
            let sz = tb.resolve_size(tid)?;
            t.bit_offset = crate::spec::bit_pos(t.bit_offset, lacc.idx, sz)?;
        }
    }
    Ok(Some(t))
}

/// Whether the array reached through `parent` is its struct's last member (a flexible array).
fn is_last_member(tb: &Btf<'_>, parent: Option<&Accessor>) -> bool {
    let Some(p) = parent else { return false };
    let Some(_) = &p.name else { return false };
    tb.type_by_id(p.type_id)
        .map(|t| t.vlen() as u32 == p.idx + 1)
        .unwrap_or(false)
}

/// Field value of a spec (libbpf's `bpf_core_calc_field_relo`): (value, field size, field type).
fn field_value(
    btf: &Btf<'_>,
    spec: Option<&Spec>,
    kind: CoreReloKind,
    validate: &mut bool,
) -> Result<Option<(u64, u32, TypeId)>, Error> {
    if kind == CoreReloKind::FieldExists {
        return Ok(Some((spec.is_some() as u64, 0, 0)));
    }
    let Some(spec) = spec else { return Ok(None) };
    let acc = spec
        .accessors
        .last()
        .ok_or_else(|| Error::Spec("empty spec".into()))?;
    if acc.name.is_none() {
        let sz = btf.resolve_size(acc.type_id)? as u32;
        *validate = true;
        return match kind {
            CoreReloKind::FieldByteOffset => Ok(Some((spec.bit_offset / 8, sz, acc.type_id))),
            CoreReloKind::FieldByteSize => Ok(Some((sz as u64, 0, 0))),
            other => Err(Error::Spec(format!(
                "{other} can't be applied to an array access"
            ))),
        };
    }
    let t = btf.type_by_id(acc.type_id)?;
    let m = t
        .members()
        .nth(acc.idx as usize)
        .ok_or_else(|| Error::Spec("member index out of range".into()))?;
    let mt = btf.skip_mods_and_typedefs(m.type_id)?;
    let field_type_id = mt.id();
    let bit_off = spec.bit_offset;
    let mut bit_sz = m.bitfield_size as u64;
    let bitfield = bit_sz > 0;
    let (mut byte_sz, byte_off);
    if bitfield {
        byte_sz = mt.size_or_type() as u64;
        if byte_sz == 0 {
            return Err(Error::Spec("bitfield of a zero-sized type".into()));
        }
        let mut off = bit_off / 8 / byte_sz * byte_sz;
        while bit_off.saturating_add(bit_sz) - off * 8 > byte_sz.saturating_mul(8) {
            if byte_sz >= 8 {
                return Err(Error::Spec(
                    "bitfield can't be read with a 64-bit load".into(),
                ));
            }
            byte_sz *= 2;
            off = bit_off / 8 / byte_sz * byte_sz;
        }
        byte_off = off;
    } else {
        byte_sz = btf.resolve_size(field_type_id)?;
        // libbpf refuses sizes past 32 bits too (btf__resolve_size: E2BIG).
        if byte_sz > u32::MAX as u64 {
            return Err(Error::Spec(format!(
                "field of type [{field_type_id}] has a size of {byte_sz} bytes, past 32 bits"
            )));
        }
        byte_off = bit_off / 8;
        bit_sz = byte_sz * 8;
    }
    *validate = !bitfield;
    let val = match kind {
        CoreReloKind::FieldByteOffset => {
            return Ok(Some((
                byte_off,
                if bitfield { 0 } else { byte_sz as u32 },
                if bitfield { 0 } else { field_type_id },
            )))
        }
        CoreReloKind::FieldByteSize => byte_sz,
        CoreReloKind::FieldSigned => {
            *validate = true;
            let signed = (any_enum(mt.kind()) && mt.kflag())
                || (mt.kind() == Kind::Int && mt.int().is_some_and(|i| i.encoding.is_signed()));
            signed as u64
        }
        // libbpf computes the shifts in 32-bit unsigned arithmetic, which
        // wraps for fields wider than 64 bits (the verifier then refuses the
        // shift); the same here, without a panic.
        CoreReloKind::FieldLshiftU64 => 64u32
            .wrapping_sub(
                (bit_off as u32)
                    .wrapping_add(bit_sz as u32)
                    .wrapping_sub((byte_off as u32).wrapping_mul(8)),
            )
            .into(),
        CoreReloKind::FieldRshiftU64 => {
            *validate = true;
            64u32.wrapping_sub(bit_sz as u32).into()
        }
        other => return Err(Error::Spec(format!("{other} is not a field relocation"))),
    };
    Ok(Some((val, 0, 0)))
}

/// Computes the fixup for one candidate (or none) — libbpf's `bpf_core_calc_relo`.
pub fn calc(
    lb: &Btf<'_>,
    local: &Spec,
    tb: &Btf<'_>,
    target: Option<&Spec>,
    kind: CoreReloKind,
) -> Result<Fixup, Error> {
    let mut f = Fixup {
        kind,
        orig_val: 0,
        new_val: 0,
        poison: false,
        validate: true,
        fail_memsz_adjust: false,
        orig_sz: 0,
        new_sz: 0,
    };
    if kind.is_field() {
        let mut validate = true;
        let orig = field_value(lb, Some(local), kind, &mut validate)?;
        let mut ignored = true;
        let new = field_value(tb, target, kind, &mut ignored)?;
        f.validate = validate;
        let (Some((ov, osz, otid)), Some((nv, nsz, ntid))) = (orig, new) else {
            f.poison = true;
            return Ok(f);
        };
        f.orig_val = ov;
        f.new_val = nv;
        f.orig_sz = osz;
        f.new_sz = nsz;
        if osz != nsz {
            let ot = lb.type_by_id(otid)?;
            let nt = tb.type_by_id(ntid)?;
            // libbpf: `btf_int_encoding(t) != BTF_INT_SIGNED`, the encoding
            // compared as a whole (a `SIGNED | CHAR` int counts as unsigned).
            let unsigned_int = |t: &btfkit_model::Type<'_>| {
                t.kind() == Kind::Int
                    && t.int().is_some_and(|i| i.encoding.0 != IntEncoding::SIGNED)
            };
            let safe = (ot.kind() == Kind::Ptr && nt.kind() == Kind::Ptr)
                || (unsigned_int(&ot) && unsigned_int(&nt));
            f.fail_memsz_adjust = !safe;
        }
    } else if kind.is_type() {
        f.orig_val = type_value(lb, Some(local), kind)?;
        f.new_val = type_value(tb, target, kind)?;
    } else if kind.is_enumval() {
        f.orig_val = enum_value(lb, Some(local), kind)?.unwrap_or(0);
        match enum_value(tb, target, kind)? {
            Some(v) => f.new_val = v,
            None => f.poison = true,
        }
    } else {
        return Err(Error::Spec(format!(
            "unknown relocation kind {}",
            kind.raw()
        )));
    }
    Ok(f)
}

fn type_value(btf: &Btf<'_>, spec: Option<&Spec>, kind: CoreReloKind) -> Result<u64, Error> {
    let Some(spec) = spec else { return Ok(0) };
    Ok(match kind {
        CoreReloKind::TypeIdLocal | CoreReloKind::TypeIdTarget => spec.root_type_id as u64,
        CoreReloKind::TypeExists | CoreReloKind::TypeMatches => 1,
        CoreReloKind::TypeSize => btf.resolve_size(spec.root_type_id)?,
        other => return Err(Error::Spec(format!("{other} is not a type relocation"))),
    })
}

fn enum_value(
    btf: &Btf<'_>,
    spec: Option<&Spec>,
    kind: CoreReloKind,
) -> Result<Option<u64>, Error> {
    match kind {
        CoreReloKind::EnumvalExists => Ok(Some(spec.is_some() as u64)),
        CoreReloKind::EnumvalValue => {
            let Some(spec) = spec else { return Ok(None) };
            let acc = spec
                .accessors
                .first()
                .ok_or_else(|| Error::Spec("empty enum spec".into()))?;
            let t = btf.type_by_id(acc.type_id)?;
            let v = t
                .enum_values()
                .nth(acc.idx as usize)
                .ok_or_else(|| Error::Spec("enumerator out of range".into()))?;
            // A 32-bit enumerator is a signed int in libbpf's record: sign-extend.
            Ok(Some(if t.kind() == Kind::Enum {
                v.value as u32 as i32 as i64 as u64
            } else {
                v.value
            }))
        }
        other => Err(Error::Spec(format!("{other} is not an enum relocation"))),
    }
}
