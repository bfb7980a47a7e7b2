"""Bar charts as server-rendered SVG: the geometry is computed here, the template draws it. No
JavaScript and no chart library (nothing to load from a CDN, nothing added to the dependencies)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 640, 220, 8, 36, 18


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: Decimal
    text: str
    negative: bool
    axis: str  # the label under the bar, as short as the axis needs

@dataclass(frozen=True)
class Chart:
    title: str
    currency: str
    bars: list[Bar]
    baseline: float
    width: int = WIDTH
    height: int = HEIGHT


def bar_chart(*, title: str, currency: str, points: list[tuple[str, Decimal, str]],
              axis: list[str] | None = None) -> Chart:
    """``points`` are (label, value, formatted value); negative values hang below the baseline. ``axis`` names
    the bars under them where their labels are too long to fit (the labels head the chart's table)."""
    top = max([p[1] for p in points if p[1] > 0], default=Decimal(0))
    bottom = min([p[1] for p in points if p[1] < 0], default=Decimal(0))
    span = (top - bottom) or Decimal(1)
    plot = HEIGHT - BOTTOM - TOP
    baseline = TOP + float(top / span) * plot
    slot = (WIDTH - 2 * LEFT) / max(len(points), 1)
    bars = []
    for index, (label, value, text) in enumerate(points):
        size = float(abs(value) / span) * plot
        y = baseline - size if value >= 0 else baseline
        bars.append(Bar(x=LEFT + index * slot + slot * 0.15, y=y, width=slot * 0.7, height=size, label=label,
                        value=value, text=text, negative=value < 0, axis=axis[index] if axis else label))
    return Chart(title=title, currency=currency, bars=bars, baseline=baseline)
