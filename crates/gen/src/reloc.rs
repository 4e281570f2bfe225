//! `--layout relocatable`: `#[::btf::relocatable]` definitions for BPF programs.
//!
//! Types keep their BTF names (the name is what CO-RE matches); members keep
//! theirs, with `r#` for keywords and `#[btf(name = "...")]` when Rust needs
//! another spelling; anonymous members become `__anon_N` with
//! `#[btf(anon)]`; bitfields carry `#[btf(bits = N)]` on their declared
//! type. No offsets or padding: the link step lays the types out, and the
//! loader relocates every access against the running kernel.

use std::borrow::Cow;

use btfkit_model::{Kind, Type};

use crate::names::{is_keyword, push_ident, push_u64, Scope};
use crate::plan::{Member, Plan};
use crate::render::{brace_on_own_line, typed_line};
use crate::walk::{self, push_doc_name, push_literal, Emitter, Scratch};
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
    let values = Scope::with_capacity(plan.anon_enumerators());
    walk::emit(plan, out, &mut Relocatable::default(), values)
}

/// The relocatable layout's [`Emitter`].
#[derive(Default)]
struct Relocatable<'a> {
    names: Vec<(&'a str, Cow<'a, str>)>,
    members: Vec<Member<'a>>,
}

impl<'a> Emitter<'a> for Relocatable<'a> {
    const CONSTS_APART: bool = true;

    fn composite(
        &mut self,
        plan: &Plan<'a, '_>,
        ty: &Type<'_>,
        out: &mut Out<'_>,
        scratch: &mut Scratch,
    ) -> Result<(), Error> {
        let kw = if ty.kind() == Kind::Union {
            "union"
        } else {
            "struct"
        };
        if plan.is_opaque(ty.id()) {
            // `--opaque-pointees`: only pointed to, written without members.
            out.push_str("/// `");
            out.push_str(kw);
            out.push(' ');
            out.push_str(plan.raw_name(ty));
            out.push_str(
                "`, only pointed to: add it to the types of `btfkit gen` to go into it.\n",
            );
            out.push_str(if kw == "union" {
                "#[::btf::opaque(union)]"
            } else {
                "#[::btf::opaque]"
            });
            out.push_str("\npub struct ");
            out.push_str(&plan.name(ty.id()));
            out.push_str(";\n");
            return Ok(());
        }
        push_doc_name(out, kw, plan.raw_name(ty));
        out.push_str(" (");
        push_u64(out, u64::from(ty.size().unwrap_or(0)));
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
        let Scratch { head, ty: text, .. } = scratch;
        plan.members_into(ty, &mut self.names, &mut self.members);
        for m in &self.members {
            match m.renamed() {
                Some("") => out.push_str("    #[btf(anon)]\n"),
                Some(n) if is_c_ident(n) => {
                    out.push_str("    #[btf(name = \"");
                    out.push_str(n);
                    out.push_str("\")]\n");
                }
                _ => {}
            }
            if m.bits > 0 {
                out.push_str("    #[btf(bits = ");
                push_u64(out, u64::from(m.bits));
                out.push_str(")]\n");
            }
            head.clear();
            head.push_str("pub ");
            push_ident(head, &m.plain);
            head.push(':');
            text.clear();
            plan.write_ty(text, m.type_id, false, out.left(plan))?;
            typed_line(out, 4, head, text, || plan.rty(m.type_id), ",");
        }
        out.push_str("}\n");
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
        let repr = enum_repr(ty.size().unwrap_or(4), ty.enum_signed());
        Some(Cow::Borrowed(plan.prim(repr)))
    }

    fn fwd(&mut self, plan: &Plan<'a, '_>, ty: &Type<'_>, out: &mut Out<'_>) {
        let kw = if ty.fwd_is_union() { "union" } else { "struct" };
        out.push_str("/// `");
        out.push_str(kw);
        out.push(' ');
        out.push_str(plan.raw_name(ty));
        out.push_str("`: declared but not defined in this BTF.\n#[::btf::relocatable]\npub ");
        out.push_str(kw);
        out.push(' ');
        out.push_str(&plan.name(ty.id()));
        out.push_str(" {}\n");
    }
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

fn write_enum(plan: &Plan<'_, '_>, ty: &Type<'_>, out: &mut Out<'_>, scratch: &mut Scratch) {
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
        out.push_str("/// An anonymous ");
        out.push_str(kind);
        out.push_str(" (");
    } else {
        out.push_str("/// `enum ");
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
    let value = &mut scratch.value;
    for (v, name) in plan.enumerators(ty) {
        value.clear();
        push_literal(value, v, size, signed);
        let raw_prefix = if is_keyword(&name) { 2 } else { 0 };
        out.push_str("    ");
        push_ident(out, &name);
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
