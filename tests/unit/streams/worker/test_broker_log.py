"""A lost broker is logged once, then at most once a minute with a count, and its return once; nothing else is touched."""

from __future__ import annotations

import logging

import pytest

from streams.worker.broker_log import BrokerLog, install, report_recovery
from streams.worker.faust_compat import BROKER_UNREACHABLE

CONNECT = ("aiokafka", "Unable connect to node with id %s: %s")
FETCH = ("aiokafka.consumer.fetcher", "Failed fetch messages from %s: %s")
OTHER = ("aiokafka.consumer.group_coordinator", "Heartbeat failed for group %s because it is rebalancing")


def record(kind: tuple[str, str], level: int = logging.ERROR) -> logging.LogRecord:
    name, template = kind
    args = (111, "Connect call failed") if template.count("%") == 2 else ("group",)
    return logging.LogRecord(name, level, "aiokafka.py", 1, template, args, None)


def logged(events: list[tuple[str, float]], every: float = 60.0) -> list[str]:
    """The lines a BrokerLog lets through for ("connect" | "fetch" | "other" | "confirmed", now) in order."""
    broker_log, lines = BrokerLog({CONNECT, FETCH}, every=every), []
    for event, now in events:
        if event == "confirmed":
            ended = broker_log.confirmed(now)
            lines += [] if ended is None else [f"back after {ended.seconds:.0f} s, {ended.failures} errors"]
            continue
        rec = record({"connect": CONNECT, "fetch": FETCH, "other": OTHER}[event])
        if broker_log.seen(rec, now):
            lines.append(rec.getMessage())
    return lines


def storm(start: float, seconds: float, per_second: int = 100) -> list[tuple[str, float]]:
    """What aiokafka logs with no broker: connection and fetch errors, about a hundred a second."""
    count = int(seconds * per_second)
    return [("connect" if n % 3 else "fetch", start + n / per_second) for n in range(count)]


def test_a_forty_second_outage_is_one_line_when_it_starts_and_one_when_it_ends() -> None:
    lines = logged([("confirmed", 0.0), *storm(1.0, 40.0), ("confirmed", 45.0)])
    assert lines == [
        (
            "broker connection lost; further connection errors are counted and logged at most once a minute: "
            "Failed fetch messages from 111: Connect call failed"
        ),
        "back after 44 s, 4000 errors",
    ]


def test_an_outage_that_goes_on_is_reported_once_a_minute_with_the_count_since_the_last_report() -> None:
    lines = logged([*storm(0.0, 150.0), ("confirmed", 151.0)])
    assert len(lines) == 4, lines
    assert lines[1] == (
        "broker unreachable for 60 s: 6000 connection errors since the last report (6001 in all); "
        "latest: Failed fetch messages from 111: Connect call failed"
    )
    assert lines[2].startswith(
        "broker unreachable for 120 s: 6000 connection errors since the last report (12001 in all)"
    )
    assert lines[3] == "back after 151 s, 15000 errors"


@pytest.mark.parametrize(
    ("events", "lines"),
    [
        # Confirmations while nothing failed, or sent before the latest error, end nothing.
        ([("confirmed", 1.0), ("connect", 2.0), ("confirmed", 2.0), ("confirmed", 1.5)], 1),
        # The end is logged once, however many confirmations follow.
        ([("connect", 2.0), ("confirmed", 3.0), ("confirmed", 4.0), ("confirmed", 5.0)], 2),
        # A new outage after the end is logged again at once.
        ([("connect", 2.0), ("confirmed", 3.0), ("connect", 4.0), ("connect", 4.1)], 3),
        # Other records of the client's loggers pass untouched, and start no outage.
        ([("other", 1.0), ("other", 1.1), ("confirmed", 2.0)], 2),
    ],
)
def test_what_ends_an_outage(events: list[tuple[str, float]], lines: int) -> None:
    assert len(logged(events)) == lines


def test_the_end_is_logged_at_the_level_of_the_first_error(caplog) -> None:
    broker_log = BrokerLog({CONNECT})
    broker_log.seen(record(CONNECT, logging.WARNING), 1.0)
    with caplog.at_level(logging.DEBUG, logger="streams.worker.broker_log"):
        report_recovery(broker_log, 0.5)  # sent before the error: not the end
        report_recovery(broker_log, 2.0)
        report_recovery(broker_log, 3.0)
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.WARNING, "broker reachable again after 1 s: 1 connection errors in all")
    ]


def test_installed_on_each_client_logger_once_replacing_the_previous_one() -> None:
    first, second = BrokerLog(BROKER_UNREACHABLE), BrokerLog(BROKER_UNREACHABLE)
    install(first)
    install(second)
    try:
        for name in second.loggers:
            assert [f for f in logging.getLogger(name).filters if isinstance(f, BrokerLog)] == [second], name
    finally:
        for name in second.loggers:
            logging.getLogger(name).removeFilter(second)
