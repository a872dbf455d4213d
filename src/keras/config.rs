//! Parses a Keras model config (the JSON in `config.json` or the `model_config` attribute)
//! into a [`Container`] tree. Handles both dialects: Keras 2 (inbound nodes as nested lists,
//! no `module`) and Keras 3 (inbound nodes as `{"args", "kwargs"}` with `keras_history`).

use super::error::Problem;
use super::layers::is_container;
use super::model::{Body, Call, Container, ContainerKind, Member, TensorRef};
use serde_json::{Map, Value};

/// Parses the top-level model config.
pub fn parse_model(config: &Value) -> Result<Container, Problem> {
    let obj = config
        .as_object()
        .ok_or_else(|| Problem::config("(root)", "expected a JSON object"))?;
    let class = obj
        .get("class_name")
        .and_then(Value::as_str)
        .ok_or_else(|| Problem::config("class_name", "missing"))?;
    let inner = obj
        .get("config")
        .and_then(Value::as_object)
        .ok_or_else(|| Problem::config("config", "missing or not an object"))?;
    parse_container(class, inner, "config")
}

fn parse_container(class: &str, cfg: &Map<String, Value>, at: &str) -> Result<Container, Problem> {
    let kind = match class {
        "Sequential" => ContainerKind::Sequential,
        "Functional" | "Model" => ContainerKind::Functional,
        other => {
            return Err(Problem::config(
                format!("{at}.class_name"),
                format!("'{other}' is not a Sequential or Functional model"),
            ));
        }
    };
    let name = cfg
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("model")
        .to_string();
    let layers = cfg
        .get("layers")
        .and_then(Value::as_array)
        .ok_or_else(|| Problem::config(format!("{at}.layers"), "missing or not a list"))?;
    let mut members = Vec::with_capacity(layers.len());
    for (i, layer) in layers.iter().enumerate() {
        members.push(parse_member(layer, &format!("{at}.layers[{i}]"))?);
    }
    let keras2_nodes = layers.iter().any(|l| {
        l.get("inbound_nodes")
            .and_then(Value::as_array)
            .and_then(|n| n.first())
            .is_some_and(Value::is_array)
    });
    let (inputs, mut outputs) = if kind == ContainerKind::Functional {
        (
            parse_endpoints(cfg.get("input_layers"), &format!("{at}.input_layers"))?,
            parse_endpoints(cfg.get("output_layers"), &format!("{at}.output_layers"))?,
        )
    } else {
        (Vec::new(), Vec::new())
    };
    if keras2_nodes {
        renumber_keras2_calls(&mut members, &mut outputs);
    }
    let mut seen = std::collections::HashSet::new();
    for m in &members {
        if !seen.insert(m.name.as_str()) {
            return Err(Problem::config(
                format!("{at}.layers"),
                format!("two layers are named '{}'", m.name),
            ));
        }
    }
    Ok(Container {
        kind,
        name,
        members,
        inputs,
        outputs,
    })
}

fn parse_member(layer: &Value, at: &str) -> Result<Member, Problem> {
    let obj = layer
        .as_object()
        .ok_or_else(|| Problem::config(at, "expected a layer object"))?;
    let class_name = obj
        .get("class_name")
        .and_then(Value::as_str)
        .ok_or_else(|| Problem::config(format!("{at}.class_name"), "missing"))?
        .to_string();
    let config = obj
        .get("config")
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(|| Problem::config(format!("{at}.config"), "missing or not an object"))?;
    let name = obj
        .get("name")
        .and_then(Value::as_str)
        .or_else(|| config.get("name").and_then(Value::as_str))
        .ok_or_else(|| Problem::config(format!("{at}.name"), "missing"))?
        .to_string();
    let build_input_shape = obj
        .get("build_config")
        .and_then(Value::as_object)
        .and_then(|b| b.get("input_shape"))
        .cloned();
    let mut calls = Vec::new();
    if let Some(nodes) = obj.get("inbound_nodes") {
        let nodes = nodes
            .as_array()
            .ok_or_else(|| Problem::config(format!("{at}.inbound_nodes"), "expected a list"))?;
        for (i, node) in nodes.iter().enumerate() {
            calls.push(parse_call(node, &format!("{at}.inbound_nodes[{i}]"))?);
        }
    }
    let body = if is_container(&class_name) && config.contains_key("layers") {
        Body::Nested(Box::new(parse_container(
            &class_name,
            &config,
            &format!("{at}.config"),
        )?))
    } else {
        Body::Leaf
    };
    Ok(Member {
        name,
        class_name,
        config,
        build_input_shape,
        calls,
        body,
    })
}

/// One inbound node, in either dialect.
fn parse_call(node: &Value, at: &str) -> Result<Call, Problem> {
    match node {
        // Keras 3: {"args": [...], "kwargs": {...}}
        Value::Object(o) => {
            let mut args = Vec::new();
            if let Some(a) = o.get("args") {
                collect_tensors(a, &mut args, at)?;
            }
            let kwargs = o
                .get("kwargs")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            // MultiHeadAttention's key comes as a keyword: it is the third input
            // (query, value, key), the order of the layer's call.
            if let Some(key) = kwargs.get("key") {
                collect_tensors(&Value::Array(vec![key.clone()]), &mut args, at)?;
            }
            Ok(Call { args, kwargs })
        }
        // Keras 2: [["name", node, tensor, {kwargs}], ...]
        Value::Array(items) => {
            let mut args = Vec::new();
            for (i, item) in items.iter().enumerate() {
                args.push(tensor_ref(item, &format!("{at}[{i}]"))?);
                // tf.keras 2 writes MultiHeadAttention's value and key as keywords of its
                // query: `["q", 0, 0, {"value": ["v", 0, 0], "key": ["k", 0, 0]}]`.
                let kw = item
                    .as_array()
                    .and_then(|a| a.get(3))
                    .and_then(Value::as_object);
                for name in ["value", "key"] {
                    if let Some(t) = kw.and_then(|k| k.get(name)).filter(|t| t.is_array()) {
                        args.push(tensor_ref(t, &format!("{at}[{i}].{name}"))?);
                    }
                }
            }
            Ok(Call {
                args,
                kwargs: Map::new(),
            })
        }
        _ => Err(Problem::config(at, "expected an object or a list")),
    }
}

/// Keras tensors anywhere inside a Keras 3 `args` value, in order.
fn collect_tensors(v: &Value, out: &mut Vec<TensorRef>, at: &str) -> Result<(), Problem> {
    match v {
        Value::Array(items) => {
            for item in items {
                collect_tensors(item, out, at)?;
            }
        }
        Value::Object(o)
            if o.get("class_name").and_then(Value::as_str) == Some("__keras_tensor__") =>
        {
            let hist = o
                .get("config")
                .and_then(|c| c.get("keras_history"))
                .ok_or_else(|| Problem::config(at, "a keras tensor without keras_history"))?;
            out.push(tensor_ref(hist, at)?);
        }
        _ => {}
    }
    Ok(())
}

/// `["name", node, tensor, ...]`.
fn tensor_ref(v: &Value, at: &str) -> Result<TensorRef, Problem> {
    let items = v
        .as_array()
        .filter(|a| a.len() >= 3)
        .ok_or_else(|| Problem::config(at, format!("expected [layer, node, tensor], found {v}")))?;
    let layer = items[0]
        .as_str()
        .ok_or_else(|| Problem::config(at, "the layer name is not a string"))?
        .to_string();
    let idx = |x: &Value| {
        x.as_u64()
            .map(|n| n as usize)
            .ok_or_else(|| Problem::config(at, format!("expected a non-negative index, found {x}")))
    };
    Ok(TensorRef {
        layer,
        node: idx(&items[1])?,
        tensor: idx(&items[2])?,
    })
}

/// `input_layers` / `output_layers`: a list of refs, or one ref written flat.
fn parse_endpoints(v: Option<&Value>, at: &str) -> Result<Vec<TensorRef>, Problem> {
    let Some(v) = v else { return Ok(Vec::new()) };
    let items = v
        .as_array()
        .ok_or_else(|| Problem::config(at, "expected a list"))?;
    if items.first().is_some_and(Value::is_string) {
        return Ok(vec![tensor_ref(v, at)?]);
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| tensor_ref(item, &format!("{at}[{i}]")))
        .collect()
}

/// Whether Keras 2 counts a nested model's own construction as its node 0, so that its first
/// call from the outer graph is node 1 (Keras 2's `_should_skip_first_node`): a Functional model,
/// or a Sequential that starts with an InputLayer of its own. Keras 3 numbers calls from 0.
fn keras2_skips_first_node(m: &Member) -> bool {
    match &m.body {
        Body::Leaf => false,
        Body::Nested(c) => {
            c.kind == ContainerKind::Functional
                || c.members
                    .first()
                    .is_some_and(|f| f.class_name == "InputLayer")
        }
    }
}

/// Renumbers references to nested models in a Keras 2 config as Keras 3 numbers them (the
/// first call is node 0), so that the rest of the reader sees one dialect.
fn renumber_keras2_calls(members: &mut [Member], outputs: &mut [TensorRef]) {
    let skips: std::collections::HashSet<String> = members
        .iter()
        .filter(|m| keras2_skips_first_node(m))
        .map(|m| m.name.clone())
        .collect();
    if skips.is_empty() {
        return;
    }
    let fix = |r: &mut TensorRef| {
        if r.node > 0 && skips.contains(&r.layer) {
            r.node -= 1;
        }
    };
    for m in members.iter_mut() {
        for call in &mut m.calls {
            call.args.iter_mut().for_each(fix);
        }
    }
    outputs.iter_mut().for_each(fix);
}

#[cfg(test)]
mod tests {
    use super::parse_model;
    use serde_json::json;

    /// A Keras 2 config of `outer_in -> inner -> outer_dense`, `inner` given as a member.
    fn keras2_outer(inner: serde_json::Value) -> serde_json::Value {
        json!({"class_name": "Functional", "config": {
            "name": "outer",
            "layers": [
                {"class_name": "InputLayer", "name": "outer_in",
                 "config": {"name": "outer_in", "batch_input_shape": [null, 5]}, "inbound_nodes": []},
                inner,
                {"class_name": "Dense", "name": "outer_dense", "config": {"name": "outer_dense", "units": 2},
                 "inbound_nodes": [[["inner", 1, 0, {}]]]}
            ],
            "input_layers": [["outer_in", 0, 0]],
            "output_layers": [["outer_dense", 0, 0]]
        }})
    }

    fn inner_dense() -> serde_json::Value {
        json!({"class_name": "Dense", "name": "inner_dense",
               "config": {"name": "inner_dense", "units": 3}, "inbound_nodes": [[["inner_in", 0, 0, {}]]]})
    }

    fn inner_input() -> serde_json::Value {
        json!({"class_name": "InputLayer", "name": "inner_in",
               "config": {"name": "inner_in", "batch_input_shape": [null, 5]}, "inbound_nodes": []})
    }

    fn node_of_outer_dense(config: &serde_json::Value) -> usize {
        let root = parse_model(config).unwrap();
        root.members[2].calls[0].args[0].node
    }

    #[test]
    fn keras2_nested_functional_first_call_is_node_zero() {
        let inner = json!({"class_name": "Functional", "name": "inner",
            "config": {"name": "inner", "layers": [inner_input(), inner_dense()],
                       "input_layers": [["inner_in", 0, 0]], "output_layers": [["inner_dense", 0, 0]]},
            "inbound_nodes": [[["outer_in", 0, 0, {}]]]});
        assert_eq!(node_of_outer_dense(&keras2_outer(inner)), 0);
    }

    #[test]
    fn keras2_nested_sequential_with_its_input_first_call_is_node_zero() {
        let inner = json!({"class_name": "Sequential", "name": "inner",
            "config": {"name": "inner", "layers": [inner_input(), inner_dense()]},
            "inbound_nodes": [[["outer_in", 0, 0, {}]]]});
        assert_eq!(node_of_outer_dense(&keras2_outer(inner)), 0);
    }

    #[test]
    fn keras2_nested_sequential_without_input_keeps_its_numbering() {
        // No InputLayer of its own: Keras 2 numbers its calls from 0, so node 1 is a second call.
        let inner = json!({"class_name": "Sequential", "name": "inner",
            "config": {"name": "inner", "layers": [inner_dense()]},
            "inbound_nodes": [[["outer_in", 0, 0, {}]]]});
        assert_eq!(node_of_outer_dense(&keras2_outer(inner)), 1);
    }

    #[test]
    fn keras3_nested_model_numbering_is_kept() {
        let mut config = keras2_outer(json!({"class_name": "Functional", "name": "inner",
            "config": {"name": "inner", "layers": [inner_input(), inner_dense()],
                       "input_layers": [["inner_in", 0, 0]], "output_layers": [["inner_dense", 0, 0]]},
            "inbound_nodes": [{"args": [], "kwargs": {}}]}));
        config["config"]["layers"][2]["inbound_nodes"] = json!([{"args": [{"class_name": "__keras_tensor__",
            "config": {"keras_history": ["inner", 1, 0]}}], "kwargs": {}}]);
        assert_eq!(node_of_outer_dense(&config), 1);
    }
}
