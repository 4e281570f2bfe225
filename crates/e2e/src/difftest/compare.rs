//! Comparing btfkit's engine with libbpf's log, record by record: the outcome
//! (patched / poisoned / failed, ambiguity included), the target type, and the
//! bytes written at the site.

use std::collections::HashMap;
use std::fmt;

use btfkit_reloc::{Decision, Relocated};

use super::mutate::Mutation;
use super::objects::Object;
use crate::libbpf_oracle::{CoreDecision, OracleResult, Outcome, PatchField};

/// The instruction both write over a poisoned one: `call 0xbad2310`.
pub const POISON: [u8; 8] = [0x85, 0, 0, 0, 0x10, 0x23, 0xad, 0x0b];

/// Why a decision differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    /// libbpf poisons an LDX/ST/STX; btfkit writes the same poison call but reports
    /// the instruction patched.
    A,
    /// ENUM vs ENUM64 treated as different kinds (a mutation changed an enum's kind
    /// on the record's path).
    B,
    /// Anything else.
    Other,
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Class::A => "A (poisoned LDX/ST/STX reported as patched)",
            Class::B => "B (ENUM vs ENUM64)",
            Class::Other => "other",
        })
    }
}

/// One decision that differs.
#[derive(Debug, Clone)]
pub struct Mismatch {
    /// Object name.
    pub object: String,
    /// Program (libbpf's name).
    pub program: String,
    /// ELF section.
    pub section: String,
    /// Record index in the section.
    pub relo: usize,
    /// The relocation kind (libbpf's short name, `byte_off`, ...; empty for a whole object).
    pub kind: String,
    /// libbpf's local spec.
    pub local: String,
    /// libbpf's answer.
    pub libbpf: String,
    /// btfkit's answer.
    pub btfkit: String,
    /// What differs.
    pub detail: String,
    /// The class.
    pub class: Class,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[{}] {} prog '{}' ({}) relo #{}: {}\n    libbpf: {}\n    btfkit: {}\n    {}",
            match self.class {
                Class::A => "A",
                Class::B => "B",
                Class::Other => "other",
            },
            self.object,
            self.program,
            self.section,
            self.relo,
            self.local,
            self.libbpf,
            self.btfkit,
            self.detail
        )
    }
}

/// Counts of one comparison.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tally {
    /// Decisions compared.
    pub compared: usize,
    /// Equal.
    pub equal: usize,
    /// libbpf patched.
    pub patched: usize,
    /// libbpf poisoned.
    pub poisoned: usize,
    /// libbpf failed (the object refused).
    pub failed: usize,
    /// Records libbpf did not decide (it stopped at an earlier failure).
    pub undecided: usize,
}

impl std::ops::AddAssign for Tally {
    fn add_assign(&mut self, o: Tally) {
        self.compared += o.compared;
        self.equal += o.equal;
        self.patched += o.patched;
        self.poisoned += o.poisoned;
        self.failed += o.failed;
        self.undecided += o.undecided;
    }
}

fn hex(slots: &[[u8; 8]]) -> String {
    slots
        .iter()
        .map(|s| s.iter().map(|b| format!("{b:02x}")).collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

fn libbpf_text(d: &CoreDecision) -> String {
    let target = d
        .decision
        .target()
        .map(|t| format!(" => [{}] {}", t.type_id, t.text))
        .unwrap_or_default();
    let outcome = match &d.decision.outcome {
        Outcome::Patched(p) => format!(
            "patched {}",
            p.iter()
                .map(|p| format!("{:?} {} -> {}", p.field, p.old, p.new))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Outcome::Poisoned { .. } => "poisoned".to_owned(),
        Outcome::Failed { message } => format!("failed: {}", message.replace('\n', " / ")),
        Outcome::Unfinished => "undecided".to_owned(),
    };
    format!("{outcome}{target} [{}]", hex(&d.relocated))
}

fn btfkit_text(d: &Decision, site: &[[u8; 8]]) -> String {
    let outcome = match &d.outcome {
        btfkit_reloc::relocate::Outcome::Failed { reason } => format!("failed: {reason}"),
        btfkit_reloc::relocate::Outcome::Poisoned { reason } => format!("poisoned ({reason})"),
        btfkit_reloc::relocate::Outcome::Applied { note, .. } => format!("patched ({note})"),
    };
    let target = d
        .target
        .as_ref()
        .map(|t| format!(" => {t}"))
        .unwrap_or_default();
    format!("{outcome}{target} [{}]", hex(site))
}

#[derive(PartialEq, Eq, Clone, Copy, Debug)]
enum Verdict {
    Patched,
    Poisoned,
    Failed,
}

fn size_of_code(code: u8) -> u64 {
    match code & 0x18 {
        0x00 => 4,
        0x08 => 2,
        0x10 => 1,
        _ => 8,
    }
}

/// The libbpf patches agree with the bytes btfkit wrote at the site.
fn patches_agree(d: &CoreDecision, site: &[[u8; 8]]) -> Result<(), String> {
    let Outcome::Patched(patches) = &d.decision.outcome else {
        return Ok(());
    };
    let slot = site.first().ok_or("no site")?;
    for p in patches {
        let got = match p.field {
            PatchField::AluImm => u32::from_le_bytes([slot[4], slot[5], slot[6], slot[7]]) as u64,
            PatchField::MemOff => u16::from_le_bytes([slot[2], slot[3]]) as u64,
            PatchField::MemSize => size_of_code(slot[0]),
            PatchField::LdImm64 => {
                let hi = site.get(1).ok_or("ld_imm64 without its second slot")?;
                u32::from_le_bytes([slot[4], slot[5], slot[6], slot[7]]) as u64
                    | (u32::from_le_bytes([hi[4], hi[5], hi[6], hi[7]]) as u64) << 32
            }
        };
        let want = match p.field {
            PatchField::AluImm => p.new & 0xffff_ffff,
            _ => p.new,
        };
        if got != want {
            return Err(format!("{:?}: libbpf wrote {want}, btfkit {got}", p.field));
        }
    }
    Ok(())
}

/// Compares one object's relocation by both. `ours` is btfkit's result (an error
/// is a whole-object refusal); `mutations` classify what differs.
pub fn compare(
    object: &Object,
    oracle: &OracleResult,
    ours: &Result<Relocated, String>,
    mutations: &[Mutation],
) -> (Tally, Vec<Mismatch>) {
    let mut tally = Tally::default();
    let mut mismatches = Vec::new();
    let parsed = btfkit_object::BpfObject::parse(&object.bytes).ok();
    let section_index = |name: &str| {
        parsed
            .as_ref()
            .and_then(|p| p.program_section_by_name(name))
            .map(|s| s.section_index)
    };
    let whole = |detail: String, libbpf: String, btfkit: String| Mismatch {
        object: object.name.clone(),
        program: String::new(),
        section: String::new(),
        relo: 0,
        kind: String::new(),
        local: String::new(),
        libbpf,
        btfkit,
        detail,
        class: Class::Other,
    };
    let ours = match ours {
        Ok(r) => r,
        Err(e) => {
            if oracle.decisions.is_empty() && oracle.error.is_some() {
                return (tally, mismatches);
            }
            mismatches.push(whole(
                "btfkit refused the whole object".into(),
                oracle.error.clone().unwrap_or_else(|| "ok".into()),
                e.clone(),
            ));
            return (tally, mismatches);
        }
    };
    if oracle.decisions.is_empty() {
        if let Some(e) = &oracle.error {
            if ours.decisions.iter().any(|d| d.error().is_none()) {
                mismatches.push(whole(
                    "libbpf refused the object before any CO-RE decision".into(),
                    e.clone(),
                    format!("{} decisions", ours.decisions.len()),
                ));
            }
            return (tally, mismatches);
        }
    }
    let by_key: HashMap<(&str, usize), &Decision> = ours
        .decisions
        .iter()
        .map(|d| ((d.section.as_str(), d.relo_idx), d))
        .collect();
    let sections: HashMap<usize, &Vec<u8>> = ours.sections.iter().map(|(i, b)| (*i, b)).collect();
    let records: HashMap<(&str, usize), &super::objects::Record> = object
        .records
        .iter()
        .map(|r| ((r.section.as_str(), r.relo), r))
        .collect();
    for cd in &oracle.decisions {
        let Some(section) = cd.decision.section.as_deref() else {
            continue;
        };
        let relo = cd.decision.relo;
        let want = match &cd.decision.outcome {
            Outcome::Patched(_) => Verdict::Patched,
            Outcome::Poisoned { .. } => Verdict::Poisoned,
            Outcome::Failed { .. } => Verdict::Failed,
            Outcome::Unfinished => {
                tally.undecided += 1;
                continue;
            }
        };
        tally.compared += 1;
        match want {
            Verdict::Patched => tally.patched += 1,
            Verdict::Poisoned => tally.poisoned += 1,
            Verdict::Failed => tally.failed += 1,
        }
        let record = records.get(&(section, relo));
        let mut mismatch = Mismatch {
            object: object.name.clone(),
            program: cd.decision.program.clone(),
            section: section.to_owned(),
            relo,
            kind: cd.decision.kind().unwrap_or_default().to_owned(),
            local: cd
                .decision
                .local
                .as_ref()
                .map(|s| s.text.clone())
                .unwrap_or_default(),
            libbpf: libbpf_text(cd),
            btfkit: String::new(),
            detail: String::new(),
            class: Class::Other,
        };
        let Some(d) = by_key.get(&(section, relo)) else {
            mismatch.btfkit = "no decision".into();
            mismatch.detail = "btfkit has no decision for this record".into();
            mismatches.push(mismatch);
            continue;
        };
        // The site as btfkit wrote it.
        let slots = if cd.original.is_empty() {
            1
        } else {
            cd.original.len()
        };
        let site: Vec<[u8; 8]> = record
            .and_then(|r| {
                let bytes = sections.get(&section_index(section)?)?;
                (0..slots)
                    .map(|k| {
                        let at = (r.section_insn + k) * 8;
                        bytes.get(at..at + 8)?.try_into().ok()
                    })
                    .collect()
            })
            .unwrap_or_default();
        let got = if d.error().is_some() {
            Verdict::Failed
        } else if !d.ok() {
            Verdict::Poisoned
        } else {
            Verdict::Patched
        };
        mismatch.btfkit = btfkit_text(d, &site);
        let detail = if want != got {
            Some(format!("outcome: libbpf {want:?}, btfkit {got:?}"))
        } else {
            match want {
                Verdict::Failed => {
                    let lib = matches!(&cd.decision.outcome, Outcome::Failed { message } if message.contains("ambiguity"));
                    let our = d.error().is_some_and(|e| e.contains("ambiguity"));
                    (lib != our)
                        .then(|| format!("failure: libbpf ambiguity {lib}, btfkit ambiguity {our}"))
                }
                Verdict::Poisoned | Verdict::Patched => {
                    let lib_target = cd.decision.target().map(|t| t.type_id);
                    if want == Verdict::Patched && lib_target != d.target_type_id {
                        Some(format!(
                            "target type: libbpf {lib_target:?}, btfkit {:?}",
                            d.target_type_id
                        ))
                    } else if site.is_empty() {
                        Some("btfkit's site bytes not found".into())
                    } else if !cd.relocated.is_empty() && cd.relocated != site {
                        Some("bytes at the site differ".into())
                    } else if want == Verdict::Poisoned && site.iter().any(|s| *s != POISON) {
                        Some("btfkit did not write the poison call".into())
                    } else {
                        patches_agree(cd, &site).err()
                    }
                }
            }
        };
        let Some(detail) = detail else {
            tally.equal += 1;
            continue;
        };
        let memory_insn = cd
            .original
            .first()
            .or(site.first())
            .is_some_and(|s| matches!(s[0] & 0x07, 1..=3));
        let wrote_poison = !site.is_empty() && site.iter().all(|s| *s == POISON);
        mismatch.class = if want == Verdict::Poisoned
            && got == Verdict::Patched
            && memory_insn
            && wrote_poison
        {
            Class::A
        } else if record.is_some_and(|r| {
            mutations
                .iter()
                .any(|m| m.changes_enum_kind() && r.names.contains(m.touches()))
        }) {
            Class::B
        } else {
            Class::Other
        };
        mismatch.detail = if mismatch.class == Class::A {
            format!("{detail} (btfkit wrote the same poison call)")
        } else {
            detail
        };
        mismatches.push(mismatch);
    }
    (tally, mismatches)
}
