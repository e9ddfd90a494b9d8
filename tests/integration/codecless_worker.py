"""`healthscore worker` as it ran before the codec libraries were dependencies: aiokafka without lz4.

Run as `python -m tests.integration.codecless_worker worker`. A worker in an
environment missing a codec library meets batches it cannot decode; this
one is made so on purpose, to show such batches are dead-lettered as their
range while the rest of every partition is scored.
"""

from __future__ import annotations

from aiokafka import codec

from streams.tools.cli import main

codec.has_lz4 = lambda: False  # what aiokafka reports when cramjam is not installed

if __name__ == "__main__":
    main()
