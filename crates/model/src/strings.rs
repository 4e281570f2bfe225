//! The string section: NUL-terminated names addressed by byte offset, and a
//! deduplicating index used when new strings are added.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use crate::error::{Error, Result};

/// Reads the NUL-terminated string at `off` in `table`.
pub(crate) fn str_at(table: &[u8], off: u32, reported_off: u32) -> Result<&str> {
    let start = off as usize;
    let rest = table
        .get(start..)
        .ok_or(Error::BadStringOffset(reported_off))?;
    let len = memchr::memchr(0, rest).ok_or(Error::BadStringOffset(reported_off))?;
    std::str::from_utf8(&rest[..len]).map_err(|_| Error::BadString(reported_off))
}

/// Checks a string section's framing: empty, or NUL-terminated; a base table also
/// starts with the empty string (one that does not is split BTF read without
/// its base: [`Error::SplitWithoutBase`]).
pub(crate) fn check_table(table: &[u8], is_base: bool) -> Result<()> {
    if table.is_empty() {
        return Ok(());
    }
    if is_base && table[0] != 0 {
        return Err(Error::SplitWithoutBase);
    }
    if table[table.len() - 1] != 0 {
        return Err(Error::BadHeader(
            "string section is not NUL-terminated".into(),
        ));
    }
    Ok(())
}

fn hash_bytes(b: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    b.hash(&mut h);
    h.finish()
}

/// Index of the strings in a table, for deduplication: hash → offsets.
#[derive(Debug, Default, Clone)]
pub(crate) struct StringIndex {
    by_hash: HashMap<u64, Vec<u32>>,
}

impl StringIndex {
    /// Indexes every string of `table`.
    pub(crate) fn build(table: &[u8]) -> StringIndex {
        let mut index = StringIndex::default();
        let mut off = 0usize;
        while off < table.len() {
            let len = memchr::memchr(0, &table[off..]).unwrap_or(table.len() - off);
            index.insert(&table[off..off + len], off as u32);
            off += len + 1;
        }
        index
    }

    pub(crate) fn insert(&mut self, s: &[u8], off: u32) {
        let offs = self.by_hash.entry(hash_bytes(s)).or_default();
        if !offs.contains(&off) {
            offs.push(off);
        }
    }

    /// The offset of `s` in `table` if it is there.
    pub(crate) fn find(&self, table: &[u8], s: &[u8]) -> Option<u32> {
        self.by_hash
            .get(&hash_bytes(s))?
            .iter()
            .copied()
            .find(|&off| {
                let start = off as usize;
                table.get(start..start + s.len()) == Some(s)
                    && table.get(start + s.len()) == Some(&0)
            })
    }
}
