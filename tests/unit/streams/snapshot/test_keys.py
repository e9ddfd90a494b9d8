"""The Redis key layout: every key the sink writes is named by a function, and a flush moves customers between indexes."""

import msgspec

from schemas.model_config import ScoringModel
from schemas.outputs import SEGMENTS, TIERS
from scoring.pipeline import rescore
from scoring.records import ScoreRecord, encode
from scoring.state import new_state
from streams.snapshot.keys import customer_keys, index_keys
from streams.snapshot.writer import SNAPSHOT_FIELDS, SNAPSHOT_SCRIPT, snapshot_fields, snapshot_values
from tests.factories import at


def update(customer_id: str, score: float, tier: str, segment: str) -> ScoreRecord:
    base = rescore(new_state(customer_id), ScoringModel(), at(0)).update
    return msgspec.structs.replace(base, score=score, tier=tier, segment=segment)


def test_erasure_can_name_every_key_of_a_customer() -> None:
    assert customer_keys("hs", "alice") == ["hs:customer:alice"]
    assert index_keys("hs") == [
        "hs:scores",
        *(f"hs:tier:{t}" for t in TIERS),
        *(f"hs:segment:{s}" for s in SEGMENTS),
    ]
    assert len(set(index_keys("hs"))) == 1 + 4 + 7


def test_the_snapshot_script_gets_each_customers_fields_in_its_order() -> None:
    """The script reads id, score, tier and segment first, then the rest of the hash (SNAPSHOT_SCRIPT)."""
    record = update("a", 25.0, "critical", "at_risk")
    values = snapshot_values(record, b'{"the": "update"}')
    assert len(values) == len(SNAPSHOT_FIELDS) and SNAPSHOT_FIELDS[:4] == ("customer_id", "score", "tier", "segment")
    assert values[:4] == ("a", "25.0", "critical", "at_risk") and values[-1] == b'{"the": "update"}'
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
    }
    for lua, expected in built.items():
        assert lua in SNAPSHOT_SCRIPT, lua
        rendered = lua.replace("prefix .. ", "P").replace(" .. id", "ID").replace(" .. tier", "TIER")
        assert rendered.replace(" .. segment", "SEGMENT").replace("'", "") == expected
