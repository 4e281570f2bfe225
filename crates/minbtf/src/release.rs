//! Picking the tailored BTF for the running kernel: the file whose name is
//! the kernel release (`uname -r`) and whose directory names the machine
//! (`<distro>/<release>/<arch>/<kernel>.btf`, BTFHub's layout; `x86_64` and
//! `arm64` as BTFHub spells them). For tools that embed tailored BTFs and run
//! where the kernel has no `/sys/kernel/btf/vmlinux`.

use std::path::Path;

use crate::tree::kernel_of;

/// BTFHub's name for the machine `uname -m` reports (`aarch64` → `arm64`).
pub fn btfhub_arch(machine: &str) -> &str {
    match machine {
        "aarch64" => "arm64",
        other => other,
    }
}

/// The entry of `paths` (relative paths as [`crate::tree::find_kernels`]
/// lists them) for kernel `release` (`uname -r`) on `machine` (`uname -m`):
/// same release, and an `<arch>` directory that names the machine when the
/// path has one. `None` when no file fits.
pub fn select<'p, P: AsRef<Path>>(paths: &'p [P], release: &str, machine: &str) -> Option<&'p P> {
    let arch = btfhub_arch(machine);
    let fits = |p: &P| {
        let p = p.as_ref();
        kernel_of(p) == Some(release)
            && p.parent()
                .and_then(Path::file_name)
                .and_then(|d| d.to_str())
                .is_none_or(|d| {
                    d == arch || d == machine || !matches!(d, "x86_64" | "arm64" | "aarch64")
                })
    };
    paths.iter().find(|p| fits(p))
}

/// The running kernel's release and machine (`uname -r`, `uname -m`), read
/// from `/proc/sys/kernel/osrelease` and the compile-time architecture.
pub fn running_kernel() -> std::io::Result<(String, &'static str)> {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease")?;
    Ok((release.trim().to_owned(), std::env::consts::ARCH))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_by_release_and_arch() {
        let paths = [
            "ubuntu/20.04/arm64/5.4.0-1010-aws.btf.tar.xz",
            "ubuntu/20.04/x86_64/5.4.0-1010-aws.btf.tar.xz",
            "ubuntu/20.04/x86_64/5.4.0-1011-aws.btf.tar.xz",
            "flat/6.1.0-47-amd64.btf",
        ];
        assert_eq!(
            select(&paths, "5.4.0-1010-aws", "x86_64"),
            Some(&"ubuntu/20.04/x86_64/5.4.0-1010-aws.btf.tar.xz")
        );
        assert_eq!(
            select(&paths, "5.4.0-1010-aws", "aarch64"),
            Some(&"ubuntu/20.04/arm64/5.4.0-1010-aws.btf.tar.xz")
        );
        assert_eq!(
            select(&paths, "6.1.0-47-amd64", "x86_64"),
            Some(&"flat/6.1.0-47-amd64.btf")
        );
        assert_eq!(select(&paths, "5.4.0-1012-aws", "x86_64"), None);
    }
}
