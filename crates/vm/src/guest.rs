//! Running a command in a guest: virtme-ng (`vng`) boots the kernel under
//! QEMU's software emulation with the host's filesystem visible
//! (copy-on-write), runs the command, and powers off; `timeout` bounds each
//! guest and ends the whole process group (vng, qemu, virtiofsd) on a hang.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::{Error, Kernel};

/// How guests are started.
#[derive(Debug, Clone)]
pub struct Options {
    /// Longest a guest may live (boot, command, power-off).
    pub timeout: Duration,
    /// Guest memory (QEMU's `-m`).
    pub memory: String,
    /// Guests run at once by [`run_all`].
    pub jobs: usize,
    /// Host folders the guest may write to (everything else is copy-on-write).
    pub rw_dirs: Vec<PathBuf>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            timeout: Duration::from_secs(120),
            memory: "1G".into(),
            jobs: 2,
            rw_dirs: Vec::new(),
        }
    }
}

/// What one guest did.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The kernel's name.
    pub kernel: String,
    /// The command's exit status in the guest; `None` when the guest did not
    /// report one (hang, panic, boot failure).
    pub status: Option<i32>,
    /// The command's standard output.
    pub stdout: String,
    /// The command's standard error.
    pub stderr: String,
    /// The guest was ended by the timeout.
    pub timed_out: bool,
    /// The last lines of the guest's console (kernel messages), for a guest
    /// that did not finish normally.
    pub console_tail: Vec<String>,
    /// Boot + command + power-off.
    pub elapsed: Duration,
}

impl Outcome {
    /// The command ran and exited 0.
    pub fn success(&self) -> bool {
        self.status == Some(0)
    }
}

/// Numbers the guests of this process (unique console file names).
static GUEST_SEQ: AtomicUsize = AtomicUsize::new(0);

/// QEMU options added to vng's: no default devices (q35's CD-ROM and
/// floppy, whose probing udev pays for in every boot), and a second serial
/// port (I/O port 0x2f8) whose output goes to `console`.
fn qemu_opts(console: &Path) -> String {
    format!(
        "-nodefaults -chardev file,id=btfkitlog,path={} -device isa-serial,chardev=btfkitlog,iobase=0x2f8,irq=3",
        console.display()
    )
}

/// Kernel command line added to vng's (later words win):
/// - the console: vng's serial console (ttyS0) goes to /dev/null and the
///   8250 driver serves one console only, so the second port is an early
///   console kept for the whole run (`keep_bootcon`), at `loglevel=7` (vng
///   asks for `quiet loglevel=1`): the file then holds the boot, the init's
///   steps, oopses and panics;
/// - speed under QEMU's software emulation: no mitigations (a throwaway
///   guest), no clocksource watchdog or timer check, and udev's coldplug not
///   loading the modules of emulated hardware nothing here uses (KVM, AHCI,
///   CD-ROM, watchdogs, PC speaker, mouse, the accelerated crypto and CRC
///   modules, whose self-tests are slow when emulated). `modprobe NAME` in
///   the guest still loads any of them.
const KERNEL_ARGS: &str = "earlycon=uart8250,io,0x2f8,115200 keep_bootcon loglevel=7 \
mitigations=off tsc=reliable no_timer_check \
modprobe.blacklist=kvm_amd,kvm_intel,kvm,irqbypass,ccp,sr_mod,cdrom,sg,ahci,libahci,libata,\
iTCO_wdt,iTCO_vendor_support,intel_pmc_bxt,lpc_ich,i2c_i801,i2c_smbus,pcspkr,psmouse,\
serio_raw,evdev,i6300esb,button,aesni_intel,ghash_clmulni_intel,crc32_pclmul,\
crc32c_intel,crct10dif_pclmul,sha512_ssse3,sha256_ssse3,sha1_ssse3,qemu_fw_cfg,\
powernow_k8,acpi_cpufreq,floppy";

/// Console lines reported for a guest that did not finish.
const TAIL_LINES: usize = 20;

/// Console lines that say why a guest died.
const WHY_MARKS: [&str; 4] = ["Kernel panic", "BUG:", "Oops:", "general protection fault"];

/// Ends what is left of the process group `pgid` (the group of a `timeout`
/// that has exited); returns how many processes were left.
fn end_group(pgid: u32) -> usize {
    let left = group_members(pgid);
    if !left.is_empty() {
        if let Ok(pgid) = libc::pid_t::try_from(pgid) {
            // SAFETY: kill() takes plain integers and touches no memory of
            // ours; the group is the one our `timeout` child led and still
            // has members, so its id cannot have been reused.
            unsafe {
                libc::kill(-pgid, libc::SIGKILL);
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    left.len()
}

/// Process ids whose process group is `pgid` (from /proc/PID/stat).
fn group_members(pgid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| {
                    // pid (comm) state ppid pgrp ...; comm may hold spaces.
                    let rest = &stat[stat.rfind(')')? + 1..];
                    rest.split_whitespace().nth(2)?.parse::<u32>().ok()
                })
                == Some(pgid)
        })
        .collect()
}

/// Process ids of the `timeout` wrappers of running guests (for [`terminate_all`]).
static RUNNING: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// Ends every running guest (for a Ctrl-C handler): `timeout` passes the
/// signal on to its process group (vng, qemu, virtiofsd).
pub fn terminate_all() {
    let pids = RUNNING.lock().map(|v| v.clone()).unwrap_or_default();
    for pid in pids {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            continue;
        };
        // SAFETY: kill() takes plain integers and touches no memory of ours;
        // the pid is a child we spawned and have not yet reaped.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
    }
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_interrupt(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Catches SIGINT and SIGTERM and waits for one (call it on a thread of its
/// own, then [`terminate_all`]); returns true once one came.
pub fn wait_for_interrupt() -> bool {
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe;
    // signal() is given a valid function pointer of the expected type.
    unsafe {
        libc::signal(
            libc::SIGINT,
            on_interrupt as *const () as libc::sighandler_t,
        );
        libc::signal(
            libc::SIGTERM,
            on_interrupt as *const () as libc::sighandler_t,
        );
    }
    loop {
        if INTERRUPTED.load(Ordering::SeqCst) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Where `vng` is: `$BTFKIT_TOOLS/bin/vng` (set up by scripts/setup.sh), else `PATH`.
pub fn vng_path() -> Result<PathBuf, Error> {
    let tools = std::env::var_os("BTFKIT_TOOLS")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share/btfkit")));
    let mut candidates: Vec<PathBuf> = tools
        .iter()
        .flat_map(|t| [t.join("bin/vng"), t.join("venv/bin/vng")])
        .collect();
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|p| p.join("vng")));
    }
    candidates.into_iter().find(|p| p.is_file()).ok_or_else(|| {
        Error::Missing("vng (virtme-ng) is not installed: run scripts/setup.sh".into())
    })
}

/// Checks that what a guest needs is on the host, naming what is missing.
pub fn check_host() -> Result<(), Error> {
    vng_path()?;
    let mut missing = Vec::new();
    for (tool, package) in [
        ("qemu-system-x86_64", "qemu-system-x86"),
        ("busybox", "busybox-static"),
        ("depmod", "kmod"),
        ("udevadm", "udev"),
        ("timeout", "coreutils"),
    ] {
        let found = std::env::var_os("PATH")
            .map(|p| {
                std::env::split_paths(&p)
                    .chain(["/usr/sbin".into(), "/sbin".into(), "/usr/bin".into()])
                    .any(|d| d.join(tool).is_file())
            })
            .unwrap_or(false);
        if !found {
            missing.push(format!("{tool} (Debian package {package})"));
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Error::Missing(format!(
            "not installed: {}; run scripts/setup.sh",
            missing.join(", ")
        )))
    }
}

/// Quotes one word for the guest's shell.
fn shell_quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Boots `kernel`, runs `argv` in it (in the current directory), powers off.
pub fn run(kernel: &Kernel, argv: &[String], opts: &Options) -> Result<Outcome, Error> {
    let vng = vng_path()?;
    let started = Instant::now();
    let script = argv
        .iter()
        .map(|w| shell_quote(w))
        .collect::<Vec<_>>()
        .join(" ");
    // The kernel console goes to a file (console lines for a hang or panic);
    // the command's own output comes back on vng's stdout/stderr. The name
    // is unique per guest (two guests of one kernel may run at once).
    let console = std::env::temp_dir().join(format!(
        "btfkit-vm-console-{}-{}-{}.log",
        std::process::id(),
        GUEST_SEQ.fetch_add(1, Ordering::Relaxed),
        kernel.name.replace('/', "_")
    ));
    let _ = std::fs::remove_file(&console);
    let mut cmd = Command::new("timeout");
    // vng runs `virtme-run` from PATH (its venv's bin folder) and finds
    // virtiofsd there too (the folder of the `vng` link, $BTFKIT_TOOLS/bin).
    let mut dirs: Vec<PathBuf> = [std::fs::canonicalize(&vng).ok(), Some(vng.clone())]
        .into_iter()
        .flatten()
        .filter_map(|p| p.parent().map(PathBuf::from))
        .collect();
    dirs.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    if let Ok(joined) = std::env::join_paths(dirs) {
        cmd.env("PATH", joined);
    }
    cmd.arg("-k")
        .arg("5")
        .arg(format!("{}", opts.timeout.as_secs().max(1)))
        .arg(&vng)
        .arg("--disable-kvm")
        .arg("--run")
        .arg(&kernel.vmlinuz)
        .args(["--cpus", "1", "--memory", &opts.memory]);
    for d in &opts.rw_dirs {
        cmd.arg("--rwdir").arg(d);
    }
    cmd.arg(format!("--qemu-opts={}", qemu_opts(&console)))
        .arg(format!("--append={}", KERNEL_ARGS))
        .arg("--exec")
        .arg(&script)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd
        .spawn()
        .map_err(|e| Error::Io("starting timeout/vng".into(), e))?;
    let pid = child.id();
    if let Ok(mut v) = RUNNING.lock() {
        v.push(pid);
    }
    let out = child.wait_with_output();
    // `timeout` leads the process group of vng, QEMU and virtiofsd; whatever
    // of it outlived `timeout` (a QEMU that ignored SIGTERM) is ended here.
    end_group(pid);
    if let Ok(mut v) = RUNNING.lock() {
        v.retain(|p| *p != pid);
    }
    let out = out.map_err(|e| Error::Io("waiting for vng".into(), e))?;
    let code = out.status.code();
    let timed_out = code == Some(124) || code == Some(137);
    let console_text = std::fs::read_to_string(&console).unwrap_or_default();
    let _ = std::fs::remove_file(&console);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    // vng reports the command's status as its own; it cannot tell a command
    // that exited 255 from a guest that never ran it, so look at the console.
    let panicked = console_text.contains("Kernel panic");
    let status = if timed_out || panicked || code.is_none() {
        None
    } else {
        code
    };
    let console_tail = if status.is_none() {
        let mut lines: Vec<String> = console_text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.trim_end().to_string())
            .collect();
        let keep = lines.len().saturating_sub(TAIL_LINES);
        // The line that says why (a panic's or oops' first line) is kept
        // even when the stack trace after it is longer than the tail.
        let why = lines[..keep]
            .iter()
            .rposition(|l| WHY_MARKS.iter().any(|m| l.contains(m)))
            .map(|i| lines[i].clone());
        lines.drain(..keep);
        if let Some(why) = why {
            lines.insert(0, why);
        }
        lines
    } else {
        Vec::new()
    };
    Ok(Outcome {
        kernel: kernel.name.clone(),
        status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr,
        timed_out,
        console_tail,
        elapsed: started.elapsed(),
    })
}

/// Runs `argv` in every kernel, `opts.jobs` guests at once; results in the
/// order of `kernels`. A guest that fails does not stop the others.
pub fn run_all(kernels: &[Kernel], argv: &[String], opts: &Options) -> Vec<Result<Outcome, Error>> {
    let next = Mutex::new(0usize);
    let results: Mutex<Vec<Option<Result<Outcome, Error>>>> =
        Mutex::new(kernels.iter().map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..opts.jobs.max(1).min(kernels.len().max(1)) {
            s.spawn(|| loop {
                let i = {
                    let Ok(mut n) = next.lock() else { return };
                    let i = *n;
                    *n += 1;
                    i
                };
                let Some(kernel) = kernels.get(i) else { return };
                let r = run(kernel, argv, opts);
                if let Ok(mut v) = results.lock() {
                    v[i] = Some(r);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(Error::Missing("guest thread ended early".into()))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::shell_quote;

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("/bin/true"), "/bin/true");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
