//! {{name}}: loads the BPF program (embedded at build time) with libbpf-rs,
//! which applies its CO-RE records for the running kernel, attaches it to
//! `sched_process_exec` and prints one line per exec from its ring buffer.
//!
//! `--seconds N`: stop after N seconds (default: run until Ctrl-C).

use std::time::{Duration, Instant};

use anyhow::Context;
use libbpf_rs::{MapCore, ObjectBuilder, RingBufferBuilder};
use {{crate}}_common::Event;

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
    let object = ObjectBuilder::default()
        .open_memory(OBJECT)
        .context("opening the object")?
        .load()
        .context("loading the object (as root?)")?;
    let program = object
        .progs_mut()
        .find(|p| p.name() == "{{crate}}")
        .context("no program {{crate}}")?;
    let _link = program
        .attach_raw_tracepoint("sched_process_exec")
        .context("attaching")?;
    let map = object
        .maps()
        .find(|m| m.name() == "EVENTS")
        .context("no map EVENTS")?;
    let mut builder = RingBufferBuilder::new();
    builder.add(&map, |data: &[u8]| {
        if data.len() >= std::mem::size_of::<Event>() {
            // SAFETY: the record holds an Event written by the BPF program.
            let e: Event = unsafe { std::ptr::read_unaligned(data.as_ptr().cast()) };
            println!(
                "{:>8} {:>8} {:>6}  {}",
                e.pid,
                e.ppid,
                e.uid,
                String::from_utf8_lossy(e.comm())
            );
        }
        0
    })?;
    let ring = builder.build()?;
    println!("{:>8} {:>8} {:>6}  COMM", "PID", "PPID", "UID");
    let start = Instant::now();
    while seconds.is_none_or(|s| start.elapsed() < Duration::from_secs(s)) {
        ring.poll(Duration::from_millis(100))?;
    }
    Ok(())
}
