//! HDF5 access for Keras weight files: a thin, path-based wrapper over the pure-Rust
//! [`hdf5_reader`] crate (no C library, no build script).
//!
//! Only what the Keras reader needs: walk groups, read string / numeric attributes, and read
//! floating-point datasets as `f32`. Every failure is an [`H5Error`] naming the object path and
//! what was wrong; nothing here panics on file data.
//!
//! Hardening on top of the crate's own bounds checks:
//! - one read may allocate at most [`H5File::read_limit`] bytes (4 × file length + 1 MiB;
//!   Keras never compresses weights, so real data is never larger than the file);
//! - all reads together may keep at most the file's budget ([`H5File::set_budget`]: what the
//!   model config declares plus a margin), checked before each read allocates, so one dataset
//!   linked a thousand times is refused after the budget, not read a thousand times;
//! - object headers are capped at the file length;
//! - paths deeper than [`MAX_DEPTH`] components are refused, so a recursive walk over a file
//!   whose groups link back to an ancestor (legal in HDF5) ends with an error;
//! - child names that are empty, `.` or contain `/` (only seen in damaged files) are errors.

use hdf5_reader::Storage;
use hdf5_reader::error::Error as LibError;
use hdf5_reader::{Attribute, ByteOrder, Datatype, Hdf5File, OpenOptions, StringSize, VarLenKind};

/// Deepest path (in components) any call accepts.
pub const MAX_DEPTH: usize = 64;

/// What went wrong reading an HDF5 file.
#[derive(Debug, thiserror::Error)]
pub enum H5Error {
    /// The superblock or root group could not be read.
    #[error("not a readable HDF5 file ({len} bytes): {source}")]
    Open { len: usize, source: LibError },
    /// No group or dataset at this path.
    #[error("{path}: no such group or dataset")]
    NotFound { path: String },
    /// The path names a dataset where a group was needed.
    #[error("{path}: is a dataset, not a group")]
    NotAGroup { path: String },
    /// The path names a group where a dataset was needed.
    #[error("{path}: is a group, not a dataset")]
    NotADataset { path: String },
    /// A path with more than [`MAX_DEPTH`] components.
    #[error("{path}: path has {depth} components, more than the {max} allowed")]
    TooDeep {
        path: String,
        depth: usize,
        max: usize,
    },
    /// A group member name no valid file holds.
    #[error("{path}: group holds a member with an invalid name {name:?}")]
    BadName { path: String, name: String },
    /// The object exists but part of it could not be decoded.
    #[error("{path}: cannot read {what}: {source}")]
    Read {
        path: String,
        what: String,
        source: LibError,
    },
    /// The dataset's element type is not a floating-point type convertible to f32.
    #[error(
        "{path}: dataset has element type {dtype}, expected a number (float32, float64, float16, bfloat16 marked by a `dtype` attribute as Keras 3 writes it, or an integer of 1–8 bytes)"
    )]
    Dtype { path: String, dtype: String },
    /// Reading this dataset would pass the budget the model config sets.
    #[error(
        "{path}: dataset of {bytes} bytes (as f32) would take the weights read from this file past {budget} bytes, what its model config declares plus the margin ({used} bytes already read); refusing to read it"
    )]
    OverBudget {
        path: String,
        bytes: u128,
        budget: u64,
        used: u64,
    },
    /// The dataset's declared size is impossible for this file.
    #[error(
        "{path}: dataset declares shape {shape:?} of {elem_size}-byte elements ({bytes} bytes), more than the {limit} bytes a read of this {file_len}-byte file may take"
    )]
    TooLarge {
        path: String,
        shape: Vec<u64>,
        elem_size: usize,
        bytes: u128,
        limit: usize,
        file_len: usize,
    },
}

/// Kind of a group member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    Group,
    Dataset,
}

/// An attribute value, as far as the Keras reader cares.
#[derive(Debug, Clone, PartialEq)]
pub enum Attr {
    /// A scalar string (fixed-length or variable-length).
    Str(String),
    /// An array of strings (fixed-length or variable-length), flattened.
    Strs(Vec<String>),
    /// Floating-point values (scalar or array, flattened), e.g. an empty `weight_names`.
    F64s(Vec<f64>),
    /// Integer values (scalar or array, flattened).
    I64s(Vec<i64>),
    /// Any other type (compound, reference, float16, u64 above i64::MAX, ...).
    Other,
}

/// A dataset read as f32, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct ArrayF32 {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// An HDF5 file held in memory (or read from disk on demand, see [`H5File::open`]).
pub struct H5File {
    file: Hdf5File,
    len: usize,
    /// Most bytes of f32 values all reads together may return, and how many they have.
    budget: u64,
    used: std::cell::Cell<u64>,
}

/// A byte range of an owned buffer: a zip entry stored in place, read without a copy.
struct Region {
    bytes: Vec<u8>,
    range: std::ops::Range<usize>,
}

impl AsRef<[u8]> for Region {
    fn as_ref(&self) -> &[u8] {
        // The range was checked against the buffer when the region was made.
        self.bytes.get(self.range.clone()).unwrap_or(&[])
    }
}

/// Bytes `[base, base + len)` of a file on disk, addressed from 0.
struct Window {
    inner: hdf5_reader::FileStorage,
    base: u64,
    len: u64,
}

impl Storage for Window {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_range(&self, offset: u64, len: usize) -> Result<hdf5_reader::StorageBuffer, LibError> {
        let needed = len as u64;
        if offset.checked_add(needed).is_none_or(|end| end > self.len) {
            return Err(LibError::UnexpectedEof {
                offset,
                needed,
                available: self.len.saturating_sub(offset),
            });
        }
        self.inner.read_range(self.base + offset, len)
    }
}

enum Node {
    Group(hdf5_reader::group::Group),
    Dataset(Box<hdf5_reader::Dataset>),
}

/// What one stored element of a dataset [`H5File::read_f32`] reads is.
#[derive(Clone, Copy)]
enum Elem {
    /// IEEE float of 2, 4 or 8 bytes.
    Float(u8),
    /// bfloat16 (2-byte opaque data marked by Keras 3's `dtype` attribute).
    BFloat16,
    /// An integer of 1, 2, 4 or 8 bytes.
    Int { size: u8, signed: bool },
}

impl H5File {
    /// Parses the superblock and root group of an in-memory HDF5 file.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, H5Error> {
        let len = bytes.len();
        Self::with(len, |o| Hdf5File::from_vec_with_options(bytes, o))
    }

    /// Parses the HDF5 file held in `bytes[range]` (a zip entry stored uncompressed) without
    /// copying it. A range outside `bytes` is an empty file.
    pub fn from_region(bytes: Vec<u8>, range: std::ops::Range<usize>) -> Result<Self, H5Error> {
        let range = if range.start <= range.end && range.end <= bytes.len() {
            range
        } else {
            0..0
        };
        let len = range.len();
        Self::with(len, |o| Hdf5File::from_owner(Region { bytes, range }, o))
    }

    /// Parses the HDF5 file at bytes `[start, start + len)` of `file` (a zip entry stored
    /// uncompressed in a `.keras` file, or a whole scratch file), reading from disk only what
    /// is asked for: the file is never held in memory.
    pub fn from_file_region(file: std::fs::File, start: u64, len: u64) -> Result<Self, H5Error> {
        let open = |source| H5Error::Open {
            len: usize::try_from(len).unwrap_or(usize::MAX),
            source,
        };
        let inner = hdf5_reader::FileStorage::from_file(file).map_err(open)?;
        if start.checked_add(len).is_none_or(|end| end > inner.len()) {
            return Err(open(LibError::UnexpectedEof {
                offset: start,
                needed: len,
                available: inner.len().saturating_sub(start),
            }));
        }
        let window = Window {
            inner,
            base: start,
            len,
        };
        Self::with(usize::try_from(len).unwrap_or(usize::MAX), |o| {
            Hdf5File::from_storage_with_options(std::sync::Arc::new(window), o)
        })
    }

    /// Opens the HDF5 file at `path`, reading from disk only what is asked for (the Pick
    /// screen's sniff reads the config attribute, never the weights).
    pub fn open(path: &std::path::Path) -> Result<Self, H5Error> {
        let len = std::fs::metadata(path)
            .map(|m| usize::try_from(m.len()).unwrap_or(usize::MAX))
            .map_err(|e| H5Error::Open {
                len: 0,
                source: LibError::Io(e),
            })?;
        Self::with(len, |o| Hdf5File::open_with_options(path, o))
    }

    fn with(
        len: usize,
        open: impl FnOnce(OpenOptions) -> Result<Hdf5File, LibError>,
    ) -> Result<Self, H5Error> {
        let limit = read_limit(len);
        let options = OpenOptions::default()
            .with_max_read_bytes(limit)
            .with_max_chunk_bytes(limit)
            .with_max_object_header_bytes(len.max(4096));
        let file = open(options).map_err(|source| H5Error::Open { len, source })?;
        file.root_group()
            .map_err(|source| H5Error::Open { len, source })?;
        Ok(H5File {
            file,
            len,
            budget: u64::MAX,
            used: std::cell::Cell::new(0),
        })
    }

    /// Caps what all later reads together may return, in bytes of f32 values.
    pub fn set_budget(&mut self, bytes: u64) {
        self.budget = bytes;
    }

    /// Length of the file in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the file is empty (never true for an opened file).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Most bytes one dataset read may allocate.
    pub fn read_limit(&self) -> usize {
        read_limit(self.len)
    }

    /// Members of the group at `path` ("/" or "" is the root), sorted by name bytes, which is
    /// the stored order of old-style (symbol-table) groups, e.g. `0, 1, 10, 2`.
    pub fn children(&self, path: &str) -> Result<Vec<(String, NodeKind)>, H5Error> {
        let shown = normalize(path)?;
        let group = match self.node(path)? {
            Node::Group(g) => g,
            Node::Dataset(_) => return Err(H5Error::NotAGroup { path: shown }),
        };
        let (groups, datasets) = group.member_names().map_err(|source| H5Error::Read {
            path: shown.clone(),
            what: "group members".into(),
            source,
        })?;
        let mut out: Vec<(String, NodeKind)> = groups
            .into_iter()
            .map(|n| (n, NodeKind::Group))
            .chain(datasets.into_iter().map(|n| (n, NodeKind::Dataset)))
            .collect();
        if let Some((bad, _)) = out
            .iter()
            .find(|(n, _)| n.is_empty() || n == "." || n.contains('/'))
        {
            return Err(H5Error::BadName {
                path: shown,
                name: bad.clone(),
            });
        }
        out.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        Ok(out)
    }

    /// Whether a group or dataset exists at `path`. Damaged objects count as absent.
    pub fn exists(&self, path: &str) -> bool {
        self.node(path).is_ok()
    }

    /// The attribute `name` of the group or dataset at `path`; `Ok(None)` if it has none.
    pub fn attr(&self, path: &str, name: &str) -> Result<Option<Attr>, H5Error> {
        let shown = normalize(path)?;
        let attrs = match self.node(path)? {
            Node::Group(g) => g.attributes().map_err(|source| H5Error::Read {
                path: shown.clone(),
                what: "attributes".into(),
                source,
            })?,
            Node::Dataset(d) => d.attributes(),
        };
        let Some(a) = attrs.into_iter().find(|a| a.name == name) else {
            return Ok(None);
        };
        convert_attr(&a).map(Some).map_err(|source| H5Error::Read {
            path: shown,
            what: format!("attribute '{name}'"),
            source,
        })
    }

    /// Reads the float dataset at `path` as f32 (float64 and float16 are converted).
    pub fn read_f32(&self, path: &str) -> Result<ArrayF32, H5Error> {
        let shown = normalize(path)?;
        let ds = match self.node(path)? {
            Node::Dataset(d) => d,
            Node::Group(_) => return Err(H5Error::NotADataset { path: shown }),
        };
        // bfloat16 has no HDF5 type: h5py stores it as 2-byte opaque data, and Keras 3 says
        // what it is in the dataset's `dtype` attribute.
        let bfloat16 =
            || matches!(self.attr(path, "dtype"), Ok(Some(Attr::Str(ref t))) if t == "bfloat16");
        let (elem, order) = match ds.dtype() {
            Datatype::FloatingPoint { size, byte_order } if matches!(size, 2 | 4 | 8) => {
                (Elem::Float(*size), *byte_order)
            }
            Datatype::Opaque { size: 2, .. } if bfloat16() => {
                (Elem::BFloat16, ByteOrder::LittleEndian)
            }
            // Integer datasets (a Normalization layer's `count`) widen to f32 like floats do.
            Datatype::FixedPoint {
                size,
                signed,
                byte_order,
            } if matches!(size, 1 | 2 | 4 | 8) => (
                Elem::Int {
                    size: *size,
                    signed: *signed,
                },
                *byte_order,
            ),
            other => {
                return Err(H5Error::Dtype {
                    path: shown,
                    dtype: describe(other),
                });
            }
        };
        let dims = ds.shape().to_vec();
        let count = dims
            .iter()
            .fold(1u128, |acc, &d| acc.saturating_mul(u128::from(d)));
        let elem_size = match elem {
            Elem::Float(size) | Elem::Int { size, .. } => size,
            Elem::BFloat16 => 2,
        };
        let bytes = count.saturating_mul(u128::from(elem_size));
        let limit = self.read_limit();
        let too_large = || H5Error::TooLarge {
            path: shown.clone(),
            shape: dims.clone(),
            elem_size: usize::from(elem_size),
            bytes,
            limit,
            file_len: self.len,
        };
        if bytes > limit as u128 {
            return Err(too_large());
        }
        let kept = count.saturating_mul(4);
        let used = self.used.get();
        if kept > u128::from(self.budget.saturating_sub(used)) {
            return Err(H5Error::OverBudget {
                path: shown,
                bytes: kept,
                budget: self.budget,
                used,
            });
        }
        // `kept` fits in the budget, a u64.
        self.used.set(used.saturating_add(kept as u64));
        let n = usize::try_from(count).map_err(|_| too_large())?;
        let shape = dims
            .iter()
            .map(|&d| usize::try_from(d))
            .collect::<Result<Vec<usize>, _>>()
            .map_err(|_| too_large())?;
        let read_err = |source| H5Error::Read {
            path: shown.clone(),
            what: "dataset values".into(),
            source,
        };
        let data: Vec<f32> = match elem {
            Elem::Float(4) => {
                // Little-endian f32 on a little-endian host is a straight memcpy into `data`.
                let mut data = vec![0f32; n];
                ds.read_into::<f32>(&mut data).map_err(read_err)?;
                data
            }
            Elem::Float(8) => {
                let mut wide = vec![0f64; n];
                ds.read_into::<f64>(&mut wide).map_err(read_err)?;
                // Narrowing f64 → f32 is the documented conversion.
                wide.into_iter().map(|x| x as f32).collect()
            }
            Elem::Int { size, signed } => {
                let width = usize::from(size);
                let raw = ds.read_raw_bytes().map_err(read_err)?;
                raw.chunks_exact(width)
                    .map(|c| {
                        let mut b = [0u8; 8];
                        if order == ByteOrder::BigEndian {
                            b[8 - width..].copy_from_slice(c);
                            b.reverse();
                        } else {
                            b[..width].copy_from_slice(c);
                        }
                        let bits = u64::from_le_bytes(b);
                        if signed {
                            // Sign-extend from `width` bytes.
                            let shift = 64 - 8 * width as u32;
                            ((bits << shift) as i64 >> shift) as f32
                        } else {
                            bits as f32
                        }
                    })
                    .collect()
            }
            // bfloat16: the high half of an f32.
            Elem::BFloat16 => {
                let raw = ds.read_raw_bytes().map_err(read_err)?;
                raw.chunks_exact(2)
                    .map(|c| f32::from_bits(u32::from(u16::from_le_bytes([c[0], c[1]])) << 16))
                    .collect()
            }
            // float16.
            Elem::Float(_) => {
                let raw = ds.read_raw_bytes().map_err(read_err)?;
                raw.chunks_exact(2)
                    .map(|c| {
                        let b = [c[0], c[1]];
                        f16_to_f32(if order == ByteOrder::BigEndian {
                            u16::from_be_bytes(b)
                        } else {
                            u16::from_le_bytes(b)
                        })
                    })
                    .collect()
            }
        };
        if data.len() as u128 != count {
            return Err(H5Error::Read {
                path: shown,
                what: "dataset values".into(),
                source: LibError::InvalidData(format!(
                    "shape {:?} needs {count} values, got {}",
                    dims,
                    data.len()
                )),
            });
        }
        Ok(ArrayF32 { shape, data })
    }

    /// Resolves `path` to a group or dataset.
    fn node(&self, path: &str) -> Result<Node, H5Error> {
        let shown = normalize(path)?;
        if shown == "/" {
            return self
                .file
                .root_group()
                .map(Node::Group)
                .map_err(|source| H5Error::Read {
                    path: shown,
                    what: "root group".into(),
                    source,
                });
        }
        // Resolve the parent, then look the last component up among its members, so that a
        // missing object is NotFound and a damaged one is a Read error.
        let (parent, leaf) = shown.rsplit_once('/').unwrap_or(("", shown.as_str()));
        let parent_group = if parent.is_empty() {
            self.file.root_group()
        } else {
            self.file.group(parent)
        }
        .map_err(|source| match source {
            LibError::GroupNotFound(_) => H5Error::NotFound {
                path: parent.to_string(),
            },
            source => H5Error::Read {
                path: parent.to_string(),
                what: "group".into(),
                source,
            },
        })?;
        let (groups, datasets) = parent_group
            .member_names()
            .map_err(|source| H5Error::Read {
                path: parent_or_root(parent),
                what: "group members".into(),
                source,
            })?;
        if groups.iter().any(|g| g == leaf) {
            parent_group
                .group(leaf)
                .map(Node::Group)
                .map_err(|source| H5Error::Read {
                    path: shown.clone(),
                    what: "group".into(),
                    source,
                })
        } else if datasets.iter().any(|d| d == leaf) {
            parent_group
                .dataset(leaf)
                .map(|d| Node::Dataset(Box::new(d)))
                .map_err(|source| H5Error::Read {
                    path: shown.clone(),
                    what: "dataset header".into(),
                    source,
                })
        } else {
            Err(H5Error::NotFound { path: shown })
        }
    }
}

fn read_limit(len: usize) -> usize {
    len.saturating_mul(4).saturating_add(1 << 20)
}

fn parent_or_root(parent: &str) -> String {
    if parent.is_empty() {
        "/".into()
    } else {
        parent.into()
    }
}

/// `"a//b/"` → `"/a/b"`, `""` → `"/"`; refuses paths deeper than [`MAX_DEPTH`].
fn normalize(path: &str) -> Result<String, H5Error> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    if parts.len() > MAX_DEPTH {
        return Err(H5Error::TooDeep {
            path: path.chars().take(200).collect(),
            depth: parts.len(),
            max: MAX_DEPTH,
        });
    }
    Ok(format!("/{}", parts.join("/")))
}

fn convert_attr(a: &Attribute) -> Result<Attr, LibError> {
    let scalar = a.shape.is_empty();
    Ok(match &a.datatype {
        Datatype::String { .. }
        | Datatype::VarLen {
            kind: VarLenKind::String,
            ..
        } => {
            if scalar {
                Attr::Str(a.read_string()?)
            } else {
                Attr::Strs(a.read_strings()?)
            }
        }
        Datatype::FloatingPoint { size: 8, .. } => Attr::F64s(a.read_1d::<f64>()?),
        Datatype::FloatingPoint { size: 4, .. } => {
            Attr::F64s(a.read_1d::<f32>()?.into_iter().map(f64::from).collect())
        }
        Datatype::FixedPoint { size, signed, .. } => match (size, signed) {
            (1, true) => Attr::I64s(a.read_1d::<i8>()?.into_iter().map(i64::from).collect()),
            (1, false) => Attr::I64s(a.read_1d::<u8>()?.into_iter().map(i64::from).collect()),
            (2, true) => Attr::I64s(a.read_1d::<i16>()?.into_iter().map(i64::from).collect()),
            (2, false) => Attr::I64s(a.read_1d::<u16>()?.into_iter().map(i64::from).collect()),
            (4, true) => Attr::I64s(a.read_1d::<i32>()?.into_iter().map(i64::from).collect()),
            (4, false) => Attr::I64s(a.read_1d::<u32>()?.into_iter().map(i64::from).collect()),
            (8, true) => Attr::I64s(a.read_1d::<i64>()?),
            (8, false) => {
                let v = a.read_1d::<u64>()?;
                match v
                    .iter()
                    .map(|&x| i64::try_from(x))
                    .collect::<Result<Vec<i64>, _>>()
                {
                    Ok(v) => Attr::I64s(v),
                    Err(_) => Attr::Other,
                }
            }
            _ => Attr::Other,
        },
        _ => Attr::Other,
    })
}

/// A short human name for an HDF5 datatype, for error messages.
fn describe(t: &Datatype) -> String {
    match t {
        Datatype::FixedPoint { size, signed, .. } => format!(
            "{}int{}",
            if *signed { "" } else { "u" },
            u32::from(*size) * 8
        ),
        Datatype::FloatingPoint { size, .. } => format!("float{}", u32::from(*size) * 8),
        Datatype::String {
            size: StringSize::Fixed(n),
            ..
        } => format!("fixed-length string ({n} bytes)"),
        Datatype::String { .. }
        | Datatype::VarLen {
            kind: VarLenKind::String,
            ..
        } => "variable-length string".into(),
        Datatype::Compound { size, fields } => {
            format!("compound ({} fields, {size} bytes)", fields.len())
        }
        Datatype::Array { dims, .. } => format!("array {dims:?}"),
        Datatype::Enum { .. } => "enum".into(),
        Datatype::VarLen { .. } => "variable-length sequence".into(),
        Datatype::Opaque { size, .. } => format!("opaque ({size} bytes)"),
        Datatype::Reference { .. } => "reference".into(),
        Datatype::Bitfield { size, .. } => format!("bitfield ({size} bytes)"),
    }
}

/// IEEE 754 binary16 → binary32, exact (subnormals, infinities and NaN included).
fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h >> 15) << 31;
    let exp = u32::from((h >> 10) & 0x1f);
    let man = u32::from(h & 0x3ff);
    let bits = match (exp, man) {
        (0, 0) => sign,
        (0, m) => {
            // Subnormal: normalize.
            let shift = m.leading_zeros() - 21; // bring the top set bit to bit 10
            let m = (m << shift) & 0x3ff;
            let e = 127 - 15 + 1 - shift;
            sign | (e << 23) | (m << 13)
        }
        (0x1f, m) => sign | 0x7f80_0000 | (m << 13),
        (e, m) => sign | ((e + 127 - 15) << 23) | (m << 13),
    };
    f32::from_bits(bits)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};
    use std::collections::HashSet;
    use std::io::Read;
    use std::path::{Path, PathBuf};

    fn fixtures() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
    }

    /// The HDF5 bytes of a fixture: the file itself, or `model.weights.h5` inside a `.keras`.
    fn h5_bytes(path: &Path) -> Vec<u8> {
        let bytes = std::fs::read(path).unwrap();
        if path.extension().is_some_and(|e| e == "keras") {
            let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
            let mut entry = zip.by_name("model.weights.h5").unwrap();
            let mut out = Vec::new();
            entry.read_to_end(&mut out).unwrap();
            out
        } else {
            bytes
        }
    }

    fn all_fixtures() -> Vec<PathBuf> {
        let mut out = Vec::new();
        for dir in std::fs::read_dir(fixtures()).unwrap() {
            let dir = dir.unwrap().path();
            if !dir.is_dir() {
                continue;
            }
            for f in std::fs::read_dir(&dir).unwrap() {
                let f = f.unwrap().path();
                if f.extension().is_some_and(|e| e == "h5" || e == "keras") {
                    out.push(f);
                }
            }
        }
        out.sort();
        out
    }

    fn join(path: &str, name: &str) -> String {
        if path == "/" {
            format!("/{name}")
        } else {
            format!("{path}/{name}")
        }
    }

    /// Walks every group; returns (group count, sha256 of every float dataset's LE f32 bytes).
    fn walk(
        h5: &H5File,
        path: &str,
        shas: &mut HashSet<String>,
        groups: &mut usize,
    ) -> Result<(), H5Error> {
        *groups += 1;
        for name in [
            "model_config",
            "keras_version",
            "backend",
            "layer_names",
            "weight_names",
            "name",
        ] {
            h5.attr(path, name)?;
        }
        for (name, kind) in h5.children(path)? {
            let p = join(path, &name);
            match kind {
                NodeKind::Group => walk(h5, &p, shas, groups)?,
                NodeKind::Dataset => match h5.read_f32(&p) {
                    Ok(a) => {
                        assert_eq!(a.data.len(), a.shape.iter().product::<usize>(), "{p}");
                        let mut h = Sha256::new();
                        for x in &a.data {
                            h.update(x.to_le_bytes());
                        }
                        shas.insert(format!("{:x}", h.finalize()));
                        // An integer dataset (a Normalization's int64 count): the truth hashes
                        // its int64 values.
                        let mut h = Sha256::new();
                        for x in &a.data {
                            h.update((*x as i64).to_le_bytes());
                        }
                        shas.insert(format!("{:x}", h.finalize()));
                    }
                    Err(H5Error::Dtype { .. }) => {}
                    Err(e) => return Err(e),
                },
            }
        }
        Ok(())
    }

    #[test]
    fn every_fixture_reads_and_matches_truth() {
        let files = all_fixtures();
        assert!(files.len() >= 20, "found only {} fixtures", files.len());
        for f in files {
            // Only files with Keras's truth: the hostile ones under bad/ (one dataset linked
            // 3,000 times) have none and are tested for refusal in tests/bad_input.rs.
            let truth = PathBuf::from(format!("{}.truth.json", f.display()));
            let Ok(text) = std::fs::read_to_string(&truth) else {
                continue;
            };
            let h5 = H5File::from_bytes(h5_bytes(&f)).unwrap();
            let mut shas = HashSet::new();
            let mut groups = 0;
            walk(&h5, "/", &mut shas, &mut groups)
                .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            let truth: serde_json::Value = serde_json::from_str(&text).unwrap();
            let mut n = 0;
            for layer in truth["layers"].as_array().unwrap() {
                for w in layer["weights"].as_array().into_iter().flatten() {
                    n += 1;
                    let sha = w["sha256_le"].as_str().unwrap();
                    assert!(
                        shas.contains(sha),
                        "{}: weight {} not found",
                        f.display(),
                        w["name"]
                    );
                }
            }
            assert!(n > 0, "{}: truth lists no weights", f.display());
        }
    }

    #[test]
    fn legacy_h5_attributes_and_tensors() {
        let h5 = H5File::from_bytes(h5_bytes(&fixtures().join("keras2_15/mlp_basic.h5"))).unwrap();
        assert_eq!(
            h5.attr("/", "backend").unwrap(),
            Some(Attr::Str("tensorflow".into()))
        );
        assert_eq!(
            h5.attr("/", "keras_version").unwrap(),
            Some(Attr::Str("2.15.0".into()))
        );
        match h5.attr("/", "model_config").unwrap() {
            Some(Attr::Str(s)) => {
                assert!(s.starts_with("{\"class_name\": \"Sequential\""));
                assert_eq!(s.len(), 2403);
            }
            other => panic!("model_config: {other:?}"),
        }
        assert_eq!(h5.attr("/", "no_such_attr").unwrap(), None);
        let names = [
            "hidden_relu",
            "hidden_sigmoid_nobias",
            "hidden_linear",
            "probs",
        ];
        assert_eq!(
            h5.attr("/model_weights", "layer_names").unwrap(),
            Some(Attr::Strs(names.iter().map(|s| s.to_string()).collect()))
        );
        assert_eq!(
            h5.attr("model_weights/hidden_sigmoid_nobias", "weight_names")
                .unwrap(),
            Some(Attr::Strs(vec!["hidden_sigmoid_nobias/kernel:0".into()]))
        );
        // An empty weight_names is a zero-length float64 array.
        assert_eq!(
            h5.attr("/model_weights/top_level_model_weights", "weight_names")
                .unwrap(),
            Some(Attr::F64s(vec![]))
        );

        let kids = h5
            .children("/model_weights/hidden_relu/hidden_relu")
            .unwrap();
        assert_eq!(
            kids,
            vec![
                ("bias:0".into(), NodeKind::Dataset),
                ("kernel:0".into(), NodeKind::Dataset)
            ]
        );
        let k = h5
            .read_f32("/model_weights/hidden_relu/hidden_relu/kernel:0")
            .unwrap();
        assert_eq!(k.shape, vec![16, 24]);
        // truth.json prints each f32 as the f64 it widens to.
        let first: Vec<f64> = k.data[..3].iter().map(|&x| f64::from(x)).collect();
        assert_eq!(
            first,
            [
                -0.109954833984375,
                -0.06959043443202972,
                0.015990545973181725
            ]
        );
        assert_eq!(
            k.data.last().map(|&x| f64::from(x)),
            Some(-0.022151295095682144)
        );

        assert!(h5.exists("/model_weights/probs"));
        assert!(h5.exists("model_weights/probs/probs/bias:0"));
        assert!(!h5.exists("/model_weights/nope"));
        assert!(!h5.exists("/model_weights/probs/probs/bias:0/deeper"));
        assert!(matches!(
            h5.read_f32("/model_weights/probs"),
            Err(H5Error::NotADataset { .. })
        ));
        assert!(matches!(
            h5.children("/model_weights/probs/probs/bias:0"),
            Err(H5Error::NotAGroup { .. })
        ));
        let e = h5.read_f32("/model_weights/nope/kernel").unwrap_err();
        assert!(e.to_string().contains("/model_weights/nope"), "{e}");
    }

    #[test]
    fn keras_zip_weights_children_and_scalars() {
        let h5 =
            H5File::from_bytes(h5_bytes(&fixtures().join("keras3_15/mlp_basic.keras"))).unwrap();
        assert_eq!(
            h5.attr("/layers/dense/vars", "name").unwrap(),
            Some(Attr::Str("hidden_relu".into()))
        );
        let vars = h5.children("/layers/dense/vars").unwrap();
        assert_eq!(
            vars,
            vec![
                ("0".into(), NodeKind::Dataset),
                ("1".into(), NodeKind::Dataset)
            ]
        );
        let a = h5.read_f32("/layers/dense/vars/0").unwrap();
        assert_eq!(a.shape, vec![16, 24]);

        // The optimizer's iteration counter is an int64 scalar: integers widen like floats.
        let h5 = H5File::from_bytes(h5_bytes(
            &fixtures().join("eai_example/fashion_mnist.keras"),
        ))
        .unwrap();
        let a = h5.read_f32("/optimizer/vars/0").unwrap();
        assert!(a.shape.is_empty() && a.data.len() == 1, "{a:?}");
        assert!(a.data[0] >= 0.0 && a.data[0].fract() == 0.0, "{a:?}");
    }

    #[test]
    fn damaged_files_are_errors_not_panics() {
        let bytes = h5_bytes(&fixtures().join("keras3_4/lenet_cnn.h5"));
        assert!(matches!(
            H5File::from_bytes(Vec::new()),
            Err(H5Error::Open { len: 0, .. })
        ));
        assert!(H5File::from_bytes(b"\x89HDF\r\n\x1a\n".to_vec()).is_err());
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let step = bytes.len() / 97 + 1;
        let mut cases: Vec<Vec<u8>> = (0..bytes.len())
            .step_by(step)
            .map(|n| bytes[..n].to_vec())
            .collect();
        for _ in 0..300 {
            let mut b = bytes.clone();
            for _ in 0..3 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let at = (seed as usize) % b.len().min(16384);
                b[at] ^= 1 << (seed >> 60 & 7);
            }
            cases.push(b);
        }
        for b in cases {
            if let Ok(h5) = H5File::from_bytes(b) {
                let _ = walk(&h5, "/", &mut HashSet::new(), &mut 0);
            }
        }
    }

    #[test]
    fn reads_past_the_budget_are_refused_before_they_allocate() {
        let mut h5 =
            H5File::from_bytes(h5_bytes(&fixtures().join("keras3_15/mlp_basic.keras"))).unwrap();
        // The kernel is 16x24 f32 = 1,536 bytes; the bias 96.
        h5.set_budget(1_536 + 95);
        h5.read_f32("/layers/dense/vars/0").unwrap();
        let e = h5.read_f32("/layers/dense/vars/1").unwrap_err();
        assert!(matches!(e, H5Error::OverBudget { used: 1_536, .. }), "{e}");
        assert!(e.to_string().contains("refusing to read it"), "{e}");
    }

    #[test]
    fn deep_paths_are_refused() {
        let h5 = H5File::from_bytes(h5_bytes(&fixtures().join("keras3_4/mlp_basic.h5"))).unwrap();
        let deep = "/a".repeat(MAX_DEPTH + 1);
        assert!(matches!(h5.children(&deep), Err(H5Error::TooDeep { .. })));
        assert!(!h5.exists(&deep));
    }

    #[test]
    fn f16_conversion_is_exact() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x03ff), 1023.0 * 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x7c00), f32::INFINITY);
        assert!(f16_to_f32(0x7e00).is_nan());
        assert_eq!(f16_to_f32(0x8000).to_bits(), (-0.0f32).to_bits());
    }
}
