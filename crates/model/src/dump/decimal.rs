//! Decimal numbers appended to text without `format!` (the dumps and the
//! bindings generator write millions of them).

/// The decimal digits of `v`, written into `buf`.
pub fn fmt_u64(mut v: u64, buf: &mut [u8; 20]) -> &str {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    std::str::from_utf8(&buf[i..]).unwrap_or("0")
}

/// Appends the decimal digits of `v`.
pub fn push_u64(out: &mut String, v: u64) {
    let mut buf = [0u8; 20];
    out.push_str(fmt_u64(v, &mut buf));
}

/// Appends `v` in decimal, with a `-` when negative.
pub fn push_i64(out: &mut String, v: i64) {
    if v < 0 {
        out.push('-');
    }
    push_u64(out, v.unsigned_abs());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_as_std_formats_them() {
        let mut buf = [0u8; 20];
        for v in [0, 1, 9, 10, 99, 100, 12345, u64::MAX] {
            assert_eq!(fmt_u64(v, &mut buf), v.to_string());
        }
        for v in [i64::MIN, -1, 0, 7, i64::MAX] {
            let mut s = String::new();
            push_i64(&mut s, v);
            assert_eq!(s, v.to_string());
        }
    }
}
