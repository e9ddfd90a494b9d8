"""The console's charts, drawn on the server as inline SVG: pure functions of the data, no script in the page.

Every position comes from one `Frame` (time to x, score to y), so a test can
say where a point or a band must land. Text that comes from data (customer
ids, alert details) is escaped here, where it enters the markup.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from html import escape

from schemas.outputs import TIERS, Tier
from streams.snapshot.history import Point, between
from streams.snapshot.reader import Day
from streams.snapshot.recent_alerts import RecentAlert

TIER_COLOURS = {"healthy": "#2e7d32", "watch": "#c99a06", "at_risk": "#e65100", "critical": "#c62828"}
BAND_COLOURS = {"healthy": "#e8f5e9", "watch": "#fff8e1", "at_risk": "#fff3e0", "critical": "#ffebee"}
OVERRIDE_COLOUR = "#6a1b9a"
X_TICKS = 6


@dataclass(frozen=True)
class Frame:
    """A chart's plot area inside its box: time (epoch seconds) runs left to right, scores 0-100 bottom to top."""

    width: int
    height: int
    start: float
    end: float
    left: int = 44
    right: int = 12
    top: int = 12
    bottom: int = 26
    ceiling: float = 100.0  # the value at the top edge

    @property
    def plot_width(self) -> int:
        return self.width - self.left - self.right

    @property
    def plot_height(self) -> int:
        return self.height - self.top - self.bottom

    def x(self, at: float) -> float:
        if self.end <= self.start:
            return self.left + self.plot_width / 2
        share = (at - self.start) / (self.end - self.start)
        return round(self.left + min(1.0, max(0.0, share)) * self.plot_width, 2)

    def y(self, value: float) -> float:
        share = min(1.0, max(0.0, value / self.ceiling)) if self.ceiling else 0.0
        return round(self.top + (1 - share) * self.plot_height, 2)


def tier_bands(frame: Frame, thresholds: Mapping[str, float]) -> list[tuple[str, float, float]]:
    """(tier, lowest score, highest score) of each tier's band: `thresholds` are the lowest score of each tier above critical."""
    edges = [100.0, thresholds["healthy"], thresholds["watch"], thresholds["at_risk"], 0.0]
    return [(tier, edges[n + 1], edges[n]) for n, tier in enumerate(TIERS)]


def _svg(frame: Frame, body: list[str], label: str, css_class: str) -> str:
    return (
        f'<svg class="{css_class}" viewBox="0 0 {frame.width} {frame.height}" width="100%" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">' + "".join(body) + "</svg>"
    )


def _time_axis(frame: Frame) -> list[str]:
    """Dates under the plot at X_TICKS even steps."""
    out: list[str] = []
    if frame.end <= frame.start:
        return out
    for n in range(X_TICKS + 1):
        at = frame.start + (frame.end - frame.start) * n / X_TICKS
        x = frame.x(at)
        anchor = "start" if n == 0 else "end" if n == X_TICKS else "middle"
        label = datetime.fromtimestamp(at, tz=timezone.utc).strftime("%b %d")
        out.append(f'<text class="tick" x="{x}" y="{frame.height - 8}" text-anchor="{anchor}">{label}</text>')
    return out


def override_marks(points: Sequence[Point]) -> list[tuple[Point, str]]:
    """Where an override began, changed or ended, from the points' `overridden` flags and causes."""
    marks, before = [], False
    for point in points:
        if point.overridden and not before:
            marks.append((point, "override began"))
        elif before and not point.overridden:
            marks.append((point, "override ended"))
        elif point.overridden and point.cause == "override":
            marks.append((point, "override changed"))
        before = point.overridden
    return marks


def history_chart(
    points: Sequence[Point],
    thresholds: Mapping[str, float],
    start: datetime,
    end: datetime,
    alerts: Sequence[RecentAlert] = (),
    width: int = 900,
    height: int = 300,
) -> str:
    """The score over [start, end] as a step line over the tier bands, one circle per point, alert and override marks.

    Each circle has class `point` and a tooltip (`<title>`); the score holds
    from one point to the next, and the last one holds until `end`.
    """
    frame = Frame(width, height, start.timestamp(), end.timestamp())
    body = []
    for tier, low, high in tier_bands(frame, thresholds):
        top, bottom = frame.y(high), frame.y(low)
        body.append(
            f'<rect class="band band-{tier}" x="{frame.left}" y="{top}" width="{frame.plot_width}" '
            f'height="{round(bottom - top, 2)}" fill="{BAND_COLOURS[tier]}"><title>{tier}: {low:g} to '
            f"{high:g}</title></rect>"
        )
    for value in sorted({0.0, 100.0, *(thresholds[t] for t in ("healthy", "watch", "at_risk"))}):
        body.append(
            f'<text class="tick" x="{frame.left - 6}" y="{frame.y(value) + 4}" text-anchor="end">{value:g}</text>'
        )
    body += _time_axis(frame)
    shown = between(points, start, end)
    if shown:
        path = [f"M{frame.x(shown[0].at / 1000)} {frame.y(shown[0].score)}"]
        for point in shown[1:]:
            path.append(f"H{frame.x(point.at / 1000)} V{frame.y(point.score)}")
        path.append(f"H{frame.x(end.timestamp())}")
        body.append(f'<path class="line" d="{" ".join(path)}" fill="none" stroke="#37474f" stroke-width="1.5"/>')
    for alert in alerts:
        at = alert.raised_at.timestamp()
        if not start.timestamp() <= at <= end.timestamp():
            continue
        x = frame.x(at)
        body.append(
            f'<g class="alert-mark"><line x1="{x}" x2="{x}" y1="{frame.top}" y2="{frame.y(0)}" '
            f'stroke="{TIER_COLOURS["critical"]}" stroke-dasharray="3 3"/><path d="M{x - 5} {frame.top} '
            f'h10 l-5 8 z" fill="{TIER_COLOURS["critical"]}"/><title>alert {escape(alert.trigger)}, '
            f"{_stamp(at)}: {escape(alert.detail)}</title></g>"
        )
    for point, what in override_marks(shown):
        x = frame.x(point.at / 1000)
        body.append(
            f'<g class="override-mark"><line x1="{x}" x2="{x}" y1="{frame.top}" y2="{frame.y(0)}" '
            f'stroke="{OVERRIDE_COLOUR}" stroke-width="1.5"/><rect x="{x - 4}" y="{frame.y(0) - 8}" '
            f'width="8" height="8" fill="{OVERRIDE_COLOUR}"/><title>{what}, {_stamp(point.at / 1000)}'
            f"</title></g>"
        )
    for point in shown:
        body.append(
            f'<circle class="point" cx="{frame.x(point.at / 1000)}" cy="{frame.y(point.score)}" r="3" '
            f'fill="{TIER_COLOURS.get(point.tier, "#37474f")}"><title>{_stamp(point.at / 1000)}: '
            f"{point.score:.1f} {escape(point.tier)} ({escape(point.cause)}, {escape(point.model)})"
            f"</title></circle>"
        )
    return _svg(frame, body, f"score history, {len(shown)} points", "chart history-chart")


def tier_days_chart(days: Sequence[Day], first: date, last: date, width: int = 900, height: int = 220) -> str:
    """Customers per tier, one stacked bar per day from `first` to `last`; a day with no entry is left empty."""
    span = (last - first).days + 1
    by_day = {d.day: d for d in days if first <= d.day <= last}
    tallest = max((sum(d.tiers.values()) for d in by_day.values()), default=0)
    frame = Frame(width, height, 0.0, float(span), ceiling=float(_round_up(tallest)))
    step = frame.plot_width / span
    body = [
        f'<text class="tick" x="{frame.left - 6}" y="{frame.y(v) + 4}" text-anchor="end">{v:g}</text>'
        for v in (0.0, frame.ceiling)
    ]
    for offset in range(span):
        day = first + timedelta(days=offset)
        entry = by_day.get(day)
        if entry is None:
            continue
        x, base = round(frame.left + offset * step, 2), 0
        tip = ", ".join(f"{t} {entry.tiers[t]}" for t in TIERS)
        parts = []
        for tier in reversed(TIERS):  # critical at the bottom, healthy on top
            count = entry.tiers[tier]
            if count:
                top, bottom = frame.y(base + count), frame.y(base)
                parts.append(
                    f'<rect x="{x}" y="{top}" width="{round(max(step - 1, 1), 2)}" '
                    f'height="{round(bottom - top, 2)}" fill="{TIER_COLOURS[tier]}"/>'
                )
                base += count
        body.append(
            f'<g class="day">{"".join(parts)}<title>{day.isoformat()}: {tip}; alerts {entry.alerts}</title></g>'
        )
    for n in range(X_TICKS + 1):
        offset = round((span - 1) * n / X_TICKS)
        day = first + timedelta(days=offset)
        anchor = "start" if n == 0 else "end" if n == X_TICKS else "middle"
        x = round(frame.left + (offset + 0.5) * step, 2)
        body.append(f'<text class="tick" x="{x}" y="{height - 8}" text-anchor="{anchor}">{day:%b %d}</text>')
    return _svg(frame, body, f"customers per tier, {first} to {last}", "chart tier-days-chart")


def tier_bar(counts: Mapping[Tier, int], width: int = 900, height: int = 36) -> str:
    """Today's customers per tier as one bar split in proportion, each part titled with its count."""
    total = sum(counts.values())
    body, x = [], 0.0
    for tier in TIERS:
        count = counts.get(tier, 0)
        if not count:
            continue
        part = width * count / total
        body.append(
            f'<rect class="tier-part tier-{tier}" x="{round(x, 2)}" y="0" width="{round(part, 2)}" '
            f'height="{height}" fill="{TIER_COLOURS[tier]}"><title>{tier}: {count}</title></rect>'
        )
        x += part
    frame = Frame(width, height, 0.0, 1.0, left=0, right=0, top=0, bottom=0)
    return _svg(frame, body, "customers per tier now", "chart tier-bar")


def _round_up(value: int) -> int:
    """A round axis top at or above `value`: 1, 2 or 5 times a power of ten."""
    if value <= 0:
        return 1
    scale = 1
    while True:
        for step in (1, 2, 5):
            if step * scale >= value:
                return step * scale
        scale *= 10


def _stamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%d %H:%M")
