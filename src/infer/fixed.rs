//! The fixed-point arithmetic of on-chain inference, operation for operation.
//!
//! Every value is a signed Q32.32 number held in an `i128` (the chain holds it in an int256;
//! values never come near either bound in practice, and every operation here checks). The
//! rules, which the Solidity layers mirror exactly:
//!
//! - products are exact, then shifted right by 32 with an **arithmetic shift** (rounds toward
//!   −∞, EVM `SAR`); a dot product shifts **once**, after summing the exact products and the
//!   bias (`bias << 32`);
//! - divisions **truncate toward zero** (EVM `SDIV`);
//! - `exp`, `sigmoid`, `tanh`, `softmax` and `sqrt` are defined below with their domains and
//!   error bounds. e^x (x ≤ 0, the only exponential; sigmoid, tanh, softmax and the recurrent
//!   gates go through it) is 2^{−k} · T[j] · p(g): k the integer part of −x·log2(e), T a
//!   256-entry table of 2^{−j/256} (built from four 4-entry tables, see [`EXP_TABLE`]) and p a
//!   cubic for the last 1/256 — within 1.1 ulp (1.1 · 2^-32) of e^x, measured under 1.0 ulp.
//! - `rsqrt` (normalization, attention's 1/√key_dim) is the exact floor of 1/√x: an integer
//!   division then an integer square root, worst error below 1 ulp, rounding down.

/// 1.0 in Q32.32.
pub const ONE: i128 = 1 << 32;
/// Keras 3's `leaky_relu` slope 0.2 in Q32.32, truncated like every config float:
/// ⌊0.2 · 2^32⌋ (the contracts' `Fixed.LEAKY_RELU_SLOPE`).
pub const LEAKY_RELU_SLOPE: i128 = 858_993_459;
/// log2(e) · 2^64, rounded to nearest (65 bits): the range reduction of [`exp_neg`].
pub const LOG2E_Q64: u128 = 26_613_026_195_688_644_983;
/// ln2^n / n! · 2^62, rounded to nearest, n = 0..=3: e^{−z·ln2} = Σ (−1)^n c_n z^n for
/// z ∈ [0, 1/256); the first omitted term is below 2.2·10^-12 (0.01 ulp).
pub const EXP_COEFFS: [u128; 4] = [
    4_611_686_018_427_387_904,
    3_196_577_161_300_663_915,
    1_107_849_223_398_934_356,
    255_967_521_894_832_113,
];
/// 2^{−i/4^{k+1}} · 2^62, rounded to nearest, i = 0..=3 (row k = 0..=3; entry 0 is exactly
/// 2^62): the four base-4 digits of [`EXP_TABLE`]'s index.
pub const EXP_STEPS: [[u128; 4]; 4] = [
    [
        4_611_686_018_427_387_904,
        3_877_950_241_171_266_237,
        3_260_954_456_333_195_553,
        2_742_124_912_636_209_756,
    ],
    [
        4_611_686_018_427_387_904,
        4_416_165_660_797_809_419,
        4_228_934_724_888_366_668,
        4_049_641_766_413_219_908,
    ],
    [
        4_611_686_018_427_387_904,
        4_562_008_997_483_360_349,
        4_512_867_096_753_504_463,
        4_464_254_551_929_933_550,
    ],
    [
        4_611_686_018_427_387_904,
        4_599_216_278_082_138_665,
        4_586_780_255_215_411_731,
        4_574_377_858_657_036_237,
    ],
];
/// T[j] ≈ 2^{−j/256} · 2^62, j = 0..=255: with j = j₃j₂j₁j₀ in base 4, the product
/// `EXP_STEPS[0][j₃] · EXP_STEPS[1][j₂] · EXP_STEPS[2][j₁] · EXP_STEPS[3][j₀]`, each product
/// shifted right by 62 (truncated) before the next; within 3 units of 2^{−j/256} · 2^62. The
/// contract writes this table, precomputed, to memory once per activation or recurrent forward
/// pass (`Fixed.expTable`; a test checks its words against Fixed.sol).
pub const EXP_TABLE: [u128; 256] = exp_table();

const fn exp_table() -> [u128; 256] {
    let mut t = [0u128; 256];
    let mut j = 0;
    while j < 256 {
        let mut p = (EXP_STEPS[0][j >> 6] * EXP_STEPS[1][(j >> 4) & 3]) >> 62;
        p = (p * EXP_STEPS[2][(j >> 2) & 3]) >> 62;
        t[j] = (p * EXP_STEPS[3][j & 3]) >> 62;
        j += 1;
    }
    t
}
/// Arguments beyond −64 give 0 anyway; clamping there keeps every product below 2^128.
const EXP_CLAMP: i128 = 64 << 32;

/// Where an operation left the representable range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("fixed-point overflow in {0}")]
pub struct Overflow(pub &'static str);

/// `(a · b) >> 32`, rounding toward −∞.
#[inline]
pub fn mul(a: i128, b: i128) -> Result<i128, Overflow> {
    a.checked_mul(b)
        .map(|p| p >> 32)
        .ok_or(Overflow("a product"))
}

/// `(a << 32) / b`, truncating toward zero.
#[inline]
pub fn div(a: i128, b: i128) -> Result<i128, Overflow> {
    if b == 0 {
        return Err(Overflow("a division by zero"));
    }
    a.checked_mul(ONE)
        .map(|n| n / b)
        .ok_or(Overflow("a division"))
}

/// e^x for x ≤ 0 (every caller passes a non-positive argument: softmax subtracts the maximum,
/// sigmoid uses e^{-|x|}); positive x is clamped to 0.
///
/// With a = min(−x, 64) and t = a · log2(e) in Q96 (`a · LOG2E_Q64`, exact): k = ⌊t⌋,
/// j = ⌊256·frac(t)⌋ and g = frac(t) − j/256 ∈ [0, 1/256), truncated to Q62. Then
/// e^x = 2^{−t} = 2^{−k} · 2^{−j/256} · e^{−g·ln2}: the last factor by its Taylor series to the
/// cube in Horner form, p ← c_n − ((p · g) >> 62) (every p stays positive), the middle one
/// from [`EXP_TABLE`], and the result is (table · p) >> (92 + k) (0 when that shift is 128 or
/// more). Within 1.1 ulp (1.1 · 2^-32) of e^x (the final floor, plus under 0.02 ulp from the
/// series, the table and the roundings), exactly ONE at 0, never negative or above ONE; 0 once
/// e^x is below 2^-32 (x below about −22.2).
pub fn exp_neg(x: i128) -> i128 {
    debug_assert!(x <= 0);
    let a = (-x.min(0)).min(EXP_CLAMP) as u128;
    let t = a * LOG2E_Q64;
    let k = (t >> 96) as u32;
    let j = ((t >> 88) & 0xff) as usize;
    let g = (t >> 34) & ((1 << 54) - 1);
    let mut p = EXP_COEFFS[3];
    for c in EXP_COEFFS[..3].iter().rev() {
        p = c - ((p * g) >> 62);
    }
    let shift = 92 + k;
    if shift >= 128 {
        0
    } else {
        ((EXP_TABLE[j] * p) >> shift) as i128
    }
}

/// σ(x) = 1 / (1 + e^{-x}): with e = e^{-|x|}, s = (1 << 64) / (1 + e) truncated, and
/// σ(x) = s for x ≥ 0, 1 − s for x < 0 (so σ(−x) = 1 − σ(x) exactly).
pub fn sigmoid(x: i128) -> i128 {
    let e = exp_neg(-x.abs());
    let s = (ONE * ONE) / (ONE + e);
    if x >= 0 { s } else { ONE - s }
}

/// tanh(x) = 2σ(2x) − 1.
pub fn tanh(x: i128) -> Result<i128, Overflow> {
    let two_x = x.checked_mul(2).ok_or(Overflow("tanh"))?;
    Ok(2 * sigmoid(two_x) - ONE)
}

/// softmax over `v` in place: m = max, e_i = e^{v_i − m}, S = Σ e_i (≥ 1), y_i = (e_i << 32) / S.
pub fn softmax(v: &mut [i128]) -> Result<(), Overflow> {
    let Some(&m) = v.iter().max() else {
        return Ok(());
    };
    let mut sum: i128 = 0;
    for x in v.iter_mut() {
        *x = exp_neg(*x - m);
        sum = sum.checked_add(*x).ok_or(Overflow("softmax"))?;
    }
    for x in v.iter_mut() {
        *x = div(*x, sum)?;
    }
    Ok(())
}

/// √x in Q32.32 for x ≥ 0: ⌊√(x << 32)⌋ (an integer square root, exact floor).
pub fn sqrt(x: i128) -> Result<i128, Overflow> {
    if x < 0 {
        return Err(Overflow("a square root of a negative number"));
    }
    let n = (x as u128)
        .checked_mul(ONE as u128)
        .ok_or(Overflow("a square root"))?;
    Ok(isqrt(n) as i128)
}

/// 1/√x in Q32.32 for x > 0: ⌊√(2^96 / x)⌋, the exact floor of the real 1/√x (x read as
/// x / 2^32): the quotient 2^96 / x is floored first, and ⌊√⌊y⌋⌋ = ⌊√y⌋ for every real y ≥ 0, so
/// the only rounding is the final floor — worst error below 1 ulp (2^-32), always downward,
/// and the same integer on chain (`Fixed.rsqrt`). Normalization layers divide by the standard
/// deviation this way (one multiplication per value instead of a division), and attention
/// scales its queries by rsqrt(key_dim). x ≤ 0 is outside the domain.
pub fn rsqrt(x: i128) -> Result<i128, Overflow> {
    if x <= 0 {
        return Err(Overflow("a reciprocal square root of a number ≤ 0"));
    }
    Ok(isqrt((1u128 << 96) / x as u128) as i128)
}

/// ⌊√n⌋ by Newton's iteration from above.
pub fn isqrt(n: u128) -> u128 {
    if n < 2 {
        return n;
    }
    let bits = 128 - n.leading_zeros();
    let mut x: u128 = 1 << bits.div_ceil(2);
    loop {
        let y = (x + n / x) >> 1;
        if y >= x {
            return x;
        }
        x = y;
    }
}

/// Keras's piecewise-linear `relu`: `min(x, max)` for `x > threshold` (no cap when `max` is
/// `None`), else `slope · (x − threshold)` as one product (shifted right 32, rounding toward
/// −∞). Exact up to that one rounding (< 1 ulp); the ReLU contract and `Fixed.activate` do
/// the same operations.
pub fn relu(x: i128, max: Option<i128>, slope: i128, threshold: i128) -> Result<i128, Overflow> {
    if x > threshold {
        Ok(max.map_or(x, |m| x.min(m)))
    } else {
        mul(slope, x - threshold)
    }
}

/// Q32.32 of a float, truncated toward zero (the bundle's conversion).
pub fn from_f64(x: f64) -> Option<i128> {
    let v = (x * 4_294_967_296.0).trunc();
    if v.is_finite() && v.abs() < 1.7e38 {
        Some(v as i128)
    } else {
        None
    }
}

pub fn to_f64(v: i128) -> f64 {
    v as f64 / 4_294_967_296.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relu_is_keras_piecewise_linear_with_one_floor_rounding() {
        let six = Some(6 * ONE);
        assert_eq!(relu(7 * ONE, six, 0, 0), Ok(6 * ONE));
        assert_eq!(relu(-ONE, six, 0, 0), Ok(0));
        assert_eq!(relu(ONE / 2, six, 0, 0), Ok(ONE / 2));
        // At the threshold itself the slope applies (Keras: x > threshold).
        assert_eq!(relu(ONE, None, ONE / 4, ONE), Ok(0));
        assert_eq!(relu(0, None, ONE / 4, ONE), Ok(-ONE / 4));
        // −1 ulp · 0.2 rounds toward −∞, as SAR does on chain.
        assert_eq!(relu(-1, None, LEAKY_RELU_SLOPE, 0), Ok(-1));
        assert_eq!(LEAKY_RELU_SLOPE, (0.2f64 * 4_294_967_296.0) as i128);
    }

    fn q(x: f64) -> i128 {
        from_f64(x).unwrap()
    }

    #[test]
    fn exp_is_within_its_bound() {
        let mut worst = 0.0f64;
        for i in 0..4000 {
            let x = -(i as f64) * 0.01;
            let got = to_f64(exp_neg(q(x)));
            let err = (got - x.exp()).abs();
            worst = worst.max(err);
        }
        assert!(worst < 1.0 / 4_294_967_296.0, "worst {worst}");
        assert_eq!(exp_neg(0), ONE);
        assert_eq!(exp_neg(-1), ONE - 1);
        assert_eq!(exp_neg(-100 * ONE), 0);
        assert_eq!(exp_neg(i128::MIN / 2), 0);
        // Every argument on a fine grid, and both sides of each table and power-of-two step.
        let mut x: i128 = 0;
        while x > -24 * ONE {
            for d in [-1, 0, 1] {
                let v = (x + d).min(0);
                let want = (v as f64 / 4_294_967_296.0).exp();
                let got = to_f64(exp_neg(v));
                worst = worst.max((got - want).abs());
                assert!((0..=ONE).contains(&exp_neg(v)));
            }
            x -= 11_629_080; // ≈ ln2 / 256 in Q32.32: each table entry
        }
        eprintln!("exp_neg: worst error {} ulp", worst * 4_294_967_296.0);
        assert!(worst < 1.1 / 4_294_967_296.0, "worst {worst}");
    }

    #[test]
    fn exp_table_is_the_contracts_and_near_its_powers_of_two() {
        for (j, &t) in EXP_TABLE.iter().enumerate() {
            let want = (-(j as f64) / 256.0).exp2() * 2f64.powi(62);
            // f64 holds 53 bits: the entries are checked to 2^-50 here and to 3 units of Q62
            // when the table was generated (50-digit arithmetic).
            assert!((t as f64 - want).abs() / want < 1e-15, "entry {j}");
        }
        // The words `expTable` writes: four big-endian 64-bit entries each, in order.
        let sol = include_str!("../../contracts/lib/Fixed.sol");
        let body =
            &sol[sol.find("// EXP_TABLE begin").unwrap()..sol.find("// EXP_TABLE end").unwrap()];
        let words: Vec<&str> = body
            .split("0x")
            .skip(1)
            .map(|w| &w[..w.find(')').unwrap()])
            .filter(|w| w.len() == 64)
            .collect();
        assert_eq!(words.len(), 64);
        for (w, hex) in words.iter().enumerate() {
            for i in 0..4 {
                let entry = u128::from_str_radix(&hex[16 * i..16 * i + 16], 16).unwrap();
                assert_eq!(entry, EXP_TABLE[4 * w + i], "table entry {}", 4 * w + i);
            }
        }
    }

    #[test]
    fn sigmoid_tanh_softmax_sqrt() {
        for x in [-12.0, -3.5, -0.1, 0.0, 0.1, 2.0, 9.0] {
            assert!(
                (to_f64(sigmoid(q(x))) - 1.0 / (1.0 + (-x).exp())).abs() < 1e-8,
                "sigmoid {x}"
            );
            assert!(
                (to_f64(tanh(q(x)).unwrap()) - x.tanh()).abs() < 1e-8,
                "tanh {x}"
            );
            if x != 0.0 {
                assert_eq!(sigmoid(q(x)) + sigmoid(-q(x)), ONE, "symmetry at {x}");
            }
        }
        let mut v = vec![q(1.0), q(2.0), q(3.0)];
        softmax(&mut v).unwrap();
        let want = [0.09003057, 0.24472847, 0.66524096];
        for (a, b) in v.iter().zip(want) {
            assert!((to_f64(*a) - b).abs() < 1e-7);
        }
        assert_eq!(sqrt(4 * ONE).unwrap(), 2 * ONE);
        assert!((to_f64(sqrt(q(2.0)).unwrap()) - 2f64.sqrt()).abs() < 1e-9);
        assert_eq!(isqrt(u128::MAX), u64::MAX as u128);
    }

    #[test]
    fn rsqrt_is_the_exact_floor() {
        assert_eq!(rsqrt(ONE).unwrap(), ONE);
        assert_eq!(rsqrt(4 * ONE).unwrap(), ONE / 2);
        assert_eq!(rsqrt(ONE / 4).unwrap(), 2 * ONE);
        assert!(rsqrt(0).is_err() && rsqrt(-1).is_err());
        // ⌊√(2^96/x)⌋: y² ≤ 2^96/x < (y+1)², checked in integers.
        for x in [1i128, 3, 4294, 1 << 20, 12_345_678_901, 8 * ONE, 1 << 80] {
            let y = rsqrt(x).unwrap() as u128;
            let x = x as u128;
            assert!(
                y * y * x <= 1 << 96 && (y + 1) * (y + 1) * x > 1 << 96,
                "x {x}"
            );
        }
        assert_eq!(rsqrt(1).unwrap(), 1 << 48);
    }

    #[test]
    fn rounding_is_floor_for_products_and_trunc_for_divisions() {
        assert_eq!(mul(-1, 1), Ok(-1)); // -2^-64 floors to -2^-32
        assert_eq!(mul(1, 1), Ok(0));
        assert_eq!(div(-1, 3 * ONE).unwrap(), 0); // truncates toward zero
    }
}
