"""Print healthscore's churn-risk alerts as they arrive, each alert once.

A starting point for a team that acts on alerts (a CRM task, a chat message).
It needs only kafka-python, not healthscore:

    pip install kafka-python
    python examples/alerts_consumer.py --bootstrap kafka:9092

healthscore delivers at least once, so the same alert can arrive twice (after
a worker restart or a rebalance); `alert_id` is stable, so this consumer
remembers the ids it has handled and skips repeats. Offsets are committed in
its consumer group, so a restarted consumer carries on where it stopped.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import OrderedDict

from kafka import KafkaConsumer

# Alert ids remembered for deduplication; a redelivery arrives within seconds, so this covers days of alerts.
REMEMBERED_IDS = 100_000


class SeenIds:
    """A bounded set of recently seen ids; the oldest are forgotten first."""

    def __init__(self, capacity: int = REMEMBERED_IDS) -> None:
        self.capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()

    def add(self, alert_id: str) -> bool:
        """Remember `alert_id`; False if it was already there (a repeat)."""
        if alert_id in self._ids:
            return False
        self._ids[alert_id] = None
        if len(self._ids) > self.capacity:
            self._ids.popitem(last=False)
        return True


def describe(alert: dict) -> str:
    """One line a person reads: who, how bad, why."""
    reasons = "; ".join(alert.get("reasons", [])[:3])
    return (
        f"{alert['alert_id']} customer={alert['customer_id']} tier={alert['tier']} score={alert['score']:.1f} "
        f"trigger={alert['trigger']}: {alert['detail']} | {reasons}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", default="127.0.0.1:9092", help="Kafka bootstrap servers, host:port[,host:port]")
    parser.add_argument("--topic", default="healthscore.alerts")
    parser.add_argument("--group", default="alerts-consumer-example", help="consumer group (offsets are kept there)")
    parser.add_argument("--from-beginning", action="store_true", help="start at the oldest alert when the group is new")
    parser.add_argument(
        "--exit-after-idle",
        type=float,
        default=None,
        metavar="SECONDS",
        help="stop once no alert arrived for this long (default: run until Ctrl-C)",
    )
    args = parser.parse_args(argv)

    consumer = KafkaConsumer(
        args.topic,
        bootstrap_servers=args.bootstrap.split(","),
        group_id=args.group,
        auto_offset_reset="earliest" if args.from_beginning else "latest",
        enable_auto_commit=True,
        value_deserializer=lambda raw: json.loads(raw.decode("utf-8")),
    )
    seen = SeenIds()
    last_alert = time.monotonic()
    try:
        while args.exit_after_idle is None or time.monotonic() - last_alert < args.exit_after_idle:
            batches = consumer.poll(timeout_ms=500)
            if not consumer.assignment():
                last_alert = time.monotonic()  # still joining the group: not idle yet
            for records in batches.values():
                for record in records:
                    alert = record.value
                    last_alert = time.monotonic()
                    if seen.add(alert["alert_id"]):
                        print(describe(alert), flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
