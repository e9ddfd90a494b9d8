"""The HTTP API's wire contract: the list query it accepts and the JSON bodies it answers with.

Parsing lives here, at the edge, so a view never sees a bad parameter: it
gets a validated `CustomerListQuery` or a message for a 400 answer.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta, timezone
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from schemas.common import CustomerId, Instant
from schemas.control import OverrideRequest
from schemas.events import CustomerProfile, EventKind
from schemas.outputs import TIERS, DimensionScore, Points, ScoreUpdate, Segment, Tier

DEFAULT_PAGE = 50
# One page is one Redis round trip of this many hashes; larger exports belong to the scores topic.
MAX_PAGE = 500
# Parameters that may list several values, comma-separated or repeated (`tier=at_risk,critical`).
LIST_PARAMS = ("tier", "segment", "model")
# How a list is ordered: lowest score first, or the biggest 7-day drop first (ties by id either way).
Sort = Literal["score", "change"]


class _Body(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


QueryModel = TypeVar("QueryModel", bound=BaseModel)


class CustomerListQuery(_Body):
    """`GET /customers` filters: any of the tiers, any of the segments (empty: no filter), one page."""

    tier: tuple[Tier, ...] = ()
    segment: tuple[Segment, ...] = ()
    model: tuple[Annotated[str, Field(min_length=1, max_length=200)], ...] = ()
    sort: Sort = "score"
    limit: int = Field(DEFAULT_PAGE, ge=1, le=MAX_PAGE)
    offset: int = Field(0, ge=0)

    @field_validator("tier", "segment", "model", mode="before")
    @classmethod
    def _deduplicate(cls, values: object) -> object:
        # `tier=critical,critical` is the same filter as `tier=critical`; order never matters.
        return tuple(dict.fromkeys(values)) if isinstance(values, list | tuple) else values


class QueryError(ValueError):
    """A query string the API refuses; the message says which parameter and why."""


def parse_list_query(params: Iterable[tuple[str, str]]) -> CustomerListQuery:
    """A validated list query from the URL's (name, value) pairs, or QueryError naming what is wrong."""
    return _parse(CustomerListQuery, params, LIST_PARAMS)


def _parse(model: type[QueryModel], params: Iterable[tuple[str, str]], list_params: tuple[str, ...] = ()) -> QueryModel:
    lists: dict[str, list[str]] = {}
    singles: dict[str, str] = {}
    for name, value in params:
        if name in list_params:
            lists.setdefault(name, []).extend(v.strip() for v in value.split(",") if v.strip())
        elif name in singles:
            raise QueryError(f"{name}: given more than once")
        else:
            singles[name] = value
    try:
        return model.model_validate(singles | lists)
    except ValidationError as exc:
        raise QueryError(describe_query_errors(exc, model)) from None


def describe_query_errors(exc: ValidationError, query: type[BaseModel] = CustomerListQuery) -> str:
    """One line per bad parameter of `query`, quoting the value given."""
    parts = []
    for error in exc.errors(include_url=False):
        if not error["loc"]:  # a rule between parameters
            parts.append(error["msg"].removeprefix("Value error, "))
            continue
        name = str(error["loc"][0])
        if error["type"] == "extra_forbidden":
            parts.append(f"{name}: unknown parameter; use {', '.join(query.model_fields)}")
        else:
            parts.append(f"{name}={error['input']!r}: {error['msg']}")
    return "; ".join(parts)


def _day_or_instant(value: object, end_of_day: bool) -> object:
    """`2025-04-01` as the first (or, for `until`, the last) moment of that day in UTC; an instant as given."""
    if isinstance(value, str) and len(value) == 10:
        try:
            day = date.fromisoformat(value)
        except ValueError:
            return value  # pydantic says what is wrong with it
        start = datetime.combine(day, time(), tzinfo=timezone.utc)
        return start + timedelta(days=1, microseconds=-1) if end_of_day else start
    return value


class HistoryQuery(_Body):
    """`GET /customers/{id}/history` bounds: a day (`2025-04-01`) or an instant with its zone; both included, either open."""

    since: Instant | None = None
    until: Instant | None = None

    @field_validator("since", mode="before")
    @classmethod
    def _since(cls, value: object) -> object:
        return _day_or_instant(value, end_of_day=False)

    @field_validator("until", mode="before")
    @classmethod
    def _until(cls, value: object) -> object:
        return _day_or_instant(value, end_of_day=True)

    @model_validator(mode="after")
    def _ordered(self) -> HistoryQuery:
        if self.since is not None and self.until is not None and self.since > self.until:
            raise ValueError("since must not be after until")
        return self


def parse_history_query(params: Iterable[tuple[str, str]]) -> HistoryQuery:
    """A validated history query from the URL's (name, value) pairs, or QueryError naming what is wrong."""
    return _parse(HistoryQuery, params)


HistoryCause = EventKind | Literal["timer", "override"]


class HistoryPoint(_Body):
    """One change of a customer's score: when, to what, why, by which model, and whether an override was in force."""

    at: Instant
    score: Points
    tier: Tier
    cause: HistoryCause = Field(description="the event kind that caused it, `timer` (time passing) or `override`")
    model: str = Field(description="the scoring model, `name@version`")
    overridden: bool = Field(description="a manual override was in force")


class CustomerHistory(_Body):
    """`GET /customers/{id}/history`: the kept points between `since` and `until`, oldest first."""

    customer_id: CustomerId
    since: Instant | None
    until: Instant | None
    points: list[HistoryPoint]


class HistoryDay(_Body):
    date: date
    score: Points


class CustomerHealth(_Body):
    """`GET /customers/{id}`: the customer scored at `scored_at` (now), with the daily score history the state keeps."""

    customer_id: CustomerId
    score: Points
    tier: Tier
    segment: Segment
    confidence: float
    dimensions: list[DimensionScore]
    reasons: list[str]
    change_7d: float | None
    change_30d: float | None
    clv_12m: float
    purchase_cycle_days: float | None
    model_name: str
    model_version: str
    scored_at: Instant
    last_event_at: Instant | None
    event_count: int
    profile: CustomerProfile | None = None
    override: OverrideRequest | None = Field(None, description="the manual override in force, if any")
    computed_score: Points | None = Field(None, description="the model's own score, when an override changed it")
    history: list[HistoryDay] = Field(description="one point per day, the day's latest score, oldest first")

    @classmethod
    def of(
        cls, update: Mapping[str, Any], history: list[dict[str, Any]], last_event_at: str | None, event_count: int
    ) -> CustomerHealth:
        """From a ScoreUpdate's fields as JSON values (what the worker publishes for the same moment), validated as JSON."""
        shared = {name: update[name] for name in set(cls.model_fields) & set(ScoreUpdate.model_fields)}
        body = {**shared, "history": history, "last_event_at": last_event_at, "event_count": event_count}
        return cls.model_validate_json(json.dumps(body))


class CustomerSummary(_Body):
    """One row of the list: the latest published score as Redis holds it."""

    customer_id: CustomerId
    score: Points
    tier: Tier
    segment: Segment
    reasons: list[str]
    scored_at: Instant


class CustomerPage(_Body):
    """`GET /customers`: a page of customers, lowest score first; `next_offset` is None on the last page."""

    items: list[CustomerSummary]
    total: int = Field(description="customers matching the filters, over all pages")
    limit: int
    offset: int
    next_offset: int | None

    @classmethod
    def of(cls, query: CustomerListQuery, items: list[CustomerSummary], total: int) -> CustomerPage:
        end = query.offset + len(items)
        return cls(
            items=items,
            total=total,
            limit=query.limit,
            offset=query.offset,
            next_offset=end if items and end < total else None,
        )


class TierCounts(_Body):
    """`GET /tiers`: customers per tier in the Redis snapshot, every tier listed (0 when empty)."""

    tiers: dict[Tier, int]
    total: int

    @classmethod
    def of(cls, counts: dict[Tier, int]) -> TierCounts:
        tiers = {tier: counts.get(tier, 0) for tier in TIERS}
        return cls(tiers=tiers, total=sum(tiers.values()))


class Readiness(_Body):
    """`GET /readyz`: each check by name; ready only when every one passes."""

    checks: dict[str, bool]

    @property
    def ready(self) -> bool:
        return all(self.checks.values())

    @property
    def failing(self) -> list[str]:
        return [name for name, ok in self.checks.items() if not ok]


class ApiError(_Body):
    """Every error answer: a message a person can act on."""

    error: str


# States per page of `GET /partitions/{partition}/states`: at about 1 KB a state (base64 of MessagePack), a
# page stays about a megabyte, and one page of a memory table is one pass over the worker's keys.
DEFAULT_STATES_PAGE = 500
MAX_STATES_PAGE = 1000


class StatesQuery(_Body):
    """`GET /partitions/{partition}/states` parameters: the page after a customer id (exclusive), its size."""

    after: CustomerId | None = None
    limit: int = Field(DEFAULT_STATES_PAGE, ge=1, le=MAX_STATES_PAGE)


def parse_states_query(params: Iterable[tuple[str, str]]) -> StatesQuery:
    """A validated states query from the URL's (name, value) pairs, or QueryError naming what is wrong."""
    given: dict[str, str] = {}
    for name, value in params:
        if name in given:
            raise QueryError(f"{name}: given more than once")
        given[name] = value
    try:
        return StatesQuery.model_validate(given)
    except ValidationError as exc:
        raise QueryError(describe_query_errors(exc, StatesQuery)) from None


class StatesPage(_Body):
    """`GET /partitions/{partition}/states`: customer states of one partition, in customer-id order (bytes).

    Each state is the state codec's bytes as the table holds them
    (scoring/state_codec.py), base64-encoded: `decode_state` reads them,
    whatever format version the worker stored. `next_after` is the customer
    id to ask for the next page after; None on the partition's last page.
    """

    partition: int
    partitions: int = Field(description="the table's partition count: partitions are 0 to partitions - 1")
    states: list[str] = Field(description="base64 of each state's stored bytes")
    next_after: CustomerId | None
    clock: Instant | None = Field(description="the answering worker's now: wall clock, or its event-time watermark")
    model: str = Field(description="the model the workers score with, `name@version` (each of a model set)")
    worker: str = Field(description="the URL of the worker that answered, the partition's owner")
