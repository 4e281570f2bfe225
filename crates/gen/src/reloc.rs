//! `--layout relocatable`: `#[::btf::relocatable]` definitions for BPF programs.
//!
//! Types keep their BTF names (the name is what CO-RE matches); members keep
//! theirs, with `r#` for keywords and `#[btf(name = "...")]` when Rust needs
//! another spelling; anonymous members become `__anon_N` with
//! `#[btf(anon)]`; bitfields carry `#[btf(bits = N)]` on their declared
//! type. No offsets or padding: the link step lays the types out, and the
//! loader relocates every access against the running kernel.

use crate::names::FxHashMap as HashMap;
use std::fmt::Write as _;

use btfkit_model::{Kind, Type};

use crate::names::{ident, plain, Scope};
use crate::plan::Plan;
use crate::render::{const_line, typed_line};
use crate::Error;

/// Whether `s` is a C identifier (what `#[btf(name = "...")]` accepts).
fn is_c_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// Writes the relocatable module body.
pub(crate) fn emit(plan: &Plan<'_, '_>, out: &mut String) -> Result<(), Error> {
    let mut values = Scope::default();
    let mut consts_seen: HashMap<String, u64> = HashMap::default();
    for &id in &plan.items {
        let ty = plan.btf.type_by_id(id)?;
        match ty.kind() {
            Kind::Struct | Kind::Union => write_composite(plan, &ty, out),
            Kind::Enum | Kind::Enum64 => {
                if !plan.is_enum_as_int(id) {
                    write_enum(plan, &ty, out);
                }
                if plan.raw_name(&ty).is_empty() {
                    write_enum_consts(plan, &ty, &mut values, &mut consts_seen, out);
                }
            }
            Kind::Typedef if !plan.is_absorbed(id) => {
                let _ = writeln!(out, "\n/// `typedef {}`.", plan.raw_name(&ty));
                let head = format!("pub type {} =", plan.name(id));
                typed_line(out, 0, &head, &plan.rty_alias(ty.size_or_type()), ";");
            }
            Kind::Fwd => {
                let kw = if ty.fwd_is_union() { "union" } else { "struct" };
                let _ = writeln!(
                    out,
                    "\n/// `{kw} {}`: declared but not defined in this BTF.\n#[::btf::relocatable]\npub {kw} {} {{}}",
                    plan.raw_name(&ty),
                    plan.name(id)
                );
            }
            _ => {}
        }
        plan.check_budget(out)?;
    }
    Ok(())
}

fn write_composite(plan: &Plan<'_, '_>, ty: &Type<'_>, out: &mut String) {
    let kw = if ty.kind() == Kind::Union {
        "union"
    } else {
        "struct"
    };
    let raw = plan.raw_name(ty);
    let size = ty.size().unwrap_or(0);
    if raw.is_empty() {
        let _ = writeln!(out, "\n/// An anonymous {kw} ({size} bytes in this BTF).");
    } else {
        let _ = writeln!(out, "\n/// `{kw} {raw}` ({size} bytes in this BTF).");
    }
    let name = plan.name(ty.id());
    if ty.vlen() == 0 {
        let _ = writeln!(out, "#[::btf::relocatable]\npub {kw} {name} {{}}");
        return;
    }
    let _ = writeln!(out, "#[::btf::relocatable]\npub {kw} {name} {{");
    let names = plan.member_names(ty);
    for (m, member) in ty.members().zip(names) {
        let btf_name = plan.str_at(m.name_off);
        let (_, bits) = plan.member_bits(ty, &m);
        if btf_name.is_empty() {
            out.push_str("    #[btf(anon)]\n");
        } else if member != btf_name && is_c_ident(btf_name) {
            let _ = writeln!(out, "    #[btf(name = \"{btf_name}\")]");
        }
        if bits > 0 {
            let _ = writeln!(out, "    #[btf(bits = {bits})]");
        }
        let head = format!("pub {}:", ident(&member));
        typed_line(out, 4, &head, &plan.rty(m.type_id), ",");
    }
    out.push_str("}\n");
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

/// An enumerator value as a literal of its enum's signedness and size.
fn literal(value: u64, size: u32, signed: bool) -> String {
    let bits = (size.clamp(1, 8)) * 8;
    if signed {
        let shift = 64 - bits;
        (((value << shift) as i64) >> shift).to_string()
    } else if bits == 64 {
        value.to_string()
    } else {
        (value & ((1u64 << bits) - 1)).to_string()
    }
}

fn write_enum(plan: &Plan<'_, '_>, ty: &Type<'_>, out: &mut String) {
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
        let _ = writeln!(out, "\n/// An anonymous {kind} ({sign}, {size} bytes).");
    } else {
        let _ = writeln!(out, "\n/// `enum {raw}` ({kind}, {sign}, {size} bytes).");
    }
    let _ = write!(
        out,
        "#[::btf::relocatable]\n#[repr({})]\npub enum {} {{",
        enum_repr(size, signed),
        plan.name(ty.id())
    );
    if ty.vlen() == 0 {
        // A declared-only enum (`enum foo;`): rustfmt writes `{}`.
        out.push_str("}\n");
        return;
    }
    out.push('\n');
    let mut scope = Scope::default();
    for v in ty.enum_values() {
        let name = ident(&scope.take_numbered(&plain(plan.str_at(v.name_off)), "_"));
        let value = literal(v.value, size, signed);
        if 4 + name.len() + 3 + value.len() < 100 {
            let _ = writeln!(out, "    {name} = {value},");
        } else {
            let _ = writeln!(out, "    {name} =\n        {value},");
        }
    }
    out.push_str("}\n");
}

/// Plain constants for an anonymous enum's enumerators (values of this BTF).
fn write_enum_consts(
    plan: &Plan<'_, '_>,
    ty: &Type<'_>,
    values: &mut Scope,
    seen: &mut HashMap<String, u64>,
    out: &mut String,
) {
    let size = ty.size().unwrap_or(4);
    let signed = ty.enum_signed();
    let repr = plan.prim(enum_repr(size, signed));
    let mut first = true;
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
        if first {
            out.push('\n');
            first = false;
        }
        const_line(
            out,
            0,
            &ident(&name),
            &repr,
            &literal(v.value, size, signed),
        );
    }
}
