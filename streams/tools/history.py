"""`healthscore history`: a customer's score history from a worker's HTTP API, as a table and a one-line chart.

The chart is drawn over time, not over points: each column is a stretch of
the period and shows the score in force at its end, so a quiet month is as
wide as a busy one. Its eight levels are fixed to the 0-100 scale, so the
same height always means the same score.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime

from rich.console import Console
from rich.table import Table

from schemas.api import CustomerHistory, HistoryPoint
from streams.exceptions import ApiUnreachable, HealthscoreError, RedisUnavailable

BARS = "▁▂▃▄▅▆▇█"
TIER_STYLES = {"healthy": "green", "watch": "yellow", "at_risk": "dark_orange", "critical": "red"}
CHART_WIDTH = 60
TIMEOUT_SECONDS = 10.0


class HistoryUnavailable(HealthscoreError):
    """The worker refused (an unknown customer, a bad bound, a wrong token); the message says why."""


def bar(score: float) -> str:
    """The block of the score's height on the 0-100 scale."""
    return BARS[min(len(BARS) - 1, max(0, int(score / 100 * len(BARS))))]


def sparkline(points: list[HistoryPoint], width: int = CHART_WIDTH) -> str:
    """`width` columns from the first point to the last, each the score in force at the column's end."""
    if not points:
        return ""
    start, end = points[0].at.timestamp(), points[-1].at.timestamp()
    if end == start:
        return bar(points[-1].score)
    columns, index = [], 0
    for column in range(width):
        edge = start + (end - start) * (column + 1) / width
        while index + 1 < len(points) and points[index + 1].at.timestamp() <= edge:
            index += 1
        columns.append(bar(points[index].score))
    return "".join(columns)


def fetch_history(
    url: str, customer_id: str, since: str | None, until: str | None, token: str | None
) -> CustomerHistory:
    """The customer's history from the API at `url`, or HistoryUnavailable with the API's own message."""
    query = urllib.parse.urlencode({k: v for k, v in (("since", since), ("until", until)) if v})
    path = f"/customers/{urllib.parse.quote(customer_id, safe='')}/history" + (f"?{query}" if query else "")
    request = urllib.request.Request(url.rstrip("/") + path)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return CustomerHistory.model_validate_json(response.read())
    except urllib.error.HTTPError as failed:
        body = failed.read()
        try:
            message = json.loads(body)["error"]
        except (ValueError, KeyError, TypeError):
            message = body.decode(errors="replace")[:200]
        if failed.code == 503:  # the only 503 of this route: the worker cannot read Redis
            raise RedisUnavailable(f"the worker at {url} cannot read Redis now ({failed.code}): {message}") from None
        raise HistoryUnavailable(f"{failed.code} from {url}: {message}") from None
    except (urllib.error.URLError, OSError) as failed:
        reason = failed.reason if isinstance(failed, urllib.error.URLError) else failed
        raise ApiUnreachable(f"no worker's API answers at {url}: {reason}") from None


def show_history(console: Console, history: CustomerHistory, rows: int) -> None:
    """The chart, then the newest `rows` points (0: all) oldest first."""
    points = history.points
    if not points:
        console.print(f"no score history kept for {history.customer_id} in that period")
        return
    first, last = points[0], points[-1]
    console.print(
        f"[bold]{history.customer_id}[/]: {len(points)} points, {_when(first.at)} to {_when(last.at)}, "
        f"score {first.score:.1f} -> {last.score:.1f} ({last.tier})",
        highlight=False,
    )
    console.print(
        f"{_when(first.at)[:10]} {sparkline(points)} {_when(last.at)[:10]}  (bar height: score 0-100)", highlight=False
    )
    table = Table(box=None, pad_edge=False)
    for column in ("at", "score", "tier", "cause", "model", "override"):
        table.add_column(column, justify="right" if column == "score" else "left")
    shown = points[-rows:] if rows else points
    for point in shown:
        style = TIER_STYLES.get(point.tier, "")
        table.add_row(
            _when(point.at),
            f"{point.score:.1f}",
            f"[{style}]{point.tier}[/]",
            point.cause,
            point.model,
            "yes" if point.overridden else "",
        )
    if len(shown) < len(points):
        console.print(f"({len(points) - len(shown)} older points not shown; --rows 0 shows all)")
    console.print(table)


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M")
