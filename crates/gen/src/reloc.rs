//! `--layout relocatable`: `#[::btf::relocatable]` definitions for BPF programs.
//!
//! Types keep their BTF names (the name is what CO-RE matches); members keep
//! theirs, with `r#` for keywords and `#[btf(name = "...")]` when Rust needs
//! another spelling; anonymous members become `__anon_N` with
//! `#[btf(anon)]`; bitfields carry `#[btf(bits = N)]` on their declared
//! type. No offsets or padding: the link step lays the types out, and the
//! loader relocates every access against the running kernel.

use std::borrow::Cow;

use crate::names::FxHashMap as HashMap;

use btfkit_model::{Kind, Type};

use crate::names::{dedup_in_order, is_keyword, push_i64, push_ident, push_u64, Scope};
use crate::plan::Plan;
use crate::render::{brace_on_own_line, const_line, typed_line};
use crate::{Error, Out};

/// Whether `s` is a C identifier (what `#[btf(name = "...")]` accepts).
fn is_c_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// Writes the relocatable module body.
pub(crate) fn emit(plan: &Plan<'_, '_>, out: &mut Out<'_>) -> Result<(), Error> {
    let mut values = Scope::with_capacity(plan.anon_enumerators());
    // Sized for the enumerators of anonymous enums, so the tables rarely grow.
    let mut consts_seen: HashMap<Cow<'_, str>, u64> =
        HashMap::with_capacity_and_hasher(values.capacity(), Default::default());
    let mut scratch = Scratch::default();
    for &id in &plan.items {
        let ty = plan.btf.type_by_id(id)?;
        match ty.kind() {
            Kind::Struct | Kind::Union if plan.is_opaque(id) => {
                let union = ty.kind() == Kind::Union;
                out.push_str("\n/// `");
                out.push_str(if union { "union " } else { "struct " });
                out.push_str(plan.raw_name(&ty));
                out.push_str(
                    "`, only pointed to: add it to the types of `btfkit gen` to go into it.\n",
                );
                out.push_str(if union {
                    "#[::btf::opaque(union)]"
                } else {
                    "#[::btf::opaque]"
                });
                out.push_str("\npub struct ");
                out.push_str(&plan.name(id));
                out.push_str(";\n");
            }
            Kind::Struct | Kind::Union => write_composite(plan, &ty, out, &mut scratch)?,
            Kind::Enum | Kind::Enum64 => {
                if !plan.is_enum_as_int(id) {
                    write_enum(plan, &ty, out, &mut scratch);
                }
                if plan.raw_name(&ty).is_empty() {
                    write_enum_consts(plan, &ty, &mut values, &mut consts_seen, out, &mut scratch);
                }
            }
            Kind::Typedef if !plan.is_absorbed(id) => {
                out.push_str("\n/// `typedef ");
                out.push_str(plan.raw_name(&ty));
                out.push_str("`.\n");
                let Scratch { head, ty: text, .. } = &mut scratch;
                head.clear();
                head.push_str("pub type ");
                head.push_str(&plan.name(id));
                head.push_str(" =");
                text.clear();
                let target = ty.size_or_type();
                plan.write_ty(text, target, true, out.left(plan))?;
                typed_line(out, 0, head, text, || plan.rty_alias(target), ";");
            }
            Kind::Fwd => {
                let kw = if ty.fwd_is_union() { "union" } else { "struct" };
                out.push_str("\n/// `");
                out.push_str(kw);
                out.push(' ');
                out.push_str(plan.raw_name(&ty));
                out.push_str(
                    "`: declared but not defined in this BTF.\n#[::btf::relocatable]\npub ",
                );
                out.push_str(kw);
                out.push(' ');
                out.push_str(&plan.name(id));
                out.push_str(" {}\n");
            }
            _ => {}
        }
        out.item_done(plan)?;
    }
    Ok(())
}

/// Buffers reused from item to item.
#[derive(Default)]
struct Scratch<'a> {
    head: String,
    ty: String,
    value: String,
    names: Vec<(&'a str, Cow<'a, str>)>,
}

fn write_composite<'a>(
    plan: &Plan<'a, '_>,
    ty: &Type<'_>,
    out: &mut Out<'_>,
    scratch: &mut Scratch<'a>,
) -> Result<(), Error> {
    let kw = if ty.kind() == Kind::Union {
        "union"
    } else {
        "struct"
    };
    let raw = plan.raw_name(ty);
    let size = ty.size().unwrap_or(0);
    if raw.is_empty() {
        out.push_str("\n/// An anonymous ");
        out.push_str(kw);
    } else {
        out.push_str("\n/// `");
        out.push_str(kw);
        out.push(' ');
        out.push_str(raw);
        out.push('`');
    }
    out.push_str(" (");
    push_u64(out, u64::from(size));
    out.push_str(" bytes in this BTF).\n#[::btf::relocatable]\npub ");
    out.push_str(kw);
    out.push(' ');
    let name = plan.name(ty.id());
    out.push_str(&name);
    if ty.vlen() == 0 {
        out.push_str(" {}\n");
        return Ok(());
    }
    out.push_str(if brace_on_own_line(kw, &name) {
        "\n{\n"
    } else {
        " {\n"
    });
    let Scratch {
        head,
        ty: text,
        names,
        ..
    } = scratch;
    plan.member_names_into(ty, names);
    for (m, (btf_name, member)) in ty.members().zip(names.iter()) {
        let btf_name = *btf_name;
        let (_, bits) = plan.member_bits(ty, &m);
        if btf_name.is_empty() {
            out.push_str("    #[btf(anon)]\n");
        } else if member != btf_name && is_c_ident(btf_name) {
            out.push_str("    #[btf(name = \"");
            out.push_str(btf_name);
            out.push_str("\")]\n");
        }
        if bits > 0 {
            out.push_str("    #[btf(bits = ");
            push_u64(out, u64::from(bits));
            out.push_str(")]\n");
        }
        head.clear();
        head.push_str("pub ");
        push_ident(head, member);
        head.push(':');
        text.clear();
        plan.write_ty(text, m.type_id, false, out.left(plan))?;
        typed_line(out, 4, head, text, || plan.rty(m.type_id), ",");
    }
    out.push_str("}\n");
    Ok(())
}

/// `#[repr]` type of a relocatable enum.
fn enum_repr(size: u32, signed: bool) -> &'static str {
    match (size, signed) {
        (1, false) => "u8",
        (1, true) => "i8",
        (2, false) => "u16",
        (2, true) => "i16",
        (8, false) => "u64",
        (8, true) => "i64",
        (_, true) => "i32",
        (_, false) => "u32",
    }
}

/// Appends an enumerator value as a literal of its enum's signedness and size.
fn push_literal(s: &mut String, value: u64, size: u32, signed: bool) {
    let bits = (size.clamp(1, 8)) * 8;
    if signed {
        let shift = 64 - bits;
        push_i64(s, ((value << shift) as i64) >> shift);
    } else if bits == 64 {
        push_u64(s, value);
    } else {
        push_u64(s, value & ((1u64 << bits) - 1));
    }
}

fn write_enum(plan: &Plan<'_, '_>, ty: &Type<'_>, out: &mut Out<'_>, scratch: &mut Scratch<'_>) {
    let raw = plan.raw_name(ty);
    let size = ty.size().unwrap_or(4);
    let signed = ty.enum_signed();
    let sign = if signed { "signed" } else { "unsigned" };
    let kind = if ty.kind() == Kind::Enum64 {
        "enum64"
    } else {
        "enum"
    };
    if raw.is_empty() {
        out.push_str("\n/// An anonymous ");
        out.push_str(kind);
        out.push_str(" (");
    } else {
        out.push_str("\n/// `enum ");
        out.push_str(raw);
        out.push_str("` (");
        out.push_str(kind);
        out.push_str(", ");
    }
    out.push_str(sign);
    out.push_str(", ");
    push_u64(out, u64::from(size));
    out.push_str(" bytes).\n#[::btf::relocatable]\n#[repr(");
    out.push_str(enum_repr(size, signed));
    out.push_str(")]\npub enum ");
    out.push_str(&plan.name(ty.id()));
    out.push_str(" {");
    if ty.vlen() == 0 {
        // A declared-only enum (`enum foo;`): rustfmt writes `{}`.
        out.push_str("}\n");
        return;
    }
    out.push('\n');
    let mut names: Vec<(&str, Cow<'_, str>)> = ty
        .enum_values()
        .map(|v| plan.plain_at(v.name_off))
        .collect();
    dedup_in_order(&mut names, "_");
    let value = &mut scratch.value;
    for (v, (_, name)) in ty.enum_values().zip(&names) {
        value.clear();
        push_literal(value, v.value, size, signed);
        let raw_prefix = if is_keyword(name) { 2 } else { 0 };
        out.push_str("    ");
        push_ident(out, name);
        if 4 + raw_prefix + name.len() + 3 + value.len() < 100 {
            out.push_str(" = ");
        } else {
            out.push_str(" =\n        ");
        }
        out.push_str(value);
        out.push_str(",\n");
    }
    out.push_str("}\n");
}

/// Plain constants for an anonymous enum's enumerators (values of this BTF).
fn write_enum_consts<'a>(
    plan: &Plan<'a, '_>,
    ty: &Type<'_>,
    values: &mut Scope<'a>,
    seen: &mut HashMap<Cow<'a, str>, u64>,
    out: &mut Out<'_>,
    scratch: &mut Scratch<'_>,
) {
    let size = ty.size().unwrap_or(4);
    let signed = ty.enum_signed();
    let repr = plan.prim(enum_repr(size, signed));
    let mut first = true;
    let Scratch { head, value, .. } = scratch;
    for v in ty.enum_values() {
        let base = plan.plain_at(v.name_off).1;
        if seen.get(&*base) == Some(&v.value) {
            continue;
        }
        let name = if values.try_take_cow(base.clone()) {
            seen.insert(base.clone(), v.value);
            base
        } else {
            Cow::Owned(values.take_numbered(&base, "__"))
        };
        if first {
            out.push('\n');
            first = false;
        }
        head.clear();
        push_ident(head, &name);
        value.clear();
        push_literal(value, v.value, size, signed);
        const_line(out, 0, head, repr, value);
    }
}
