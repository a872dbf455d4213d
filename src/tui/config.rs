//! The TUI's part of the config file: the `[keys]` table, and the `[tui]` table's `keystores`
//! (keystore files offered as signers besides `~/.foundry/keystores`). Other tables
//! (networks, `[deploy]`) are left to their readers.
//!
//! Owns: where the config file and the log file live, reading `[keys]` and `[tui]`.
//! Must not touch: the terminal.

use super::keymap::{KeyList, Keymap};
use directories::ProjectDirs;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Default, serde::Deserialize)]
struct File {
    #[serde(default)]
    keys: BTreeMap<String, KeyList>,
    #[serde(default)]
    tui: Tui,
}

#[derive(Debug, Default, serde::Deserialize)]
struct Tui {
    #[serde(default)]
    keystores: Vec<PathBuf>,
}

fn dirs() -> Option<ProjectDirs> {
    ProjectDirs::from("", "", "eternalize")
}

/// `~/.config/eternalize/config.toml` on Linux; `None` when the platform has no home.
pub fn default_path() -> Option<PathBuf> {
    dirs().map(|d| d.config_dir().join("config.toml"))
}

/// Where the TUI writes its log: `~/.local/share/eternalize/logs/tui.log` on Linux.
pub fn log_path() -> Option<PathBuf> {
    dirs().map(|d| d.data_dir().join("logs").join("tui.log"))
}

/// The keymap: defaults, with the `[keys]` of the given file (which must exist) or of the
/// default file (which may be absent).
pub fn keymap(explicit: Option<&Path>) -> Result<Keymap, String> {
    let Some((path, text)) = read(explicit)? else {
        return Ok(Keymap::default());
    };
    parse_keymap(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The `[tui] keystores` list of the given or default file (none when there is no file).
pub fn keystores(explicit: Option<&Path>) -> Result<Vec<PathBuf>, String> {
    let Some((path, text)) = read(explicit)? else {
        return Ok(Vec::new());
    };
    let file: File = toml::from_str(&text)
        .map_err(|e| format!("{}: {}", path.display(), e.to_string().trim()))?;
    Ok(file.tui.keystores)
}

/// The given file (which must exist) or the default one, if there is one.
fn read(explicit: Option<&Path>) -> Result<Option<(PathBuf, String)>, String> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => match default_path() {
            Some(p) if p.exists() => p,
            _ => return Ok(None),
        },
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("{}: cannot read the config file: {e}", path.display()))?;
    Ok(Some((path, text)))
}

pub fn parse_keymap(text: &str) -> Result<Keymap, String> {
    let file: File = toml::from_str(text).map_err(|e| e.to_string().trim().to_string())?;
    Keymap::with_overrides(&file.keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::keymap::{Command, Key, ScreenKind};
    use ratatui::crossterm::event::KeyCode;

    #[test]
    fn keys_table_overrides_and_other_tables_are_ignored() {
        let map = parse_keymap(
            "default_network = \"local\"\n[networks.local]\nchain_id = 31337\n[keys]\ndeploy = [\"D\", \"f5\"]\n",
        )
        .unwrap();
        assert_eq!(
            map.command(ScreenKind::Preview, Key::plain(KeyCode::F(5))),
            Some(Command::Deploy)
        );
        assert_eq!(
            map.command(ScreenKind::Preview, Key::plain(KeyCode::Char('d'))),
            None
        );
    }

    #[test]
    fn the_example_config_parses() {
        let text = include_str!("../../config.example.toml");
        assert_eq!(parse_keymap(text).unwrap(), Keymap::default());
    }

    #[test]
    fn bad_keys_say_which_entry() {
        let e = parse_keymap("[keys]\nquit = \"hyper-q\"\n").unwrap_err();
        assert!(e.starts_with("[keys] quit: unknown key \"hyper-q\""), "{e}");
        let e = parse_keymap("[keys]\nquit = []\n").unwrap_err();
        assert!(e.contains("needs at least one key"), "{e}");
    }
}
