"""Where customer states live between batches: the table's stores, the changelog writer, the timer's schedule on disk."""
