//! The on-chain image of a bundle's weights, computed without a chain: the weight blob in every
//! format, per-tensor shifts and offsets, chunks, each chunk's data-contract initcode and hash, the Merkle
//! commitment and proofs, and the CREATE2 addresses everything lands at.
//!
//! The byte layouts are specified in `contracts/README.md`; this module must produce exactly
//! those bytes (the contracts check them). It must not touch the network.

use alloy::primitives::{Address, B256, keccak256};

use super::ChainError;
use super::quant::{QUANTIZED, SCALE_BYTES, SMALL_BYTES, scale_code, scale_of_code, small_shift};

/// Bytes of a full chunk: the largest multiple of 32 that fits a data contract (24,575 data
/// bytes after the STOP byte, EIP-170).
pub const MAX_CHUNK_BYTES: usize = 24_544;
/// EIP-170 code size limit.
pub const MAX_RUNTIME_BYTES: usize = 24_576;
/// Length of the EIP-1167 proxy runtime; a clone's arguments start at this code offset.
pub const CLONE_RUNTIME_BYTES: usize = 45;

/// The on-chain weight format: how value slots are stored in the chunks
/// (`WeightLayout.format`) and what the reference computes with. The one format type of
/// eternalize: flags, the journal, the TUI, inference and the chain all use it.
///
/// Written as `compact`/`exact`/`int16`/`int8` (flags, messages); [`WeightFormat::name`] is the
/// contracts' name (`INT32_SHIFTED`/`Q32_32`/…), used in `--json` and in journals. Parsing
/// accepts both.
///
/// `Int16` and `Int8` quantize each weight tensor of rank ≥ 2 per output channel (rules in
/// [`super::quant`]); their blob is a list of per-tensor records (contracts/README.md, "Formats").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum WeightFormat {
    /// int32 with a power-of-two scale per tensor, 4 bytes per slot: the default, half the gas.
    #[default]
    Compact,
    /// The bundle's Q32.32 int64 as-is, 8 bytes per slot: bit-exact with the bundle.
    Exact,
    /// int16 with one symmetric scale per output channel, biases as int24 with a per-tensor shift.
    Int16,
    /// int8 with one symmetric scale per output channel, biases as int24 with a per-tensor shift.
    Int8,
}

impl WeightFormat {
    /// Every format, in the order flags and tables list them.
    pub const ALL: [WeightFormat; 4] = [
        WeightFormat::Compact,
        WeightFormat::Exact,
        WeightFormat::Int16,
        WeightFormat::Int8,
    ];

    /// Whether this format quantizes per output channel (`int16`, `int8`): its blob is a list
    /// of per-tensor records and `WeightTensor.offset` is a byte offset.
    pub fn per_channel(self) -> bool {
        matches!(self, WeightFormat::Int16 | WeightFormat::Int8)
    }

    /// `WeightLayout.format` on chain (`WeightFormat` in contracts/lib/Types.sol).
    pub fn code(self) -> u8 {
        match self {
            WeightFormat::Exact => 1,
            WeightFormat::Compact => 2,
            WeightFormat::Int16 => 3,
            WeightFormat::Int8 => 4,
        }
    }

    pub fn from_code(code: u8) -> Option<WeightFormat> {
        WeightFormat::ALL.into_iter().find(|f| f.code() == code)
    }

    /// Bytes per value slot (per quantized value in `int16`/`int8`).
    pub fn width(self) -> usize {
        match self {
            WeightFormat::Exact => 8,
            WeightFormat::Compact => 4,
            WeightFormat::Int16 => 2,
            WeightFormat::Int8 => 1,
        }
    }

    /// The contracts' name of the format.
    pub fn name(self) -> &'static str {
        match self {
            WeightFormat::Exact => "Q32_32",
            WeightFormat::Compact => "INT32_SHIFTED",
            WeightFormat::Int16 => "INT16",
            WeightFormat::Int8 => "INT8",
        }
    }

    /// The flag's name of the format.
    pub fn flag(self) -> &'static str {
        match self {
            WeightFormat::Exact => "exact",
            WeightFormat::Compact => "compact",
            WeightFormat::Int16 => "int16",
            WeightFormat::Int8 => "int8",
        }
    }
}

impl std::fmt::Display for WeightFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.flag())
    }
}

/// A format name eternalize does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown weight format `{0}` (eternalize knows compact, exact, int16, int8)")]
pub struct UnknownFormat(pub String);

impl std::str::FromStr for WeightFormat {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<WeightFormat, UnknownFormat> {
        WeightFormat::ALL
            .into_iter()
            .find(|f| s.eq_ignore_ascii_case(f.flag()) || s.eq_ignore_ascii_case(f.name()))
            .ok_or_else(|| UnknownFormat(s.to_string()))
    }
}

impl serde::Serialize for WeightFormat {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for WeightFormat {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<WeightFormat, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One weight tensor: `length` real values starting at value slot `offset` (slot `j` is lane
/// `j % 4` of bundle word `j / 4`); `channels` is its last axis when its rank is ≥ 2 (the
/// output channels `int16`/`int8` scale separately), 0 for rank 0–1 tensors (int24 with a
/// per-tensor shift in those formats).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TensorSpan {
    pub offset: u64,
    pub length: u64,
    pub channels: u64,
}

impl TensorSpan {
    /// The span of a tensor of `shape` at value slot `offset`.
    pub fn of_shape(offset: u64, shape: &[u64]) -> TensorSpan {
        TensorSpan {
            offset,
            length: shape.iter().product(),
            channels: if shape.len() >= 2 {
                shape.last().copied().unwrap_or(0)
            } else {
                0
            },
        }
    }
}

/// Value slot `j` of the bundle words, as a signed Q32.32 integer.
pub fn slot(words: &[[u64; 4]], j: u64) -> i64 {
    words[(j / 4) as usize][(j % 4) as usize] as i64
}

/// The shift of a tensor in the `INT32_SHIFTED` format: the largest `s` in `[0, 32]` such that
/// every value `a` satisfies `-2^31 <= a >> (32 - s) <= 2^31 - 1`.
pub fn shift_of(values: impl IntoIterator<Item = i64>) -> u8 {
    // `a >> k` fits int32 iff `a` (or `!a` when negative) has at most 31 + k significant bits.
    let bits = values
        .into_iter()
        .map(|a| 64 - (if a < 0 { !a } else { a }).leading_zeros())
        .max()
        .unwrap_or(0);
    let k = bits.saturating_sub(31);
    (32 - k) as u8
}

/// `q = a >> (32 - s)` (floor), the stored int32 of a value.
pub fn encode_int32(a: i64, shift: u8) -> i32 {
    (a >> (32 - u32::from(shift))) as i32
}

/// `a' = q << (32 - s)`, the Q32.32 value a reader decodes.
pub fn decode_int32(q: i32, shift: u8) -> i64 {
    i64::from(q) << (32 - u32::from(shift))
}

/// The weight blob of a model in one format.
#[derive(Clone, Debug)]
pub struct WeightBlob {
    pub format: WeightFormat,
    /// Per tensor, in the order given: 32 in `Q32_32`, the tensor's shift in `INT32_SHIFTED`;
    /// in `int16`/`int8` [`QUANTIZED`](super::quant::QUANTIZED) for a quantized record, the
    /// int24 values' left shift (≤ 40) for a rank 0–1 one.
    pub shifts: Vec<u8>,
    /// Per tensor, `WeightTensor.offset` on chain: the value slot in `Q32_32`/`INT32_SHIFTED`,
    /// the record's first blob byte in `int16`/`int8`.
    pub offsets: Vec<u64>,
    pub bytes: Vec<u8>,
}

/// Bytes of a quantized record's header: the channel count, big-endian u32.
pub const RECORD_HEADER_BYTES: usize = 4;

impl WeightBlob {
    /// Encodes `words` (the bundle's weights) in `format`. `tensors` must lie inside the words
    /// and not overlap; slots outside every tensor (padding) are stored as zeros in
    /// `INT32_SHIFTED` and as they are in `Q32_32`.
    pub fn encode(
        words: &[[u64; 4]],
        tensors: &[TensorSpan],
        format: WeightFormat,
    ) -> Result<WeightBlob, ChainError> {
        let slots = words.len() as u64 * 4;
        let mut spans: Vec<(u64, u64, usize)> = tensors
            .iter()
            .enumerate()
            .map(|(i, t)| (t.offset, t.length, i))
            .collect();
        spans.sort_unstable();
        let mut end = 0u64;
        for &(offset, length, i) in &spans {
            let stop = offset.checked_add(length).filter(|&s| s <= slots);
            let Some(stop) = stop else {
                return Err(ChainError::Layout(format!(
                    "weight tensor #{i} covers value slots {offset}..{} but the bundle has only {slots} ({} words)",
                    offset.saturating_add(length),
                    words.len()
                )));
            };
            if offset < end && length > 0 {
                return Err(ChainError::Layout(format!(
                    "weight tensor #{i} starts at value slot {offset}, inside the previous tensor (which ends at {end})"
                )));
            }
            end = end.max(stop);
        }
        match format {
            WeightFormat::Exact => {
                let mut bytes = Vec::with_capacity(words.len() * 32);
                for w in words {
                    for lane in w {
                        bytes.extend_from_slice(&lane.to_be_bytes());
                    }
                }
                Ok(WeightBlob {
                    format,
                    shifts: vec![32; tensors.len()],
                    offsets: tensors.iter().map(|t| t.offset).collect(),
                    bytes,
                })
            }
            WeightFormat::Int16 | WeightFormat::Int8 => per_channel_blob(words, tensors, format),
            WeightFormat::Compact => {
                let mut bytes = vec![0u8; words.len() * 16];
                let mut shifts = Vec::with_capacity(tensors.len());
                for t in tensors {
                    let range = t.offset..t.offset + t.length;
                    let s = shift_of(range.clone().map(|j| slot(words, j)));
                    for j in range {
                        let q = encode_int32(slot(words, j), s);
                        let at = j as usize * 4;
                        bytes[at..at + 4].copy_from_slice(&q.to_be_bytes());
                    }
                    shifts.push(s);
                }
                Ok(WeightBlob {
                    format,
                    shifts,
                    offsets: tensors.iter().map(|t| t.offset).collect(),
                    bytes,
                })
            }
        }
    }

    /// Value slot `j` as a reader decodes it (`ILayer.weights`), for a tensor with `shift`
    /// (`Q32_32` and `INT32_SHIFTED`; the records of `int16`/`int8` are read by [`Self::record`]).
    pub fn decode(&self, j: u64, shift: u8) -> i64 {
        let w = self.format.width();
        let at = j as usize * w;
        let b = &self.bytes[at..at + w];
        match self.format {
            WeightFormat::Exact => {
                i64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
            }
            WeightFormat::Compact | WeightFormat::Int16 | WeightFormat::Int8 => {
                decode_int32(i32::from_be_bytes([b[0], b[1], b[2], b[3]]), shift)
            }
        }
    }

    /// In `int16`/`int8`: the Q32.32 values a reader decodes from the record of `length` values
    /// at blob byte `offset` with `shift` (`QUANTIZED`: `q·scale`; else int24 values `<< shift`).
    /// `None` when the record does not fit the blob.
    pub fn record(&self, offset: u64, length: u64, shift: u8) -> Option<Vec<i128>> {
        let at = usize::try_from(offset).ok()?;
        let n = usize::try_from(length).ok()?;
        let b = &self.bytes;
        let be = |from: usize, w: usize| -> Option<i128> {
            let s = b.get(from..from + w)?;
            let mut v: i128 = if s[0] & 0x80 != 0 { -1 } else { 0 };
            for &x in s {
                v = (v << 8) | i128::from(x);
            }
            Some(v)
        };
        if shift != QUANTIZED {
            return (0..n)
                .map(|i| Some(be(at + SMALL_BYTES * i, SMALL_BYTES)? << shift))
                .collect();
        }
        let c = usize::try_from(be(at, RECORD_HEADER_BYTES)?).ok()?.max(1);
        let scales: Option<Vec<i128>> = (0..c)
            .map(|k| {
                let s = b.get(at + RECORD_HEADER_BYTES + SCALE_BYTES * k..)?;
                Some(scale_of_code(u16::from_be_bytes([*s.first()?, *s.get(1)?])))
            })
            .collect();
        let scales = scales?;
        let w = self.format.width();
        let q0 = at + RECORD_HEADER_BYTES + SCALE_BYTES * c;
        (0..n)
            .map(|i| Some(be(q0 + w * i, w)? * scales[i % c]))
            .collect()
    }

    /// The tensor (index in the order given to [`Self::encode`]) and element blob byte `byte`
    /// belongs to, in any format; `None` for padding.
    pub fn place(&self, tensors: &[TensorSpan], byte: u64) -> Option<(usize, u64)> {
        if !self.format.per_channel() {
            let j = byte / self.format.width() as u64;
            return tensors
                .iter()
                .position(|t| j >= t.offset && j < t.offset + t.length)
                .map(|i| (i, j - tensors[i].offset));
        }
        let i = self.offsets.iter().rposition(|&o| o <= byte)?;
        let t = tensors.get(i)?;
        let head = if self.shifts[i] == QUANTIZED {
            (RECORD_HEADER_BYTES + SCALE_BYTES * t.channels as usize) as u64
        } else {
            0
        };
        let width = if self.shifts[i] == QUANTIZED {
            self.format.width() as u64
        } else {
            SMALL_BYTES as u64
        };
        let within = (byte - self.offsets[i]).checked_sub(head)? / width;
        (within < t.length).then_some((i, within))
    }
}

/// The `int16`/`int8` blob: per tensor, in the order given, one record starting at the byte its
/// `WeightTensor.offset` names — a rank 0–1 tensor (`channels == 0`) as its values `a >> k`,
/// big-endian int24 (shift `k`, [`small_shift`]); a quantized one (shift [`QUANTIZED`]) as
/// `u32 channels ‖ u16 scale[channels] ‖ q[length]` ([`scale_code`]), each `q` a big-endian two's
/// complement integer of the format's width. Zero bytes pad the blob to a whole number of 32-byte
/// words.
fn per_channel_blob(
    words: &[[u64; 4]],
    tensors: &[TensorSpan],
    format: WeightFormat,
) -> Result<WeightBlob, ChainError> {
    let qmax = super::quant::qmax(format).unwrap_or(1);
    let width = format.width();
    let mut bytes = Vec::new();
    let mut shifts = Vec::with_capacity(tensors.len());
    let mut offsets = Vec::with_capacity(tensors.len());
    for (i, t) in tensors.iter().enumerate() {
        let values: Vec<i64> = (t.offset..t.offset + t.length)
            .map(|j| slot(words, j))
            .collect();
        offsets.push(bytes.len() as u64);
        if t.channels == 0 {
            let k = small_shift(values.iter().copied());
            shifts.push(k);
            for v in values {
                // |v >> k| < 2^23: the low three bytes are its two's complement.
                bytes.extend_from_slice(&(v >> k).to_be_bytes()[8 - SMALL_BYTES..]);
            }
            continue;
        }
        let channels = u32::try_from(t.channels)
            .ok()
            .filter(|&c| t.length % u64::from(c) == 0)
            .ok_or_else(|| {
                ChainError::Layout(format!(
                    "weight tensor #{i} has {} values, not a whole number of its {} output channels",
                    t.length, t.channels
                ))
            })?;
        shifts.push(QUANTIZED);
        let p = super::quant::PerChannel::quantize(&values, channels as usize, qmax);
        bytes.extend_from_slice(&channels.to_be_bytes());
        for &s in &p.scales {
            bytes.extend_from_slice(&scale_code(s).to_be_bytes());
        }
        for &q in &p.q {
            // |q| ≤ qmax, so the low `width` bytes are its two's complement.
            bytes.extend_from_slice(&q.to_be_bytes()[8 - width..]);
        }
    }
    bytes.resize(bytes.len().div_ceil(32) * 32, 0);
    Ok(WeightBlob {
        format,
        shifts,
        offsets,
        bytes,
    })
}

/// The 10-byte initcode prefix that returns the bytes after it as the runtime.
fn deployer_prefix(runtime_len: usize) -> [u8; 10] {
    let l = runtime_len as u16;
    let [hi, lo] = l.to_be_bytes();
    [0x61, hi, lo, 0x80, 0x60, 0x0a, 0x5f, 0x39, 0x5f, 0xf3]
}

/// Initcode of the data contract holding `data`: `prefix(L) ‖ 00 ‖ data`, `L = len + 1`.
pub fn data_initcode(data: &[u8]) -> Result<Vec<u8>, ChainError> {
    let runtime = data.len() + 1;
    if runtime > MAX_RUNTIME_BYTES {
        return Err(ChainError::Layout(format!(
            "a data contract holds at most {} bytes, got {}",
            MAX_RUNTIME_BYTES - 1,
            data.len()
        )));
    }
    let mut out = Vec::with_capacity(11 + data.len());
    out.extend_from_slice(&deployer_prefix(runtime));
    out.push(0x00);
    out.extend_from_slice(data);
    Ok(out)
}

/// The EIP-1167 runtime up to the implementation's address (which is `PUSH20`'s argument).
pub const CLONE_PREFIX: [u8; 10] = [0x36, 0x3d, 0x3d, 0x37, 0x3d, 0x3d, 0x3d, 0x36, 0x3d, 0x73];

/// The implementation an EIP-1167 clone's code delegates to (bytes 10..30, after
/// [`CLONE_PREFIX`]); `None` when `code` does not start like a clone.
pub fn clone_implementation(code: &[u8]) -> Option<Address> {
    (code.len() >= 30 && code[..10] == CLONE_PREFIX).then(|| Address::from_slice(&code[10..30]))
}

/// A layer clone's immutable arguments, read from its code: `abi.encode(model, config,
/// tensors)` after the EIP-1167 runtime — what `model()`, `configData()` and `tensors()` return;
/// `None` when they do not decode.
pub fn clone_args(
    code: &[u8],
) -> Option<(
    Address,
    alloy::primitives::Bytes,
    Vec<super::ILayer::WeightTensor>,
)> {
    use alloy::sol_types::SolValue;
    let args = code.get(CLONE_RUNTIME_BYTES..)?;
    <(
        Address,
        alloy::primitives::Bytes,
        Vec<super::ILayer::WeightTensor>,
    )>::abi_decode_params(args)
    .ok()
}

/// Initcode of an EIP-1167 clone of `implementation` with `args` appended to its runtime.
pub fn clone_initcode(implementation: Address, args: &[u8]) -> Result<Vec<u8>, ChainError> {
    let runtime = CLONE_RUNTIME_BYTES + args.len();
    if runtime > MAX_RUNTIME_BYTES {
        return Err(ChainError::Layout(format!(
            "clone arguments are {} bytes; a clone holds at most {} (EIP-170)",
            args.len(),
            MAX_RUNTIME_BYTES - CLONE_RUNTIME_BYTES
        )));
    }
    let mut out = Vec::with_capacity(10 + runtime);
    out.extend_from_slice(&deployer_prefix(runtime));
    out.extend_from_slice(&clone_runtime(implementation, args));
    Ok(out)
}

/// The code an EIP-1167 clone of `implementation` with `args` appended runs: what
/// `eth_getCode` returns at the clone.
pub fn clone_runtime(implementation: Address, args: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(CLONE_RUNTIME_BYTES + args.len());
    out.extend_from_slice(&CLONE_PREFIX);
    out.extend_from_slice(implementation.as_slice());
    out.extend_from_slice(&[
        0x5a, 0xf4, 0x3d, 0x82, 0x80, 0x3e, 0x90, 0x3d, 0x91, 0x60, 0x2b, 0x57, 0xfd, 0x5b, 0xf3,
    ]);
    out.extend_from_slice(args);
    out
}

/// `create2(deployer, salt, initcode_hash)`.
pub fn create2_address(deployer: Address, salt: B256, initcode_hash: B256) -> Address {
    deployer.create2(salt, initcode_hash)
}

/// A blob cut into chunks, with the Merkle commitment over their data-contract initcodes.
#[derive(Clone, Debug)]
pub struct Chunks {
    pub chunk_bytes: usize,
    pub total_bytes: usize,
    /// `keccak256(data_initcode(chunk_i))`, which is also the hash in chunk i's CREATE2 address.
    pub leaves: Vec<B256>,
    /// Tree levels, leaves (padded with zeros to a power of two) first, root last.
    levels: Vec<Vec<B256>>,
}

impl Chunks {
    /// Cuts `blob` into chunks of `chunk_bytes` (a multiple of 32, at most [`MAX_CHUNK_BYTES`]).
    pub fn new(blob: &[u8], chunk_bytes: usize) -> Result<Chunks, ChainError> {
        if chunk_bytes == 0 || !chunk_bytes.is_multiple_of(32) || chunk_bytes > MAX_CHUNK_BYTES {
            return Err(ChainError::Layout(format!(
                "chunk size {chunk_bytes} must be a positive multiple of 32 up to {MAX_CHUNK_BYTES}"
            )));
        }
        let leaves = blob
            .chunks(chunk_bytes)
            .map(|c| data_initcode(c).map(keccak256))
            .collect::<Result<Vec<_>, _>>()?;
        let mut levels = Vec::new();
        if !leaves.is_empty() {
            let width = leaves.len().next_power_of_two();
            let mut level = leaves.clone();
            level.resize(width, B256::ZERO);
            while level.len() > 1 {
                let next = level
                    .chunks(2)
                    .map(|pair| {
                        let mut buf = [0u8; 64];
                        buf[..32].copy_from_slice(pair[0].as_slice());
                        buf[32..].copy_from_slice(pair[1].as_slice());
                        keccak256(buf)
                    })
                    .collect();
                levels.push(std::mem::replace(&mut level, next));
            }
            levels.push(level);
        }
        Ok(Chunks {
            chunk_bytes,
            total_bytes: blob.len(),
            leaves,
            levels,
        })
    }

    pub fn count(&self) -> usize {
        self.leaves.len()
    }

    /// `ceil(log2(count))`, 0 for one chunk (or none).
    pub fn depth(&self) -> usize {
        self.levels.len().saturating_sub(1)
    }

    /// The Merkle root committed at construction (zero when there are no chunks).
    pub fn root(&self) -> B256 {
        self.levels.last().map_or(B256::ZERO, |l| l[0])
    }

    /// Blob byte range of chunk `i`.
    pub fn range(&self, i: usize) -> std::ops::Range<usize> {
        let start = i * self.chunk_bytes;
        start..(start + self.chunk_bytes).min(self.total_bytes)
    }

    /// Siblings of leaf `i`, leaf level first.
    pub fn proof(&self, i: usize) -> Vec<B256> {
        (0..self.depth())
            .map(|k| self.levels[k][(i >> k) ^ 1])
            .collect()
    }

    /// CREATE2 address of chunk `i`'s data contract, created by `model` with salt `bytes32(i)`.
    pub fn address(&self, model: Address, i: usize) -> Address {
        create2_address(
            model,
            B256::from(alloy::primitives::U256::from(i)),
            self.leaves[i],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(v: [i64; 4]) -> [u64; 4] {
        v.map(|x| x as u64)
    }

    #[test]
    fn formats_read_and_print_one_way() {
        for f in WeightFormat::ALL {
            assert_eq!(f.flag().parse::<WeightFormat>(), Ok(f));
            assert_eq!(f.name().parse::<WeightFormat>(), Ok(f));
            assert_eq!(f.to_string().parse::<WeightFormat>(), Ok(f));
            assert_eq!(WeightFormat::from_code(f.code()), Some(f));
            let json = serde_json::to_string(&f).unwrap();
            assert_eq!(json, format!("\"{}\"", f.name()));
            assert_eq!(serde_json::from_str::<WeightFormat>(&json).unwrap(), f);
        }
        assert_eq!("EXACT".parse::<WeightFormat>(), Ok(WeightFormat::Exact));
        assert_eq!(WeightFormat::default(), WeightFormat::Compact);
        let e = "int9".parse::<WeightFormat>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown weight format `int9` (eternalize knows compact, exact, int16, int8)"
        );
        assert_eq!(WeightFormat::from_code(0), None);
        assert_eq!(WeightFormat::from_code(3), Some(WeightFormat::Int16));
        assert_eq!(WeightFormat::from_code(4), Some(WeightFormat::Int8));
        assert_eq!(WeightFormat::from_code(5), None);
    }

    #[test]
    fn per_channel_records_by_hand() {
        const ONE: i64 = 1 << 32;
        // A (2, 2) kernel (channels 0 and 1) then a bias of 2, each padded to a word.
        let words = vec![
            word([ONE, -ONE / 2, ONE / 4, 2 * ONE]),
            word([ONE / 3, -7, 0, 0]),
        ];
        let tensors = [
            TensorSpan::of_shape(0, &[2, 2]),
            TensorSpan::of_shape(4, &[2]),
        ];
        assert_eq!(tensors[0].channels, 2);
        assert_eq!(tensors[1].channels, 0);
        let b = WeightBlob::encode(&words, &tensors, WeightFormat::Int8).unwrap();
        // The bias 1/3 has 31 significant bits: int24 after a shift of 8.
        assert_eq!(
            (b.shifts.clone(), b.offsets.clone()),
            (vec![QUANTIZED, 8], vec![0, 12])
        );
        // Header: 2 channels; scales needed ceil(1.0/127) = 33,818,641 and ceil(2.0/127) =
        // 67,637,281, stored as 517 << 16 and 517 << 17 (u16 codes (16 << 10) | 517 and
        // (17 << 10) | 517); q (row by row) = 127, -32, 32, 127.
        assert_eq!(&b.bytes[0..4], &[0, 0, 0, 2]);
        assert_eq!(&b.bytes[4..6], &((16u16 << 10) | 517).to_be_bytes());
        assert_eq!(&b.bytes[6..8], &((17u16 << 10) | 517).to_be_bytes());
        assert_eq!(&b.bytes[8..12], &[127, (-32i8) as u8, 32, 127]);
        // The bias: (1/3 >> 8) and (-7 >> 8) = -1 as int24.
        assert_eq!(&b.bytes[12..15], &((ONE / 3) >> 8).to_be_bytes()[5..]);
        assert_eq!(&b.bytes[15..18], &[0xff, 0xff, 0xff]);
        assert_eq!(b.bytes.len(), 32, "padded to whole words");
        let kernel = b.record(0, 4, QUANTIZED).unwrap();
        let want = super::super::quant::apply(
            &[ONE, -ONE / 2, ONE / 4, 2 * ONE],
            &[2, 2],
            WeightFormat::Int8,
        );
        assert_eq!(
            Some(kernel.clone()),
            want,
            "the chain decodes what the reference computes with"
        );
        assert_eq!(kernel[0], 127 * (517 << 16));
        let bias = b.record(12, 2, 8).unwrap();
        assert_eq!(
            Some(bias.clone()),
            super::super::quant::apply(&[ONE / 3, -7], &[2], WeightFormat::Int8)
        );
        assert_eq!(bias, vec![i128::from((ONE / 3) >> 8 << 8), -256]);
        assert_eq!(b.place(&tensors, 9), Some((0, 1)));
        assert_eq!(b.place(&tensors, 16), Some((1, 1)));
        assert_eq!(b.place(&tensors, 2), None, "header");
        let b16 = WeightBlob::encode(&words, &tensors, WeightFormat::Int16).unwrap();
        assert_eq!(b16.offsets, vec![0, 16]);
        // int16: 1.0 over the scale 513 << 8 (needed ceil(1.0/32767) = 131,076) = 32,704.5 -> 32,704.
        assert_eq!(&b16.bytes[8..10], &32_704i16.to_be_bytes());
        let bad = [TensorSpan {
            offset: 0,
            length: 3,
            channels: 2,
        }];
        assert!(WeightBlob::encode(&words, &bad, WeightFormat::Int8).is_err());
    }

    #[test]
    fn shift_rule_by_hand() {
        // Everything below 0.5 in magnitude keeps all 32 fraction bits.
        assert_eq!(shift_of([0i64, (1 << 31) - 1, -(1 << 31)]), 32);
        // 0.5 needs one more integer bit: s = 31.
        assert_eq!(shift_of([1i64 << 31]), 31);
        // -0.5 still fits at s = 32 (-2^31 is int32's minimum); -0.5 - 2^-32 does not.
        assert_eq!(shift_of([-(1i64 << 31)]), 32);
        assert_eq!(shift_of([-(1i64 << 31) - 1]), 31);
        // 3.0 = 3 << 32 has 34 significant bits: k = 3, s = 29.
        assert_eq!(shift_of([3i64 << 32]), 29);
        assert_eq!(shift_of([i64::MAX]), 0);
        assert_eq!(shift_of([i64::MIN]), 0);
        assert_eq!(shift_of(std::iter::empty()), 32);
        // Floor rounding: -1 (= -2^-32) at s = 29 stores -1, decodes to -8.
        assert_eq!(encode_int32(-1, 29), -1);
        assert_eq!(decode_int32(-1, 29), -8);
        assert_eq!(encode_int32(3 << 32, 29), 3 << 29);
        assert_eq!(decode_int32(3 << 29, 29), 3 << 32);
    }

    #[test]
    fn blobs_by_hand() {
        // Two tensors: 3 values (word 0, one padding slot) and 2 values (word 1, two padding).
        let words = vec![word([1 << 32, -1, 5, 99]), word([-(3 << 32), 7, 11, 13])];
        let tensors = [TensorSpan::of_shape(0, &[3]), TensorSpan::of_shape(4, &[2])];
        let q = WeightBlob::encode(&words, &tensors, WeightFormat::Exact).unwrap();
        assert_eq!(q.bytes.len(), 64);
        assert_eq!(&q.bytes[0..8], &(1i64 << 32).to_be_bytes());
        assert_eq!(&q.bytes[8..16], &[0xff; 8]);
        assert_eq!(
            &q.bytes[24..32],
            &99i64.to_be_bytes(),
            "Q32_32 is the words as-is"
        );
        assert_eq!(q.shifts, vec![32, 32]);

        let c = WeightBlob::encode(&words, &tensors, WeightFormat::Compact).unwrap();
        assert_eq!(c.bytes.len(), 32);
        // Tensor 0: max 1.0 = 2^32 (33 bits) -> k = 2, s = 30.
        assert_eq!(c.shifts, vec![30, 29]);
        assert_eq!(&c.bytes[0..4], &(1i32 << 30).to_be_bytes());
        assert_eq!(&c.bytes[4..8], &(-1i32).to_be_bytes());
        assert_eq!(&c.bytes[8..12], &1i32.to_be_bytes()); // 5 >> 2
        assert_eq!(&c.bytes[12..16], &[0; 4], "padding slot is zero");
        assert_eq!(&c.bytes[16..20], &(-3i32 << 29).to_be_bytes());
        assert_eq!(&c.bytes[20..24], &0i32.to_be_bytes()); // 7 >> 3
        assert_eq!(&c.bytes[24..32], &[0; 8]);
        assert_eq!(c.decode(1, 30), -4);
        assert_eq!(c.decode(4, 29), -(3 << 32));
        assert_eq!(q.decode(1, 32), -1);

        let bad = [TensorSpan::of_shape(6, &[3])];
        assert!(WeightBlob::encode(&words, &bad, WeightFormat::Compact).is_err());
        let overlap = [TensorSpan::of_shape(0, &[3]), TensorSpan::of_shape(2, &[1])];
        assert!(WeightBlob::encode(&words, &overlap, WeightFormat::Compact).is_err());
    }

    #[test]
    fn initcodes_by_hand() {
        let d = data_initcode(&[0xaa, 0xbb]).unwrap();
        assert_eq!(
            d,
            vec![
                0x61, 0, 3, 0x80, 0x60, 0x0a, 0x5f, 0x39, 0x5f, 0xf3, 0, 0xaa, 0xbb
            ]
        );
        let imp = Address::repeat_byte(0x11);
        let c = clone_initcode(imp, &[0xcc]).unwrap();
        assert_eq!(&c[..3], &[0x61, 0, 46]);
        assert_eq!(
            alloy::primitives::hex::encode(&c[10..]),
            format!(
                "363d3d373d3d3d363d73{}5af43d82803e903d91602b57fd5bf3cc",
                "11".repeat(20)
            )
        );
        assert!(data_initcode(&vec![0; 24_575]).is_ok());
        assert!(data_initcode(&vec![0; 24_576]).is_err());
    }

    #[test]
    fn merkle_by_hand() {
        let blob: Vec<u8> = (0..200u8).collect();
        let chunks = Chunks::new(&blob, 64).unwrap();
        assert_eq!(chunks.count(), 4);
        assert_eq!(chunks.range(3), 192..200);
        assert_eq!(chunks.depth(), 2);
        let leaf = |r: std::ops::Range<usize>| keccak256(data_initcode(&blob[r]).unwrap());
        let pair = |a: B256, b: B256| keccak256([a.as_slice(), b.as_slice()].concat());
        let (l0, l1, l2, l3) = (leaf(0..64), leaf(64..128), leaf(128..192), leaf(192..200));
        let root = pair(pair(l0, l1), pair(l2, l3));
        assert_eq!(chunks.root(), root);
        assert_eq!(chunks.proof(2), vec![l3, pair(l0, l1)]);
        assert_eq!(chunks.proof(1), vec![l0, pair(l2, l3)]);

        // Three leaves: the fourth is zero.
        let three = Chunks::new(&blob[..160], 64).unwrap();
        let (m0, m1, m2) = (
            leaf(0..64),
            leaf(64..128),
            keccak256(data_initcode(&blob[128..160]).unwrap()),
        );
        assert_eq!(three.root(), pair(pair(m0, m1), pair(m2, B256::ZERO)));
        assert_eq!(three.proof(2), vec![B256::ZERO, pair(m0, m1)]);

        let one = Chunks::new(&blob[..32], 64).unwrap();
        assert_eq!((one.depth(), one.root()), (0, leaf(0..32)));
        assert!(one.proof(0).is_empty());
        let none = Chunks::new(&[], MAX_CHUNK_BYTES).unwrap();
        assert_eq!((none.count(), none.root()), (0, B256::ZERO));
        assert!(Chunks::new(&blob, 48).is_err());
        assert!(Chunks::new(&blob, MAX_CHUNK_BYTES + 32).is_err());
    }

    #[test]
    fn create2_by_hand() {
        // EIP-1014 example 1: deployer 0, salt 0, initcode 0x00.
        let a = create2_address(Address::ZERO, B256::ZERO, keccak256([0u8]));
        assert_eq!(
            a,
            "0x4D1A2e2bB4F88F0250f26Ffff098B0b30B26BF38"
                .parse::<Address>()
                .unwrap()
        );
    }
}
