"""`healthscore worker` with one fault injected, for tests of what the worker does when a batch goes wrong.

Run as `python -m tests.integration.faulty_worker worker`. HEALTHSCORE_TEST_FAULT picks the fault and
HEALTHSCORE_TEST_FAULT_BATCH the batch it strikes (counted from 1, across the agent's life):

- `batch`: the batch fails once after its outputs were sent (a store or broker failure);
- `agent`: at the same point the agent itself crashes, with an error no handler of the worker's catches;
- `hang`: the batch never finishes (acknowledgements that never come), so a stop must give up on it.
"""

from __future__ import annotations

import asyncio
import logging
import os

from streams.tools.cli import main
from streams.worker.checkpoint import Checkpoint
from streams.worker.handling import Batch
from streams.worker.scorer import Scorer

FAULT = os.environ["HEALTHSCORE_TEST_FAULT"]
AT_BATCH = int(os.environ.get("HEALTHSCORE_TEST_FAULT_BATCH", "3"))
batches = 0


class InjectedFault(RuntimeError):
    """The fault this test worker injects on purpose."""


class InjectedCrash(BaseException):
    """A crash the worker's handlers do not catch (as `except Exception` would not): the agent dies of it."""


original_commit = Checkpoint.commit
original_handle = Scorer.handle


async def commit(self: Checkpoint, batch: Batch, handled) -> None:
    if batches == AT_BATCH and FAULT in ("batch", "agent"):
        await self.outputs.flush()  # the outputs went out; the states never get stored
        if FAULT == "agent":
            raise InjectedCrash("the scoring agent crashed (InjectedFault)")
        raise InjectedFault("the batch's states could not be stored")
    if batches == AT_BATCH and FAULT == "hang":
        logging.getLogger(__name__).warning("batch %d hangs (injected fault)", batches)
        await asyncio.Event().wait()
    await original_commit(self, batch, handled)


async def handle(self: Scorer, messages) -> None:
    global batches
    batches += 1
    await original_handle(self, messages)


Checkpoint.commit = commit
Scorer.handle = handle

if __name__ == "__main__":
    main()
