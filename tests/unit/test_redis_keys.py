"""The Redis key layout: every key the sink writes is named by a function, and a flush moves customers between indexes."""

import msgspec

from schemas.model_config import ScoringModel
from schemas.outputs import SEGMENTS, TIERS
from scoring.pipeline import rescore
from scoring.records import ScoreRecord
from scoring.state import new_state
from streams.redis_sink import customer_keys, index_changes, index_keys, ranking_key, segment_key, tier_key
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


def test_a_flush_adds_each_customer_to_its_three_indexes_and_removes_it_from_all_others() -> None:
    changes = index_changes("hs", [update("a", 25.0, "critical", "at_risk"), update("b", 80.0, "healthy", "loyal")])
    assert set(changes) == set(index_keys("hs"))
    member_of = {key: set(change.scores) for key, change in changes.items() if change.scores}
    assert member_of == {
        ranking_key("hs"): {"a", "b"},
        tier_key("hs", "critical"): {"a"},
        tier_key("hs", "healthy"): {"b"},
        segment_key("hs", "at_risk"): {"a"},
        segment_key("hs", "loyal"): {"b"},
    }
    assert changes[tier_key("hs", "critical")].scores == {"a": 25.0}
    for key, change in changes.items():
        # Every customer of the flush is either scored in an index or taken out of it, never both.
        assert set(change.scores) | set(change.moved_out) == {"a", "b"}
        assert not set(change.scores) & set(change.moved_out), key
