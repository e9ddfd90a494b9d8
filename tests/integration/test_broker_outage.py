"""The broker goes away for a while and comes back: the same worker process reconnects and scores on.

The local broker keeps everything in memory, so the restarted one is empty:
topics are created again (as provisioning would), offsets and the changelog
are gone. The worker still holds its customers' state in memory and goes
on from it; a worker restarted after such a loss would start from nothing.
On Apache Kafka a broker restart keeps topics, offsets and changelogs.
"""

from __future__ import annotations

import time

from kafka import KafkaProducer

from schemas.outputs import ScoreUpdate
from streams.kafka.topics import ensure_topics, topic_reader
from streams.settings import Settings
from streams.tools.localstack import free_port, local_stack, stop_process
from tests.factories import purchase
from tests.integration.workers import take
from tests.waiting import until

OUTAGE_SECONDS = 15
ASSIGNED = "Setting newly assigned partitions"  # Faust's INFO line after each group join


def publish(bootstrap: str, topic: str, events) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for e in events:
        producer.send(topic, key=e.customer_id.encode(), value=e.model_dump_json().encode())
    producer.flush()
    producer.close()


def scores_of(bootstrap: str, topic: str, count: int, timeout: float = 60.0) -> list[ScoreUpdate]:
    reader = topic_reader([bootstrap], [topic])
    seen: list = []
    until(lambda: take(reader, seen) >= count, timeout, interval=0)
    reader.close()
    return [ScoreUpdate.model_validate_json(r.value) for r in seen]


def test_a_worker_reconnects_after_the_broker_was_down_and_scores_on_from_its_state(tmp_path) -> None:
    with local_stack(tmp_path / "stack") as stack:
        env = {
            "HEALTHSCORE_APP_ID": "outage",
            "HEALTHSCORE_CLOCK": "event",
            "HEALTHSCORE_WEB_PORT": str(free_port()),
            "HEALTHSCORE_DATADIR": str(tmp_path / "data"),
            "HEALTHSCORE_INACTIVITY_TIMER": "false",
        }
        settings = Settings.from_env(stack.env() | env)
        ensure_topics(settings)
        worker = stack.start_worker("worker", env)
        log = stack.workdir / "worker.log"
        try:
            before = [purchase(f"cust-{n}", n) for n in range(20)]
            publish(stack.bootstrap, settings.topic_purchases, before)
            assert {u.event_id for u in scores_of(stack.bootstrap, settings.topic_scores, 20)} == {
                e.event_id for e in before
            }

            assignments = log.read_text().count(ASSIGNED)
            stack.stop_broker()
            time.sleep(OUTAGE_SECONDS)  # the outage itself: time passing is what the test is about
            assert worker.poll() is None, log.read_text()[-3000:]
            stack.start_broker()
            back = time.monotonic()
            ensure_topics(settings)  # the memory broker lost them; provisioning creates them again
            # The empty broker has no group: the worker joins again. Until it has, Faust drops records
            # below the read offsets it had before (part of the memory broker's data loss; see
            # docs/concepts/delivery-and-ordering.md).
            assert until(lambda: log.read_text().count(ASSIGNED) > assignments, timeout=60), (
                "the worker never joined the group again"
            )
            rejoined = time.monotonic() - back

            # The same customers again, and new ones: every event is scored by the same process.
            after = [purchase(f"cust-{n}", 40 + n) for n in range(20)] + [purchase(f"new-{n}", 40) for n in range(5)]
            publish(stack.bootstrap, settings.topic_purchases, after)
            updates = scores_of(stack.bootstrap, settings.topic_scores, len(after), timeout=90)
            assert {u.event_id for u in updates} == {e.event_id for e in after}
            assert worker.poll() is None, log.read_text()[-3000:]
            # Returning customers were scored on top of their state, not as strangers.
            assert all(u.previous_score is not None for u in updates if u.customer_id.startswith("cust-"))
            assert all(u.previous_score is None for u in updates if u.customer_id.startswith("new-"))
            print(
                f"\nbroker down {OUTAGE_SECONDS} s; worker rejoined {rejoined:.1f} s after it was back; all "
                f"{len(after)} events scored {time.monotonic() - back:.1f} s after it was back"
            )
        finally:
            stop_process(worker)
