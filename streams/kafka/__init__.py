"""Kafka at the edge: decoding records, creating topics, producing outputs, connecting securely, partitioning."""
