//! Kernel specs (`6.1`, `6.12-cloud`, `6.1.0-57-amd64`, a vmlinuz path) and
//! the cache of Debian kernel packages they resolve to: fetched with
//! `apt-get download`, unpacked with `dpkg-deb -x`, never installed.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Error;

/// A kernel ready to boot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kernel {
    /// The kernel release (`6.1.0-57-amd64`) or the path given.
    pub name: String,
    /// The kernel image.
    pub vmlinuz: PathBuf,
}

/// A Debian kernel package version, split so that versions sort numerically.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Version {
    major: u32,
    minor: u32,
    flavor: String,
    patch: u32,
    abi: u32,
    release: String,
}

impl Version {
    /// Parses `6.1.0-57-amd64`, `6.12.118+deb12-cloud-amd64`, `6.1.0-57-rt-amd64`.
    fn parse(release: &str) -> Option<Version> {
        let rest = release.strip_suffix("-amd64")?;
        let (rest, flavor) = match rest.rsplit_once('-') {
            Some((r, f)) if f == "cloud" || f == "rt" => (r, f.to_string()),
            _ => (rest, String::new()),
        };
        // 6.1.0-57 or 6.12.118+deb12
        let (numbers, abi) = match rest.split_once('-') {
            Some((n, abi)) => (n, abi.parse().ok()?),
            None => (rest.split_once('+').map_or(rest, |(n, _)| n), 0),
        };
        let mut parts = numbers.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        let patch = parts.next()?.parse().ok()?;
        if parts.next().is_some() {
            return None;
        }
        Some(Version {
            major,
            minor,
            flavor,
            patch,
            abi,
            release: release.to_string(),
        })
    }

    fn alias(&self) -> String {
        if self.flavor.is_empty() {
            format!("{}.{}", self.major, self.minor)
        } else {
            format!("{}.{}-{}", self.major, self.minor, self.flavor)
        }
    }
}

/// Where kernels are kept: `$XDG_CACHE_HOME/btfkit/kernels`, else `~/.cache/btfkit/kernels`.
pub fn cache_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("/root"))
                .join(".cache")
        });
    base.join("btfkit/kernels")
}

/// The kernel releases the package archive knows (from `apt-cache`, which
/// reads the local package lists and needs no network), newest last.
pub fn archive_versions() -> Vec<String> {
    let out = Command::new("apt-cache")
        .args(["search", "--names-only", "^linux-image-[0-9]"])
        .output();
    let Ok(out) = out else { return Vec::new() };
    let mut v: Vec<Version> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next()?.strip_prefix("linux-image-"))
        .filter_map(Version::parse)
        .collect();
    v.sort();
    v.into_iter().map(|v| v.release).collect()
}

/// The kernel releases already in the cache, newest last.
pub fn cached_versions() -> Vec<String> {
    let mut v: Vec<Version> = std::fs::read_dir(cache_dir())
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter_map(|e| Version::parse(&e.file_name().to_string_lossy()))
                .filter(|v| cached_image(&v.release).is_some())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v.into_iter().map(|v| v.release).collect()
}

fn cached_image(release: &str) -> Option<PathBuf> {
    let p = cache_dir()
        .join(release)
        .join("boot")
        .join(format!("vmlinuz-{release}"));
    p.is_file().then_some(p)
}

/// The versions closest to a spec that names none: same series and flavour first.
fn nearest(spec: &str, known: &[String]) -> Vec<String> {
    let series: String = spec
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let series = series.split('.').take(2).collect::<Vec<_>>().join(".");
    let flavor = ["cloud", "rt"]
        .into_iter()
        .find(|f| spec.contains(&format!("-{f}")))
        .unwrap_or("");
    let mut scored: Vec<(usize, &String)> = known
        .iter()
        .map(|k| {
            let common = spec
                .chars()
                .zip(k.chars())
                .take_while(|(a, b)| a == b)
                .count();
            let v = Version::parse(k);
            let same_series = v
                .as_ref()
                .is_some_and(|v| format!("{}.{}", v.major, v.minor) == series);
            let same_flavor = v.as_ref().is_some_and(|v| v.flavor == flavor);
            (
                common + 1000 * usize::from(same_series) + 100 * usize::from(same_flavor),
                k,
            )
        })
        .collect();
    // Best score first; among equals the newest (known is sorted oldest first).
    scored.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| b.1.cmp(a.1)));
    // The archive and the cache both list a cached kernel.
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(5).map(|(_, k)| k.clone()).collect()
}

/// Turns a spec into a bootable kernel, downloading it into the cache if needed.
pub fn resolve(spec: &str) -> Result<Kernel, Error> {
    let path = Path::new(spec);
    if spec.contains('/') || path.is_file() {
        if !path.is_file() {
            return Err(Error::Spec(format!("{spec}: no such kernel image")));
        }
        return Ok(Kernel {
            name: spec.to_string(),
            vmlinuz: path.to_path_buf(),
        });
    }
    let archive = archive_versions();
    let cached = cached_versions();
    let release = if let Some(v) = Version::parse(spec) {
        v.release
    } else {
        // An alias: the newest release of that series and flavour.
        let pick = |list: &[String]| {
            list.iter()
                .rev()
                .find(|r| Version::parse(r).is_some_and(|v| v.alias() == spec))
                .cloned()
        };
        match pick(&archive).or_else(|| pick(&cached)) {
            Some(r) => r,
            None => {
                let mut known = archive.clone();
                known.extend(cached.iter().cloned());
                return Err(Error::Spec(format!(
                    "{spec}: no kernel package matches (aliases are MAJOR.MINOR[-cloud|-rt]); nearest: {}",
                    list_or_none(&nearest(spec, &known))
                )));
            }
        }
    };
    if let Some(vmlinuz) = cached_image(&release) {
        return Ok(Kernel {
            name: release,
            vmlinuz,
        });
    }
    if !archive.contains(&release) {
        let mut known = archive;
        known.extend(cached);
        return Err(Error::Spec(format!(
            "{release}: no package linux-image-{release} in the archive or the cache; nearest: {}",
            list_or_none(&nearest(&release, &known))
        )));
    }
    fetch(&release)?;
    let vmlinuz = cached_image(&release).ok_or_else(|| {
        Error::Fetch(format!(
            "linux-image-{release} unpacked but has no boot/vmlinuz-{release}"
        ))
    })?;
    Ok(Kernel {
        name: release,
        vmlinuz,
    })
}

fn list_or_none(v: &[String]) -> String {
    if v.is_empty() {
        "(none known: is apt's package list present? run apt-get update)".into()
    } else {
        v.join(", ")
    }
}

/// Downloads and unpacks `linux-image-<release>` into the cache (atomically:
/// a half-done fetch leaves only a temporary folder behind).
fn fetch(release: &str) -> Result<(), Error> {
    let cache = cache_dir();
    let tmp = cache.join(format!(".fetch-{release}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| Error::Io(format!("{}", tmp.display()), e))?;
    let result = (|| {
        let package = format!("linux-image-{release}");
        let out = Command::new("apt-get")
            .args(["download", "-qq", &package])
            .current_dir(&tmp)
            .output()
            .map_err(|e| Error::Io("running apt-get".into(), e))?;
        if !out.status.success() {
            return Err(Error::Fetch(format!(
                "apt-get download {package} failed (no network to the archive? the cache has: {}):\n{}",
                list_or_none(&cached_versions()),
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        let deb = std::fs::read_dir(&tmp)
            .map_err(|e| Error::Io(tmp.display().to_string(), e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.extension().is_some_and(|x| x == "deb"))
            .ok_or_else(|| Error::Fetch(format!("apt-get download {package} left no .deb")))?;
        let root = tmp.join("root");
        let st = Command::new("dpkg-deb")
            .arg("-x")
            .arg(&deb)
            .arg(&root)
            .status()
            .map_err(|e| Error::Io("running dpkg-deb".into(), e))?;
        if !st.success() {
            return Err(Error::Fetch(format!(
                "dpkg-deb -x {} failed",
                deb.display()
            )));
        }
        let dest = cache.join(release);
        std::fs::rename(&root, &dest).map_err(|e| Error::Io(dest.display().to_string(), e))
    })();
    let _ = std::fs::remove_dir_all(&tmp);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_and_sort_numerically() {
        let a = Version::parse("6.1.0-9-amd64").unwrap();
        let b = Version::parse("6.1.0-57-amd64").unwrap();
        assert!(a < b);
        assert_eq!(b.alias(), "6.1");
        let c = Version::parse("6.12.118+deb12-cloud-amd64").unwrap();
        assert_eq!((c.patch, c.flavor.as_str()), (118, "cloud"));
        assert_eq!(c.alias(), "6.12-cloud");
        assert_eq!(
            Version::parse("6.1.0-57-rt-amd64").unwrap().alias(),
            "6.1-rt"
        );
        assert!(Version::parse("6.1").is_none());
        assert!(Version::parse("6.1.0-57-amd64-unsigned").is_none());
    }

    #[test]
    fn nearest_prefers_series_and_flavor() {
        let known: Vec<String> = [
            "6.1.0-47-amd64",
            "6.1.0-57-amd64",
            "6.1.0-57-cloud-amd64",
            "6.12.118+deb12-amd64",
        ]
        .map(String::from)
        .to_vec();
        let n = nearest("6.1.0-99-amd64", &known);
        assert_eq!(n[0], "6.1.0-57-amd64");
        assert_eq!(nearest("6.12-cloud", &known)[0], "6.12.118+deb12-amd64");
    }
}
