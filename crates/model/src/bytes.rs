//! Section storage: borrowed from the caller, shared with the other sections of
//! one owned input buffer (no copy), or owned after a modification.

use std::ops::{Deref, Range};
use std::sync::Arc;

/// The bytes of one section.
#[derive(Clone)]
pub(crate) enum Bytes<'a> {
    /// Borrowed from the caller's input.
    Borrowed(&'a [u8]),
    /// A range of an owned input buffer shared by all sections.
    Shared(Arc<Vec<u8>>, Range<usize>),
    /// Owned, growable (after the builder added to it).
    Owned(Vec<u8>),
}

impl Deref for Bytes<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Borrowed(b) => b,
            Bytes::Shared(buf, range) => &buf[range.clone()],
            Bytes::Owned(v) => v,
        }
    }
}

impl Bytes<'_> {
    /// A growable copy, made on the first modification.
    pub(crate) fn to_mut(&mut self) -> &mut Vec<u8> {
        if !matches!(self, Bytes::Owned(_)) {
            *self = Bytes::Owned(self.to_vec());
        }
        match self {
            Bytes::Owned(v) => v,
            // Unreachable: replaced just above.
            _ => unreachable_owned(),
        }
    }

    /// The same bytes without a borrow of the input.
    pub(crate) fn into_static(self) -> Bytes<'static> {
        match self {
            Bytes::Borrowed(b) => Bytes::Owned(b.to_vec()),
            Bytes::Shared(buf, range) => Bytes::Shared(buf, range),
            Bytes::Owned(v) => Bytes::Owned(v),
        }
    }
}

#[allow(clippy::panic)]
fn unreachable_owned() -> ! {
    panic!("Bytes::to_mut: storage was just made owned")
}
