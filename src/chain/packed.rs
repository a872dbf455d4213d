//! The compact encoding of tensor values that chained calls send (`contracts/lib/PackedValues.sol`,
//! mirrored here; answers come back as ABI words, which an `eth_call`'s caller does not pay for): one byte `w` (1 ≤ w ≤ 32), then each
//! value as `w` bytes, big-endian two's complement, `w` the smallest width that holds every
//! value. A ReLU6 activation in Q32.32 takes 5 bytes (80 calldata gas) where an ABI `int256`
//! word takes 32 (≈ 160 gas, 512 when negative).
//!
//! Owns: the byte layout and its calldata price. Must not touch: the network.

/// The smallest width in bytes (1..=16) that holds every value as two's complement.
pub fn width(values: &[i128]) -> usize {
    // The magnitude bits of each value (v xor its sign), OR-ed: a sign bit more is the width.
    let bits = values
        .iter()
        .fold(0u128, |acc, &v| acc | (v ^ (v >> 127)) as u128);
    let need = 128 - bits.leading_zeros() as usize + 1;
    need.div_ceil(8).max(1)
}

/// `values` packed at the smallest width that holds them all.
pub fn pack(values: &[i128]) -> Vec<u8> {
    let w = width(values);
    let mut out = Vec::with_capacity(1 + w * values.len());
    out.push(w as u8);
    for v in values {
        out.extend_from_slice(&v.to_be_bytes()[16 - w..]);
    }
    out
}

/// The values of packed bytes (empty bytes are no values), or why they are not packed values
/// that fit `i128`.
pub fn unpack(bytes: &[u8]) -> Result<Vec<i128>, String> {
    let Some((&w, rest)) = bytes.split_first() else {
        return Ok(Vec::new());
    };
    let w = usize::from(w);
    if w == 0 || w > 32 || rest.len() % w != 0 {
        return Err(format!(
            "packed values of {} bytes with width {w}: not a whole number of 1..32-byte values",
            bytes.len()
        ));
    }
    rest.chunks(w)
        .map(|c| {
            // Wider than 16 bytes: the leading bytes must be the sign of the rest.
            let (lead, tail) = c.split_at(w.saturating_sub(16));
            let neg = tail[0] & 0x80 != 0;
            if lead.iter().any(|&b| b != if neg { 0xff } else { 0 }) {
                return Err(format!("a packed value of {w} bytes is beyond int128"));
            }
            let mut word = if neg { [0xffu8; 16] } else { [0u8; 16] };
            word[16 - tail.len()..].copy_from_slice(tail);
            Ok(i128::from_be_bytes(word))
        })
        .collect()
}

/// Calldata gas (EIP-2028: 16 per non-zero byte, 4 per zero byte) of `values` packed, and the
/// byte count.
pub fn calldata_gas(values: &[i128]) -> (u64, u64) {
    calldata_gas_of([values])
}

/// [`calldata_gas`] of several tensors' values packed as one stream, at the width of the widest.
pub fn calldata_gas_of<'a>(parts: impl IntoIterator<Item = &'a [i128]> + Clone) -> (u64, u64) {
    let w = parts.clone().into_iter().map(width).max().unwrap_or(1);
    // The width byte is never zero.
    let (mut gas, mut bytes) = (16u64, 1u64);
    for part in parts {
        for v in part {
            gas += super::calls::calldata_gas(&v.to_be_bytes()[16 - w..]);
        }
        bytes += (w * part.len()) as u64;
    }
    (gas, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_are_the_smallest_twos_complement() {
        assert_eq!(width(&[]), 1);
        assert_eq!(width(&[0, 127, -128]), 1);
        assert_eq!(width(&[128]), 2);
        assert_eq!(width(&[-129]), 2);
        // ReLU6 in Q32.32: 6 · 2^32 needs 35 bits and a sign bit.
        assert_eq!(width(&[6 << 32]), 5);
        assert_eq!(width(&[i128::MIN, i128::MAX]), 16);
    }

    #[test]
    fn pack_then_unpack_is_the_identity() {
        let vs = [
            0,
            1,
            -1,
            6 << 32,
            -(3 << 31),
            i64::MAX as i128,
            i64::MIN as i128,
        ];
        let p = pack(&vs);
        assert_eq!(p[0], 8);
        assert_eq!(p.len(), 1 + 8 * vs.len());
        assert_eq!(unpack(&p).unwrap(), vs);
        assert_eq!(&pack(&[-2, 300])[..], &[2, 0xff, 0xfe, 0x01, 0x2c]);
        assert_eq!(unpack(&[]).unwrap(), Vec::<i128>::new());
        assert_eq!(calldata_gas(&[-2, 300]), (16 + 4 * 16, 5));
    }

    #[test]
    fn wide_values_from_the_chain_decode_or_are_refused() {
        // 32-byte words, as a contract may pack int256 values.
        let mut b = vec![32u8];
        b.extend_from_slice(&[0xff; 31]);
        b.push(0xfe);
        b.extend_from_slice(&[0; 31]);
        b.push(7);
        assert_eq!(unpack(&b).unwrap(), vec![-2, 7]);
        let mut big = vec![17u8, 1];
        big.extend_from_slice(&[0; 16]);
        assert!(unpack(&big).unwrap_err().contains("beyond int128"));
        assert!(unpack(&[3, 1, 2]).unwrap_err().contains("width 3"));
        assert!(unpack(&[0]).unwrap_err().contains("width 0"));
    }
}
