//! Colours: the 16 named ANSI colours on the terminal's own background (never a background
//! colour of ours, so light and dark themes both work), or none at all when `NO_COLOR` is
//! set. Every state is also spelled out by a word or glyph, so colour only repeats it.

use ratatui::style::{Color, Modifier, Style};

/// What a piece of text is; [`Theme::style`] decides how it looks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Title,
    Accent,
    Dim,
    Good,
    Bad,
    Warn,
    Key,
    Selected,
    Folder,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    /// Colour unless `NO_COLOR` is set to anything non-empty (no-color.org).
    pub fn from_env() -> Theme {
        Theme {
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }

    pub fn style(self, role: Role) -> Style {
        let s = Style::default();
        if !self.color {
            return match role {
                Role::Title | Role::Key | Role::Bad => s.add_modifier(Modifier::BOLD),
                Role::Selected => s.add_modifier(Modifier::REVERSED),
                _ => s,
            };
        }
        match role {
            Role::Title => s.fg(Color::Cyan).add_modifier(Modifier::BOLD),
            Role::Accent => s.fg(Color::Cyan),
            Role::Dim => s.fg(Color::DarkGray),
            Role::Good => s.fg(Color::Green),
            Role::Bad => s.fg(Color::Red).add_modifier(Modifier::BOLD),
            Role::Warn => s.fg(Color::Yellow),
            Role::Key => s.fg(Color::Yellow).add_modifier(Modifier::BOLD),
            Role::Selected => s.add_modifier(Modifier::REVERSED),
            Role::Folder => s.fg(Color::Blue).add_modifier(Modifier::BOLD),
        }
    }
}
