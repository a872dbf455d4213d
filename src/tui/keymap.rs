//! The keymap as data: a table of commands, each with the keys that trigger it and the
//! screens where it applies. The help overlay and the hint bar are both drawn from this one
//! table, and the `[keys]` table of the config file replaces a command's keys.
//!
//! Owns: key names (parsing and labels), the default bindings, lookup. Must not touch: state.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::BTreeMap;
use std::fmt;

/// Which screen is in front; commands and text input depend on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScreenKind {
    Pick,
    Preview,
    Confirm,
    /// The deployment in progress.
    Dashboard,
    /// The deployment has finished.
    Done,
}

impl ScreenKind {
    /// Screens with a text field take printable characters as text (except `?`), so a
    /// single-letter command such as `q` does not apply there.
    pub fn takes_text(self) -> bool {
        matches!(self, ScreenKind::Pick | ScreenKind::Confirm)
    }

    pub fn title(self) -> &'static str {
        match self {
            ScreenKind::Pick => "Pick",
            ScreenKind::Preview => "Preview",
            ScreenKind::Confirm => "Confirm",
            ScreenKind::Dashboard => "Deploy",
            ScreenKind::Done => "Done",
        }
    }
}

/// What a key can mean.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Command {
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Left,
    Right,
    Open,
    Back,
    SwitchPane,
    Deploy,
    Network,
    Signer,
    Format,
    Retry,
    RetryAll,
    Pause,
    Yes,
    Verify,
    Predict,
    Help,
    Quit,
}

use ScreenKind::*;

impl Command {
    /// In the order of the help overlay and the hint bar. Where two commands share a key on a
    /// screen (`left`: grid move and back), the earlier one wins.
    pub const ALL: [Command; 23] = [
        Command::Up,
        Command::Down,
        Command::PageUp,
        Command::PageDown,
        Command::Top,
        Command::Bottom,
        Command::Left,
        Command::Right,
        Command::Open,
        Command::Back,
        Command::SwitchPane,
        Command::Deploy,
        Command::Network,
        Command::Signer,
        Command::Format,
        Command::Retry,
        Command::RetryAll,
        Command::Pause,
        Command::Yes,
        Command::Verify,
        Command::Predict,
        Command::Help,
        Command::Quit,
    ];

    /// The name used in the config file's `[keys]` table.
    pub fn name(self) -> &'static str {
        match self {
            Command::Up => "up",
            Command::Down => "down",
            Command::PageUp => "page_up",
            Command::PageDown => "page_down",
            Command::Top => "top",
            Command::Bottom => "bottom",
            Command::Left => "left",
            Command::Right => "right",
            Command::Open => "open",
            Command::Back => "back",
            Command::SwitchPane => "switch_pane",
            Command::Deploy => "deploy",
            Command::Network => "network",
            Command::Signer => "signer",
            Command::Format => "format",
            Command::Retry => "retry",
            Command::RetryAll => "retry_all",
            Command::Pause => "pause",
            Command::Yes => "yes",
            Command::Verify => "verify",
            Command::Predict => "predict",
            Command::Help => "help",
            Command::Quit => "quit",
        }
    }

    /// What it does, for the help overlay.
    pub fn describe(self) -> &'static str {
        match self {
            Command::Up => "move up",
            Command::Down => "move down",
            Command::PageUp => "page up",
            Command::PageDown => "page down",
            Command::Top => "first row",
            Command::Bottom => "last row",
            Command::Left => "move left in the chunk grid",
            Command::Right => "move right in the chunk grid",
            Command::Open => "open folder, preview file, resume deployment; confirm",
            Command::Back => "back: clear filter, folder up, previous screen",
            Command::SwitchPane => "next panel (table/detail; contracts/chunks/log)",
            Command::Deploy => "deploy: confirm the hash",
            Command::Network => "next network (the config file's, and local)",
            Command::Signer => "next signer (env key, anvil dev account, keystores)",
            Command::Format => "next weight format (compact, exact, int16, int8): cost and error",
            Command::Retry => "retry the selected failed chunk or contract",
            Command::RetryAll => "retry every failed step",
            Command::Pause => "pause / resume sending (sent ones still land)",
            Command::Yes => "yes: quit with transactions in flight",
            Command::Verify => {
                "verify: the chain holds exactly the file (hash, graph, weights, predict)"
            }
            Command::Predict => {
                "predict: a sample input through the chain and offline, side by side"
            }
            Command::Help => "this help",
            Command::Quit => "quit",
        }
    }

    /// A word or two for the hint bar; `None` keeps it out of the bar (help still lists it).
    pub fn hint(self, screen: ScreenKind) -> Option<&'static str> {
        match self {
            // The sample list on Done says its own keys.
            Command::Up | Command::Down | Command::Open if screen == Done => None,
            Command::Up | Command::Down => Some("move"),
            Command::Open if screen == Confirm => Some("continue"),
            Command::Open => Some("open"),
            Command::Left | Command::Right => Some("move"),
            // Esc on the dashboard only closes questions and leaves a stopped deployment.
            Command::Back if screen == Dashboard => None,
            Command::Back => Some("back"),
            Command::SwitchPane if screen == Dashboard => Some("panel"),
            Command::SwitchPane => Some("pane"),
            Command::Deploy => Some("deploy"),
            Command::Network => Some("network"),
            Command::Signer => Some("signer"),
            Command::Format => Some("format"),
            Command::Retry => Some("retry"),
            Command::RetryAll => Some("retry all"),
            Command::Pause => Some("pause"),
            Command::Verify => Some("verify"),
            Command::Predict => Some("predict"),
            Command::Help => Some("help"),
            Command::Quit => Some("quit"),
            _ => None,
        }
    }

    /// Screens where the command applies.
    pub fn screens(self) -> &'static [ScreenKind] {
        match self {
            Command::Up
            | Command::Down
            | Command::PageUp
            | Command::PageDown
            | Command::Top
            | Command::Bottom => &[Pick, Preview, Dashboard, Done],
            Command::Left | Command::Right => &[Dashboard],
            Command::Open => &[Pick, Confirm, Done],
            Command::Back => &[Pick, Preview, Confirm, Dashboard, Done],
            Command::SwitchPane => &[Preview, Dashboard],
            Command::Deploy | Command::Network | Command::Signer | Command::Format => &[Preview],
            Command::Retry | Command::RetryAll | Command::Pause | Command::Yes => &[Dashboard],
            Command::Verify | Command::Predict => &[Done],
            Command::Help | Command::Quit => &[Pick, Preview, Confirm, Dashboard, Done],
        }
    }

    fn default_keys(self) -> &'static [&'static str] {
        match self {
            Command::Up => &["up", "k"],
            Command::Down => &["down", "j"],
            Command::PageUp => &["pageup"],
            Command::PageDown => &["pagedown"],
            Command::Top => &["home", "g"],
            Command::Bottom => &["end", "G"],
            Command::Left => &["left", "h"],
            Command::Right => &["right", "l"],
            Command::Open => &["enter", "right"],
            Command::Back => &["esc", "backspace", "left"],
            Command::SwitchPane => &["tab"],
            Command::Deploy => &["d"],
            Command::Network => &["n"],
            Command::Signer => &["s"],
            Command::Format => &["f"],
            Command::Retry => &["r"],
            Command::RetryAll => &["R"],
            Command::Pause => &["p"],
            Command::Yes => &["y"],
            Command::Verify => &["v"],
            Command::Predict => &["p"],
            Command::Help => &["?", "f1"],
            Command::Quit => &["q", "ctrl-c"],
        }
    }

    pub fn from_name(name: &str) -> Option<Command> {
        Command::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// A key with its modifiers, normalized so that `?` is `?` whether or not Shift was reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub modifiers: KeyModifiers,
}

impl Key {
    pub fn new(code: KeyCode, modifiers: KeyModifiers) -> Key {
        let modifiers = match code {
            // The character already says whether Shift was held.
            KeyCode::Char(_) => modifiers - KeyModifiers::SHIFT,
            _ => modifiers,
        };
        Key { code, modifiers }
    }

    pub fn plain(code: KeyCode) -> Key {
        Key::new(code, KeyModifiers::NONE)
    }

    pub fn from_event(e: &KeyEvent) -> Key {
        match e.code {
            KeyCode::BackTab => Key::new(KeyCode::Tab, e.modifiers | KeyModifiers::SHIFT),
            code => Key::new(code, e.modifiers),
        }
    }

    /// A printable character typed without Ctrl or Alt.
    pub fn text(&self) -> Option<char> {
        match self.code {
            KeyCode::Char(c)
                if !self
                    .modifiers
                    .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
            {
                Some(c)
            }
            _ => None,
        }
    }

    /// Parses the names the config file uses: `q`, `?`, `G`, `enter`, `esc`, `f1`,
    /// `ctrl-c`, `alt-x`, `shift-tab`, `up`, `pagedown`, `space`, …
    pub fn parse(text: &str) -> Result<Key, String> {
        let mut modifiers = KeyModifiers::NONE;
        let mut rest = text;
        loop {
            let lower = rest.to_ascii_lowercase();
            let (m, n) = if lower.starts_with("ctrl-") {
                (KeyModifiers::CONTROL, 5)
            } else if lower.starts_with("alt-") {
                (KeyModifiers::ALT, 4)
            } else if lower.starts_with("shift-") && rest.len() > 6 {
                (KeyModifiers::SHIFT, 6)
            } else {
                break;
            };
            modifiers |= m;
            rest = &rest[n..];
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => KeyCode::Char(c),
            _ => match rest.to_ascii_lowercase().as_str() {
                "enter" | "return" => KeyCode::Enter,
                "esc" | "escape" => KeyCode::Esc,
                "backspace" => KeyCode::Backspace,
                "tab" => KeyCode::Tab,
                "space" => KeyCode::Char(' '),
                "up" => KeyCode::Up,
                "down" => KeyCode::Down,
                "left" => KeyCode::Left,
                "right" => KeyCode::Right,
                "home" => KeyCode::Home,
                "end" => KeyCode::End,
                "pageup" | "pgup" => KeyCode::PageUp,
                "pagedown" | "pgdn" => KeyCode::PageDown,
                "delete" | "del" => KeyCode::Delete,
                "insert" => KeyCode::Insert,
                f if f.starts_with('f')
                    && f[1..].parse::<u8>().is_ok_and(|n| (1..=24).contains(&n)) =>
                {
                    KeyCode::F(f[1..].parse().unwrap_or(1))
                }
                _ => {
                    return Err(format!(
                        "unknown key \"{text}\" (use a character such as \"q\", or enter, esc, backspace, tab, space, up, down, left, right, home, end, pageup, pagedown, delete, f1…f24, with optional ctrl-, alt-, shift- prefixes)"
                    ));
                }
            },
        };
        Ok(Key::new(code, modifiers))
    }
}

impl fmt::Display for Key {
    /// Short labels for the hint bar and help: `q`, `^C`, `Enter`, `↑`, `PgDn`, `F1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.modifiers.contains(KeyModifiers::CONTROL) {
            if let KeyCode::Char(c) = self.code {
                return write!(f, "^{}", c.to_ascii_uppercase());
            }
            f.write_str("Ctrl-")?;
        }
        if self.modifiers.contains(KeyModifiers::ALT) {
            f.write_str("Alt-")?;
        }
        if self.modifiers.contains(KeyModifiers::SHIFT) {
            f.write_str("Shift-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("Space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("Enter"),
            KeyCode::Esc => f.write_str("Esc"),
            KeyCode::Backspace => f.write_str("Bksp"),
            KeyCode::Tab => f.write_str("Tab"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::Home => f.write_str("Home"),
            KeyCode::End => f.write_str("End"),
            KeyCode::PageUp => f.write_str("PgUp"),
            KeyCode::PageDown => f.write_str("PgDn"),
            KeyCode::Delete => f.write_str("Del"),
            KeyCode::Insert => f.write_str("Ins"),
            KeyCode::F(n) => write!(f, "F{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// One row of the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    pub command: Command,
    pub keys: Vec<Key>,
}

/// The key table, in the order the help overlay and hint bar show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keymap {
    pub bindings: Vec<Binding>,
}

impl Default for Keymap {
    fn default() -> Keymap {
        Keymap {
            bindings: Command::ALL
                .into_iter()
                .map(|command| Binding {
                    command,
                    keys: command
                        .default_keys()
                        .iter()
                        .filter_map(|k| Key::parse(k).ok())
                        .collect(),
                })
                .collect(),
        }
    }
}

impl Keymap {
    /// The defaults with the config file's `[keys]` entries replacing whole key lists:
    /// `quit = ["q", "ctrl-c"]` or `deploy = "D"`.
    pub fn with_overrides(overrides: &BTreeMap<String, KeyList>) -> Result<Keymap, String> {
        let mut map = Keymap::default();
        for (name, list) in overrides {
            let command = Command::from_name(name).ok_or_else(|| {
                let names: Vec<&str> = Command::ALL.iter().map(|c| c.name()).collect();
                format!(
                    "[keys] {name}: no such command (commands: {})",
                    names.join(", ")
                )
            })?;
            let keys = list
                .as_slice()
                .iter()
                .map(|k| Key::parse(k).map_err(|e| format!("[keys] {name}: {e}")))
                .collect::<Result<Vec<_>, _>>()?;
            if keys.is_empty() {
                return Err(format!(
                    "[keys] {name}: needs at least one key (an empty list would make the command unreachable)"
                ));
            }
            if let Some(b) = map.bindings.iter_mut().find(|b| b.command == command) {
                b.keys = keys;
            }
        }
        Ok(map)
    }

    /// The command a key means on a screen.
    pub fn command(&self, screen: ScreenKind, key: Key) -> Option<Command> {
        self.bindings
            .iter()
            .find(|b| b.command.screens().contains(&screen) && b.keys.contains(&key))
            .map(|b| b.command)
    }

    /// Keys that reach the command on this screen (a letter is text on a screen with a text
    /// field, so it does not count there).
    pub fn keys_on(&self, screen: ScreenKind, command: Command) -> impl Iterator<Item = Key> + '_ {
        self.bindings
            .iter()
            .filter(move |b| b.command == command && command.screens().contains(&screen))
            .flat_map(|b| b.keys.iter().copied())
            .filter(move |k| !(screen.takes_text() && is_text_key(*k)))
    }

    /// `(keys, word)` pairs for the hint bar: the first reachable key of each command that
    /// has a hint; commands sharing a word (up/down → move) are joined as `↑/↓ move`.
    pub fn hints(&self, screen: ScreenKind) -> Vec<(String, &'static str)> {
        let mut out: Vec<(String, &'static str)> = Vec::new();
        for b in &self.bindings {
            let (Some(word), Some(key)) = (
                b.command.hint(screen),
                self.keys_on(screen, b.command).next(),
            ) else {
                continue;
            };
            match out.iter_mut().find(|(_, w)| *w == word) {
                Some((keys, _)) => {
                    keys.push('/');
                    keys.push_str(&key.to_string());
                }
                None => out.push((key.to_string(), word)),
            }
        }
        out
    }
}

/// Whether a screen with a text field takes this key as text.
pub fn is_text_key(key: Key) -> bool {
    key.text().is_some_and(|c| c != '?')
}

/// A `[keys]` value: one key or a list.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(untagged)]
pub enum KeyList {
    One(String),
    Many(Vec<String>),
}

impl KeyList {
    pub fn as_slice(&self) -> &[String] {
        match self {
            KeyList::One(k) => std::slice::from_ref(k),
            KeyList::Many(v) => v,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_and_print() {
        for (text, label) in [
            ("q", "q"),
            ("ctrl-c", "^C"),
            ("enter", "Enter"),
            ("F1", "F1"),
            ("?", "?"),
            ("G", "G"),
            ("pagedown", "PgDn"),
            ("alt-x", "Alt-x"),
            ("shift-tab", "Shift-Tab"),
        ] {
            assert_eq!(Key::parse(text).unwrap().to_string(), label, "{text}");
        }
        assert!(Key::parse("hyper-q").unwrap_err().contains("unknown key"));
    }

    #[test]
    fn overrides_replace_a_commands_keys_and_name_mistakes() {
        let mut o = BTreeMap::new();
        o.insert("quit".to_string(), KeyList::One("x".into()));
        let map = Keymap::with_overrides(&o).unwrap();
        let x = Key::plain(KeyCode::Char('x'));
        assert_eq!(map.command(Preview, x), Some(Command::Quit));
        assert_eq!(map.command(Preview, Key::plain(KeyCode::Char('q'))), None);
        o.insert("launch".to_string(), KeyList::One("l".into()));
        let e = Keymap::with_overrides(&o).unwrap_err();
        assert!(e.contains("[keys] launch: no such command"), "{e}");
    }

    #[test]
    fn hint_bar_skips_letters_on_text_screens() {
        let map = Keymap::default();
        let pick = map.hints(Pick);
        assert!(pick.contains(&("^C".into(), "quit")), "{pick:?}");
        assert!(pick.contains(&("↑/↓".into(), "move")), "{pick:?}");
        let preview = map.hints(Preview);
        assert!(preview.contains(&("q".into(), "quit")), "{preview:?}");
        assert!(preview.contains(&("d".into(), "deploy")), "{preview:?}");
    }
}
