"""The Redis key layout: every key the sink writes is named by a function, and a flush moves customers between indexes."""

import msgspec

from schemas.model_config import ScoringModel
from schemas.outputs import SEGMENTS, TIERS
from scoring.instants import to_us
from scoring.pipeline import rescore
from scoring.records import ScoreRecord, encode
from scoring.state import new_state
from streams.snapshot import keys
from streams.snapshot.keys import customer_keys, index_keys
from streams.snapshot.writer import (
    ERASE_SCRIPT,
    HEADER,
    SNAPSHOT_FIELDS,
    SNAPSHOT_SCRIPT,
    snapshot_fields,
    snapshot_values,
)
from tests.factories import at


def update(customer_id: str, score: float, tier: str, segment: str) -> ScoreRecord:
    base = rescore(new_state(customer_id), ScoringModel(), at(0)).update
    return msgspec.structs.replace(base, score=score, tier=tier, segment=segment)


def test_erasure_can_name_every_key_of_a_customer() -> None:
    assert customer_keys("hs", "alice") == [
        "hs:customer:alice",
        "hs:history:alice",
        "hs:history-daily:alice",
        "hs:alerts:alice",
    ]
    assert index_keys("hs") == [
        "hs:scores",
        *(f"hs:tier:{t}" for t in TIERS),
        *(f"hs:segment:{s}" for s in SEGMENTS),
        "hs:change7d",
    ]
    assert len(set(index_keys("hs"))) == 1 + 4 + 7 + 1


def test_no_customer_id_can_name_another_customers_key_or_a_shared_one() -> None:
    """Each per-customer key has a kind of its own before the id, so `x:daily` is never `x`'s daily history."""
    kinds = {key.rsplit(":", 1)[0] for key in customer_keys("hs", "ID")}
    assert len(kinds) == len(customer_keys("hs", "ID"))
    shared = [
        keys.recent_alerts_key("hs"),
        keys.daily_tiers_key("hs"),
        keys.daily_alerts_key("hs"),
        keys.models_key("hs"),
        *index_keys("hs"),
    ]
    assert not any(key.startswith(f"{kind}:") for key in shared for kind in kinds)


def test_the_snapshot_script_gets_each_customers_fields_in_its_order() -> None:
    """The script reads id, score, tier and segment first, then the rest of the hash (SNAPSHOT_SCRIPT)."""
    record = update("a", 25.0, "critical", "at_risk")
    values = snapshot_values(record, b'{"the": "update"}')
    assert len(values) == len(SNAPSHOT_FIELDS) and SNAPSHOT_FIELDS[:4] == ("customer_id", "score", "tier", "segment")
    assert values[:4] == ("a", "25.0", "critical", "at_risk") and values[-2] == b'{"the": "update"}'
    assert values[-1] == str(to_us(record.scored_at))  # orders the customer's snapshots: Redis keeps the newest
    assert snapshot_fields(record)["update"] == encode(record)  # the whole update, encoded when not given
    for name in SNAPSHOT_FIELDS:
        assert f"'{name}'" in SNAPSHOT_SCRIPT, name


def test_the_snapshot_script_builds_the_keys_that_keys_py_names() -> None:
    """The script builds key names inside Redis; they must be the ones the reader and erasure use."""
    built = {
        "prefix .. ':customer:' .. id": customer_keys("P", "ID")[0],
        "prefix .. ':scores'": index_keys("P")[0],
        "prefix .. ':tier:' .. tier": index_keys("P")[1].rsplit(":", 1)[0] + ":TIER",
        "prefix .. ':segment:' .. segment": index_keys("P")[len(TIERS) + 1].rsplit(":", 1)[0] + ":SEGMENT",
        "prefix .. ':model:' .. model": keys.model_key("P", "MODEL"),
        "prefix .. ':models'": keys.models_key("P"),
        "prefix .. ':change7d'": keys.change_key("P"),
        "prefix .. ':history:' .. id": keys.history_key("P", "ID"),
        "prefix .. ':history-daily:' .. id": keys.daily_history_key("P", "ID"),
        "prefix .. ':alerts:' .. id": keys.customer_alerts_key("P", "ID"),
        "prefix .. ':alerts'": keys.recent_alerts_key("P"),
        "prefix .. ':alerts-daily'": keys.daily_alerts_key("P"),
        "prefix .. ':tiers-daily'": keys.daily_tiers_key("P"),
    }
    for lua, expected in built.items():
        assert lua in SNAPSHOT_SCRIPT, lua
        rendered = lua.replace("prefix .. ", "P").replace(" .. id", "ID").replace(" .. tier", "TIER")
        rendered = rendered.replace(" .. model", "MODEL")
        assert rendered.replace(" .. segment", "SEGMENT").replace("'", "") == expected


def test_the_erase_script_builds_the_customer_and_model_keys_that_keys_py_names() -> None:
    for lua in ("prefix .. ':customer:' .. id", "prefix .. ':model:' .. model", "prefix .. ':alerts'"):
        assert lua in ERASE_SCRIPT, lua


def test_the_script_reads_its_header_where_the_writer_puts_it() -> None:
    """Customers start after the header; the header's values are read by position."""
    assert f"local i = {len(HEADER) + 1}" in SNAPSHOT_SCRIPT
    for position, name in enumerate(HEADER, start=1):
        assert f"ARGV[{position}]" in SNAPSHOT_SCRIPT, name
