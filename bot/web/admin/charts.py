"""Bar charts as inline SVG, drawn on the server (no JavaScript, prints well, works on a phone)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

PALETTE = ("#c0392b", "#2e86c1", "#27ae60", "#f39c12", "#8e44ad", "#7f8c8d", "#16a085", "#d35400")


def stacked_bars(labels: Sequence[str], series: Sequence[tuple[str, Sequence[int]]], title: str,
                 width: int = 720, height: int = 260) -> str:
    """One bar per label, stacked by series (name, one value per label), with a legend."""
    left, right, top, bottom = 36, 10, 30, 46
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(values[i] for _, values in series) for i in range(len(labels))]
    peak = max(totals, default=0) or 1
    slot = plot_w / max(len(labels), 1)
    bar = max(2.0, slot * 0.7)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(title)}" class="chart">',
             f'<text x="{left}" y="18" class="chart-title">{escape(title)}</text>',
             f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" stroke="#999"/>',
             f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" class="axis">{peak}</text>',
             f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end" class="axis">0</text>']
    every = max(1, len(labels) // 10)
    for i, label in enumerate(labels):
        x = left + i * slot + (slot - bar) / 2
        y = top + plot_h
        for n, (name, values) in enumerate(series):
            h = values[i] / peak * plot_h
            if h:
                y -= h
                parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                             f'fill="{PALETTE[n % len(PALETTE)]}"><title>{escape(label)} {escape(name)}: '
                             f'{values[i]}</title></rect>')
        if i % every == 0:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{top + plot_h + 14}" text-anchor="middle" '
                         f'class="axis">{escape(label)}</text>')
    x = left
    for n, (name, _) in enumerate(series):
        parts.append(f'<rect x="{x}" y="{height - 16}" width="10" height="10" fill="{PALETTE[n % len(PALETTE)]}"/>'
                     f'<text x="{x + 14}" y="{height - 7}" class="axis">{escape(name)}</text>')
        x += 24 + 13 * len(name)
    parts.append("</svg>")
    return "".join(parts)
