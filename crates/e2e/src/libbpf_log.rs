//! A parser for the CO-RE lines of libbpf's debug log (libbpf 1.7 formats, from its
//! `relo_core.c` and `libbpf.c`), turning them into one [`Decision`] per relocation.
//!
//! The lines it understands (each after the `libbpf: ` prefix):
//!
//! - `sec 'S': found N CO-RE relocations` opens section S;
//! - `prog 'P': relo #N: <kind> [id] struct T.a.b (0:1:2 @ offset 8)` is the local spec;
//! - `prog 'P': relo #N: matching candidate #I <spec>` (or `non-matching`);
//! - `prog 'P': relo #N: no matching targets found`;
//! - `prog 'P': relo #N: patched insn #K (ALU/ALU64) imm A -> B`, `(LDX/ST/STX) off A -> B`,
//!   `(LDX/ST/STX) mem_sz A -> B`, `(LDIMM64) imm64 A -> B`;
//! - `prog 'P': relo #N: substituting insn #K w/ invalid insn` (poisoning);
//! - `prog 'P': relo #N: failed to relocate: ...` / `failed to patch insn #K: ...` (libbpf
//!   gives up on the whole object), and any other `prog 'P': relo #N: ...` or
//!   `prog 'P': relo N at insn #K ...` warning, kept as a note of that relocation (the
//!   second form is a note of P's current relocation: libbpf's N there is not always the
//!   record's index, e.g. `relo 0 at insn #22 can't be satisfied for bitfield` of relo #6).
//!
//! libbpf numbers its map/kfunc relocations in lines of the same shape
//! (`prog 'P': relo #N: poisoning insn #K that loads map ...`); those are skipped.
//!
//! The relocation number N counts the records of one `.BTF.ext` section (it restarts at
//! 0 in each section) and K is the instruction index inside program P (subprograms
//! included: P is then the subprogram's name). Lines are matched strictly; anything
//! else is ignored.

/// One side (local or candidate) of a relocation, as libbpf prints a spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// The relocation kind's short name (`byte_off`, `type_exists`, ...).
    pub kind: String,
    /// The root type's id in its BTF.
    pub type_id: u32,
    /// The root type's BTF kind as libbpf names it (`struct`, `union`, `enum`, `typedef`, ...).
    pub type_kind: String,
    /// The root type's name (`<anon>` when it has none).
    pub type_name: String,
    /// The access path after the name: `.real_parent`, `.a[3].b` for fields,
    /// `::PIDTYPE_TGID = 1` for enumerators, empty for type relocations.
    pub access: String,
    /// The raw access spec of field relocations (`0:54`), as numbers.
    pub raw: Vec<i64>,
    /// Field relocations: the field's bit offset (`@ offset 1432` is 1432*8).
    pub bit_offset: Option<u64>,
    /// The whole spec as printed.
    pub text: String,
}

/// A candidate libbpf examined in the target BTF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Its index in libbpf's candidate list.
    pub index: usize,
    /// Whether the spec matched.
    pub matching: bool,
    /// The candidate's spec.
    pub spec: Spec,
}

/// Which part of an instruction libbpf patched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchField {
    /// `imm` of an ALU/ALU64 instruction with an immediate.
    AluImm,
    /// `off` of an LDX/ST/STX instruction.
    MemOff,
    /// The access size of an LDX/ST/STX instruction (values in bytes).
    MemSize,
    /// The 64-bit immediate of an `ld_imm64` (two instruction slots).
    LdImm64,
}

/// One `patched insn` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patch {
    /// Instruction index inside the program named in the line.
    pub insn: usize,
    /// What changed.
    pub field: PatchField,
    /// The old value (as libbpf prints it: unsigned).
    pub old: u64,
    /// The new value.
    pub new: u64,
}

/// How a relocation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The instruction was patched (one or two patches: `off`, then perhaps `mem_sz`).
    Patched(Vec<Patch>),
    /// The instruction (both slots of an `ld_imm64`) was replaced by the invalid call
    /// `call 0xbad2310`; `insn` is the index of the first slot.
    Poisoned {
        /// Instruction index inside the program.
        insn: usize,
    },
    /// libbpf failed on this relocation and gave up on the object.
    Failed {
        /// libbpf's message (the relocation's warning lines, joined by newlines).
        message: String,
    },
    /// The log ends before an outcome (libbpf stopped earlier for another reason).
    Unfinished,
}

/// Everything libbpf logged about one CO-RE relocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The program (or subprogram) the instruction belongs to.
    pub program: String,
    /// The ELF section whose `.BTF.ext` records hold the relocation (from the preceding
    /// `sec '...': found N CO-RE relocations` line).
    pub section: Option<String>,
    /// The record's index among its section's CO-RE records (`relo #N`).
    pub relo: usize,
    /// The local spec.
    pub local: Option<Spec>,
    /// The candidates libbpf tried, in order.
    pub candidates: Vec<Candidate>,
    /// `no matching targets found` was logged (the target has no such type/field).
    pub no_match: bool,
    /// Warnings about this relocation that are not its outcome (e.g. why a memory
    /// access was poisoned).
    pub notes: Vec<String>,
    /// The outcome.
    pub outcome: Outcome,
}

impl Decision {
    fn new(program: &str, section: Option<&str>, relo: usize) -> Self {
        Decision {
            program: program.to_owned(),
            section: section.map(str::to_owned),
            relo,
            local: None,
            candidates: Vec::new(),
            no_match: false,
            notes: Vec::new(),
            outcome: Outcome::Unfinished,
        }
    }

    /// The relocation kind's short name, from the local spec.
    pub fn kind(&self) -> Option<&str> {
        self.local.as_ref().map(|spec| spec.kind.as_str())
    }

    /// The instruction index (inside [`Decision::program`]) that was patched or poisoned.
    pub fn insn(&self) -> Option<usize> {
        match &self.outcome {
            Outcome::Patched(patches) => patches.first().map(|p| p.insn),
            Outcome::Poisoned { insn } => Some(*insn),
            Outcome::Failed { .. } | Outcome::Unfinished => None,
        }
    }

    /// The first matching candidate (the one libbpf took the new value from).
    pub fn target(&self) -> Option<&Spec> {
        self.candidates.iter().find(|c| c.matching).map(|c| &c.spec)
    }

    /// The patch of the main field (the first patch), as `old -> new`.
    pub fn value_change(&self) -> Option<(u64, u64)> {
        match &self.outcome {
            Outcome::Patched(patches) => patches.first().map(|p| (p.old, p.new)),
            _ => None,
        }
    }
}

/// Parses a spec as libbpf's `bpf_core_format_spec` prints it.
pub fn parse_spec(text: &str) -> Option<Spec> {
    let rest = text.strip_prefix('<')?;
    let (kind, rest) = rest.split_once("> [")?;
    let (id, rest) = rest.split_once("] ")?;
    let type_id = id.parse().ok()?;
    let (type_kind, rest) = rest.split_once(' ')?;
    // The name ends where the access begins: '.', '[', "::", or " (" of the raw spec.
    let name_end = [".", "[", "::", " ("]
        .iter()
        .filter_map(|sep| rest.find(sep))
        .min()
        .unwrap_or(rest.len());
    let (type_name, rest) = rest.split_at(name_end);
    let (access, raw, bit_offset) = match rest.rfind(" (") {
        Some(open) if rest.ends_with(')') && !rest.starts_with("::") => {
            let inner = &rest[open + 2..rest.len() - 1];
            let (raw_text, offset_text) = inner.split_once(" @ offset ")?;
            let raw = raw_text
                .split(':')
                .map(|n| n.parse::<i64>().ok())
                .collect::<Option<Vec<_>>>()?;
            let bit_offset = match offset_text.split_once('.') {
                Some((bytes, bits)) => bytes.parse::<u64>().ok()? * 8 + bits.parse::<u64>().ok()?,
                None => offset_text.parse::<u64>().ok()? * 8,
            };
            (&rest[..open], raw, Some(bit_offset))
        }
        _ => (rest, Vec::new(), None),
    };
    Some(Spec {
        kind: kind.to_owned(),
        type_id,
        type_kind: type_kind.to_owned(),
        type_name: type_name.to_owned(),
        access: access.to_owned(),
        raw,
        bit_offset,
        text: text.to_owned(),
    })
}

/// Starts of `prog 'P': relo #N: ...` lines that libbpf writes about its *other*
/// relocations (maps, kfuncs, subprogram addresses, jump tables), not CO-RE ones.
const NOT_CORE: [&str; 4] = [
    "poisoning insn #",
    "bad insn",
    "bad relo type",
    "can't create jump table",
];

/// `prog 'P': relo #N: rest` or `prog 'P': relo N at insn #K rest`; the flag says which
/// (true: `#N`, whose N is the record's index).
fn split_relo_line(line: &str) -> Option<(&str, usize, &str, bool)> {
    let rest = line.strip_prefix("prog '")?;
    let (program, rest) = rest.split_once("': relo ")?;
    if let Some(rest) = rest.strip_prefix('#') {
        let (number, rest) = rest.split_once(": ")?;
        return Some((program, number.parse().ok()?, rest, true));
    }
    let (number, _) = rest.split_once(' ')?;
    Some((program, number.parse().ok()?, rest, false))
}

/// `A -> B`.
fn parse_change(text: &str) -> Option<(u64, u64)> {
    let (old, new) = text.split_once(" -> ")?;
    Some((old.trim().parse().ok()?, new.trim().parse().ok()?))
}

fn parse_patch(rest: &str) -> Option<Patch> {
    let rest = rest.strip_prefix("patched insn #")?;
    let (insn, rest) = rest.split_once(' ')?;
    let insn = insn.parse().ok()?;
    let (field, change) = if let Some(change) = rest.strip_prefix("(ALU/ALU64) imm ") {
        (PatchField::AluImm, change)
    } else if let Some(change) = rest.strip_prefix("(LDX/ST/STX) off ") {
        (PatchField::MemOff, change)
    } else if let Some(change) = rest.strip_prefix("(LDX/ST/STX) mem_sz ") {
        (PatchField::MemSize, change)
    } else if let Some(change) = rest.strip_prefix("(LDIMM64) imm64 ") {
        (PatchField::LdImm64, change)
    } else {
        return None;
    };
    let (old, new) = parse_change(change)?;
    Some(Patch {
        insn,
        field,
        old,
        new,
    })
}

/// The decisions in libbpf's log `log`, in the order libbpf made them.
pub fn parse_decisions(log: &str) -> Vec<Decision> {
    let mut decisions: Vec<Decision> = Vec::new();
    let mut section: Option<String> = None;
    for raw_line in log.lines() {
        let line = raw_line
            .strip_prefix("libbpf: ")
            .unwrap_or(raw_line)
            .trim_end();
        if let Some(rest) = line.strip_prefix("sec '") {
            if let Some((name, tail)) = rest.split_once("': found ") {
                if tail.ends_with(" CO-RE relocations") {
                    section = Some(name.to_owned());
                }
            }
            continue;
        }
        let Some((program, mut relo, rest, numbered)) = split_relo_line(line) else {
            continue;
        };
        if NOT_CORE.iter().any(|prefix| rest.starts_with(prefix)) {
            continue;
        }
        if !numbered {
            // A note of the program's current relocation, whatever N it prints.
            if let Some(last) = decisions
                .last()
                .filter(|d| d.program == program && d.section == section)
            {
                relo = last.relo;
            }
        }
        let same = decisions
            .last()
            .is_some_and(|d| d.program == program && d.relo == relo && d.section == section);
        if !same {
            decisions.push(Decision::new(program, section.as_deref(), relo));
        }
        let Some(decision) = decisions.last_mut() else {
            continue;
        };
        apply_line(decision, rest);
    }
    decisions
}

/// Folds one `prog 'P': relo #N: ...` line (its part after the prefix) into `decision`.
fn apply_line(decision: &mut Decision, rest: &str) {
    if rest.starts_with('<') {
        if let Some(spec) = parse_spec(rest) {
            decision.local = Some(spec);
            return;
        }
    }
    for (prefix, matching) in [
        ("matching candidate #", true),
        ("non-matching candidate #", false),
    ] {
        if let Some(tail) = rest.strip_prefix(prefix) {
            if let Some((index, spec)) = tail.split_once(' ') {
                if let (Ok(index), Some(spec)) = (index.parse(), parse_spec(spec)) {
                    decision.candidates.push(Candidate {
                        index,
                        matching,
                        spec,
                    });
                    return;
                }
            }
        }
    }
    if rest == "no matching targets found" {
        decision.no_match = true;
        return;
    }
    if let Some(patch) = parse_patch(rest) {
        match &mut decision.outcome {
            Outcome::Patched(patches) => patches.push(patch),
            _ => decision.outcome = Outcome::Patched(vec![patch]),
        }
        return;
    }
    if let Some(tail) = rest.strip_prefix("substituting insn #") {
        if let Some(Ok(insn)) = tail.split_once(' ').map(|(n, _)| n.parse::<usize>()) {
            // An ld_imm64 logs its second slot first: keep the lowest index.
            let insn = match decision.outcome {
                Outcome::Poisoned { insn: earlier } => earlier.min(insn),
                _ => insn,
            };
            decision.outcome = Outcome::Poisoned { insn };
            return;
        }
    }
    if rest.starts_with("failed to relocate: ")
        || rest.starts_with("failed to patch insn #")
        || rest.starts_with("failed to record relocation: ")
    {
        let mut message = decision.notes.join("\n");
        if !message.is_empty() {
            message.push('\n');
        }
        message.push_str(rest);
        decision.outcome = Outcome::Failed { message };
        return;
    }
    decision.notes.push(rest.to_owned());
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn field_spec() {
        let spec =
            parse_spec("<byte_off> [12] struct task_struct.real_parent (0:54 @ offset 1432)")
                .unwrap();
        assert_eq!(spec.kind, "byte_off");
        assert_eq!(spec.type_id, 12);
        assert_eq!(spec.type_kind, "struct");
        assert_eq!(spec.type_name, "task_struct");
        assert_eq!(spec.access, ".real_parent");
        assert_eq!(spec.raw, vec![0, 54]);
        assert_eq!(spec.bit_offset, Some(1432 * 8));
    }

    #[test]
    fn bitfield_array_enum_and_type_specs() {
        let spec = parse_spec("<lshift_u64> [7] struct x.a[3].b (0:1:3:2 @ offset 12.5)").unwrap();
        assert_eq!(spec.type_name, "x");
        assert_eq!(spec.access, ".a[3].b");
        assert_eq!(spec.bit_offset, Some(12 * 8 + 5));
        let spec = parse_spec("<byte_off> [7] typedef u64[2] (2 @ offset 16)").unwrap();
        assert_eq!(spec.type_name, "u64");
        assert_eq!(spec.access, "[2]");
        let spec = parse_spec("<enumval_value> [30] enum pid_type::PIDTYPE_TGID = 1").unwrap();
        assert_eq!(spec.type_name, "pid_type");
        assert_eq!(spec.access, "::PIDTYPE_TGID = 1");
        assert_eq!(spec.bit_offset, None);
        let spec = parse_spec("<type_exists> [5] struct <anon>").unwrap();
        assert_eq!(spec.type_name, "<anon>");
        assert_eq!(spec.access, "");
        assert!(parse_spec("<byte_off> (0) relocation doesn't support anonymous types").is_none());
    }

    const LOG: &str = "\
libbpf: sec 'tp_btf/sched_switch': found 3 CO-RE relocations
libbpf: CO-RE relocating [12] struct task_struct: found target candidate [145] struct task_struct in [vmlinux]
libbpf: prog 'handle': relo #0: <byte_off> [12] struct task_struct.real_parent (0:54 @ offset 1432)
libbpf: prog 'handle': relo #0: non-matching candidate #0 <byte_off> [99] struct task_struct
libbpf: prog 'handle': relo #0: matching candidate #1 <byte_off> [145] struct task_struct.real_parent (0:58 @ offset 2512)
libbpf: prog 'handle': relo #0: patched insn #12 (LDX/ST/STX) off 1432 -> 2512
libbpf: prog 'handle': relo #0: patched insn #12 (LDX/ST/STX) mem_sz 8 -> 4
libbpf: prog 'handle': relo #1: <field_exists> [12] struct task_struct.gone (0:70 @ offset 3000)
libbpf: prog 'handle': relo #1: no matching targets found
libbpf: prog 'handle': relo #1: patched insn #20 (ALU/ALU64) imm 1 -> 0
libbpf: prog 'handle': relo #2: <target_type_id> [12] struct task_struct
libbpf: prog 'handle': relo #2: no matching targets found
libbpf: prog 'handle': relo #2: substituting insn #31 w/ invalid insn
libbpf: prog 'handle': relo #2: substituting insn #30 w/ invalid insn
libbpf: sec '.text': found 1 CO-RE relocations
libbpf: prog 'helper': relo #0: <byte_off> [12] struct task_struct.pid (0:10 @ offset 8)
libbpf: prog 'helper': relo #0: field offset ambiguity: 8 != 16
libbpf: prog 'helper': relo #0: failed to relocate: -EINVAL
libbpf: failed to perform CO-RE relocations: -EINVAL
libbpf: prog 'handle': relo #3: poisoning insn #28 that loads map #0 'events'
";

    #[test]
    fn decisions_from_a_log() {
        let decisions = parse_decisions(LOG);
        assert_eq!(decisions.len(), 4);
        let first = &decisions[0];
        assert_eq!(first.section.as_deref(), Some("tp_btf/sched_switch"));
        assert_eq!(first.kind(), Some("byte_off"));
        assert_eq!(first.candidates.len(), 2);
        assert_eq!(first.target().unwrap().type_id, 145);
        assert_eq!(first.value_change(), Some((1432, 2512)));
        assert_eq!(first.insn(), Some(12));
        match &first.outcome {
            Outcome::Patched(patches) => {
                assert_eq!(patches.len(), 2);
                assert_eq!(patches[1].field, PatchField::MemSize);
            }
            other => panic!("{other:?}"),
        }
        assert!(decisions[1].no_match);
        assert_eq!(decisions[1].value_change(), Some((1, 0)));
        assert_eq!(decisions[2].outcome, Outcome::Poisoned { insn: 30 });
        let last = &decisions[3];
        assert_eq!(last.section.as_deref(), Some(".text"));
        assert_eq!(last.program, "helper");
        match &last.outcome {
            Outcome::Failed { message } => {
                assert!(message.contains("ambiguity"), "{message}");
                assert!(message.contains("failed to relocate"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn other_warning_forms_become_notes() {
        let log = "libbpf: sec 's': found 1 CO-RE relocations\n\
                   libbpf: prog 'p': relo #0: <byte_off> [1] struct s.a (0:0 @ offset 0)\n\
                   libbpf: prog 'p': relo 0 at insn #4 can't be applied to array access\n";
        let decisions = parse_decisions(log);
        assert_eq!(decisions.len(), 1);
        assert_eq!(decisions[0].notes.len(), 1);
        assert_eq!(decisions[0].outcome, Outcome::Unfinished);
    }

    #[test]
    fn an_at_insn_note_belongs_to_the_current_relocation_whatever_its_number() {
        let log = "libbpf: sec 's': found 7 CO-RE relocations\n\
                   libbpf: prog 'p': relo #6: <byte_off> [5] struct s.b (0:1 @ offset 0.1)\n\
                   libbpf: prog 'p': relo 0 at insn #22 can't be satisfied for bitfield\n\
                   libbpf: prog 'p': relo #6: failed to relocate: -E2BIG\n";
        let decisions = parse_decisions(log);
        assert_eq!(decisions.len(), 1, "{decisions:?}");
        assert_eq!(decisions[0].relo, 6);
        assert_eq!(decisions[0].notes.len(), 1);
        assert!(matches!(decisions[0].outcome, Outcome::Failed { .. }));
    }

    #[test]
    fn garbage_is_ignored() {
        assert!(
            parse_decisions("prog '\nprog 'x': relo #\n\u{0}\nprog 'x': relo #a: b\n").is_empty()
        );
    }
}
