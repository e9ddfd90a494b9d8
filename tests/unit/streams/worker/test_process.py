"""The worker process tunes the garbage collector once started: start-up objects frozen, young collections rarer."""

import gc

from streams.worker.process import GC_YOUNG_THRESHOLD, tune_collector


def test_the_collector_is_tuned_for_a_stream_of_short_lived_objects() -> None:
    before = gc.get_threshold()
    try:
        tune_collector()
        assert gc.get_threshold()[0] == GC_YOUNG_THRESHOLD > before[0]
        assert gc.get_freeze_count() > 0  # what existed at start-up is never scanned again
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
