"""While a local stack runs, SIGTERM and SIGHUP stop the command like Ctrl-C, and never halfway through its clean-up."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from streams.exceptions import StopSignal
from streams.tools.localstack import STOP_SIGNALS, StopOnSignals
from tests.signals import as_in_a_terminal


@pytest.fixture(autouse=True)
def handlers_back() -> Iterator[None]:
    """Each test starts as from a terminal (not as the test run was started); this process's handlers come back."""
    before = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    as_in_a_terminal()
    yield
    for signum, handler in before.items():
        signal.signal(signum, handler)


@pytest.mark.parametrize("signum", STOP_SIGNALS, ids=lambda s: s.name)
def test_a_stop_signal_interrupts_like_ctrl_c_and_the_old_handler_comes_back(signum: int) -> None:
    before = signal.getsignal(signum)
    with pytest.raises(KeyboardInterrupt) as raised, StopOnSignals():
        signal.raise_signal(signum)
    assert isinstance(raised.value, StopSignal) and raised.value.signum == signum
    assert signal.getsignal(signum) is before


def test_a_signal_during_the_clean_up_waits_for_it_then_stops_the_caller() -> None:
    cleaned = []
    with pytest.raises(StopSignal) as raised, StopOnSignals() as signals:
        with signals.deferred():
            signal.raise_signal(signal.SIGTERM)
            signal.raise_signal(signal.SIGHUP)
            cleaned.append("all of it")
    assert cleaned == ["all of it"]
    assert raised.value.signum == signal.SIGTERM  # the first one asked


def test_a_signal_during_a_clean_up_after_another_is_not_raised_twice() -> None:
    cleaned = []
    with pytest.raises(StopSignal) as raised, StopOnSignals() as signals:
        try:
            signal.raise_signal(signal.SIGHUP)
        finally:
            with signals.deferred():
                signal.raise_signal(signal.SIGTERM)
                cleaned.append("all of it")
    assert cleaned == ["all of it"] and raised.value.signum == signal.SIGHUP


def test_a_signal_the_process_was_told_to_ignore_stays_ignored() -> None:
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # as `nohup healthscore stack` starts it
    with StopOnSignals():
        signal.raise_signal(signal.SIGHUP)
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
