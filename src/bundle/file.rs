//! "Is this a model file or a bundle?", decided once: [`ModelFile::open`] reads a path once and
//! holds either a Keras model with the bundle exported from it, or a bundle read from JSON.
//! Every command that takes `MODEL|BUNDLE` starts here (inspect, predict, plan, deploy,
//! verify, the TUI's Preview), so none of them sniffs or reads the file again.
//!
//! Owns: the choice between the readers and the one read. Must not touch: what the commands
//! do with the model.

use super::{Bundle, BundleError, ReadBundle};
use crate::keras::{self, KerasError, Model};
use std::path::{Path, PathBuf};

/// A model file or a bundle, read.
pub struct ModelFile {
    pub path: PathBuf,
    pub content: Content,
}

pub enum Content {
    /// A `.keras`/`.h5` file and the bundle exported from it.
    Keras { model: Box<Model>, bundle: Bundle },
    /// A bundle `.json` (eternalize's or eai's), with what its stored hash says.
    Bundle(ReadBundle),
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("{}: cannot read the file: {io}", path.display())]
    Read { path: PathBuf, io: std::io::Error },
    #[error(transparent)]
    Keras(#[from] KerasError),
    #[error(transparent)]
    Bundle(#[from] BundleError),
    /// The model was read but cannot be exported (e.g. a weight eai's format cannot hold).
    #[error("{}: {}", path.display(), keras::error::printable(why))]
    Export { path: PathBuf, why: String },
}

/// A file read to be described (`inspect`, the TUI's Preview), deployable or not.
pub enum Described {
    File(ModelFile),
    /// A Keras model read whole that cannot be exported: a layer eternalize cannot deploy, or
    /// a weight the bundle format cannot hold.
    Undeployable(Undeployable),
}

pub struct Undeployable {
    pub path: PathBuf,
    pub model: Box<Model>,
    /// Why, without the path: the words `export`, `plan` and `deploy` refuse it with.
    pub why: String,
    /// That refusal.
    pub error: OpenError,
}

impl ModelFile {
    /// Reads `path` once: a JSON document is a bundle, anything else goes to the Keras reader
    /// (which names what it found when it is neither).
    /// Refused, with the reason, when the file is a model that cannot be exported.
    pub fn open(path: &Path) -> Result<ModelFile, OpenError> {
        match ModelFile::describe(path)? {
            Described::File(f) => Ok(f),
            Described::Undeployable(u) => Err(u.error),
        }
    }

    /// Reads `path` once, keeping a model that cannot be exported (to say why).
    pub fn describe(path: &Path) -> Result<Described, OpenError> {
        let read = |io| OpenError::Read {
            path: path.to_path_buf(),
            io,
        };
        // A Keras file is read from disk within its budget (never whole); a bundle is JSON.
        let mut head = Vec::with_capacity(64);
        std::io::Read::read_to_end(
            &mut std::io::Read::take(std::fs::File::open(path).map_err(read)?, 64),
            &mut head,
        )
        .map_err(read)?;
        let content = if keras::sniff(&head).is_none() && super::sniff(&head) {
            let bytes = std::fs::read(path).map_err(read)?;
            Content::Bundle(super::read_bytes(&bytes, path)?)
        } else {
            let model = keras::describe(path)?;
            let refusal = match keras::refuse_undeployable(&model) {
                Err(problem) => Err((
                    keras::error::printable(&problem.to_string()).into_owned(),
                    OpenError::Keras(KerasError {
                        path: path.to_path_buf(),
                        problem,
                    }),
                )),
                Ok(()) => Bundle::from_model(&model).map_err(|e| {
                    let why = e.to_string();
                    (
                        keras::error::printable(&why).into_owned(),
                        OpenError::Export {
                            path: path.to_path_buf(),
                            why,
                        },
                    )
                }),
            };
            match refusal {
                Ok(bundle) => Content::Keras {
                    model: Box::new(model),
                    bundle,
                },
                Err((why, error)) => {
                    return Ok(Described::Undeployable(Undeployable {
                        path: path.to_path_buf(),
                        model: Box::new(model),
                        why,
                        error,
                    }));
                }
            }
        };
        Ok(Described::File(ModelFile {
            path: path.to_path_buf(),
            content,
        }))
    }

    /// The bundle: exported from the model, or as read.
    pub fn bundle(&self) -> &Bundle {
        match &self.content {
            Content::Keras { bundle, .. } => bundle,
            Content::Bundle(read) => &read.bundle,
        }
    }

    /// The Keras model, when the file is one.
    pub fn model(&self) -> Option<&Model> {
        match &self.content {
            Content::Keras { model, .. } => Some(model),
            Content::Bundle(_) => None,
        }
    }

    /// For a bundle whose stored `hashed_model` does not match its contents: which half
    /// differs. A model file always matches.
    pub fn mismatch(&self) -> Option<String> {
        match &self.content {
            Content::Keras { .. } => None,
            Content::Bundle(read) => read.mismatch(),
        }
    }

    /// For an eai bundle whose graph does not tell enough to deploy or run it: what is
    /// missing, and where. A model file, or a bundle of ours, always tells.
    pub fn gap(&self) -> Option<&super::eai_graph::Gap> {
        match &self.content {
            Content::Keras { .. } => None,
            Content::Bundle(read) => read.gap(),
        }
    }

    /// The bundle, refused when it was altered after export or when it is an eai bundle whose
    /// graph does not tell enough (what deploy, predict and verify need: a model they can
    /// trust to be the one its hash names, and can run).
    pub fn trusted_bundle(&self) -> Result<&Bundle, String> {
        if let Some(why) = self.mismatch() {
            return Err(format!(
                "{}: the stored hashed_model does not match the contents: {why}",
                self.path.display()
            ));
        }
        match self.gap() {
            None => Ok(self.bundle()),
            Some(gap) => Err(format!("{}: {gap}", self.path.display())),
        }
    }
}
