"""Charts as server-rendered SVG: no JavaScript, no CDN, nothing the content security policy would refuse.

Every chart is an `<svg role="img">` named by its own `<title>` and `<desc>` (`aria-labelledby`), each bar or
point carries its label and value (a `<title>` tooltip, `data-label`/`data-value` for tests), and the
page shows the same numbers as a table next to it. Colours are presentation attributes, not inline styles (the
policy forbids those); sizes come from the viewBox, so a chart fills the width of a phone or of a printed page.
Texts are escaped for XML as well as HTML: a chart parses with `xml.etree`.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 420  # viewBox units; the picture scales to its box
BAR_COLOUR = "#1f5fae"
PART_COLOUR = "#b3261e"
AXIS_COLOUR = "#5b6577"
TEXT_COLOUR = "#1d2430"
FONT = 'font-family="system-ui, sans-serif"'


@dataclass(frozen=True)
class Bar:
    """One bar (or point): its label, its value, the value as people read it, and optionally a highlighted part of
    it (e.g. the overdue orders among those waiting) with its own reading."""

    label: str
    value: float
    text: str = ""
    part: float = 0
    part_text: str = ""
    short: str = ""  # the value written on a narrow column (e.g. "2,7 млн"); the full one is in its tooltip

    @property
    def shown(self) -> str:
        return self.text or _number(self.value)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"


def _picture(svg: str) -> Markup:
    """The finished SVG as markup for a template: every text and attribute value in it went through `escape()`."""
    return Markup(svg)  # nosec B704


def _open(chart_id: str, title: str, desc: str, height: int) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart_id)}" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" '
        f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc" {FONT}>'
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>'
        f'<desc id="{escape(chart_id)}-desc">{escape(desc)}</desc>'
    )


def _empty(chart_id: str, title: str, desc: str, message: str) -> Markup:
    return _picture(
        _open(chart_id, title, desc, 60)
        + f'<text x="{WIDTH / 2}" y="35" text-anchor="middle" font-size="14" fill="{AXIS_COLOUR}" '
        f'class="chart-empty">{escape(message)}</text></svg>'
    )


def _reading(bar: Bar, part_name: str) -> str:
    if part_name and bar.part:
        return f"{bar.label}: {bar.shown} ({part_name}: {bar.part_text or _number(bar.part)})"
    return f"{bar.label}: {bar.shown}"


def bar_rows(chart_id: str, title: str, desc: str, bars: Sequence[Bar], *, empty: str, part_name: str = "") -> Markup:
    """Horizontal bars, one row each: the label above its bar (long labels stay readable on a phone), the value at
    the bar's end; `part` of a bar drawn over its start in red."""
    if not bars:
        return _empty(chart_id, title, desc, empty)
    row, top, label_width = 50, 8, WIDTH - 80
    height = top + row * len(bars) + 4
    biggest = max(bar.value for bar in bars) or 1
    parts = [_open(chart_id, title, desc, height)]
    for index, bar in enumerate(bars):
        y = top + index * row
        length = max(label_width * bar.value / biggest, 2 if bar.value else 0)
        reading = escape(_reading(bar, part_name))
        parts.append(
            f'<g class="bar" data-label="{escape(bar.label)}" data-value="{_number(bar.value)}" '
            f'data-part="{_number(bar.part)}">'
            f"<title>{reading}</title>"
            f'<text x="0" y="{y + 16}" font-size="16" fill="{TEXT_COLOUR}">{escape(bar.label)}</text>'
            f'<rect x="0" y="{y + 23}" width="{length:.1f}" height="18" rx="2" fill="{BAR_COLOUR}"/>'
        )
        if bar.part:
            part = max(label_width * bar.part / biggest, 2)
            parts.append(
                f'<rect class="part" x="0" y="{y + 23}" width="{part:.1f}" height="18" rx="2" fill="{PART_COLOUR}"/>'
            )
        parts.append(
            f'<text x="{length + 6:.1f}" y="{y + 38}" font-size="15" fill="{TEXT_COLOUR}">{escape(bar.shown)}</text>'
            "</g>"
        )
    parts.append("</svg>")
    return _picture("".join(parts))


def columns(chart_id: str, title: str, desc: str, bars: Sequence[Bar], *, empty: str) -> Markup:
    """Vertical columns over a time axis (months): label under each, value above it. When the columns are narrow
    the value is written upwards and a label "MM.YY" on two lines (month, then year)."""
    if not bars or not any(bar.value for bar in bars):
        return _empty(chart_id, title, desc, empty)
    step = WIDTH / len(bars)
    upright = step < 48
    height, base, top = (250, 205, 64) if upright else (220, 185, 24)
    width = min(step * 0.7, 48)
    biggest = max(bar.value for bar in bars) or 1
    parts = [
        _open(chart_id, title, desc, height),
        f'<line x1="0" y1="{base}" x2="{WIDTH}" y2="{base}" stroke="{AXIS_COLOUR}" stroke-width="1"/>',
    ]
    for index, bar in enumerate(bars):
        centre = step * index + step / 2
        tall = (base - top) * bar.value / biggest
        reading = escape(_reading(bar, ""))
        parts.append(
            f'<g class="bar" data-label="{escape(bar.label)}" data-value="{_number(bar.value)}">'
            f"<title>{reading}</title>"
            f'<rect x="{centre - width / 2:.1f}" y="{base - tall:.1f}" width="{width:.1f}" height="{tall:.1f}" '
            f'rx="2" fill="{BAR_COLOUR}"/>'
        )
        first, _dot, second = bar.label.partition(".") if upright else (bar.label, "", "")
        parts.append(
            f'<text x="{centre:.1f}" y="{base + 17}" font-size="12" text-anchor="middle" fill="{TEXT_COLOUR}">'
            f"{escape(first)}</text>"
        )
        if second:
            parts.append(
                f'<text x="{centre:.1f}" y="{base + 31}" font-size="10" text-anchor="middle" fill="{AXIS_COLOUR}">'
                f"{escape(second)}</text>"
            )
        if bar.value and upright:
            x, y = centre + 4, base - tall - 5
            parts.append(
                f'<text x="{x:.1f}" y="{y:.1f}" font-size="12" transform="rotate(-90 {x:.1f} {y:.1f})" '
                f'fill="{TEXT_COLOUR}">{escape(bar.short or bar.shown)}</text>'
            )
        elif bar.value:
            parts.append(
                f'<text x="{centre:.1f}" y="{base - tall - 5:.1f}" font-size="12" text-anchor="middle" '
                f'fill="{TEXT_COLOUR}">{escape(bar.short or bar.shown)}</text>'
            )
        parts.append("</g>")
    parts.append("</svg>")
    return _picture("".join(parts))


def line(chart_id: str, title: str, desc: str, points: Sequence[Bar], *, empty: str) -> Markup:
    """A line through one point per date (the contingent on 1 October of each year), each point labelled."""
    if not points:
        return _empty(chart_id, title, desc, empty)
    height, base, top, side = 220, 180, 30, 36
    values = [point.value for point in points]
    low, high = min(values), max(values)
    floor = max(0, low - (high - low) * 0.5 - 1) if high > low else 0
    span = (high - floor) or 1
    step = (WIDTH - 2 * side) / max(len(points) - 1, 1)

    def place(index: int, value: float) -> tuple[float, float]:
        x = side + step * index if len(points) > 1 else WIDTH / 2
        return x, base - (base - top) * (value - floor) / span

    spots = [place(index, point.value) for index, point in enumerate(points)]
    parts = [
        _open(chart_id, title, desc, height),
        f'<line x1="0" y1="{base}" x2="{WIDTH}" y2="{base}" stroke="{AXIS_COLOUR}" stroke-width="1"/>',
        '<polyline fill="none" stroke="{}" stroke-width="2.5" points="{}"/>'.format(
            BAR_COLOUR, " ".join(f"{x:.1f},{y:.1f}" for x, y in spots)
        ),
    ]
    for point, (x, y) in zip(points, spots, strict=True):
        reading = escape(_reading(point, ""))
        parts.append(
            f'<g class="point" data-label="{escape(point.label)}" data-value="{_number(point.value)}">'
            f"<title>{reading}</title>"
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{BAR_COLOUR}"/>'
            f'<text x="{x:.1f}" y="{y - 10:.1f}" font-size="12" text-anchor="middle" fill="{TEXT_COLOUR}">'
            f"{escape(point.shown)}</text>"
            f'<text x="{x:.1f}" y="{base + 18}" font-size="11" text-anchor="middle" fill="{TEXT_COLOUR}">'
            f"{escape(point.label)}</text></g>"
        )
    parts.append("</svg>")
    return _picture("".join(parts))
