"""The HTTP API every worker serves: customer health, the ranked list, tier counts, probes and metrics."""
