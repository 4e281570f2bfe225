//! {{name}}: loads the BPF program (embedded at build time), attaches it to
//! `sched_process_exec` and prints one line per exec from its ring buffer.
//!
//! `--pre-relocated`: btfkit relocates the object for this kernel first
//! (aya then sees no CO-RE records); by default aya applies them.
//! `--seconds N`: stop after N seconds (default: run until Ctrl-C).
//! Kernels without BTF: the BTF tailored at build time for the running
//! release (from `btf/`) is given to aya; `--btf-release R` uses the one for
//! release R even when the kernel has BTF.

use std::time::{Duration, Instant};

use anyhow::Context;
use aya::{maps::RingBuf, programs::RawTracePoint, Btf, EbpfLoader, Endianness};
use {{crate}}_common::Event;

/// The linked object, 8-byte aligned as aya wants it.
static OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/{{name}}-ebpf.bpf.o"));

// `TAILORED_BTF`: `(release, BTF)` pairs the build tailored from `btf/`.
include!(concat!(env!("OUT_DIR"), "/tailored_btf.rs"));

/// The embedded BTF aya should use instead of the kernel's: the one for
/// `--btf-release R` when given, else (only when the kernel has no BTF) the
/// one for the running release; `None` when the kernel's BTF is used.
fn embedded_btf(forced: Option<&str>) -> anyhow::Result<Option<Btf>> {
    let release = match forced {
        Some(r) => r.to_owned(),
        None if std::path::Path::new("/sys/kernel/btf/vmlinux").exists() => return Ok(None),
        None => std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .context("reading the kernel release")?
            .trim()
            .to_owned(),
    };
    let Some((_, bytes)) = TAILORED_BTF.iter().find(|(r, _)| *r == release) else {
        let have: Vec<&str> = TAILORED_BTF.iter().map(|(r, _)| *r).collect();
        anyhow::bail!(
            "no tailored BTF for kernel {release} (embedded: {}); put its BTF in btf/{release}.btf and rebuild",
            if have.is_empty() { "none".to_owned() } else { have.join(", ") }
        );
    };
    eprintln!("using the tailored BTF for {release} ({} bytes, embedded)", bytes.len());
    let btf = Btf::parse(bytes, Endianness::default())
        .with_context(|| format!("parsing the tailored BTF for {release}"))?;
    Ok(Some(btf))
}

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
    let forced = args
        .iter()
        .position(|a| a == "--btf-release")
        .map(|i| args.get(i + 1).context("--btf-release takes a kernel release"))
        .transpose()?;
    let btf = embedded_btf(forced.map(String::as_str))?;
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
    let mut loader = EbpfLoader::new();
    if btf.is_some() {
        loader.btf(btf.as_ref());
    }
    let mut ebpf = loader
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
