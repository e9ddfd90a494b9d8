"""Pure, deterministic customer-health scoring: no I/O, no Kafka, no wall clock."""
