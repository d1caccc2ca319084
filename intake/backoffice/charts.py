"""Small bar charts drawn on the server as inline SVG: no JavaScript, no chart library.

The back office only needs a few grouped bars (orders and start-up requests per week or per
kreds), so a pure function that turns numbers into SVG markup is enough, and it is easy to
test. The chart is an image with a `<title>` and `<desc>`; pages show the same numbers in a
data table too, for screen readers and for anyone who wants the exact figures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

PLOT_HEIGHT = 160
MAX_PLOT_WIDTH = 760  # beyond this, groups get narrower instead of the chart wider
BAR_WIDTH = 14  # at most; bars get narrower when there are many groups
BAR_GAP = 2  # between the bars of one group
GROUP_GAP = 14
MIN_VALUE_BAR = 10  # narrower bars carry no number above them (it would not fit)
LEFT = 40  # room for the scale's numbers
TOP = 40  # room for the legend
BOTTOM = 26  # room for the group labels
RIGHT = 8
LEGEND_CHAR_WIDTH = 7  # roughly, for 12px sans-serif
LABEL_CHAR_WIDTH = 6.5  # roughly, for 11px sans-serif
SCALE = 1.4  # drawn this much larger than the coordinates, so 11px text reads as about 15px
TEXT = 'font-family="sans-serif" fill="#0b0c0c"'


@dataclass(frozen=True)
class Series:
    """One row of bars: its name (shown in the legend), one value per group, and its colour."""

    name: str
    values: Sequence[int]
    colour: str


@dataclass(frozen=True)
class Layout:
    group_width: float
    bars: int  # in each group
    bar_width: float
    bar_gap: float
    label_every: int  # label every n-th group, so that labels never overlap

    @property
    def bars_width(self) -> float:
        return self.bar_width * self.bars + self.bar_gap * (self.bars - 1)


def layout(groups: int, bars: int, longest_label: int) -> Layout:
    """Group and bar widths: wide enough for every label when that fits in MAX_PLOT_WIDTH;
    else the bars' own width, or narrower still, with only every n-th group labelled."""
    natural = bars * BAR_WIDTH + (bars - 1) * BAR_GAP + GROUP_GAP
    label = LABEL_CHAR_WIDTH * longest_label + 6
    groups = max(groups, 1)
    if groups * max(natural, label) <= MAX_PLOT_WIDTH:
        group_width = max(natural, label)
    elif groups * natural <= MAX_PLOT_WIDTH:
        group_width = natural
    else:
        group_width = MAX_PLOT_WIDTH / groups
    shrink = min(1.0, group_width / natural)
    return Layout(
        group_width=group_width,
        bars=bars,
        bar_width=BAR_WIDTH * shrink,
        bar_gap=BAR_GAP * shrink,
        label_every=max(1, math.ceil(label / group_width)),
    )


def nice_scale(largest: int) -> tuple[int, int]:
    """The top of the scale and its step: a step of 1, 2 or 5 times a power of ten, with at
    most five steps, so the grid lines fall on round numbers."""
    if largest <= 0:
        return 1, 1
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            step = factor * magnitude
            if math.ceil(largest / step) <= 5:
                return math.ceil(largest / step) * step, step
        magnitude *= 10


def bar_chart_svg(
    *, ident: str, title: str, description: str, labels: Sequence[str], series: Sequence[Series]
) -> Markup:
    """Grouped bars, one group per label and one bar per series in each group.

    `ident` makes the ids of `<title>` and `<desc>` unique on the page (for aria-labelledby).
    Every text is escaped, so names with æøå or "&" are safe.
    """
    if not series:
        raise ValueError("a chart needs at least one series")
    for one in series:
        if len(one.values) != len(labels):
            raise ValueError(
                f"series {one.name!r} has {len(one.values)} values for {len(labels)} labels"
            )
        if any(value < 0 for value in one.values):
            raise ValueError(f"series {one.name!r} has a negative value")

    top, step = nice_scale(max((max(s.values, default=0) for s in series), default=0))
    shape = layout(len(labels), len(series), max((len(label) for label in labels), default=0))
    legend: list[tuple[int, Series]] = []
    x = LEFT
    for one in series:
        legend.append((x, one))
        x += 17 + LEGEND_CHAR_WIDTH * len(one.name) + 16
    width = math.ceil(max(LEFT + max(len(labels), 1) * shape.group_width + RIGHT, x))
    height = TOP + PLOT_HEIGHT + BOTTOM
    base = TOP + PLOT_HEIGHT

    def y_of(value: float) -> float:
        return base - value / top * PLOT_HEIGHT

    # Drawn SCALE times its coordinates; shrunk (never stretched) to fit a narrow screen by
    # admin.css's `svg.chart` (a style attribute would be blocked by the CSP,
    # intake.web.security_headers).
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart"'
        f' width="{round(width * SCALE)}" height="{round(height * SCALE)}"'
        f' viewBox="0 0 {width} {height}"'
        f' aria-labelledby="{escape(ident)}-title {escape(ident)}-desc">',
        f'<title id="{escape(ident)}-title">{escape(title)}</title>',
        f'<desc id="{escape(ident)}-desc">{escape(description)}</desc>',
    ]

    # The scale: a grid line and its number at every step.
    for value in range(0, top + 1, step):
        grid_y = _n(y_of(value))
        parts.append(
            f'<line x1="{LEFT}" y1="{grid_y}" x2="{width - RIGHT}" y2="{grid_y}"'
            f' stroke="{"#0b0c0c" if value == 0 else "#b1b4b6"}" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{LEFT - 6}" y="{grid_y}" dy="0.35em" text-anchor="end" font-size="11"'
            f" {TEXT}>{value}</text>"
        )

    # The legend, above the plot.
    for x, one in legend:
        parts.append(f'<rect x="{x}" y="10" width="12" height="12" fill="{escape(one.colour)}"/>')
        parts.append(f'<text x="{x + 17}" y="20" font-size="12" {TEXT}>{escape(one.name)}</text>')

    # The bars, each with its own title (a tooltip), and the group labels under them.
    for index, label in enumerate(labels):
        left = LEFT + index * shape.group_width + (shape.group_width - shape.bars_width) / 2
        for position, one in enumerate(series):
            value = one.values[index]
            bar_x = left + position * (shape.bar_width + shape.bar_gap)
            y = y_of(value)
            parts.append(
                f'<rect x="{_n(bar_x)}" y="{_n(y)}" width="{_n(shape.bar_width)}"'
                f' height="{_n(base - y)}" fill="{escape(one.colour)}">'
                f"<title>{escape(label)}, {escape(one.name)}: {value}</title></rect>"
            )
            if value and shape.bar_width >= MIN_VALUE_BAR:
                parts.append(
                    f'<text x="{_n(bar_x + shape.bar_width / 2)}" y="{_n(y - 3)}"'
                    f' text-anchor="middle" font-size="9" {TEXT}>{value}</text>'
                )
        if index % shape.label_every == 0:
            parts.append(
                f'<text x="{_n(left + shape.bars_width / 2)}" y="{base + 16}"'
                f' text-anchor="middle" font-size="11" {TEXT}>{escape(label)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it is escaped above


def _n(number: float) -> str:
    """A coordinate with at most one decimal, without a trailing ".0"."""
    text = f"{number:.1f}"
    return text[:-2] if text.endswith(".0") else text
