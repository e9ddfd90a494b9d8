"""The golden replay: what two versions of the scorer publish for the same events, compared field by field.

Why: a change to the scoring core (issue 18 rewrote it for speed) must keep
what customers and alert consumers see. This replays a seeded 68,000-event
mix (benchmarks/perf/events.py) and the real CDNOW purchase log with the
event-time clock, once with a reference git revision (in a worktree of its
own, run in a subprocess) and once with this tree, and compares every
ScoreUpdate and alert: tiers, segments, reasons, changes, alert ids and
triggers must be identical, scores equal to `--score-tolerance` points;
every other field that differs is counted and shown.

    .venv/bin/python scripts/compare_replay.py REV            # e.g. the commit before a change
    .venv/bin/python scripts/compare_replay.py REV --quick    # 10% of each source

It writes nothing in the repository; the reference outputs go to a temporary folder.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GENERATED_EVENTS = 68_000
GENERATED_CUSTOMERS = 13_600
# Fields that must be identical in every ScoreUpdate and alert; `score` is compared within a tolerance.
EXACT_UPDATE = (
    "customer_id",
    "tier",
    "previous_tier",
    "segment",
    "reasons",
    "changes",
    "cause",
    "event_id",
    "model_name",
    "model_version",
    "scored_at",
)
EXACT_ALERT = (
    "alert_id",
    "customer_id",
    "trigger",
    "severity",
    "detail",
    "tier",
    "previous_tier",
    "segment",
    "reasons",
    "changes",
    "raised_at",
    "event_id",
)


def dump(out: Path, quick: bool) -> None:
    """Replay both sources with the scorer importable from here; write its outputs as JSON lines."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from perf.events import generate
    from schemas.events import EVENT_ADAPTER
    from schemas.model_config import ScoringModel
    from scoring.replay import replay
    from streams.tools.datasets import load_cdnow

    share = 10 if quick else 1
    generated = [
        EVENT_ADAPTER.validate_json(r.value) for r in generate(GENERATED_EVENTS // share, GENERATED_CUSTOMERS // share)
    ]
    cdnow = load_cdnow()
    if quick:
        keep = {e.customer_id for e in cdnow[::share]}
        cdnow = [e for e in cdnow if e.customer_id in keep]
    with gzip.open(out, "wt") as f:
        for source, events in (("generated", generated), ("cdnow", cdnow)):
            result = replay(events, ScoringModel())
            for kind, items in (("update", result.updates), ("alert", result.alerts)):
                for item in items:
                    f.write(json.dumps([source, kind, json.loads(_json(item))]) + "\n")


def _json(item: object) -> str:
    if hasattr(item, "model_dump_json"):  # pydantic, as versions before the msgspec outputs published
        return item.model_dump_json()
    import msgspec

    return msgspec.json.encode(item).decode()


def load(path: Path) -> dict[tuple[str, str], list[dict]]:
    found: dict[tuple[str, str], list[dict]] = {}
    with gzip.open(path, "rt") as f:
        for line in f:
            source, kind, body = json.loads(line)
            found.setdefault((source, kind), []).append(body)
    return found


def reference_outputs(rev: str, work: Path, quick: bool) -> Path:
    tree = work / "reference"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), rev], check=True, capture_output=True
    )
    try:
        out = work / "reference.ndjson.gz"
        env = {**os.environ, "PYTHONPATH": str(tree)}
        args = [sys.executable, str(tree / "scripts" / "compare_replay.py"), "--dump", str(out)]
        if not (tree / "scripts" / "compare_replay.py").exists():  # a revision before this script: use ours
            args[1] = str(Path(__file__).resolve())
        subprocess.run([*args, *(["--quick"] if quick else [])], check=True, env=env, cwd=tree)
        return out
    finally:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False, capture_output=True
        )


def compare(reference: dict, current: dict, tolerance: float) -> list[str]:
    """Lines of the report; the first says whether the replays agree."""
    lines, failed = [], False
    for (source, kind), expected in sorted(reference.items()):
        got = current.get((source, kind), [])
        exact = EXACT_UPDATE if kind == "update" else EXACT_ALERT
        lines.append(f"{source} {kind}s: {len(expected):,} reference, {len(got):,} current")
        if len(expected) != len(got):
            failed = True
            continue
        mismatched: Counter[str] = Counter()
        other: Counter[str] = Counter()
        worst = 0.0
        first: dict[str, tuple[dict, dict]] = {}
        for old, new in zip(expected, got, strict=True):
            for name in exact:
                if old.get(name) != new.get(name):
                    mismatched[name] += 1
                    first.setdefault(name, (old, new))
            gap = abs(old["score"] - new["score"])
            worst = max(worst, gap)
            if gap > tolerance:
                mismatched["score"] += 1
                first.setdefault("score", (old, new))
            for name in sorted(set(old) | set(new)):
                if name not in exact and name != "score" and old.get(name) != new.get(name):
                    other[name] += 1
        lines.append(f"  largest score difference {worst:.4f} points")
        for name, count in sorted(mismatched.items()):
            failed = True
            old, new = first[name]
            lines.append(
                f"  MISMATCH {name}: {count:,}; first: {old.get(name)!r} -> {new.get(name)!r} "
                f"({old.get('customer_id')}, {old.get('event_id') or old.get('alert_id')})"
            )
        for name, count in sorted(other.items()):
            lines.append(f"  differs (not required identical) {name}: {count:,}")
    return ["the replays AGREE" if not failed else "the replays DISAGREE", *lines]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("reference", nargs="?", help="the git revision to compare with")
    parser.add_argument("--dump", type=Path, help=argparse.SUPPRESS)  # used on the reference, in its worktree
    parser.add_argument("--quick", action="store_true", help="a tenth of each source")
    parser.add_argument("--score-tolerance", type=float, default=0.01)
    args = parser.parse_args()
    if args.dump:
        dump(args.dump, args.quick)
        return
    if not args.reference:
        parser.error("give the reference revision")
    with tempfile.TemporaryDirectory(prefix="healthscore-golden-") as tmp:
        work = Path(tmp)
        reference = load(reference_outputs(args.reference, work, args.quick))
        dump(work / "current.ndjson.gz", args.quick)
        report = compare(reference, load(work / "current.ndjson.gz"), args.score_tolerance)
    print("\n".join(report))
    sys.exit(0 if report[0].endswith("AGREE") else 1)


if __name__ == "__main__":
    main()
