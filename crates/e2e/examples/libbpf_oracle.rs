//! Prints what libbpf 1.7 makes of an object's CO-RE relocations against a target BTF:
//! `cargo run -p btfkit-e2e --example libbpf_oracle -- OBJECT TARGET_BTF [--log]`.

use std::path::Path;

use btfkit_e2e::libbpf_oracle::{self, Outcome};

fn hex(slots: &[[u8; 8]]) -> String {
    slots
        .iter()
        .map(|s| s.iter().map(|b| format!("{b:02x}")).collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [object, btf, rest @ ..] = args.as_slice() else {
        return Err("usage: libbpf_oracle OBJECT TARGET_BTF [--log]".into());
    };
    let result = libbpf_oracle::relocate(Path::new(object), Path::new(btf))?;
    if rest.iter().any(|a| a == "--log") {
        print!("{}", result.log);
    }
    for program in &result.programs {
        println!(
            "program {} ({}): {} insns, functions {:?}",
            program.name,
            program.section,
            program.insns.len(),
            program.functions
        );
    }
    for d in &result.decisions {
        let outcome = match &d.decision.outcome {
            Outcome::Patched(patches) => patches
                .iter()
                .map(|p| format!("{:?} {} -> {}", p.field, p.old, p.new))
                .collect::<Vec<_>>()
                .join(", "),
            Outcome::Poisoned { .. } => "poisoned".to_owned(),
            Outcome::Failed { message } => format!("FAILED: {message}"),
            Outcome::Unfinished => "unfinished".to_owned(),
        };
        println!(
            "{} relo #{} {}+{:?} (section insn {:?}): {} | {} -> {} | {}",
            d.decision.section.as_deref().unwrap_or("?"),
            d.decision.relo,
            d.decision.program,
            d.decision.insn(),
            d.section_insn,
            d.decision
                .local
                .as_ref()
                .map(|s| s.text.as_str())
                .unwrap_or("?"),
            hex(&d.original),
            hex(&d.relocated),
            outcome
        );
    }
    println!("{:?}", result.counts());
    if let Some(error) = &result.error {
        println!("error: {error}");
    }
    Ok(())
}
