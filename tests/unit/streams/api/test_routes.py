"""The HTTP API's pure parts: query parsing, pages, tier counts, the bearer check, a customer's health now, model labels."""

import re
from datetime import date
from urllib.parse import parse_qsl

import pytest
from pydantic import SecretStr

from schemas.api import (
    MAX_PAGE,
    MAX_STATES_PAGE,
    CustomerListQuery,
    CustomerPage,
    CustomerSummary,
    QueryError,
    StatesQuery,
    TierCounts,
    parse_history_query,
    parse_list_query,
    parse_states_query,
)
from schemas.model_config import ScoringModel
from scoring.health import current_health, query_time
from scoring.instants import from_us
from scoring.model_choice import label
from scoring.pipeline import rescore
from scoring.replay import replay
from scoring.state import new_state
from streams.api.auth import bearer_allows
from streams.api.routes import readiness_of
from streams.worker.model_file import load_model
from tests.factories import at, purchase, us, visit
from tests.samples import SEGMENTED

MODEL = ScoringModel()


def params(query: str) -> list[tuple[str, str]]:
    return [tuple(pair.split("=", 1)) for pair in query.split("&") if pair]  # type: ignore[misc]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", CustomerListQuery()),
        ("tier=at_risk,critical", CustomerListQuery(tier=("at_risk", "critical"))),
        ("tier=at_risk&tier=critical", CustomerListQuery(tier=("at_risk", "critical"))),
        ("tier=critical,critical", CustomerListQuery(tier=("critical",))),
        ("tier=", CustomerListQuery()),
        (
            "segment=dormant,high_value_at_risk&limit=10&offset=20",
            CustomerListQuery(segment=("dormant", "high_value_at_risk"), limit=10, offset=20),
        ),
        (f"limit={MAX_PAGE}", CustomerListQuery(limit=MAX_PAGE)),
        (
            "model=default@2,enterprise@1&sort=change",
            CustomerListQuery(model=("default@2", "enterprise@1"), sort="change"),
        ),
    ],
)
def test_list_queries_accepted(query: str, expected: CustomerListQuery) -> None:
    assert parse_list_query(params(query)) == expected


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("tier=at_risk,doomed", "tier='doomed': Input should be 'healthy', 'watch', 'at_risk' or 'critical'"),
        ("segment=vip", "segment='vip': Input should be"),
        ("limit=0", "limit='0': Input should be greater than or equal to 1"),
        (f"limit={MAX_PAGE + 1}", f"limit='{MAX_PAGE + 1}': Input should be less than or equal to {MAX_PAGE}"),
        ("limit=ten", "limit='ten': Input should be a valid integer"),
        ("offset=-1", "offset='-1': Input should be greater than or equal to 0"),
        ("limit=5&limit=6", "limit: given more than once"),
        ("order=score", "order: unknown parameter; use tier, segment, model, sort, limit, offset"),
        ("sort=name", "sort='name': Input should be 'score' or 'change'"),
    ],
)
def test_bad_list_queries_say_which_parameter_and_why(query: str, message: str) -> None:
    with pytest.raises(QueryError) as raised:
        parse_list_query(params(query))
    assert message in str(raised.value)


def row(n: int) -> CustomerSummary:
    return CustomerSummary(
        customer_id=f"c{n}", score=10.0 + n, tier="critical", segment="at_risk", reasons=[], scored_at=at(0)
    )


@pytest.mark.parametrize(
    ("offset", "limit", "rows", "total", "next_offset"),
    [
        (0, 2, 2, 5, 2),  # first page of three
        (2, 2, 2, 5, 4),
        (4, 2, 1, 5, None),  # last page, short
        (0, 5, 5, 5, None),  # exactly one full page
        (10, 2, 0, 5, None),  # past the end: empty, no next page
        (0, 50, 0, 0, None),  # nothing matches
    ],
)
def test_pages_say_where_the_next_one_starts(offset: int, limit: int, rows: int, total: int, next_offset) -> None:
    query = CustomerListQuery(offset=offset, limit=limit)
    page = CustomerPage.of(query, [row(n) for n in range(rows)], total)
    assert (page.next_offset, page.total, page.offset, page.limit) == (next_offset, total, offset, limit)


def test_tier_counts_list_every_tier_and_the_total() -> None:
    counts = TierCounts.of({"critical": 3, "healthy": 1})
    assert counts.tiers == {"healthy": 1, "watch": 0, "at_risk": 0, "critical": 3}
    assert counts.total == 4


TOKEN = SecretStr("s3cret-token-value")


@pytest.mark.parametrize(
    ("header", "token", "allowed"),
    [
        (None, None, True),  # no token configured: open
        ("Bearer anything", None, True),
        ("Bearer s3cret-token-value", TOKEN, True),
        ("bearer s3cret-token-value", TOKEN, True),  # the scheme is case-insensitive (RFC 7235)
        (None, TOKEN, False),
        ("", TOKEN, False),
        ("Bearer", TOKEN, False),
        ("Bearer ", TOKEN, False),
        ("Bearer s3cret-token-valu", TOKEN, False),
        ("Bearer s3cret-token-value2", TOKEN, False),
        ("Basic s3cret-token-value", TOKEN, False),
        ("s3cret-token-value", TOKEN, False),
    ],
)
def test_bearer_token_check(header: str | None, token: SecretStr | None, allowed: bool) -> None:
    assert bearer_allows(header, token) is allowed


def test_a_customer_asked_about_is_scored_now_like_the_timer_would() -> None:
    events = [purchase("c", d, 80.0) for d in range(0, 60, 10)] + [visit("c", d) for d in range(0, 60, 3)]
    state = replay(sorted(events, key=lambda e: e.occurred_at), MODEL).states["c"]
    later = at(120)  # two months of silence since the last event
    health = current_health(state, MODEL, later)
    assert health.score < state.last_score  # silence has cost points already, without any event
    assert state.last_scored_at == us(57)  # and the state asked about is left as it was
    update = rescore(state, MODEL, later).update
    assert (health.score, health.tier, health.segment, health.reasons) == (
        update.score,
        update.tier,
        update.segment,
        update.reasons,
    )
    assert health.scored_at == later and health.last_event_at == from_us(state.last_event_at)
    assert health.event_count == len(events)
    # History: one point per day the customer was scored, oldest first, ending with today's score.
    assert health.history[-1].date == date(2025, 5, 1) and health.history[-1].score == health.score
    assert [p.date for p in health.history] == sorted({p.date for p in health.history})


def test_the_query_time_is_the_clock_but_never_before_the_last_score() -> None:
    state = rescore(new_state("c"), MODEL, at(5)).state
    assert query_time(at(9), state) == at(9)
    assert query_time(None, state) == at(5)  # event-time worker just restarted: no clock yet
    assert query_time(at(1), state) == at(5)
    assert query_time(None, new_state("c")) is None


@pytest.mark.parametrize(
    ("query", "since", "until"),
    [
        ("", None, None),
        ("since=2025-04-01", "2025-04-01T00:00:00+00:00", None),
        ("until=2025-04-01", None, "2025-04-01T23:59:59.999999+00:00"),  # a day given as `until` is included whole
        (
            "since=2025-04-01T10:00:00Z&until=2025-04-01T10:00:00Z",
            "2025-04-01T10:00:00+00:00",
            "2025-04-01T10:00:00+00:00",
        ),
        ("since=2025-04-01T12:00:00%2B02:00", "2025-04-01T12:00:00+02:00", None),
    ],
)
def test_history_bounds_accepted(query: str, since: str | None, until: str | None) -> None:
    parsed = parse_history_query(parse_qsl(query))
    assert (parsed.since and parsed.since.isoformat(), parsed.until and parsed.until.isoformat()) == (since, until)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("since=2025-04-02&until=2025-04-01", "since must not be after until"),
        ("since=2025-04-01T10:00:00", "since='2025-04-01T10:00:00': Input should have timezone info"),
        ("until=yesterday", "until='yesterday': Input should be a valid datetime"),
        ("since=2025-02-30", "since='2025-02-30'"),
        ("from=2025-01-01", "from: unknown parameter; use since, until"),
        ("since=2025-01-01&since=2025-01-02", "since: given more than once"),
    ],
)
def test_bad_history_bounds_say_which_and_why(query: str, message: str) -> None:
    with pytest.raises(QueryError) as raised:
        parse_history_query(parse_qsl(query))
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", StatesQuery()),
        ("after=cust-0042&limit=10", StatesQuery(after="cust-0042", limit=10)),
        (f"limit={MAX_STATES_PAGE}", StatesQuery(limit=MAX_STATES_PAGE)),
        (f"limit={MAX_STATES_PAGE + 1}", f"limit='{MAX_STATES_PAGE + 1}': Input should be less than or equal to"),
        ("limit=0", "limit='0': Input should be greater than or equal to 1"),
        ("after=a b", "after='a b': "),
        ("after=x&after=y", "after: given more than once"),
        ("offset=5", "offset: unknown parameter; use after, limit"),
    ],
)
def test_states_queries_accepted_or_refused_saying_which_parameter_and_why(query: str, expected) -> None:
    if isinstance(expected, StatesQuery):
        assert parse_states_query(params(query)) == expected
    else:
        with pytest.raises(QueryError, match=re.escape(expected)):
            parse_states_query(params(query))


def test_a_model_is_labelled_by_name_and_version_and_a_set_by_each_of_its_models() -> None:
    assert label(MODEL) == f"{MODEL.name}@{MODEL.version}"
    assert label(load_model(SEGMENTED)) == "enterprise@1, onboarding@1, self-serve@1"


@pytest.mark.parametrize(
    ("state", "failing"),
    [
        (dict(owned=True, fenced=False, recovered=True, broker=True, redis=True), []),
        # Broker and Redis gone: each named, and partitions the worker may have lost are not counted as held.
        (
            dict(owned=True, fenced=True, recovered=True, broker=False, redis=False),
            ["partitions_assigned", "broker", "redis"],
        ),
        (dict(owned=True, fenced=False, recovered=True, broker=True, redis=False), ["redis"]),
        (
            dict(owned=True, fenced=True, recovered=True, broker=True, redis=True),
            ["partitions_assigned"],
        ),  # rebalancing
        (
            dict(owned=False, fenced=False, recovered=False, broker=True, redis=True),
            ["partitions_assigned", "table_recovered"],
        ),
    ],
)
def test_readiness_names_each_failing_check(state: dict, failing: list[str]) -> None:
    readiness = readiness_of(**state)
    assert readiness.failing == failing and readiness.ready is not failing
