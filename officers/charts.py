"""Server-side inline SVG charts (no JavaScript, no CDN): plain functions over plain data.
Every label is escaped; the result is marked safe only after escaping."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

LANE_COLOURS = {"green": "#2e7d32", "blue": "#1565c0", "yellow": "#f9a825", "red": "#c62828"}
NEUTRAL = "#546e7a"


def _nice_max(value: float, *, floor: float = 1.0) -> float:
    """The smallest 1/2/2.5/5 x 10^n at or above `value` (axis top), never below `floor` (one
    unit of what is shown: a value that prints as 0 must not draw a long bar)."""
    if value <= floor:
        return floor
    magnitude = 10 ** math.floor(math.log10(value))
    for multiple in (1, 2, 2.5, 5, 10):
        if value <= multiple * magnitude:
            return float(multiple * magnitude)
    return float(10 * magnitude)


def _link(url: str | None, inner: str) -> str:
    return f'<a href="{escape(url)}">{inner}</a>' if url else inner


def stacked_bars(*, title: str, categories: Sequence[str], series: dict[str, Sequence[int]],
                 colours: dict[str, str] | None = None, width: int = 760, height: int = 260,
                 links: Callable[[int, str | None], str | None] | None = None) -> SafeString:
    """Vertical stacked bars of counts: one bar per category, one segment per series (e.g. lanes
    per day). The axis shows whole numbers only. `links(i, series)` gives the list a segment
    opens (`links(i, None)`: the category label's)."""
    colours = colours or LANE_COLOURS
    left, right, top, bottom = 44, 10, 28, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(values[i] for values in series.values()) for i in range(len(categories))]
    # Counts: at least 4 so the four grid steps fall on whole numbers.
    top_value = _nice_max(max(totals, default=0), floor=4.0)
    slot = plot_w / max(1, len(categories))
    bar_w = max(4.0, slot * 0.7)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" aria-label="{escape(title)}"><title>{escape(title)}</title>']
    for tick in range(5):
        value = round(top_value * tick / 4)
        y = top + plot_h - plot_h * value / top_value
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" class="grid"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="axis">{value:d}</text>')
    for i, category in enumerate(categories):
        x = left + slot * i + (slot - bar_w) / 2
        y = top + plot_h
        for name, values in series.items():
            count = values[i]
            if not count:
                continue
            h = plot_h * count / top_value
            y -= h
            parts.append(_link(links(i, name) if links else None,
                               f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                               f'fill="{colours.get(name, NEUTRAL)}" class="bar bar-{escape(name)}">'
                               f'<title>{escape(category)} {escape(name)}: {count}</title></rect>'))
        parts.append(_link(links(i, None) if links else None,
                           f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h + 14}" text-anchor="middle" '
                           f'class="axis">{escape(category)}</text>'))
    legend_x = left
    for name in series:
        parts.append(f'<rect x="{legend_x}" y="6" width="10" height="10" fill="{colours.get(name, NEUTRAL)}"/>'
                     f'<text x="{legend_x + 14}" y="15" class="legend">{escape(name)}</text>')
        legend_x += 80
    parts.append("</svg>")
    return mark_safe("".join(parts))


def horizontal_bars(*, title: str, rows: Sequence[tuple[str, Sequence[tuple[str, float | None]]]],
                    unit: str = "", colours: dict[str, str] | None = None, width: int = 760,
                    row_height: int = 22, decimals: int = 1,
                    row_links: Sequence[str | None] | None = None) -> SafeString:
    """Horizontal bars grouped by row: rows = [(label, [(series, value or None), ...])].
    Values print with `decimals` (0 for counts) and bars are drawn from the printed value, so a
    bar is as long as its label says; `row_links[r]` is the list a row's label and bars open."""
    colours = colours or {}
    left, right, top = 130, 70, 10
    rows = [(label, [(series, None if v is None else round(v, decimals)) for series, v in bars])
            for label, bars in rows]
    values = [v for _, bars in rows for _, v in bars if v is not None]
    top_value = _nice_max(max(values, default=0), floor=4.0 if decimals == 0 else 1.0)
    bars_per_row = max((len(b) for _, b in rows), default=1)
    group_h = row_height * bars_per_row + 10
    height = top + group_h * len(rows) + 10
    plot_w = width - left - right
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" aria-label="{escape(title)}"><title>{escape(title)}</title>']
    for r, (label, bars) in enumerate(rows):
        y0 = top + r * group_h
        url = row_links[r] if row_links else None
        parts.append(_link(url, f'<text x="{left - 8}" y="{y0 + group_h / 2:.1f}" text-anchor="end" class="axis">'
                                f'{escape(label)}</text>'))
        for b, (series, value) in enumerate(bars):
            y = y0 + b * row_height
            shown = "n/a" if value is None else f"{value:,.{decimals}f}{unit}"
            w = 0.0 if value is None else plot_w * value / top_value
            colour = colours.get(series, colours.get(label, NEUTRAL))
            name = f"{series} " if series else ""
            parts.append(_link(url, f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{row_height - 4}" '
                                    f'fill="{colour}" class="bar"><title>{escape(label)} {escape(name)}'
                                    f'{escape(shown)}</title></rect>'
                                    f'<text x="{left + w + 4:.1f}" y="{y + row_height - 8}" class="value">'
                                    f'{escape(name)}{escape(shown)}</text>'))
    parts.append("</svg>")
    return mark_safe("".join(parts))
