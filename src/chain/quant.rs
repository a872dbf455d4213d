//! Per-output-channel weight quantization for the `int16` and `int8` formats, in integers only,
//! so the reference is deterministic and a contract can repeat it bit for bit.
//!
//! **Rules.** A weight tensor `T` (Q32.32 values `a`, as the bundle holds them) of rank ≥ 2 is
//! quantized per *output channel*: the index along its last axis (Dense `(in, out)`, Conv
//! `(kh, kw, in, out)`, LSTM `(in, 4·units)`, Embedding `(vocab, dim)`, …). With
//! `qmax = 2^(b-1) - 1` (32,767 for int16, 127 for int8; the range is symmetric, `-2^(b-1)` is
//! never used) and `m_c` the largest `|a|` of channel `c`:
//!
//! - the scale is `scale_c = max(1, ceil(m_c / qmax))`, a positive Q32.32 integer stored with
//!   the layer (a channel of zeros gets scale 1 and stores zeros);
//! - the stored value is `q = round_half_even(a / scale_c)`, computed exactly on integers;
//!   `|q| ≤ qmax` always holds because `|a| ≤ m_c ≤ qmax·scale_c`;
//! - the value computed with is `a' = q·scale_c` (Q32.32), so `|a - a'| ≤ scale_c / 2`.
//!
//! Tensors of rank 0 or 1 (biases, BatchNormalization's four vectors, scalars) stay at the
//! accumulator's precision: Q32.32, unchanged. The forward pass then runs on `a'` with the same
//! kernels as every other format. Because every dot product is summed exactly before its one
//! `>> 32`, `Σ (q_i·s)·x_i = s·Σ q_i·x_i`: a kernel that multiplies by the scale once per output
//! channel gets the same bits.
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
        // ceil(m / qmax) ≤ 2^63 / qmax fits i64 for qmax ≥ 1.
        let scales: Vec<i64> = m
            .iter()
            .map(|&m| ((m + qmax128 - 1) / qmax128).max(1) as i64)
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
        return Some(values.iter().map(|&v| i128::from(v)).collect());
    }
    let channels = shape.last().copied().unwrap_or(1);
    Some(PerChannel::quantize(values, channels, qmax).dequantize())
}

/// Bytes the weights of tensors with these shapes take in a per-channel `format`: each value at
/// the format's width plus a 4-byte channel count and one 8-byte scale per output channel for
/// rank ≥ 2, 8 bytes per value (Q32.32) for rank ≤ 1, the total rounded up to a 32-byte word —
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
                n * 8
            } else {
                n * width + 4 + s.last().copied().unwrap_or(1) * 8
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
        assert_eq!(p.scales, vec![(ONE + 126) / 127, (2 * ONE + 126) / 127, 1]);
        // The largest magnitude of each channel maps to ±qmax exactly.
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
            assert_eq!(p.q[0], qmax);
            assert_eq!(p.q[5], -qmax);
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
    fn biases_keep_accumulator_precision_and_formats_differ() {
        let bias = [ONE / 3, -7];
        assert_eq!(
            apply(&bias, &[2], WeightFormat::Int8),
            Some(vec![i128::from(ONE / 3), -7])
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
    fn byte_counts() {
        let shapes: [&[usize]; 2] = [&[784, 10], &[10]];
        // int8: 7840 + 4 + 10 scales·8 + 10 biases·8 = 8004 -> 8032 (a multiple of 32).
        assert_eq!(bytes(shapes, WeightFormat::Int8), Some(8032));
        // int16: 15680 + 4 + 80 + 80 = 15844 -> 15872.
        assert_eq!(bytes(shapes, WeightFormat::Int16), Some(15_872));
        assert_eq!(bytes(shapes, WeightFormat::Exact), None);
    }
}
