//! Python's `json.dumps` byte for byte: the graph hash of a bundle is SHA-256 over exactly
//! what `json.dumps(graph, sort_keys=True)` prints, so every separator, escape and float
//! digit has to match CPython.
//!
//! Owns: serialising a `serde_json::Value` the way CPython does (separators `", "` and
//! `": "`, `ensure_ascii`, float `repr`). Must not touch: files or hashing.

use serde_json::Value;
use std::fmt::Write;

/// `json.dumps(value, sort_keys=sort_keys)` as CPython 3 prints it.
pub fn dumps(value: &Value, sort_keys: bool) -> String {
    let mut out = String::with_capacity(256);
    write_value(&mut out, value, sort_keys);
    out
}

fn write_value(out: &mut String, value: &Value, sort_keys: bool) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                let _ = write!(out, "{i}");
            } else if let Some(u) = n.as_u64() {
                let _ = write!(out, "{u}");
            } else if let Some(f) = n.as_f64() {
                out.push_str(&float_repr(f));
            }
        }
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, item, sort_keys);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            if sort_keys {
                // Python sorts str keys by code point; Rust's str ordering is byte order of
                // UTF-8, which is the same order for code points.
                entries.sort_by(|a, b| a.0.cmp(b.0));
            }
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_str(out, k);
                out.push_str(": ");
                write_value(out, v, sort_keys);
            }
            out.push('}');
        }
    }
}

/// A JSON string with `ensure_ascii=True`: everything outside printable ASCII becomes `\uXXXX`
/// (UTF-16 surrogate pairs above U+FFFF), with the short escapes CPython uses.
fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

/// CPython's `repr(float)`: the shortest digits that round-trip, positional for decimal
/// exponents in `[-4, 16)`, otherwise `d.ddde±XX`; always with a `.0` when integral.
pub fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    // Rust's `{:e}` prints the shortest round-tripping digits, like Python's repr.
    let sci = format!("{f:e}");
    let (mantissa, exp) = match sci.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (sci.as_str(), 0),
    };
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let mut out = String::with_capacity(24);
    if negative {
        out.push('-');
    }
    if (-4..16).contains(&exp) {
        if exp < 0 {
            out.push_str("0.");
            for _ in 0..(-exp - 1) {
                out.push('0');
            }
            out.push_str(&digits);
        } else {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                out.push_str(&digits);
                for _ in digits.len()..int_len {
                    out.push('0');
                }
                out.push_str(".0");
            } else {
                out.push_str(&digits[..int_len]);
                out.push('.');
                out.push_str(&digits[int_len..]);
            }
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(out, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_cpython_repr() {
        let cases = [
            (1e-05, "1e-05"),
            (1e-07, "1e-07"),
            (0.001, "0.001"),
            (0.0001, "0.0001"),
            (0.00392156862745098, "0.00392156862745098"),
            (-1.0, "-1.0"),
            (0.5, "0.5"),
            (100.0, "100.0"),
            (1e16, "1e+16"),
            (1234567890123456.0, "1234567890123456.0"),
            (1.5e300, "1.5e+300"),
            (0.1, "0.1"),
            (0.99, "0.99"),
            (-0.0, "-0.0"),
            (2.5e-05, "2.5e-05"),
        ];
        for (f, want) in cases {
            assert_eq!(float_repr(f), want, "repr of {f}");
        }
    }

    #[test]
    fn dumps_matches_python_layout() {
        let v: Value =
            serde_json::from_str(r#"{"b": [1, 2.0, null, true], "a": {"z": "é\n", "y": 1e-3}}"#)
                .unwrap();
        assert_eq!(
            dumps(&v, true),
            r#"{"a": {"y": 0.001, "z": "\u00e9\n"}, "b": [1, 2.0, null, true]}"#
        );
        assert_eq!(
            dumps(&v, false),
            r#"{"b": [1, 2.0, null, true], "a": {"z": "\u00e9\n", "y": 0.001}}"#
        );
    }
}
