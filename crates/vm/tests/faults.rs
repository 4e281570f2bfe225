//! A guest that hangs or panics: ended (by the timeout, or by QEMU on the
//! panic), reported with its console's last lines, and no QEMU, vng or
//! virtiofsd process of it left behind. Boots a real Debian kernel (cached by
//! scripts/setup.sh); fails, never skips, when QEMU or virtme-ng is missing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

const KERNEL: &str = "6.1.0-57-amd64";

fn kernel() -> btfkit_vm::Kernel {
    btfkit_vm::check_host().unwrap_or_else(|e| panic!("this test boots a kernel in QEMU: {e}"));
    btfkit_vm::resolve(KERNEL).unwrap_or_else(|e| {
        panic!("kernel {KERNEL} (cached by scripts/setup.sh) is not available: {e}")
    })
}

fn argv(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

/// Processes whose command line names a console file of this test process
/// (QEMU's does).
fn leftovers() -> Vec<String> {
    let mark = format!("btfkit-vm-console-{}-", std::process::id());
    std::fs::read_dir("/proc")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
                .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
                .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
                .filter(|c| c.contains(&mark))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_hung_and_a_panicking_guest_are_reported_with_their_console() {
    let kernel = kernel();
    let (hang, panic) = std::thread::scope(|s| {
        // Short enough to be cheap; long enough (even on a loaded machine)
        // for QEMU to start and the kernel to print.
        let hang = s.spawn(|| {
            let opts = btfkit_vm::Options {
                timeout: Duration::from_secs(30),
                ..Default::default()
            };
            btfkit_vm::run(&kernel, &argv(&["sleep", "600"]), &opts)
        });
        let panic = s.spawn(|| {
            let opts = btfkit_vm::Options {
                timeout: Duration::from_secs(300),
                ..Default::default()
            };
            let cmd = argv(&["sh", "-c", "echo c > /proc/sysrq-trigger; sleep 600"]);
            btfkit_vm::run(&kernel, &cmd, &opts)
        });
        (hang.join().unwrap(), panic.join().unwrap())
    });

    let hang = hang.expect("the hung guest ran");
    eprintln!(
        "hung guest, console tail:\n{}",
        hang.console_tail.join("\n")
    );
    assert!(hang.timed_out, "not ended by the timeout: {hang:?}");
    assert_eq!(hang.status, None, "{hang:?}");
    assert!(
        !hang.console_tail.is_empty(),
        "no console lines for the hung guest: {hang:?}"
    );
    assert!(
        hang.elapsed < Duration::from_secs(60),
        "the hung guest took {:?} to end",
        hang.elapsed
    );

    let panic = panic.expect("the panicking guest ran");
    eprintln!(
        "panicking guest, console tail:\n{}",
        panic.console_tail.join("\n")
    );
    assert!(
        !panic.timed_out,
        "the panic did not end the guest: {panic:?}"
    );
    assert_eq!(panic.status, None, "{panic:?}");
    assert!(
        panic
            .console_tail
            .iter()
            .any(|l| l.contains("Kernel panic") && l.contains("sysrq")),
        "the console tail does not say why the guest died: {:#?}",
        panic.console_tail
    );

    std::thread::sleep(Duration::from_millis(500));
    let left = leftovers();
    assert!(left.is_empty(), "processes left behind: {left:#?}");
}
