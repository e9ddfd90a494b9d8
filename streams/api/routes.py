"""The HTTP API served by every worker: customer health and history, the ranked list, tier counts, probes, metrics.

Every route is in one Faust Blueprint (`blueprint`), registered by the
worker's app. Views are thin: parse (schemas/api.py), read (state table or Redis), score
with the pure pipeline (scoring/health.py), answer JSON. A customer's
request is answered by the worker holding that customer's partition:
`app.table_route` forwards it there, hashing the id like the producers do.
A partition's states are paged by the worker that owns it too: another
worker forwards the request there once, found by Faust's router.
Customer-data endpoints take a bearer token when one is configured; the
probes and /metrics stay open for orchestrators and Prometheus.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from typing import Any, cast

import aiohttp
import faust
from faust.types import TP
from faust.web import Response
from faust.web.drivers.aiohttp import Web as AiohttpWeb
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import SecretStr
from redis.exceptions import RedisError

from schemas.api import (
    ApiError,
    CustomerHealth,
    CustomerHistory,
    CustomerPage,
    HistoryPoint,
    QueryError,
    Readiness,
    StatesPage,
    TierCounts,
    parse_history_query,
    parse_list_query,
    parse_states_query,
)
from schemas.model_config import Model
from scoring.health import current_health, query_time
from scoring.model_choice import label
from scoring.pipeline import scorable
from streams.api.auth import SCHEME, bearer_allows
from streams.fencing import Fence
from streams.kafka.codecs import decode_state
from streams.kafka.partitions import partition_of
from streams.snapshot.history import between
from streams.snapshot.reader import RedisReader
from streams.state.stores import StatesSlice

logger = logging.getLogger(__name__)

Handler = Callable[..., Awaitable[Response]]
# Set on a request one worker passes to another, which answers it itself or not at all (no forwarding loops).
FORWARDED_HEADER = "X-Healthscore-Forwarded"
FORWARD_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class Api:
    """What the views read: the state table, the worker's clock, the Redis snapshot, and who owns what."""

    app: faust.App
    table: faust.Table
    clock: Callable[[], datetime | None]  # the worker's `now`: wall clock, or its event-time watermark
    reader: RedisReader
    metrics: Callable[[], bytes]  # the Prometheus exposition
    backlog: Callable[[], int]  # snapshots waiting for Redis
    owned: Callable[[], set[TP]]  # the partitions this worker owns
    recovered: Callable[[], bool]  # the table has read its changelog and no rebalance is under way
    broker: Callable[[], bool]  # the group confirmed this worker within its session timeout
    fence: Fence  # whether it may still write for the partitions it owns
    model: Model
    partitions: int
    source_topic: str  # an input topic: its partitions are the table's partitions
    token: SecretStr | None
    states: Callable[
        [int, bytes | None, int], StatesSlice
    ]  # a page of one partition's states (streams/state/stores.py)

    def owns(self, customer_id: str) -> bool:
        return self.owns_partition(partition_of(customer_id.encode("utf-8"), self.partitions))

    def owns_partition(self, partition: int) -> bool:
        return TP(self.source_topic, partition) in self.owned()

    def owner_of(self, partition: int) -> str | None:
        """The URL of the worker the last rebalance gave `partition` of the table, as Faust's router knows it."""
        for url, topics in self.app.router.table_metadata(self.table.name).items():
            if any(partition in partitions for partitions in topics.values()):
                return url
        return None

    def health(self, customer_id: str) -> CustomerHealth | None:
        """The customer scored now from this worker's table (which must own them); None if never scored."""
        raw = self.table.get(customer_id.encode("utf-8"))
        state = decode_state(raw) if raw else None
        now = query_time(self.clock(), state) if state else None
        if state is None or now is None or not scorable(state):  # a profile alone is not scored
            return None
        return current_health(state, self.model, now)


MOVING = "this customer's partition is moving between workers; retry shortly"


def error(web: faust.web.View, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return web.json(ApiError(error=message).model_dump(), status=status, headers=headers)


def register(api: Api) -> None:
    """Serve the API's routes on `api.app`'s web server, whose own refusals (no such route, a method a route
    does not take) answer JSON like the routes' errors."""
    blueprint(api).register(api.app, url_prefix="")
    # Faust's aiohttp driver (the `web` default) exposes its aiohttp Application; middlewares can be added
    # until the server starts. Faust's `web_application_options` setting would be the alternative.
    cast(AiohttpWeb, api.app.web).web_app.middlewares.append(json_refusals)


@aiohttp.web.middleware
async def json_refusals(request: aiohttp.web.Request, handler: Callable[[aiohttp.web.Request], Awaitable[Any]]) -> Any:
    """aiohttp's plain-text 404 (no route) and 405 (a method the route does not take) as the API's JSON errors."""
    try:
        return await handler(request)
    except aiohttp.web.HTTPException as refused:
        if refused.status < 400:
            raise
        message = f"{request.method} {request.path}: {refused.reason}"
        if isinstance(refused, aiohttp.web.HTTPMethodNotAllowed):
            message += f"; this route answers {', '.join(sorted(refused.allowed_methods))}"
        elif isinstance(refused, aiohttp.web.HTTPNotFound):
            message += "; the routes are listed in docs/reference/http-api.md"
        kept = {k: v for k, v in refused.headers.items() if k.lower() not in ("content-type", "content-length")}
        body = ApiError(error=message).model_dump()
        return aiohttp.web.json_response(body, status=refused.status, reason=refused.reason, headers=kept)


def blueprint(api: Api) -> faust.web.Blueprint:
    """Every route of the API, bound to what `api` reads."""
    app = api.app
    routes = faust.web.Blueprint("healthscore")

    def protected(handler: Handler) -> Handler:
        @wraps(handler)
        async def checked(web: faust.web.View, request: faust.web.Request, *args: Any, **kwargs: Any) -> Response:
            if not bearer_allows(request.headers.get("Authorization"), api.token):
                return error(
                    web,
                    401,
                    "missing or wrong bearer token: send `Authorization: Bearer <token>`",
                    headers={"WWW-Authenticate": f'{SCHEME} realm="healthscore"'},
                )
            return await handler(web, request, *args, **kwargs)

        return checked

    @routes.route("/customers/{customer_id}", name="customer")
    class CustomerView(faust.web.View):
        @protected
        @app.table_route(table=api.table, match_info="customer_id")  # type: ignore[arg-type]  # faust types handlers as (view, request, *args, **kwargs); match_info comes as keywords
        async def get(self, request: faust.web.Request, customer_id: str) -> Response:
            if not api.owns(customer_id):
                return error(self, 503, MOVING)
            health = api.health(customer_id)
            if health is None:
                return error(self, 404, f"unknown customer {customer_id!r}: no event of theirs has been scored")
            return self.json(health.model_dump(mode="json"))

    @routes.route("/customers/{customer_id}/history", name="customer-history")
    class HistoryView(faust.web.View):
        @protected
        async def get(self, request: faust.web.Request, customer_id: str) -> Response:
            try:
                query = parse_history_query(request.query.items())
            except QueryError as exc:
                return error(self, 400, str(exc))
            try:
                points = await api.reader.history(customer_id)
            except (RedisError, OSError) as exc:
                return redis_unavailable(self, exc)
            if points is None:
                return error(self, 404, f"unknown customer {customer_id!r}: no score of theirs is in Redis")
            kept = [
                HistoryPoint(
                    at=p.moment, score=p.score, tier=p.tier, cause=p.cause, model=p.model, overridden=p.overridden
                )
                for p in between(points, query.since, query.until)
            ]
            body = CustomerHistory(customer_id=customer_id, since=query.since, until=query.until, points=kept)
            return self.json(body.model_dump(mode="json"))

    @routes.route("/customers", name="customers")
    class CustomersView(faust.web.View):
        @protected
        async def get(self, request: faust.web.Request) -> Response:
            try:
                query = parse_list_query(request.query.items())
            except QueryError as exc:
                return error(self, 400, str(exc))
            try:
                items, total = await api.reader.page(query)
            except (RedisError, OSError) as exc:
                return redis_unavailable(self, exc)
            return self.json(CustomerPage.of(query, items, total).model_dump(mode="json"))

    @routes.route("/tiers", name="tiers")
    class TiersView(faust.web.View):
        @protected
        async def get(self, request: faust.web.Request) -> Response:
            try:
                counts = await api.reader.tier_counts()
            except (RedisError, OSError) as exc:
                return redis_unavailable(self, exc)
            return self.json(TierCounts.of(counts).model_dump(mode="json"))

    @routes.route("/partitions/{partition}/states", name="partition-states")
    class PartitionStatesView(faust.web.View):
        @protected
        async def get(self, request: faust.web.Request, partition: str) -> Response:
            """A page of one table partition's customer states, read-only, from the worker that owns it."""
            if not partition.isdigit() or int(partition) >= api.partitions:
                return error(
                    self, 404, f"no partition {partition!r}: the table has partitions 0 to {api.partitions - 1}"
                )
            try:
                query = parse_states_query(request.query.items())
            except QueryError as exc:
                return error(self, 400, str(exc))
            number = int(partition)
            if not api.owns_partition(number):
                return await forward(self, request, number)
            if not api.recovered():
                return error(self, 503, "this worker is reading its table's changelog or rebalancing; retry shortly")
            page = api.states(number, query.after.encode("utf-8") if query.after else None, query.limit)
            return self.json(
                StatesPage(
                    partition=number,
                    partitions=api.partitions,
                    states=[base64.b64encode(value).decode("ascii") for _, value in page.states],
                    next_after=page.next_after.decode("utf-8") if page.next_after is not None else None,
                    clock=api.clock(),
                    model=label(api.model),
                    worker=str(app.conf.canonical_url),
                ).model_dump(mode="json")
            )

    async def forward(web: faust.web.View, request: faust.web.Request, partition: int) -> Response:
        """The answer of the partition's owner, asked once: a request forwarded already is not passed on again."""
        owner = api.owner_of(partition)
        if owner is None or request.headers.get(FORWARDED_HEADER):
            return error(web, 503, f"partition {partition} is moving between workers; retry shortly")
        headers = {FORWARDED_HEADER: "1"}
        if "Authorization" in request.headers:
            headers["Authorization"] = request.headers["Authorization"]
        try:
            async with app.http_client.get(
                f"{owner.rstrip('/')}{request.rel_url}",
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=FORWARD_TIMEOUT_SECONDS),
            ) as answer:
                return web.bytes(await answer.read(), content_type=answer.content_type, status=answer.status)
        except (TimeoutError, aiohttp.ClientError) as exc:
            logger.warning("could not forward a request for partition %d to %s: %r", partition, owner, exc)
            return error(web, 503, f"partition {partition}'s worker at {owner} does not answer; retry shortly")

    @routes.route("/livez", name="livez")
    class LivenessView(faust.web.View):
        async def get(self, request: faust.web.Request) -> Response:
            """The process serves requests; also says how many snapshots wait for Redis."""
            return self.json({"status": "alive", "redis_backlog": api.backlog()})

    @routes.route("/readyz", name="readyz")
    class ReadinessView(faust.web.View):
        async def get(self, request: faust.web.Request) -> Response:
            readiness = readiness_of(
                owned=bool(api.owned()),
                fenced=api.fence.lost() is not None,
                recovered=api.recovered(),
                broker=api.broker(),
                redis=await api.reader.ping(),
            )
            if readiness.ready:
                return self.json({"status": "ready", **readiness.model_dump()})
            return self.json(
                {
                    "status": "not ready",
                    "error": f"not ready: {', '.join(readiness.failing)}",
                    **readiness.model_dump(),
                },
                status=503,
            )

    @routes.route("/metrics", name="metrics")
    class MetricsView(faust.web.View):
        async def get(self, request: faust.web.Request) -> Response:
            # aiohttp refuses parameters in content_type, so the exposition type goes in as a header.
            return self.bytes(api.metrics(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    return routes


def readiness_of(owned: bool, fenced: bool, recovered: bool, broker: bool, redis: bool) -> Readiness:
    """`/readyz`'s checks: partitions owned and not fenced, the table recovered, and each dependency reachable."""
    return Readiness(
        checks={
            "partitions_assigned": owned and not fenced,
            "table_recovered": recovered,
            "broker": broker,
            "redis": redis,
        }
    )


def redis_unavailable(web: faust.web.View, exc: Exception) -> Response:
    logger.warning("HTTP API could not read Redis: %s", exc)
    return error(web, 503, "the Redis snapshot cannot be read right now; retry shortly")
