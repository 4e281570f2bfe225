//! Reachability of poisoned instructions: after relocation, the constants the
//! relocations wrote (`r1 = 0` for a missing field's `field_exists`, ...) are
//! propagated through each program's control flow, and a conditional jump on a
//! known constant takes one edge only, as the verifier's dead-branch pruning
//! does. A poisoned instruction no path reaches fails no verification.
//!
//! The analysis is conservative: it may call reachable what the verifier
//! prunes, never the reverse (for a privileged loader, which explores no
//! speculative paths). It knows a register's value only when the verifier
//! surely does: `mov`/`ld_imm64` of a constant (an `ld_imm64` with an ELF
//! relocation is a map or extern address, unknown), `add`, `sub`, `mul`, `and`,
//! `or`, `xor`, shifts within the width, `neg` (64- and 32-bit), copies, and
//! 8-byte spills to and fills from aligned `r10` slots. Everything else is
//! unknown: loads, divisions, byte swaps, sign-extending moves. Pointers into
//! the stack (`r10` plus a constant) are followed, so a store through one
//! forgets only the bytes it writes; a store through a register that might
//! point into the stack forgets every slot. Every call clobbers `r0`-`r5` and
//! forgets the stack from each stack pointer it is passed (only `[r1, r1 + r2)`
//! for the probe_read helpers). States meeting at a join keep only the values
//! they agree on. Subprograms start with every
//! argument unknown and are reachable only through a call from reachable
//! code; an indirect call or a function address (`ld_imm64` with
//! `BPF_PSEUDO_FUNC`) anywhere, or a reachable call whose callee cannot be
//! found, makes every function a root.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use btfkit_object::{BpfObject, DataSectionKind, Endian, Insn, INSN_SIZE};

/// Where a poisoned instruction stands once the relocated constants decide
/// the branches they guard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// Some path reaches it: the verifier rejects the program
    /// ("invalid func unknown#195896080").
    Reachable,
    /// No path reaches it.
    Unreachable(Guard),
    /// No path reaches it with the object's own `.rodata*` contents, which the
    /// verifier reads as constants (libbpf freezes those maps); a loader that
    /// changes them first (a skeleton's `rodata->...`) may make it reachable.
    UnreachableWithRodata(Guard),
}

/// Why a poisoned instruction is unreachable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Guard {
    /// A conditional jump on a known value never takes the edge that leads to it.
    Branch {
        /// The jump's index in its ELF section.
        jump: usize,
        /// The relocation whose value decided the jump: (section index,
        /// instruction index in that section) of its site, if one did.
        relo: Option<(usize, usize)>,
    },
    /// Its function is called from no reachable instruction.
    NotCalled,
    /// No single jump explains it (several known branches together do).
    Other,
}

type Loc = (usize, usize);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Val {
    /// Anything, a pointer to the stack included.
    Unknown,
    /// Not a pointer to this frame's stack; value unknown.
    Other,
    /// A constant scalar, and the relocation site it came from.
    Known(u64, Option<Loc>),
    /// `r10 + offset`.
    Fp(i64),
    /// A pointer into read-only data (`.rodata*`, section index) at an offset.
    Ro(usize, i64),
}

impl Val {
    fn join(self, other: Val) -> Val {
        match (self, other) {
            (a, b) if a == b => a,
            (Val::Known(a, o), Val::Known(b, _)) if a == b => Val::Known(a, o),
            (a, b) if a.scalar() && b.scalar() => Val::Other,
            _ => Val::Unknown,
        }
    }

    /// Not a pointer into this frame's stack.
    fn scalar(self) -> bool {
        matches!(self, Val::Known(..) | Val::Other | Val::Ro(..))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct State {
    regs: [Val; 11],
    /// 8-byte slots spilled at `r10 + key`; bytes not here hold scalars
    /// (or are uninitialized), unless `wild`.
    stack: BTreeMap<i64, Val>,
    /// A store through an unknown pointer may have put anything anywhere.
    wild: bool,
}

impl State {
    /// The state at a function's entry: `args` in r1-r5.
    fn entry(args: Val) -> State {
        let mut regs = [Val::Other; 11];
        for r in &mut regs[1..=5] {
            *r = args;
        }
        regs[10] = Val::Fp(0);
        State {
            regs,
            stack: BTreeMap::new(),
            wild: false,
        }
    }

    /// Joins `other` into `self`; true if `self` changed.
    fn join(&mut self, other: &State) -> bool {
        let before = self.clone();
        for (r, o) in self.regs.iter_mut().zip(other.regs.iter()) {
            *r = r.join(*o);
        }
        let missing = |wild: bool| if wild { Val::Unknown } else { Val::Other };
        let mut stack = BTreeMap::new();
        for k in self.stack.keys().chain(other.stack.keys()) {
            let a = self.stack.get(k).copied().unwrap_or(missing(self.wild));
            let b = other.stack.get(k).copied().unwrap_or(missing(other.wild));
            stack.insert(*k, a.join(b));
        }
        self.stack = stack;
        self.wild |= other.wild;
        *self != before
    }

    /// The bytes `[off, off + size)` now hold scalar data.
    fn clobber(&mut self, off: i64, size: i64) {
        // i128: offsets come from hostile code and may sit at the ends of i64.
        let (off, end) = (off as i128, off as i128 + size as i128);
        self.stack
            .retain(|&k, _| k as i128 + 8 <= off || k as i128 >= end);
    }

    /// A store through a pointer that may point anywhere in the stack.
    fn scramble(&mut self) {
        for v in self.stack.values_mut() {
            *v = Val::Unknown;
        }
        self.wild = true;
    }

    fn fill(&self, off: i64) -> Val {
        match self.stack.get(&off) {
            Some(v) => *v,
            None if self.wild => Val::Unknown,
            None => Val::Other,
        }
    }
}

/// Helpers that write only `[r1, r1 + r2)` (the probe_read family, get_current_comm).
const BUF_HELPERS: [i32; 8] = [4, 16, 45, 112, 113, 114, 115, 148];

/// The code of one object: every program section's instructions (patched).
struct Code<'o> {
    obj: &'o BpfObject<'o>,
    insns: HashMap<usize, Vec<Insn>>,
    /// Read-only data sections whose contents the verifier reads as constants
    /// (libbpf freezes `.rodata*` maps); empty when the analysis must not
    /// assume the object's initial values.
    rodata: HashMap<usize, &'o [u8]>,
}

impl Code<'_> {
    fn insn(&self, (sec, idx): Loc) -> Option<&Insn> {
        self.insns.get(&sec)?.get(idx)
    }

    /// The first instruction of a `call`'s callee (libbpf's rule: with an ELF
    /// relocation, the symbol's offset plus `imm + 1`; else relative).
    fn callee(&self, (sec, idx): Loc, insn: &Insn) -> Option<Loc> {
        match self.obj.relocation_at(sec, (idx * INSN_SIZE) as u64) {
            Some(r) => {
                let sym = self.obj.symbol(r.symbol_index)?;
                let target_sec = sym.section_index?;
                let at = (sym.value / INSN_SIZE as u64) as i64 + insn.imm as i64 + 1;
                Some((target_sec, usize::try_from(at).ok()?))
            }
            None => {
                let at = idx as i64 + insn.imm as i64 + 1;
                Some((sec, usize::try_from(at).ok()?))
            }
        }
    }

    /// The `ld_imm64` at `loc` as a pointer into read-only data, if it is one.
    fn rodata_ptr(&self, (sec, idx): Loc, insn: &Insn) -> Option<Val> {
        if self.rodata.is_empty() || insn.src_reg != 0 {
            return None;
        }
        let r = self.obj.relocation_at(sec, (idx * INSN_SIZE) as u64)?;
        let sym = self.obj.symbol(r.symbol_index)?;
        let ro = sym.section_index?;
        self.rodata
            .contains_key(&ro)
            .then(|| Val::Ro(ro, (sym.value as i64).wrapping_add(insn.imm as i64)))
    }

    /// `size` bytes at `off` of read-only section `ro`, zero-extended.
    fn rodata_read(&self, ro: usize, off: i64, size: i64) -> Option<u64> {
        let data = self.rodata.get(&ro)?;
        let at = usize::try_from(off).ok()?;
        let bytes = data.get(at..at.checked_add(size as usize)?)?;
        let mut v = [0u8; 8];
        let endian = self.obj.endian();
        Some(match size {
            1 => bytes[0] as u64,
            2 => endian.read_u16([bytes[0], bytes[1]]) as u64,
            4 => {
                v[..4].copy_from_slice(bytes);
                endian.read_u32([v[0], v[1], v[2], v[3]]) as u64
            }
            _ => {
                v.copy_from_slice(bytes);
                endian.read_u64(v)
            }
        })
    }

    /// The function of `loc`: its first and one-past-last instruction.
    fn function_of(&self, (sec, idx): Loc) -> (usize, usize) {
        let len = self.insns.get(&sec).map_or(0, Vec::len);
        self.obj
            .program_section(sec)
            .and_then(|p| {
                p.functions.iter().find(|f| {
                    let (s, e) = (f.offset as usize / INSN_SIZE, f.end as usize / INSN_SIZE);
                    s <= idx && idx < e
                })
            })
            .map_or((0, len), |f| {
                (f.offset as usize / INSN_SIZE, f.end as usize / INSN_SIZE)
            })
    }
}

fn rel(idx: usize, off: i64) -> Option<usize> {
    usize::try_from(idx as i64 + 1 + off).ok()
}

/// The value an ALU operation computes, when the verifier knows it too.
fn alu(op: u8, wide: bool, a: u64, b: u64) -> Option<u64> {
    let bits = if wide { 64 } else { 32 };
    let (a, b) = if wide {
        (a, b)
    } else {
        (a & 0xffff_ffff, b & 0xffff_ffff)
    };
    let r = match op {
        0x00 => a.wrapping_add(b),
        0x10 => a.wrapping_sub(b),
        0x20 => a.wrapping_mul(b),
        0x40 => a | b,
        0x50 => a & b,
        0xa0 => a ^ b,
        0x60 if b < bits => a << b,
        0x70 if b < bits => a >> b,
        0xc0 if b < bits => {
            if wide {
                ((a as i64) >> b) as u64
            } else {
                ((a as u32 as i32) >> b) as u32 as u64
            }
        }
        _ => return None,
    };
    Some(if wide { r } else { r & 0xffff_ffff })
}

/// Whether a conditional jump with known operands is taken.
fn taken(op: u8, wide: bool, a: u64, b: u64) -> Option<bool> {
    let (ua, ub, sa, sb) = if wide {
        (a, b, a as i64, b as i64)
    } else {
        let (a, b) = (a as u32, b as u32);
        (a as u64, b as u64, a as i32 as i64, b as i32 as i64)
    };
    Some(match op {
        0x10 => ua == ub,
        0x50 => ua != ub,
        0x20 => ua > ub,
        0x30 => ua >= ub,
        0xa0 => ua < ub,
        0xb0 => ua <= ub,
        0x40 => ua & ub != 0,
        0x60 => sa > sb,
        0x70 => sa >= sb,
        0xc0 => sa < sb,
        0xd0 => sa <= sb,
        _ => return None,
    })
}

/// The analysis: states at each reached instruction, decided jumps.
struct Flow<'c, 'o> {
    code: &'c Code<'o>,
    /// Relocation sites that wrote a value (their constants carry the site).
    sites: &'c HashSet<Loc>,
    states: HashMap<Loc, State>,
    work: VecDeque<Loc>,
    /// Conditional jumps decided on the last visit: the edge never taken, and
    /// the relocation site the deciding value came from.
    decided: HashMap<Loc, (Loc, Option<Loc>)>,
    /// A reachable call whose callee could not be found.
    unresolved_call: bool,
}

impl Flow<'_, '_> {
    fn reach(&mut self, loc: Loc, state: &State) {
        if self.code.insn(loc).is_none() {
            return;
        }
        let changed = match self.states.get_mut(&loc) {
            Some(s) => s.join(state),
            None => {
                self.states.insert(loc, state.clone());
                true
            }
        };
        if changed {
            self.work.push_back(loc);
        }
    }

    fn run(&mut self) {
        while let Some(loc) = self.work.pop_front() {
            let Some(state) = self.states.get(&loc).cloned() else {
                continue;
            };
            self.step(loc, state);
        }
    }

    fn step(&mut self, loc: Loc, mut s: State) {
        let (sec, idx) = loc;
        let Some(&i) = self.code.insn(loc) else {
            return;
        };
        let origin = self.sites.contains(&loc).then_some(loc);
        let (dst, src) = (i.dst_reg as usize, i.src_reg as usize);
        if dst > 10 || src > 10 {
            return; // the verifier rejects it
        }
        let next = (sec, idx + 1);
        let size: i64 = match i.code & 0x18 {
            0x00 => 4,
            0x08 => 2,
            0x10 => 1,
            _ => 8,
        };
        match i.code & 0x07 {
            // ALU, ALU64
            0x04 | 0x07 => {
                let wide = i.code & 0x07 == 0x07;
                let op = i.code & 0xf0;
                let operand = if i.code & 0x08 != 0 {
                    s.regs[src]
                } else if wide {
                    Val::Known(i.imm as i64 as u64, None)
                } else {
                    Val::Known(i.imm as u32 as u64, None)
                };
                let a = s.regs[dst];
                let value = match (op, operand, a) {
                    // mov (not the sign-extending movsx)
                    (0xb0, Val::Known(v, o), _) if i.off == 0 => {
                        Val::Known(if wide { v } else { v & 0xffff_ffff }, o)
                    }
                    (0xb0, Val::Fp(k), _) if wide && i.off == 0 => Val::Fp(k),
                    (0xb0, b, _) if b.scalar() => Val::Other,
                    // neg
                    (0x80, _, Val::Known(v, o)) => {
                        let v = v.wrapping_neg();
                        Val::Known(if wide { v } else { v & 0xffff_ffff }, o)
                    }
                    (0x80, _, a) if a.scalar() => Val::Other,
                    // r10-based pointers moved by a constant
                    (0x00, Val::Known(v, _), Val::Fp(k)) if wide => {
                        Val::Fp(k.wrapping_add(v as i64))
                    }
                    (0x10, Val::Known(v, _), Val::Fp(k)) if wide => {
                        Val::Fp(k.wrapping_sub(v as i64))
                    }
                    (0x00, Val::Known(v, _), Val::Ro(sec, k)) if wide => {
                        Val::Ro(sec, k.wrapping_add(v as i64))
                    }
                    (0x10, Val::Known(v, _), Val::Ro(sec, k)) if wide => {
                        Val::Ro(sec, k.wrapping_sub(v as i64))
                    }
                    (0xb0, Val::Ro(sec, k), _) if wide && i.off == 0 => Val::Ro(sec, k),
                    (_, Val::Known(b, ob), Val::Known(x, ox)) if i.off == 0 => {
                        // The relocated value that decides: an absent thing's 0 first.
                        let o = if b == 0 && ob.is_some() {
                            ob
                        } else {
                            ox.or(ob)
                        };
                        alu(op, wide, x, b).map_or(Val::Other, |v| Val::Known(v, o))
                    }
                    (_, b, a) if a.scalar() && b.scalar() => Val::Other,
                    _ => Val::Unknown,
                };
                s.regs[dst] = match (value, origin) {
                    (Val::Known(v, _), Some(o)) => Val::Known(v, Some(o)),
                    (v, _) => v,
                };
                self.reach(next, &s);
            }
            // LD
            0x00 => {
                if i.code == 0x18 {
                    let hi = self
                        .code
                        .insn((sec, idx + 1))
                        .map_or(0, |h| h.imm as u32 as u64);
                    let relocated = self
                        .code
                        .obj
                        .relocation_at(sec, (idx * INSN_SIZE) as u64)
                        .is_some();
                    s.regs[dst] = if i.src_reg == 0 && !relocated {
                        Val::Known(i.imm as u32 as u64 | hi << 32, origin)
                    } else {
                        // a map, global data, extern or function address
                        self.code.rodata_ptr(loc, &i).unwrap_or(Val::Other)
                    };
                    self.reach((sec, idx + 2), &s);
                } else {
                    // legacy packet loads: r0 set, r1-r5 clobbered
                    for r in &mut s.regs[0..=5] {
                        *r = Val::Other;
                    }
                    self.reach(next, &s);
                }
            }
            // LDX
            0x01 => {
                s.regs[dst] = match s.regs[src] {
                    Val::Fp(k) if i.code == 0x79 => s.fill(k.wrapping_add(i.off as i64)),
                    // the verifier reads frozen read-only maps as constants
                    Val::Ro(ro, k) if i.code & 0xe0 == 0x60 => self
                        .code
                        .rodata_read(ro, k.wrapping_add(i.off as i64), size)
                        .map_or(Val::Other, |v| Val::Known(v, None)),
                    // a stack pointer read back in part, or from a wild stack
                    Val::Fp(_) | Val::Unknown => Val::Unknown,
                    // other memory holds no pointer into this stack that can be used as one
                    _ => Val::Other,
                };
                self.reach(next, &s);
            }
            // ST, STX
            0x02 | 0x03 => {
                let stx = i.code & 0x07 == 0x03;
                if stx && i.code & 0xe0 == 0xc0 {
                    // atomics: fetch variants write the source (cmpxchg r0)
                    s.regs[0] = Val::Unknown;
                    s.regs[src] = Val::Unknown;
                }
                match s.regs[dst] {
                    Val::Fp(k) => {
                        let at = k.wrapping_add(i.off as i64);
                        s.clobber(at, size);
                        if i.code == 0x7b && at % 8 == 0 {
                            s.stack.insert(at, s.regs[src]);
                        }
                    }
                    Val::Unknown => s.scramble(),
                    _ => {}
                }
                self.reach(next, &s);
            }
            // JMP, JMP32
            _ => {
                let wide = i.code & 0x07 == 0x05;
                let op = i.code & 0xf0;
                match (op, wide) {
                    (0x00, true) => {
                        if let Some(t) = rel(idx, i.off as i64) {
                            self.reach((sec, t), &s);
                        }
                    }
                    (0x00, false) => {
                        if let Some(t) = rel(idx, i.imm as i64) {
                            self.reach((sec, t), &s);
                        }
                    }
                    (0x80, true) => {
                        let pseudo = i.src_reg == 1 && i.code == 0x85;
                        if pseudo {
                            match self.code.callee(loc, &i) {
                                Some(callee) if self.code.insn(callee).is_some() => {
                                    self.reach(callee, &State::entry(Val::Unknown))
                                }
                                // Where it goes is unknown: anything may be called.
                                _ => self.unresolved_call = true,
                            }
                        }
                        let buffer_helper = i.src_reg == 0 && BUF_HELPERS.contains(&i.imm);
                        for r in 1..=5 {
                            match s.regs[r] {
                                Val::Fp(k) => match (buffer_helper, r, s.regs[2]) {
                                    (true, 1, Val::Known(n, _)) if n <= 512 => {
                                        s.clobber(k, n as i64)
                                    }
                                    (true, 1, _) => s.clobber(k, k.saturating_neg()),
                                    (true, _, _) => {}
                                    (false, _, _) => {
                                        s.clobber(k, k.saturating_neg());
                                        if pseudo {
                                            s.scramble();
                                        }
                                    }
                                },
                                // might point into the stack: anything may be written there
                                Val::Unknown if !buffer_helper || r == 1 => s.scramble(),
                                _ => {}
                            }
                        }
                        if i.code == 0x8d {
                            s.scramble(); // callx
                        }
                        for r in &mut s.regs[0..=5] {
                            *r = Val::Other;
                        }
                        self.reach(next, &s);
                    }
                    (0x90, _) => {}
                    _ => {
                        let Some(target) = rel(idx, i.off as i64) else {
                            self.reach(next, &s);
                            return;
                        };
                        let a = s.regs[dst];
                        let b = if i.code & 0x08 != 0 {
                            s.regs[src]
                        } else {
                            Val::Known(i.imm as i64 as u64, None)
                        };
                        let decided = match (a, b) {
                            (Val::Known(x, ox), Val::Known(y, oy)) => {
                                taken(op, wide, x, y).map(|t| (t, ox.or(oy)))
                            }
                            _ => None,
                        };
                        match decided {
                            Some((true, o)) => {
                                self.decided.insert(loc, (next, o));
                                self.reach((sec, target), &s);
                            }
                            Some((false, o)) => {
                                self.decided.insert(loc, ((sec, target), o));
                                self.reach(next, &s);
                            }
                            None => {
                                self.decided.remove(&loc);
                                self.reach(next, &s);
                                self.reach((sec, target), &s);
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Plain control-flow successors of `loc` within its function (no values).
fn successors(code: &Code<'_>, (sec, idx): Loc) -> Vec<Loc> {
    let Some(i) = code.insn((sec, idx)) else {
        return Vec::new();
    };
    let class = i.code & 0x07;
    if i.code == 0x18 {
        return vec![(sec, idx + 2)];
    }
    if class != 0x05 && class != 0x06 {
        return vec![(sec, idx + 1)];
    }
    match (i.code & 0xf0, class == 0x05) {
        (0x00, true) => rel(idx, i.off as i64)
            .map(|t| (sec, t))
            .into_iter()
            .collect(),
        (0x00, false) => rel(idx, i.imm as i64)
            .map(|t| (sec, t))
            .into_iter()
            .collect(),
        (0x80, _) => vec![(sec, idx + 1)],
        (0x90, _) => Vec::new(),
        _ => {
            let mut v = vec![(sec, idx + 1)];
            v.extend(rel(idx, i.off as i64).map(|t| (sec, t)));
            v
        }
    }
}

/// For each poisoned site (section index, instruction index in that section),
/// whether the verifier may reach it in the relocated object.
///
/// `patched` holds the relocated program sections (others are read from
/// `obj`); `sites` are the sites of applied relocations.
pub fn poisoned_reach(
    obj: &BpfObject<'_>,
    patched: &[(usize, Vec<u8>)],
    sites: &HashSet<Loc>,
    poisoned: &[Loc],
) -> Vec<Reach> {
    let endian: Endian = obj.endian();
    let decode = |bytes: &[u8]| -> Vec<Insn> {
        bytes
            .chunks_exact(INSN_SIZE)
            .map(|c| {
                let mut b = [0u8; INSN_SIZE];
                b.copy_from_slice(c);
                Insn::decode(b, endian)
            })
            .collect()
    };
    let mut insns: HashMap<usize, Vec<Insn>> = obj
        .programs()
        .iter()
        .map(|p| (p.section_index, decode(p.insns)))
        .collect();
    for (sec, bytes) in patched {
        insns.insert(*sec, decode(bytes));
    }
    let conservative = Code {
        obj,
        insns,
        rodata: HashMap::new(),
    };
    let flow = analyze(&conservative, sites);
    let mut out: Vec<Reach> = poisoned.iter().map(|&p| verdict(&flow, p)).collect();
    // Those reachable for any .rodata: again with the object's own values.
    if out.contains(&Reach::Reachable) {
        let rodata: HashMap<usize, &[u8]> = obj
            .data_sections()
            .into_iter()
            .filter(|d| d.kind == DataSectionKind::Rodata)
            .map(|d| (d.section_index, d.data))
            .collect();
        if !rodata.is_empty() {
            let with = Code {
                rodata,
                ..conservative
            };
            let flow = analyze(&with, sites);
            for (r, &p) in out.iter_mut().zip(poisoned) {
                if *r == Reach::Reachable {
                    if let Reach::Unreachable(g) = verdict(&flow, p) {
                        *r = Reach::UnreachableWithRodata(g);
                    }
                }
            }
        }
    }
    out
}

/// The flow of every program of `code` from its entry points.
fn analyze<'c, 'o>(code: &'c Code<'o>, sites: &'c HashSet<Loc>) -> Flow<'c, 'o> {
    let obj = code.obj;
    let mut flow = Flow {
        code,
        sites,
        states: HashMap::new(),
        work: VecDeque::new(),
        decided: HashMap::new(),
        unresolved_call: false,
    };
    // Function addresses taken or indirect calls: every function is a root.
    let every_function = code
        .insns
        .values()
        .flatten()
        .any(|i| (i.code == 0x18 && i.src_reg == 4) || i.code == 0x8d);
    let entries: Vec<Loc> = obj
        .entry_points()
        .map(|(p, f)| (p.section_index, f.offset as usize / INSN_SIZE))
        .collect();
    let all: Vec<Loc> = obj
        .programs()
        .iter()
        .flat_map(|p| {
            p.functions
                .iter()
                .map(move |f| (p.section_index, f.offset as usize / INSN_SIZE))
        })
        .collect();
    for &root in &entries {
        // An entry point gets its context in r1 (a pointer, not into the stack).
        flow.reach(root, &State::entry(Val::Other));
    }
    if every_function {
        for &root in &all {
            flow.reach(root, &State::entry(Val::Unknown));
        }
    }
    flow.run();
    if flow.unresolved_call && !every_function {
        for &root in &all {
            flow.reach(root, &State::entry(Val::Unknown));
        }
        flow.run();
    }
    flow
}

/// Whether the flow reaches poisoned instruction `p`, and if not, why.
fn verdict(flow: &Flow<'_, '_>, p: Loc) -> Reach {
    let code = flow.code;
    if flow.states.contains_key(&p) {
        return Reach::Reachable;
    }
    let (start, end) = code.function_of(p);
    let in_function = |l: &Loc| l.0 == p.0 && start <= l.1 && l.1 < end;
    if !flow.states.keys().any(in_function) {
        return Reach::Unreachable(Guard::NotCalled);
    }
    // The reached jumps whose never-taken edge leads to it, relocation-decided
    // first, the innermost (the last such jump before it) first.
    let mut guards: Vec<(&Loc, &(Loc, Option<Loc>))> = flow
        .decided
        .iter()
        .filter(|(j, (pruned, _))| in_function(j) && leads_to(code, *pruned, p, &in_function))
        .collect();
    guards.sort_by_key(|(j, (_, o))| (o.is_none(), j.1 > p.1, std::cmp::Reverse(j.1)));
    match guards.first() {
        Some((j, (_, o))) => Reach::Unreachable(Guard::Branch {
            jump: j.1,
            relo: *o,
        }),
        None => Reach::Unreachable(Guard::Other),
    }
}

/// Whether `to` is reachable from `from` in the plain control flow of one function.
fn leads_to(code: &Code<'_>, from: Loc, to: Loc, in_function: &dyn Fn(&Loc) -> bool) -> bool {
    let mut seen = HashSet::new();
    let mut work = vec![from];
    while let Some(l) = work.pop() {
        if l == to {
            return true;
        }
        if !in_function(&l) || !seen.insert(l) {
            continue;
        }
        work.extend(successors(code, l));
    }
    false
}
