"""Fixtures shared by the unit tests."""

import pytest

from scoring.schedule import DueQueue, Schedule
from streams.state.due_store import RocksDueQueue

SMALL_DB = {"write_buffer_size": 1 << 20, "max_write_buffer_number": 2, "block_cache_size": 1 << 20}


@pytest.fixture(params=["memory", "rocksdb"])
def queue(request, tmp_path) -> Schedule:
    """The timer's schedule as each store kind gets it: in memory, or on disk for `rocksdb://` workers."""
    if request.param == "memory":
        return DueQueue()
    return RocksDueQueue(tmp_path / "due", SMALL_DB)
