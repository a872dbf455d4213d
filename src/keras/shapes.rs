//! Keras's rules for the pooling, reshaping and merging classes of issue 15: `MaxPooling1D`,
//! `AveragePooling1D`, `GlobalMaxPooling1D/2D`, `UpSampling1D/2D`, `Cropping1D/2D`,
//! `ZeroPadding1D`, `Permute`, `RepeatVector`, `Subtract`, `Average`, `Maximum`, `Minimum`:
//! their output shapes, and their configs read into the few parameters the reference, the
//! chain's config encoder and the contracts share ([`Regrid`], [`Pool1D`], `Permute`'s dims).
//!
//! Owns these classes' config reading and shape rules. Must not touch: files, the bundle
//! format, the chain.

use super::error::Problem;
use super::layers::{LayerCtx, one, rank, window_out};
use super::model::{Shape, shape_to_string};
use serde_json::Value;

/// The classes of this module, in the order they are listed to users.
pub const CLASSES: &[&str] = &[
    "MaxPooling1D",
    "AveragePooling1D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "UpSampling1D",
    "UpSampling2D",
    "Cropping1D",
    "Cropping2D",
    "ZeroPadding1D",
    "Permute",
    "RepeatVector",
    "Subtract",
    "Average",
    "Maximum",
    "Minimum",
];

/// The classes that map each output position of the spatial axes to an input position or to
/// zero ([`Regrid`]).
pub fn is_regrid(class: &str) -> bool {
    matches!(
        class,
        "UpSampling1D" | "UpSampling2D" | "Cropping1D" | "Cropping2D" | "ZeroPadding1D"
    )
}

/// One spatial axis of a [`Regrid`]: the input's positions each repeated `repeat` times, with
/// `pad[0]` zeros before and `pad[1]` after, then `crop[0]` positions cut from the front and
/// `crop[1]` from the back. UpSampling sets `repeat`, Cropping `crop`, ZeroPadding `pad`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Axis {
    pub repeat: usize,
    pub crop: [usize; 2],
    pub pad: [usize; 2],
}

impl Axis {
    pub const IDENTITY: Axis = Axis {
        repeat: 1,
        crop: [0, 0],
        pad: [0, 0],
    };

    /// Output length for an input of `n` positions; `None` when the crop takes everything.
    pub fn out_len(&self, n: usize) -> Option<usize> {
        (n * self.repeat + self.pad[0] + self.pad[1])
            .checked_sub(self.crop[0] + self.crop[1])
            .filter(|&m| m > 0)
    }

    /// The input position output position `o` copies, or `None` where it is padding.
    pub fn source(&self, o: usize, n: usize) -> Option<usize> {
        let t = (o + self.crop[0]).checked_sub(self.pad[0])?;
        (t < n * self.repeat).then(|| t / self.repeat.max(1))
    }
}

/// UpSampling (nearest), Cropping and ZeroPadding over one (1D) or two (2D) spatial axes,
/// channels last.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Regrid {
    pub axes: Vec<Axis>,
}

/// An int or a pair of ints (`(before, after)`, or `(rows, cols)`).
fn pair(ctx: &LayerCtx, field: &str, v: &Value) -> Result<[usize; 2], Problem> {
    if let Some(k) = v.as_u64() {
        return Ok([k as usize; 2]);
    }
    match v.as_array().map(Vec::as_slice) {
        Some([a, b]) => match (a.as_u64(), b.as_u64()) {
            (Some(a), Some(b)) => Ok([a as usize, b as usize]),
            _ => Err(ctx.err(field, format!("expected non-negative integers, found {v}"))),
        },
        _ => Err(ctx.err(
            field,
            format!("expected an integer or a list of 2, found {v}"),
        )),
    }
}

/// `((top, bottom), (left, right))`, `(rows, cols)` (symmetric) or one int for all four.
fn pairs2(ctx: &LayerCtx, field: &str, v: &Value) -> Result<[[usize; 2]; 2], Problem> {
    if let Some(k) = v.as_u64() {
        return Ok([[k as usize; 2]; 2]);
    }
    match v.as_array().map(Vec::as_slice) {
        Some([a, b]) if a.is_array() && b.is_array() => {
            Ok([pair(ctx, field, a)?, pair(ctx, field, b)?])
        }
        Some([_, _]) => {
            let [h, w] = pair(ctx, field, v)?;
            Ok([[h, h], [w, w]])
        }
        _ => Err(ctx.err(
            field,
            format!("expected an integer, 2 integers or 2 pairs, found {v}"),
        )),
    }
}

fn field<'c>(ctx: &'c LayerCtx, name: &str) -> Option<&'c Value> {
    ctx.config.get(name).filter(|v| !v.is_null())
}

impl Regrid {
    /// The regrid of an UpSampling1D/2D, Cropping1D/2D or ZeroPadding1D layer, with Keras's
    /// defaults (size 2, cropping and padding 1). UpSampling2D's `bilinear` is refused.
    pub fn of(ctx: &LayerCtx) -> Result<Regrid, Problem> {
        ctx.channels_last()?;
        let missing = |name: &str, default: u64| -> Value {
            field(ctx, name).cloned().unwrap_or(Value::from(default))
        };
        let axes = match ctx.class {
            "UpSampling1D" => {
                let size = missing("size", 2).as_u64().ok_or_else(|| {
                    ctx.err(
                        "size",
                        format!("expected an integer, found {}", missing("size", 2)),
                    )
                })? as usize;
                vec![Axis {
                    repeat: size,
                    ..Axis::IDENTITY
                }]
            }
            "UpSampling2D" => {
                let interpolation = ctx.str_or("interpolation", "nearest")?;
                if interpolation != "nearest" {
                    return Err(ctx.err(
                        "interpolation",
                        format!("'{interpolation}' is not supported; only nearest"),
                    ));
                }
                let [h, w] = pair(ctx, "size", &missing("size", 2))?;
                vec![
                    Axis {
                        repeat: h,
                        ..Axis::IDENTITY
                    },
                    Axis {
                        repeat: w,
                        ..Axis::IDENTITY
                    },
                ]
            }
            "Cropping1D" => vec![Axis {
                crop: pair(ctx, "cropping", &missing("cropping", 1))?,
                ..Axis::IDENTITY
            }],
            "Cropping2D" => {
                let [h, w] = pairs2(ctx, "cropping", &missing("cropping", 0))?;
                vec![
                    Axis {
                        crop: h,
                        ..Axis::IDENTITY
                    },
                    Axis {
                        crop: w,
                        ..Axis::IDENTITY
                    },
                ]
            }
            "ZeroPadding1D" => vec![Axis {
                pad: pair(ctx, "padding", &missing("padding", 1))?,
                ..Axis::IDENTITY
            }],
            other => return Err(ctx.err("class", format!("{other} is not a regrid class"))),
        };
        if axes.iter().any(|a| a.repeat == 0) {
            return Err(ctx.err("size", "must be at least 1"));
        }
        Ok(Regrid { axes })
    }
}

/// MaxPooling1D / AveragePooling1D: window, stride and `same` padding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool1D {
    pub size: usize,
    pub stride: usize,
    pub same: bool,
}

impl Pool1D {
    pub fn of(ctx: &LayerCtx) -> Result<Pool1D, Problem> {
        ctx.channels_last()?;
        let size = ctx.tuple("pool_size", 1)?[0];
        let stride = if field(ctx, "strides").is_some() {
            ctx.tuple("strides", 1)?[0]
        } else {
            size
        };
        if size == 0 || stride == 0 {
            return Err(ctx.err("pool_size", "pool size and strides must be at least 1"));
        }
        Ok(Pool1D {
            size,
            stride,
            same: ctx.padding()? == "same",
        })
    }
}

/// Permute's `dims` (1-based, a permutation of the non-batch axes of inputs of rank `rank`).
pub fn permute_dims(ctx: &LayerCtx, rank: usize) -> Result<Vec<usize>, Problem> {
    let v = field(ctx, "dims").ok_or_else(|| ctx.err("dims", "missing"))?;
    let dims = v
        .as_array()
        .and_then(|a| {
            a.iter()
                .map(|d| d.as_u64().map(|d| d as usize))
                .collect::<Option<Vec<_>>>()
        })
        .ok_or_else(|| ctx.err("dims", format!("expected a list of integers, found {v}")))?;
    let mut sorted = dims.clone();
    sorted.sort_unstable();
    if sorted != (1..rank).collect::<Vec<_>>() {
        return Err(ctx.err(
            "dims",
            format!(
                "{v} is not a permutation of the axes 1..{} of inputs of rank {rank}",
                rank - 1
            ),
        ));
    }
    Ok(dims)
}

/// Inputs of one shape (the merges); `Subtract` takes exactly two.
fn merge_shape(ctx: &LayerCtx, inputs: &[Shape]) -> Result<Shape, Problem> {
    let exactly_two = ctx.class == "Subtract";
    if inputs.len() < 2 || (exactly_two && inputs.len() != 2) {
        return Err(ctx.layer_err(format!(
            "needs {} inputs, got {}",
            if exactly_two {
                "exactly 2"
            } else {
                "at least 2"
            },
            inputs.len()
        )));
    }
    let first = &inputs[0];
    for s in &inputs[1..] {
        if s.len() != first.len()
            || s.iter()
                .zip(first)
                .any(|(a, b)| a.is_some() && b.is_some() && a != b)
        {
            return Err(ctx.layer_err(format!(
                "inputs must have equal shapes, got {} and {}",
                shape_to_string(first),
                shape_to_string(s)
            )));
        }
    }
    Ok(first.clone())
}

/// Output shape of a layer of one of [`CLASSES`]; `None` for any other class.
pub fn output_shape(ctx: &LayerCtx, inputs: &[Shape]) -> Option<Result<Shape, Problem>> {
    if !CLASSES.contains(&ctx.class) {
        return None;
    }
    Some(shape_of(ctx, inputs))
}

fn shape_of(ctx: &LayerCtx, inputs: &[Shape]) -> Result<Shape, Problem> {
    match ctx.class {
        "MaxPooling1D" | "AveragePooling1D" => {
            let s = one(ctx, inputs)?;
            rank(ctx, s, 3)?;
            let p = Pool1D::of(ctx)?;
            let padding = if p.same { "same" } else { "valid" };
            Ok(vec![
                s[0],
                window_out(ctx, s[1], p.size, p.stride, 1, padding)?,
                s[2],
            ])
        }
        "GlobalMaxPooling1D" | "GlobalMaxPooling2D" => {
            let s = one(ctx, inputs)?;
            rank(ctx, s, if ctx.class.ends_with("2D") { 4 } else { 3 })?;
            ctx.channels_last()?;
            let c = s[s.len() - 1];
            if ctx.bool_or("keepdims", false)? {
                let mut out = vec![s[0]];
                out.extend(std::iter::repeat_n(Some(1), s.len() - 2));
                out.push(c);
                Ok(out)
            } else {
                Ok(vec![s[0], c])
            }
        }
        c if is_regrid(c) => {
            let s = one(ctx, inputs)?;
            let g = Regrid::of(ctx)?;
            rank(ctx, s, g.axes.len() + 2)?;
            let mut out = s.clone();
            for (i, a) in g.axes.iter().enumerate() {
                out[i + 1] = match s[i + 1] {
                    None => None,
                    Some(n) => Some(a.out_len(n).ok_or_else(|| {
                        ctx.layer_err(format!(
                            "crops all {n} positions of axis {} of its input {}",
                            i + 1,
                            shape_to_string(s)
                        ))
                    })?),
                };
            }
            Ok(out)
        }
        "Permute" => {
            let s = one(ctx, inputs)?;
            let dims = permute_dims(ctx, s.len())?;
            let mut out = vec![s[0]];
            out.extend(dims.iter().map(|&d| s[d]));
            Ok(out)
        }
        "RepeatVector" => {
            let s = one(ctx, inputs)?;
            rank(ctx, s, 2)?;
            Ok(vec![s[0], Some(ctx.usize("n")?), s[1]])
        }
        _ => merge_shape(ctx, inputs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shape(class: &str, config: Value, inputs: &[Shape]) -> Result<Shape, String> {
        let config = config.as_object().cloned().unwrap_or_default();
        let ctx = LayerCtx {
            name: "l",
            class,
            config: &config,
        };
        output_shape(&ctx, inputs)
            .expect("a class of this module")
            .map_err(|e| e.to_string())
    }

    #[test]
    fn regrid_shapes_and_sources() {
        let s = vec![None, Some(5), Some(4), Some(3)];
        assert_eq!(
            shape(
                "Cropping2D",
                json!({"cropping": [[3, 1], [0, 0]]}),
                std::slice::from_ref(&s)
            ),
            Ok(vec![None, Some(1), Some(4), Some(3)])
        );
        assert_eq!(
            shape(
                "UpSampling2D",
                json!({"size": [2, 1], "interpolation": "nearest"}),
                std::slice::from_ref(&s)
            ),
            Ok(vec![None, Some(10), Some(4), Some(3)])
        );
        let e = shape(
            "UpSampling2D",
            json!({"size": [2, 2], "interpolation": "bilinear"}),
            std::slice::from_ref(&s),
        )
        .unwrap_err();
        assert!(
            e.contains("'bilinear' is not supported; only nearest"),
            "{e}"
        );
        let e = shape(
            "Cropping1D",
            json!({"cropping": [3, 3]}),
            &[vec![None, Some(6), Some(2)]],
        )
        .unwrap_err();
        assert!(e.contains("crops all 6"), "{e}");
        let pad = Axis {
            pad: [2, 1],
            ..Axis::IDENTITY
        };
        let got: Vec<_> = (0..6).map(|o| pad.source(o, 3)).collect();
        assert_eq!(got, [None, None, Some(0), Some(1), Some(2), None]);
        let up = Axis {
            repeat: 2,
            crop: [1, 0],
            ..Axis::IDENTITY
        };
        let got: Vec<_> = (0..5).map(|o| up.source(o, 3)).collect();
        assert_eq!(got, [Some(0), Some(1), Some(1), Some(2), Some(2)]);
    }

    #[test]
    fn permute_repeat_and_merges() {
        let s = vec![None, Some(2), Some(3), Some(4)];
        assert_eq!(
            shape(
                "Permute",
                json!({"dims": [3, 1, 2]}),
                std::slice::from_ref(&s)
            ),
            Ok(vec![None, Some(4), Some(2), Some(3)])
        );
        let e = shape(
            "Permute",
            json!({"dims": [1, 1, 2]}),
            std::slice::from_ref(&s),
        )
        .unwrap_err();
        assert!(e.contains("not a permutation"), "{e}");
        assert_eq!(
            shape("RepeatVector", json!({"n": 3}), &[vec![None, Some(5)]]),
            Ok(vec![None, Some(3), Some(5)])
        );
        let e = shape("Subtract", json!({}), &[s.clone(), s.clone(), s.clone()]).unwrap_err();
        assert!(e.contains("exactly 2"), "{e}");
        assert_eq!(
            shape("Minimum", json!({}), &[s.clone(), s.clone(), s.clone()]),
            Ok(s)
        );
    }
}
