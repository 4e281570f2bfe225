//! {{name}}: loads the BPF program (embedded at build time), attaches it to
//! `sched_process_exec` and prints one line per exec from its ring buffer.
//!
//! `--pre-relocated`: btfkit relocates the object for this kernel first
//! (aya then sees no CO-RE records); by default aya applies them.
//! `--seconds N`: stop after N seconds (default: run until Ctrl-C).

use std::time::{Duration, Instant};

use anyhow::Context;
use aya::{maps::RingBuf, programs::RawTracePoint, EbpfLoader};
use {{crate}}_common::Event;

/// The linked object, 8-byte aligned as aya wants it.
static OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/{{name}}-ebpf.bpf.o"));

/// The object relocated for the running kernel by btfkit's engine.
fn pre_relocated() -> anyhow::Result<Vec<u8>> {
    let kernel = std::fs::read("/sys/kernel/btf/vmlinux").context("reading the kernel's BTF")?;
    let kernel = btfkit_model::Btf::parse(&kernel).context("parsing the kernel's BTF")?;
    let target = btfkit_reloc::Target::new(&kernel);
    let relocated = btfkit_reloc::relocate_object(OBJECT, &target).context("relocating")?;
    Ok(btfkit_reloc::write::write_relocated(OBJECT, &relocated)?)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let seconds = args
        .iter()
        .position(|a| a == "--seconds")
        .and_then(|i| args.get(i + 1))
        .map(|s| s.parse::<u64>())
        .transpose()
        .context("--seconds takes a number")?;
    let relocated;
    let object: &[u8] = if args.iter().any(|a| a == "--pre-relocated") {
        relocated = pre_relocated()?;
        &relocated
    } else {
        OBJECT
    };
    // aya wants 8-byte aligned input.
    let aligned: Vec<u64> = object
        .chunks(8)
        .map(|c| {
            let mut b = [0u8; 8];
            b[..c.len()].copy_from_slice(c);
            u64::from_ne_bytes(b)
        })
        .collect();
    // SAFETY: a u64 slice viewed as its bytes; the length is the object's.
    let bytes = unsafe { std::slice::from_raw_parts(aligned.as_ptr().cast::<u8>(), object.len()) };
    let mut ebpf = EbpfLoader::new()
        .load(bytes)
        .context("loading the object (as root?)")?;
    let program: &mut RawTracePoint = ebpf
        .program_mut("{{crate}}")
        .context("no program {{crate}}")?
        .try_into()?;
    program.load().context("the verifier refused the program")?;
    program.attach("sched_process_exec")?;
    let mut events = RingBuf::try_from(ebpf.map_mut("EVENTS").context("no map EVENTS")?)?;
    println!("{:>8} {:>8} {:>6}  COMM", "PID", "PPID", "UID");
    let start = Instant::now();
    while seconds.is_none_or(|s| start.elapsed() < Duration::from_secs(s)) {
        while let Some(item) = events.next() {
            if item.len() < std::mem::size_of::<Event>() {
                continue;
            }
            // SAFETY: the item holds an Event written by the BPF program.
            let e: Event = unsafe { std::ptr::read_unaligned(item.as_ptr().cast()) };
            println!(
                "{:>8} {:>8} {:>6}  {}",
                e.pid,
                e.ppid,
                e.uid,
                String::from_utf8_lossy(e.comm())
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}
