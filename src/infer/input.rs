//! Model inputs from files: `.npy` (NumPy's format, little-endian float/int, C order) or JSON
//! (a nested list, or an object mapping input layer names to nested lists). A leading batch
//! dimension is optional.

use super::Tensor;
use super::fixed;
use serde_json::Value;
use std::path::Path;

/// An array read from a file: shape and values as f64.
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    pub shape: Vec<usize>,
    pub values: Vec<f64>,
}

#[derive(Debug, thiserror::Error)]
#[error("{}: {reason}", path.display())]
pub struct InputError {
    pub path: std::path::PathBuf,
    pub reason: String,
}

pub fn read(path: &Path) -> Result<Vec<(Option<String>, Array)>, InputError> {
    let err = |reason: String| InputError {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|e| err(format!("cannot read the file: {e}")))?;
    if bytes.starts_with(b"\x93NUMPY") {
        return Ok(vec![(None, npy(&bytes).map_err(err)?)]);
    }
    let v: Value = serde_json::from_slice(&bytes)
        .map_err(|e| err(format!("neither a .npy file nor JSON: {e}")))?;
    match v {
        Value::Object(map) => map
            .into_iter()
            .map(|(k, v)| {
                nested(&v)
                    .map(|a| (Some(k.clone()), a))
                    .map_err(|r| err(format!("input '{k}': {r}")))
            })
            .collect(),
        other => Ok(vec![(None, nested(&other).map_err(err)?)]),
    }
}

/// A nested JSON list as an array (shape from the first element at each depth).
pub fn nested(v: &Value) -> Result<Array, String> {
    let mut shape = Vec::new();
    let mut cur = v;
    while let Value::Array(items) = cur {
        shape.push(items.len());
        match items.first() {
            Some(first) => cur = first,
            None => break,
        }
    }
    let mut values = Vec::new();
    fn walk(v: &Value, depth: usize, shape: &[usize], out: &mut Vec<f64>) -> Result<(), String> {
        match v {
            Value::Array(items) => {
                if depth >= shape.len() || items.len() != shape[depth] {
                    return Err("the nested lists are ragged (rows of different lengths)".into());
                }
                items
                    .iter()
                    .try_for_each(|x| walk(x, depth + 1, shape, out))
            }
            Value::Number(n) if depth == shape.len() => {
                out.push(n.as_f64().ok_or("a number out of range")?);
                Ok(())
            }
            other => Err(format!("expected a number at depth {depth}, found {other}")),
        }
    }
    walk(v, 0, &shape, &mut values)?;
    Ok(Array { shape, values })
}

/// NumPy `.npy` v1–v3: header dict with `descr`, `fortran_order`, `shape`.
pub fn npy(bytes: &[u8]) -> Result<Array, String> {
    let major = *bytes.get(6).ok_or("truncated .npy header")?;
    let (len, start) = match major {
        1 => (
            u16::from_le_bytes([
                bytes.get(8).copied().unwrap_or(0),
                bytes.get(9).copied().unwrap_or(0),
            ]) as usize,
            10,
        ),
        2 | 3 => {
            let b = bytes.get(8..12).ok_or("truncated .npy header")?;
            (u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize, 12)
        }
        v => return Err(format!(".npy version {v} is not supported")),
    };
    let header = std::str::from_utf8(
        bytes
            .get(start..start + len)
            .ok_or("truncated .npy header")?,
    )
    .map_err(|_| "the .npy header is not text")?;
    let field = |name: &str| -> Option<&str> {
        let at = header.find(&format!("'{name}'"))?;
        let rest = header[at + name.len() + 2..]
            .trim_start()
            .strip_prefix(':')?
            .trim_start();
        Some(rest)
    };
    let descr = field("descr")
        .and_then(|r| r.strip_prefix('\''))
        .and_then(|r| r.split('\'').next())
        .ok_or("no descr")?;
    if field("fortran_order").is_some_and(|r| r.starts_with("True")) {
        return Err("Fortran-ordered arrays are not supported; save with C order".into());
    }
    let shape_text = field("shape")
        .and_then(|r| r.strip_prefix('('))
        .and_then(|r| r.split(')').next())
        .ok_or("no shape")?;
    let shape: Vec<usize> = shape_text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| format!("bad shape entry '{s}'"))
        })
        .collect::<Result<_, _>>()?;
    let count: usize = shape.iter().product();
    let data = &bytes[start + len..];
    let (size, conv): (usize, fn(&[u8]) -> f64) = match descr {
        "<f8" => (8, |b| f64::from_le_bytes(b.try_into().unwrap_or([0; 8]))),
        "<f4" => (4, |b| {
            f64::from(f32::from_le_bytes(b.try_into().unwrap_or([0; 4])))
        }),
        "<i8" => (8, |b| {
            i64::from_le_bytes(b.try_into().unwrap_or([0; 8])) as f64
        }),
        "<i4" => (4, |b| {
            f64::from(i32::from_le_bytes(b.try_into().unwrap_or([0; 4])))
        }),
        "|u1" => (1, |b| f64::from(b[0])),
        other => {
            return Err(format!(
                "dtype {other} is not supported (use float32/64 or int32/64, little-endian)"
            ));
        }
    };
    if data.len() < count * size {
        return Err(format!(
            "holds {} bytes of data, the header promises {}",
            data.len(),
            count * size
        ));
    }
    Ok(Array {
        shape,
        values: data[..count * size].chunks_exact(size).map(conv).collect(),
    })
}

/// Splits an array into samples for an input of `want` shape (batch first, maybe unknown).
pub fn samples(a: &Array, want: &[Option<usize>]) -> Result<Vec<Tensor>, String> {
    let inner: Vec<usize> = want[1..].iter().map(|d| d.unwrap_or(0)).collect();
    let per: usize = inner.iter().product();
    let batched = a.shape.len() == inner.len() + 1;
    let fits = |s: &[usize]| {
        s.len() == inner.len() && s.iter().zip(&inner).all(|(g, w)| *w == 0 || g == w)
    };
    let sample_shape = if batched { &a.shape[1..] } else { &a.shape[..] };
    if !fits(sample_shape) {
        return Err(format!(
            "has shape {:?}, but the model takes {} (a leading batch dimension is optional)",
            a.shape,
            crate::keras::model::shape_to_string(want)
        ));
    }
    let per = if per == 0 {
        sample_shape.iter().product()
    } else {
        per
    };
    a.values
        .chunks(per.max(1))
        .map(|chunk| {
            let data = chunk
                .iter()
                .map(|&x| fixed::from_f64(x).ok_or_else(|| format!("value {x} has no Q32.32 form")))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Tensor {
                shape: sample_shape.to_vec(),
                data,
            })
        })
        .collect()
}
