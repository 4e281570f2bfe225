//! `btfkit check`'s composition: for each object and kernel, btfkit's engine
//! against that kernel's own `/sys/kernel/btf/vmlinux`, then the kernel's
//! verifier (load, optionally attach). [`check_here`] does it on the running
//! kernel (on the host, or inside a guest, where the `btfkit` binary runs
//! itself); [`check_in_guests`] boots each kernel and gathers the reports.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Where the running kernel's BTF is.
pub const KERNEL_BTF: &str = "/sys/kernel/btf/vmlinux";

/// One relocation of one program on one kernel.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Relocation {
    /// Instruction index within the program.
    pub insn: usize,
    /// Kind (`byte_off`, `type_exists`...).
    pub kind: String,
    /// The local field or type, as written (`task_struct.pid`).
    pub field: String,
    /// `applied`, `poisoned` or `failed`.
    pub outcome: String,
    /// The value for this kernel (absent when poisoned or failed).
    pub value: Option<u64>,
    /// Why it was poisoned or failed.
    pub reason: Option<String>,
    /// For a poisoned instruction: whether btfkit's engine finds a path to
    /// it (then the verifier must reject the program), or why none does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reachable: Option<Reachable>,
}

/// btfkit's reachability verdict on a poisoned instruction.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Reachable {
    /// Some path reaches it: the verifier rejects the program.
    Yes,
    /// No path reaches it, for this reason (the guard).
    No(String),
}

/// The engine's reachability verdict for a poisoned decision.
fn reachable(d: &btfkit_reloc::Decision) -> Option<Reachable> {
    if !d.poisoned() {
        return None;
    }
    Some(match &d.reachability {
        Some(btfkit_reloc::Reachability::Unreachable { guard, .. }) => Reachable::No(guard.clone()),
        _ => Reachable::Yes,
    })
}

/// What the kernel said about one program.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Loaded (and attached with `--attach`).
    Accepted,
    /// The verifier (or attach) refused it.
    Rejected,
    /// This kernel or loader cannot run this program type here (not a failure).
    Unsupported,
    /// Not loaded: relocation failed, or another program's rejection stopped the load.
    NotLoaded,
}

/// One program on one kernel.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProgramReport {
    /// Program (function) name.
    pub name: String,
    /// Its relocations.
    pub relocations: Vec<Relocation>,
    /// The kernel's answer.
    pub verdict: Verdict,
    /// Instructions the verifier processed.
    pub verified_insns: Option<u32>,
    /// On rejection: the verifier log's last lines, then what a poisoned
    /// instruction in them was (`insn 48: the field ... does not exist on ...`).
    pub log: Vec<String>,
}

impl ProgramReport {
    /// (applied, poisoned, failed) relocations.
    pub fn counts(&self) -> (usize, usize, usize) {
        let n = |o: &str| self.relocations.iter().filter(|r| r.outcome == o).count();
        (n("applied"), n("poisoned"), n("failed"))
    }
}

/// One object on one kernel.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// The object's path.
    pub object: String,
    /// The kernel (release, or the name given).
    pub kernel: String,
    /// Per program.
    pub programs: Vec<ProgramReport>,
    /// Why the object could not be checked at all (no BTF, unreadable, guest failure).
    pub error: Option<String>,
}

impl Report {
    /// Nothing failed (unsupported programs are not failures).
    pub fn ok(&self) -> bool {
        self.error.is_none()
            && self.programs.iter().all(|p| {
                p.counts().2 == 0 && matches!(p.verdict, Verdict::Accepted | Verdict::Unsupported)
            })
    }

    fn failed(object: &Path, kernel: &str, error: String) -> Report {
        Report {
            object: object.display().to_string(),
            kernel: kernel.to_string(),
            programs: Vec::new(),
            error: Some(error),
        }
    }
}

/// The one place that reads a [`btfkit_reloc::Decision`]'s outcome.
fn outcome(d: &btfkit_reloc::Decision) -> (&'static str, Option<u64>) {
    if d.ok() {
        ("applied", d.fixup.as_ref().map(|f| f.new_val))
    } else if d.poisoned() {
        ("poisoned", None)
    } else {
        ("failed", None)
    }
}

/// `[15] struct task_struct.tgid (0:1 @ offset 16)` -> `task_struct.tgid`.
fn field_name(local: &str) -> String {
    let s = local.split_once("] ").map_or(local, |(_, r)| r);
    let s = s.split(" (").next().unwrap_or(s);
    let s = s
        .trim_start_matches("struct ")
        .trim_start_matches("union ")
        .trim_start_matches("enum ")
        .trim_start_matches("typedef ");
    s.to_string()
}

/// A program type the running kernel cannot load here, with the reason.
fn unsupported_here(section: &str) -> Option<String> {
    let kind = section.split('/').next().unwrap_or(section);
    match kind {
        "kprobe" | "kretprobe" if !Path::new("/sys/kernel/tracing/kprobe_events").exists() => {
            Some("this kernel has no kprobes (no kprobe_events in tracefs)".into())
        }
        _ => None,
    }
}

/// Checks `object` on the running kernel: relocate against its BTF, load
/// each program, read the verifier's count. `kernel` names it in the report.
pub fn check_here(object: &Path, kernel: &str, attach: bool) -> Report {
    check_all_here(&[object.to_path_buf()], kernel, attach)
        .pop()
        .unwrap_or_else(|| Report::failed(object, kernel, "no report".into()))
}

/// [`check_here`] for several objects, the kernel's BTF read and indexed
/// once (in an emulated guest that is most of a check's own time).
pub fn check_all_here(objects: &[PathBuf], kernel: &str, attach: bool) -> Vec<Report> {
    let fail_all = |why: String| -> Vec<Report> {
        objects
            .iter()
            .map(|o| Report::failed(o, kernel, why.clone()))
            .collect()
    };
    let btf_bytes = match std::fs::read(KERNEL_BTF) {
        Ok(b) => b,
        Err(e) => return fail_all(format!("the kernel has no BTF ({KERNEL_BTF}: {e})")),
    };
    let btf = match btfkit_model::Btf::parse(&btf_bytes) {
        Ok(b) => b,
        Err(e) => return fail_all(format!("{KERNEL_BTF}: {e}")),
    };
    let target = btfkit_reloc::Target::new(&btf);
    objects
        .iter()
        .map(|o| check_with(o, kernel, attach, &target))
        .collect()
}

/// One object checked against an indexed kernel BTF.
fn check_with(
    object: &Path,
    kernel: &str,
    attach: bool,
    target: &btfkit_reloc::Target<'_>,
) -> Report {
    let bytes = match std::fs::read(object) {
        Ok(b) => b,
        Err(e) => return Report::failed(object, kernel, format!("{}: {e}", object.display())),
    };
    let relocated = match btfkit_reloc::relocate_object(&bytes, target) {
        Ok(r) => r,
        Err(e) => return Report::failed(object, kernel, format!("relocating: {e}")),
    };
    let obj = match btfkit_object::BpfObject::parse(&bytes) {
        Ok(o) => o,
        Err(e) => return Report::failed(object, kernel, format!("{e}")),
    };
    let mut programs: Vec<ProgramReport> = Vec::new();
    let mut sections: Vec<(String, String)> = Vec::new();
    for s in obj.programs() {
        for f in &s.functions {
            if s.name != ".text" {
                sections.push((f.name.to_string(), s.name.to_string()));
                programs.push(ProgramReport {
                    name: f.name.to_string(),
                    relocations: Vec::new(),
                    verdict: Verdict::NotLoaded,
                    verified_insns: None,
                    log: Vec::new(),
                });
            }
        }
    }
    for d in &relocated.decisions {
        let (o, value) = outcome(d);
        let r = Relocation {
            insn: d.insn,
            kind: d.kind.short_name().to_string(),
            field: field_name(&d.local),
            outcome: o.to_string(),
            value,
            reason: d.error().map(str::to_string).or_else(|| {
                (o == "poisoned")
                    .then(|| format!("{} does not exist on {kernel}", field_name(&d.local)))
            }),
            reachable: reachable(d),
        };
        if let Some(p) = programs.iter_mut().find(|p| p.name == d.prog) {
            p.relocations.push(r);
        }
    }
    if programs.iter().any(|p| p.counts().2 > 0) {
        return Report {
            object: object.display().to_string(),
            kernel: kernel.to_string(),
            programs,
            error: None,
        };
    }
    let written = match btfkit_reloc::write::write_relocated(&bytes, &relocated) {
        Ok(w) => w,
        Err(e) => {
            return Report::failed(object, kernel, format!("writing the relocated object: {e}"))
        }
    };
    // Programs this kernel cannot run are left out of the load and reported
    // as unsupported; a tracing program the kernel refuses before verifying
    // (EPERM, EOPNOTSUPP: no fentry here) joins them and the load is retried.
    let mut skipped: Vec<String> = Vec::new();
    for (name, sec) in &sections {
        if let Some(why) = unsupported_here(sec) {
            set_unsupported(&mut programs, name, why);
            skipped.push(sec.clone());
        }
    }
    loop {
        if skipped.len() == sections.len() {
            break;
        }
        let keep = |sec: &str| !skipped.iter().any(|s| s == sec);
        match btfkit_loader::LoadedObject::load_filtered(&written, &keep) {
            Ok(loaded) => {
                for p in &mut programs {
                    let Ok(prog) = loaded.program(&p.name) else {
                        continue;
                    };
                    p.verified_insns = prog.verified_insns();
                    p.verdict = Verdict::Accepted;
                    if attach {
                        match prog.attach() {
                            Ok(a) => drop(a),
                            Err(btfkit_loader::Error::Unsupported(why)) => {
                                p.verdict = Verdict::Unsupported;
                                p.log = vec![why];
                            }
                            Err(e) => {
                                p.verdict = Verdict::Rejected;
                                p.log = vec![format!("attach: {e}")];
                            }
                        }
                    }
                }
                break;
            }
            Err(btfkit_loader::Error::Verifier {
                program,
                log,
                source,
            }) => {
                let sec = sections
                    .iter()
                    .find(|(n, _)| *n == program)
                    .map(|(_, s)| s.clone())
                    .unwrap_or_default();
                let tracing = sec.starts_with("fentry/") || sec.starts_with("fexit/");
                let refused = matches!(source.raw_os_error(), Some(1 | 95 | 524));
                if tracing && refused && log.trim().is_empty() && !skipped.contains(&sec) {
                    set_unsupported(
                        &mut programs,
                        &program,
                        format!("this kernel refuses fentry/fexit programs ({source})"),
                    );
                    skipped.push(sec);
                    continue;
                }
                if let Some(p) = programs.iter_mut().find(|p| p.name == program) {
                    p.verdict = Verdict::Rejected;
                    let lines: Vec<&str> = log.lines().collect();
                    p.log = lines[lines.len().saturating_sub(8)..]
                        .iter()
                        .map(|l| l.to_string())
                        .collect();
                    p.log.insert(0, format!("load: {source}"));
                    let explained = explain_poison(&log, &p.relocations, kernel);
                    p.log.extend(explained);
                }
                break;
            }
            Err(btfkit_loader::Error::Unsupported(why)) => {
                for p in &mut programs {
                    p.verdict = Verdict::Unsupported;
                    p.log = vec![why.clone()];
                }
                break;
            }
            Err(e) => return Report::failed(object, kernel, format!("loading: {e}")),
        }
    }
    Report {
        object: object.display().to_string(),
        kernel: kernel.to_string(),
        programs,
        error: None,
    }
}

fn set_unsupported(programs: &mut [ProgramReport], name: &str, why: String) {
    if let Some(p) = programs.iter_mut().find(|p| p.name == name) {
        p.verdict = Verdict::Unsupported;
        p.log = vec![why];
    }
}

/// Maps the verifier's complaint about an instruction back to a poisoned
/// relocation, as libbpf's log fix-up does: `insn 48: the field ... does not exist on K`.
fn explain_poison(log: &str, relocations: &[Relocation], kernel: &str) -> Vec<String> {
    let poisoned = || relocations.iter().filter(|r| r.outcome == "poisoned");
    // The verifier prints the failing instruction as `N: (..) ...`; poisoned
    // instructions are `call unknown` / `invalid func unknown#195896080`.
    // Without a numbered line, the poisons btfkit's engine finds reachable.
    let mut named: Vec<&Relocation> = poisoned()
        .filter(|r| {
            let at = format!("{}: ", r.insn);
            log.lines().any(|l| l.starts_with(&at))
        })
        .collect();
    if named.is_empty() && log.contains("195896080") {
        named = poisoned()
            .filter(|r| !matches!(r.reachable, Some(Reachable::No(_))))
            .collect();
    }
    named
        .into_iter()
        .map(|r| {
            format!(
                "insn {}: the {} {} does not exist on {kernel}",
                r.insn,
                if r.field.contains('.') {
                    "field"
                } else {
                    "type"
                },
                r.field
            )
        })
        .collect()
}

/// The hidden guest-side command's output: one report per object.
pub fn guest_json(objects: &[PathBuf], kernel: &str, attach: bool) -> String {
    let reports = check_all_here(objects, kernel, attach);
    serde_json::to_string(&reports).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// Marks the guest's JSON line among other output.
pub const GUEST_MARK: &str = "BTFKIT-CHECK-JSON ";

/// Boots each kernel once, checks every object there (`exe __check-guest`),
/// and returns the reports per kernel, in order. A guest that fails yields
/// reports with the error and the console's last lines.
pub fn check_in_guests(
    exe: &Path,
    objects: &[PathBuf],
    kernels: &[btfkit_vm::Kernel],
    attach: bool,
    opts: &btfkit_vm::Options,
) -> Vec<Vec<Report>> {
    let mut argv = vec![exe.display().to_string(), "__check-guest".to_string()];
    if attach {
        argv.push("--attach".into());
    }
    argv.extend(objects.iter().map(|o| o.display().to_string()));
    let mut outcomes = btfkit_vm::run_all(kernels, &argv, opts);
    // A guest that ended without a report and without hitting the timeout
    // or a kernel panic (vng failing under heavy host load) gets one more
    // boot, said on stderr.
    for (k, o) in kernels.iter().zip(outcomes.iter_mut()) {
        let reported = o.as_ref().is_ok_and(|o| {
            o.timed_out
                || o.stdout.contains(GUEST_MARK)
                || o.console_tail.iter().any(|l| l.contains("Kernel panic"))
        });
        if !reported {
            let why = match o {
                Ok(o) => format!("exit status {:?}: {}", o.status, o.stderr.trim()),
                Err(e) => e.to_string(),
            };
            eprintln!(
                "check: {}: the guest gave no report ({why}); booting it once more",
                k.name
            );
            *o = btfkit_vm::run(k, &argv, opts);
        }
    }
    kernels
        .iter()
        .zip(outcomes)
        .map(|(k, o)| {
            let fail = |why: String| -> Vec<Report> {
                objects
                    .iter()
                    .map(|obj| Report::failed(obj, &k.name, why.clone()))
                    .collect()
            };
            let o = match o {
                Ok(o) => o,
                Err(e) => return fail(e.to_string()),
            };
            let json = o
                .stdout
                .lines()
                .find_map(|l| l.strip_prefix(GUEST_MARK).map(str::to_string));
            match json.map(|j| serde_json::from_str::<Vec<Report>>(&j)) {
                Some(Ok(mut reports)) => {
                    for r in &mut reports {
                        r.kernel = k.name.clone();
                    }
                    reports
                }
                Some(Err(e)) => fail(format!("unreadable guest report: {e}")),
                None => {
                    let why = if o.timed_out {
                        format!("the guest did not finish within {:?}", opts.timeout)
                    } else {
                        format!("the guest gave no report (exit status {:?})", o.status)
                    };
                    let mut lines = vec![why];
                    lines.extend(
                        o.stderr
                            .lines()
                            .rev()
                            .take(5)
                            .map(str::to_string)
                            .collect::<Vec<_>>()
                            .into_iter()
                            .rev(),
                    );
                    if !o.console_tail.is_empty() {
                        lines.push("console:".into());
                        lines.extend(o.console_tail);
                    }
                    fail(lines.join("\n"))
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names() {
        assert_eq!(
            field_name("[15] struct task_struct.tgid (0:1 @ offset 16)"),
            "task_struct.tgid"
        );
        assert_eq!(field_name("[3] typedef u32"), "u32");
    }

    #[test]
    fn poison_is_explained() {
        let r = Relocation {
            insn: 48,
            kind: "byte_off".into(),
            field: "task_struct.btfkit_no_such_field".into(),
            outcome: "poisoned".into(),
            value: None,
            reason: None,
            reachable: Some(Reachable::Yes),
        };
        let log = "47: (79) r1 = *(u64 *)(r10 -8)\n48: (85) call unknown#195896080\ninvalid func unknown#195896080";
        assert_eq!(
            explain_poison(log, &[r], "6.1.0-57-amd64"),
            vec!["insn 48: the field task_struct.btfkit_no_such_field does not exist on 6.1.0-57-amd64"]
        );
    }

    /// Without the instruction's own line, only the poisons btfkit's engine
    /// calls reachable are named, not a guarded one.
    #[test]
    fn unnumbered_poison_names_only_reachable_ones() {
        let poisoned = |insn, field: &str, reachable| Relocation {
            insn,
            kind: "byte_off".into(),
            field: field.into(),
            outcome: "poisoned".into(),
            value: None,
            reason: None,
            reachable: Some(reachable),
        };
        let rs = [
            poisoned(
                7,
                "task_struct.guarded",
                Reachable::No("guarded by insn 3".into()),
            ),
            poisoned(12, "task_struct.unguarded", Reachable::Yes),
        ];
        assert_eq!(
            explain_poison("invalid func unknown#195896080", &rs, "K"),
            vec!["insn 12: the field task_struct.unguarded does not exist on K"]
        );
    }
}
