//! `btfkit relocate`: apply every CO-RE relocation of an object for a target
//! kernel and drop the records, so loaders without CO-RE support can load it.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use btfkit_model::Btf;

/// Arguments of `btfkit relocate`.
#[derive(clap::Args)]
pub struct Args {
    /// The BPF object (with .BTF and .BTF.ext).
    pub object: PathBuf,
    /// Target BTF: raw (/sys/kernel/btf/vmlinux), vmlinux ELF, or module BTF with --base.
    #[arg(long, default_value = "/sys/kernel/btf/vmlinux")]
    pub target: PathBuf,
    /// Base BTF when --target is split (module) BTF.
    #[arg(long)]
    pub base: Option<PathBuf>,
    /// Where to write the relocated object.
    #[arg(short, long)]
    pub output: PathBuf,
}

/// Loads a target BTF (split over `base` when given) as owned data.
pub fn load_target(
    target: &std::path::Path,
    base: Option<&std::path::Path>,
) -> anyhow::Result<Btf<'static>> {
    let data = crate::cmd::dump::btf_bytes(target)?;
    match base {
        None => Btf::parse_owned(data)
            .and_then(|btf| btf.validate().map(|()| btf))
            .map_err(|e| match e {
            btfkit_model::Error::SplitWithoutBase => anyhow::anyhow!(
                "target BTF {}: {e}; pass --base with that base, e.g. --base /sys/kernel/btf/vmlinux",
                target.display()
            ),
            // Names or type ids past its own: split BTF read alone may look
            // like this (when its strings start with the empty string).
            e @ (btfkit_model::Error::BadType { .. }
            | btfkit_model::Error::BadTypeId { .. }
            | btfkit_model::Error::BadStringOffset(_)) => anyhow::anyhow!(
                "target BTF {}: {e} (if it is split BTF, e.g. a kernel module's, pass --base with its base)",
                target.display()
            ),
            e => anyhow::Error::new(e).context(format!("target BTF {}", target.display())),
        }),
        Some(b) => {
            let base =
                Arc::new(Btf::parse_owned(crate::cmd::dump::btf_bytes(b)?).context("base BTF")?);
            let leaked: &'static [u8] = Box::leak(data.into_boxed_slice());
            Btf::parse_split(leaked, base)
                .with_context(|| format!("target BTF {}", target.display()))
        }
    }
}

/// Runs `btfkit relocate`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let object = std::fs::read(&args.object)
        .with_context(|| format!("cannot read {}", args.object.display()))?;
    let btf = load_target(&args.target, args.base.as_deref())?;
    let target = btfkit_reloc::Target::new(&btf);
    let relocated = btfkit_reloc::relocate_object(&object, &target)
        .with_context(|| format!("{}", args.object.display()))?;
    let failed: Vec<_> = relocated
        .decisions
        .iter()
        .filter(|d| d.error().is_some())
        .collect();
    if !failed.is_empty() {
        for d in &failed {
            eprintln!("btfkit relocate: {d}");
        }
        eprintln!(
            "btfkit relocate: {} of {} relocations failed; nothing written",
            failed.len(),
            relocated.decisions.len()
        );
        return Ok(ExitCode::from(1));
    }
    let out = btfkit_reloc::write::write_relocated(&object, &relocated)?;
    std::fs::write(&args.output, out)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    let counts = relocated.counts();
    eprintln!(
        "btfkit relocate: {} relocation(s): {} applied, {} poisoned, for {}; wrote {}",
        relocated.decisions.len(),
        counts.applied,
        counts.poisoned,
        args.target.display(),
        args.output.display()
    );
    for d in relocated.decisions.iter().filter(|d| d.poisoned()) {
        let reach = match &d.reachability {
            Some(btfkit_reloc::Reachability::Unreachable { guard, .. }) => {
                format!("unreachable: {guard}")
            }
            _ => "REACHABLE: the verifier will reject the program".to_string(),
        };
        eprintln!(
            "btfkit relocate: poisoned prog '{}' insn {} ({reach}): {}",
            d.prog,
            d.insn,
            d.reason().unwrap_or("")
        );
    }
    Ok(ExitCode::SUCCESS)
}
