"""The Redis snapshot: latest score per customer and its indexes, written in batches and read by the HTTP API."""
