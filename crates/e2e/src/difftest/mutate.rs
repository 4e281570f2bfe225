//! Seeded mutations of a variant's types: every mutation is a value (so a
//! variant is its seed, or its list of mutations replayed on the base), applied
//! by name, skipped when it no longer applies (as when a shrinker drops an
//! earlier one).

use std::fmt;

use btfkit_reloc::spec::essential_name;

use super::types::{Member, Ty, Types};

/// splitmix64: small, fast, and the same everywhere.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    /// One element of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        if items.is_empty() {
            None
        } else {
            items.get(self.below(items.len()))
        }
    }
}

/// The seed of variant `index` of a run seeded with `seed`.
pub fn variant_seed(seed: u64, index: u64) -> u64 {
    Rng::new(seed ^ index.wrapping_mul(0xd1b5_4a32_d192_ed03)).next_u64()
}

/// One change to the types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mutation {
    /// Members of the composite holding `member` shuffled (and laid out again).
    Reorder {
        /// Struct/union.
        ty: String,
        /// A member of the composite to shuffle (found through anonymous members).
        member: String,
        /// Shuffle seed.
        seed: u64,
    },
    /// A member removed.
    RemoveMember {
        /// Struct/union.
        ty: String,
        /// Member.
        member: String,
    },
    /// A member renamed to `<member>_v2`.
    RenameMember {
        /// Struct/union.
        ty: String,
        /// Member.
        member: String,
    },
    /// An integer member's size changed to `size` bytes.
    Resize {
        /// Struct/union.
        ty: String,
        /// Member.
        member: String,
        /// New size.
        size: u32,
    },
    /// An integer (or enum) member's signedness flipped.
    FlipSign {
        /// Struct/union.
        ty: String,
        /// Member.
        member: String,
    },
    /// An integer member turned into a bitfield of `bits` bits.
    Bitfield {
        /// Struct/union.
        ty: String,
        /// Member.
        member: String,
        /// Width.
        bits: u32,
    },
    /// A member wrapped in an anonymous struct (or union with one more member).
    Wrap {
        /// Struct/union.
        ty: String,
        /// Member.
        member: String,
        /// Wrap in a union.
        union: bool,
    },
    /// An array member resized.
    ResizeArray {
        /// Struct/union.
        ty: String,
        /// Member.
        member: String,
        /// New element count.
        nelems: u32,
    },
    /// A pointer member turned into `unsigned long long`.
    PtrToInt {
        /// Struct/union.
        ty: String,
        /// Member.
        member: String,
    },
    /// An integer member turned into `void *`.
    IntToPtr {
        /// Struct/union.
        ty: String,
        /// Member.
        member: String,
    },
    /// A copy of a struct/union/enum added as `<ty>___<flavor>`.
    FlavorCopy {
        /// The type copied.
        ty: String,
        /// Flavor suffix.
        flavor: String,
    },
    /// ENUM → ENUM64 (size 8), `big` (if any) given a value past 32 bits.
    EnumTo64 {
        /// Enum.
        ty: String,
        /// Enumerator to make 64-bit.
        big: Option<String>,
    },
    /// ENUM64 → ENUM (size 4, values cut to 32 bits).
    Enum64To32 {
        /// Enum.
        ty: String,
    },
    /// A 32-bit enum's size cut to `size` bytes.
    EnumShrink {
        /// Enum.
        ty: String,
        /// New size.
        size: u32,
    },
    /// An enumerator removed.
    EnumDrop {
        /// Enum.
        ty: String,
        /// Enumerator.
        value: String,
    },
    /// An enumerator given another value.
    EnumRenumber {
        /// Enum.
        ty: String,
        /// Enumerator.
        value: String,
        /// New value.
        to: i64,
    },
    /// A type removed: renamed to `<ty>_gone`, so nothing finds it by name.
    RemoveType {
        /// The type.
        ty: String,
    },
}

impl fmt::Display for Mutation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mutation::Reorder { ty, member, seed } => {
                write!(
                    f,
                    "reorder the members around {ty}.{member} (shuffle {seed:#x})"
                )
            }
            Mutation::RemoveMember { ty, member } => write!(f, "remove {ty}.{member}"),
            Mutation::RenameMember { ty, member } => {
                write!(f, "rename {ty}.{member} to {member}_v2")
            }
            Mutation::Resize { ty, member, size } => {
                write!(f, "resize integer {ty}.{member} to {size} bytes")
            }
            Mutation::FlipSign { ty, member } => write!(f, "flip the signedness of {ty}.{member}"),
            Mutation::Bitfield { ty, member, bits } => {
                write!(f, "turn {ty}.{member} into a {bits}-bit bitfield")
            }
            Mutation::Wrap { ty, member, union } => write!(
                f,
                "wrap {ty}.{member} in an anonymous {}",
                if *union { "union" } else { "struct" }
            ),
            Mutation::ResizeArray { ty, member, nelems } => {
                write!(f, "resize array {ty}.{member} to {nelems} elements")
            }
            Mutation::PtrToInt { ty, member } => {
                write!(f, "turn pointer {ty}.{member} into unsigned long long")
            }
            Mutation::IntToPtr { ty, member } => {
                write!(f, "turn integer {ty}.{member} into void *")
            }
            Mutation::FlavorCopy { ty, flavor } => write!(f, "add a copy {ty}___{flavor}"),
            Mutation::EnumTo64 { ty, big } => match big {
                Some(v) => write!(f, "grow enum {ty} to ENUM64 with {v} past 32 bits"),
                None => write!(f, "grow enum {ty} to ENUM64"),
            },
            Mutation::Enum64To32 { ty } => write!(f, "shrink ENUM64 {ty} to a 32-bit ENUM"),
            Mutation::EnumShrink { ty, size } => write!(f, "shrink enum {ty} to {size} bytes"),
            Mutation::EnumDrop { ty, value } => write!(f, "remove enumerator {ty}::{value}"),
            Mutation::EnumRenumber { ty, value, to } => {
                write!(f, "set enumerator {ty}::{value} to {to}")
            }
            Mutation::RemoveType { ty } => write!(f, "remove type {ty} (renamed {ty}_gone)"),
        }
    }
}

impl Mutation {
    /// The type it changes (as named in the variant).
    pub fn ty(&self) -> &str {
        match self {
            Mutation::Reorder { ty, .. }
            | Mutation::RemoveMember { ty, .. }
            | Mutation::RenameMember { ty, .. }
            | Mutation::Resize { ty, .. }
            | Mutation::FlipSign { ty, .. }
            | Mutation::Bitfield { ty, .. }
            | Mutation::Wrap { ty, .. }
            | Mutation::ResizeArray { ty, .. }
            | Mutation::PtrToInt { ty, .. }
            | Mutation::IntToPtr { ty, .. }
            | Mutation::FlavorCopy { ty, .. }
            | Mutation::EnumTo64 { ty, .. }
            | Mutation::Enum64To32 { ty }
            | Mutation::EnumShrink { ty, .. }
            | Mutation::EnumDrop { ty, .. }
            | Mutation::EnumRenumber { ty, .. }
            | Mutation::RemoveType { ty } => ty,
        }
    }

    /// The essential (flavor-less) name of the type it changes.
    pub fn touches(&self) -> &str {
        essential_name(self.ty())
    }

    /// It changes an enum's kind between ENUM and ENUM64 (class B's cause).
    pub fn changes_enum_kind(&self) -> bool {
        matches!(
            self,
            Mutation::EnumTo64 { .. } | Mutation::Enum64To32 { .. }
        )
    }

    /// Applies the mutation; false (and `types` unchanged) when it does not apply.
    pub fn apply(&self, types: &mut Types) -> bool {
        let Some(idx) = types.find(self.ty()) else {
            return false;
        };
        match self {
            Mutation::FlavorCopy { ty, flavor } => {
                let mut copy = types.get(idx).clone();
                let name = format!("{ty}___{flavor}");
                if types.find(&name).is_some() {
                    return false;
                }
                match &mut copy {
                    Ty::Composite { name: n, .. } | Ty::Enum { name: n, .. } => *n = name,
                    _ => return false,
                }
                types.push(copy);
                true
            }
            Mutation::RemoveType { ty } => {
                let gone = format!("{ty}_gone");
                match &mut types.types[idx as usize] {
                    Ty::Composite { name, .. }
                    | Ty::Enum { name, .. }
                    | Ty::Typedef { name, .. }
                    | Ty::Int { name, .. }
                    | Ty::Float { name, .. }
                    | Ty::Fwd { name, .. } => *name = gone,
                    _ => return false,
                }
                true
            }
            Mutation::EnumTo64 { big, .. } => {
                let Ty::Enum {
                    is64, size, values, ..
                } = &mut types.types[idx as usize]
                else {
                    return false;
                };
                if *is64 {
                    return false;
                }
                *is64 = true;
                *size = 8;
                if let Some(big) = big {
                    for (n, v) in values.iter_mut() {
                        if n == big {
                            *v |= 1 << 33;
                        }
                    }
                }
                true
            }
            Mutation::Enum64To32 { .. } => {
                let Ty::Enum {
                    is64,
                    size,
                    values,
                    signed,
                    ..
                } = &mut types.types[idx as usize]
                else {
                    return false;
                };
                if !*is64 {
                    return false;
                }
                *is64 = false;
                *size = 4;
                for (_, v) in values.iter_mut() {
                    *v = if *signed {
                        *v as i32 as i64
                    } else {
                        *v as u32 as i64
                    };
                }
                true
            }
            Mutation::EnumShrink { size: to, .. } => {
                let Ty::Enum {
                    is64, size, values, ..
                } = &mut types.types[idx as usize]
                else {
                    return false;
                };
                if *is64 || *to >= *size {
                    return false;
                }
                *size = *to;
                let mask = (1i64 << (*to * 8)) - 1;
                for (_, v) in values.iter_mut() {
                    *v &= mask;
                }
                true
            }
            Mutation::EnumDrop { value, .. } => {
                let Ty::Enum { values, .. } = &mut types.types[idx as usize] else {
                    return false;
                };
                let before = values.len();
                values.retain(|(n, _)| n != value);
                values.len() != before
            }
            Mutation::EnumRenumber { value, to, .. } => {
                let Ty::Enum { values, is64, .. } = &mut types.types[idx as usize] else {
                    return false;
                };
                let to = if *is64 { *to } else { *to as i32 as i64 };
                let mut done = false;
                for (n, v) in values.iter_mut() {
                    if n == value {
                        *v = to;
                        done = true;
                    }
                }
                done
            }
            Mutation::Reorder { member, seed, .. } => {
                let Some((holder, _)) = types.find_member(idx, member) else {
                    return false;
                };
                let Ty::Composite { members, .. } = &mut types.types[holder as usize] else {
                    return false;
                };
                if members.len() < 2 {
                    return false;
                }
                let mut rng = Rng::new(*seed);
                for i in (1..members.len()).rev() {
                    let j = rng.below(i + 1);
                    members.swap(i, j);
                }
                types.relayout(holder);
                true
            }
            _ => self.apply_member(types, idx),
        }
    }

    fn apply_member(&self, types: &mut Types, idx: u32) -> bool {
        let member_name = match self {
            Mutation::RemoveMember { member, .. }
            | Mutation::RenameMember { member, .. }
            | Mutation::Resize { member, .. }
            | Mutation::FlipSign { member, .. }
            | Mutation::Bitfield { member, .. }
            | Mutation::Wrap { member, .. }
            | Mutation::ResizeArray { member, .. }
            | Mutation::PtrToInt { member, .. }
            | Mutation::IntToPtr { member, .. } => member,
            _ => return false,
        };
        let Some((holder, pos)) = types.find_member(idx, member_name) else {
            return false;
        };
        let Ty::Composite { members, .. } = types.get(holder) else {
            return false;
        };
        let m: Member = members[pos].clone();
        let resolved = types.resolve(m.ty);
        let int = match types.get(resolved) {
            Ty::Int { size, encoding, .. } => Some((*size, encoding & 1 != 0)),
            _ => None,
        };
        let mut new = m.clone();
        let mut relayout = true;
        match self {
            Mutation::RemoveMember { .. } => {
                if let Ty::Composite { members, .. } = &mut types.types[holder as usize] {
                    members.remove(pos);
                }
                types.relayout(holder);
                return true;
            }
            Mutation::RenameMember { .. } => {
                new.name = format!("{}_v2", m.name);
                relayout = false;
            }
            Mutation::Resize { size, .. } => {
                let Some((old, signed)) = int else {
                    return false;
                };
                if old == *size || m.bits > 0 {
                    return false;
                }
                new.ty = types.int(*size, signed);
            }
            Mutation::FlipSign { .. } => {
                relayout = false;
                match (int, types.get(resolved).clone()) {
                    (Some((size, signed)), _) => new.ty = types.int(size, !signed),
                    (None, Ty::Enum { signed, .. }) => {
                        let mut flipped = types.get(resolved).clone();
                        if let Ty::Enum { signed: s, .. } = &mut flipped {
                            *s = !signed;
                        }
                        new.ty = types.push(flipped);
                    }
                    _ => return false,
                }
            }
            Mutation::Bitfield { bits, .. } => {
                let Some((size, signed)) = int else {
                    return false;
                };
                if *bits == 0 || *bits >= size * 8 || m.bits > 0 {
                    return false;
                }
                new.ty = types.int(size, signed);
                new.bits = *bits;
            }
            Mutation::Wrap { union, .. } => {
                let mut inner = m.clone();
                inner.bit_offset = 0;
                let mut members = vec![inner];
                if *union {
                    let alt = types.int(8, false);
                    members.push(Member {
                        name: format!("{}_alt", m.name),
                        ty: alt,
                        bit_offset: 0,
                        bits: 0,
                    });
                }
                let wrapper = types.push(Ty::Composite {
                    name: String::new(),
                    union: *union,
                    size: 0,
                    members,
                });
                types.relayout(wrapper);
                new = Member {
                    name: String::new(),
                    ty: wrapper,
                    bit_offset: m.bit_offset,
                    bits: 0,
                };
            }
            Mutation::ResizeArray { nelems, .. } => {
                let Ty::Array {
                    elem,
                    index,
                    nelems: old,
                } = types.get(resolved).clone()
                else {
                    return false;
                };
                if old == *nelems {
                    return false;
                }
                new.ty = types.push(Ty::Array {
                    elem,
                    index,
                    nelems: *nelems,
                });
            }
            Mutation::PtrToInt { .. } => {
                if !matches!(types.get(resolved), Ty::Ptr(_)) {
                    return false;
                }
                new.ty = types.int(8, false);
            }
            Mutation::IntToPtr { .. } => {
                if int.is_none() || m.bits > 0 {
                    return false;
                }
                new.ty = types.push(Ty::Ptr(0));
            }
            _ => return false,
        }
        if let Ty::Composite { members, .. } = &mut types.types[holder as usize] {
            members[pos] = new;
        }
        if relayout {
            types.relayout(holder);
        }
        true
    }
}

/// What the generator aims at: the types, members and enumerators the objects'
/// records reach (essential names).
#[derive(Debug, Clone, Default)]
pub struct Focus {
    /// Named types along the records' accesses.
    pub types: Vec<String>,
    /// (struct/union, member) the records access.
    pub members: Vec<(String, String)>,
    /// (enum, enumerator) the records ask about.
    pub enumerators: Vec<(String, String)>,
}

/// Names in `types` whose essential name is `name` (the type and its flavored copies).
fn flavors_of(types: &Types, name: &str) -> Vec<String> {
    types
        .types
        .iter()
        .filter(|t| matches!(t, Ty::Composite { .. } | Ty::Enum { .. }))
        .map(Ty::name)
        .filter(|n| essential_name(n) == name)
        .map(str::to_owned)
        .collect()
}

/// Proposes one mutation for the current `types` (it may still not apply).
fn propose(rng: &mut Rng, types: &Types, focus: &Focus) -> Option<Mutation> {
    let class = rng.below(20);
    // Member mutations: a member a record accesses, of the type or a flavored copy.
    if class < 12 {
        let (ty, member) = rng.pick(&focus.members)?.clone();
        let ty = rng.pick(&flavors_of(types, &ty)).cloned().unwrap_or(ty);
        let idx = types.find(&ty)?;
        let (holder, pos) = types.find_member(idx, &member)?;
        let Ty::Composite { members, .. } = types.get(holder) else {
            return None;
        };
        let m = &members[pos];
        let resolved = types.resolve(m.ty);
        let size = types.size_of(resolved);
        let (ty, member) = (ty.clone(), member.clone());
        return Some(match class {
            0 => Mutation::Reorder {
                ty,
                member,
                seed: rng.next_u64(),
            },
            1 => Mutation::RemoveMember { ty, member },
            2 => Mutation::RenameMember { ty, member },
            3 => Mutation::Resize {
                ty,
                member,
                size: if rng.chance(50) && size < 8 {
                    size.max(1) * 2
                } else {
                    (size / 2).max(1)
                },
            },
            4 => Mutation::FlipSign { ty, member },
            5 => Mutation::Bitfield {
                ty,
                member,
                bits: 1 + rng.below((size * 8).saturating_sub(1).max(1) as usize) as u32,
            },
            6 => Mutation::Wrap {
                ty,
                member,
                union: rng.chance(40),
            },
            7 => {
                // This member if it is an array, else an array beside it (records
                // rarely access arrays, but their offsets move when one grows).
                let arrays: Vec<(String, u32)> = members
                    .iter()
                    .filter(|m| !m.name.is_empty())
                    .filter_map(|m| match types.get(types.resolve(m.ty)) {
                        Ty::Array { nelems, .. } => Some((m.name.clone(), *nelems)),
                        _ => None,
                    })
                    .collect();
                let (member, old) = match types.get(resolved) {
                    Ty::Array { nelems, .. } => (member, *nelems),
                    _ => rng.pick(&arrays)?.clone(),
                };
                let choices = [0, 1, old / 2, old + 1, old.saturating_mul(2)];
                Mutation::ResizeArray {
                    ty,
                    member,
                    nelems: *rng.pick(&choices)?,
                }
            }
            8 => Mutation::PtrToInt { ty, member },
            9 => Mutation::IntToPtr { ty, member },
            10 => Mutation::Resize {
                ty,
                member,
                size: *rng.pick(&[1, 2, 4, 8])?,
            },
            _ => Mutation::Reorder {
                ty,
                member,
                seed: rng.next_u64(),
            },
        });
    }
    // Enum mutations: an enumerator a record asks about, or any enum on a path.
    if class < 17 {
        let (ty, value) = match rng.pick(&focus.enumerators) {
            Some(e) if rng.chance(70) => e.clone(),
            _ => {
                let enums: Vec<&String> = focus
                    .types
                    .iter()
                    .filter(|n| {
                        matches!(types.find(n).map(|i| types.get(i)), Some(Ty::Enum { .. }))
                    })
                    .collect();
                let ty = (*rng.pick(&enums)?).clone();
                let Some(Ty::Enum { values, .. }) = types.find(&ty).map(|i| types.get(i)) else {
                    return None;
                };
                let value = rng.pick(values)?.0.clone();
                (ty, value)
            }
        };
        let ty = rng.pick(&flavors_of(types, &ty)).cloned().unwrap_or(ty);
        return Some(match class {
            12 => Mutation::EnumTo64 {
                ty,
                big: rng.chance(50).then_some(value),
            },
            13 => Mutation::Enum64To32 { ty },
            14 => Mutation::EnumShrink {
                ty,
                size: *rng.pick(&[1, 2])?,
            },
            15 => Mutation::EnumDrop { ty, value },
            _ => Mutation::EnumRenumber {
                ty,
                value,
                to: *rng.pick(&[0, 7, -1, 1 << 20, 0x7fff_ffff])?,
            },
        });
    }
    let ty = rng.pick(&focus.types)?.clone();
    if class < 19 {
        Some(Mutation::FlavorCopy {
            ty,
            flavor: rng.pick(&["v2", "old", "x"])?.to_string(),
        })
    } else {
        Some(Mutation::RemoveType { ty })
    }
}

/// The mutations of the variant with `seed`: 1 to `max` of them, each applied to
/// `base` as it is generated. Returns them and the mutated types.
pub fn generate(seed: u64, base: &Types, focus: &Focus, max: usize) -> (Vec<Mutation>, Types) {
    let mut rng = Rng::new(seed);
    let want = 1 + rng.below(max.max(1));
    let mut types = base.clone();
    let mut applied = Vec::new();
    for _ in 0..want * 20 {
        if applied.len() >= want {
            break;
        }
        let Some(m) = propose(&mut rng, &types, focus) else {
            continue;
        };
        if m.apply(&mut types) {
            applied.push(m);
        }
    }
    (applied, types)
}

/// `base` with `mutations` applied in order (those that no longer apply skipped).
pub fn replay(base: &Types, mutations: &[Mutation]) -> Types {
    let mut types = base.clone();
    for m in mutations {
        m.apply(&mut types);
    }
    types
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use btfkit_model::{Btf, Kind};

    /// `struct s { int a; long long b; char arr[4]; void *p; struct { int in; }; }`
    /// and `enum e { X = 1, Y = 2 }`.
    fn small() -> Types {
        let mut t = Types::default();
        let int = t.int(4, true);
        let long = t.int(8, true);
        let ch = t.int(1, true);
        let arr = t.push(Ty::Array {
            elem: ch,
            index: int,
            nelems: 4,
        });
        let ptr = t.push(Ty::Ptr(0));
        let inner = t.push(Ty::Composite {
            name: String::new(),
            union: false,
            size: 4,
            members: vec![Member {
                name: "in".into(),
                ty: int,
                bit_offset: 0,
                bits: 0,
            }],
        });
        let m = |name: &str, ty| Member {
            name: name.into(),
            ty,
            bit_offset: 0,
            bits: 0,
        };
        let s = t.push(Ty::Composite {
            name: "s".into(),
            union: false,
            size: 0,
            members: vec![
                m("a", int),
                m("b", long),
                m("arr", arr),
                m("p", ptr),
                m("", inner),
            ],
        });
        t.relayout(s);
        t.push(Ty::Enum {
            name: "e".into(),
            is64: false,
            size: 4,
            signed: false,
            values: vec![("X".into(), 1), ("Y".into(), 2)],
        });
        t
    }

    fn member(t: &Types, ty: &str, name: &str) -> Option<Member> {
        let (holder, pos) = t.find_member(t.find(ty)?, name)?;
        match t.get(holder) {
            Ty::Composite { members, .. } => Some(members[pos].clone()),
            _ => None,
        }
    }

    fn encodes(t: &Types) -> Vec<u8> {
        let bytes = t.encode().unwrap();
        let btf = Btf::parse(&bytes).unwrap();
        btf.validate().unwrap();
        bytes
    }

    #[test]
    fn layout_is_c() {
        let t = small();
        assert_eq!(member(&t, "s", "b").unwrap().bit_offset, 64);
        assert_eq!(member(&t, "s", "arr").unwrap().bit_offset, 128);
        assert_eq!(member(&t, "s", "p").unwrap().bit_offset, 192);
        assert_eq!(t.size_of(t.find("s").unwrap()), 40);
        encodes(&t);
    }

    #[test]
    fn every_mutation_applies_and_encodes() {
        let s = |m: &str| (String::from("s"), m.to_owned());
        type Check = Box<dyn Fn(&Types) -> bool>;
        let cases: Vec<(Mutation, Check)> = vec![
            (
                Mutation::RemoveMember {
                    ty: s("a").0,
                    member: s("a").1,
                },
                Box::new(|t| {
                    member(t, "s", "a").is_none() && member(t, "s", "b").unwrap().bit_offset == 0
                }),
            ),
            (
                Mutation::RenameMember {
                    ty: "s".into(),
                    member: "b".into(),
                },
                Box::new(|t| member(t, "s", "b_v2").is_some()),
            ),
            (
                Mutation::Resize {
                    ty: "s".into(),
                    member: "a".into(),
                    size: 2,
                },
                Box::new(|t| t.size_of(member(t, "s", "a").unwrap().ty) == 2),
            ),
            (
                Mutation::FlipSign {
                    ty: "s".into(),
                    member: "a".into(),
                },
                Box::new(|t| {
                    matches!(
                        t.get(member(t, "s", "a").unwrap().ty),
                        Ty::Int { encoding: 0, .. }
                    )
                }),
            ),
            (
                Mutation::Bitfield {
                    ty: "s".into(),
                    member: "in".into(),
                    bits: 3,
                },
                Box::new(|t| member(t, "s", "in").unwrap().bits == 3),
            ),
            (
                Mutation::Wrap {
                    ty: "s".into(),
                    member: "b".into(),
                    union: true,
                },
                Box::new(|t| member(t, "s", "b").is_some() && member(t, "s", "b_alt").is_some()),
            ),
            (
                Mutation::ResizeArray {
                    ty: "s".into(),
                    member: "arr".into(),
                    nelems: 9,
                },
                Box::new(|t| t.size_of(member(t, "s", "arr").unwrap().ty) == 9),
            ),
            (
                Mutation::PtrToInt {
                    ty: "s".into(),
                    member: "p".into(),
                },
                Box::new(|t| {
                    matches!(
                        t.get(member(t, "s", "p").unwrap().ty),
                        Ty::Int { size: 8, .. }
                    )
                }),
            ),
            (
                Mutation::IntToPtr {
                    ty: "s".into(),
                    member: "a".into(),
                },
                Box::new(|t| matches!(t.get(member(t, "s", "a").unwrap().ty), Ty::Ptr(0))),
            ),
            (
                Mutation::Reorder {
                    ty: "s".into(),
                    member: "a".into(),
                    seed: 3,
                },
                Box::new(|t| member(t, "s", "a").unwrap().bit_offset != 0),
            ),
            (
                Mutation::FlavorCopy {
                    ty: "e".into(),
                    flavor: "v2".into(),
                },
                Box::new(|t| t.find("e___v2").is_some()),
            ),
            (
                Mutation::EnumTo64 {
                    ty: "e".into(),
                    big: Some("Y".into()),
                },
                Box::new(
                    |t| matches!(t.get(t.find("e").unwrap()), Ty::Enum { is64: true, size: 8, values, .. } if values[1].1 == 2 | 1 << 33),
                ),
            ),
            (
                Mutation::EnumShrink {
                    ty: "e".into(),
                    size: 1,
                },
                Box::new(|t| t.size_of(t.find("e").unwrap()) == 1),
            ),
            (
                Mutation::EnumDrop {
                    ty: "e".into(),
                    value: "X".into(),
                },
                Box::new(
                    |t| matches!(t.get(t.find("e").unwrap()), Ty::Enum { values, .. } if values.len() == 1),
                ),
            ),
            (
                Mutation::EnumRenumber {
                    ty: "e".into(),
                    value: "X".into(),
                    to: 7,
                },
                Box::new(
                    |t| matches!(t.get(t.find("e").unwrap()), Ty::Enum { values, .. } if values[0].1 == 7),
                ),
            ),
            (
                Mutation::RemoveType { ty: "s".into() },
                Box::new(|t| t.find("s").is_none() && t.find("s_gone").is_some()),
            ),
        ];
        for (m, check) in cases {
            let mut t = small();
            assert!(m.apply(&mut t), "{m} did not apply");
            assert!(check(&t), "{m}: {t:?}");
            encodes(&t);
        }
        // ENUM64 back to 32 bits.
        let mut t = small();
        assert!(Mutation::EnumTo64 {
            ty: "e".into(),
            big: None
        }
        .apply(&mut t));
        assert!(Mutation::Enum64To32 { ty: "e".into() }.apply(&mut t));
        let bytes = encodes(&t);
        let btf = Btf::parse(&bytes).unwrap();
        assert_eq!(btf.find_by_name_kind("e", Kind::Enum).len(), 1);
        // What does not apply leaves the types alone.
        let mut t = small();
        assert!(!Mutation::PtrToInt {
            ty: "s".into(),
            member: "a".into()
        }
        .apply(&mut t));
        assert!(!Mutation::RemoveMember {
            ty: "nope".into(),
            member: "a".into()
        }
        .apply(&mut t));
        assert_eq!(t, small());
    }

    #[test]
    fn a_seed_is_a_variant() {
        let base = small();
        let focus = Focus {
            types: vec!["s".into(), "e".into()],
            members: ["a", "b", "arr", "p", "in"]
                .iter()
                .map(|m| ("s".to_owned(), m.to_string()))
                .collect(),
            enumerators: vec![("e".into(), "X".into())],
        };
        let mut kinds = std::collections::BTreeSet::new();
        for seed in 0..200 {
            let (m1, t1) = generate(seed, &base, &focus, 4);
            let (m2, t2) = generate(seed, &base, &focus, 4);
            assert_eq!(m1, m2);
            assert_eq!(t1.encode().unwrap(), t2.encode().unwrap());
            assert_eq!(replay(&base, &m1), t1, "seed {seed}: replay differs");
            assert!(!m1.is_empty() && m1.len() <= 4);
            encodes(&t1);
            kinds.extend(m1.iter().map(|m| {
                format!("{m:?}")
                    .split([' ', '{'])
                    .next()
                    .unwrap()
                    .to_owned()
            }));
        }
        assert!(kinds.len() >= 15, "{kinds:?}");
        assert_ne!(variant_seed(1, 1), variant_seed(1, 2));
        assert_ne!(variant_seed(1, 1), variant_seed(2, 1));
    }
}
