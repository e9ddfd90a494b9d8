"""The console's pages as HTML: pure functions of what the views read, with every piece of data escaped.

No script and nothing fetched from elsewhere: a page is one document with
its stylesheet and its charts (streams/console/svg.py) inline. Filters and
paging are plain links and GET forms, so every view is a URL one can share.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from html import escape
from urllib.parse import quote, urlencode

from schemas.api import CustomerHealth, CustomerListQuery, CustomerSummary
from schemas.outputs import SEGMENTS, TIERS, Tier
from streams.console.svg import TIER_COLOURS, history_chart, tier_bar, tier_days_chart
from streams.snapshot.history import Point, between
from streams.snapshot.reader import Day, Mover
from streams.snapshot.recent_alerts import RecentAlert

BASE = "/console"
# The customer page's chart ranges, in days (None: everything kept).
RANGES: dict[str, int | None] = {"30": 30, "90": 90, "365": 365, "all": None}
DEFAULT_RANGE = "90"
# What the at-risk list shows when no tier is chosen: the customers who need a look.
AT_RISK_TIERS = ("at_risk", "critical")

STYLE = """
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:#1f2933;background:#f4f6f8}header{background:#263238;color:#fff;padding:10px 24px;display:flex;gap:24px;
align-items:center}header a{color:#cfd8dc;text-decoration:none}header a.on{color:#fff;font-weight:600}
header .brand{font-weight:700;color:#fff;margin-right:12px}header form{margin-left:auto}
main{max-width:1180px;margin:0 auto;padding:20px 24px}h1{font-size:22px;margin:4px 0 16px}
h2{font-size:16px;margin:0 0 10px}section{background:#fff;border:1px solid #dde3e8;border-radius:6px;
padding:16px;margin-bottom:16px}.grid{display:grid;grid-template-columns:1fr 1fr;gap:16px}
.grid section{margin-bottom:0}table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:5px 8px;
border-bottom:1px solid #edf0f2;vertical-align:top}th{font-size:12px;color:#52606d;font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}.tier{display:inline-block;padding:1px 8px;
border-radius:10px;color:#fff;font-size:12px;white-space:nowrap}.muted{color:#7b8794}.down{color:#c62828}
.up{color:#2e7d32}.kpis{display:flex;gap:12px;flex-wrap:wrap;margin-bottom:12px}.kpi{flex:1;min-width:130px;
border-left:4px solid #90a4ae;padding:4px 10px}.kpi b{display:block;font-size:22px}ul{margin:0;padding-left:18px}
form.filters{display:flex;gap:14px;flex-wrap:wrap;align-items:flex-end}form.filters label{font-size:12px;
color:#52606d}select,input,button{font:inherit;padding:4px 6px}button{cursor:pointer}
.pager{display:flex;gap:12px;align-items:center;margin-top:10px}.bar{background:#eceff1;height:10px;
border-radius:5px;width:160px}.bar span{display:block;height:10px;border-radius:5px;background:#546e7a}
.chart{display:block}.chart text{font-size:11px;fill:#52606d}.legend span{margin-right:14px;font-size:12px}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:-1px}
td.id{white-space:nowrap}.error{color:#c62828}.login{max-width:360px;margin:60px auto}
"""


def page(title: str, body: str, active: str = "", session: bool = False) -> str:
    """A whole document: header with the two lists, then `body` (already escaped)."""
    nav = "".join(
        f'<a href="{href}"{" class=on" if name == active else ""}>{label}</a>'
        for name, href, label in (("overview", BASE, "Overview"), ("at-risk", f"{BASE}/at-risk", "At-risk list"))
    )
    logout = (
        f'<form method="post" action="{BASE}/logout"><button type="submit">Log out</button></form>' if session else ""
    )
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8><meta name=viewport "
        'content="width=device-width,initial-scale=1"><link rel="icon" href="data:,">'
        f"<title>{escape(title)} · healthscore</title><style>{STYLE}</style></head><body><header>"
        f'<span class="brand">healthscore</span>{nav}{logout}</header><main>{body}</main></body></html>'
    )


def customer_href(customer_id: str) -> str:
    return f"{BASE}/customers/{quote(customer_id, safe='')}"


def tier_badge(tier: str) -> str:
    return f'<span class="tier" style="background:{TIER_COLOURS.get(tier, "#546e7a")}">{escape(tier)}</span>'


def change_text(change: float | None) -> str:
    if change is None:
        return '<span class="muted">–</span>'
    css = "down" if change < 0 else "up" if change > 0 else "muted"
    return f'<span class="{css}">{change:+.1f}</span>'


def _customer_link(customer_id: str) -> str:
    return f'<a href="{escape(customer_href(customer_id))}">{escape(customer_id)}</a>'


def _reasons(reasons: Sequence[str], top: int = 3) -> str:
    return "; ".join(escape(r) for r in reasons[:top]) or '<span class="muted">none</span>'


def _legend() -> str:
    return (
        '<div class="legend">'
        + "".join(f'<span><i style="background:{TIER_COLOURS[t]}"></i>{t}</span>' for t in TIERS)
        + "</div>"
    )


@dataclass(frozen=True)
class Overview:
    tiers_now: dict[Tier, int]
    days: list[Day]
    first: date
    last: date
    drops: list[Mover]
    rises: list[Mover]
    alerts_today: list[RecentAlert]
    alerts_today_count: int


def overview_page(data: Overview, session: bool = False) -> str:
    total = sum(data.tiers_now.values())
    kpis = "".join(
        f'<div class="kpi" style="border-color:{TIER_COLOURS[t]}">{t.replace("_", " ")}<b>'
        f'{data.tiers_now.get(t, 0):,}</b><a href="{BASE}/at-risk?tier={t}">list</a></div>'
        for t in TIERS
    )
    now = (
        f'<section><h2>Customers per tier now: {total:,}</h2><div class="kpis">{kpis}</div>'
        f"{tier_bar(data.tiers_now) if total else ''}</section>"
    )
    trend = (
        f"<section><h2>Customers per tier, {data.first:%b %d} to {data.last:%b %d}</h2>"
        f"{tier_days_chart(data.days, data.first, data.last)}{_legend()}</section>"
    )
    movers = (
        '<div class="grid">'
        + _movers("Biggest drops this week", data.drops)
        + _movers("Biggest rises this week", data.rises)
        + "</div>"
    )
    rows = "".join(
        f"<tr><td>{a.raised_at:%H:%M}</td><td>{_customer_link(a.customer_id)}</td>"
        f"<td>{escape(a.trigger)}{' (high)' if a.severity == 'high' else ''}</td>"
        f"<td>{tier_badge(a.tier)}</td><td class=num>{a.score:.1f}</td><td>{escape(a.detail)}</td></tr>"
        for a in data.alerts_today
    )
    shown = "" if len(data.alerts_today) >= data.alerts_today_count else f", the latest {len(data.alerts_today)}"
    alerts = (
        f'<section id="alerts-today"><h2>Alerts raised today ({data.last:%b %d}): '
        f"{data.alerts_today_count:,}{shown}</h2>"
        + (
            f"<table><tr><th>time</th><th>customer</th><th>trigger</th><th>tier</th><th class=num>score</th>"
            f"<th>what fired</th></tr>{rows}</table>"
            if rows
            else '<p class="muted">No alert today.</p>'
        )
        + "</section>"
    )
    return page("Overview", f"<h1>Overview</h1>{now}{trend}{movers}{alerts}", "overview", session)


def _movers(title: str, movers: list[Mover]) -> str:
    if not movers:
        return f'<section><h2>{title}</h2><p class="muted">Nobody.</p></section>'
    rows = "".join(
        f"<tr><td>{_customer_link(m.customer.customer_id)}</td><td class=num>{m.customer.score:.1f}</td>"
        f"<td>{tier_badge(m.customer.tier)}</td><td class=num>{change_text(m.change_7d)}</td></tr>"
        for m in movers
    )
    return (
        f'<section class="movers"><h2>{title}</h2><table><tr><th>customer</th><th class=num>score</th>'
        f"<th>tier</th><th class=num>7 days</th></tr>{rows}</table></section>"
    )


@dataclass(frozen=True)
class AtRisk:
    query: CustomerListQuery
    rows: list[CustomerSummary]
    changes: dict[str, float | None]
    total: int
    models: list[str]


def list_href(query: CustomerListQuery, **changes: object) -> str:
    """The at-risk list's URL for `query` with some fields changed (offset back to 0 unless given)."""
    fields = query.model_dump() | {"offset": 0} | changes
    params = [
        ("tier", ",".join(fields["tier"])),
        ("segment", ",".join(fields["segment"])),
        ("model", ",".join(fields["model"])),
        ("sort", fields["sort"]),
        ("limit", fields["limit"]),
        ("offset", fields["offset"]),
    ]
    return f"{BASE}/at-risk?" + urlencode([(k, v) for k, v in params if v not in ("", None)])


def _options(values: Iterable[str], chosen: Sequence[str], blank: str) -> str:
    out = [f'<option value=""{" selected" if not chosen else ""}>{blank}</option>']
    out += [f'<option value="{escape(v)}"{" selected" if v in chosen else ""}>{escape(v)}</option>' for v in values]
    return "".join(out)


def at_risk_page(data: AtRisk, session: bool = False) -> str:
    query = data.query
    boxes = "".join(
        f'<label><input type="checkbox" name="tier" value="{t}"{" checked" if t in query.tier else ""}> {t}</label>'
        for t in TIERS
    )
    form = (
        f'<form class="filters" method="get" action="{BASE}/at-risk"><div>{boxes}</div>'
        f'<label>segment<br><select name="segment">{_options(SEGMENTS, query.segment, "any segment")}</select></label>'
        f'<label>model<br><select name="model">{_options(data.models, query.model, "any model")}</select></label>'
        f'<label>sort by<br><select name="sort"><option value="score"{" selected" if query.sort == "score" else ""}>'
        f'lowest score</option><option value="change"{" selected" if query.sort == "change" else ""}>biggest '
        f'7-day drop</option></select></label><input type="hidden" name="limit" value="{query.limit}">'
        f'<button type="submit">Apply</button></form>'
    )
    rows = "".join(
        f'<tr class="customer-row"><td class=id>{_customer_link(r.customer_id)}</td><td class=num>{r.score:.1f}</td>'
        f"<td>{tier_badge(r.tier)}</td><td class=num>{change_text(data.changes.get(r.customer_id))}</td>"
        f"<td>{escape(r.segment)}</td><td>{_reasons(r.reasons)}</td>"
        f'<td class="muted">{r.scored_at:%Y-%m-%d %H:%M}</td></tr>'
        for r in data.rows
    )
    table = (
        f'<table id="customers"><tr><th>customer</th><th class=num>score</th><th>tier</th>'
        f"<th class=num>7 days</th><th>segment</th><th>top reasons</th><th>scored</th></tr>{rows}</table>"
        if rows
        else '<p class="muted">No customer matches these filters.</p>'
    )
    first, last = query.offset + 1, query.offset + len(data.rows)
    previous = (
        f'<a rel="prev" href="{escape(list_href(query, offset=max(0, query.offset - query.limit)))}">previous</a>'
        if query.offset > 0
        else ""
    )
    following = (
        f'<a rel="next" href="{escape(list_href(query, offset=query.offset + query.limit))}">next</a>'
        if last < data.total
        else ""
    )
    count = f"{first:,}-{last:,} of {data.total:,}" if data.rows else f"0 of {data.total:,}"
    pager = f'<div class="pager"><span id="count">{count}</span>{previous}{following}</div>'
    body = f"<h1>At-risk list</h1><section>{form}</section><section>{table}{pager}</section>"
    return page("At-risk list", body, "at-risk", session)


@dataclass(frozen=True)
class Customer:
    health: CustomerHealth
    points: list[Point]
    alerts: list[RecentAlert]
    changes: list[str]  # of the latest published update
    thresholds: dict[str, float]
    range_name: str
    start: datetime
    end: datetime


def customer_page(data: Customer, session: bool = False) -> str:
    h = data.health
    href = customer_href(h.customer_id)
    ranges = " ".join(
        f'<a href="{escape(href)}?range={name}"{" class=on" if name == data.range_name else ""}>'
        f"{'all' if days is None else f'{days} days'}</a>"
        for name, days in RANGES.items()
    )
    shown = between(data.points, data.start, data.end)
    chart = (
        f'<section><h2>Score history <span class="muted">({len(shown)} changes kept; {ranges})</span></h2>'
        f"{history_chart(data.points, data.thresholds, data.start, data.end, data.alerts)}{_legend()}"
        f'<p class="muted">Bands: the tiers of model {escape(h.model_name)}@{escape(h.model_version)}. '
        "Red dashes: alerts raised. Purple: overrides began, changed or ended.</p></section>"
    )
    head = (
        f'<h1>{escape(h.customer_id)} {tier_badge(h.tier)}</h1><div class="kpis">'
        f'<div class="kpi">score now<b id="score">{h.score:.1f}</b></div>'
        f'<div class="kpi">7 days<b>{change_text(h.change_7d)}</b></div>'
        f'<div class="kpi">30 days<b>{change_text(h.change_30d)}</b></div>'
        f'<div class="kpi">segment<b>{escape(h.segment)}</b></div>'
        f'<div class="kpi">12-month value<b>{h.clv_12m:,.0f}</b></div>'
        f'<div class="kpi">confidence<b>{h.confidence:.0%}</b></div></div>'
    )
    dims = "".join(
        f"<tr><td>{escape(d.name)}</td><td class=num>{'–' if d.value is None else f'{d.value:.2f}'}</td>"
        f"<td class=num>{d.weight:.0%}</td><td class=num>{d.contribution:.1f}</td>"
        f'<td><div class="bar"><span style="width:{0 if d.value is None else round(d.value * 100)}%">'
        f"</span></div></td></tr>"
        for d in h.dimensions
    )
    dimensions = (
        f"<section><h2>Dimensions</h2><table><tr><th>dimension</th><th class=num>value (0-1)</th>"
        f"<th class=num>weight</th><th class=num>points</th><th></th></tr>{dims}</table></section>"
    )
    why = (
        f'<section><h2>Why</h2><h3>Reasons</h3><ul id="reasons">{_items(h.reasons)}</ul>'
        f"<h3>Changes in the latest update</h3><ul>{_items(data.changes)}</ul></section>"
    )
    override = '<p class="muted">None.</p>'
    if h.override is not None:
        o = h.override
        what = {
            "pin_score": f"score pinned at {o.score}",
            "pin_tier": f"tier pinned at {o.tier}",
            "adjust": f"{o.adjustment} points added",
        }.get(o.action, o.action)
        computed = f" (the model says {h.computed_score:.1f})" if h.computed_score is not None else ""
        until = f", until {o.expires_at:%Y-%m-%d %H:%M}" if o.expires_at else ""
        override = f"<p><b>{escape(what)}</b>{computed}, by {escape(o.author)}: {escape(o.reason)}{until}</p>"
    profile = '<p class="muted">No profile published.</p>'
    if h.profile is not None:
        fields = {
            k: v
            for k, v in h.profile.model_dump(mode="json").items()
            if v not in (None, "", []) and k not in ("kind", "schema_version", "event_id", "customer_id")
        }
        profile = (
            "<table>"
            + "".join(
                f"<tr><th>{escape(k.replace('_', ' '))}</th><td>{escape(str(v))}</td></tr>" for k, v in fields.items()
            )
            + "</table>"
        )
    alert_rows = "".join(
        f"<tr><td>{a.raised_at:%Y-%m-%d %H:%M}</td><td>{escape(a.trigger)}</td>"
        f"<td>{tier_badge(a.tier)}</td><td class=num>{a.score:.1f}</td><td>{escape(a.detail)}</td></tr>"
        for a in data.alerts
    )
    alerts = (
        f"<table><tr><th>raised</th><th>trigger</th><th>tier</th><th class=num>score</th><th>what fired</th>"
        f"</tr>{alert_rows}</table>"
        if alert_rows
        else '<p class="muted">No alert kept.</p>'
    )
    facts = (
        f'<p class="muted">Scored {h.scored_at:%Y-%m-%d %H:%M} UTC; {h.event_count} events, the last '
        f"{'never' if h.last_event_at is None else f'{h.last_event_at:%Y-%m-%d %H:%M}'}.</p>"
    )
    body = (
        f"{head}{facts}{chart}<div class=grid>{dimensions}{why}</div><div class=grid><section><h2>Active override"
        f"</h2>{override}</section><section><h2>Profile</h2>{profile}</section></div>"
        f"<section><h2>Recent alerts</h2>{alerts}</section>"
    )
    return page(h.customer_id, body, "", session)


def _items(texts: Sequence[str]) -> str:
    return "".join(f"<li>{escape(t)}</li>" for t in texts) or '<li class="muted">none</li>'


def login_page(next_path: str, failed: bool = False) -> str:
    error = '<p class="error">That is not the token.</p>' if failed else ""
    body = (
        f'<section class="login"><h1>healthscore console</h1><p>The worker asks for its API token '
        f'(HEALTHSCORE_API_TOKEN).</p>{error}<form method=post action="{BASE}/login">'
        f'<input type="hidden" name="next" value="{escape(next_path)}"><label>token<br>'
        f'<input type="password" name="token" autocomplete="current-password" autofocus required></label> '
        f'<button type="submit">Log in</button></form></section>'
    )
    return page("Log in", body)


def message_page(title: str, text: str, session: bool = False) -> str:
    return page(title, f"<section><h1>{escape(title)}</h1><p>{escape(text)}</p></section>", "", session)
