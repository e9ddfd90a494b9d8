"""Replays a fixed mix of events through the scoring core and prints one digest of everything it produced.

Run as a program by tests/unit/scoring/test_compiled_form.py, once with the
compiled form and once with HEALTHSCORE_PURE_PYTHON=1 (which form runs is
fixed at import, hence a process each). Everything a worker publishes or
stores goes into the digest as bytes: every ScoreUpdate and alert as its
JSON, every stored state, and, for the timer, each customer re-scored
after weeks of silence with when it would be looked at next.

    python -m tests.replay_digest   # prints {"form": ..., "digest": ..., "counts": {...}}
"""

from __future__ import annotations

import hashlib
import json
import sys
from datetime import timedelta

from schemas.events import EVENT_ADAPTER
from scoring import accelerator
from scoring.pipeline import Step, event_clock, next_review, rescore_if_changed, step
from scoring.instants import from_us
from scoring.records import encode
from scoring.state import new_state
from scoring.state_codec import decode_state, encode_state
from streams.tools.datasets import load_cdnow
from streams.worker.model_file import load_model
from tests.paths import MODELS, ROOT
from tests.samples import sample_events

sys.path.insert(0, str(ROOT / "benchmarks"))
from perf.events import generate  # noqa: E402

CDNOW_SHARE = 8  # every 8th CDNOW customer, with all their purchases
SILENCE = (timedelta(days=10), timedelta(days=45), timedelta(days=200))  # when the timer looks again


def events() -> list:
    found = sample_events()
    found += [EVENT_ADAPTER.validate_json(r.value) for r in generate(20_000, 4_000, seed=18)]
    found += [e for e in load_cdnow() if int(e.customer_id.rpartition('-')[2]) % CDNOW_SHARE == 0]
    return found


def published(result: Step) -> list:
    """What the worker would publish for a step: its update, if any, then its alerts."""
    return ([result.update] if result.update is not None else []) + list(result.alerts)


def main() -> None:
    digest, counts = hashlib.sha256(), dict.fromkeys(("events", "updates", "alerts", "duplicates", "timer"), 0)
    mix = events()
    for model_file in ("default.toml", "segmented.toml"):
        model = load_model(MODELS / model_file)
        states = {}
        for event in mix:
            counts["events"] += 1
            state = states.get(event.customer_id) or new_state(event.customer_id)
            result = step(state, event, model, event_clock(state, event.occurred_at))
            states[event.customer_id] = result.state
            counts["duplicates"] += result.duplicate
            for output in published(result):
                digest.update(encode(output))
            counts["updates"] += result.update is not None
            counts["alerts"] += len(result.alerts)
        for customer_id, state in sorted(states.items()):
            stored = encode_state(state)
            digest.update(stored)
            if state.last_event_at is None:
                continue
            latest = from_us(max(state.last_event_at, state.last_scored_at or 0))
            for silence in SILENCE:
                state = decode_state(stored)  # as the timer finds it in the table
                now = latest + silence
                result = rescore_if_changed(state, model, now)
                for output in published(result):
                    digest.update(encode(output))
                    counts["timer"] += 1
                digest.update(str(next_review(result.state, model, now)).encode())
                digest.update(encode_state(result.state))
    print(json.dumps({"form": accelerator.FORM.name, "reason": accelerator.FORM.reason,
                      "digest": digest.hexdigest(), "counts": counts}))  # fmt: skip


if __name__ == "__main__":
    main()
