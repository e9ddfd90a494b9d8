"""The golden replay: the sample events give, customer by customer, exactly the outputs they gave when this was recorded.

tests/data/golden/sample-replay.json holds, per customer of data/sample_events.jsonl, a
digest of every ScoreUpdate and alert the replay publishes for them (as their JSON values,
keys sorted). It was recorded before the scoring core was rewritten for speed (issue 18)
and checked then against the pydantic implementation (scripts/compare_replay.py, which
also compares 68,000 generated and all CDNOW events). A change that moves any output
fails here; a deliberate one is recorded again with
`python -m tests.unit.scoring.test_golden_replay --write` and explained in its commit.
"""

from __future__ import annotations

import hashlib
import json
import sys

from schemas.model_config import ScoringModel
from scoring.records import encode
from scoring.replay import replay
from tests.paths import ROOT
from tests.samples import sample_events

GOLDEN = ROOT / "tests" / "data" / "golden" / "sample-replay.json"


def digests() -> dict[str, str]:
    result = replay(sample_events(), ScoringModel())
    per_customer: dict[str, hashlib._Hash] = {}
    for record in [*result.updates, *result.alerts]:
        body = json.dumps(json.loads(encode(record)), sort_keys=True)
        per_customer.setdefault(record.customer_id, hashlib.sha256()).update(body.encode())
    return {cid: h.hexdigest()[:16] for cid, h in sorted(per_customer.items())}


def test_every_customer_of_the_sample_gets_the_recorded_outputs() -> None:
    recorded = json.loads(GOLDEN.read_text())
    now = digests()
    assert set(now) == set(recorded)
    assert [cid for cid in recorded if now[cid] != recorded[cid]] == []


if __name__ == "__main__" and "--write" in sys.argv:
    GOLDEN.write_text(json.dumps(digests(), indent=0) + "\n")
