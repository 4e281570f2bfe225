//! BTF as text: bpftool's raw format ([`raw`]), bpftool's `-j` JSON ([`json`])
//! and C declarations ([`c`]). Each writes to any [`std::io::Write`] as it
//! goes, so a dump of the kernel's ~126k types never sits in memory whole.
pub mod c;
pub mod decimal;
pub mod json;
pub mod raw;

use crate::Btf;

/// The bytes of the name at `off`, as bpftool prints them: `(anon)` for an
/// empty name or an offset outside the string sections, the bytes unchecked
/// otherwise (BTF from objects need not be UTF-8).
pub(crate) fn name_bytes<'b>(btf: &'b Btf<'_>, off: u32) -> &'b [u8] {
    const ANON: &[u8] = b"(anon)";
    let mut blob = btf;
    // Split BTF: offsets below this blob's strings belong to its base (a chain
    // of bases is followed; each step goes to a strictly lower offset range).
    while off < blob.start_str_off {
        match blob.base() {
            Some(base) => blob = base,
            None => return ANON,
        }
    }
    let rest = blob
        .string_section()
        .get((off - blob.start_str_off) as usize..)
        .unwrap_or_default();
    match memchr::memchr(0, rest) {
        Some(0) | None => ANON,
        Some(len) => &rest[..len],
    }
}
