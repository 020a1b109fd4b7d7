"""A small server-rendered SVG bar chart (no JavaScript, no CDN; styled by app.css classes)."""
from __future__ import annotations

from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

PALETTE = ("s0", "s1", "s2", "s3")


def _nice_step(top: float) -> float:
    """A round tick step giving about four ticks up to ``top``."""
    if top <= 0:
        return 1.0
    raw = top / 4
    magnitude = 10 ** (len(str(int(raw))) - 1) if raw >= 1 else 1
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * magnitude:
            return m * magnitude
    return 10 * magnitude


def grouped_bars(categories: Sequence[str], series: Sequence[tuple[str, Sequence[int]]], *,
                 label: Callable[[str], str], value_text: Callable[[int], str], title: str,
                 width: int = 760, height: int = 280) -> Markup:
    """Bars per category (e.g. month), one bar per series (e.g. product); values in fen."""
    left, right, top, bottom = 88, 12, 16, 48
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([v for _, values in series for v in values] + [0])
    step = _nice_step(peak / 100) * 100  # ticks on whole yuan
    ymax = step * max(1, -(-peak // step)) if peak > 0 else step
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    k = 0
    while k * step <= ymax:
        y = top + plot_h - plot_h * (k * step) / ymax
        parts.append(f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="tick" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">'
                     f'{escape(value_text(int(k * step)))}</text>')
        k += 1
    n = max(1, len(categories))
    slot = plot_w / n
    bar_w = max(2.0, slot * 0.8 / max(1, len(series)))
    for i, cat in enumerate(categories):
        x0 = left + i * slot + slot * 0.1
        for j, (name, values) in enumerate(series):
            v = values[i] if i < len(values) else 0
            h = plot_h * max(v, 0) / ymax
            x = x0 + j * bar_w
            parts.append(f'<rect class="bar {PALETTE[j % len(PALETTE)]}" x="{x:.1f}" y="{top + plot_h - h:.1f}" '
                         f'width="{bar_w - 1:.1f}" height="{h:.1f}"><title>{escape(cat)} {escape(label(name))}: '
                         f'{escape(value_text(v))}</title></rect>')
        parts.append(f'<text class="tick" x="{left + i * slot + slot / 2:.1f}" y="{top + plot_h + 16}" '
                     f'text-anchor="middle">{escape(cat[2:] if len(cat) == 7 else cat)}</text>')
    parts.append(f'<line class="axis" x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}"/>')
    lx = left
    for j, (name, _) in enumerate(series):
        parts.append(f'<rect class="bar {PALETTE[j % len(PALETTE)]}" x="{lx}" y="{height - 18}" width="12" height="12"/>'
                     f'<text class="legend" x="{lx + 16}" y="{height - 8}">{escape(label(name))}</text>')
        lx += 24 + 14 * max(4, len(label(name)))
    parts.append("</svg>")
    return Markup("".join(parts))
