use std::time::{Duration, Instant};

use anyhow::Context;
use aya::{maps::RingBuf, programs::RawTracePoint};
use myapp_common::Event;

fn main() -> anyhow::Result<()> {
    // Step 5 of the guide: the linked object btfkit-build wrote.
    let mut ebpf = aya::Ebpf::load(aya::include_bytes_aligned!(concat!(
        env!("OUT_DIR"),
        "/myapp.bpf.o"
    )))?;
    let program: &mut RawTracePoint = ebpf.program_mut("myapp").context("no program")?.try_into()?;
    program.load()?;
    program.attach("sched_process_exec")?;
    let mut events = RingBuf::try_from(ebpf.map_mut("EVENTS").context("no map")?)?;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(4) {
        while let Some(item) = events.next() {
            if item.len() >= std::mem::size_of::<Event>() {
                // SAFETY: the item holds an Event written by the program.
                let e: Event = unsafe { std::ptr::read_unaligned(item.as_ptr().cast()) };
                let end = e.comm.iter().position(|&b| b == 0).unwrap_or(16);
                println!("{} {} {}", e.pid, e.ppid, String::from_utf8_lossy(&e.comm[..end]));
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}
