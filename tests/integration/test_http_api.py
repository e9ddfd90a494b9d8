"""The HTTP API of real workers: customer health, the ranked list, tier counts, probes and the bearer token.

A customer's answer must be what offline scoring computes for the same
events at the worker's clock; the list and the counts must agree with the
ScoreUpdates the worker published.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass

from schemas.model_config import ScoringModel
from schemas.outputs import ScoreUpdate
from scoring.health import current_health
from scoring.replay import replay
from streams.snapshot.keys import change_key, index_keys, ranking_key, segment_key, tier_key
from streams.state.tables import STATE_TABLE
from streams.tools.localstack import free_port, stop_process
from tests.factories import purchase, survey, ticket, visit
from tests.waiting import until

TOKEN = "it-token-8f3a0c5d"


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: dict


def get(port: int, path: str, token: str | None = None, method: str = "GET") -> Answer:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return Answer(response.status, dict(response.headers), json.loads(response.read()))
    except urllib.error.HTTPError as failed:
        return Answer(failed.code, dict(failed.headers), json.loads(failed.read()))


def status_of(port: int, path: str) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as failed:
        return failed.code


def ready(port: int) -> bool:
    try:
        return get(port, "/readyz").status == 200
    except OSError:  # not listening yet
        return False


def customers():
    """Twelve customers in every state of health: loyal, new, fading, angry."""
    events = []
    for n in range(4):
        events += [purchase(f"loyal-{n}", d, 60.0 + 10 * n) for d in range(0, 90, 10)]
        events += [visit(f"loyal-{n}", d + 0.5) for d in range(0, 90, 5)]
        events += [purchase(f"new-{n}", 85 + n, 30.0)]
        events += [purchase(f"fading-{n}", d, 40.0) for d in range(0, 20 + 5 * n, 5)]
        events += [
            purchase(f"angry-{n}", 10, 50.0),
            ticket(f"angry-{n}", 60 + n, "T-1", priority="urgent", category="complaint"),
            survey(f"angry-{n}", 62 + n, "nps", n),
        ]
    return sorted(events, key=lambda e: e.occurred_at)


def publish_and_wait(run, events, published: int = 0) -> list[ScoreUpdate]:
    """Every ScoreUpdate on the topic once `events` (after `published` earlier ones) are scored and in Redis."""
    topics = {kind: topic for topic, kind in run.settings.input_topics().items()}
    run.publish([(topics[e.kind], e.customer_id.encode(), e.model_dump_json().encode()) for e in events])
    expected = published + len(events)
    updates = [ScoreUpdate.model_validate_json(r.value) for r in run.read(run.settings.topic_scores, expected)]
    assert len(updates) == expected
    client = run.redis()
    last = {u.customer_id for u in updates}
    assert until(lambda: client.zcard(ranking_key(run.settings.redis_prefix)) == len(last))
    return updates


def test_customer_health_list_and_counts_match_what_the_worker_published(deploy) -> None:
    run = deploy(HEALTHSCORE_INACTIVITY_TIMER="false")
    port = run.settings.web_port
    assert until(lambda: ready(port), timeout=60)
    readiness = get(port, "/readyz").body
    assert readiness["checks"] == {"partitions_assigned": True, "table_recovered": True, "broker": True, "redis": True}
    assert get(port, "/livez") == Answer(200, get(port, "/livez").headers, {"status": "alive", "redis_backlog": 0})

    events = customers()
    updates = publish_and_wait(run, events)
    last = {u.customer_id: u for u in updates}

    # One customer: the offline fold of the same events, in the order the worker took them, scored at
    # the worker's clock: event time, the newest event it has seen once its partitions have been quiet
    # for a few seconds (streams/worker/watermark.py; before that, the least far any partition has got).
    by_id = {e.event_id: e for e in events}
    states = replay([by_id[u.event_id] for u in updates], ScoringModel()).states
    now = max(e.occurred_at for e in events)
    expected = {
        cid: current_health(state, ScoringModel(), now).model_dump(mode="json") for cid, state in states.items()
    }

    def answers() -> dict:
        return {customer_id: get(port, f"/customers/{customer_id}").body for customer_id in expected}

    until(lambda: answers() == expected, timeout=30)
    assert answers() == expected
    answer = get(port, "/customers/fading-0")
    assert answer.status == 200 and answer.headers["Content-Type"].startswith("application/json")
    fading = get(port, "/customers/fading-0").body
    assert fading["score"] < last["fading-0"].score  # silent for months: lower now than when last published
    assert fading["history"][-1] == {"date": now.date().isoformat(), "score": fading["score"]}

    unknown = get(port, "/customers/nobody-here")
    assert unknown.status == 404 and unknown.body == {
        "error": "unknown customer 'nobody-here': no event of theirs has been scored"
    }

    # The list: lowest score first (ties by id), pages chained by next_offset, totals exact.
    ranked = sorted(last.values(), key=lambda u: (u.score, u.customer_id))
    seen, path = [], "/customers?limit=5"
    while path:
        page = get(port, path)
        assert page.status == 200 and page.body["total"] == len(ranked)
        seen += page.body["items"]
        nxt = page.body["next_offset"]
        path = f"/customers?limit=5&offset={nxt}" if nxt is not None else ""
    assert [(r["customer_id"], r["score"], r["tier"], r["segment"]) for r in seen] == [
        (u.customer_id, u.score, u.tier, u.segment) for u in ranked
    ]
    assert seen[0]["reasons"] == ranked[0].reasons

    at_risk = [u for u in ranked if u.tier in ("at_risk", "critical")]
    assert at_risk and len(at_risk) < len(ranked)  # the filter has something to keep and something to drop
    page = get(port, "/customers?tier=at_risk,critical").body
    assert [r["customer_id"] for r in page["items"]] == [u.customer_id for u in at_risk]
    assert page["total"] == len(at_risk) and page["next_offset"] is None

    segment = at_risk[0].segment
    both = get(port, f"/customers?tier=at_risk&tier=critical&segment={segment}&segment=new").body
    expected = [u.customer_id for u in at_risk if u.segment in (segment, "new")]
    assert [r["customer_id"] for r in both["items"]] == expected and both["total"] == len(expected)

    # Counts by tier: the tiers of the customers' latest ScoreUpdates.
    counts = get(port, "/tiers").body
    assert counts["tiers"] == {t: Counter(u.tier for u in last.values())[t] for t in counts["tiers"]}
    assert counts["total"] == len(last)

    bad = get(port, "/customers?tier=doomed&limit=0")
    assert bad.status == 400
    assert bad.body["error"].startswith("tier='doomed': Input should be 'healthy', 'watch', 'at_risk' or 'critical'")
    assert "limit='0'" in bad.body["error"]


def test_a_customer_moving_tier_leaves_the_old_tier_in_the_list_and_the_counts(deploy) -> None:
    run = deploy(HEALTHSCORE_INACTIVITY_TIMER="false")
    port = run.settings.web_port
    happy = [purchase("mover", d, 80.0) for d in range(0, 40, 7)] + [visit("mover", d + 0.5) for d in range(0, 40, 3)]
    happy = sorted(happy, key=lambda e: e.occurred_at) + [survey("mover", 40, "nps", 10)]
    publish_and_wait(run, happy)
    before = get(port, "/customers/mover").body["tier"]
    unhappy = [
        ticket("mover", 41, "T-9", priority="urgent", category="complaint"),
        ticket("mover", 41.5, "T-8", priority="urgent", category="complaint"),
        survey("mover", 42, "nps", 0),
        survey("mover", 42.5, "csat", 1),
        survey("mover", 42.7, "csat", 1),
    ]
    updates = publish_and_wait(run, unhappy, published=len(happy))
    after = updates[-1].tier
    assert after != before
    assert until(lambda: get(port, "/tiers").body["tiers"][before] == 0)
    counts = get(port, "/tiers").body
    assert counts["tiers"][after] == 1 and counts["total"] == 1
    assert get(port, f"/customers?tier={before}").body == {
        "items": [],
        "total": 0,
        "limit": 50,
        "offset": 0,
        "next_offset": None,
    }
    assert [r["customer_id"] for r in get(port, f"/customers?tier={after}").body["items"]] == ["mover"]
    # In the snapshot, exactly one tier set and one segment set hold the customer, those of the newest score
    # (and the ranking by 7-day change, which holds everyone).
    client, prefix = run.redis(), run.settings.redis_prefix
    member_of = [key for key in index_keys(prefix) if client.zscore(key, "mover") is not None]
    assert member_of == [
        ranking_key(prefix),
        tier_key(prefix, after),
        segment_key(prefix, updates[-1].segment),
        change_key(prefix),
    ]


def test_customer_data_needs_the_bearer_token_and_the_probes_do_not(deploy) -> None:
    run = deploy(HEALTHSCORE_API_TOKEN=TOKEN, HEALTHSCORE_INACTIVITY_TIMER="false")
    port = run.settings.web_port
    publish_and_wait(run, [purchase("alice", 0, 50.0)])
    for path in ("/customers/alice", "/customers?tier=healthy", "/tiers"):
        for token in (None, "wrong-token", TOKEN + "x"):
            refused = get(port, path, token)
            assert refused.status == 401, path
            assert refused.headers["WWW-Authenticate"].startswith("Bearer")
            assert "bearer token" in refused.body["error"]
        assert get(port, path, TOKEN).status == 200, path
    assert get(port, "/customers/alice", TOKEN).body["customer_id"] == "alice"
    assert get(port, "/readyz").status == 200 and get(port, "/livez").status == 200
    assert "healthscore_events_total" in run.metrics()
    assert TOKEN not in run.log.read_text()
    # Faust's own table pages would read the state table with no token: they are not served.
    for path in ("/table/", f"/table/{STATE_TABLE}/", f"/table/{STATE_TABLE}/alice/"):
        assert status_of(port, path) == 404, path


def test_a_method_a_route_does_not_take_and_an_unknown_route_answer_json_errors_too(deploy) -> None:
    run = deploy(HEALTHSCORE_API_TOKEN=TOKEN, HEALTHSCORE_INACTIVITY_TIMER="false")
    port = run.settings.web_port
    assert until(lambda: ready(port), timeout=60)
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        refused = get(port, "/tiers", TOKEN, method=method)
        assert refused.status == 405, method
        assert refused.headers["Content-Type"].startswith("application/json")
        assert refused.body == {"error": f"{method} /tiers: Method Not Allowed; this route answers GET, HEAD"}
        assert set(refused.headers["Allow"].split(",")) == {"GET", "HEAD"}
    unknown = get(port, "/customer/alice", TOKEN)
    assert unknown.status == 404 and unknown.headers["Content-Type"].startswith("application/json")
    assert unknown.body["error"].startswith("GET /customer/alice: Not Found")
    assert get(port, "/livez").status == 200  # the routes themselves are untouched


def test_any_worker_answers_for_any_customer_by_forwarding_to_its_owner(deploy, stack) -> None:
    first = deploy(HEALTHSCORE_INACTIVITY_TIMER="false")
    second_port = free_port()
    env = {
        **first.env,
        "HEALTHSCORE_WEB_PORT": str(second_port),
        "HEALTHSCORE_DATADIR": first.env["HEALTHSCORE_DATADIR"] + "-2",
    }
    second = stack.start_worker(first.name + "-2", env)
    try:
        events = [purchase(f"c{n}", n % 5, 20.0 + n) for n in range(16)]
        publish_and_wait(first, events)
        ports = (first.settings.web_port, second_port)
        # Both hold partitions once the group has split them (readiness needs at least one each).
        assert until(lambda: all(ready(p) for p in ports), timeout=60)

        def same_answer_everywhere() -> bool:
            answers = [[get(p, f"/customers/c{n}") for p in ports] for n in range(16)]
            return all(a.status == b.status == 200 and a.body == b.body for a, b in answers)

        # Right after a rebalance the partition map may still be settling: the answers converge.
        assert until(same_answer_everywhere, timeout=30)
        # Faust's own router view names each customer's worker: both hold some, so half the answers above
        # were forwarded (a worker asked for a customer it does not hold and could not forward answers 503).
        owners = {get(ports[0], f"/router/{STATE_TABLE}/c{n}/").body for n in range(16)}
        assert owners == {f"http://127.0.0.1:{p}" for p in ports}
        assert get(second_port, "/customers/nobody").status == 404
    finally:
        stop_process(second)


def test_without_redis_the_worker_is_not_ready_and_the_list_says_so_while_customers_still_answer(deploy) -> None:
    run = deploy(HEALTHSCORE_INACTIVITY_TIMER="false")
    port = run.settings.web_port
    publish_and_wait(run, [purchase("alice", 0, 50.0)])
    run.stack.stop_redis()
    try:
        readiness = get(port, "/readyz")
        assert readiness.status == 503
        assert readiness.body["error"] == "not ready: redis" and readiness.body["checks"]["redis"] is False
        assert readiness.body["checks"]["broker"] is True  # each dependency for itself
        for path in ("/customers", "/tiers"):
            down = get(port, path)
            assert down.status == 503 and "Redis" in down.body["error"], path
        assert get(port, "/customers/alice").status == 200  # the state table needs no Redis
        assert get(port, "/livez").status == 200
    finally:
        run.stack.start_redis()
    assert until(lambda: ready(port))
