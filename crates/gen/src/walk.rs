//! The walk both layouts share: every item of the plan in id order, handed
//! to a layout's [`Emitter`] (members come from the one member walk,
//! [`crate::plan::Plan::members_into`]), and the text both write alike:
//! typedefs, the constants of anonymous enums, enumerator literals and the
//! doc line of a struct or union.

use std::borrow::Cow;

use btfkit_model::{Kind, Type};

use crate::names::{push_i64, push_ident, push_u64, FxHashMap as HashMap, Scope};
use crate::plan::Plan;
use crate::render::{const_line, typed_line};
use crate::{Error, Out};

/// Text buffers reused from item to item.
#[derive(Default)]
pub(crate) struct Scratch {
    pub(crate) head: String,
    pub(crate) ty: String,
    pub(crate) value: String,
    pub(crate) lhs: String,
}

/// What a layout writes for each kind of item. Each item is written after
/// a blank line (none when it writes nothing).
pub(crate) trait Emitter<'a> {
    /// Whether a blank line separates an anonymous enum's definition from
    /// its constants.
    const CONSTS_APART: bool;

    /// A struct or union.
    fn composite(
        &mut self,
        plan: &Plan<'a, '_>,
        ty: &Type<'_>,
        out: &mut Out<'_>,
        scratch: &mut Scratch,
    ) -> Result<(), Error>;

    /// An enum that has a type of its own.
    fn enumeration(
        &mut self,
        plan: &Plan<'a, '_>,
        ty: &Type<'_>,
        out: &mut Out<'_>,
        scratch: &mut Scratch,
    );

    /// The type of an anonymous enum's constants (`None`: no constants).
    fn const_repr(&self, plan: &Plan<'a, '_>, ty: &Type<'_>) -> Option<Cow<'static, str>>;

    /// A forward declaration without a definition.
    fn fwd(&mut self, plan: &Plan<'a, '_>, ty: &Type<'_>, out: &mut Out<'_>);

    /// After the last item.
    fn finish(&mut self, _plan: &Plan<'a, '_>, _out: &mut Out<'_>) {}
}

/// Writes every item of `plan` through `e`; `values` holds the value names
/// already taken (an anonymous enum's constants are numbered past them).
pub(crate) fn emit<'a, E: Emitter<'a>>(
    plan: &Plan<'a, '_>,
    out: &mut Out<'_>,
    e: &mut E,
    mut values: Scope<'a>,
) -> Result<(), Error> {
    // Sized for the enumerators of anonymous enums, so the tables rarely grow.
    let mut seen: HashMap<Cow<'a, str>, u64> =
        HashMap::with_capacity_and_hasher(values.capacity(), Default::default());
    let mut scratch = Scratch::default();
    for &id in &plan.items {
        let ty = plan.btf.type_by_id(id)?;
        out.push('\n');
        let before = out.len();
        match ty.kind() {
            Kind::Struct | Kind::Union => e.composite(plan, &ty, out, &mut scratch)?,
            Kind::Enum | Kind::Enum64 => {
                if !plan.is_enum_as_int(id) {
                    e.enumeration(plan, &ty, out, &mut scratch);
                }
                if plan.raw_name(&ty).is_empty() {
                    if let Some(repr) = e.const_repr(plan, &ty) {
                        let apart = E::CONSTS_APART && out.len() != before;
                        let consts = Consts {
                            values: &mut values,
                            seen: &mut seen,
                        };
                        consts.write(plan, &ty, &repr, apart, out, &mut scratch);
                    }
                }
            }
            Kind::Typedef if !plan.is_absorbed(id) => write_typedef(plan, &ty, out, &mut scratch)?,
            Kind::Fwd => e.fwd(plan, &ty, out),
            _ => {}
        }
        if out.len() == before {
            out.pop();
        }
        out.item_done(plan)?;
    }
    e.finish(plan, out);
    Ok(())
}

/// `pub type name = target;`.
fn write_typedef(
    plan: &Plan<'_, '_>,
    ty: &Type<'_>,
    out: &mut Out<'_>,
    scratch: &mut Scratch,
) -> Result<(), Error> {
    out.push_str("/// `typedef ");
    out.push_str(plan.raw_name(ty));
    out.push_str("`.\n");
    let Scratch { head, ty: text, .. } = scratch;
    head.clear();
    head.push_str("pub type ");
    head.push_str(&plan.name(ty.id()));
    head.push_str(" =");
    text.clear();
    let target = ty.size_or_type();
    plan.write_ty(text, target, true, out.left(plan))?;
    typed_line(out, 0, head, text, || plan.rty_alias(target), ";");
    Ok(())
}

/// The names the constants of anonymous enums took.
struct Consts<'s, 'a> {
    values: &'s mut Scope<'a>,
    /// The value of each constant that kept its enumerator's name (a
    /// repeat of both is left out).
    seen: &'s mut HashMap<Cow<'a, str>, u64>,
}

impl<'a> Consts<'_, 'a> {
    /// Module-level constants of type `repr` for an anonymous enum's
    /// enumerators (values of this BTF), after a blank line when `apart`.
    fn write(
        self,
        plan: &Plan<'a, '_>,
        ty: &Type<'_>,
        repr: &str,
        apart: bool,
        out: &mut Out<'_>,
        scratch: &mut Scratch,
    ) {
        let size = ty.size().unwrap_or(4);
        let signed = ty.enum_signed();
        let mut first = apart;
        let Scratch { head, value, .. } = scratch;
        for v in ty.enum_values() {
            let base = plan.plain_at(v.name_off).1;
            if self.seen.get(&*base) == Some(&v.value) {
                continue;
            }
            let name = if self.values.try_take_cow(base.clone()) {
                self.seen.insert(base.clone(), v.value);
                base
            } else {
                Cow::Owned(self.values.take_numbered(&base, "__"))
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
}

/// Appends an enumerator value as a literal of its enum's signedness and
/// size (hostile sizes: 0 or past 8 bytes, no overflow, no shift by 64).
pub(crate) fn push_literal(s: &mut String, value: u64, size: u32, signed: bool) {
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

/// The start of a struct's or union's doc line: "/// `struct foo`" or
/// "/// An anonymous union".
pub(crate) fn push_doc_name(out: &mut String, kw: &str, raw: &str) {
    if raw.is_empty() {
        out.push_str("/// An anonymous ");
        out.push_str(kw);
    } else {
        out.push_str("/// `");
        out.push_str(kw);
        out.push(' ');
        out.push_str(raw);
        out.push('`');
    }
}
