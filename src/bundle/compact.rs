//! The compact on-chain weight format (`INT32_SHIFTED`, contracts/README.md): each tensor's
//! Q32.32 values stored as int32 with a per-tensor power-of-two shift.
//!
//! For a tensor T, `s_T` is the largest `s` in `[0, 32]` such that every value `a` of T gives
//! `a >> (32 - s)` (arithmetic shift, floor) within int32; the stored value is
//! `q = a >> (32 - s_T)` and its Q32.32 value on chain is `q << (32 - s_T)`.

/// The shift of a tensor (32 for an empty tensor).
pub fn shift(values: &[i64]) -> u32 {
    let (lo, hi) = values
        .iter()
        .fold((0i64, 0i64), |(lo, hi), &a| (lo.min(a), hi.max(a)));
    (0..=32u32)
        .rev()
        .find(|&s| {
            let k = 32 - s;
            (lo >> k) >= i64::from(i32::MIN) && (hi >> k) <= i64::from(i32::MAX)
        })
        .unwrap_or(0)
}

/// The int32 stored for `a` under shift `s`.
pub fn encode(a: i64, s: u32) -> i32 {
    (a >> (32 - s)) as i32
}

/// The Q32.32 value the chain computes with for a stored `q` under shift `s`.
pub fn decode(q: i32, s: u32) -> i64 {
    i64::from(q) << (32 - s)
}

/// What a value becomes after a round trip through the compact format.
pub fn round_trip(a: i64, s: u32) -> i64 {
    decode(encode(a, s), s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shift_is_the_largest_that_fits() {
        assert_eq!(shift(&[]), 32);
        assert_eq!(shift(&[0, 1 << 30, -(1 << 31)]), 32); // |x| < 0.5 keeps every bit
        assert_eq!(shift(&[1 << 31]), 31); // 0.5 needs one bit less
        assert_eq!(shift(&[-(1 << 31)]), 32); // -0.5 still fits int32 at s = 32
        assert_eq!(shift(&[3 << 32]), 29); // 3.0: 3 << 29 < 2^31
        assert_eq!(shift(&[i64::MAX]), 0);
        for (a, s) in [(12345678901i64, 28), (-1, 32), (-(1i64 << 40) - 1, 22)] {
            let q = encode(a, s);
            assert_eq!(round_trip(a, s), i64::from(q) << (32 - s));
            assert!(
                round_trip(a, s) <= a && a - round_trip(a, s) < 1i64 << (32 - s),
                "floor for {a}"
            );
        }
    }
}
