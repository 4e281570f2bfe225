//! [`crate::Options::opaque_pointees`]: which types the roots hold by value
//! (written in full); a named struct or union reached only through pointers
//! is written as an opaque pointee, and what only it reaches is not written.

use btfkit_model::{Btf, Kind, TypeId};

use crate::Error;

/// Per type id: held by value from a root (through members, arrays,
/// typedefs and modifiers; never through a pointer or a function prototype).
pub(crate) fn held_by_value(btf: &Btf<'_>, roots: &[TypeId]) -> Result<Vec<bool>, Error> {
    let mut held = vec![false; btf.last_id() as usize + 1];
    let mut work = roots.to_vec();
    while let Some(id) = work.pop() {
        let Some(slot) = held.get_mut(id as usize) else {
            continue;
        };
        if *slot || id == 0 {
            continue;
        }
        *slot = true;
        let ty = btf.type_by_id(id)?;
        match ty.kind() {
            Kind::Typedef | Kind::Const | Kind::Volatile | Kind::Restrict | Kind::TypeTag => {
                work.extend(ty.ref_type());
            }
            Kind::Array => work.extend(ty.array().map(|a| a.elem_type)),
            Kind::Struct | Kind::Union => work.extend(ty.members().map(|m| m.type_id)),
            _ => {}
        }
    }
    Ok(held)
}
