"""The console's pages as HTML: data escaped, links that keep the filters, the override and the login form."""

from __future__ import annotations

import html.parser
from datetime import date, datetime, timezone

import pytest
from pydantic import SecretStr

from schemas.api import CustomerListQuery, CustomerSummary
from schemas.control import OverrideRequest
from schemas.model_config import ScoringModel
from scoring.health import current_health
from scoring.replay import replay
from streams.api.auth import session_allows, session_value, token_matches
from streams.console.pages import (
    AtRisk,
    Customer,
    Overview,
    at_risk_page,
    customer_href,
    customer_page,
    list_href,
    login_page,
    overview_page,
)
from streams.console.routes import _safe_next
from streams.snapshot.history import Point
from streams.snapshot.reader import Day, Mover
from streams.snapshot.recent_alerts import RecentAlert
from tests.factories import at, purchase, survey, visit

HOSTILE = '<img src=x onerror="alert(1)">'


class Tags(html.parser.HTMLParser):
    """Every start tag of a document with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags(document: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(document)
    return parser.tags


def summary(customer_id: str, score: float = 25.0, reasons: tuple[str, ...] = ("no purchase for 91 days",)):
    return CustomerSummary(
        customer_id=customer_id,
        score=score,
        tier="critical",
        segment="at_risk",
        reasons=list(reasons),
        scored_at=at(10),
    )


def test_customer_ids_and_reasons_from_the_data_are_escaped_on_every_page() -> None:
    row = summary("evil\"'<u>", reasons=(HOSTILE,))
    listed = at_risk_page(AtRisk(CustomerListQuery(tier=("critical",)), [row], {row.customer_id: -3.0}, 1, [HOSTILE]))
    alert = RecentAlert(
        customer_id=row.customer_id,
        alert_id="a",
        trigger="tier_entry",
        severity="high",
        detail=HOSTILE,
        tier="critical",
        score=25.0,
        raised_at=at(10),
    )
    overview = overview_page(
        Overview({"critical": 1}, [], date(2025, 1, 1), date(2025, 1, 11), [Mover(row, -3.0)], [], [alert], 1)
    )
    for document in (listed, overview):
        assert HOSTILE not in document and "<u>" not in document
        assert not any(name.startswith("on") for _, attrs in tags(document) for name in attrs)
        assert not any(tag == "script" for tag, _ in tags(document))
    links = [attrs["href"] for tag, attrs in tags(listed) if tag == "a" and "customers" in (attrs["href"] or "")]
    assert links == [customer_href(row.customer_id)] == ["/console/customers/evil%22%27%3Cu%3E"]


def test_the_list_links_keep_the_filters_and_page_on() -> None:
    query = CustomerListQuery(tier=("at_risk", "critical"), model=("default@2",), sort="change", limit=2, offset=2)
    rows = [summary("a"), summary("b")]
    document = at_risk_page(AtRisk(query, rows, {}, 7, ["default@2"]))
    links = {attrs.get("rel"): attrs["href"] for tag, attrs in tags(document) if tag == "a" and attrs.get("rel")}
    assert links == {
        "prev": "/console/at-risk?tier=at_risk%2Ccritical&model=default%402&sort=change&limit=2&offset=0",
        "next": "/console/at-risk?tier=at_risk%2Ccritical&model=default%402&sort=change&limit=2&offset=4",
    }
    assert '<span id="count">3-4 of 7</span>' in document
    assert list_href(query, segment=("dormant",)).endswith(
        "segment=dormant&model=default%402&sort=change&limit=2&offset=0"
    )
    checked = [attrs["value"] for tag, attrs in tags(document) if tag == "input" and "checked" in attrs]
    assert checked == ["at_risk", "critical"]


def test_the_last_page_has_no_next_link_and_an_empty_page_says_so() -> None:
    document = at_risk_page(AtRisk(CustomerListQuery(limit=2), [summary("a")], {}, 1, []))
    assert not any(attrs.get("rel") == "next" for _, attrs in tags(document))
    assert "No customer matches" in at_risk_page(AtRisk(CustomerListQuery(), [], {}, 0, []))


def health_with_override(action: str, **values: object):
    events = [purchase("acme", 0, 90.0), visit("acme", 1), survey("acme", 2, "nps", 3)]
    state = replay(events, ScoringModel()).states["acme"]
    health = current_health(state, ScoringModel(), at(3))
    override = OverrideRequest(
        request_id="r1",
        customer_id="acme",
        action=action,
        reason=HOSTILE,
        author="dana",
        requested_at=at(2),
        expires_at=at(20),
        **values,
    )
    return health.model_copy(update={"override": override, "computed_score": health.score})


@pytest.mark.parametrize(
    ("action", "values", "shown"),
    [
        ("pin_score", {"score": 55.0}, "score pinned at 55.0"),
        ("pin_tier", {"tier": "watch"}, "tier pinned at watch"),
        ("adjust", {"adjustment": -5.0}, "-5.0 points added"),
    ],
)
def test_the_customer_page_shows_the_active_override_with_who_and_why(action, values, shown) -> None:
    health = health_with_override(action, **values)
    points = [Point(round(at(d).timestamp() * 1000), 50.0 + d, "watch", "visit", d > 1, "default@2") for d in range(3)]
    data = Customer(
        health=health,
        points=points,
        alerts=[],
        changes=["NPS fell <to> 3"],
        thresholds={"healthy": 70.0, "watch": 50.0, "at_risk": 30.0},
        range_name="all",
        start=at(0),
        end=at(3),
    )
    document = customer_page(data)
    assert shown in document and "by dana" in document and HOSTILE not in document
    assert "NPS fell &lt;to&gt; 3" in document
    assert document.count('class="point"') == 3
    assert document.count('class="override-mark"') == 1


def test_the_overview_without_any_customer_yet_still_renders() -> None:
    document = overview_page(Overview({}, [], date(2025, 1, 1), date(2025, 3, 31), [], [], [], 0))
    assert "Customers per tier now: 0" in document and "No alert today." in document
    day = Day(date(2025, 3, 31), {"healthy": 1, "watch": 0, "at_risk": 0, "critical": 0}, 0)
    assert 'class="day"' in overview_page(
        Overview({"healthy": 1}, [day], date(2025, 1, 1), date(2025, 3, 31), [], [], [], 0)
    )


def test_the_login_form_posts_the_token_and_where_to_go_after() -> None:
    document = login_page("/console/at-risk?tier=critical", failed=True)
    form = next(attrs for tag, attrs in tags(document) if tag == "form")
    assert form == {"method": "post", "action": "/console/login"}
    inputs = {attrs["name"]: attrs for tag, attrs in tags(document) if tag == "input"}
    assert inputs["token"]["type"] == "password" and inputs["next"]["value"] == "/console/at-risk?tier=critical"
    assert "That is not the token." in document


@pytest.mark.parametrize(
    ("target", "goes"),
    [
        ("/console/at-risk?tier=critical", "/console/at-risk?tier=critical"),
        ("https://evil.example/console", "/console"),
        ("//evil.example/console", "/console"),
        ("/metrics", "/console"),
        ("/console\\@evil", "/console"),
        (None, "/console"),
    ],
)
def test_after_logging_in_only_a_console_page_of_this_server_is_a_destination(target, goes) -> None:
    assert _safe_next(target) == goes


def test_the_cookie_holds_a_value_derived_from_the_token_never_the_token() -> None:
    token = SecretStr("s3cret-token")
    value = session_value(token)
    assert token.get_secret_value() not in value and len(value) == 64
    assert session_allows(value, token) and not session_allows(value, SecretStr("other"))
    assert not session_allows(None, token) and not session_allows("", token) and session_allows(None, None)
    assert token_matches(" s3cret-token\n", token) and not token_matches("s3cret", token)


def test_times_on_the_pages_are_utc() -> None:
    alert = RecentAlert(
        customer_id="c",
        alert_id="a",
        trigger="tier_entry",
        severity="normal",
        detail="d",
        tier="critical",
        score=20.0,
        raised_at=datetime(2025, 1, 1, 23, 30, tzinfo=timezone.utc),
    )
    document = overview_page(Overview({"critical": 1}, [], date(2025, 1, 1), date(2025, 1, 1), [], [], [alert], 1))
    assert "<td>23:30</td>" in document
