//! eai's `model_graph` read back into the graph eternalize deploys, for bundles eai wrote (no
//! `eternalize` section): links from `inbound_nodes`, each layer's Keras config from its
//! `layer_config`, and output shapes and weight tensors from the Keras reader's own per-layer
//! rules ([`keras::layers::describe`]) fed with the input shapes eai recorded on each link.
//! Every recorded shape is checked against the shape its producer's config gives.
//!
//! Where eai's graph does not say enough — its known defects cut a link (a layer with empty
//! `inbound_nodes`, the layer after a nested model linked to itself, a nested model's input
//! linked to whatever precedes it), or its `layer_config` subset drops a key that changes the
//! model — the bundle is described as far as it goes and refused for deployment ([`Gap`]),
//! naming the layer and what is missing: the model file is needed.
//!
//! Where the bundle is silent and nothing contradicts it, the keys eai drops take Keras's
//! defaults (`dilation_rate` 1, BatchNormalization `axis` -1 with `center` and `scale`,
//! `keepdims` false, a ReLU's `max_value` none), and several inputs or outputs are taken in
//! layer order — what eai's own runtime assumes.
//!
//! Owns: reading eai's graph back and deciding whether it tells enough. Must not touch:
//! per-layer shape rules (they are the Keras reader's), the chain, the screen.

use crate::bundle::fixed::LANES;
use crate::keras::layers::{self, LayerCtx};
use crate::keras::model::{Layer, Shape, WeightSource, shape_to_string};
use serde_json::{Map, Value, json};

/// eai's graph read back: one [`Layer`] per graph layer (no weight values: those stay packed
/// in the bundle), shapes unknown past a cut.
#[derive(Clone, Debug)]
pub struct EaiGraph {
    pub layers: Vec<Layer>,
    pub inputs: Vec<usize>,
    pub outputs: Vec<usize>,
    /// Why the bundle cannot be deployed as it is; `None` when it can.
    pub gap: Option<Gap>,
}

/// What eai's graph does not say (or what cannot be deployed), at which layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gap {
    /// `(name, class)` of the layer, when one layer is to blame.
    pub layer: Option<(String, String)>,
    pub what: String,
    /// Whether the model file would tell (an eai defect or a dropped key), rather than a
    /// layer eternalize cannot deploy at all.
    pub needs_model_file: bool,
}

impl std::fmt::Display for Gap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.layer {
            Some((name, class)) => write!(f, "eai bundle, layer '{name}' ({class}): ")?,
            None => f.write_str("eai bundle: ")?,
        }
        f.write_str(&self.what)?;
        if self.needs_model_file {
            f.write_str(
                "; the model file it was exported from is needed (plan, deploy or predict that .keras/.h5 file, or `eternalize export` it)",
            )?;
        }
        Ok(())
    }
}

/// Ranks of problems: the one reported is the lowest rank, then the first layer.
const RANK_LINK: u8 = 0;
const RANK_CUT: u8 = 1;
const RANK_OTHER: u8 = 2;
const RANK_UNSUPPORTED: u8 = 3;

struct Arg {
    name: String,
    idx: Option<usize>,
    shape: Option<Shape>,
}

struct Entry {
    name: String,
    /// eai's class (`Sigmoid`, `ReLU`, …).
    class: String,
    keras_class: String,
    config: Map<String, Value>,
    /// eai's own `layer_config`, for the checks against what it records.
    eai_config: Map<String, Value>,
    args: Vec<Arg>,
}

fn is_rnn(class: &str) -> bool {
    matches!(class, "SimpleRNN" | "LSTM" | "GRU")
}

/// eai's class and `layer_config` as the Keras class and config the Keras reader knows.
fn keras_config(class: &str, name: &str, c: &Map<String, Value>) -> (String, Map<String, Value>) {
    let mut k = Map::new();
    k.insert("name".into(), Value::from(name));
    let copy = |k: &mut Map<String, Value>, keys: &[&str]| {
        for key in keys {
            if let Some(v) = c.get(*key) {
                k.insert((*key).to_string(), v.clone());
            }
        }
    };
    let keras_class = match class {
        // eai's classes for `Activation(x)`.
        "Sigmoid" | "Linear" | "Tanh" => {
            k.insert("activation".into(), Value::from(class.to_ascii_lowercase()));
            "Activation"
        }
        // `input_dim` is eai's, not a Keras key: checked against the input shape instead.
        "BatchNormalization" => {
            copy(&mut k, &["momentum", "epsilon"]);
            "BatchNormalization"
        }
        // eai writes `[top, bottom, left, right]`; Keras `[[top, bottom], [left, right]]`.
        "ZeroPadding2D" => {
            copy(&mut k, &["data_format"]);
            if let Some(p) = c.get("padding") {
                let padding = match p.as_array().map(Vec::as_slice) {
                    Some([t, b, l, r]) => json!([[t, b], [l, r]]),
                    _ => p.clone(),
                };
                k.insert("padding".into(), padding);
            }
            "ZeroPadding2D"
        }
        other => {
            for (key, v) in c {
                k.insert(key.clone(), v.clone());
            }
            other
        }
    };
    (keras_class.to_string(), k)
}

fn parse_entries(graph: &Value) -> Result<Vec<Entry>, String> {
    let layers = graph
        .get("layers")
        .and_then(Value::as_array)
        .ok_or("model_graph has no \"layers\" list")?;
    let mut out = Vec::with_capacity(layers.len());
    for (i, l) in layers.iter().enumerate() {
        let bad = |what: &str| format!("model_graph layer #{i}: {what}");
        let name = l
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("no name"))?;
        let class = l
            .get("class_name")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("no class_name"))?;
        if l.get("idx").and_then(Value::as_u64) != Some(i as u64) {
            return Err(bad(&format!("its idx is {}, not its position", l["idx"])));
        }
        let eai_config = l
            .get("layer_config")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let mut args = Vec::new();
        for node in l
            .get("inbound_nodes")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice)
        {
            for a in node
                .get("args")
                .and_then(Value::as_array)
                .map_or(&[][..], Vec::as_slice)
            {
                args.push(Arg {
                    name: a
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    idx: a
                        .get("idx")
                        .and_then(Value::as_u64)
                        .and_then(|x| usize::try_from(x).ok()),
                    shape: a.get("shape").and_then(layers::parse_shape),
                });
            }
        }
        let (keras_class, config) = keras_config(class, name, &eai_config);
        out.push(Entry {
            name: name.to_string(),
            class: class.to_string(),
            keras_class,
            config,
            eai_config,
            args,
        });
    }
    Ok(out)
}

/// Reads eai's `model_graph` back; `words` is the bundle's weight word count.
pub fn read(graph: &Value, words: usize) -> EaiGraph {
    let mut entries = match parse_entries(graph) {
        Ok(e) => e,
        Err(what) => {
            return EaiGraph {
                layers: Vec::new(),
                inputs: Vec::new(),
                outputs: Vec::new(),
                gap: Some(Gap {
                    layer: None,
                    what,
                    needs_model_file: false,
                }),
            };
        }
    };
    // eai drops `return_sequences`; a consumer's recorded input of rank 3 says it was on.
    for i in 0..entries.len() {
        for a in 0..entries[i].args.len() {
            let (idx, rank) = (entries[i].args[a].idx, entries[i].args[a].shape.as_ref());
            if let (Some(j), Some(3)) = (idx, rank.map(Vec::len))
                && j < i
                && is_rnn(&entries[j].class)
            {
                entries[j]
                    .config
                    .insert("return_sequences".into(), Value::Bool(true));
            }
        }
    }
    let mut problems: Vec<(u8, usize, String, bool)> = Vec::new();
    let mut layers: Vec<Layer> = Vec::with_capacity(entries.len());
    let mut inputs = Vec::new();
    let mut consumed = vec![false; entries.len()];
    for (i, e) in entries.iter().enumerate() {
        let ctx = LayerCtx {
            name: &e.name,
            class: &e.keras_class,
            config: &e.config,
        };
        let mut problem: Option<(u8, String)> = None;
        let mut links = Vec::new();
        let mut shapes: Vec<Option<Shape>> = Vec::new();
        if e.keras_class == "InputLayer" {
            let own = layers::declared_input_shape(&ctx).ok().flatten();
            // eai links every InputLayer but the first to the layer before it: a nested
            // model's input (which then records its own shape) or a second model input
            // (which records the first layer's output shape).
            if let (true, Some(a)) = (i > 0, e.args.first())
                && a.shape.is_some()
                && a.shape == own
            {
                problem = Some((
                    RANK_OTHER,
                    format!(
                        "eai links it to '{}', the layer before it, both when it starts a model nested in this one and when it is a second input of the model; its shapes agree with that layer's, so the bundle does not say which (nor, for a nested model, which layer feeds it)",
                        a.name
                    ),
                ));
            }
            shapes.push(own);
            inputs.push(i);
        } else if e.args.is_empty() {
            problem = Some((
                RANK_CUT,
                "has empty inbound_nodes: eai writes a layer's inputs from its build_config, which Keras 3 does not keep for this class, so the bundle does not say which layer feeds it".into(),
            ));
        } else {
            for a in &e.args {
                match a.idx {
                    None => {
                        problem.get_or_insert((
                            RANK_LINK,
                            format!("its inbound node names '{}' without an idx", a.name),
                        ));
                    }
                    Some(j) if j >= i => {
                        let whom = if j == i {
                            format!("is linked to itself (idx {j})")
                        } else {
                            format!("is linked to a later layer (idx {j})")
                        };
                        problem.get_or_insert((
                            RANK_LINK,
                            format!(
                                "{whom}: eai links the layer that takes a nested model's output to the index after the nested model's last layer, so the bundle does not say which layer feeds it"
                            ),
                        ));
                    }
                    Some(j) if entries[j].name != a.name => {
                        problem.get_or_insert((
                            RANK_LINK,
                            format!(
                                "its inbound node names '{}' at idx {j}, but layer {j} is '{}'",
                                a.name, entries[j].name
                            ),
                        ));
                    }
                    Some(j) => {
                        links.push(j);
                        consumed[j] = true;
                        let produced = layers[j].inferred.then(|| layers[j].output_shape.clone());
                        if let (Some(rec), Some(out)) = (&a.shape, &produced)
                            && rec != out
                        {
                            problems.push((
                                RANK_OTHER,
                                j,
                                format!(
                                    "its layer_config gives an output of {}, but '{}' records an input of {}: eai's layer_config drops keys of this class that the file sets",
                                    shape_to_string(out),
                                    e.name,
                                    shape_to_string(rec)
                                ),
                                true,
                            ));
                        }
                        shapes.push(a.shape.clone().or(produced));
                    }
                }
            }
        }
        let shapes: Option<Vec<Shape>> = if problem.as_ref().is_some_and(|p| p.0 <= RANK_CUT) {
            // Only the links eai recorded can be trusted for shapes.
            e.args.iter().map(|a| a.shape.clone()).collect()
        } else {
            shapes.into_iter().collect()
        };
        let known = shapes.as_ref().is_some_and(|s| !s.is_empty());
        let input_shapes = shapes.unwrap_or_default();
        let d = layers::describe(&ctx, &input_shapes, known);
        if let (None, "BatchNormalization", Some(s)) =
            (&problem, e.keras_class.as_str(), input_shapes.first())
        {
            let last = s.last().copied().flatten();
            let eai_dim = e.eai_config.get("input_dim").and_then(Value::as_u64);
            if let (Some(last), Some(dim)) = (last, eai_dim)
                && dim != last as u64
            {
                problem = Some((
                    RANK_OTHER,
                    format!(
                        "eai records input_dim {dim}, not the size of the last axis ({last}): the layer normalises another axis, and eai's layer_config does not keep which"
                    ),
                ));
            }
        }
        if let (None, "Concatenate", Some(2), Some(rank)) = (
            &problem,
            e.keras_class.as_str(),
            e.eai_config.get("axis").and_then(Value::as_i64),
            input_shapes.first().map(Vec::len),
        ) && rank > 3
        {
            problem = Some((
                RANK_OTHER,
                format!(
                    "eai writes the axis as min(axis, 2); for inputs of rank {rank} the bundle does not say whether it was 2 or higher"
                ),
            ));
        }
        let unsupported = match (&problem, &d.unsupported) {
            (Some((rank, what)), _) => {
                problems.push((*rank, i, what.clone(), true));
                Some(what.clone())
            }
            (None, Some(why)) => {
                problems.push((RANK_UNSUPPORTED, i, why.clone(), false));
                Some(why.clone())
            }
            (None, None) => None,
        };
        let (output_shape, expected_weights) = d.shapes.clone().unwrap_or_default();
        layers.push(Layer {
            idx: i,
            name: e.name.clone(),
            keras_class: e.keras_class.clone(),
            class_name: d.class_name,
            config: e.config.clone(),
            inputs: links,
            input_shapes,
            output_shape,
            expected_weights,
            weights: Vec::new(),
            source: WeightSource::default(),
            unsupported,
            inferred: d.shapes.is_some(),
            keras_params: None,
        });
    }
    let outputs: Vec<usize> = (0..layers.len()).filter(|&j| !consumed[j]).collect();
    for &j in &outputs {
        let e = &entries[j];
        if is_rnn(&e.class) && !e.config.contains_key("return_sequences") {
            problems.push((
                RANK_OTHER,
                j,
                "is an output of the model, and eai's layer_config drops return_sequences, so the bundle does not say whether it returns the whole sequence".into(),
                true,
            ));
        }
    }
    // A problem found at a consumer (a shape the producer's config does not give) marks the
    // producer too, for `inspect`.
    for (_, j, what, _) in &problems {
        if let Some(l) = layers.get_mut(*j) {
            l.unsupported.get_or_insert_with(|| what.clone());
        }
    }
    let mut gap =
        problems
            .into_iter()
            .min_by_key(|p| (p.0, p.1))
            .map(|(_, j, what, needs_model_file)| Gap {
                layer: layers
                    .get(j)
                    .map(|l| (l.name.clone(), entries[j].class.clone())),
                what,
                needs_model_file,
            });
    if gap.is_none() {
        let need: usize = layers
            .iter()
            .flat_map(|l| &l.expected_weights)
            .map(|s| s.iter().product::<usize>().div_ceil(LANES))
            .sum();
        if need != words {
            gap = Some(Gap {
                layer: None,
                what: format!(
                    "the weights hold {words} words, but the layers' configs need {need}: eai's layer_config drops keys that change weight shapes (BatchNormalization center and scale, …)"
                ),
                needs_model_file: true,
            });
        }
    }
    EaiGraph {
        layers,
        inputs,
        outputs,
        gap,
    }
}

impl EaiGraph {
    /// The `eternalize` section the graph implies, when the bundle can be deployed: tensors
    /// laid out layer by layer, each padded to whole words, as eai packs them.
    pub fn meta(&self) -> Option<Value> {
        if self.gap.is_some() {
            return None;
        }
        let mut offset = 0usize;
        let mut meta_layers = Vec::with_capacity(self.layers.len());
        for l in &self.layers {
            let mut tensors = Vec::new();
            let mut params = 0;
            for (k, shape) in l.expected_weights.iter().enumerate() {
                let len: usize = shape.iter().product();
                let words = len.div_ceil(LANES);
                tensors.push(json!({
                    "name": format!("{}/weights[{k}]", l.name),
                    "shape": shape,
                    "offset": offset,
                    "words": words,
                }));
                offset += words;
                params += len;
            }
            meta_layers.push(super::meta_layer(l, params, tensors));
        }
        Some(super::meta_section(
            json!({ "format": "eai" }),
            &self.inputs,
            &self.outputs,
            meta_layers,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::read;
    use serde_json::{Value, json};

    /// eai's graph of a chain of layers, each linked to the one before with `shapes[i]` (the
    /// input shape eai records for layer i; layer 0 is the InputLayer of `shapes[0]`).
    fn chain(layers: &[(&str, Value)], shapes: &[Value]) -> Value {
        let mut out = vec![json!({"idx": 0, "name": "x", "class_name": "InputLayer",
            "layer_config": {"batch_input_shape": shapes[0]}, "inbound_nodes": []})];
        let mut prev = "x".to_string();
        for (i, (class, config)) in layers.iter().enumerate() {
            let name = format!("l{}", i + 1);
            out.push(json!({"idx": i + 1, "name": name, "class_name": class, "layer_config": config,
                "inbound_nodes": [{"args": [{"name": prev, "idx": i, "shape": shapes[i + 1]}], "kwargs": {}}]}));
            prev = name;
        }
        json!({ "layers": out })
    }

    fn words(g: &Value) -> usize {
        // What the layers need when the graph tells: read once to count.
        read(g, 0)
            .layers
            .iter()
            .flat_map(|l| &l.expected_weights)
            .map(|s| s.iter().product::<usize>().div_ceil(4))
            .sum()
    }

    #[test]
    fn an_rnn_returns_sequences_when_its_consumer_records_a_sequence() {
        let g = chain(
            &[
                (
                    "LSTM",
                    json!({"units": 3, "activation": "tanh", "recurrent_activation": "sigmoid"}),
                ),
                (
                    "Dense",
                    json!({"units": 2, "activation": "linear", "use_bias": true}),
                ),
            ],
            &[
                json!([null, 5, 4]),
                json!([null, 5, 4]),
                json!([null, 5, 3]),
            ],
        );
        let r = read(&g, words(&g));
        assert_eq!(r.gap, None);
        assert_eq!(r.layers[1].output_shape, vec![None, Some(5), Some(3)]);
        assert_eq!(r.layers[2].output_shape, vec![None, Some(5), Some(2)]);
    }

    #[test]
    fn an_rnn_the_model_ends_with_is_refused() {
        let g = chain(
            &[("SimpleRNN", json!({"units": 3, "activation": "tanh"}))],
            &[json!([null, 5, 4]), json!([null, 5, 4])],
        );
        let gap = read(&g, words(&g)).gap.unwrap();
        assert_eq!(gap.layer, Some(("l1".into(), "SimpleRNN".into())));
        assert!(gap.what.contains("return_sequences"), "{}", gap.what);
        assert!(gap.to_string().contains("the model file"));
    }

    #[test]
    fn a_recorded_shape_the_config_does_not_give_is_refused_at_its_producer() {
        // GlobalAveragePooling2D(keepdims=True): eai keeps `{}`, the next layer records rank 4.
        let g = chain(
            &[
                ("GlobalAveragePooling2D", json!({})),
                ("Flatten", json!({})),
            ],
            &[
                json!([null, 4, 4, 2]),
                json!([null, 4, 4, 2]),
                json!([null, 1, 1, 2]),
            ],
        );
        let gap = read(&g, 0).gap.unwrap();
        assert_eq!(
            gap.layer,
            Some(("l1".into(), "GlobalAveragePooling2D".into()))
        );
        assert!(gap.what.contains("(None, 1, 1, 2)"), "{}", gap.what);
    }

    #[test]
    fn a_batchnorm_over_another_axis_is_refused() {
        let g = chain(
            &[(
                "BatchNormalization",
                json!({"input_dim": 5, "momentum": 0.99, "epsilon": 0.001}),
            )],
            &[json!([null, 5, 3]), json!([null, 5, 3])],
        );
        let gap = read(&g, 4).gap.unwrap();
        assert!(gap.what.contains("input_dim 5"), "{}", gap.what);
    }

    #[test]
    fn a_second_input_is_told_from_a_nested_models_input_by_its_shape() {
        let two = |b_shape: Value| {
            json!({"layers": [
                {"idx": 0, "name": "a", "class_name": "InputLayer", "layer_config": {"batch_input_shape": [null, 4]}, "inbound_nodes": []},
                {"idx": 1, "name": "b", "class_name": "InputLayer", "layer_config": {"batch_input_shape": b_shape},
                 "inbound_nodes": [{"args": [{"name": "a", "idx": 0, "shape": [null, 4]}], "kwargs": {}}]},
                {"idx": 2, "name": "add", "class_name": "Add", "layer_config": {},
                 "inbound_nodes": [{"args": [{"name": "a", "idx": 0, "shape": [null, 4]}], "kwargs": {}},
                                   {"args": [{"name": "b", "idx": 1, "shape": [null, 4]}], "kwargs": {}}]}
            ]})
        };
        // Its own shape differs from what eai records on the link: a second model input.
        let g = json!({"layers": [
            {"idx": 0, "name": "a", "class_name": "InputLayer", "layer_config": {"batch_input_shape": [null, 4]}, "inbound_nodes": []},
            {"idx": 1, "name": "b", "class_name": "InputLayer", "layer_config": {"batch_input_shape": [null, 3]},
             "inbound_nodes": [{"args": [{"name": "a", "idx": 0, "shape": [null, 4]}], "kwargs": {}}]},
            {"idx": 2, "name": "d", "class_name": "Dense", "layer_config": {"units": 4, "activation": "linear", "use_bias": false},
             "inbound_nodes": [{"args": [{"name": "b", "idx": 1, "shape": [null, 3]}], "kwargs": {}}]},
            {"idx": 3, "name": "add", "class_name": "Add", "layer_config": {},
             "inbound_nodes": [{"args": [{"name": "a", "idx": 0, "shape": [null, 4]}], "kwargs": {}},
                               {"args": [{"name": "d", "idx": 2, "shape": [null, 4]}], "kwargs": {}}]}
        ]});
        let r = read(&g, 3);
        assert_eq!(r.gap, None);
        assert_eq!((r.inputs, r.outputs), (vec![0, 1], vec![3]));
        // The same shape: the bundle cannot tell.
        let gap = read(&two(json!([null, 4])), 0).gap.unwrap();
        assert_eq!(gap.layer, Some(("b".into(), "InputLayer".into())));
    }

    #[test]
    fn the_weights_must_be_what_the_configs_need() {
        let g = chain(
            &[(
                "Dense",
                json!({"units": 2, "activation": "linear", "use_bias": true}),
            )],
            &[json!([null, 3]), json!([null, 3])],
        );
        assert_eq!(read(&g, 3).gap, None);
        let gap = read(&g, 4).gap.unwrap();
        assert!(gap.what.contains("hold 4 words"), "{}", gap.what);
    }
}
