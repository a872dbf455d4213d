//! The smooth activation functions beyond eai's, in the arithmetic of [`super::fixed`]:
//! elu, selu, gelu (erf and tanh forms), silu, hard_sigmoid (Keras 3 and tf.keras 2 formulas),
//! hard_silu, softplus, softsign, exponential, mish, log_softmax, and PReLU's product.
//!
//! Every function is built from three primitives, each mirrored constant for constant by
//! `contracts/lib/Activations.sol` (the chain must return exactly what these return):
//!
//! - [`fixed::exp_neg`] (e^x, x ≤ 0; 1.1 ulp) and the sigmoid/tanh built on it;
//! - [`exp`] for any x: e^x = 2^k · e^(x − k·ln2), k = ⌊x / ln2⌋ + 1, so the second factor is
//!   `exp_neg` of an argument in [−ln2, 0); within 2.2 ulp relative plus k · 2^-33 relative (the
//!   rounding of ln2), i.e. below 4·10^-9 relative up to x = 30;
//! - [`ln_ge1`] for y ≥ 1: y = 2^k · m with m ∈ [1, 2), ln m = 2·atanh(s), s = (m − 1)/(m + 1)
//!   ∈ [0, 1/3), the series to s^21 in Q62 (the first omitted term is below 10^-12), then
//!   k·ln2 + ln m in Q62 floored to Q32: within 1 ulp plus the 2^-32 relative lost when y is
//!   shifted down to m (measured 1.8 ulp).
//!
//! Worst errors against f64 on a grid of 4,001 points over [−20, 20], measured by the tests
//! below, as ulp (2^-32) of max(|x|, 1) — the products x·f(x) carry f's error times |x|:
//! elu 1.0, selu 2.6 (the scale's rounding times x), silu 1.5, softsign 1.0, hard_sigmoid 0.8,
//! hard_sigmoid_keras2 1.2, hard_silu 1.7, softplus 1.5, mish 3.7, gelu (tanh form) 1.5;
//! exp 2.3·10^-9 relative on [0, 30]; ln 1.8 ulp on [1, 1000]; log_softmax one ln plus one
//! exp per value (within 3 ulp of each output); gelu (erf) 1.4·10^-8 · max(|x|, 1) on [−8, 8],
//! from Numerical Recipes' `erfcc` (fractional error below 1.2·10^-7 on erfc).
//!
//! Owns: these functions and their constants. Must not touch: layers, the chain, the screen.

use super::fixed::{self, ONE, Overflow, exp_neg, mul};

/// ln 2 · 2^32, rounded to nearest: the range reduction of [`exp`].
pub const LN2_Q32: i128 = 2_977_044_472;
/// ln 2 · 2^62, rounded to nearest: k · ln 2 in [`ln_ge1`].
pub const LN2_Q62: i128 = 3_196_577_161_300_663_915;
/// 2^62 / (2i + 1), rounded to nearest, i = 0..=10: atanh(s)/s = Σ s^{2i} / (2i + 1).
pub const ATANH_COEFFS: [i128; 11] = [
    4_611_686_018_427_387_904,
    1_537_228_672_809_129_301,
    922_337_203_685_477_581,
    658_812_288_346_769_701,
    512_409_557_603_043_100,
    419_244_183_493_398_900,
    354_745_078_340_568_300,
    307_445_734_561_825_860,
    271_275_648_142_787_524,
    242_720_316_759_336_205,
    219_604_096_115_589_900,
];
/// SELU's scale and scale · alpha (Klambauer et al.) in Q32.32, rounded to nearest.
pub const SELU_SCALE: i128 = 4_512_726_379;
pub const SELU_SCALE_ALPHA: i128 = 7_550_979_172;
/// 1/√2, √(2/π) and 0.044715 in Q32.32, rounded to nearest (gelu).
pub const INV_SQRT2: i128 = 3_037_000_500;
pub const SQRT_2_OVER_PI: i128 = 3_426_888_095;
pub const GELU_CUBIC: i128 = 192_049_463;
/// Numerical Recipes' `erfcc` coefficients c0..c9 in Q32.32, rounded to nearest:
/// erfc(z) ≈ t · e^(−z² + c0 + t·(c1 + t·(c2 + … + t·c9))), t = 1 / (1 + z/2), z ≥ 0.
pub const ERFC_COEFFS: [i128; 10] = [
    -5_435_333_641,
    4_295_069_001,
    1_606_712_734,
    415_684_888,
    -800_101_125,
    1_197_729_241,
    -4_875_663_968,
    6_393_126_981,
    -3_531_116_940,
    733_892_959,
];
/// Past this e^x leaves 2^95 (k ≤ 64): the contracts revert there too.
const EXP_MAX_K: i128 = 64;

/// The activation codes of `contracts/lib/Types.sol` (`Activation`), 7 on: eternalize's
/// additions after eai's 0–5 and relu6 (6).
pub const CODES: &[(&str, u8)] = &[
    ("elu", 7),
    ("selu", 8),
    ("gelu", 9),
    ("gelu_approximate", 10),
    ("silu", 11),
    ("hard_silu", 12),
    ("hard_sigmoid", 13),
    ("hard_sigmoid_keras2", 14),
    ("softplus", 15),
    ("softsign", 16),
    ("exponential", 17),
    ("mish", 18),
    ("log_softmax", 19),
];

/// The name the functions above go by, for Keras's aliases (`swish` is `silu`, `hard_swish`
/// is `hard_silu`).
pub fn canonical(name: &str) -> &str {
    match name {
        "swish" => "silu",
        "hard_swish" => "hard_silu",
        other => other,
    }
}

/// The activation code of `name` (an alias resolved), when it is one of these functions.
pub fn code(name: &str) -> Option<u8> {
    let name = canonical(name);
    CODES.iter().find(|(n, _)| *n == name).map(|(_, c)| *c)
}

/// e^x for any x (see the module docs); `Overflow` past x ≈ 44.
pub fn exp(x: i128) -> Result<i128, Overflow> {
    if x <= 0 {
        return Ok(exp_neg(x));
    }
    let k = x / LN2_Q32 + 1;
    if k > EXP_MAX_K {
        return Err(Overflow("exponential"));
    }
    Ok(exp_neg(x - k * LN2_Q32) << k)
}

/// ln y for y ≥ ONE (see the module docs); `Overflow` below ONE.
pub fn ln_ge1(y: i128) -> Result<i128, Overflow> {
    if y < ONE {
        return Err(Overflow("a logarithm below 1"));
    }
    let (mut m, mut k) = (y, 0i128);
    while m >= 2 * ONE {
        m >>= 1;
        k += 1;
    }
    let s = ((m - ONE) << 62) / (m + ONE);
    let z = (s * s) >> 62;
    let mut p = ATANH_COEFFS[10];
    for c in ATANH_COEFFS[..10].iter().rev() {
        p = c + ((p * z) >> 62);
    }
    // k·ln2 + 2·s·p in Q62, floored to Q32.
    Ok((k * LN2_Q62 + 2 * ((s * p) >> 62)) >> 30)
}

/// Keras's `elu`: x for x > 0, else α · (e^x − 1).
pub fn elu(x: i128, alpha: i128) -> Result<i128, Overflow> {
    if x > 0 {
        Ok(x)
    } else {
        mul(alpha, exp_neg(x) - ONE)
    }
}

/// `selu`: scale · x for x > 0, else scale·α · (e^x − 1) (one product each).
pub fn selu(x: i128) -> Result<i128, Overflow> {
    if x > 0 {
        mul(SELU_SCALE, x)
    } else {
        mul(SELU_SCALE_ALPHA, exp_neg(x) - ONE)
    }
}

/// `gelu(approximate=False)`: x · Φ(x), Φ(x) = 1 − erfc(x/√2)/2 for x ≥ 0, erfc(|x|/√2)/2 below.
pub fn gelu(x: i128) -> Result<i128, Overflow> {
    let z = mul(x.abs(), INV_SQRT2)?;
    let t = fixed::div(ONE, ONE + (z >> 1))?;
    let mut p = ERFC_COEFFS[9];
    for c in ERFC_COEFFS[..9].iter().rev() {
        p = c + mul(t, p)?;
    }
    let e = exp_neg((p - mul(z, z)?).min(0));
    let q = mul(t, e)? >> 1;
    mul(x, if x >= 0 { ONE - q } else { q })
}

/// `gelu(approximate=True)`: ½x·(1 + tanh(u)) = x · σ(2u), u = √(2/π)·(x + 0.044715·x³).
pub fn gelu_approximate(x: i128) -> Result<i128, Overflow> {
    let x3 = mul(mul(x, x)?, x)?;
    let u = mul(SQRT_2_OVER_PI, x + mul(GELU_CUBIC, x3)?)?;
    mul(x, fixed::sigmoid(2 * u))
}

/// `silu`/`swish`: x · σ(x).
pub fn silu(x: i128) -> Result<i128, Overflow> {
    mul(x, fixed::sigmoid(x))
}

/// Keras 3's `hard_sigmoid`: relu6(x + 3) / 6 (the division truncates, the value is ≥ 0).
pub fn hard_sigmoid(x: i128) -> i128 {
    (x + 3 * ONE).clamp(0, 6 * ONE) / 6
}

/// tf.keras 2's `hard_sigmoid`: clip(0.2·x + 0.5, 0, 1), 0.2 truncated as every config float.
pub fn hard_sigmoid_keras2(x: i128) -> Result<i128, Overflow> {
    Ok((mul(fixed::LEAKY_RELU_SLOPE, x)? + ONE / 2).clamp(0, ONE))
}

/// `hard_silu`/`hard_swish`: x · hard_sigmoid(x) (Keras 3's).
pub fn hard_silu(x: i128) -> Result<i128, Overflow> {
    mul(x, hard_sigmoid(x))
}

/// `softplus`: max(x, 0) + ln(1 + e^−|x|).
pub fn softplus(x: i128) -> Result<i128, Overflow> {
    Ok(x.max(0) + ln_ge1(ONE + exp_neg(-x.abs()))?)
}

/// `softsign`: x / (1 + |x|).
pub fn softsign(x: i128) -> Result<i128, Overflow> {
    fixed::div(x, ONE + x.abs())
}

/// `mish`: x · tanh(softplus(x)).
pub fn mish(x: i128) -> Result<i128, Overflow> {
    mul(x, fixed::tanh(softplus(x)?)?)
}

/// `log_softmax` over `v` in place: m = max, S = Σ e^(v_i − m) (≥ ONE), y_i = v_i − m − ln S.
pub fn log_softmax(v: &mut [i128]) -> Result<(), Overflow> {
    let Some(&m) = v.iter().max() else {
        return Ok(());
    };
    let mut sum: i128 = 0;
    for x in v.iter() {
        sum = sum
            .checked_add(exp_neg(*x - m))
            .ok_or(Overflow("log_softmax"))?;
    }
    let l = ln_ge1(sum)?;
    for x in v.iter_mut() {
        *x = *x - m - l;
    }
    Ok(())
}

/// PReLU: x for x > 0, else α · x (one product).
pub fn prelu(x: i128, alpha: i128) -> Result<i128, Overflow> {
    if x > 0 { Ok(x) } else { mul(alpha, x) }
}

/// One elementwise function by code (log_softmax of a single value is 0, as softmax's is ONE).
pub fn apply1(code: u8, x: i128) -> Result<i128, Overflow> {
    match code {
        7 => elu(x, ONE),
        8 => selu(x),
        9 => gelu(x),
        10 => gelu_approximate(x),
        11 => silu(x),
        12 => hard_silu(x),
        13 => Ok(hard_sigmoid(x)),
        14 => hard_sigmoid_keras2(x),
        15 => softplus(x),
        16 => softsign(x),
        17 => exp(x),
        18 => mish(x),
        19 => Ok(0),
        _ => Err(Overflow("an unknown activation code")),
    }
}

/// The function `name` over `v` (log_softmax over consecutive rows of `last`); `None` when
/// `name` is not one of these functions.
pub fn apply(name: &str, v: &mut [i128], last: usize) -> Option<Result<(), Overflow>> {
    let code = code(name)?;
    if code == 19 {
        return Some(v.chunks_mut(last.max(1)).try_for_each(log_softmax));
    }
    Some(v.iter_mut().try_for_each(|x| {
        *x = apply1(code, *x)?;
        Ok(())
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infer::fixed::{from_f64, to_f64};

    const ULP: f64 = 1.0 / 4_294_967_296.0;

    fn erf(x: f64) -> f64 {
        // Abramowitz–Stegun 7.1.26 is too coarse for a reference; integrate instead:
        // erf(x) = 2/√π ∫0^x e^{−t²} dt by Simpson with 2000 steps (error ≪ 1e-12 here).
        let n = 2000;
        let h = x / n as f64;
        let f = |t: f64| (-t * t).exp();
        let mut s = f(0.0) + f(x);
        for i in 1..n {
            s += f(i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
        }
        s * h / 3.0 * 2.0 / std::f64::consts::PI.sqrt()
    }

    fn softplus_f(x: f64) -> f64 {
        x.max(0.0) + (-x.abs()).exp().ln_1p()
    }

    fn worst(f: impl Fn(i128) -> i128, g: impl Fn(f64) -> f64, lo: f64, hi: f64) -> f64 {
        let mut w = 0.0f64;
        let n = 4000;
        for i in 0..=n {
            let x = lo + (hi - lo) * i as f64 / n as f64;
            let q = from_f64(x).unwrap();
            let xf = to_f64(q);
            w = w.max((to_f64(f(q)) - g(xf)).abs() / xf.abs().max(1.0));
        }
        w / ULP
    }

    /// A function's name, its bound (ulp of max(|x|, 1)), its fixed-point form and f64's.
    type Case = (
        &'static str,
        f64,
        Box<dyn Fn(i128) -> i128>,
        Box<dyn Fn(f64) -> f64>,
    );

    #[test]
    fn each_function_is_within_its_stated_bound() {
        let sig = |x: f64| 1.0 / (1.0 + (-x).exp());
        let cases: Vec<Case> = vec![
            (
                "elu",
                1.5,
                Box::new(|x| elu(x, ONE).unwrap()),
                Box::new(|x: f64| if x > 0.0 { x } else { x.exp_m1() }),
            ),
            (
                "selu",
                3.0,
                Box::new(|x| selu(x).unwrap()),
                Box::new(|x: f64| {
                    1.050_700_987_355_480_5
                        * if x > 0.0 {
                            x
                        } else {
                            1.673_263_242_354_377_3 * x.exp_m1()
                        }
                }),
            ),
            (
                "silu",
                2.0,
                Box::new(|x| silu(x).unwrap()),
                Box::new(move |x: f64| x * sig(x)),
            ),
            (
                "softsign",
                1.0,
                Box::new(|x| softsign(x).unwrap()),
                Box::new(|x: f64| x / (1.0 + x.abs())),
            ),
            (
                "hard_sigmoid",
                1.0,
                Box::new(hard_sigmoid),
                Box::new(|x: f64| (x + 3.0).clamp(0.0, 6.0) / 6.0),
            ),
            (
                "hard_sigmoid_keras2",
                1.5,
                Box::new(|x| hard_sigmoid_keras2(x).unwrap()),
                Box::new(|x: f64| (0.2 * x + 0.5).clamp(0.0, 1.0)),
            ),
            (
                "hard_silu",
                2.0,
                Box::new(|x| hard_silu(x).unwrap()),
                Box::new(|x: f64| x * (x + 3.0).clamp(0.0, 6.0) / 6.0),
            ),
            (
                "softplus",
                2.0,
                Box::new(|x| softplus(x).unwrap()),
                Box::new(softplus_f),
            ),
            (
                "mish",
                4.0,
                Box::new(|x| mish(x).unwrap()),
                Box::new(|x: f64| x * softplus_f(x).tanh()),
            ),
            (
                "gelu_approximate",
                2.0,
                Box::new(|x| gelu_approximate(x).unwrap()),
                Box::new(|x: f64| {
                    0.5 * x
                        * (1.0
                            + ((2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x * x * x))
                                .tanh())
                }),
            ),
        ];
        for (name, bound, f, g) in &cases {
            let w = worst(f, g, -20.0, 20.0);
            eprintln!("{name}: worst {w:.2} ulp");
            assert!(w <= *bound, "{name}: {w} ulp > {bound}");
        }
        // gelu (erf): relative to |x|, the erfc approximation's own error dominates.
        let mut w = 0.0f64;
        for i in 0..=800 {
            let x = -8.0 + 16.0 * i as f64 / 800.0;
            let q = from_f64(x).unwrap();
            let xf = to_f64(q);
            let want = 0.5 * xf * (1.0 + erf(xf / 2f64.sqrt()));
            w = w.max((to_f64(gelu(q).unwrap()) - want).abs() / xf.abs().max(1.0));
        }
        eprintln!("gelu: worst {w:.3e} · max(|x|, 1)");
        assert!(w < 2e-8, "gelu {w}");
    }

    #[test]
    fn exp_and_ln_are_within_their_bounds() {
        let mut w = 0.0f64;
        for i in 0..=3000 {
            let x = i as f64 * 0.01;
            let q = from_f64(x).unwrap();
            let got = to_f64(exp(q).unwrap());
            w = w.max((got / to_f64(q).exp() - 1.0).abs());
        }
        eprintln!("exp: worst {w:.3e} relative");
        assert!(w < 4e-9, "exp {w}");
        assert_eq!(exp(0), Ok(ONE));
        assert!(exp(50 * ONE).is_err());
        let mut w = 0.0f64;
        for i in 0..=5000 {
            let y = 1.0 + i as f64 * 0.2;
            let q = from_f64(y).unwrap();
            w = w.max((to_f64(ln_ge1(q).unwrap()) - to_f64(q).ln()).abs());
        }
        eprintln!("ln: worst {:.2} ulp", w / ULP);
        assert!(w < 2.0 * ULP, "ln {w}");
        assert_eq!(ln_ge1(ONE), Ok(0));
        assert!(ln_ge1(ONE - 1).is_err());
    }

    #[test]
    fn log_softmax_rows_and_aliases() {
        let mut v = [
            from_f64(1.0).unwrap(),
            from_f64(2.0).unwrap(),
            from_f64(3.0).unwrap(),
        ];
        log_softmax(&mut v).unwrap();
        let want = [-2.407_605_964, -1.407_605_964, -0.407_605_964];
        for (a, b) in v.iter().zip(want) {
            assert!((to_f64(*a) - b).abs() < 3.0 * ULP, "{} vs {b}", to_f64(*a));
        }
        assert_eq!(code("swish"), code("silu"));
        assert_eq!(code("hard_swish"), Some(12));
        assert_eq!(code("relu"), None);
        // The codes are the contracts' (Types.sol's Activation library).
        let sol = include_str!("../../contracts/lib/Types.sol");
        for (name, c) in CODES {
            let line = format!(
                "uint8 internal constant {} = {c};",
                name.to_ascii_uppercase()
            );
            assert!(sol.contains(&line), "Types.sol lacks `{line}`");
        }
    }

    #[test]
    fn constants_are_the_contracts() {
        let sol = include_str!("../../contracts/lib/Activations.sol");
        let consts: Vec<i128> = [LN2_Q32, LN2_Q62, SELU_SCALE, SELU_SCALE_ALPHA]
            .into_iter()
            .chain([INV_SQRT2, SQRT_2_OVER_PI, GELU_CUBIC])
            .chain(ATANH_COEFFS)
            .chain(ERFC_COEFFS)
            .collect();
        for c in consts {
            assert!(sol.contains(&c.to_string()), "Activations.sol lacks {c}");
        }
    }
}
