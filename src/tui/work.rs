//! Background work: listing a folder, sniffing a file, loading a model for preview, listing
//! the unfinished deployments. Each kind
//! runs on its own thread and sends its result back as an [`Action`]; the UI loop never
//! waits for it. When requests pile up (scrolling fast past big files) only the newest of
//! each kind is done — the state asks again for anything it still wants.
//!
//! Owns: file I/O for the TUI. Must not touch: the terminal, the state.

use super::action::{Action, Effect};
use super::model_view::{self, ModelView};
use crate::bundle;
use crate::bundle::file::ModelFile;
use crate::journal;
use crate::keras;
use crate::keras::error::printable;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum EntryKind {
    Parent,
    Dir,
    Keras,
    H5,
    Bundle,
}

impl EntryKind {
    pub fn is_file(self) -> bool {
        matches!(self, EntryKind::Keras | EntryKind::H5 | EntryKind::Bundle)
    }

    /// The word shown beside a file (the list never relies on colour alone).
    pub fn label(self) -> &'static str {
        match self {
            EntryKind::Parent => "up",
            EntryKind::Dir => "folder",
            EntryKind::Keras => "keras",
            EntryKind::H5 => "h5",
            EntryKind::Bundle => "bundle",
        }
    }
}

/// One row of the Pick list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub path: PathBuf,
    pub kind: EntryKind,
    /// Bytes, for files.
    pub size: u64,
}

/// A one-line description of a model file, cheap enough to show while browsing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sniff {
    pub format: &'static str,
    pub keras_version: Option<String>,
    pub model_class: Option<String>,
    pub layers: usize,
    pub params: Option<usize>,
    /// Bundles: whether the stored hash matches the contents.
    pub hash_verified: Option<bool>,
}

/// A folder's subfolders (not hidden) and its `.keras`, `.h5` and bundle `.json` files;
/// folders first, each group by name, with `..` on top when there is a parent.
pub fn list_dir(dir: &Path) -> Result<Vec<Entry>, String> {
    let read =
        std::fs::read_dir(dir).map_err(|e| format!("{}: cannot list: {e}", dir.display()))?;
    let mut out = Vec::new();
    for e in read.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let path = e.path();
        // Follows symlinks, so a link to a folder browses like one.
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        let kind = if meta.is_dir() {
            EntryKind::Dir
        } else {
            match path.extension().and_then(|x| x.to_str()) {
                Some("keras") => EntryKind::Keras,
                Some("h5") => EntryKind::H5,
                Some("json") if looks_like_bundle(&path) => EntryKind::Bundle,
                _ => continue,
            }
        };
        out.push(Entry {
            name,
            path,
            kind,
            size: if meta.is_dir() { 0 } else { meta.len() },
        });
    }
    out.sort_by(|a, b| {
        (a.kind != EntryKind::Dir, &a.name).cmp(&(b.kind != EntryKind::Dir, &b.name))
    });
    if let Some(parent) = dir.parent() {
        out.insert(
            0,
            Entry {
                name: "..".into(),
                path: parent.to_path_buf(),
                kind: EntryKind::Parent,
                size: 0,
            },
        );
    }
    Ok(out)
}

/// Bundles (ours and eai's) start with `{"model_graph"`; reading the head is enough to keep
/// other JSON files (truth files, configs) out of the list.
fn looks_like_bundle(path: &Path) -> bool {
    let mut head = [0u8; 64];
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    let n = f.read(&mut head).unwrap_or(0);
    let text: Vec<u8> = head[..n]
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    text.starts_with(b"{\"model_graph\"")
}

/// The Pick screen's one line. A model file's header and config only, never its weights
/// (browsing a downloads folder must not load every model in it); the parameter count is what
/// the config declares. A bundle is read whole: its hash check is part of the line.
pub fn sniff(path: &Path) -> Result<Sniff, String> {
    let cannot = |e: std::io::Error| format!("{}: cannot read: {e}", path.display());
    let mut head = [0u8; 16];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(cannot)?;
    if keras::sniff(&head[..n]).is_some() {
        let model = keras::header(path).map_err(|e| e.to_string())?;
        let text = |s: &Option<String>| s.as_deref().map(|s| printable(s).into_owned());
        return Ok(Sniff {
            format: match model.format {
                keras::SourceFormat::KerasZip => "Keras 3 archive",
                keras::SourceFormat::LegacyH5 => "legacy HDF5",
            },
            keras_version: text(&model.keras_version),
            model_class: Some(model.model_class().to_string()),
            layers: model.layers.len(),
            params: keras::declared_params(&model),
            hash_verified: None,
        });
    }
    let bytes = std::fs::read(path).map_err(cannot)?;
    if bundle::sniff(&bytes) {
        let read = bundle::read_bytes(&bytes, path).map_err(|e| e.to_string())?;
        let meta = read.bundle.meta_layers();
        let source = read.bundle.meta.get("source");
        let text = |k: &str| {
            source
                .and_then(|s| s.get(k))
                .and_then(serde_json::Value::as_str)
                .map(|s| printable(s).into_owned())
        };
        return Ok(Sniff {
            format: "bundle",
            keras_version: text("keras_version"),
            model_class: text("model_class"),
            layers: read
                .bundle
                .graph
                .get("layers")
                .and_then(serde_json::Value::as_array)
                .map_or(0, Vec::len),
            params: meta.map(|m| {
                m.iter()
                    .filter_map(|l| l.get("params").and_then(serde_json::Value::as_u64))
                    .sum::<u64>() as usize
            }),
            hash_verified: Some(read.verified()),
        });
    }
    // Neither: the reader names what it found (it refuses these bytes).
    match keras::load_bytes(&head[..n], path) {
        Err(e) => Err(e.to_string()),
        Ok(_) => Err(format!("{}: not a model file or a bundle", path.display())),
    }
}

pub fn load(path: &Path) -> Result<ModelView, String> {
    let file = ModelFile::describe(path).map_err(|e| e.to_string())?;
    Ok(model_view::of_described(&file))
}

/// Does the work an effect asks for, on the calling thread. The deployment engine's effects
/// are not a worker's: `None`.
pub fn perform(effect: Effect) -> Option<Action> {
    Some(match effect {
        Effect::List(dir) => {
            let result = list_dir(&dir);
            Action::Listed { dir, result }
        }
        Effect::Sniff(path) => {
            let result = sniff(&path);
            Action::Sniffed { path, result }
        }
        Effect::Load(path) => {
            let result = load(&path).map(Box::new);
            Action::Loaded { path, result }
        }
        Effect::MeasureFormats(path) => {
            let result = crate::usecase::formats::measure(&path, None)
                .map(Box::new)
                .map_err(|e| format!("{e:#}"));
            Action::Formats { path, result }
        }
        Effect::ListDeployments(dir) => {
            Action::Deployments(journal::list(&dir).map_err(|e| e.to_string()))
        }
        Effect::FindSamples(model) => {
            Action::Samples(crate::usecase::predict::sample_inputs(&model).map_err(|e| {
                let dir = model.parent().unwrap_or(&model);
                format!("cannot list {}: {e}", dir.display())
            }))
        }
        Effect::StartDeploy { .. }
        | Effect::Resume(_)
        | Effect::Command(_)
        | Effect::Verify { .. }
        | Effect::Predict { .. }
        | Effect::Probe(_) => return None,
    })
}

/// The threads doing [`perform`] for the UI loop.
pub struct Workers {
    list: Sender<Effect>,
    sniff: Sender<Effect>,
    load: Sender<Effect>,
    formats: Sender<Effect>,
    journal: Sender<Effect>,
}

impl Workers {
    pub fn spawn(out: Sender<Action>) -> std::io::Result<Workers> {
        Ok(Workers {
            list: worker("list", out.clone())?,
            sniff: worker("sniff", out.clone())?,
            load: worker("load", out.clone())?,
            // Its own thread: a worker keeps only its newest request, and measuring runs the
            // reference in every format, so it must neither drop nor hold up a Load.
            formats: worker("formats", out.clone())?,
            journal: worker("journal", out)?,
        })
    }

    /// Queues a worker's effect; the engine's effects go to `super::engine_link` instead.
    pub fn submit(&self, effect: Effect) {
        let queue = match effect {
            Effect::List(_) | Effect::FindSamples(_) => &self.list,
            Effect::Sniff(_) => &self.sniff,
            Effect::Load(_) => &self.load,
            Effect::MeasureFormats(_) => &self.formats,
            Effect::ListDeployments(_) => &self.journal,
            Effect::StartDeploy { .. }
            | Effect::Resume(_)
            | Effect::Command(_)
            | Effect::Verify { .. }
            | Effect::Predict { .. }
            | Effect::Probe(_) => {
                log::error!("not a worker's effect: {effect:?}");
                return;
            }
        };
        if queue.send(effect).is_err() {
            log::error!("a worker thread has stopped; its request is dropped");
        }
    }
}

fn worker(name: &str, out: Sender<Action>) -> std::io::Result<Sender<Effect>> {
    let (tx, rx) = mpsc::channel::<Effect>();
    thread::Builder::new()
        .name(format!("tui-{name}"))
        .spawn(move || run_worker(rx, out))?;
    Ok(tx)
}

fn run_worker(rx: Receiver<Effect>, out: Sender<Action>) {
    while let Ok(mut effect) = rx.recv() {
        // Only the newest request matters.
        while let Ok(newer) = rx.try_recv() {
            effect = newer;
        }
        log::debug!("work: {effect:?}");
        let Some(action) = perform(effect) else {
            continue;
        };
        if out.send(action).is_err() {
            return; // the UI has gone
        }
    }
}
