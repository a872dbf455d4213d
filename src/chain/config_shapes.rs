//! The config encodings of the pooling, reshaping and merging kinds 26–40 (contracts/README.md,
//! "Config encodings"), read from the layer's Keras keys by the same rules as the reference
//! ([`crate::keras::shapes`]). Pure: no chain, no files.
//!
//! Owns these kinds' `abi.encode(...)`. Must not touch: the other kinds' encodings (config.rs).

use alloy::primitives::U256;
use alloy::sol_types::SolValue;
use serde_json::Value;

use super::ChainError;
use super::config::LayerSource;
use super::kind::LayerKind;
use crate::keras::layers::LayerCtx;
use crate::keras::shapes::{Pool1D, Regrid, permute_dims};

/// Whether `kind` is one of this module's.
pub fn owns(kind: LayerKind) -> bool {
    (LayerKind::MaxPooling1D.code()..=LayerKind::Minimum.code()).contains(&kind.code())
}

/// The ABI-encoded config of a layer of one of this module's kinds.
pub fn encode(kind: LayerKind, src: &LayerSource<'_>) -> Result<Vec<u8>, ChainError> {
    let empty = serde_json::Map::new();
    let config = src.config.as_object().unwrap_or(&empty);
    let ctx = LayerCtx {
        name: src.name,
        class: src.class_name,
        config,
    };
    let err = |why: String| ChainError::LayerConfig {
        layer: src.name.to_string(),
        class: src.class_name.to_string(),
        why,
    };
    let u = |x: usize| U256::from(x);
    Ok(match kind {
        LayerKind::MaxPooling1D | LayerKind::AveragePooling1D => {
            let p = Pool1D::of(&ctx).map_err(|e| err(e.to_string()))?;
            (u(p.size), u(p.stride), u(usize::from(p.same))).abi_encode_params()
        }
        LayerKind::GlobalMaxPooling1D | LayerKind::GlobalMaxPooling2D => {
            let keep = ctx
                .bool_or("keepdims", false)
                .map_err(|e| err(e.to_string()))?;
            (keep,).abi_encode_params()
        }
        LayerKind::UpSampling1D
        | LayerKind::UpSampling2D
        | LayerKind::Cropping1D
        | LayerKind::Cropping2D
        | LayerKind::ZeroPadding1D => {
            let g = Regrid::of(&ctx).map_err(|e| err(e.to_string()))?;
            let mut repeat = [U256::from(1); 2];
            let mut crop = [U256::ZERO; 4];
            let mut pad = [U256::ZERO; 4];
            for (i, a) in g.axes.iter().enumerate() {
                repeat[i] = u(a.repeat);
                crop[2 * i] = u(a.crop[0]);
                crop[2 * i + 1] = u(a.crop[1]);
                pad[2 * i] = u(a.pad[0]);
                pad[2 * i + 1] = u(a.pad[1]);
            }
            (repeat, crop, pad).abi_encode_params()
        }
        LayerKind::Permute => {
            let n = config
                .get("dims")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            let dims = permute_dims(&ctx, n + 1).map_err(|e| err(e.to_string()))?;
            (dims.into_iter().map(u).collect::<Vec<_>>(),).abi_encode_params()
        }
        LayerKind::RepeatVector => {
            (u(ctx.usize("n").map_err(|e| err(e.to_string()))?),).abi_encode_params()
        }
        LayerKind::Subtract | LayerKind::Average | LayerKind::Maximum | LayerKind::Minimum => {
            Vec::new()
        }
        other => return Err(err(format!("{other:?} is not a kind of config_shapes"))),
    })
}
