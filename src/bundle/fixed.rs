//! The bundle's number format: signed Q32.32 fixed point, four values per uint256 word.
//!
//! Owns: float → Q32.32 conversion (eai's `int(float64(x) * 2**32)`, truncating toward zero),
//! packing into words, and the decimal text of a word as it appears in the bundle's JSON.
//! Must not touch: files, JSON structure, hashing.

/// One uint256 of the bundle: four Q32.32 values, `lanes[0]` in the most significant 64 bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Word {
    pub lanes: [u64; 4],
}

/// Values per word.
pub const LANES: usize = 4;

/// Why a float has no Q32.32 value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FixedError {
    NotFinite,
    OutOfRange,
}

/// Q32.32 of `x`: `trunc(x * 2^32)`, exactly as eai computes it from the float64 of `x`.
/// |x| ≥ 2^31 has no 64-bit image (eai lets it spill into the neighbouring lane).
pub fn to_q32(x: f32) -> Result<i64, FixedError> {
    let x = f64::from(x);
    if !x.is_finite() {
        return Err(FixedError::NotFinite);
    }
    if x.abs() >= 2_147_483_648.0 {
        return Err(FixedError::OutOfRange);
    }
    // Multiplying by a power of two is exact in f64, so the only rounding is the truncation.
    Ok((x * 4_294_967_296.0).trunc() as i64)
}

/// The Q32.32 value as a float (exact: every Q32.32 value of |x| < 2^21 fits in f64's
/// mantissa; larger ones round to nearest).
pub fn q32_to_f64(v: i64) -> f64 {
    v as f64 / 4_294_967_296.0
}

impl Word {
    pub fn from_values(values: [i64; 4]) -> Word {
        Word {
            lanes: values.map(|v| v as u64),
        }
    }

    pub fn values(&self) -> [i64; 4] {
        self.lanes.map(|l| l as i64)
    }

    /// Big-endian 32-byte image, as the EVM sees the uint256.
    pub fn to_be_bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (i, lane) in self.lanes.iter().enumerate() {
            out[i * 8..i * 8 + 8].copy_from_slice(&lane.to_be_bytes());
        }
        out
    }

    /// Appends the word's decimal digits to `out`.
    pub fn write_decimal(&self, out: &mut Vec<u8>) {
        // Eight 32-bit limbs, most significant first; repeated division by 10^9 works on
        // u64 arithmetic only, which the compiler turns into multiplications.
        let mut limbs = [0u32; 8];
        for (i, lane) in self.lanes.iter().enumerate() {
            limbs[2 * i] = (lane >> 32) as u32;
            limbs[2 * i + 1] = *lane as u32;
        }
        let mut start = limbs.iter().position(|&l| l != 0).unwrap_or(8);
        if start == 8 {
            out.push(b'0');
            return;
        }
        // At most 78 decimal digits → 9 groups of nine.
        let mut groups = [0u32; 9];
        let mut n = 0;
        while start < 8 {
            let mut rem: u64 = 0;
            for limb in &mut limbs[start..] {
                let cur = (rem << 32) | u64::from(*limb);
                *limb = (cur / 1_000_000_000) as u32;
                rem = cur % 1_000_000_000;
            }
            groups[n] = rem as u32;
            n += 1;
            while start < 8 && limbs[start] == 0 {
                start += 1;
            }
        }
        // Leading group without padding, the rest as exactly nine digits each.
        let mut digits = [0u8; 81];
        let mut pos = digits.len();
        for g in &groups[..n - 1] {
            let mut g = *g;
            for _ in 0..9 {
                pos -= 1;
                digits[pos] = b'0' + (g % 10) as u8;
                g /= 10;
            }
        }
        let mut g = groups[n - 1];
        loop {
            pos -= 1;
            digits[pos] = b'0' + (g % 10) as u8;
            g /= 10;
            if g == 0 {
                break;
            }
        }
        out.extend_from_slice(&digits[pos..]);
    }

    /// Parses the decimal digits of a uint256; `None` if not digits or ≥ 2^256.
    pub fn parse_decimal(digits: &[u8]) -> Option<Word> {
        if digits.is_empty() || digits.len() > 78 {
            return None;
        }
        let mut limbs = [0u32; 8]; // most significant first
        for chunk in digits.chunks(9) {
            let mut v: u64 = 0;
            for &d in chunk {
                if !d.is_ascii_digit() {
                    return None;
                }
                v = v * 10 + u64::from(d - b'0');
            }
            let mul = 10u64.pow(chunk.len() as u32);
            let mut carry = v;
            for limb in limbs.iter_mut().rev() {
                let cur = u64::from(*limb) * mul + carry;
                *limb = cur as u32;
                carry = cur >> 32;
            }
            if carry != 0 {
                return None;
            }
        }
        let mut lanes = [0u64; 4];
        for (i, lane) in lanes.iter_mut().enumerate() {
            *lane = (u64::from(limbs[2 * i]) << 32) | u64::from(limbs[2 * i + 1]);
        }
        Some(Word { lanes })
    }
}

/// Packs values into words, padding the tail with zeros to a whole word.
pub fn pack(values: &[i64], out: &mut Vec<Word>) {
    for chunk in values.chunks(LANES) {
        let mut lanes = [0i64; LANES];
        lanes[..chunk.len()].copy_from_slice(chunk);
        out.push(Word::from_values(lanes));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(w: &Word) -> String {
        let mut v = Vec::new();
        w.write_decimal(&mut v);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn truncates_toward_zero_like_python_int() {
        assert_eq!(to_q32(1.0), Ok(1 << 32));
        assert_eq!(to_q32(-1.0), Ok(-(1 << 32)));
        // 2^-33 is below the resolution: int() truncates both signs to 0.
        assert_eq!(to_q32(1.164_153_2e-10), Ok(0));
        assert_eq!(to_q32(-1.164_153_2e-10), Ok(0));
        assert_eq!(to_q32(-0.3), Ok(-1_288_490_240));
        assert_eq!(to_q32(f32::NAN), Err(FixedError::NotFinite));
        assert_eq!(to_q32(3.0e9), Err(FixedError::OutOfRange));
    }

    #[test]
    fn decimal_round_trips_extremes() {
        let max = Word {
            lanes: [u64::MAX; 4],
        };
        assert_eq!(
            dec(&max),
            "115792089237316195423570985008687907853269984665640564039457584007913129639935"
        );
        assert_eq!(dec(&Word::default()), "0");
        assert_eq!(
            dec(&Word {
                lanes: [0, 0, 0, 7]
            }),
            "7"
        );
        assert_eq!(
            dec(&Word {
                lanes: [0, 0, 1, 0]
            }),
            "18446744073709551616"
        );
        for w in [
            max,
            Word {
                lanes: [1, 2, 3, 4],
            },
            Word::from_values([-1, 5, -(1 << 40), 123_456_789]),
        ] {
            assert_eq!(Word::parse_decimal(dec(&w).as_bytes()), Some(w));
        }
        let too_big =
            b"115792089237316195423570985008687907853269984665640564039457584007913129639936";
        assert_eq!(Word::parse_decimal(too_big), None);
        assert_eq!(Word::parse_decimal(b"12a"), None);
    }
}
