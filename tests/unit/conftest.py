"""Fixtures shared by the unit tests."""

import pytest

from scoring.schedule import DueQueue, Schedule
from streams.state.due_store import RocksDueQueue
from tests.samples import SMALL_DB


@pytest.fixture(params=["memory", "rocksdb"])
def queue(request, tmp_path) -> Schedule:
    """The timer's schedule as each store kind gets it: in memory, or on disk for `rocksdb://` workers."""
    if request.param == "memory":
        return DueQueue()
    return RocksDueQueue(tmp_path / "due", SMALL_DB)
