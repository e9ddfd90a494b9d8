"""Chaos soak: issue 27's fault-injection run, longer than CI's, over several seeds; every event checked.

Why: tests/integration/test_chaos.py runs one seed per store at a size CI
can afford (8,000 events, 60 s, six faults). Failover defects that need a
busier group or more faults in a row show up here: by default issue 27's run,
~36,000 events of 4,500 customers paced over 120 s while two workers take
three kill -9 with restarts, a SIGTERM with a restart, a SIGSTOP past the
session timeout (a zombie), Redis stopped for 10 s, a kill -9 during a
rebalance and a takeover right after a restart.

What it does, per seed and store: starts its own local stack (Tansu + Redis,
streams/tools/localstack.py) and two workers on fresh topics, and runs
tests/integration/chaos.py's harness: the seeded stream, the seeded fault
schedule, then the checks of every ScoreUpdate, Redis snapshot, changelog
state and alert against the offline replay. It prints the harness's journal
as it goes, the full report of every run that failed, one summary line per
run and a table at the end; the exit status is 1 if any run failed.

Run from the repository root (after `make setup`):

    PYTHONPATH=. .venv/bin/python benchmarks/chaos_soak.py --seeds 1 2 3 --store rocksdb:// \\
        --customers 4500 --events 36000 --seconds 120
    PYTHONPATH=. .venv/bin/python benchmarks/chaos_soak.py --seeds 7 --store memory:// rocksdb://
    PYTHONPATH=. .venv/bin/python benchmarks/chaos_soak.py --seeds 1 --faults zombie kill-9 --seconds 60
    PYTHONPATH=. .venv/bin/python benchmarks/chaos_soak.py --seeds 27 --store memory:// --customers 1000 \
        --events 8000 --seconds 60 --faults ci             # what tests/integration/test_chaos.py runs

A run takes the stream's length plus one to three minutes. The workers' logs
stay under the printed work directory (one per run) for reading afterwards.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from streams.tools.localstack import local_stack
from tests.integration.chaos import (
    FAULTS,
    ISSUE_FAULTS,
    ChaosPlan,
    ChaosReport,
    chaos_env,
    ci_faults,
    deploy_worker,
    print_table,
    run_chaos,
)

# 36,000 events wait in the workers' backlog after the faults; a takeover alone took up to 20 s here.
OUTPUTS_TIMEOUT = 240.0


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--store", nargs="+", default=["rocksdb://"], choices=["memory://", "rocksdb://"])
    parser.add_argument("--customers", type=int, default=4500)
    parser.add_argument("--events", type=int, default=36000)
    parser.add_argument(
        "--seconds", type=float, default=120.0, help="the stream's length; faults land in its first 80%%"
    )
    parser.add_argument(
        "--faults",
        nargs="+",
        default=list(ISSUE_FAULTS),
        choices=[*sorted(FAULTS), "ci"],
        help="the kinds of fault, each once per run in a seeded order (repeat a kind to run it "
        "again); `ci`: the CI test's faults for the seed",
    )
    parser.add_argument("--workdir", type=Path, default=None, help="where stacks and logs go (default: a new temp dir)")
    return parser.parse_args(argv)


def soak(args: argparse.Namespace) -> list[ChaosReport]:
    root = args.workdir or Path(tempfile.mkdtemp(prefix="chaos-soak-"))
    print(f"work directory (stacks and worker logs): {root}")
    reports: list[ChaosReport] = []
    for seed in args.seeds:
        for store in args.store:
            runs = root / f"seed{seed}-{store.split(':')[0]}"
            faults = ci_faults(seed) if args.faults == ["ci"] else tuple(args.faults)
            plan = ChaosPlan(
                seed=seed,
                store=store,
                customers=args.customers,
                events=args.events,
                seconds=args.seconds,
                faults=faults,
                outputs_timeout=OUTPUTS_TIMEOUT,
            )
            with local_stack(runs / "stack") as stack:
                first = deploy_worker(stack, runs, **chaos_env(store))
                report = run_chaos(first, runs, plan)
            if not report.ok:
                print(report.summary())
            print(report.line(), flush=True)
            reports.append(report)
    return reports


def main(argv: list[str] | None = None) -> int:
    reports = soak(arguments(argv))
    print()
    for report in reports:
        print(report.line())
    print()
    print_table(reports)
    return 0 if all(r.ok for r in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
