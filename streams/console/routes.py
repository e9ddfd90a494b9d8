"""The console's pages on the worker's own web server: overview, at-risk list, customer page, login.

One Faust Blueprint, registered next to the API's (streams/worker/app.py),
reading what the API reads (`Api`): the Redis snapshot for lists, counts,
history and alerts, and for a customer's health now the state table, on
the worker that holds the customer (`app.table_route` forwards the request
there, cookie included). Read-only: the only writes are the login cookie.
With `HEALTHSCORE_API_TOKEN` set, a page needs the cookie the login form
sets (or the API's bearer header); without it the console is open, like the API.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time, timedelta, timezone
from functools import wraps
from typing import Any
from urllib.parse import quote

import faust
from faust.web import Response
from redis.exceptions import RedisError

from schemas.api import CustomerHealth, QueryError, parse_list_query
from schemas.model_config import ModelSet, ScoringModel, TierThresholds
from streams.api.auth import bearer_allows, session_allows, session_value, token_matches
from streams.api.routes import MOVING, Api
from streams.console.pages import (
    AT_RISK_TIERS,
    BASE,
    DEFAULT_RANGE,
    RANGES,
    AtRisk,
    Customer,
    Overview,
    at_risk_page,
    customer_page,
    login_page,
    message_page,
    overview_page,
)
from streams.snapshot.history import epoch_ms

logger = logging.getLogger(__name__)

COOKIE = "healthscore_console"
# A working day and then some: a person logs in again the next morning.
COOKIE_SECONDS = 12 * 3600
# No script may run, nothing may load from elsewhere, forms post only here, no framing.
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
TREND_DAYS = 90
MOVERS = 10
ALERTS_LISTED = 50

Handler = Callable[..., Awaitable[Response]]


def register(api: Api) -> None:
    """Serve the console's pages on `api.app`'s web server."""
    blueprint(api).register(api.app, url_prefix="")


def blueprint(api: Api) -> faust.web.Blueprint:
    """Every page of the console, bound to what `api` reads."""
    routes = faust.web.Blueprint("healthscore-console")
    session = api.token is not None  # a log-out button only when there is something to log out of

    def html(web: faust.web.View, text: str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return web.html(text, status=status, headers={**HEADERS, **(headers or {})})

    def signed_in(request: faust.web.Request) -> bool:
        if api.token is None:
            return True
        return session_allows(request.cookies.get(COOKIE), api.token) or bearer_allows(
            request.headers.get("Authorization"), api.token
        )

    def guarded(handler: Handler) -> Handler:
        @wraps(handler)
        async def checked(web: faust.web.View, request: faust.web.Request, *args: Any, **kwargs: Any) -> Response:
            if not signed_in(request):
                return html(web, "", 303, {"Location": f"{BASE}/login?next={quote(request.path_qs, safe='')}"})  # type: ignore[attr-defined]  # the aiohttp driver's Request has it
            try:
                return await handler(web, request, *args, **kwargs)
            except (RedisError, OSError) as exc:
                logger.warning("console could not read Redis: %s", exc)
                return html(
                    web,
                    message_page(
                        "Redis unavailable", "The Redis snapshot cannot be read right now; reload shortly.", session
                    ),
                    503,
                )

        return checked

    @routes.route(BASE, name="console-overview")
    class OverviewView(faust.web.View):
        @guarded
        async def get(self, request: faust.web.Request) -> Response:
            days = await api.reader.days()
            today = _today(api.clock(), days)
            start = datetime.combine(today, time(), tzinfo=timezone.utc)
            drops, rises = await api.reader.movers(MOVERS)
            alerts = await api.reader.recent_alerts(epoch_ms(start), ALERTS_LISTED)
            counted = next((d.alerts for d in days if d.day == today), 0)
            data = Overview(
                tiers_now=dict(await api.reader.tier_counts()),
                days=days,
                first=today - timedelta(days=TREND_DAYS - 1),
                last=today,
                drops=drops,
                rises=rises,
                alerts_today=alerts,
                alerts_today_count=max(counted, len(alerts)),
            )
            return html(self, overview_page(data, session))

    @routes.route(f"{BASE}/at-risk", name="console-at-risk")
    class AtRiskView(faust.web.View):
        @guarded
        async def get(self, request: faust.web.Request) -> Response:
            params = list(request.query.items()) or [("tier", ",".join(AT_RISK_TIERS))]
            try:
                query = parse_list_query(params)
            except QueryError as exc:
                return html(self, message_page("Bad filter", str(exc), session), 400)
            rows, total = await api.reader.page(query)
            data = AtRisk(
                query=query,
                rows=rows,
                total=total,
                models=await api.reader.models(),
                changes=await api.reader.changes([r.customer_id for r in rows]),
            )
            return html(self, at_risk_page(data, session))

    @routes.route(f"{BASE}/customers/{{customer_id}}", name="console-customer")
    class CustomerView(faust.web.View):
        @guarded
        @api.app.table_route(table=api.table, match_info="customer_id")  # type: ignore[arg-type]  # faust types handlers as (view, request, *args, **kwargs); match_info comes as keywords
        async def get(self, request: faust.web.Request, customer_id: str) -> Response:
            range_name = request.query.get("range", DEFAULT_RANGE)
            if range_name not in RANGES:
                return html(self, message_page("Bad range", f"range must be one of {', '.join(RANGES)}", session), 400)
            if not api.owns(customer_id):
                return html(self, message_page("Try again", MOVING, session), 503)
            health = api.health(customer_id)
            if health is None:
                return html(
                    self,
                    message_page("Unknown customer", f"No event of {customer_id!r} has been scored.", session),
                    404,
                )
            points = await api.reader.history(customer_id) or []
            days = RANGES[range_name]
            end = health.scored_at
            start = (
                end - timedelta(days=days)
                if days is not None
                else (points[0].moment if points else end - timedelta(days=1))
            )
            data = Customer(
                health=health,
                points=points,
                alerts=await api.reader.customer_alerts(customer_id),
                changes=await api.reader.latest_changes(customer_id),
                thresholds=thresholds_of(api, health),
                range_name=range_name,
                start=min(start, end),
                end=end,
            )
            return html(self, customer_page(data, session))

    @routes.route(f"{BASE}/login", name="console-login")
    class LoginView(faust.web.View):
        async def get(self, request: faust.web.Request) -> Response:
            if api.token is None or signed_in(request):
                return html(self, "", 303, {"Location": _safe_next(request.query.get("next"))})
            return html(self, login_page(_safe_next(request.query.get("next"))))

        async def post(self, request: faust.web.Request) -> Response:
            form = await request.post()
            target = _safe_next(str(form.get("next", "")))
            if api.token is None:
                return html(self, "", 303, {"Location": target})
            if not token_matches(str(form.get("token", "")), api.token):
                logger.info("console login refused")
                return html(self, login_page(target, failed=True), 401)
            cookie = (
                f"{COOKIE}={session_value(api.token)}; Path={BASE}; Max-Age={COOKIE_SECONDS}; HttpOnly; SameSite=Strict"
            )
            return html(self, "", 303, {"Location": target, "Set-Cookie": cookie})

    @routes.route(f"{BASE}/logout", name="console-logout")
    class LogoutView(faust.web.View):
        async def post(self, request: faust.web.Request) -> Response:
            cookie = f"{COOKIE}=; Path={BASE}; Max-Age=0; HttpOnly; SameSite=Strict"
            return html(self, "", 303, {"Location": f"{BASE}/login", "Set-Cookie": cookie})

    return routes


def _safe_next(target: str | None) -> str:
    """Where to go after logging in: a console page of this server, never another site (`//evil`, `https:`)."""
    if target and target.startswith(f"{BASE}") and not target.startswith("//") and "\\" not in target:
        return target
    return BASE


def _today(clock: datetime | None, days: list[Any]) -> date:
    """The worker's day: its clock (the event-time watermark in event mode), else the newest day kept, else today's."""
    if clock is not None:
        return clock.date()
    return days[-1].day if days else datetime.now(timezone.utc).date()


def thresholds_of(api: Api, health: CustomerHealth) -> dict[str, float]:
    """The tier thresholds of the model that scored the customer (by name and version), for the chart's bands."""
    models = (
        [api.model]
        if isinstance(api.model, ScoringModel)
        else list(api.model.models.values())
        if isinstance(api.model, ModelSet)
        else []
    )
    tiers = next(
        (m.tiers for m in models if (m.name, m.version) == (health.model_name, health.model_version)), TierThresholds()
    )
    return {"healthy": tiers.healthy, "watch": tiers.watch, "at_risk": tiers.at_risk}
