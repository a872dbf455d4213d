//! The byte-exact side of on-chain jobs (`contracts/EternalJobs.sol`): the packed *state* a job
//! step carries as calldata (live tensors as int64 Q32.32), the job id, the job contract's
//! address, the calldata gas of a state, and the state sequence the Rust reference predicts.
//!
//! Owns: the state encoding of contracts/README.md ("On-chain jobs") and the liveness rule.
//! Must not touch: the network, the engine, the screen.

use alloy::primitives::{Address, B256, U256, keccak256};
use alloy::sol_types::SolValue;

use super::ChainError;

/// Tag bit of a model input still waiting for its InputLayer (the low bits name that layer).
pub const INPUT_TAG: u32 = 1 << 31;
/// Tag bit of a layer's output computed in part, slice by slice (`EternalJobs.stepSlice`).
pub const PARTIAL_TAG: u32 = 1 << 30;
/// Tag bit of an entry carried by row hashes: after its dims, `first u32 ‖ last u32`, the
/// keccak256 of each row before `first`, the values of rows `[first, last)`, the keccak256 of
/// each row from `last` on (rank ≥ 2 only). A step sends only the rows it reads.
pub const HASHED_TAG: u32 = 1 << 29;
/// Tag bit (with [`PARTIAL_TAG`]) of a Conv2D output row computed in blocks of its output
/// channels: `[1, ow, done]`, the row's first `done` channels, always the state's last entry and
/// always sent open. The block that completes the row folds it into the partial entry as a row.
pub const BLOCK_TAG: u32 = 1 << 28;

/// One live tensor of a state: whose output it is, its shape, its Q32.32 values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub tag: u32,
    pub shape: Vec<usize>,
    pub values: Vec<i64>,
}

/// Why bytes are not a state, or a tensor cannot be packed into one.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum StateError {
    #[error("the job state is malformed at byte {0}")]
    Malformed(usize),
    #[error(
        "value {index} of tensor {tag} is {value}, outside the int64 a job state carries (|x| ≥ 2^31 in real terms)"
    )]
    OutOfRange { tag: u32, index: usize, value: i128 },
    #[error("tensor {tag} has a shape a job state cannot carry (rank > 255 or a dimension ≥ 2^32)")]
    Shape { tag: u32 },
}

/// Packs entries in order: `tag u32 ‖ rank u8 ‖ dims u32… ‖ values i64…`, big-endian.
pub fn encode(entries: &[Entry]) -> Result<Vec<u8>, StateError> {
    let mut out = Vec::new();
    for e in entries {
        head(&mut out, e.tag, &e.shape)?;
        for v in &e.values {
            out.extend_from_slice(&v.to_be_bytes());
        }
    }
    Ok(out)
}

/// Unpacks a state (the inverse of [`encode`], with the contract's checks).
pub fn decode(bytes: &[u8]) -> Result<Vec<Entry>, StateError> {
    let mut at = 0;
    let mut out = Vec::new();
    while at < bytes.len() {
        let bad = StateError::Malformed(at);
        let head = bytes.get(at..at + 5).ok_or(bad.clone())?;
        let tag = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        if tag & HASHED_TAG != 0 {
            // An open state only: entries carried by row hashes are what `carry` makes.
            return Err(bad);
        }
        let rank = head[4] as usize;
        let mut p = at + 5;
        let mut shape = Vec::with_capacity(rank);
        for _ in 0..rank {
            let d = bytes.get(p..p + 4).ok_or(bad.clone())?;
            shape.push(u32::from_be_bytes([d[0], d[1], d[2], d[3]]) as usize);
            p += 4;
        }
        let size = shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .filter(|&s| s <= bytes.len())
            .ok_or(bad.clone())?;
        let raw = bytes.get(p..p + 8 * size).ok_or(bad)?;
        let values = raw
            .chunks_exact(8)
            .map(|c| i64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect();
        out.push(Entry { tag, shape, values });
        at = p + 8 * size;
    }
    Ok(out)
}

/// The rows (first axis) an entry of rank ≥ 2 is hashed by, and the values in each; `None`
/// for rank 0 or 1 (carried whole).
pub fn rows_of(e: &Entry) -> Option<(usize, usize)> {
    match e.shape.as_slice() {
        [rows, _, ..] if *rows > 0 => Some((*rows, e.values.len() / rows)),
        [_, _, ..] => Some((0, 0)),
        _ => None,
    }
}

fn row_hash(values: &[i64]) -> B256 {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_be_bytes()).collect();
    keccak256(bytes)
}

fn head(out: &mut Vec<u8>, tag: u32, shape: &[usize]) -> Result<(), StateError> {
    let rank = u8::try_from(shape.len()).map_err(|_| StateError::Shape { tag })?;
    out.extend_from_slice(&tag.to_be_bytes());
    out.push(rank);
    for &d in shape {
        let d = u32::try_from(d).map_err(|_| StateError::Shape { tag })?;
        out.extend_from_slice(&d.to_be_bytes());
    }
    Ok(())
}

/// The digest of an open state: each entry's header, then for rank ≥ 2 the keccak256 of each
/// row, else its values. A job commits to `keccak256(digest)` ([`commitment`]) — the
/// contract's `commitment`, byte for byte.
pub fn digest(state: &[u8]) -> Result<Vec<u8>, StateError> {
    let mut out = Vec::new();
    for e in decode(state)? {
        match rows_of(&e) {
            None => out.extend(encode(std::slice::from_ref(&e))?),
            Some((rows, per)) => {
                head(&mut out, e.tag, &e.shape)?;
                for r in 0..rows {
                    out.extend_from_slice(row_hash(&e.values[r * per..(r + 1) * per]).as_slice());
                }
            }
        }
    }
    Ok(out)
}

/// What a job commits to for an open state: `keccak256(digest(state))`.
pub fn commitment(state: &[u8]) -> Result<B256, StateError> {
    Ok(keccak256(digest(state)?))
}

/// The form of an open state a step sends: every entry of rank ≥ 2 carried by its row hashes
/// but for the rows `open(tag)` names (`[first, last)`; all of them: the entry as it is), every
/// other entry as it is. Its commitment is the open state's.
pub fn carry(
    state: &[u8],
    open: impl Fn(u32) -> Option<(usize, usize)>,
) -> Result<Vec<u8>, StateError> {
    let mut out = Vec::new();
    for e in decode(state)? {
        let Some((rows, per)) = rows_of(&e) else {
            out.extend(encode(std::slice::from_ref(&e))?);
            continue;
        };
        let (first, last) = match open(e.tag) {
            Some((a, b)) => (a.min(rows), b.min(rows).max(a.min(rows))),
            None => (0, 0),
        };
        if (first, last) == (0, rows) {
            out.extend(encode(std::slice::from_ref(&e))?);
            continue;
        }
        head(&mut out, e.tag | HASHED_TAG, &e.shape)?;
        out.extend_from_slice(&(first as u32).to_be_bytes());
        out.extend_from_slice(&(last as u32).to_be_bytes());
        for r in 0..rows {
            let row = &e.values[r * per..(r + 1) * per];
            if (first..last).contains(&r) {
                for v in row {
                    out.extend_from_slice(&v.to_be_bytes());
                }
            } else {
                out.extend_from_slice(row_hash(row).as_slice());
            }
        }
    }
    Ok(out)
}

/// One entry of a carried state: its tag (without `HASHED_TAG`), shape, and for one carried
/// by row hashes its open rows `[first, last)`.
pub type CarriedEntry = (u32, Vec<usize>, Option<(usize, usize)>);

/// The entries of a state as a step sends it (`carry`'s output).
pub fn carried_entries(bytes: &[u8]) -> Result<Vec<CarriedEntry>, StateError> {
    let u32_at = |p: usize| -> Result<u32, StateError> {
        let b = bytes.get(p..p + 4).ok_or(StateError::Malformed(p))?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let tag = u32_at(at)?;
        let rank = *bytes.get(at + 4).ok_or(StateError::Malformed(at))? as usize;
        let mut p = at + 5;
        let mut shape = Vec::with_capacity(rank);
        for _ in 0..rank {
            shape.push(u32_at(p)? as usize);
            p += 4;
        }
        let size: usize = shape.iter().product();
        if tag & HASHED_TAG == 0 {
            out.push((tag, shape, None));
            at = p + 8 * size;
        } else {
            let (first, last) = (u32_at(p)? as usize, u32_at(p + 4)? as usize);
            let rows = shape.first().copied().unwrap_or(0);
            let per = size.checked_div(rows).unwrap_or(0);
            at = p + 8 + 32 * (rows - (last - first).min(rows)) + 8 * per * (last - first);
            out.push((tag ^ HASHED_TAG, shape, Some((first, last))));
        }
    }
    if at != bytes.len() {
        return Err(StateError::Malformed(at));
    }
    Ok(out)
}

/// An entry from a reference tensor (i128 Q32.32), refused when a value leaves int64.
pub fn entry(tag: u32, shape: &[usize], data: &[i128]) -> Result<Entry, StateError> {
    let values = data
        .iter()
        .enumerate()
        .map(|(index, &v)| {
            i64::try_from(v).map_err(|_| StateError::OutOfRange {
                tag,
                index,
                value: v,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Entry {
        tag,
        shape: shape.to_vec(),
        values,
    })
}

/// Whether, after layers `[0, end)` ran, the tensor tagged `tag` is still live: a model input
/// whose InputLayer has not run, or a layer output read at or after `end` or read by no layer
/// (a model output). `inputs[k]` are layer k's input layers. The contract's rule exactly.
pub fn still_live(inputs: &[Vec<usize>], tag: u32, end: usize) -> bool {
    if tag & INPUT_TAG != 0 {
        return ((tag ^ INPUT_TAG) as usize) >= end;
    }
    let j = tag as usize;
    let mut read_at_all = false;
    for (k, ins) in inputs.iter().enumerate().skip(j + 1) {
        if ins.contains(&j) {
            if k >= end {
                return true;
            }
            read_at_all = true;
        }
    }
    !read_at_all
}

/// The job id `startJob` gives `starter` for `salt`: `keccak256(abi.encode(starter, salt))`.
pub fn job_id(starter: Address, salt: B256) -> U256 {
    U256::from_be_bytes(keccak256((starter, salt).abi_encode_params()).0)
}

/// The job contract's address on every chain that has the CREATE2 deployer.
pub fn jobs_address() -> Result<Address, ChainError> {
    Ok(super::bindings::jobs_address())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_round_trips_and_is_packed_as_documented() {
        let entries = vec![
            Entry {
                tag: INPUT_TAG,
                shape: vec![2],
                values: vec![1 << 32, -1],
            },
            Entry {
                tag: 3,
                shape: vec![],
                values: vec![7],
            },
        ];
        let bytes = encode(&entries).unwrap();
        assert_eq!(bytes.len(), (5 + 4 + 16) + (5 + 8));
        assert_eq!(&bytes[..9], &[0x80, 0, 0, 0, 1, 0, 0, 0, 2]);
        assert_eq!(&bytes[9..17], &[0, 0, 0, 1, 0, 0, 0, 0]);
        assert_eq!(&bytes[17..25], &[0xff; 8]);
        assert_eq!(decode(&bytes).unwrap(), entries);
        assert_eq!(
            decode(&bytes[..bytes.len() - 1]),
            Err(StateError::Malformed(25))
        );
    }

    #[test]
    fn a_carried_state_commits_like_the_open_one_and_sends_only_its_open_rows() {
        let image = Entry {
            tag: 0,
            shape: vec![3, 2],
            values: vec![1, 2, 3, 4, 5, 6],
        };
        let vector = Entry {
            tag: 1,
            shape: vec![2],
            values: vec![7, -8],
        };
        let open = encode(&[image.clone(), vector.clone()]).unwrap();
        let row = |a: i64, b: i64| keccak256([a.to_be_bytes(), b.to_be_bytes()].concat());
        // The digest: the image's header and its three row hashes; the vector as it is.
        let mut want = open[..13].to_vec();
        for r in 0..3 {
            want.extend_from_slice(row(2 * r + 1, 2 * r + 2).as_slice());
        }
        want.extend_from_slice(&open[13 + 48..]);
        assert_eq!(digest(&open).unwrap(), want);
        // Row 1 open: hash, values, hash; the tag marked; the vector whole.
        let carried = carry(&open, |t| (t == 0).then_some((1, 2))).unwrap();
        assert_eq!(carried.len(), 13 + 8 + 32 + 16 + 32 + (5 + 4 + 16));
        assert_eq!(&carried[..4], &(HASHED_TAG).to_be_bytes());
        assert_eq!(&carried[13..21], &[0, 0, 0, 1, 0, 0, 0, 2]);
        assert_eq!(&carried[21..53], row(1, 2).as_slice());
        assert_eq!(
            &carried[53..69],
            &[3i64.to_be_bytes(), 4i64.to_be_bytes()].concat()[..]
        );
        assert_eq!(
            carried_entries(&carried).unwrap(),
            vec![(0, vec![3, 2], Some((1, 2))), (1, vec![2], None)]
        );
        // Everything open is the open state; an open state is not decoded from a carried one.
        assert_eq!(carry(&open, |_| Some((0, usize::MAX))).unwrap(), open);
        assert_eq!(decode(&carried), Err(StateError::Malformed(0)));
        // One ulp anywhere moves the commitment.
        let mut forged = image;
        forged.values[5] += 1;
        let forged = encode(&[forged, vector]).unwrap();
        assert_ne!(commitment(&forged).unwrap(), commitment(&open).unwrap());
    }

    #[test]
    fn values_outside_int64_are_refused_with_their_place() {
        let e = entry(4, &[2], &[1, i128::from(i64::MAX) + 1]).unwrap_err();
        assert!(matches!(
            e,
            StateError::OutOfRange {
                tag: 4,
                index: 1,
                ..
            }
        ));
    }

    #[test]
    fn liveness_keeps_unread_outputs_and_drops_consumed_tensors() {
        // 0 input → 1 → 2, and 1 → 3 (2 and 3 are outputs).
        let inputs = vec![vec![], vec![0], vec![1], vec![1]];
        assert!(still_live(&inputs, INPUT_TAG, 0));
        assert!(!still_live(&inputs, INPUT_TAG, 1));
        assert!(still_live(&inputs, 1, 3));
        assert!(!still_live(&inputs, 1, 4));
        assert!(!still_live(&inputs, 0, 2));
        assert!(still_live(&inputs, 2, 4));
    }
}
