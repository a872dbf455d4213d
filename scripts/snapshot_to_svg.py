#!/usr/bin/env python3
"""Render an insta snapshot of a TUI screen as an SVG picture (standard library only).

The snapshot tests (tests/snapshots/tui__*.snap, tui_dashboard__*.snap) store a YAML header
between two `---` lines, then ratatui's TestBackend text: one line per terminal row, wrapped in
double quotes, inner quotes not escaped. This script draws that text in a monospace font on a
dark background: one <text> per row made of <tspan> runs, each starting at an explicit column, and
every glyph a monospace font may lack (●, ✓, ⠋, …) in a run of its own, so box-drawing characters
line up even when a viewer's font falls back to another font for such a glyph.
The snapshots are colourless (they render with NO_COLOR semantics); the picture adds a few
colours by glyph only: heavy frames (the focused panel) cyan, ✓ and ● green, ○ and ↑ yellow,
✗ red, the title and hint rows all dim.

    python3 scripts/snapshot_to_svg.py tests/snapshots/tui__preview_lenet_probed_120x40.snap \
        docs/tui-preview.svg
"""

import argparse
import sys
import unicodedata
from xml.sax.saxutils import escape

FONT_PX = 14
CELL_W = 8.4  # width of one terminal column, in px (0.6 em, the usual monospace advance)
CELL_H = 16  # height of one row, in px: DejaVu Sans Mono's ascent + descent, so │ rows join
BASELINE = 13  # from the top of a row: the font's ascent (0.93 em)
PAD = 12

BACKGROUND = "#1b1d23"
FOREGROUND = "#d4d7dd"
DIM = "#8b919c"
COLOURS = {
    "frame": "#56b6c2",
    "ok": "#98c379",
    "pending": "#e5c07b",
    "failed": "#e06c75",
}
GLYPH_CLASS = {
    **{c: "frame" for c in "┏┓┗┛━┃┣┫┳┻╋"},
    **{c: "ok" for c in "✓●"},
    **{c: "pending" for c in "○↑"},
    "✗": "failed",
}


class SnapshotError(Exception):
    pass


def screen_rows(snapshot: str) -> list[str]:
    """The terminal rows of an insta snapshot (header dropped, one quote stripped each side)."""
    lines = snapshot.splitlines()
    if not lines or lines[0] != "---":
        raise SnapshotError("not an insta snapshot: the first line is not `---`")
    try:
        end = lines.index("---", 1)
    except ValueError:
        raise SnapshotError("the snapshot header has no closing `---`") from None
    rows = []
    for number, line in enumerate(lines[end + 1 :], start=end + 2):
        if not line:
            continue
        if len(line) < 2 or line[0] != '"' or line[-1] != '"':
            raise SnapshotError(f"line {number} is not a quoted screen row: {line[:40]!r}")
        rows.append(line[1:-1])
    if not rows:
        raise SnapshotError("the snapshot has no screen rows")
    return rows


def columns(char: str) -> int:
    """Terminal columns a character takes (wide East Asian glyphs take two)."""
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def safe(char: str) -> bool:
    """Whether a monospace font can be trusted to draw `char` one column wide: ASCII, Latin-1,
    box drawing and block elements. Anything else may come from a fallback font of another
    width, so it is placed at its own column."""
    code = ord(char)
    return code < 0x100 or 0x2500 <= code <= 0x259F


def runs(row: str, row_class: str | None):
    """Split a row into (class, first column, text) runs, each drawn from an explicit column.

    A run ends where the colour changes, before and after a glyph that is not `safe`, and at a gap
    of two or more spaces (the gap is not drawn: the next run says where it starts)."""
    cells = []
    column = 0
    for char in row:
        cells.append((column, char))
        column += columns(char)
    out = []  # [class, column, chars, open]
    for i, (column, char) in enumerate(cells):
        if char == " ":
            following = cells[i + 1][1] if i + 1 < len(cells) else " "
            if out and out[-1][3] and following != " " and out[-1][2][-1] != " ":
                out[-1][2].append(char)
            elif out:
                out[-1][3] = False
            continue
        cls = row_class or GLYPH_CLASS.get(char)
        alone = not safe(char)
        last = out[-1] if out else None
        if last and last[3] and last[0] == cls and not alone:
            last[2].append(char)
        else:
            out.append([cls, column, [char], not alone])
    return [(cls, column, "".join(chars)) for cls, column, chars, _ in out]


def fmt(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def render(rows: list[str], title: str) -> str:
    width_cols = max(sum(columns(c) for c in row) for row in rows)
    width = 2 * PAD + width_cols * CELL_W
    height = 2 * PAD + len(rows) * CELL_H
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{fmt(width)}" height="{height}" '
        f'viewBox="0 0 {fmt(width)} {height}" role="img" aria-label="{escape(title, {chr(34): "&quot;"})}">',
        f"<title>{escape(title)}</title>",
        f'<rect width="100%" height="100%" rx="6" fill="{BACKGROUND}"/>',
        f'<g font-family="\'DejaVu Sans Mono\', Menlo, Consolas, \'Liberation Mono\', monospace" '
        f'font-size="{FONT_PX}" fill="{FOREGROUND}" xml:space="preserve">',
    ]
    last = len(rows) - 1
    for index, row in enumerate(rows):
        # The first row is the title bar and the last the key hints: drawn dim.
        row_class = "dim" if index in (0, last) else None
        baseline = PAD + index * CELL_H + BASELINE
        spans = []
        for cls, column, text in runs(row, row_class):
            fill = DIM if cls == "dim" else COLOURS.get(cls)
            attr = f' fill="{fill}"' if fill else ""
            spans.append(f'<tspan x="{fmt(PAD + column * CELL_W)}"{attr}>{escape(text)}</tspan>')
        if spans:
            out.append(f'<text y="{baseline}">{"".join(spans)}</text>')
    out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("snapshot", help="an insta .snap file of a TUI screen")
    parser.add_argument("svg", help="the SVG file to write ('-' for stdout)")
    parser.add_argument("--title", help="the image's accessible title (default: the file name)")
    args = parser.parse_args(argv)
    try:
        with open(args.snapshot, encoding="utf-8") as f:
            rows = screen_rows(f.read())
    except (OSError, SnapshotError) as e:
        print(f"{args.snapshot}: {e}", file=sys.stderr)
        return 1
    svg = render(rows, args.title or args.snapshot.rsplit("/", 1)[-1])
    if args.svg == "-":
        sys.stdout.write(svg)
    else:
        with open(args.svg, "w", encoding="utf-8") as f:
            f.write(svg)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
