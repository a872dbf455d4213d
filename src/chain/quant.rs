//! Per-output-channel weight quantization for the `int16` and `int8` formats, in integers only,
//! so the reference is deterministic and a contract can repeat it bit for bit.
//!
//! **Rules.** A weight tensor `T` (Q32.32 values `a`, as the bundle holds them) of rank ≥ 2 is
//! quantized per *output channel*: the index along its last axis (Dense `(in, out)`, Conv
//! `(kh, kw, in, out)`, LSTM `(in, 4·units)`, Embedding `(vocab, dim)`, …). With
//! `qmax = 2^(b-1) - 1` (32,767 for int16, 127 for int8; the range is symmetric, `-2^(b-1)` is
//! never used) and `m_c` the largest `|a|` of channel `c`:
//!
//! - the scale needed is `n_c = max(1, ceil(m_c / qmax))`; the scale stored is the smallest
//!   `scale_c = m << e ≥ n_c` with a 10-bit mantissa `m < 2^10` (`e = 0`, `m = n_c` when
//!   `n_c < 2^10`; else `e = bitlen(n_c) − 10`, `m = ceil(n_c / 2^e)`, and `m = 2^10` becomes
//!   `2^9` with `e + 1`), a positive Q32.32 integer kept with the layer as the u16 `(e << 10) | m`
//!   (2 bytes instead of 8: [`scale_code`]). It is at most `n_c · (1 + 2^-9)`, so a step is at
//!   most 0.2 % coarser than the exact scale's (a channel of zeros gets scale 1 and stores zeros);
//! - the stored value is `q = round_half_even(a / scale_c)`, computed exactly on integers;
//!   `|q| ≤ qmax` always holds because `|a| ≤ m_c ≤ qmax·n_c ≤ qmax·scale_c`;
//! - the value computed with is `a' = q·scale_c` (Q32.32), so `|a - a'| ≤ scale_c / 2`.
//!
//! Tensors of rank 0 or 1 (biases, BatchNormalization's four vectors, scalars) are stored as
//! int24 with a per-tensor left shift `k`: the smallest `k` in `[0, 40]` such that every `a >> k`
//! (arithmetic, i.e. floor) fits int24 ([`small_shift`]); the value computed with is
//! `a' = (a >> k) << k`, so `0 ≤ a − a' < 2^k` — exact when every `|a| < 2^-9`, and otherwise
//! within 2^-22 of the tensor's largest magnitude (float32's own precision is 2^-24 of a
//! value): for a bias below 0.5, under 6·10^-8. Three bytes instead of eight. The forward pass
//! then runs on `a'` with the same kernels as every other format. Because every dot product is
//! summed exactly before its one `>> 32`, `Σ (q_i·s)·x_i = s·Σ q_i·x_i`: a kernel that multiplies
//! by the scale once per output channel gets the same bits.
//!
//! **Narrowed convolution inputs.** A plain Conv2D (groups 1) or Conv1D in int16/int8 rounds
//! its *input* to a multiple of `2^e` before the sum: `x̃ = ((x + 2^(e−1)) >> e) << e` (round
//! half up, arithmetic shift; `x̃ = x` when `e = 0`), with `e` fixed by the layer's format and
//! window alone ([`input_shift`] with [`Sums::Window`]): `e = ceil(log2 K) + 8` in int8 and
//! `ceil(log2 K) + 6` in int16, `K = kh·kw·cin` the taps of a window. A function of one value
//! and of the layer's shape, so a row slice, a channel block or a job step rounds every value it
//! reads as the whole layer does. Why: the contract multiplies a word holding the stored
//! integers of eight (int8, 32-bit lanes) or six (int16, 42-bit lanes: 252 of the word's 256
//! bits) filters by `x' = x̃ >> e`, or a word holding `x'` of eight (six) adjacent output
//! pixels' windows by one stored integer, and every lane sum `Σ x'·q` fits its lane
//! (`|S| < 2^31` resp. `2^41`) whenever `|x| ≤ 1`: `|x'| ≤ 2^(32−e)`, so
//! `K·|x'|·qmax ≤ 2^(24 + 7)·(127/128)` (int8), `2^(26 + 15)·(32767/32768)` (int16). A larger
//! input is still computed exactly (fewer, wider lanes), only at the old gas. The cost is an
//! absolute input step of `2^(e−32)`: 2^-16 for a 5×5×6 window in int8, 2^-18 in int16 (2^-21
//! for a 5×5×1 one). Since the sum is exact, `Σ x̃·(q·s) = 2^e·s·Σ x'·q`: the contract's
//! per-filter multiplier is `scale_c << e`.
//!
//! **Narrowed Dense inputs.** A Dense in int16/int8 (also inside TimeDistributed, which
//! deploys as a Dense) rounds its input by the same rule with `K` its input units, the terms of
//! one column's sum ([`Sums::Units`]): `e = ceil(log2 K) + 8` (int8), `ceil(log2 K)` (int16:
//! its kernel words hold 16-bit values 16 bits apart, which line up with 48-bit lanes, not
//! 42-bit ones). Its contract puts eight int8 columns in 32-bit lanes (five int16 columns in
//! 48-bit lanes) of one multiplication by `x'`, and the bound is `Σ|x'|·qmax < 2^31` (`2^47`),
//! which `|x| ≤ 1` guarantees. The step depends on the whole layer's `K`, so a row part (input
//! units split across calls, partial sums `Σ x'·q` carried) rounds each value as the whole
//! layer does. fashion_mnist's 784→70 Dense: `e = 18` in int8 (a step of 2^-14), 10 in int16
//! (2^-22).
//!
//! The chain stores what these rules produce (`weights::WeightBlob`'s int16/int8 records) and
//! the reference in `infer` computes with it; both use this one module.
//!
//! Owns: these rules and the byte count they imply. Must not touch: files, the network.

use super::weights::WeightFormat;

/// `qmax` of a per-channel format, `None` for the others.
pub fn qmax(format: WeightFormat) -> Option<i64> {
    match format {
        WeightFormat::Int16 => Some(i64::from(i16::MAX)),
        WeightFormat::Int8 => Some(i64::from(i8::MAX)),
        WeightFormat::Compact | WeightFormat::Exact => None,
    }
}

/// What the terms of a narrowed layer's sums are: the lanes (and so `e`) differ in int16.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sums {
    /// A plain Conv2D/Conv1D's window taps: six 42-bit lanes in int16.
    Window,
    /// A Dense's input units: five 48-bit lanes in int16.
    Units,
}

/// The input shift `e` of a plain Conv2D/Conv1D whose windows have `taps` taps
/// ([`Sums::Window`]), or of a Dense of `taps` input units ([`Sums::Units`]), in `format`
/// (module docs): `ceil(log2 taps) + 8` in int8, `ceil(log2 taps) + 6` (window) or
/// `ceil(log2 taps)` (units) in int16, 0 otherwise.
pub fn input_shift(format: WeightFormat, sums: Sums, taps: usize) -> u32 {
    let bits = usize::BITS - taps.saturating_sub(1).leading_zeros();
    match (format, sums) {
        (WeightFormat::Int8, _) => bits + 8,
        (WeightFormat::Int16, Sums::Window) => bits + 6,
        (WeightFormat::Int16, Sums::Units) => bits,
        (WeightFormat::Compact | WeightFormat::Exact, _) => 0,
    }
}

/// `x` rounded half up to a multiple of `2^e` (module docs): `((x + 2^(e−1)) >> e) << e`.
pub fn narrow(x: i128, e: u32) -> i128 {
    if e == 0 {
        return x;
    }
    ((x + (1 << (e - 1))) >> e) << e
}

/// Bytes of one stored scale: the u16 `(e << 10) | m` of the scale `m << e` ([`scale_code`]).
pub const SCALE_BYTES: usize = 2;
/// Bytes of a value of a rank 0–1 tensor: int24, shifted left by the tensor's [`small_shift`].
pub const SMALL_BYTES: usize = 3;
/// The largest [`small_shift`]: every int64 `a` has `a >> 40` within int24.
pub const SMALL_MAX_SHIFT: u8 = 40;
/// `WeightTensor.shift` of a quantized (rank ≥ 2) record; a rank 0–1 tensor's is its
/// [`small_shift`] (≤ [`SMALL_MAX_SHIFT`]).
pub const QUANTIZED: u8 = 255;

/// The scale stored for a needed scale `n ≥ 1`: the smallest `m << e ≥ n` with `m < 2^10`.
pub fn stored_scale(n: i128) -> i64 {
    let n = n.max(1);
    if n < 1 << 10 {
        return n as i64;
    }
    let e = (128 - n.leading_zeros()) - 10;
    let m = (n + (1 << e) - 1) >> e;
    // m ≤ 2^10, and n ≤ 2^63 / 127 < 2^56 for int16/int8: m << e < 2^57 fits i64.
    (m << e) as i64
}

/// The u16 a stored scale is written as: `(e << 10) | m` for `scale = m << e` (`m < 2^10`,
/// `m ≥ 2^9` when `e > 0`, as [`stored_scale`] makes them).
pub fn scale_code(scale: i64) -> u16 {
    let s = scale.max(1) as u64;
    if s < 1 << 10 {
        return s as u16;
    }
    let e = (64 - s.leading_zeros()) - 10;
    ((e << 10) as u16) | ((s >> e) as u16)
}

/// The scale a u16 code stands for: `(code mod 2^10) << (code >> 10)`.
pub fn scale_of_code(code: u16) -> i128 {
    i128::from(code & 0x3ff) << (code >> 10)
}

/// The left shift of a rank 0–1 tensor's int24 values: the smallest `k` in `[0, 40]` such that
/// every `a >> k` fits int24.
pub fn small_shift(values: impl IntoIterator<Item = i64>) -> u8 {
    // `a >> k` fits int24 iff `a` (or `!a` when negative) has at most 23 + k significant bits.
    let bits = values
        .into_iter()
        .map(|a| 64 - (if a < 0 { !a } else { a }).leading_zeros())
        .max()
        .unwrap_or(0);
    bits.saturating_sub(23) as u8
}

/// `round(n / d)` with ties to even, for `d > 0`.
pub fn div_round_half_even(n: i128, d: i128) -> i128 {
    let q = n.div_euclid(d);
    let r = n.rem_euclid(d); // 0 <= r < d; n = q·d + r
    match (2 * r).cmp(&d) {
        std::cmp::Ordering::Less => q,
        std::cmp::Ordering::Greater => q + 1,
        std::cmp::Ordering::Equal => q + (q & 1),
    }
}

/// A tensor quantized per output channel: `values[i] = q[i]·scales[i % channels]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PerChannel {
    /// One Q32.32 scale per output channel.
    pub scales: Vec<i64>,
    /// The stored integers, each within `±qmax`.
    pub q: Vec<i64>,
}

impl PerChannel {
    /// Quantizes Q32.32 `values` of a tensor whose last axis has `channels` entries.
    pub fn quantize(values: &[i64], channels: usize, qmax: i64) -> PerChannel {
        let channels = channels.max(1);
        let mut m = vec![0i128; channels];
        for (i, &a) in values.iter().enumerate() {
            let c = i % channels;
            m[c] = m[c].max(i128::from(a).abs());
        }
        let qmax128 = i128::from(qmax);
        let scales: Vec<i64> = m
            .iter()
            .map(|&m| stored_scale((m + qmax128 - 1) / qmax128))
            .collect();
        let q = values
            .iter()
            .enumerate()
            .map(|(i, &a)| {
                div_round_half_even(i128::from(a), i128::from(scales[i % channels])) as i64
            })
            .collect();
        PerChannel { scales, q }
    }

    /// The Q32.32 values the reference computes with.
    pub fn dequantize(&self) -> Vec<i128> {
        let channels = self.scales.len().max(1);
        self.q
            .iter()
            .enumerate()
            .map(|(i, &q)| i128::from(q) * i128::from(self.scales[i % channels]))
            .collect()
    }
}

/// The values the reference computes with for a tensor of `shape` in a per-channel `format`
/// (see the module docs); `None` when `format` is not per-channel.
pub fn apply(values: &[i64], shape: &[usize], format: WeightFormat) -> Option<Vec<i128>> {
    let qmax = qmax(format)?;
    if shape.len() < 2 {
        let k = small_shift(values.iter().copied());
        return Some(values.iter().map(|&v| i128::from((v >> k) << k)).collect());
    }
    let channels = shape.last().copied().unwrap_or(1);
    Some(PerChannel::quantize(values, channels, qmax).dequantize())
}

/// Bytes the weights of tensors with these shapes take in a per-channel `format`: each value at
/// the format's width plus a 4-byte channel count and one 2-byte scale per output channel for
/// rank ≥ 2, 3 bytes per value (int24) for rank ≤ 1, the total rounded up to a 32-byte word —
/// the size of [`super::weights::WeightBlob`]'s records; `None` when `format` is not per-channel.
pub fn bytes<'a>(
    shapes: impl IntoIterator<Item = &'a [usize]>,
    format: WeightFormat,
) -> Option<usize> {
    qmax(format)?;
    let width = format.width();
    let total: usize = shapes
        .into_iter()
        .map(|s| {
            let n: usize = s.iter().product();
            if s.len() < 2 {
                n * SMALL_BYTES
            } else {
                n * width + 4 + s.last().copied().unwrap_or(1) * SCALE_BYTES
            }
        })
        .sum();
    Some(total.div_ceil(32) * 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: i64 = 1 << 32;

    #[test]
    fn rounding_is_half_to_even() {
        assert_eq!(div_round_half_even(5, 2), 2); // 2.5 -> 2
        assert_eq!(div_round_half_even(7, 2), 4); // 3.5 -> 4
        assert_eq!(div_round_half_even(-5, 2), -2); // -2.5 -> -2
        assert_eq!(div_round_half_even(-7, 2), -4); // -3.5 -> -4
        assert_eq!(div_round_half_even(7, 3), 2); // 2.33 -> 2
        assert_eq!(div_round_half_even(8, 3), 3); // 2.67 -> 3
        assert_eq!(div_round_half_even(-8, 3), -3);
        assert_eq!(div_round_half_even(0, 9), 0);
    }

    #[test]
    fn one_scale_per_output_channel() {
        // Shape (2, 3): channel = index % 3. Channel 0 peaks at 1.0, channel 1 at -2.0,
        // channel 2 is all zeros.
        let v = [ONE, -2 * ONE, 0, ONE / 2, ONE, 0];
        let p = PerChannel::quantize(&v, 3, 127);
        // Needed ceil(1.0/127) and ceil(2.0/127), stored with a 10-bit mantissa, rounded up.
        assert_eq!(p.scales, vec![517 << 16, 517 << 17, 1]);
        // The largest magnitude of each channel maps to ±qmax (126.76 rounds to 127).
        assert_eq!(p.q[0], 127);
        assert_eq!(p.q[1], -127);
        // 0.5 / (1/127) = 63.5 (slightly less: the scale was rounded up) -> 63.
        assert_eq!(p.q[3], 63);
        assert_eq!(p.q[4], 63); // 1.0 / (2/127): the same just-under-63.5 in channel 1
        assert_eq!((p.q[2], p.q[5]), (0, 0), "a zero channel stores zeros");
        let d = p.dequantize();
        for (a, b) in v.iter().zip(&d) {
            let scale = p.scales.iter().max().unwrap();
            assert!((i128::from(*a) - b).abs() <= i128::from(*scale) / 2 + 1);
        }
        assert_eq!((d[2], d[5]), (0, 0));
    }

    #[test]
    fn extremes_stay_in_range() {
        for qmax in [127i64, 32_767] {
            let v = [i64::MAX, i64::MIN + 1, -1, 1, 0, i64::MIN];
            let p = PerChannel::quantize(&v, 1, qmax);
            assert!(p.q.iter().all(|q| q.abs() <= qmax), "{p:?}");
            // ±qmax up to the stored scale's rounding (≤ 2^-9).
            assert!(p.q[0] >= qmax - qmax / 256, "{p:?}");
            assert!(p.q[5] <= -(qmax - qmax / 256), "{p:?}");
            // Tiny values next to huge ones vanish.
            assert_eq!((p.q[2], p.q[3]), (0, 0));
            // A channel of tiny values keeps them exactly: scale 1 is the finest.
            let t = PerChannel::quantize(&[1, -1, 0], 1, qmax);
            assert_eq!(
                (t.scales.clone(), t.dequantize()),
                (vec![1], vec![1, -1, 0])
            );
        }
    }

    #[test]
    fn biases_keep_float32_precision_and_formats_differ() {
        // Small biases are kept exactly; a bias ~1/3 to 2^-24 (its int24 shift is 8).
        assert_eq!(
            apply(&[1 << 20, -7], &[2], WeightFormat::Int8),
            Some(vec![1 << 20, -7])
        );
        let bias = [ONE / 3, -7];
        assert_eq!(
            apply(&bias, &[2], WeightFormat::Int8),
            Some(vec![i128::from((ONE / 3) >> 8 << 8), -256])
        );
        assert_eq!(apply(&bias, &[2], WeightFormat::Compact), None);
        let kernel = [ONE / 3, ONE, -ONE / 1000, ONE / 7];
        let i8v = apply(&kernel, &[2, 2], WeightFormat::Int8).unwrap();
        let i16v = apply(&kernel, &[2, 2], WeightFormat::Int16).unwrap();
        let err = |d: &[i128]| {
            kernel
                .iter()
                .zip(d)
                .map(|(a, b)| (i128::from(*a) - b).abs())
                .max()
                .unwrap()
        };
        assert!(err(&i16v) < err(&i8v), "int16 is finer than int8");
        assert!(err(&i8v) <= i128::from(ONE) / 127);
    }

    #[test]
    fn scales_take_two_bytes_and_biases_three() {
        // Below 2^10 a scale is exact; above, a 10-bit mantissa rounded up (≤ 2^-9 coarser).
        assert_eq!(stored_scale(1023), 1023);
        assert_eq!(stored_scale(1024), 1024);
        assert_eq!(stored_scale(1025), 1026);
        assert_eq!(stored_scale(2047), 2048);
        for n in [1i128, 1000, 1025, 33_818_641, (1 << 56) - 1, 1 << 56] {
            let s = stored_scale(n);
            assert!(
                i128::from(s) >= n && i128::from(s) <= n + n / 512 + 1,
                "{n} -> {s}"
            );
            assert_eq!(scale_of_code(scale_code(s)), i128::from(s), "{n}");
        }
        assert_eq!(scale_code(2048), (2 << 10) | 512);
        // int24 with a left shift: exact below 2^23, else floor to the shift.
        assert_eq!(small_shift([(1i64 << 23) - 1, -(1 << 23)]), 0);
        assert_eq!(small_shift([1i64 << 23]), 1);
        assert_eq!(small_shift([i64::MIN, i64::MAX]), SMALL_MAX_SHIFT);
        assert_eq!(
            apply(&[(1 << 23) + 1, -3], &[2], WeightFormat::Int16),
            Some(vec![1 << 23, -4])
        );
    }

    #[test]
    fn narrowed_inputs_round_half_up_and_fit_the_lanes() {
        // ceil(log2 K): 5×5×1 = 25 taps -> 5, 5×5×6 = 150 -> 8, 784 -> 10, 1 -> 0, 256 -> 8.
        let (w, u) = (Sums::Window, Sums::Units);
        assert_eq!(input_shift(WeightFormat::Int8, w, 25), 13);
        assert_eq!(input_shift(WeightFormat::Int8, w, 150), 16);
        assert_eq!(input_shift(WeightFormat::Int8, u, 150), 16);
        assert_eq!(input_shift(WeightFormat::Int16, w, 25), 11);
        assert_eq!(input_shift(WeightFormat::Int16, w, 150), 14);
        assert_eq!(input_shift(WeightFormat::Int16, u, 150), 8);
        assert_eq!(input_shift(WeightFormat::Int16, w, 256), 14);
        assert_eq!(input_shift(WeightFormat::Int16, w, 257), 15);
        assert_eq!(input_shift(WeightFormat::Int16, u, 256), 8);
        assert_eq!(input_shift(WeightFormat::Int16, u, 257), 9);
        assert_eq!(input_shift(WeightFormat::Int8, u, 1), 8);
        assert_eq!(input_shift(WeightFormat::Int16, w, 1), 6);
        assert_eq!(input_shift(WeightFormat::Compact, w, 150), 0);
        assert_eq!(input_shift(WeightFormat::Exact, u, 150), 0);
        // Half up: 1.5 steps -> 2, −1.5 -> −1, 1.49.. -> 1; e = 0 keeps x.
        assert_eq!(narrow(3 << 3, 4), 2 << 4);
        assert_eq!(narrow(-(3 << 3), 4), -(1 << 4));
        assert_eq!(narrow((3 << 3) - 1, 4), 1 << 4);
        assert_eq!(narrow(-7, 0), -7);
        // The lane bound at |x| = 1 with K a power of two (the tightest case): each lane sum
        // below its sign bit, and within a factor 2 of it (the shift is no larger than needed).
        for (format, sums, lane, qmax) in [
            (WeightFormat::Int8, w, 31, 127i128),
            (WeightFormat::Int8, u, 31, 127),
            (WeightFormat::Int16, w, 41, 32_767),
            (WeightFormat::Int16, u, 47, 32_767),
        ] {
            for taps in [1usize, 25, 150, 256, 784, 4096] {
                let e = input_shift(format, sums, taps);
                let x = narrow(i128::from(ONE), e) >> e;
                let sum = x * qmax * (taps as i128);
                assert!(sum < 1i128 << lane, "{format:?} {sums:?} K={taps}");
                if taps.is_power_of_two() {
                    assert!(2 * sum >= 1i128 << lane, "{format:?} {sums:?} K={taps}");
                }
            }
        }
    }

    #[test]
    fn byte_counts() {
        let shapes: [&[usize]; 2] = [&[784, 10], &[10]];
        // int8: 7840 + 4 + 10 scales·2 + 10 biases·3 = 7894 -> 7904 (a multiple of 32).
        assert_eq!(bytes(shapes, WeightFormat::Int8), Some(7904));
        // int16: 15680 + 4 + 20 + 30 = 15734 -> 15744.
        assert_eq!(bytes(shapes, WeightFormat::Int16), Some(15_744));
        assert_eq!(bytes(shapes, WeightFormat::Exact), None);
    }
}
