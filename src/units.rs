//! How numbers read to people: wei as ETH, wei per gas as gwei, counts with thousands
//! separators, byte sizes and durations. One function per unit, used by every front end (the
//! CLI's lines and bars, the TUI's panels), so one amount never reads two ways.
//!
//! Money is exact: wei are integers up to 2^256 and are never converted through `f64`.
//! Owns: formatting only. Must not touch: parsing, I/O, the screen.

use alloy::primitives::U256;
use std::time::Duration;

/// `1,234,567`: thousands separators for counts people read.
pub fn thousands(n: impl Whole) -> String {
    group(&n.wide().to_string())
}

/// An unsigned integer that [`thousands`] can group.
pub trait Whole: Copy {
    fn wide(self) -> u128;
}

macro_rules! whole {
    ($($t:ty),*) => { $(impl Whole for $t { fn wide(self) -> u128 { self as u128 } })* };
}
whole!(u32, u64, u128, usize);

fn group(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Wei as `0.012345 ETH`: six decimals, rounded down, the whole part grouped; a positive
/// amount below a millionth of an ether is `<0.000001 ETH`.
pub fn eth(wei: U256) -> String {
    if wei.is_zero() {
        return "0 ETH".into();
    }
    let unit = U256::from(10u64).pow(U256::from(18u64));
    let whole = wei / unit;
    let micro = (wei % unit) / U256::from(1_000_000_000_000u64);
    if whole.is_zero() && micro.is_zero() {
        return "<0.000001 ETH".into();
    }
    format!("{}.{:06} ETH", group(&whole.to_string()), micro.to::<u64>())
}

/// [`eth`] of a decimal string of wei (as events carry them); anything else is shown as it is,
/// followed by `wei`.
pub fn eth_str(wei: &str) -> String {
    match U256::from_str_radix(wei.trim(), 10) {
        Ok(w) if !wei.trim().is_empty() => eth(w),
        _ => format!("{} wei", wei.trim()),
    }
}

/// Wei per gas as `1.875 gwei` (up to three decimals, rounded down, trailing zeros dropped),
/// or in wei below a millionth of a gwei.
pub fn gwei(wei: u128) -> String {
    if wei < 1_000_000 {
        return format!("{wei} wei");
    }
    let whole = wei / 1_000_000_000;
    let milli = format!("{:03}", (wei % 1_000_000_000) / 1_000_000);
    let milli = milli.trim_end_matches('0');
    if milli.is_empty() {
        format!("{} gwei", thousands(whole))
    } else {
        format!("{}.{milli} gwei", thousands(whole))
    }
}

/// `1.2M`, `34.5k`, `999`: gas and sizes in tight columns (one decimal, rounded).
pub fn short(n: impl Whole) -> String {
    let n = n.wide();
    let f = n as f64;
    if n >= 1_000_000_000 {
        format!("{:.1}G", f / 1e9)
    } else if n >= 1_000_000 {
        format!("{:.1}M", f / 1e6)
    } else if n >= 10_000 {
        format!("{:.1}k", f / 1e3)
    } else {
        n.to_string()
    }
}

/// `512 B`, `57.6 KiB`, `4.3 MiB`: sizes of files, chunks and transfers (binary units, one
/// decimal).
pub fn bytes(n: impl Whole) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    let n = n.wide();
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// `0.3s` (under a second), `42s`, `3m 07s`, `1h 02m`.
pub fn duration(d: Duration) -> String {
    seconds(d.as_secs_f64())
}

/// [`duration`] of a number of seconds; anything not finite or not positive is `0s`.
pub fn seconds(s: f64) -> String {
    if s.is_finite() && s > 0.0 && s < 0.95 {
        return format!("{s:.1}s");
    }
    let s = if s.is_finite() && s > 0.0 {
        s.round() as u64
    } else {
        0
    };
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m {:02}s", s / 60, s % 60)
    } else {
        format!("{}h {:02}m", s / 3600, (s % 3600) / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_grouped() {
        assert_eq!(thousands(0u64), "0");
        assert_eq!(thousands(999u64), "999");
        assert_eq!(thousands(1000u64), "1,000");
        assert_eq!(thousands(61_640_242u64), "61,640,242");
        assert_eq!(
            thousands(u128::MAX),
            "340,282,366,920,938,463,463,374,607,431,768,211,455"
        );
    }

    #[test]
    fn wei_reads_as_eth_exactly() {
        let w = |s: &str| U256::from_str_radix(s, 10).unwrap();
        assert_eq!(eth(w("0")), "0 ETH");
        assert_eq!(eth(w("1")), "<0.000001 ETH");
        assert_eq!(eth(w("1000000000000000000")), "1.000000 ETH");
        assert_eq!(eth(w("12345678901234567")), "0.012345 ETH");
        assert_eq!(eth(w("1234000000000000000000")), "1,234.000000 ETH");
        // Beyond f64's 53 bits: still exact.
        assert_eq!(
            eth(w("9007199254740993000000000001")),
            "9,007,199,254.740993 ETH"
        );
        assert_eq!(eth(U256::MAX).len(), "115,792,089,237,316,195,423,570,985,008,687,907,853,269,984,665,640,564,039,457.584007 ETH".len());
        assert_eq!(eth_str("1000000000000000"), "0.001000 ETH");
        assert_eq!(eth_str("0x10"), "0x10 wei");
        assert_eq!(eth_str(""), " wei");
    }

    #[test]
    fn fees_read_as_gwei() {
        assert_eq!(gwei(999_999), "999999 wei");
        assert_eq!(gwei(1_000_000_000), "1 gwei");
        assert_eq!(gwei(1_875_000_000), "1.875 gwei");
        assert_eq!(gwei(1_500_000_000), "1.5 gwei");
        assert_eq!(gwei(1_000_000), "0.001 gwei");
        assert_eq!(gwei(4_000_000_000_000), "4,000 gwei");
    }

    #[test]
    fn sizes_and_short_counts() {
        assert_eq!(bytes(512u64), "512 B");
        assert_eq!(bytes(59_026u64), "57.6 KiB");
        assert_eq!(bytes(4_500_000usize), "4.3 MiB");
        assert_eq!(short(999u64), "999");
        assert_eq!(short(109_312_000usize), "109.3M");
        assert_eq!(short(12_345u64), "12.3k");
        assert_eq!(short(17_213_070u64), "17.2M");
        assert_eq!(short(1_200_000_000u64), "1.2G");
    }

    #[test]
    fn durations() {
        assert_eq!(seconds(4.4), "4s");
        assert_eq!(seconds(0.28), "0.3s");
        assert_eq!(seconds(0.0), "0s");
        assert_eq!(seconds(187.0), "3m 07s");
        assert_eq!(seconds(3720.0), "1h 02m");
        assert_eq!(seconds(f64::NAN), "0s");
        assert_eq!(duration(Duration::from_millis(187_400)), "3m 07s");
    }
}
