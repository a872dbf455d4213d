//! Keras 3 `.keras` files: a zip of `config.json`, `metadata.json` and `model.weights.h5`,
//! whose weight groups are named by class and position (`layers/dense_1/vars/0`).
//!
//! The config is read first (bounded by [`MAX_CONFIG_BYTES`]); the weights entry only once the
//! config has said how large it may be, and a stored entry is parsed in place, not copied.

use super::error::Problem;
use super::h5::{H5File, NodeKind};
use super::model::Layer;
use serde_json::Value;
use std::io::{Cursor, Read, Seek};

/// What a `.keras` archive holds: its config and metadata, read; its weights entry, located
/// but not read until the config has said how large it may be ([`Archive::weights`]).
pub struct Archive {
    pub config: Value,
    pub keras_version: Option<String>,
    weights: Located,
}

/// Where `model.weights.h5` is, and what its header claims.
struct Located {
    index: usize,
    /// Uncompressed size the entry claims.
    size: u64,
    compressed: u64,
    /// For an entry stored uncompressed (as Keras writes it): where its bytes start.
    stored_at: Option<u64>,
}

/// `config.json` and `metadata.json` are read before the config says anything; no model's
/// config comes near this.
pub const MAX_CONFIG_BYTES: u64 = 16 << 20;
/// Uncompressed : compressed beyond this is a zip bomb (Keras stores entries uncompressed; real
/// weights deflate by less than 2:1). Entries under [`RATIO_FLOOR`] bytes are not checked.
pub const MAX_RATIO: u64 = 100;
const RATIO_FLOOR: u64 = 1 << 20;

/// Opens the archive and reads its config and metadata (each at most [`MAX_CONFIG_BYTES`]).
pub fn open(bytes: &[u8]) -> Result<Archive, Problem> {
    open_from(Cursor::new(bytes), bytes.len() as u64)
}

/// [`open`] from any reader of `size` bytes (a file on disk: only the zip directory, the
/// config and the metadata are read).
pub fn open_from<R: Read + Seek>(reader: R, size: u64) -> Result<Archive, Problem> {
    let zip_err = |e: zip::result::ZipError| Problem::Zip {
        size,
        reason: e.to_string(),
    };
    let mut zip = zip::ZipArchive::new(reader).map_err(zip_err)?;
    let names: Vec<String> = zip
        .file_names()
        .filter_map(Result::ok)
        .map(|n| n.into_owned())
        .collect();
    let missing = |entry: &str| Problem::MissingEntry {
        entry: entry.to_string(),
        entries: if names.is_empty() {
            "nothing".into()
        } else {
            names.join(", ")
        },
    };
    let config_bytes = read_entry(&mut zip, size, "config.json", MAX_CONFIG_BYTES)?
        .ok_or_else(|| missing("config.json"))?;
    let weights = {
        let index = zip
            .index_for_name("model.weights.h5")
            .ok_or_else(|| missing("model.weights.h5"))?;
        let entry = zip.by_index_raw(index).map_err(zip_err)?;
        let stored = entry.compression() == zip::CompressionMethod::Stored && !entry.encrypted();
        Located {
            index,
            size: entry.size(),
            compressed: entry.compressed_size(),
            stored_at: if stored { entry.data_start() } else { None },
        }
    };
    let metadata = read_entry(&mut zip, size, "metadata.json", MAX_CONFIG_BYTES)?;

    let config: Value = serde_json::from_slice(&config_bytes).map_err(|e| Problem::Json {
        what: "config.json".into(),
        reason: e.to_string(),
    })?;
    let keras_version = match metadata {
        Some(m) => serde_json::from_slice::<Value>(&m)
            .map_err(|e| Problem::Json {
                what: "metadata.json".into(),
                reason: e.to_string(),
            })?
            .get("keras_version")
            .and_then(Value::as_str)
            .map(str::to_string),
        None => None,
    };
    Ok(Archive {
        config,
        keras_version,
        weights,
    })
}

impl Archive {
    /// Opens `model.weights.h5` from the archive's bytes (consumed, so a stored entry is used
    /// in place instead of copied), refusing before any read an entry that claims more than
    /// `budget` bytes or expands more than [`MAX_RATIO`] times.
    pub fn weights(&self, bytes: Vec<u8>, budget: &Budget) -> Result<H5File, Problem> {
        let size = bytes.len() as u64;
        let w = &self.weights;
        let limit = self.check_weights(size, budget)?;
        let h5 = match w.stored_at {
            Some(start) => {
                let end = start.checked_add(w.size).filter(|&e| e <= size);
                let Some(end) = end else {
                    return Err(Problem::Zip {
                        size,
                        reason: format!(
                            "entry model.weights.h5 claims {} bytes from offset {start}, past the end of the archive",
                            w.size
                        ),
                    });
                };
                // Both fit in usize: they are offsets into `bytes`.
                H5File::from_region(bytes, start as usize..end as usize)
            }
            None => {
                let mut zip =
                    zip::ZipArchive::new(Cursor::new(&bytes)).map_err(|e| Problem::Zip {
                        size,
                        reason: e.to_string(),
                    })?;
                let data = read_index(&mut zip, size, w.index, "model.weights.h5", limit)?;
                drop(zip);
                drop(bytes);
                H5File::from_bytes(data)
            }
        };
        h5.map_err(|e| Problem::Hdf5 {
            what: "model.weights.h5".into(),
            reason: e.to_string(),
        })
    }
}

impl Archive {
    /// The checks made before any byte of the weights entry is read: its claimed size within
    /// the budget (returned), its compression ratio sane.
    fn check_weights(&self, size: u64, budget: &Budget) -> Result<u64, Problem> {
        let w = &self.weights;
        let limit = budget.file_bytes();
        if w.size > limit {
            return Err(Problem::OverBudget {
                what: "zip entry model.weights.h5".into(),
                claimed: w.size,
                declared: budget.declared,
                budget: limit,
                margin: super::MARGIN >> 20,
            });
        }
        check_ratio("model.weights.h5", w.size, w.compressed, size)?;
        Ok(limit)
    }

    /// [`Archive::weights`] from the `.keras` file on disk (`size` bytes): a stored entry is
    /// read in place from the file, a compressed one expanded into an anonymous scratch file;
    /// either way only the weights asked for are ever in memory, so a file carrying an
    /// optimizer's state beside its weights costs no memory for it.
    pub fn weights_from_file(
        &self,
        file: std::fs::File,
        size: u64,
        budget: &Budget,
    ) -> Result<H5File, Problem> {
        let w = &self.weights;
        let limit = self.check_weights(size, budget)?;
        let hdf5 = |e: super::h5::H5Error| Problem::Hdf5 {
            what: "model.weights.h5".into(),
            reason: e.to_string(),
        };
        if let Some(start) = w.stored_at {
            if start.checked_add(w.size).is_none_or(|end| end > size) {
                return Err(Problem::Zip {
                    size,
                    reason: format!(
                        "entry model.weights.h5 claims {} bytes from offset {start}, past the end of the archive",
                        w.size
                    ),
                });
            }
            return H5File::from_file_region(file, start, w.size).map_err(hdf5);
        }
        let zip_err = |e: zip::result::ZipError| Problem::Zip {
            size,
            reason: e.to_string(),
        };
        let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(zip_err)?;
        let io = |e: std::io::Error| Problem::Zip {
            size,
            reason: format!("entry model.weights.h5: {e}"),
        };
        let scratch = crate::atomic::scratch().map_err(io)?;
        let mut declared = 0;
        copy_index(
            &mut zip,
            size,
            w.index,
            "model.weights.h5",
            limit,
            |claimed| {
                declared = claimed;
                std::io::BufWriter::new(&scratch)
            },
        )?;
        H5File::from_file_region(scratch, 0, declared).map_err(hdf5)
    }
}

/// What a model file may take, from what its config declares.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    /// Bytes of f32 weights the config declares (its weight shapes x 4).
    pub declared: u64,
}

impl Budget {
    /// The most a weights file (zip entry) may claim: the weights, room for an optimizer's
    /// state beside them (Adam keeps two more copies), and the margin.
    pub fn file_bytes(&self) -> u64 {
        self.declared
            .saturating_mul(3)
            .saturating_add(super::MARGIN)
    }

    /// The most weight values read from the file may take: the declared weights and the
    /// margin (which also holds the weights of layers whose shapes cannot be inferred).
    pub fn read_bytes(&self) -> u64 {
        self.declared.saturating_add(super::MARGIN)
    }
}

fn check_ratio(entry: &str, claimed: u64, compressed: u64, size: u64) -> Result<(), Problem> {
    if claimed > RATIO_FLOOR && claimed / compressed.max(1) > MAX_RATIO {
        return Err(Problem::Zip {
            size,
            reason: format!(
                "entry {entry} claims {claimed} bytes from {compressed} compressed, a ratio over {MAX_RATIO}:1 no model file has (a zip bomb?); refusing to expand it"
            ),
        });
    }
    Ok(())
}

/// Reads a named entry of at most `limit` bytes; `None` when the archive has none.
fn read_entry<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    size: u64,
    entry: &str,
    limit: u64,
) -> Result<Option<Vec<u8>>, Problem> {
    match zip.index_for_name(entry) {
        Some(i) => read_index(zip, size, i, entry, limit).map(Some),
        None => Ok(None),
    }
}

fn read_index<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    size: u64,
    index: usize,
    entry: &str,
    limit: u64,
) -> Result<Vec<u8>, Problem> {
    let mut out = Vec::new();
    copy_index(zip, size, index, entry, limit, |declared| {
        // `declared` <= `limit`, which fits in memory by construction. The header may lie:
        // never reserve more than the entry could expand to.
        let reserve = declared.min(size.saturating_mul(MAX_RATIO));
        out.reserve(usize::try_from(reserve).unwrap_or(0));
        &mut out
    })?;
    Ok(out)
}

/// Expands entry `index` into what `sink` returns (given the size the entry claims), once its
/// claimed size is within `limit` and its compression ratio sane; refuses an entry holding
/// other than the bytes its header claims.
fn copy_index<R: Read + Seek, W: std::io::Write>(
    zip: &mut zip::ZipArchive<R>,
    size: u64,
    index: usize,
    entry: &str,
    limit: u64,
    sink: impl FnOnce(u64) -> W,
) -> Result<(), Problem> {
    let zip_err = |e: zip::result::ZipError| Problem::Zip {
        size,
        reason: e.to_string(),
    };
    let mut file = zip.by_index(index).map_err(zip_err)?;
    let declared = file.size();
    if declared > limit {
        return Err(Problem::Zip {
            size,
            reason: format!(
                "entry {entry} claims {declared} bytes, more than the {limit} allowed; refusing to read it"
            ),
        });
    }
    check_ratio(entry, declared, file.compressed_size(), size)?;
    let mut out = sink(declared);
    let copied = std::io::copy(&mut file.by_ref().take(declared + 1), &mut out).map_err(|e| {
        Problem::Zip {
            size,
            reason: format!("entry {entry}: {e}"),
        }
    })?;
    if copied != declared {
        return Err(Problem::Zip {
            size,
            reason: format!("entry {entry} holds {copied} bytes but its header says {declared}"),
        });
    }
    // A buffered sink (a scratch file) must say whether its last bytes reached the disk.
    out.flush().map_err(|e| Problem::Zip {
        size,
        reason: format!("entry {entry}: {e}"),
    })
}

/// Reads every layer's weights from `model.weights.h5`: `<group>/vars/<i>` in numeric order,
/// then `<group>/cell/vars/<i>` for recurrent layers, `<group>/{query,key,value,output}_dense/vars/<i>`
/// for MultiHeadAttention (and the wrappers' groups below).
pub fn load_weights(h5: &H5File, layers: &mut [Layer]) -> Result<(), Problem> {
    let h5err = |what: String, e: super::h5::H5Error| Problem::Hdf5 {
        what,
        reason: e.to_string(),
    };
    for layer in layers.iter_mut() {
        let group = format!("/{}", layer.source.zip_path);
        if layer.source.zip_path.is_empty() || !h5.exists(&group) {
            if layer.expected_weights.is_empty() {
                continue;
            }
            return Err(Problem::MissingWeights {
                layer: layer.name.clone(),
                class: layer.keras_class.clone(),
                group: format!("model.weights.h5:{group}"),
                expected: layer.expected_weights.len(),
            });
        }
        let mut listed: Vec<(String, Vec<(usize, String)>)> = Vec::new();
        // MultiHeadAttention keeps its weights in four sub-layers, in get_weights() order.
        let sub = [
            "vars",
            "cell/vars",
            // Wrappers keep their layer's weights one group down: TimeDistributed's `layer`,
            // Bidirectional's `forward_layer` then `backward_layer` (get_weights() order).
            "layer/vars",
            "forward_layer/cell/vars",
            "backward_layer/cell/vars",
            "query_dense/vars",
            "key_dense/vars",
            "value_dense/vars",
            "output_dense/vars",
            // tf.keras 2.15's .keras files name them with a leading underscore.
            "_query_dense/vars",
            "_key_dense/vars",
            "_value_dense/vars",
            "_output_dense/vars",
        ];
        for vars in sub.map(|v| format!("{group}/{v}")) {
            if !h5.exists(&vars) {
                continue;
            }
            let mut members: Vec<(usize, String)> = Vec::new();
            for (name, kind) in h5
                .children(&vars)
                .map_err(|e| h5err(format!("model.weights.h5:{vars}"), e))?
            {
                let index = name
                    .parse::<usize>()
                    .ok()
                    .filter(|_| matches!(kind, NodeKind::Dataset));
                match index {
                    Some(i) => members.push((i, name)),
                    None => {
                        return Err(Problem::Hdf5 {
                            what: format!("model.weights.h5:{vars}/{name}"),
                            reason: "expected numbered weight datasets (0, 1, 2, …)".into(),
                        });
                    }
                }
            }
            listed.push((vars, members));
        }
        // More members than the config needs (one dataset linked thousands of times) is
        // refused before any is read.
        let found: usize = listed.iter().map(|(_, m)| m.len()).sum();
        if layer.inferred && found > layer.expected_weights.len() {
            return Err(Problem::Hdf5 {
                what: format!("model.weights.h5:{group}"),
                reason: format!(
                    "holds {found} weight datasets, but layer '{}' ({}) needs {}; refusing to read more than the config declares",
                    layer.name,
                    layer.keras_class,
                    layer.expected_weights.len()
                ),
            });
        }
        for (vars, mut members) in listed {
            // Stored in string order (0, 1, 10, 2…); Keras's order is numeric.
            members.sort();
            for (_, name) in members {
                let path = format!("{vars}/{name}");
                let a = h5
                    .read_f32(&path)
                    .map_err(|e| h5err(format!("model.weights.h5:{path}"), e))?;
                layer.weights.push(super::model::Tensor {
                    name: path.trim_start_matches('/').to_string(),
                    shape: a.shape,
                    data: a.data,
                });
            }
        }
    }
    Ok(())
}
