//! {{name}}: relocates the BPF program (embedded at build time) for the
//! running kernel with btfkit's engine, loads and attaches it with
//! btfkit-loader and prints one line per exec it records.
//!
//! `--seconds N`: stop after N seconds (default: run until Ctrl-C).

use std::time::{Duration, Instant};

use anyhow::Context;
use {{crate}}_common::{Event, SLOTS};

/// The linked object.
static OBJECT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/{{name}}-ebpf.bpf.o"));

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let seconds = args
        .iter()
        .position(|a| a == "--seconds")
        .and_then(|i| args.get(i + 1))
        .map(|s| s.parse::<u64>())
        .transpose()
        .context("--seconds takes a number")?;
    let kernel = std::fs::read("/sys/kernel/btf/vmlinux").context("reading the kernel's BTF")?;
    let kernel = btfkit_model::Btf::parse(&kernel).context("parsing the kernel's BTF")?;
    let target = btfkit_reloc::Target::new(&kernel);
    let relocated = btfkit_reloc::relocate_object(OBJECT, &target).context("relocating")?;
    let ready = btfkit_reloc::write::write_relocated(OBJECT, &relocated)?;
    let loaded = btfkit_loader::LoadedObject::load(&ready).context("loading (as root?)")?;
    let _link = loaded.program("{{crate}}")?.attach()?;
    let ring = loaded.map(".bss")?;
    let size = std::mem::size_of::<Event>();
    println!("{:>8} {:>8} {:>6}  COMM", "PID", "PPID", "UID");
    let start = Instant::now();
    let mut seen = 0u64;
    while seconds.is_none_or(|s| start.elapsed() < Duration::from_secs(s)) {
        std::thread::sleep(Duration::from_millis(100));
        let bytes = ring.read()?;
        let count = u64::from_ne_bytes(bytes[..8].try_into()?);
        for n in seen.max(count.saturating_sub(SLOTS as u64))..count {
            let at = 8 + (n % SLOTS as u64) as usize * size;
            let Some(raw) = bytes.get(at..at + size) else { break };
            // SAFETY: the slot holds an Event written by the BPF program.
            let e: Event = unsafe { std::ptr::read_unaligned(raw.as_ptr().cast()) };
            println!(
                "{:>8} {:>8} {:>6}  {}",
                e.pid,
                e.ppid,
                e.uid,
                String::from_utf8_lossy(e.comm())
            );
        }
        seen = count;
    }
    Ok(())
}
