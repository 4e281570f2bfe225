//! Tailored files by kernel release.
