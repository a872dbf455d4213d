//! The shape and weight rules of the convolutions beyond Conv1D/Conv2D: `DepthwiseConv2D`,
//! `SeparableConv2D` and `Conv2DTranspose` (Keras's rules, channels last, dilation 1).
//!
//! Owns these classes' rules. Must not touch: files, the bundle format.

use super::error::Problem;
use super::layers::{LayerCtx, rank, window_out};
use super::model::{Dim, Shape};

/// Refuses a dilation other than 1 (none of these three is dilated on chain or in the reference).
fn undilated(ctx: &LayerCtx) -> Result<(), Problem> {
    if ctx.get("dilation_rate").is_some() && ctx.tuple("dilation_rate", 2)? != [1, 1] {
        return Err(ctx.err(
            "dilation_rate",
            format!(
                "{} is not supported for {}; only 1",
                ctx.config
                    .get("dilation_rate")
                    .map_or(String::new(), |v| v.to_string()),
                ctx.class
            ),
        ));
    }
    Ok(())
}

/// `depth_multiplier` (default 1).
pub fn depth_multiplier(ctx: &LayerCtx) -> Result<usize, Problem> {
    match ctx.i64_or("depth_multiplier", 1)? {
        m if m >= 1 => Ok(m as usize),
        m => Err(ctx.err("depth_multiplier", format!("must be at least 1, found {m}"))),
    }
}

/// Output length of a transposed convolution along one axis (Keras's `deconv_output_length`
/// without output_padding): valid n·s + max(k − s, 0), same n·s.
pub fn transpose_len(n: usize, k: usize, s: usize, padding: &str) -> usize {
    match padding {
        "same" => n * s,
        _ => n * s + k.saturating_sub(s),
    }
}

/// Leading rows a transposed convolution crops from its full output (0 for valid, max(k − s,
/// 0) / 2 for same: TensorFlow's placement).
pub fn transpose_crop(k: usize, s: usize, padding: &str) -> usize {
    match padding {
        "same" => k.saturating_sub(s) / 2,
        _ => 0,
    }
}

pub fn output_shape(ctx: &LayerCtx, s: &Shape) -> Result<Shape, Problem> {
    rank(ctx, s, 4)?;
    ctx.channels_last()?;
    ctx.activation("activation")?;
    undilated(ctx)?;
    let k = ctx.tuple("kernel_size", 2)?;
    let st = ctx.tuple("strides", 2)?;
    if st.contains(&0) {
        return Err(ctx.err("strides", "must be at least 1"));
    }
    let p = ctx.padding()?;
    let out: [Dim; 2] = if ctx.class == "Conv2DTranspose" {
        if ctx.get("output_padding").is_some() {
            return Err(ctx.err(
                "output_padding",
                "is not supported; only None (Keras's default)",
            ));
        }
        [0, 1].map(|a| s[a + 1].map(|n| transpose_len(n, k[a], st[a], p)))
    } else {
        [
            window_out(ctx, s[1], k[0], st[0], 1, p)?,
            window_out(ctx, s[2], k[1], st[1], 1, p)?,
        ]
    };
    let channels = match ctx.class {
        "DepthwiseConv2D" => {
            let m = depth_multiplier(ctx)?;
            s[3].map(|c| c * m)
        }
        "SeparableConv2D" => {
            depth_multiplier(ctx)?;
            Some(ctx.usize("filters")?)
        }
        _ => Some(ctx.usize("filters")?),
    };
    Ok(vec![s[0], out[0], out[1], channels])
}

/// Weight tensors in `get_weights()` order, for `cin` input channels.
pub fn expected_weights(ctx: &LayerCtx, cin: usize) -> Result<Vec<Vec<usize>>, Problem> {
    let k = ctx.tuple("kernel_size", 2)?;
    let mut out = Vec::new();
    let units = match ctx.class {
        "DepthwiseConv2D" => {
            let m = depth_multiplier(ctx)?;
            out.push(vec![k[0], k[1], cin, m]);
            cin * m
        }
        "SeparableConv2D" => {
            let m = depth_multiplier(ctx)?;
            let f = ctx.usize("filters")?;
            out.push(vec![k[0], k[1], cin, m]);
            out.push(vec![1, 1, cin * m, f]);
            f
        }
        _ => {
            let f = ctx.usize("filters")?;
            out.push(vec![k[0], k[1], f, cin]);
            f
        }
    };
    if ctx.bool_or("use_bias", true)? {
        out.push(vec![units]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shape(class: &str, config: serde_json::Value, input: &[usize]) -> Result<Shape, Problem> {
        let config = config.as_object().cloned().unwrap_or_default();
        let ctx = LayerCtx {
            name: "c",
            class,
            config: &config,
        };
        let s: Shape = std::iter::once(None)
            .chain(input.iter().map(|&d| Some(d)))
            .collect();
        output_shape(&ctx, &s)
    }

    #[test]
    fn output_shapes_as_keras() {
        let t = |cfg, input: &[usize]| shape("Conv2DTranspose", cfg, input).unwrap();
        // valid: n·s + max(k − s, 0); same: n·s.
        let s = t(
            json!({"filters": 4, "kernel_size": 3, "strides": 2, "padding": "valid"}),
            &[5, 4, 2],
        );
        assert_eq!(s, vec![None, Some(11), Some(9), Some(4)]);
        let s = t(
            json!({"filters": 4, "kernel_size": [2, 3], "strides": [2, 1], "padding": "same"}),
            &[5, 4, 2],
        );
        assert_eq!(s, vec![None, Some(10), Some(4), Some(4)]);
        let s = t(
            json!({"filters": 1, "kernel_size": 1, "strides": 3}),
            &[2, 2, 2],
        );
        assert_eq!(s, vec![None, Some(6), Some(6), Some(1)]);
        let s = shape(
            "DepthwiseConv2D",
            json!({"kernel_size": 3, "strides": 2, "depth_multiplier": 3}),
            &[9, 8, 2],
        )
        .unwrap();
        assert_eq!(s, vec![None, Some(4), Some(3), Some(6)]);
    }

    #[test]
    fn what_has_no_implementation_is_refused_naming_the_field() {
        let e = shape(
            "Conv2DTranspose",
            json!({"filters": 2, "kernel_size": 3, "strides": 2, "output_padding": [1, 1]}),
            &[4, 4, 1],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("output_padding"), "{e}");
        let e = shape(
            "SeparableConv2D",
            json!({"filters": 2, "kernel_size": 3, "strides": 1, "dilation_rate": [2, 2]}),
            &[8, 8, 1],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("dilation_rate"), "{e}");
    }
}
