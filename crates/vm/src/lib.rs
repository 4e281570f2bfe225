//! Real kernels in QEMU guests: resolve a kernel spec to a cached Debian
//! kernel package ([`resolve`]), boot it with virtme-ng and run a command in
//! it ([`run`], [`run_all`]). Knows nothing of BPF or CO-RE.

mod guest;
mod kernel;

pub use guest::{
    check_host, run, run_all, terminate_all, vng_path, wait_for_interrupt, Options, Outcome,
};
pub use kernel::{archive_versions, cache_dir, cached_versions, resolve, Kernel};

/// What can go wrong finding or booting a kernel.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The spec names no kernel.
    #[error("kernel spec {0}")]
    Spec(String),
    /// The package could not be fetched.
    #[error("fetching a kernel: {0}")]
    Fetch(String),
    /// A host tool is missing.
    #[error("{0}")]
    Missing(String),
    /// An I/O error.
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
}
