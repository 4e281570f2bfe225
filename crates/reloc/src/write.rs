//! Writing a relocated object: patched instructions, and `.BTF.ext` without its
//! core_relo records, so loaders without CO-RE support load it as is.

use btfkit_model::BtfExt;
use btfkit_object::{BpfObject, ObjectRewriter};

use crate::relocate::Relocated;
use crate::Error;

/// The object with every relocation applied and the core_relo records removed.
/// Fails if any relocation failed (poisoned ones are applied, as libbpf does).
pub fn write_relocated(object: &[u8], relocated: &Relocated) -> Result<Vec<u8>, Error> {
    if let Some(d) = relocated.decisions.iter().find(|d| d.error().is_some()) {
        return Err(Error::Input(format!("cannot write the object: {d}")));
    }
    let obj = BpfObject::parse(object)?;
    let mut rw = ObjectRewriter::new(&obj)?;
    for (section, insns) in &relocated.sections {
        rw.replace_section_data(*section, insns.clone())?;
    }
    if let Some(ext_bytes) = obj.btf_ext() {
        let mut ext = BtfExt::parse(ext_bytes)?;
        ext.core_relo.sections.clear();
        rw.set_non_alloc_section(".BTF.ext", ext.to_bytes())?;
    }
    Ok(rw.write()?)
}
